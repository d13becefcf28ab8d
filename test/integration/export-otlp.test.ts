// recall export --format otlp: spans to an OpenTelemetry collector. A receiver in the test (a
// node:http server on 127.0.0.1) takes gzipped OTLP/HTTP requests, which are decoded with the
// real opentelemetry-proto files (test/fixtures/otlp, protobufjs): span names, parents that
// follow the recorded async call chain (loadUser's parent is greetAll, greetAll's is main), a
// thrown call's ERROR status, the resource's service.name; http/json; a 503 retried; a 400 as
// one error line; HTTP and fetch spans under the calls that made them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CLI, FIXTURES, ROOT, recall, record, run, summaryJson, tempDir, type Result } from '../helpers.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A receiver answering each request with the next status of `answers` (then 200). */
class Receiver {
  readonly requests: Received[] = [];
  answers: { status: number; headers?: Record<string, string>; body?: string | Buffer }[] = [];
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const answer = this.answers.shift() ?? { status: 200 };
        res.writeHead(answer.status, { 'content-type': 'application/x-protobuf', ...answer.headers });
        res.end(answer.body ?? '');
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    assert.ok(address && typeof address === 'object');
    this.url = `http://127.0.0.1:${address.port}`;
  }

  reset(): void {
    this.requests.length = 0;
    this.answers = [];
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** recall, without blocking this process's event loop (the receiver runs in it). */
function recallAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: FIXTURES, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: string | number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  status?: { code?: string | number; message?: string };
}
interface DecodedRequest {
  resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { scope: { name: string; version?: string }; spans: DecodedSpan[] }[] }[];
}

let Request: import('protobufjs').Type;

/** An ExportTraceServiceRequest decoded with opentelemetry-proto's own files; ids as hex, enums as names. */
function decodeProtobuf(body: Uint8Array): DecodedRequest {
  const message = Request.decode(body);
  const object = Request.toObject(message, { longs: String, enums: String, bytes: Array, defaults: false }) as DecodedRequest;
  for (const rs of object.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        const hex = (v: unknown): string => Buffer.from(v as number[]).toString('hex');
        span.traceId = hex(span.traceId);
        span.spanId = hex(span.spanId);
        if (span.parentSpanId !== undefined) span.parentSpanId = hex(span.parentSpanId);
      }
    }
  }
  return object;
}

const spansOf = (request: DecodedRequest): DecodedSpan[] => request.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
const attribute = (attributes: KeyValue[] | undefined, key: string): KeyValue['value'] | undefined => attributes?.find((a) => a.key === key)?.value;

/** The async chain's exports keep only its async functions: a sync call there (sleep, the Promise
 *  executor) can last over the default 1 ms on a loaded machine (a first call, compiling). */
const ASYNC_ONLY = ['--min-duration', '1000s'];

let asyncThrow = '';
let http = '';
const receiver = new Receiver();
const out = tempDir('recall-otlp-');

before(async () => {
  const protobuf = (await import('protobufjs')).default;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(ROOT, 'test', 'fixtures', 'otlp', target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
  Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
  // main awaits greetAll, which awaits loadUser three times; the third throws (exit code 1).
  const recording = record('bugs/async-throw.js');
  assert.equal(recording.result.status, 1, recording.result.stderr);
  asyncThrow = recording.dir;
  const served = record('events/http.mjs');
  assert.equal(served.result.status, 0, served.result.stderr);
  http = served.dir;
  await receiver.start();
});

after(() => receiver.close());

/** The async chain's checks: names, parents, the thrown call's status, one trace id. */
function checkAsyncChain(spans: DecodedSpan[], errorCode: string | number): void {
  assert.deepEqual(spans.map((s) => s.name).sort(), ['greetAll', 'loadUser', 'loadUser', 'loadUser', 'main']);
  const byName = (name: string) => spans.filter((s) => s.name === name);
  const main = byName('main')[0]!;
  const greetAll = byName('greetAll')[0]!;
  assert.equal(main.parentSpanId ?? '', '', 'main is the root span');
  assert.equal(greetAll.parentSpanId, main.spanId, "greetAll's parent is main");
  for (const load of byName('loadUser')) assert.equal(load.parentSpanId, greetAll.spanId, "loadUser's parent is greetAll, across its awaits");
  const threw = byName('loadUser').filter((s) => s.status?.code === errorCode);
  assert.equal(threw.length, 1, 'the third loadUser threw: status ERROR');
  assert.equal(byName('loadUser').filter((s) => s.status?.code === undefined || s.status.code === 0 || s.status.code === 'STATUS_CODE_UNSET').length, 2);
  assert.equal(greetAll.status?.code, errorCode, 'the rejection went up through greetAll');
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace id per recording');
  assert.equal(spans[0]!.traceId.length, 32);
  for (const s of spans) {
    assert.equal(s.spanId.length, 16);
    assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano), `${s.name} ends after it begins`);
    // The recording is from today, in unix ns.
    assert.ok(Math.abs(Number(BigInt(s.startTimeUnixNano) / 1_000_000n) - Date.now()) < 3_600_000, 'unix time in ns');
  }
  // The span of a call covers its awaits: greetAll's holds its three loadUser spans.
  for (const load of byName('loadUser')) {
    assert.ok(BigInt(load.startTimeUnixNano) >= BigInt(greetAll.startTimeUnixNano) && BigInt(load.endTimeUnixNano) <= BigInt(greetAll.endTimeUnixNano));
  }
  const lineno = attribute(byName('loadUser')[0]!.attributes, 'code.lineno');
  assert.equal(Number(lineno?.intValue), 6);
  assert.match(attribute(main.attributes, 'code.filepath')?.stringValue ?? '', /async-throw\.js$/);
  assert.equal(attribute(main.attributes, 'thread.name')?.stringValue, 'main');
}

test('otlp http/protobuf: gzipped to /v1/traces, decodes with opentelemetry-proto; parents follow the async chain; throw → ERROR; service.name', async () => {
  receiver.reset();
  const result = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--endpoint', receiver.url]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^recall: 5 spans \(5 calls, 0 HTTP\/fetch\) from 1 thread in 1 request → http:\/\/127\.0\.0\.1:\d+\/v1\/traces \(/);
  assert.equal(receiver.requests.length, 1);
  const request = receiver.requests[0]!;
  assert.equal(request.method, 'POST');
  assert.equal(request.url, '/v1/traces');
  assert.equal(request.headers['content-type'], 'application/x-protobuf');
  assert.equal(request.headers['content-encoding'], 'gzip');
  const decoded = decodeProtobuf(gunzipSync(request.body));
  assert.equal(decoded.resourceSpans.length, 1);
  const resource = decoded.resourceSpans[0]!.resource.attributes;
  assert.equal(attribute(resource, 'service.name')?.stringValue, 'async-throw.js', 'service.name: the recorded script by default');
  assert.ok(Number(attribute(resource, 'process.pid')?.intValue) > 0);
  assert.match(attribute(resource, 'process.command_line')?.stringValue ?? '', /async-throw\.js/);
  assert.ok(attribute(resource, 'host.name')?.stringValue);
  assert.equal(decoded.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'recall');
  const spans = spansOf(decoded);
  checkAsyncChain(spans, 'STATUS_CODE_ERROR');
  for (const s of spans) assert.equal(s.kind, 'SPAN_KIND_INTERNAL');
});

test('otlp http/json: OTLP/JSON with hex ids and decimal-string times, --service, an endpoint already ending in /v1/traces, headers from OTEL_EXPORTER_OTLP_HEADERS', async () => {
  receiver.reset();
  // The endpoint and an API key header from the OpenTelemetry SDK's variables.
  const result = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--protocol', 'http/json', '--service', 'greeter'], {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s%20ecret, x-team = core',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: '',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(receiver.requests.length, 1);
  const request = receiver.requests[0]!;
  assert.equal(request.headers['x-api-key'], 's ecret');
  assert.equal(request.headers['x-team'], 'core');
  assert.equal(request.url, '/v1/traces');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['content-encoding'], 'gzip');
  const decoded = JSON.parse(gunzipSync(request.body).toString('utf8')) as DecodedRequest;
  assert.equal(attribute(decoded.resourceSpans[0]!.resource.attributes, 'service.name')?.stringValue, 'greeter');
  const spans = spansOf(decoded);
  for (const s of spans) {
    assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.match(s.startTimeUnixNano, /^\d+$/);
    assert.equal(s.kind, 1);
  }
  checkAsyncChain(spans, 2);
  // The same spans as the protobuf export: ids are deterministic.
  const file = join(out, 'chain.pb');
  assert.equal(recall(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--out', file]).status, 0);
  const fromFile = spansOf(decodeProtobuf(readFileSync(file)));
  assert.deepEqual(fromFile.map((s) => `${s.spanId} ${s.parentSpanId ?? ''} ${s.name}`).sort(), spans.map((s) => `${s.spanId} ${s.parentSpanId ?? ''} ${s.name}`).sort());
});

test('otlp: a 503 then 200 is retried after Retry-After', async () => {
  receiver.reset();
  receiver.answers = [{ status: 503, headers: { 'retry-after': '1' }, body: 'busy' }];
  const started = Date.now();
  const result = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--endpoint', receiver.url]);
  assert.equal(result.status, 0, result.stderr);
  assert.ok(Date.now() - started >= 1000, 'waited the Retry-After second');
  assert.equal(receiver.requests.length, 2);
  assert.deepEqual(receiver.requests[1]!.body, receiver.requests[0]!.body, 'the same request again');
  assert.match(result.stderr, /, 1 retry, /);
  assert.equal(spansOf(decodeProtobuf(gunzipSync(receiver.requests[1]!.body))).length, 5);
});

test('otlp: a 400 is one error line and exit code 1; an unreachable collector too', async () => {
  receiver.reset();
  receiver.answers = [{ status: 400, body: 'bad\nrequest' }];
  const result = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--endpoint', receiver.url]);
  assert.equal(result.status, 1);
  assert.equal(receiver.requests.length, 1, 'a 400 is not retried');
  assert.match(result.stderr, /^recall: export: the OTLP collector at http:\/\/127\.0\.0\.1:\d+\/v1\/traces answered HTTP 400 Bad Request: bad request\n$/);
  // A port nobody listens on (the receiver's own, once it is closed, is not reused this fast).
  const closed = new Receiver();
  await closed.start();
  const url = closed.url;
  await closed.close();
  const refused = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--endpoint', url]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^recall: export: cannot reach the OTLP collector at http:\/\/127\.0\.0\.1:\d+\/v1\/traces: ECONNREFUSED\n$/);
});

test('otlp --min-duration 0: every call a span, as many as recall summary counts; bad options refused', () => {
  const file = join(out, 'every.pb');
  const result = recall(['export', http, '--format', 'otlp', '--min-duration', '0', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const summary = summaryJson(http);
  const calls = summary.functions.reduce((sum, f) => sum + f.calls, 0);
  const spans = spansOf(decodeProtobuf(readFileSync(file)));
  assert.equal(spans.filter((s) => s.kind === 'SPAN_KIND_INTERNAL').length, calls);
  assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length, 'span ids are unique');
  const ids = new Set(spans.map((s) => s.spanId));
  for (const s of spans) if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), `${s.name}'s parent is a span of the export`);
  for (const [args, message] of [
    [['--protocol', 'grpc'], /--protocol takes http\/protobuf or http\/json, not 'grpc'/],
    [['--min-duration', 'soon'], /--min-duration takes a duration/],
    [['--endpoint', 'nowhere'], /--endpoint takes a URL/],
  ] as const) {
    const bad = recall(['export', http, '--format', 'otlp', ...args]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, message);
  }
  const stray = recall(['export', http, '--format', 'chrome', '--endpoint', 'http://x']);
  assert.match(stray.stderr, /--endpoint is for --format otlp/);
});

test('otlp: HTTP server and client spans (kinds, method, URL, status); a fetch under the call that made it; the handler under its server span', () => {
  const file = join(out, 'http.json');
  const result = recall(['export', http, '--format', 'otlp', '--protocol', 'http/json', '--min-duration', '0', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1, 'one request, one line');
  const spans = spansOf(JSON.parse(lines[0]!) as DecodedRequest);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const fetchSpan = spans.find((s) => s.kind === 3 && attribute(s.attributes, 'url.full'));
  assert.ok(fetchSpan, 'a fetch span (CLIENT, url.full)');
  assert.match(attribute(fetchSpan.attributes, 'url.full')?.stringValue ?? '', /^http:\/\/127\.0\.0\.1:\d+\/users\?id=2$/);
  assert.equal(attribute(fetchSpan.attributes, 'http.method')?.stringValue, 'POST');
  assert.equal(attribute(fetchSpan.attributes, 'http.response.status_code')?.intValue, '200');
  assert.equal(byId.get(fetchSpan.parentSpanId ?? '')?.name, 'viaFetch');
  const servers = spans.filter((s) => s.kind === 2);
  assert.equal(servers.length, 2, 'two server spans');
  const handles = spans.filter((s) => s.name === 'handle');
  assert.equal(handles.length, 2);
  for (const h of handles) assert.equal(byId.get(h.parentSpanId ?? '')?.kind, 2, "handle's parent is the request's server span");
  assert.equal(spans.filter((s) => s.kind === 3).length, 2, 'http.get and fetch: two client spans');
});

test('otlp --min-duration 0 on recursion, an async chain with a caught exception and a worker: the calls of recall summary, per function, on both threads', () => {
  const recording = record('export/mixed.mjs', { flags: ['--timing', 'exact'] });
  assert.equal(recording.result.status, 0, recording.result.stderr);
  const file = join(out, 'mixed.json');
  const result = recall(['export', recording.dir, '--format', 'otlp', '--protocol', 'http/json', '--min-duration', '0', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, / from 2 threads /);
  const spans = spansOf(JSON.parse(readFileSync(file, 'utf8')) as DecodedRequest);
  const calls = new Map<string, number>();
  for (const s of spans) calls.set(s.name, (calls.get(s.name) ?? 0) + 1);
  const counted = new Map<string, number>();
  for (const f of summaryJson(recording.dir).functions) counted.set(f.name, (counted.get(f.name) ?? 0) + f.calls);
  assert.deepEqual(new Map([...calls].sort()), new Map([...counted].sort()));
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  assert.equal(byId.size, spans.length, 'span ids unique across threads');
  const squares = spans.filter((s) => s.name === 'square');
  assert.equal(squares.length, 100);
  for (const s of squares) assert.equal(attribute(s.attributes, 'thread.id')?.intValue, attribute(byId.get(s.parentSpanId ?? '')?.attributes, 'thread.id')?.intValue ?? attribute(s.attributes, 'thread.id')?.intValue);
  // The caught exception: fetchItem(3) threw, loadAll did not.
  const fetches = spans.filter((s) => s.name === 'fetchItem');
  assert.equal(fetches.filter((s) => s.status?.code === 2).length, 1);
  const loadAll = spans.find((s) => s.name === 'loadAll')!;
  assert.equal(loadAll.status?.code ?? 0, 0);
  for (const f of fetches) assert.equal(f.parentSpanId, loadAll.spanId);
  // Recursion: each fib below the first is a child of a fib.
  const fibs = spans.filter((s) => s.name === 'fib');
  assert.equal(fibs.filter((s) => byId.get(s.parentSpanId ?? '')?.name !== 'fib').length, 1, 'one outermost fib');
});

test('otlp batches: bodies cut at the batch size each decode on their own and together hold every span once, also when spooled through a file', async () => {
  const { openQuery } = await import('../../src/query/open.js');
  const { exportOtlp } = await import('../../src/export/otlp.js');
  const q = openQuery(http);
  const bodies: Uint8Array[] = [];
  try {
    // accept keeps nothing back: every body waits in the spool (1 KiB in memory, the rest in a file) until delivered.
    const accepted: Uint8Array[] = [];
    const sink = {
      requests: 0,
      bytes: 0,
      retries: 0,
      rejected: 0,
      rejectedMessage: '',
      accept: (body: Uint8Array) => (accepted.push(body.slice()), body),
      deliver: (body: Uint8Array) => (bodies.push(body), Promise.resolve()),
    };
    const totals = await exportOtlp(q, sink, { minDurationNs: 0, batchBytes: 500, spoolBytes: 1024 });
    assert.deepEqual(bodies, accepted, 'delivered in order, as they were made');
    assert.ok(bodies.length > 3, `several bodies (${bodies.length})`);
    assert.equal(totals.requests, bodies.length);
    const spans = bodies.flatMap((body) => {
      const decoded = decodeProtobuf(body);
      assert.equal(attribute(decoded.resourceSpans[0]!.resource.attributes, 'service.name')?.stringValue, 'http.mjs', 'each body carries the resource');
      return spansOf(decoded);
    });
    assert.equal(spans.length, totals.calls + totals.runtime);
    assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length);
  } finally {
    q.close();
  }
});

test('otlp --min-duration 0 under adaptive timing: the count-only calls are spans too', () => {
  const recording = record('fib.js', { args: ['18'] });
  assert.equal(recording.result.status, 0, recording.result.stderr);
  const file = join(out, 'fib.pb');
  const result = recall(['export', recording.dir, '--format', 'otlp', '--min-duration', '0', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const fib = summaryJson(recording.dir).functions.find((f) => f.name === 'fib');
  assert.equal(fib?.calls, 8361);
  assert.equal(spansOf(decodeProtobuf(readFileSync(file))).filter((s) => s.name === 'fib').length, 8361);
});

test("otlp: a worker's root call is a child of the async call that started the worker; not when that thread is left out", () => {
  const recording = record('export/worker-chain.mjs');
  assert.equal(recording.result.status, 0, recording.result.stderr);
  assert.equal(recording.result.stdout, 'answer 42\n');
  const file = join(out, 'worker.json');
  assert.equal(recall(['export', recording.dir, '--format', 'otlp', ...ASYNC_ONLY, '--protocol', 'http/json', '--out', file]).status, 0);
  const spans = spansOf(JSON.parse(readFileSync(file, 'utf8')) as DecodedRequest);
  const runJob = spans.find((s) => s.name === 'runJob')!;
  const crunch = spans.find((s) => s.name === 'crunch')!;
  assert.equal(crunch.parentSpanId, runJob.spanId);
  assert.notEqual(attribute(crunch.attributes, 'thread.id')?.intValue, '0');
  const alone = join(out, 'worker-alone.json');
  const threadId = attribute(crunch.attributes, 'thread.id')?.intValue as string;
  assert.equal(recall(['export', recording.dir, '--format', 'otlp', ...ASYNC_ONLY, '--protocol', 'http/json', '--thread', threadId, '--out', alone]).status, 0);
  const only = spansOf(JSON.parse(readFileSync(alone, 'utf8')) as DecodedRequest);
  assert.deepEqual(only.map((s) => `${s.name} ${s.parentSpanId ?? '-'}`), ['crunch -']);
});

test('otlp: a partial success (some spans rejected) is said on stderr, the export still succeeds', async () => {
  receiver.reset();
  // ExportTraceServiceResponse { partial_success (1) { rejected_spans (1): 2, error_message (2): "too old" } }
  const inner = Buffer.concat([Buffer.from([0x08, 0x02, 0x12, 7]), Buffer.from('too old')]);
  const body = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
  receiver.answers = [{ status: 200, body }];
  const result = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--endpoint', receiver.url]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^recall: the collector rejected 2 spans: too old\nrecall: 5 spans /);
  receiver.reset();
  receiver.answers = [{ status: 200, headers: { 'content-type': 'application/json' }, body: '{"partialSuccess":{"rejectedSpans":"1","errorMessage":"no"}}' }];
  const json = await recallAsync(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--protocol', 'http/json', '--endpoint', receiver.url]);
  assert.equal(json.status, 0, json.stderr);
  assert.match(json.stderr, /^recall: the collector rejected 1 span: no\n/);
});

interface DecodedEvent {
  timeUnixNano: string;
  name: string;
  attributes?: KeyValue[];
}

test('otlp: a thrown call carries its error as the status message and an exception event (exception.type, exception.message), decoded with opentelemetry-proto', () => {
  const bad = record('bugs/bad-value.js');
  assert.equal(bad.result.status, 0, bad.result.stderr);
  const file = join(out, 'bad-value.pb');
  assert.equal(recall(['export', bad.dir, '--format', 'otlp', '--min-duration', '0', '--out', file]).status, 0);
  const spans = spansOf(decodeProtobuf(readFileSync(file))) as (DecodedSpan & { events?: DecodedEvent[] })[];
  // checkQuantity threw a RangeError; lineTotal and priceOrder passed it on (the same exception chain).
  for (const name of ['checkQuantity', 'lineTotal', 'priceOrder']) {
    const threw = spans.filter((s) => s.name === name && s.status?.code === 'STATUS_CODE_ERROR');
    assert.equal(threw.length, 1, `${name} threw once`);
    const span = threw[0]!;
    assert.equal(span.status!.message, 'RangeError: quantity must be positive, got -3');
    assert.equal(span.events?.length, 1);
    const event = span.events![0]!;
    assert.equal(event.name, 'exception');
    assert.equal(attribute(event.attributes, 'exception.type')?.stringValue, 'RangeError');
    assert.equal(attribute(event.attributes, 'exception.message')?.stringValue, 'quantity must be positive, got -3');
    assert.equal(event.timeUnixNano, span.endTimeUnixNano, 'when the error left the call');
  }
  // Calls that returned have neither.
  for (const s of spans.filter((s) => s.status?.code !== 'STATUS_CODE_ERROR')) assert.equal(s.events, undefined, s.name);
  // The same in OTLP/JSON, for an async chain whose error only the uncaught record holds: each
  // call the rejection went through (loadUser, greetAll, main; as recall exceptions says) has it.
  const json = join(out, 'async-throw.json');
  assert.equal(recall(['export', asyncThrow, '--format', 'otlp', ...ASYNC_ONLY, '--protocol', 'http/json', '--out', json]).status, 0);
  const chain = (spansOf(JSON.parse(readFileSync(json, 'utf8')) as DecodedRequest) as (DecodedSpan & { events?: DecodedEvent[] })[]).filter((s) => s.status?.code === 2);
  assert.deepEqual(chain.map((s) => s.name).sort(), ['greetAll', 'loadUser', 'main']);
  for (const s of chain) {
    assert.equal(s.status?.message, "TypeError: Cannot read properties of undefined (reading 'name')", s.name);
    assert.equal(attribute(s.events?.[0]?.attributes, 'exception.type')?.stringValue, 'TypeError');
  }
});

test('otlp --process all: a resource per process; the child process\'s root call is a child of the call that spawned it; one trace id', () => {
  const launched = record('follow/launch.js', { args: ['spawn', 'child.js', '300'] });
  assert.equal(launched.result.status, 0, launched.result.stderr);
  const file = join(out, 'all.json');
  const result = recall(['export', launched.dir, '--format', 'otlp', '--process', 'all', '--min-duration', '0', '--protocol', 'http/json', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, / from 2 threads of 2 processes in 2 requests /);
  const requests = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as DecodedRequest);
  const processes = requests.map((r) => ({ pid: Number(attribute(r.resourceSpans[0]!.resource.attributes, 'process.pid')?.intValue), resource: r.resourceSpans[0]!.resource.attributes, spans: spansOf(r) }));
  assert.equal(new Set(processes.map((p) => p.pid)).size, 2, 'two processes, each its own resource');
  const [root, child] = processes as [(typeof processes)[0], (typeof processes)[0]];
  assert.equal(attribute(root.resource, 'service.name')?.stringValue, 'launch.js');
  assert.equal(attribute(child.resource, 'service.name')?.stringValue, 'child.js');
  assert.equal(Number(attribute(child.resource, 'process.parent_pid')?.intValue), root.pid);
  const all = processes.flatMap((p) => p.spans);
  assert.equal(new Set(all.map((s) => s.traceId)).size, 1, 'one trace');
  assert.equal(new Set(all.map((s) => s.spanId)).size, all.length, 'span ids unique across processes');
  // Each process holds the calls recall summary counts for it.
  const summary = JSON.parse(recall(['summary', launched.dir, '--process', 'all', '--format', 'json']).stdout) as { functions: { calls: number; pid: number }[] };
  for (const p of processes) assert.equal(p.spans.length, summary.functions.filter((f) => f.pid === p.pid).reduce((n, f) => n + f.calls, 0), `pid ${p.pid}`);
  // run() is the child's root call; start() spawned the child.
  const run = child.spans.find((s) => s.name === 'run')!;
  const start = root.spans.find((s) => s.name === 'start')!;
  assert.equal(run.parentSpanId, start.spanId, "the child's root call hangs from the call that spawned it");
  for (const s of child.spans.filter((s) => s.name === 'work')) assert.equal(s.parentSpanId, run.spanId);
  // One process at a time still works, and its ids are those of --process all's root.
  const alone = join(out, 'root.json');
  assert.equal(recall(['export', launched.dir, '--format', 'otlp', '--min-duration', '0', '--protocol', 'http/json', '--out', alone]).status, 0);
  assert.deepEqual(spansOf(JSON.parse(readFileSync(alone, 'utf8')) as DecodedRequest).map((s) => s.spanId).sort(), root.spans.map((s) => s.spanId).sort());
});

test('otlp --from/--to: exactly the spans that overlap the range, whole; their parents are in the export', () => {
  const recording = record('export/mixed.mjs', { flags: ['--timing', 'exact'] });
  assert.equal(recording.result.status, 0, recording.result.stderr);
  const whole = join(out, 'mixed-whole.json');
  assert.equal(recall(['export', recording.dir, '--format', 'otlp', '--protocol', 'http/json', '--min-duration', '0', '--out', whole]).status, 0);
  const spans = spansOf(JSON.parse(readFileSync(whole, 'utf8')) as DecodedRequest);
  // Times since the trace began, from the manifest's start.
  const startNs = BigInt(Math.round((JSON.parse(readFileSync(join(recording.dir, 'manifest.json'), 'utf8')) as { startEpochMs: number }).startEpochMs * 1000)) * 1000n;
  const since = (unix: string): number => Number(BigInt(unix) - startNs);
  const begins = spans.map((s) => since(s.startTimeUnixNano)).sort((a, b) => a - b);
  const from = begins[Math.floor(begins.length * 0.3)]!;
  const to = begins[Math.floor(begins.length * 0.7)]!;
  const expected = spans.filter((s) => since(s.endTimeUnixNano) >= from && since(s.startTimeUnixNano) <= to);
  assert.ok(expected.length > 0 && expected.length < spans.length, `${expected.length} of ${spans.length} spans in the range`);
  const file = join(out, 'mixed-range.json');
  const result = recall(['export', recording.dir, '--format', 'otlp', '--protocol', 'http/json', '--min-duration', '0', '--from', `${from / 1e6}ms`, '--to', `${to / 1e6}ms`, '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const ranged = spansOf(JSON.parse(readFileSync(file, 'utf8')) as DecodedRequest);
  // (ms with a fraction: the edges are exact to the ns, so a span touching an edge may differ by one rounding.)
  const key = (s: DecodedSpan): string => `${s.spanId} ${s.startTimeUnixNano} ${s.endTimeUnixNano}`;
  const got = new Set(ranged.map(key));
  const missing = expected.filter((s) => !got.has(key(s)));
  const extra = ranged.filter((s) => !expected.some((e) => key(e) === key(s)));
  for (const s of [...missing, ...extra]) assert.ok(Math.abs(since(s.endTimeUnixNano) - from) < 2 || Math.abs(since(s.startTimeUnixNano) - to) < 2, `${s.name} differs away from the edges`);
  assert.ok(missing.length + extra.length <= 2);
  const ids = new Set(ranged.map((s) => s.spanId));
  for (const s of ranged) if (s.parentSpanId) assert.ok(ids.has(s.parentSpanId), `${s.name}'s parent is in the export`);
});

test('otlp: a progress line on stderr when it is a terminal, cleared at the end', () => {
  const recording = record('fib.js', { args: ['25'] });
  assert.equal(recording.result.status, 0, recording.result.stderr);
  const file = join(out, 'fib25.pb');
  const result = run(process.execPath, ['--require', join(FIXTURES, 'export', 'tty-stderr.cjs'), CLI, 'export', recording.dir, '--format', 'otlp', '--out', file], { cwd: FIXTURES });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^\rrecall: exporting · [\d,]+ events · \d+ s/);
  assert.match(result.stderr, /\r\x1b\[Krecall: [\d,]+ spans /);
});
