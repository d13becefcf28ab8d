// recall export: Chrome Trace Event JSON and speedscope, on one trace with recursion, an async
// chain with a caught exception and a worker. Each holds exactly the calls recall summary
// counts, per function; Chrome's B/E events nest on every thread; speedscope's opens and closes
// balance, each close ending the innermost open frame, in time order.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, recall, record, summaryJson, tempDir } from '../helpers.js';
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
  // Plain functions open once per call; async ones once more per await they came back from.
  const calls = summaryCalls();
  for (const name of ['fib', 'square', 'loadAll']) assert.ok(opens.get(name)! >= calls.get(name)!, name);
  assert.equal(opens.get('fib'), calls.get('fib'));
  assert.equal(opens.get('square'), 100);
  assert.ok(opens.get('fetchItem')! > calls.get('fetchItem')!, 'fetchItem runs again after its await');
});

test('export: a bad format or thread is a one-line usage error, and nothing is left behind', () => {
  const bad = recall(['export', dir, '--format', 'svg']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^recall: export: --format takes perfetto, chrome, speedscope, otlp, not 'svg'/);
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
  trackEvent?: DecodedEvent;
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
  const notes = packets.filter((p) => p.trackEvent?.type === 3).map((p) => p.trackEvent!);
  assert.ok(notes.length >= 1, 'an instant event says calls ran deeper');
  assert.match(notes[0]!.name!, /^… \d+ calls deeper than 500 levels/);
  const hidden = notes.reduce((n, e) => n + num(e.debugAnnotations?.find((a) => a.name === 'calls')?.uintValue), 0);
  assert.ok(hidden >= 200, `${hidden} calls below level 500`);
});
