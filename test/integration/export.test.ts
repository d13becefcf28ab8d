// recall export: Chrome Trace Event JSON and speedscope, on one trace with recursion, an async
// chain with a caught exception and a worker. Each holds exactly the calls recall summary
// counts, per function; Chrome's B/E events nest on every thread, with flows for messages and
// awaits; speedscope's opens and closes balance, each close ending the innermost open frame, in
// time order.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, ROOT, recall, record, run, summaryJson, tempDir } from '../helpers.js';
import type { Summary } from '../../src/analysis/summary.js';

let dir = '';
let summary: Summary;
const out = tempDir('recall-export-');

before(() => {
  const recording = record('export/mixed.mjs', { flags: ['--timing', 'exact'] });
  assert.equal(recording.result.status, 0, recording.result.stderr);
  assert.match(recording.result.stdout, /fib 144\n.*"error":"item 3 is missing".*\nworker sum 328350\n/);
  dir = recording.dir;
  summary = summaryJson(dir);
});

/** Calls per function name, over every thread, as recall summary counts them. */
function summaryCalls(): Map<string, number> {
  const calls = new Map<string, number>();
  for (const f of summary.functions) calls.set(f.name, (calls.get(f.name) ?? 0) + f.calls);
  return calls;
}

interface ChromeEvent {
  ph: string;
  cat?: string;
  name?: string;
  tid: number;
  ts: number;
  args?: { resumed?: boolean; name?: string };
}

test('chrome: the calls of recall summary, B/E nesting on every thread, thread names', () => {
  const file = join(out, 'mixed.chrome.json');
  const result = recall(['export', dir, '--format', 'chrome', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^recall: [\d,]+ calls, [\d,]+ events from 2 threads → .*mixed\.chrome\.json \(/);
  const trace = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: ChromeEvent[] };
  const calls = new Map<string, number>();
  const stacks = new Map<number, { name: string; ts: number }[]>();
  for (const e of trace.traceEvents) {
    if (e.ph === 'B') {
      if (!e.args?.resumed) calls.set(e.name!, (calls.get(e.name!) ?? 0) + 1);
      const stack = stacks.get(e.tid) ?? [];
      stacks.set(e.tid, stack);
      if (stack.length > 0) assert.ok(e.ts >= stack[stack.length - 1]!.ts, 'a child begins after its parent');
      stack.push({ name: e.name!, ts: e.ts });
    } else if (e.ph === 'E') {
      const open = stacks.get(e.tid)?.pop();
      assert.ok(open, `an E on thread ${e.tid} closes an open B`);
      assert.ok(e.ts >= open.ts, `${open.name} ends after it began`);
    }
  }
  for (const [tid, stack] of stacks) assert.equal(stack.length, 0, `thread ${tid}: every B has its E`);
  assert.deepEqual(Object.fromEntries([...calls].sort()), Object.fromEntries([...summaryCalls()].sort()));
  assert.equal(calls.get('fib'), 465);
  const names = trace.traceEvents.filter((e) => e.ph === 'M' && (e as { name?: string }).name === 'thread_name').map((e) => e.args?.name);
  assert.equal(names.length, 2);
  assert.ok(trace.traceEvents.some((e) => e.ph === 'B' && e.name === 'fetchItem' && e.args?.resumed), 'runs after an await are marked');
  // The worker's message: a flow from its thread to the main thread, with the same id.
  const starts = trace.traceEvents.filter((e) => e.ph === 's' && e.cat === 'message') as (ChromeEvent & { id: number })[];
  const finishes = trace.traceEvents.filter((e) => e.ph === 'f' && e.cat === 'message') as (ChromeEvent & { id: number })[];
  assert.ok(starts.length >= 1);
  const finish = finishes.find((f) => f.id === starts[0]!.id);
  assert.ok(finish && finish.tid !== starts[0]!.tid && finish.ts >= starts[0]!.ts);
});

test('chrome: async causality as flows, from the end of each run that stops at an await to the call\'s next run', () => {
  const file = join(out, 'mixed-await.chrome.json');
  assert.equal(recall(['export', dir, '--format', 'chrome', '--out', file]).status, 0);
  const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: (ChromeEvent & { id?: number; bp?: string })[] }).traceEvents;
  const starts = events.map((e, i) => ({ e, i })).filter(({ e }) => e.ph === 's' && e.cat === 'await');
  // fetchItem awaits its timer 4 times, loadAll awaits fetchItem 4 times.
  assert.ok(starts.length >= 8, `${starts.length} await flows`);
  const ids = new Set<number>();
  for (const { e: start, i } of starts) {
    assert.ok(!ids.has(start.id!), 'flow ids are unique');
    ids.add(start.id!);
    // It starts in the run it leaves: the next event of its thread is that run's end, at an await.
    const end = events.slice(i + 1).find((e) => e.tid === start.tid && (e.ph === 'B' || e.ph === 'E'))!;
    assert.equal(end.ph, 'E');
    assert.equal((end.args as { end?: string }).end, 'await');
    assert.equal(end.ts, start.ts);
    // It ends where the call runs again: right after a B marked resumed, same thread, later.
    const j = events.findIndex((e) => e.ph === 'f' && e.cat === 'await' && e.id === start.id);
    assert.ok(j > i, `flow ${start.id} ends`);
    const finish = events[j]!;
    assert.equal(finish.bp, 'e');
    assert.equal(finish.tid, start.tid);
    assert.ok(finish.ts >= start.ts);
    const resume = events.slice(0, j).reverse().find((e) => e.tid === finish.tid && (e.ph === 'B' || e.ph === 'E'))!;
    assert.equal(resume.ph, 'B');
    assert.equal(resume.args?.resumed, true);
    assert.equal(resume.ts, finish.ts);
  }
});

interface Speedscope {
  $schema: string;
  shared: { frames: { name: string; file?: string; line?: number }[] };
  profiles: { type: string; name: string; unit: string; startValue: number; endValue: number; events: { type: 'O' | 'C'; frame: number; at: number }[] }[];
}

test('speedscope: the schema, one evented profile per thread, balanced opens and closes in time order', () => {
  const file = join(out, 'mixed.speedscope.json');
  const result = recall(['export', dir, '--format', 'speedscope', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Speedscope;
  assert.equal(doc.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.equal(doc.profiles.length, 2);
  const opens = new Map<string, number>();
  for (const profile of doc.profiles) {
    assert.equal(profile.type, 'evented');
    assert.equal(profile.unit, 'nanoseconds');
    const stack: number[] = [];
    let last = -Infinity;
    for (const e of profile.events) {
      assert.ok(e.at >= last, 'events in time order');
      last = e.at;
      assert.ok(e.at >= profile.startValue && e.at <= profile.endValue);
      const name = doc.shared.frames[e.frame]!.name;
      if (e.type === 'O') {
        stack.push(e.frame);
        opens.set(name, (opens.get(name) ?? 0) + 1);
      } else assert.equal(stack.pop(), e.frame, 'a close ends the innermost open frame');
    }
    assert.equal(stack.length, 0, `${profile.name}: balanced`);
  }
  // Each function's frame opens once per call; runs after an await are "name (after await)".
  const plain = new Map([...opens].filter(([name]) => !name.endsWith(' (after await)')));
  assert.deepEqual(Object.fromEntries([...plain].sort()), Object.fromEntries([...summaryCalls()].sort()));
  assert.ok((opens.get('fetchItem (after await)') ?? 0) >= 4, 'fetchItem runs again after its await');
});

test('export: a bad format or thread is a one-line usage error, and nothing is left behind', () => {
  const bad = recall(['export', dir, '--format', 'svg']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^recall: export: --format takes perfetto, chrome, speedscope, parquet, otlp, not 'svg'/);
  const file = join(out, 'none.json');
  const thread = recall(['export', dir, '--format', 'chrome', '--thread', '99', '--out', file]);
  assert.equal(thread.status, 2);
  assert.match(thread.stderr, /no thread 99 in this trace/);
  assert.throws(() => readFileSync(file));
});

interface DecodedEvent {
  type?: number;
  trackUuid?: number | { toNumber(): number };
  nameIid?: number | { toNumber(): number };
  name?: string;
  debugAnnotations?: { name?: string; boolValue?: boolean; uintValue?: number }[];
}
interface DecodedPacket {
  timestamp?: number | { toNumber(): number };
  trustedPacketSequenceId?: number;
  trackEvent?: DecodedEvent & { flowIds?: unknown[]; terminatingFlowIds?: unknown[] };
  trackDescriptor?: { uuid?: unknown; parentUuid?: unknown; name?: string; process?: { pid?: number; processName?: string }; thread?: { pid?: number; tid?: number; threadName?: string } };
  internedData?: { eventNames?: { iid?: unknown; name?: string }[] };
}

const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));

/** Decode a Perfetto trace with Perfetto's own perfetto_trace.proto. */
async function decodePerfetto(file: string): Promise<DecodedPacket[]> {
  const { gunzipSync } = await import('node:zlib');
  const protobuf = (await import('protobufjs')).default;
  const source = gunzipSync(readFileSync(join(ROOT, 'test', 'fixtures', 'perfetto', 'perfetto_trace.proto.gz'))).toString('utf8');
  const Trace = protobuf.parse(source, { keepCase: false }).root.lookupType('perfetto.protos.Trace');
  const message = Trace.decode(readFileSync(file)) as unknown as { packet: DecodedPacket[] };
  return message.packet;
}

test('perfetto: decodes with perfetto_trace.proto; tracks per thread under the process; slices balanced; the calls of recall summary', async () => {
  const file = join(out, 'mixed.perfetto-trace');
  const result = recall(['export', dir, '--format', 'perfetto', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const packets = await decodePerfetto(file);
  const descriptors = packets.filter((p) => p.trackDescriptor).map((p) => p.trackDescriptor!);
  const processTrack = descriptors.find((d) => d.process);
  assert.ok(processTrack && processTrack.process!.pid! > 0);
  const threadTracks = descriptors.filter((d) => d.thread);
  assert.equal(threadTracks.length, 2);
  for (const t of threadTracks) assert.equal(num(t.parentUuid), num(processTrack.uuid), 'thread tracks under the process track');
  const names = new Map<string, string>(); // sequence:iid -> name
  const calls = new Map<string, number>();
  const stacks = new Map<number, string[]>();
  let lastTs = new Map<number, number>();
  for (const p of packets) {
    for (const n of p.internedData?.eventNames ?? []) names.set(`${p.trustedPacketSequenceId}:${num(n.iid)}`, n.name!);
    const e = p.trackEvent;
    if (!e) continue;
    const track = num(e.trackUuid);
    const ts = num(p.timestamp);
    assert.ok(ts >= (lastTs.get(track) ?? 0), 'timestamps in order on a track');
    lastTs.set(track, ts);
    const stack = stacks.get(track) ?? [];
    stacks.set(track, stack);
    if (e.type === 1) {
      const name = names.get(`${p.trustedPacketSequenceId}:${num(e.nameIid)}`);
      assert.ok(name, 'every begin names an interned name of its sequence');
      const resumed = e.debugAnnotations?.some((a) => a.name === 'resumed' && a.boolValue === true) ?? false;
      if (!resumed) calls.set(name, (calls.get(name) ?? 0) + 1);
      stack.push(name);
    } else if (e.type === 2) {
      assert.ok(stack.pop() !== undefined, 'an end closes an open slice');
    }
  }
  lastTs = new Map();
  for (const [track, stack] of stacks) assert.equal(stack.length, 0, `track ${track}: balanced`);
  assert.deepEqual(Object.fromEntries([...calls].sort()), Object.fromEntries([...summaryCalls()].sort()));
  // The worker's message to the main thread: a flow from an instant on its track to one on main's.
  const sends = packets.filter((p) => p.trackEvent?.type === 3 && (p.trackEvent.flowIds?.length ?? 0) > 0);
  const ends = packets.filter((p) => p.trackEvent?.type === 3 && (p.trackEvent.terminatingFlowIds?.length ?? 0) > 0);
  assert.ok(sends.length >= 1 && ends.length >= 1, 'message flows');
  const sent = num(sends[0]!.trackEvent!.flowIds![0]);
  const landed = ends.find((p) => num(p.trackEvent!.terminatingFlowIds![0]) === sent);
  assert.ok(landed, 'the flow ends where it was delivered');
  assert.notEqual(num(landed.trackEvent!.trackUuid), num(sends[0]!.trackEvent!.trackUuid), 'on the other thread');
  assert.match(sends[0]!.trackEvent!.name!, /^message-send /);
  // fetchItem(3) threw: the end of its call says so.
  assert.ok(packets.some((p) => p.trackEvent?.type === 2 && p.trackEvent.debugAnnotations?.some((a) => a.name === 'threw' && a.boolValue === true)));
  assert.ok(packets.some((p) => p.trackEvent?.type === 3 && /^worker-start /.test(p.trackEvent.name ?? '')), 'worker start as an instant');
  // Where the exception began: an instant on the thrower's track.
  assert.ok(packets.some((p) => p.trackEvent?.type === 3 && /^✗ fetchItem threw/.test(p.trackEvent.name ?? '')), 'the throw as an instant');
  // Async causality: each await's end flows to the call's next run, on the same track.
  const awaitEnds = packets.filter((p) => p.trackEvent?.type === 2 && (p.trackEvent.flowIds?.length ?? 0) > 0);
  assert.ok(awaitEnds.length >= 4, `${awaitEnds.length} await flows`);
  for (const end of awaitEnds) {
    const id = num(end.trackEvent!.flowIds![0]);
    const resume = packets.find((p) => p.trackEvent?.type === 1 && p.trackEvent.terminatingFlowIds?.some((f) => num(f) === id));
    assert.ok(resume, `flow ${id} ends at a resume`);
    assert.equal(num(resume.trackEvent!.trackUuid), num(end.trackEvent!.trackUuid));
    assert.ok(resume.trackEvent!.debugAnnotations?.some((a) => a.name === 'resumed'));
  }
});

test('perfetto: HTTP spans on tracks of their own under the thread', async () => {
  const http = record('events/http.mjs');
  assert.equal(http.result.status, 0, http.result.stderr);
  const file = join(out, 'http.perfetto-trace');
  assert.equal(recall(['export', http.dir, '--format', 'perfetto', '--out', file]).status, 0);
  const packets = await decodePerfetto(file);
  const lanes = packets.filter((p) => p.trackDescriptor && /^http/.test(p.trackDescriptor.name ?? '') && !p.trackDescriptor.thread);
  assert.ok(lanes.length >= 1, 'span lane tracks');
  const laneIds = new Set(lanes.map((p) => num(p.trackDescriptor!.uuid)));
  const threadTrack = packets.find((p) => p.trackDescriptor?.thread)!.trackDescriptor!;
  for (const lane of lanes) assert.equal(num(lane.trackDescriptor!.parentUuid), num(threadTrack.uuid));
  const open = new Map<number, number>();
  let begins = 0;
  for (const p of packets) {
    const e = p.trackEvent;
    if (!e || !laneIds.has(num(e.trackUuid))) continue;
    const track = num(e.trackUuid);
    if (e.type === 1) {
      begins++;
      assert.match(e.name ?? '', /^(http\.server|http\.client|fetch) /);
      open.set(track, (open.get(track) ?? 0) + 1);
    } else if (e.type === 2) open.set(track, (open.get(track) ?? 0) - 1);
    assert.ok((open.get(track) ?? 0) >= 0 && (open.get(track) ?? 0) <= 1, 'a lane holds one span at a time');
  }
  assert.ok(begins >= 3, `${begins} spans`);
  for (const [track, n] of open) assert.equal(n, 0, `lane ${track} balanced`);
});

test('perfetto: recursion deeper than 500 levels is stated by an instant event, never lost silently', async () => {
  const deep = record('export/deep.cjs', { args: ['700'] });
  assert.equal(deep.result.status, 0, deep.result.stderr);
  const file = join(out, 'deep.perfetto-trace');
  const result = recall(['export', deep.dir, '--format', 'perfetto', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const packets = await decodePerfetto(file);
  let depth = 0;
  let maxDepth = 0;
  for (const p of packets) {
    if (p.trackEvent?.type === 1) maxDepth = Math.max(maxDepth, ++depth);
    else if (p.trackEvent?.type === 2) depth--;
  }
  assert.equal(maxDepth, 500);
  const notes = packets.filter((p) => p.trackEvent?.type === 3 && /deeper than/.test(p.trackEvent.name ?? '')).map((p) => p.trackEvent!);
  assert.ok(notes.length >= 1, 'an instant event says calls ran deeper');
  assert.match(notes[0]!.name!, /^… \d+ calls deeper than 500 levels/);
  const hidden = notes.reduce((n, e) => n + num(e.debugAnnotations?.find((a) => a.name === 'calls')?.uintValue), 0);
  assert.ok(hidden >= 200, `${hidden} calls below level 500`);
});

test('parquet: DuckDB reads every table; calls per function are recall summary\'s; recall sql queries them', () => {
  const pq = join(out, 'mixed.parquet');
  const result = recall(['export', dir, '--format', 'parquet', '--out', pq]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^recall: calls [\d,]+, functions \d+, threads 2, exceptions 1, events \d+, values \d+ → /);
  const sql = (query: string, format = 'json') => {
    const r = recall(['sql', dir, query, '--format', format]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const rows = (JSON.parse(sql('select name, count(*)::integer as calls from calls group by name')) as { rows: { name: string; calls: number }[] }).rows;
  assert.deepEqual(Object.fromEntries(rows.map((r) => [r.name, r.calls]).sort()), Object.fromEntries([...summaryCalls()].sort()));
  // Parent links: fetchItem's calls are under loadAll's; square's under the worker thread's module code or none.
  const parents = JSON.parse(sql("select distinct p.name as parent from calls c join calls p on c.parent = p.call where c.name = 'fetchItem'")) as { rows: { parent: string }[] };
  assert.deepEqual(parents.rows.map((r) => r.parent), ['loadAll']);
  const exceptions = JSON.parse(sql('select error, thrown_in, caught_in, outcome from exceptions')) as { rows: Record<string, string>[] };
  assert.deepEqual(exceptions.rows, [{ error: 'Error: item 3 is missing', thrown_in: 'fetchItem', caught_in: 'loadAll', outcome: 'caught' }]);
  // The same tables straight from the exported directory, with DuckDB's own reader (recall sql reads the ones built beside the trace).
  const direct = recall(['sql', dir, `select count(*) as n from read_parquet('${join(pq, 'calls.parquet')}')`, '--format', 'csv']);
  assert.equal(direct.stdout, `n\n${[...summaryCalls().values()].reduce((a, b) => a + b, 0)}\n`);
  const text = sql("select name from functions where name = 'fib'", 'text');
  assert.match(text, /^name\nfib\n$/);
  const bad = recall(['sql', dir, 'select from nowhere']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^recall: sql: Parser Error/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('export --from/--to: only the range, calls running at its edges cut there, still nested', () => {
  // A range inside the recorded activity: from the 30th to the 70th percentile of the calls'
  // begin times (the program runs in bursts; a fraction of the whole duration can be empty).
  const whole = join(out, 'whole.chrome.json');
  assert.equal(recall(['export', dir, '--format', 'chrome', '--out', whole]).status, 0);
  const begins = (JSON.parse(readFileSync(whole, 'utf8')) as { traceEvents: ChromeEvent[] }).traceEvents.filter((e) => e.ph === 'B').map((e) => e.ts).sort((a, b) => a - b);
  const from = begins[Math.floor(begins.length * 0.3)]! / 1000;
  const to = begins[Math.floor(begins.length * 0.7)]! / 1000;
  const file = join(out, 'range.chrome.json');
  const result = recall(['export', dir, '--format', 'chrome', '--out', file, '--from', `${from}ms`, '--to', `${to}ms`]);
  assert.equal(result.status, 0, result.stderr);
  const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: ChromeEvent[] }).traceEvents.filter((e) => e.ph === 'B' || e.ph === 'E');
  assert.ok(events.length > 0);
  for (const e of events) assert.ok(e.ts >= from * 1000 - 0.001 && e.ts <= to * 1000 + 0.001, `${e.ph} at ${e.ts} µs outside [${from * 1000}, ${to * 1000}]`);
  const depth = new Map<number, number>();
  for (const e of events) {
    depth.set(e.tid, (depth.get(e.tid) ?? 0) + (e.ph === 'B' ? 1 : -1));
    assert.ok(depth.get(e.tid)! >= 0);
  }
  for (const [tid, d] of depth) assert.equal(d, 0, `thread ${tid} balanced`);
});

/** Rows of a DuckDB query through recall sql (JSON). */
function sqlRows<T>(trace: string, query: string): T[] {
  const r = recall(['sql', trace, query, '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { rows: T[] }).rows;
}

test('parquet --from/--to: the calls that overlap the range, whole; the events and values inside it', () => {
  const whole = join(out, 'whole.parquet');
  assert.equal(recall(['export', dir, '--format', 'parquet', '--out', whole]).status, 0);
  const calls = (root: string) => `read_parquet('${join(root, 'calls.parquet')}')`;
  const begins = sqlRows<{ s: number }>(dir, `select start_ns::double as s from ${calls(whole)} order by start_ns`).map((r) => r.s);
  const from = begins[Math.floor(begins.length * 0.3)]!;
  const to = begins[Math.floor(begins.length * 0.7)]!;
  const ranged = join(out, 'range.parquet');
  // Whole microseconds, so the edges given in ms are exact.
  const fromUs = Math.floor(from / 1000);
  const toUs = Math.ceil(to / 1000);
  const result = recall(['export', dir, '--format', 'parquet', '--out', ranged, '--from', `${fromUs / 1000}ms`, '--to', `${toUs / 1000}ms`]);
  assert.equal(result.status, 0, result.stderr);
  const expected = sqlRows<{ call: string }>(dir, `select call from ${calls(whole)} where start_ns <= ${toUs * 1000} and (end_ns is null or end_ns >= ${fromUs * 1000}) order by call`).map((r) => r.call);
  const got = sqlRows<{ call: string }>(dir, `select call from ${calls(ranged)} order by call`).map((r) => r.call);
  assert.ok(got.length > 0 && got.length < begins.length, `${got.length} of ${begins.length} calls`);
  assert.deepEqual(got, expected);
  // Whole: a call that began before the range keeps its start.
  const [early] = sqlRows<{ n: number }>(dir, `select count(*)::integer as n from ${calls(ranged)} where start_ns < ${fromUs * 1000}`);
  assert.ok(early!.n > 0, 'calls running when the range began are there, not cut');
  for (const table of ['events', 'values']) {
    const [outside] = sqlRows<{ n: number }>(dir, `select count(*)::integer as n from read_parquet('${join(ranged, `${table}.parquet`)}') where ns < ${fromUs * 1000} or ns > ${toUs * 1000}`);
    assert.equal(outside!.n, 0, `${table} inside the range`);
  }
});

test('export --process all: every process of the trace, its calls under its own pid', () => {
  const launched = record('follow/launch.js', { args: ['spawn', 'child.js', '300'] });
  assert.equal(launched.result.status, 0, launched.result.stderr);
  const all = JSON.parse(recall(['summary', launched.dir, '--process', 'all', '--format', 'json']).stdout) as { processes: { pid: number }[]; functions: { name: string; calls: number; pid: number }[] };
  assert.equal(all.processes.length, 2);
  const file = join(out, 'all.chrome.json');
  const result = recall(['export', launched.dir, '--format', 'chrome', '--process', 'all', '--out', file]);
  assert.equal(result.status, 0, result.stderr);
  const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: (ChromeEvent & { pid: number })[] }).traceEvents;
  const pids = new Set(events.filter((e) => e.ph === 'M' && (e as { name?: string }).name === 'process_name').map((e) => e.pid));
  assert.deepEqual([...pids].sort(), all.processes.map((p) => p.pid).sort());
  for (const p of all.processes) {
    const expected = all.functions.filter((f) => f.pid === p.pid).reduce((n, f) => n + f.calls, 0);
    const got = events.filter((e) => e.ph === 'B' && e.pid === p.pid && !e.args?.resumed).length;
    assert.equal(got, expected, `pid ${p.pid}`);
  }
  const perfetto = recall(['export', launched.dir, '--format', 'perfetto', '--process', 'all', '--out', join(out, 'all.pf')]);
  assert.equal(perfetto.status, 0, perfetto.stderr);
  // Parquet: one set of tables, the process column telling them apart, on the root's time axis.
  const pq = join(out, 'all.parquet');
  const parquet = recall(['export', launched.dir, '--format', 'parquet', '--process', 'all', '--out', pq]);
  assert.equal(parquet.status, 0, parquet.stderr);
  const child = all.processes.find((p) => p.pid !== all.processes[0]!.pid)!.pid;
  assert.match(parquet.stderr, / from 2 processes → /);
  const perProcess = sqlRows<{ process: number; calls: number }>(launched.dir, `select process, count(*)::integer as calls from read_parquet('${join(pq, 'calls.parquet')}') group by process`);
  for (const p of all.processes) {
    const expected = all.functions.filter((f) => f.pid === p.pid).reduce((n, f) => n + f.calls, 0);
    assert.equal(perProcess.find((r) => r.process === p.pid)?.calls, expected, `parquet calls of pid ${p.pid}`);
  }
  const threads = sqlRows<{ process: number }>(launched.dir, `select process from read_parquet('${join(pq, 'threads.parquet')}')`);
  assert.deepEqual(threads.map((t) => t.process).sort(), all.processes.map((p) => p.pid).sort());
  // The child began after the root spawned it: its calls' times are on the root's axis.
  const [spawned] = sqlRows<{ ns: number; pid: number }>(launched.dir, `select ns::double as ns from read_parquet('${join(pq, 'events.parquet')}') where kind = 'spawn'`);
  const [first] = sqlRows<{ s: number }>(launched.dir, `select min(start_ns)::double as s from read_parquet('${join(pq, 'calls.parquet')}') where process = ${child}`);
  assert.ok(first!.s > spawned!.ns, `the child's first call (${first!.s}) after the spawn (${spawned!.ns})`);
  // --from/--to are times since the root began, for every process: a range around the child's
  // first calls holds them, at those times.
  const childBegins = events.filter((e) => e.ph === 'B' && e.pid === child).map((e) => e.ts).sort((a, b) => a - b);
  const fromUs = Math.floor(childBegins[0]!);
  const toUs = Math.ceil(childBegins[10]!);
  const rangedFile = join(out, 'all-range.chrome.json');
  const ranged = recall(['export', launched.dir, '--format', 'chrome', '--process', 'all', '--from', `${fromUs / 1000}ms`, '--to', `${toUs / 1000}ms`, '--out', rangedFile]);
  assert.equal(ranged.status, 0, ranged.stderr);
  const inRange = (JSON.parse(readFileSync(rangedFile, 'utf8')) as { traceEvents: (ChromeEvent & { pid: number })[] }).traceEvents.filter((e) => (e.ph === 'B' || e.ph === 'E') && e.pid === child);
  assert.ok(inRange.filter((e) => e.ph === 'B' && !e.args?.resumed).length >= 10, `the child's calls in the range (${inRange.length} events)`);
  for (const e of inRange) assert.ok(e.ts >= fromUs - 0.001 && e.ts <= toUs + 0.001, `${e.ph} at ${e.ts} µs inside [${fromUs}, ${toUs}]`);
  const conflict = recall(['export', launched.dir, '--format', 'chrome', '--process', 'all', '--thread', '0']);
  assert.equal(conflict.status, 2);
});

test('perfetto: values recorded in detail windows are debug annotations of the calls', async () => {
  const bad = record('bugs/bad-value.js');
  assert.equal(bad.result.status, 0, bad.result.stderr);
  const file = join(out, 'bad-value.perfetto-trace');
  assert.equal(recall(['export', bad.dir, '--format', 'perfetto', '--out', file]).status, 0);
  const packets = await decodePerfetto(file);
  const names = new Map<number, string>();
  const stack: string[] = [];
  const annotated: { name: string; args: Record<string, string> }[] = [];
  for (const p of packets) {
    for (const n of p.internedData?.eventNames ?? []) names.set(num(n.iid), n.name!);
    const e = p.trackEvent;
    if (e?.type === 1) stack.push(names.get(num(e.nameIid)) ?? '?');
    else if (e?.type === 2) {
      const name = stack.pop()!;
      const args = Object.fromEntries((e.debugAnnotations ?? []).map((a) => [a.name!, (a as { stringValue?: string }).stringValue || String(a.boolValue ?? '')]));
      if (args.args !== undefined) annotated.push({ name, args });
    }
  }
  const thrower = annotated.find((a) => a.name === 'checkQuantity');
  assert.ok(thrower, JSON.stringify(annotated));
  assert.equal(thrower.args.args, 'quantity=-3');
  assert.equal(thrower.args.threw, 'true');
  assert.ok(annotated.some((a) => a.name === 'lineTotal' && a.args.args === 'price=9, quantity=-3'));
});

test('recording again into a trace directory clears the SQL tables of the previous trace', () => {
  const first = record('fib.js', { args: ['5'] });
  assert.equal(recall(['sql', first.dir, 'select count(*) from calls']).status, 0);
  assert.ok(readdirSync(first.dir).includes('sql'));
  const again = recall(['run', '--quiet', '--out', first.dir, '--', process.execPath, join(ROOT, 'test', 'fixtures', 'fib.js'), '6']);
  assert.equal(again.status, 0, again.stderr);
  assert.ok(!readdirSync(first.dir).includes('sql'));
  assert.match(recall(['sql', first.dir, 'select count(*) as n from calls', '--format', 'csv']).stdout, /^n\n25\n$/);
});

test('parquet: a progress line on stderr when it is a terminal, cleared at the end', () => {
  const recording = record('fib.js', { args: ['22'] });
  assert.equal(recording.result.status, 0, recording.result.stderr);
  const result = run(process.execPath, ['--require', join(FIXTURES, 'export', 'tty-stderr.cjs'), CLI, 'export', recording.dir, '--format', 'parquet', '--out', join(out, 'fib22.parquet')], { cwd: FIXTURES });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^\rrecall: exporting · [\d,]+ events · \d+ s/);
  assert.match(result.stderr, /\r\x1b\[Krecall: calls [\d,]+, /);
});

test('recall sql rebuilds tables cached beside the trace by a recall with another table layout (no process column)', () => {
  const trace = record('fib.js', { args: ['5'] });
  assert.equal(recall(['sql', trace.dir, 'select count(*) from calls']).status, 0);
  const sqlDir = join(trace.dir, 'sql');
  // What an older recall left: events without the process column, stamped with the sources alone.
  const old = join(out, 'old-events.parquet');
  assert.equal(recall(['sql', trace.dir, `copy (select thread, position, ns, kind, text from events) to '${old}' (format parquet)`]).status, 0);
  renameSync(old, join(sqlDir, 'events.parquet'));
  const stamp = JSON.parse(readFileSync(join(sqlDir, 'sources.json'), 'utf8')) as { sources: unknown };
  writeFileSync(join(sqlDir, 'sources.json'), JSON.stringify(stamp.sources));
  const result = recall(['sql', trace.dir, 'select count(process) as n from events', '--format', 'csv']);
  assert.equal(result.status, 0, result.stderr);
});
