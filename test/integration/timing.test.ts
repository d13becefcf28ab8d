// Timing modes change what the clock is asked for, never what is recorded: exact call counts
// and identical call trees in --timing exact, adaptive and none. Adaptive demotes tiny hot
// functions (their records carry the untimed flag and summary marks their time as estimated);
// none records no time at all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTrace } from '../../src/analysis/trace.js';
import { callTree, threadEvents, treeShape } from '../../src/analysis/events.js';
import { callsOf, record, recall, summaryJson, untraced } from '../helpers.js';

const MODES = ['exact', 'adaptive', 'none'] as const;

function mainTree(dir: string): string {
  const trace = openTrace(dir);
  const main = trace.threads.find((t) => t.info.id === 0);
  assert.ok(main);
  return treeShape(callTree(trace, main));
}

test('fib(25): 242785 calls and the same call tree in every timing mode', () => {
  const trees = new Set<string>();
  for (const mode of MODES) {
    const { dir, result } = record('fib.js', { flags: ['--timing', mode] });
    assert.equal(result.status, 0, result.stderr);
    const summary = summaryJson(dir);
    assert.equal(summary.clock.mode, mode);
    assert.equal(summary.totals.dropped, 0, mode);
    assert.equal(callsOf(summary, 'fib'), 242785, mode);
    trees.add(mainTree(dir));
    const fib = summary.functions.find((fn) => fn.name === 'fib');
    assert.ok(fib);
    if (mode === 'exact') assert.equal(fib.untimedCalls, 0);
    if (mode === 'none') assert.equal(fib.untimedCalls, 242785);
    // fib's calls are tiny: adaptive timing stops timestamping most of them after a warm-up.
    if (mode === 'adaptive') {
      assert.ok(fib.untimedCalls > 200000 && fib.estimatedNs > 0, JSON.stringify(fib));
      // ...but keeps sampling: timed bursts after the demotion give the estimates warm calls.
      const trace = openTrace(dir);
      assert.deepEqual(trace.threads[0]!.scan.problems, [], 'every chunk checksum verifies');
      let demoted = false;
      let sampled = 0;
      let previousNs = 0;
      let misfilled = 0;
      for (const event of threadEvents(trace, trace.threads[0]!)) {
        // The probes write only the head of an untimed record; the writer fills in aux 0 and
        // the time of the record before it.
        if (event.untimed && (event.kind === 'enter' || event.kind === 'exit') && (event.aux !== 0 || event.ns !== previousNs)) misfilled++;
        previousNs = event.ns;
        if (event.kind !== 'enter' || event.name !== 'fib') continue;
        if (event.untimed) demoted = true;
        else if (demoted) sampled++;
      }
      assert.equal(misfilled, 0, 'untimed records carry aux 0 and the time before them');
      assert.ok(demoted && sampled > 100, `timed fib calls after the demotion: ${sampled}`);
    }
  }
  assert.equal(trees.size, 1, 'one call tree across modes');
});

test('async call trees, worker counts and output do not depend on the timing mode', () => {
  const trees = new Set<string>();
  for (const mode of MODES) {
    const { dir, result } = record('semantics/async.mjs', { flags: ['--timing', mode] });
    assert.equal(result.stdout, untraced('semantics/async.mjs').stdout, mode);
    trees.add(mainTree(dir));
    const workers = record('workers.mjs', { flags: ['--timing', mode] });
    const summary = summaryJson(workers.dir);
    assert.equal(callsOf(summary, 'work'), 600000, mode);
    assert.equal(summary.totals.dropped, 0, mode);
  }
  assert.equal(trees.size, 1, 'one async call tree across modes');
});

test('--timing none writes no clock reads; adaptive keeps slow functions timed', () => {
  const none = record('fib.js', { args: ['12'], flags: ['--timing', 'none'] });
  const trace = openTrace(none.dir);
  const sync = [...threadEvents(trace, trace.threads[0]!)].filter((e) => e.kind === 'enter' || e.kind === 'exit');
  assert.ok(sync.length > 0 && sync.every((e) => e.untimed), 'every call untimed');
  const text = recall(['summary', none.dir]);
  assert.match(text.stdout, /--timing none: calls and call structure only/);
  assert.doesNotMatch(text.stdout, /\btotal\b.*\bself\b/);

  const adaptive = record('shutdown.js', { args: ['normal'], flags: ['--timing', 'adaptive'] });
  const summary = summaryJson(adaptive.dir);
  assert.match(summary.clock.precision, /^adaptive: /);
  assert.equal(callsOf(summary, 'tick'), 1000);
  const info = recall(['info', adaptive.dir]);
  assert.match(info.stdout, /adaptive: every event timestamped/);
  assert.notEqual(recall(['run', '--timing', 'sometimes', '--', 'node', 'fib.js']).status, 0);
});

test('the views of a --timing none trace show order and counts, never times', () => {
  const { dir, result } = record('workers.mjs', { flags: ['--timing', 'none'] });
  assert.equal(result.status, 0, result.stderr);
  // A time as the views print one; not inside a word (the trace's temporary directory, named in
  // every view's head line, can end in "…3s").
  const time = /(?<![\w.-])\d+(?:\.\d+)? ?(?:ns|µs|ms|s)\b/;
  const opened = openTrace(dir);
  const workerThread = opened.threads.find((t) => t.info.id !== 0);
  assert.ok(workerThread);
  const worker = String(workerThread.info.id);
  // An event inside a call of work(): its first enter (events before it can be runtime events).
  const firstEnter = [...threadEvents(opened, workerThread)].findIndex((e) => e.kind === 'enter' && e.name === 'work');
  assert.ok(firstEnter >= 0);

  const tree = recall(['tree', dir, '--thread', worker]);
  assert.equal(tree.status, 0, tree.stderr);
  assert.match(tree.stdout, /recorded with --timing none: no times/);
  assert.match(tree.stdout, /work ×/);
  assert.doesNotMatch(tree.stdout, time);
  const minTime = recall(['tree', dir, '--min-time', '1ms']);
  assert.equal(minTime.status, 2);
  assert.match(minTime.stderr, /^recall: tree: --min-time needs times.*--timing none/);

  const atTime = recall(['stack', dir, '--at', '5ms']);
  assert.equal(atTime.status, 2);
  assert.equal(atTime.stderr.trim().split('\n').length, 1);
  assert.match(atTime.stderr, /--timing none and has no times: give --at an event/);
  const atEvent = recall(['stack', dir, '--at', `e${firstEnter}`, '--thread', worker]);
  assert.equal(atEvent.status, 0, atEvent.stderr);
  assert.match(atEvent.stdout, new RegExp(`after event e${firstEnter} · last event e${firstEnter}\n {2}work `));
  assert.doesNotMatch(atEvent.stdout, time);

  const events = recall(['events', dir]);
  assert.match(events.stdout, /worker-start +thread \d+ cruncher-0/);
  assert.match(events.stdout, /message-send +→ thread 0/);
  assert.doesNotMatch(events.stdout.split('\n').filter((line) => !/^ {2}gc\b|^ {2}gc:/.test(line)).join('\n'), time);
  const json = JSON.parse(recall(['events', dir, '--format', 'json']).stdout) as { timed: boolean; threads: { events: { ns: number | null }[] }[] };
  assert.equal(json.timed, false);
  const all = json.threads.flatMap((t) => t.events);
  assert.ok(all.length > 0 && all.every((e) => e.ns === null));

  const summary = recall(['summary', dir]);
  assert.doesNotMatch(summary.stdout, /recorded\n|duration/);
  assert.match(summary.stdout, /2 functions by calls \(600,003 calls\)\n/);
  assert.match(summary.stdout, /work +workers\.mjs:\d+ +600,000/);
});
