// End-to-end recording of real programs: exact call counts, worker threads as their own
// threads, and exact accounting when a tiny ring forces drops.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { callsOf, record, recall, summaryJson, tempDir, untraced } from '../helpers.js';
import type { Manifest } from '../../src/format/manifest.js';
import { MANIFEST_FUNCTIONS_MAX_BYTES } from '../../src/runtime/drain.js';
import { DEFAULT_SPILL_RECORDS } from '../../src/runtime/config.js';
import { openTrace } from '../../src/analysis/trace.js';
import { REQUIRE_ESM } from '../../src/instrument/loading.js';

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

test('fib(25) records exactly 242785 calls of fib and drops nothing', () => {
  // No triggers: on a loaded machine the default slow trigger could add a runtime event (a
  // snapshot link) to the exact event count this test checks.
  const { dir, result } = record('fib.js', { flags: ['--trigger', 'none'] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('fib.js').stdout);
  const summary = summaryJson(dir);
  assert.equal(callsOf(summary, 'fib'), 242785);
  assert.equal(summary.totals.dropped, 0);
  // Every record is an enter or exit of fib, or a runtime event (GC, scheduling, a slow-call snapshot link).
  const events = JSON.parse(recall(['events', dir, '--format', 'json']).stdout) as { threads: { events: unknown[] }[] };
  const runtime = events.threads.reduce((sum, t) => sum + t.events.length, 0);
  assert.equal(summary.totals.events - runtime, 2 * 242785);
  const fib = summary.functions.find((fn) => fn.name === 'fib');
  assert.ok(fib && fib.file.endsWith('fib.js') && fib.line === 2, 'fib is located at fib.js:2');
  assert.ok(fib.totalNs > 0 && fib.selfNs > 0 && fib.selfNs <= fib.totalNs * 1.0001);
  const manifest = manifestOf(dir);
  assert.equal(manifest.status, 'complete');
  assert.equal(manifest.totals.produced, manifest.totals.written + manifest.totals.dropped);
});

test('three workers are three threads with exactly 200000 calls each, no drops at default ring size', () => {
  const { dir, result } = record('workers.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('workers.mjs').stdout);
  const summary = summaryJson(dir);
  const workers = summary.threads.filter((t) => t.id !== 0);
  assert.equal(workers.length, 3, `threads: ${JSON.stringify(summary.threads)}`);
  assert.deepEqual(workers.map((t) => t.name.replace(/ \(.*\)$/, '')).sort(), ['cruncher-0', 'cruncher-1', 'cruncher-2']);
  for (const worker of workers) {
    assert.equal(worker.dropped, 0, `thread ${worker.id} dropped events`);
    const perThread = summaryJson(dir, ['--thread', String(worker.id)]);
    assert.equal(callsOf(perThread, 'work'), 200000, `thread ${worker.id}`);
  }
  assert.equal(callsOf(summary, 'work'), 600000);
  assert.equal(summary.totals.dropped, 0);
});

test('a tiny ring drops events with exact accounting, and summary warns', () => {
  const n = 200000;
  // Calls only (no detail links, no runtime events), so that what was produced is known exactly;
  // no spill ring, so a full ring drops at once.
  const { dir, result } = record('counted.js', { args: [String(n)], flags: ['--ring-size', '64', '--spill-size', '0', '--trigger', 'none', '--no-runtime-events'] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), String(n / 2));
  const manifest = manifestOf(dir);
  const main = manifest.threads.find((t) => t.id === 0);
  assert.ok(main);
  // The program made main(), loop() and n leaf() calls: 2 events each. Nothing else is instrumented.
  assert.equal(main.produced, 2 * (n + 2));
  assert.ok(main.dropped > 0, 'a 64-event ring must overflow');
  for (const t of manifest.threads) assert.equal(t.written + t.dropped, t.produced, `thread ${t.id}`);
  // With no spill ring, no more than the ring ever waited for the writer; and it filled.
  assert.equal(manifest.options.spillRecords, 0);
  assert.ok(main.backlogPeak !== undefined && main.backlogPeak > 0 && main.backlogPeak <= 64, `backlog peak ${main.backlogPeak}`);
  const summary = summaryJson(dir);
  const thread = summary.threads.find((t) => t.id === 0);
  assert.ok(thread);
  // What the reader finds in the file is exactly what the drain says it wrote.
  assert.equal(thread.events, main.written);
  assert.equal(thread.dropped, main.dropped);
  assert.ok(summary.warnings.some((w) => /DROPPED/.test(w)), 'summary warns about drops');
  const text = recall(['summary', dir]);
  assert.equal(text.status, 0);
  assert.match(text.stdout, /WARNING: thread 0 \(main\) DROPPED/);
});

test('a drain that falls behind a tiny ring loses nothing: the thread spills, in order, and the spill is flushed at exit', () => {
  const n = 200000;
  // 400,004 events through a 64-event shared ring: nearly all of them pass through the spill ring.
  const { dir, result } = record('counted.js', { args: [String(n)], flags: ['--ring-size', '64', '--trigger', 'none', '--no-runtime-events'] });
  assert.equal(result.status, 0, result.stderr);
  const manifest = manifestOf(dir);
  const main = manifest.threads.find((t) => t.id === 0);
  assert.ok(main);
  assert.equal(main.produced, 2 * (n + 2));
  assert.equal(main.dropped, 0);
  assert.equal(main.written, main.produced);
  // The manifest says how deep the backlog went (past the ring: it spilled) and what room there was.
  assert.equal(manifest.options.spillRecords, DEFAULT_SPILL_RECORDS);
  assert.ok(main.backlogPeak !== undefined && main.backlogPeak > 64 && main.backlogPeak <= 64 + DEFAULT_SPILL_RECORDS, `backlog peak ${main.backlogPeak}`);
  const info = recall(['info', dir]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, new RegExp(`^backlog +peak ${main.backlogPeak.toLocaleString('en-US')} events waiting for the trace writer \\(main\\); a thread's ring and spill ring hold ${(64 + DEFAULT_SPILL_RECORDS).toLocaleString('en-US')} before any is dropped$`, 'm'));
  const summary = summaryJson(dir);
  assert.equal(callsOf(summary, 'leaf'), n);
  assert.equal(summary.warnings.length, 0, summary.warnings.join('\n'));
  // The order survived: the tree is main > loop > n leaves, each leaf closed before the next.
  const tree = recall(['tree', dir, '--depth', '3']);
  assert.equal(tree.status, 0, tree.stderr);
  assert.match(tree.stdout, /main[\s\S]*loop[\s\S]*leaf/);
});

test('worker threads spill too, and a worker that ends while spilling hands everything over', () => {
  const { dir, result } = record('workers.mjs', { flags: ['--ring-size', '256'] });
  assert.equal(result.status, 0, result.stderr);
  const summary = summaryJson(dir);
  assert.equal(summary.totals.dropped, 0);
  assert.equal(callsOf(summary, 'work'), 600000);
  for (const worker of summary.threads.filter((t) => t.id !== 0)) assert.equal(callsOf(summaryJson(dir, ['--thread', String(worker.id)]), 'work'), 200000);
});

test('a spill ring that fills drops with exact accounting', () => {
  const n = 200000;
  const { dir, result } = record('counted.js', { args: [String(n)], flags: ['--ring-size', '64', '--spill-size', '1024', '--trigger', 'none', '--no-runtime-events'] });
  assert.equal(result.status, 0, result.stderr);
  const main = manifestOf(dir).threads.find((t) => t.id === 0);
  assert.ok(main);
  assert.equal(main.produced, 2 * (n + 2));
  assert.ok(main.dropped > 0, 'a 64-event ring and a 1,024-event spill must overflow');
  assert.equal(main.written + main.dropped, main.produced);
  // It dropped only once the ring and the spill ring were full: the backlog reached past the ring, and no further than both.
  assert.ok(main.backlogPeak !== undefined && main.backlogPeak > 64 && main.backlogPeak <= 64 + 1024, `backlog peak ${main.backlogPeak}`);
  assert.equal(summaryJson(dir).threads.find((t) => t.id === 0)?.events, main.written);
});

test('a ring that fills before the drain worker has started waits for it: the first events are not lost', () => {
  // 3 batches at once (1,206 events into a 1,024-event ring while the drain boots), then 20
  // paced batches of 402 events, 20 ms apart, which the running drain keeps up with.
  // The drain starts 300 ms late, as on a loaded machine, so the ring surely fills before it runs.
  const env = { ...process.env, RECALL_TEST_DRAIN_DELAY_MS: '300' };
  const { dir, result } = record('early-burst.cjs', { args: ['20'], flags: ['--ring-size', '1024', '--spill-size', '0', '--trigger', 'none', '--no-runtime-events'], spawn: { env } });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), String((3 + 20) * 100));
  const main = manifestOf(dir).threads.find((t) => t.id === 0);
  assert.ok(main);
  // batch() 23 times, leaf() 4,600 times, the interval's callback 20 times: 2 events each.
  assert.equal(main.produced, 2 * (23 + 23 * 200 + 20));
  assert.equal(main.dropped, 0);
  assert.equal(main.written, main.produced);
});

test('a program that ends before the drain worker has booted is written by its exiting thread, without waiting for the worker', () => {
  // The drain starts 10 s late: a run that waited for it would take 10 s.
  const env = { ...process.env, RECALL_TEST_DRAIN_DELAY_MS: '10000' };
  const started = Date.now();
  const { dir, result } = record('counted.js', { args: ['1000'], flags: ['--trigger', 'none', '--no-runtime-events'], spawn: { env } });
  const elapsedMs = Date.now() - started;
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), '500');
  assert.ok(elapsedMs < 8000, `the run took ${elapsedMs} ms: it waited for the late drain worker`);
  const manifest = manifestOf(dir);
  assert.equal(manifest.status, 'complete');
  const main = manifest.threads.find((t) => t.id === 0);
  assert.ok(main);
  // main, loop and 1,000 leaf calls: 2 events each.
  assert.equal(main.produced, 2 * (2 + 1000));
  assert.equal(main.written, main.produced);
  assert.equal(main.dropped, 0);
  // The clock is measured by the drain worker when idle, and it never ran: the manifest says so.
  assert.equal(manifest.clock.resolutionNs, 0);
  assert.match(manifest.clock.precision, /not measured: the trace writer measures them when it is idle/);
});

test('the drain worker measures the clock for the manifest when it is idle, off the program\'s thread', () => {
  // 1.5 s: long enough for the worker to boot and measure in its idle moments (25 slices of
  // 1,000 reads) on a loaded machine; 300 ms was not always, on CI.
  const { dir, result } = record('sleepy.js', { args: ['1500'], flags: ['--trigger', 'none', '--no-runtime-events'] });
  assert.equal(result.status, 0, result.stderr);
  const { clock } = manifestOf(dir);
  assert.ok(clock.resolutionNs > 0 && clock.readCostNs > 0, JSON.stringify(clock));
  assert.match(clock.precision, /resolution [\d.]+ ns, read cost [\d.]+ ns measured by the trace writer/);
});

test('--include limits instrumentation to matching files and a glob matching nothing is an error', () => {
  const { dir, result } = record('fib.js', { flags: ['--include', 'counted.js'] });
  assert.equal(result.status, 0, result.stderr);
  const included = summaryJson(dir);
  assert.equal(included.totals.calls, 0);
  assert.equal(included.functions.length, 0);
  const bad = recall(['run', '--include', 'no-such-dir/**', '--', process.execPath, 'fib.js']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /^recall: run: --include 'no-such-dir\/\*\*' matches no file/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('threads beyond --threads run untraced, are counted, and summary warns', () => {
  const { dir, result } = record('workers.mjs', { flags: ['--threads', '1'] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('workers.mjs').stdout);
  const manifest = manifestOf(dir);
  // The main thread holds the only slot for the whole run: the 3 workers find none.
  assert.deepEqual(manifest.threads.map((t) => t.id), [0]);
  assert.equal(manifest.threadsUntraced, 3);
  const summary = summaryJson(dir);
  assert.ok(summary.warnings.some((w) => /not recorded: all 1 registry slots were taken/.test(w)));
});

test('a second run of the same program is served from the transform cache', () => {
  const cache = tempDir();
  const env = { ...process.env, RECALL_CACHE_DIR: cache };
  const first = record('fib.js', { args: ['5'], spawn: { env } });
  assert.equal(first.result.status, 0, first.result.stderr);
  const listing = (): string[] =>
    readdirSync(cache, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const file = join(entry.parentPath ?? entry.path, entry.name);
        return `${file}@${statSync(file).mtimeMs}`;
      })
      .sort();
  // The transform cache's entries: V8's compile cache beside them (v8/) is Node's to write.
  const transformEntries = (): string[] => listing().filter((entry) => !entry.startsWith(join(cache, 'v8')));
  const before = transformEntries();
  assert.equal(before.length, 1, 'one instrumented module cached');
  const second = record('fib.js', { args: ['5'], spawn: { env } });
  assert.equal(second.result.stdout, first.result.stdout);
  assert.deepEqual(transformEntries(), before, 'the cache entry was read, not rewritten');
  assert.equal(callsOf(summaryJson(second.dir), 'fib'), 15);
});

test('a warm start does not load the instrumenter (Node that can require() an ES module loads it on a cache miss)', { skip: !REQUIRE_ESM }, () => {
  const cache = tempDir();
  const env = { ...process.env, RECALL_CACHE_DIR: cache };
  const cold = record('instrumenter-loaded.cjs', { spawn: { env } });
  assert.equal(cold.result.status, 0, cold.result.stderr);
  assert.ok((JSON.parse(cold.result.stdout) as string[]).some((file) => file.endsWith('transform.js')), `a cache miss loads it: ${cold.result.stdout}`);
  const warm = record('instrumenter-loaded.cjs', { spawn: { env } });
  assert.deepEqual(JSON.parse(warm.result.stdout), [], 'a cache hit does not');
  assert.equal(callsOf(summaryJson(warm.dir), 'square'), 1);
});

test('a large function table stays in functions.jsonl, out of the manifest, and readers still name every function', () => {
  const dir = tempDir();
  const program = join(dir, 'many.js');
  const count = 6000; // ~200 KB of functions.jsonl: over the manifest copy's 128 KiB
  const lines = Array.from({ length: count }, (_, i) => `function fn${i}(x) { return x + ${i}; }`);
  writeFileSync(program, `${lines.join('\n')}\nlet s = 0;\n${Array.from({ length: count }, (_, i) => `s = fn${i}(s);`).join('\n')}\nconsole.log(s);\n`);
  const trace = join(dir, 'trace');
  const result = recall(['run', '--quiet', '--out', trace, '--', process.execPath, program]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), String((count * (count - 1)) / 2));
  const manifest = manifestOf(trace);
  assert.equal(manifest.status, 'complete');
  assert.deepEqual(manifest.functions, []);
  assert.ok(statSync(join(trace, manifest.functionsFile)).size > MANIFEST_FUNCTIONS_MAX_BYTES);
  const names = [...openTrace(trace).functions.values()];
  assert.equal(names.length, count);
  assert.match(names.find((fn) => fn.name === 'fn4321')?.file ?? '', /many\.js$/);
  const summary = summaryJson(trace, ['--top', '3']);
  assert.equal(summary.totals.functions, count);
  assert.equal(summary.totals.calls, count);
  assert.ok(summary.functions.every((fn) => /^fn\d+$/.test(fn.name) && fn.calls === 1));

  const small = record('fib.js', { args: ['5'] });
  assert.ok(manifestOf(small.dir).functions.some((fn) => fn.name === 'fib'), 'a small table is copied into the manifest');
});

test('an ASCII source stays ASCII instrumented, and non-ASCII function names survive the function table', () => {
  const dir = tempDir();
  const cache = join(dir, 'cache');
  const program = join(dir, 'names.js');
  writeFileSync(
    program,
    'function g\\u00f6\\u00dfe(x) { return x + 1; }\n' +
      'function registerTheCallbackWithAVeryLongName(fn) { return fn(1); }\n' +
      'console.log(registerTheCallbackWithAVeryLongName(function (v) { return g\\u00f6\\u00dfe(v); }));\n',
  );
  const trace = join(dir, 'trace');
  const result = recall(['run', '--quiet', '--out', trace, '--', process.execPath, program], { env: { ...process.env, RECALL_CACHE_DIR: cache } });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), '2');
  const cached = readdirSync(cache, { recursive: true }).map(String).filter((name) => name.endsWith('.js'));
  assert.equal(cached.length, 1);
  const code = readFileSync(join(cache, cached[0]!), 'utf8');
  assert.doesNotMatch(code, /[^\x00-\x7f]/, 'instrumented code is ASCII');
  const names = [...openTrace(trace).functions.values()].map((fn) => fn.name).sort();
  // The source spells göße with \u escapes, so it is ASCII; a callee name over 30 characters is shortened with "…".
  assert.deepEqual(names, ['(anonymous in registerTheCallbackWithAVeryLo…)', 'g\u00f6\u00dfe', 'registerTheCallbackWithAVeryLongName']);
});
