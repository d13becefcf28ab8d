// Runtime events on real programs: messages between a worker and its parent (and over a
// MessageChannel handed to the worker) linked send-to-receive by id with the handlers' calls
// right after each receive; worker start/exit; every scheduling API linked schedule ->
// callback -> callback-end with unchanged behaviour; HTTP server/client and fetch spans around
// the handler's calls; GC events; and a program with nothing left to do exits as promptly as
// untraced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, callsOf, recall, record, summaryJson, tempDir, untraced } from '../helpers.js';
import { openTrace, type Trace, type TraceThread } from '../../src/analysis/trace.js';
import { threadEvents, type TraceEvent } from '../../src/analysis/events.js';
import { threadDetail } from '../../src/analysis/detail.js';
import { runtimeEvents } from '../../src/analysis/runtime-events.js';
import { openQuery } from '../../src/query/open.js';
import { indexedRuntimeRecords } from '../../src/query/runtime-source.js';

function events(trace: Trace, thread: TraceThread): TraceEvent[] {
  return [...threadEvents(trace, thread)];
}

function threadNamed(trace: Trace, match: RegExp): TraceThread {
  const found = trace.threads.find((t) => match.test(t.info.name));
  assert.ok(found, `a thread named ${match} among ${trace.threads.map((t) => t.info.name).join(', ')}`);
  return found;
}

interface EventsJson {
  threads: { id: number; name: string; events: { kind: string; aux: number; ns: number }[]; scheduling: { scheduled: number; runs: number; unmatched: number }; gc: { count: number } }[];
  messages: { id: number; seq: number | null; via: string | null; summary: unknown; send: { thread: number } | null; receive: { thread: number } | null }[];
  spans: { thread: number; kind: string; method: string | null; url: string | null; status: number | null; beginNs: number; endNs: number | null; beginIndex: number; endIndex: number | null }[];
  workers: { parent: number; worker: number; name: string | null; exitNs: number | null }[];
}

function eventsJson(dir: string, extra: string[] = []): EventsJson {
  const result = recall(['events', dir, '--format', 'json', ...extra]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as EventsJson;
}

test('messages: every send links to exactly one receive on the other thread, handlers run right after it', () => {
  const fixture = 'events/messages.mjs';
  // Payload summaries are values: recorded inside a detail window (here: around sendJobs).
  const { dir, result } = record(fixture, { flags: ['--trigger', 'fn=sendJobs'] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced(fixture).stdout);
  assert.equal(result.stdout, 'answer 1: 121\nanswer 2: 144\nanswer 3: 169\nchannel: HELLO OVER A CHANNEL\nworker exited 0\n');

  const trace = openTrace(dir);
  const main = threadNamed(trace, /^main$/);
  const worker = threadNamed(trace, /squarer/);
  const byThread = new Map([main, worker].map((t) => [t.info.id, events(trace, t)]));
  const sends = new Map<number, number[]>(); // id -> sending threads
  const receives = new Map<number, number[]>();
  for (const [id, list] of byThread) {
    list.forEach((event, i) => {
      if (event.kind === 'message-send') sends.set(event.aux, [...(sends.get(event.aux) ?? []), id]);
      if (event.kind === 'message-receive') {
        receives.set(event.aux, [...(receives.get(event.aux) ?? []), id]);
        // The listener's calls follow the receive at once.
        assert.equal(list[i + 1]?.kind, 'enter', `thread ${id}: the record after receive ${event.aux} is ${list[i + 1]?.kind}`);
      }
    });
  }
  // Parent -> worker: 3 jobs + the port; worker -> parent: 3 answers; over the channel: 2 there, 1 back.
  assert.equal(sends.size, 10, `send ids: ${[...sends.keys()]}`);
  assert.equal(receives.size, 10);
  for (const [id, from] of sends) {
    assert.equal(from.length, 1, `id ${id} sent once`);
    const to = receives.get(id);
    assert.ok(to && to.length === 1, `id ${id} received exactly once`);
    assert.notEqual(to[0], from[0], `id ${id} crosses threads`);
  }
  const mainSends = (byThread.get(main.info.id) ?? []).filter((e) => e.kind === 'message-send').length;
  assert.equal(mainSends, 6);

  // The handlers' exact call counts per thread.
  const onMain = summaryJson(dir, ['--thread', String(main.info.id)]);
  const onWorker = summaryJson(dir, ['--thread', String(worker.info.id)]);
  assert.equal(callsOf(onMain, 'onAnswer'), 3);
  assert.equal(callsOf(onMain, 'onShout'), 1);
  assert.equal(callsOf(onMain, 'sendPort'), 1);
  assert.equal(callsOf(onWorker, 'onJob'), 3);
  assert.equal(callsOf(onWorker, 'square'), 3);
  assert.equal(callsOf(onWorker, 'onPortMessage'), 2);
  assert.equal(callsOf(onWorker, 'onAnswer'), 0);

  // Worker start and exit on the parent.
  const mainEvents = byThread.get(main.info.id) ?? [];
  assert.deepEqual(
    mainEvents.filter((e) => e.kind === 'worker-start' || e.kind === 'worker-exit').map((e) => [e.kind, e.aux]),
    [
      ['worker-start', worker.info.id],
      ['worker-exit', worker.info.id],
    ],
  );

  // recall events: the flows with their partner threads and redacted summaries.
  const json = eventsJson(dir);
  assert.equal(json.messages.length, 10);
  assert.ok(json.messages.every((m) => m.send && m.receive && m.send.thread !== m.receive.thread));
  const jobs = json.messages.filter((m) => m.send?.thread === main.info.id && m.via === 'worker');
  assert.deepEqual(jobs.map((m) => m.seq), [1, 2, 3, 4]);
  assert.match(JSON.stringify(jobs[0]?.summary), /"n":11/);
  assert.match(JSON.stringify(jobs[0]?.summary), /\[redacted\]/);
  assert.equal(json.messages.filter((m) => m.via === 'channel').length, 3);
  // Outside windows a message costs an index record and carries no payload.
  const plain = eventsJson(record(fixture).dir);
  assert.equal(plain.messages.length, 10);
  assert.ok(plain.messages.every((m) => m.summary === undefined && m.send && m.receive));
  assert.deepEqual(json.workers.map((w) => [w.parent, w.worker]), [[main.info.id, worker.info.id]]);
  assert.ok(json.workers[0]?.exitNs !== null);
  const text = recall(['events', dir, '--kind', 'message']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /message-send +→ thread \d+ squarer/);
  assert.match(text.stdout, /message-receive +← thread 0 main/);
  assert.match(text.stdout, /on channel/);
  for (const name of readDir(dir)) assert.ok(!name.includes('hunter2'));
});

function readDir(dir: string): string[] {
  const trace = openTrace(dir);
  return trace.threads.flatMap((t) => [...threadDetail(trace, t).records.values()].map((r) => JSON.stringify(r.body)));
}

test('timers: behaviour unchanged; every callback run has its schedule and holds its calls', () => {
  const fixture = 'events/timers.mjs';
  const plain = untraced(fixture);
  assert.equal(plain.status, 0, plain.stderr);
  const { dir, result } = record(fixture);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, plain.stdout);
  assert.match(result.stdout, /interval run 3\n/);
  assert.doesNotMatch(result.stdout, /never|interval run 4/);
  assert.match(result.stdout, /at Timeout\._onTimeout \(file:\/\/\.\/timers\.mjs:/);

  const trace = openTrace(dir);
  const list = events(trace, threadNamed(trace, /^main$/));
  const scheduled = new Set<number>();
  const open: number[] = [];
  const runs = new Map<number, number>();
  const inside = new Map<string, number>(); // function -> calls that started inside a callback
  for (const event of list) {
    if (event.kind === 'schedule') scheduled.add(event.aux);
    else if (event.kind === 'callback') {
      assert.ok(scheduled.has(event.aux), `callback ${event.aux} was scheduled before it ran`);
      open.push(event.aux);
      runs.set(event.aux, (runs.get(event.aux) ?? 0) + 1);
    } else if (event.kind === 'callback-end') {
      assert.equal(open.pop(), event.aux, 'callback-end closes the callback that began last');
    } else if (event.kind === 'enter' && open.length > 0) inside.set(event.name, (inside.get(event.name) ?? 0) + 1);
  }
  assert.equal(open.length, 0);
  // Each callback's calls lie between its callback and callback-end records.
  for (const name of ['onTimeout', 'onImmediate', 'onTick', 'onMicrotask']) assert.equal(inside.get(name), 1, name);
  assert.equal(inside.get('onInterval'), 3);
  // The interval: one schedule, three runs.
  assert.ok([...runs.values()].includes(3), 'an interval callback ran three times under one link id');
  const summary = summaryJson(dir);
  assert.equal(callsOf(summary, 'onInterval'), 3);
  assert.equal(callsOf(summary, 'onTimeout'), 1);

  // The tree says which call scheduled a callback root.
  const tree = recall(['tree', dir]);
  assert.equal(tree.status, 0, tree.stderr);
  assert.match(tree.stdout, /^  \(anonymous in setInterval\)  .*⤷ scheduled by \(anonymous in step\)$/m);
  const json = eventsJson(dir);
  const main = json.threads[0];
  // 7 scheduled by the program (2 of them cleared), the interval's 3 runs; Node's own (console.log) on top.
  const counts = main?.scheduling as EventsJson['threads'][number]['scheduling'] & { neverRan: number };
  assert.ok(counts.scheduled >= 7 && counts.runs >= 7 && counts.neverRan >= 2 && counts.unmatched === 0, JSON.stringify(counts));
});

test('http: server, http.get and fetch spans with method and path, the handler inside the server span', () => {
  const fixture = 'events/http.mjs';
  const { dir, result } = record(fixture);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced(fixture).stdout);
  assert.equal(result.stdout, 'http.get: 200 {"id":1,"name":"user1"}\nfetch: 200 {"id":2,"name":"user2"}\nclosed\n');
  const json = eventsJson(dir);
  const spans = json.spans;
  const kinds = spans.map((s) => `${s.kind} ${s.method} ${s.url} ${s.status}`).sort();
  assert.deepEqual(kinds, [
    'fetch POST /users?id=2 200',
    'http.client GET /users?id=1&token=[redacted] 200',
    'http.server GET /users?id=1&token=[redacted] 200',
    'http.server POST /users?id=2 200',
  ]);
  assert.ok(spans.every((s) => s.endNs !== null && s.endNs >= s.beginNs));
  // handle() and loadUser() run inside each server span.
  const trace = openTrace(dir);
  const list = events(trace, threadNamed(trace, /^main$/));
  for (const span of spans.filter((s) => s.kind === 'http.server')) {
    const between = list.slice(span.beginIndex, (span.endIndex ?? list.length) + 1).filter((e) => e.kind === 'enter').map((e) => e.name);
    assert.deepEqual(between, ['handle', 'loadUser']);
  }
  const text = recall(['tree', dir]);
  assert.match(text.stdout, /⇢ http\.server GET \/users\?id=1&token=\[redacted\] \(\d/);
  // The handler's calls are shown beneath the server span they ran in.
  const lines = text.stdout.split('\n');
  const at = lines.findIndex((line) => line.includes('⇢ http.server POST'));
  const indentOf = (line: string | undefined): number => (line ?? '').length - (line ?? '').trimStart().length;
  assert.match(lines[at + 1] ?? '', /^\s+handle/);
  assert.ok(indentOf(lines[at + 1]) > indentOf(lines[at]), `${lines[at]}\n${lines[at + 1]}`);
  const listing = recall(['events', dir, '--kind', 'span']);
  assert.match(listing.stdout, /span +fetch POST http:\/\/127\.0\.0\.1:\d+\/users\?id=2 → 200/);
  for (const line of readDir(dir)) assert.ok(!line.includes('abc123secretvalue'), line);
});

test('gc: a forced collection under --expose-gc is recorded with its duration', () => {
  const dir = join(tempDir(), 'trace');
  const result = recall(['run', '--quiet', '--out', dir, '--', process.execPath, '--expose-gc', join(FIXTURES, 'events/gc.js')]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '100000\ncollected\n');
  const json = eventsJson(dir, ['--kind', 'gc']);
  const gcs = json.threads.flatMap((t) => t.events).filter((e) => e.kind === 'gc');
  assert.ok(gcs.length >= 1, 'at least one gc event');
  assert.ok(gcs.every((e) => e.aux > 0), 'durations in µs');
  assert.match(recall(['events', dir]).stdout, /gc: \d+ collections?, /);
});

test('a program with nothing left to do exits as promptly traced as untraced', () => {
  const fixture = 'events/quiet-exit.mjs';
  const started = Date.now();
  const plain = untraced(fixture, [], { timeout: 30_000 });
  const plainMs = Date.now() - started;
  const again = Date.now();
  const { result } = record(fixture, { spawn: { timeout: 30_000 } });
  const tracedMs = Date.now() - again;
  assert.equal(result.signal, null, 'not killed by the timeout');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, plain.stdout);
  // Start-up costs some hundreds of ms; being kept alive would cost the 60 s timers.
  assert.ok(tracedMs < plainMs + 10_000, `traced ${tracedMs} ms vs untraced ${plainMs} ms`);
});

test('ports: a global MessageChannel, receiveMessageOnPort and a failed postMessage link exactly; emit() is not a delivery; spawn has its pid', () => {
  const fixture = 'events/edges.mjs';
  const plain = untraced(fixture);
  const { dir, result } = record(fixture);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, plain.stdout);
  assert.match(result.stdout, /postMessage threw DataCloneError/);
  assert.match(result.stdout, /at MessagePort\.<anonymous> \(file:\/\/\.\/edges\.mjs:\d+:\d+\) \| at \[nodejs\.internal\.kHybridDispatch\]/);
  const json = eventsJson(dir);
  // 'first', 'second' (the failed one in between re-uses its id) and the synchronous one; not the emitted one.
  const linked = json.messages.filter((m) => m.send && m.receive);
  assert.equal(linked.length, 3, JSON.stringify(json.messages));
  assert.equal(json.messages.length, 3);
  const main = json.threads[0]!;
  assert.equal(main.events.filter((e) => e.kind === 'message-send').length, 4);
  assert.equal(main.events.filter((e) => e.kind === 'message-receive').length, 3);
  const spawn = main.events.find((e) => e.kind === 'spawn');
  assert.ok(spawn && spawn.aux > 0, 'a spawn event with the pid');
  assert.match(recall(['events', dir, '--kind', 'spawn']).stdout, /spawn +pid \d+  node/);
  assert.match(recall(['events', dir, '--kind', 'message']).stdout, /✗ not sent/);
});

test('--no-runtime-events records calls only', () => {
  const { dir, result } = record('events/messages.mjs', { flags: ['--no-runtime-events'] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('events/messages.mjs').stdout);
  const json = eventsJson(dir);
  assert.deepEqual(json.threads.flatMap((t) => t.events.map((e) => e.kind)).filter((k) => k !== 'detail' && k !== 'catch'), []);
  assert.equal(callsOf(summaryJson(dir), 'square'), 3);
});

test('the query index keeps every runtime event: its view equals the walk of every record', () => {
  for (const fixture of ['events/messages.mjs', 'events/timers.mjs', 'events/http.mjs', 'events/edges.mjs']) {
    const { dir, result } = record(fixture);
    assert.equal(result.status, 0, `${fixture}: ${result.stderr}`);
    const walked = runtimeEvents(openTrace(dir));
    const q = openQuery(dir);
    try {
      const indexed = runtimeEvents(q.trace, indexedRuntimeRecords(q.engine));
      // Scheduling records are counted by the index, not kept: the rest must be identical.
      const kept = (all: typeof walked) => ({ ...all, threads: all.threads.map((t) => ({ ...t, events: t.events.filter((e) => !['schedule', 'callback', 'callback-end', 'detail'].includes(e.kind)) })) });
      assert.ok(walked.threads.some((t) => t.events.length > 0), `${fixture} has runtime events`);
      assert.deepEqual(kept(indexed), kept(walked), fixture);
    } finally {
      q.close();
    }
  }
});
