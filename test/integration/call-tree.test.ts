// The engine's call tree (query/call-tree.ts, engine.callTree) against the call model of
// analysis/calls.ts, on real recordings: the same calls in the same order with the same
// outcomes, awaits, values, callback schedulers and counts of calls below the depth limit —
// with segments so small that the walk skips segments (--depth) and stops early (--max-lines),
// and completes open calls from the index. The text of `recall tree` must not depend on the
// segment size.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTrace } from '../../src/analysis/trace.js';
import { walkCalls, type Call } from '../../src/analysis/calls.js';
import { openQuery, type QueryTrace } from '../../src/query/open.js';
import type { CallTree } from '../../src/query/engine.js';
import { treeText } from '../../src/cli/tree-text.js';
import { recall, record, summaryJson } from '../helpers.js';

const DEPTHS = [1, 2, 3, 6, Number.MAX_SAFE_INTEGER];

function shape(call: Call, depth: number, maxDepth: number): unknown {
  return {
    name: call.name,
    enter: call.enterEvent,
    exit: call.exitEvent,
    outcome: call.outcome,
    exitNs: call.exitNs,
    open: call.openUntilNs !== null,
    timed: call.timed,
    hops: call.hops.map((h) => [h.suspendNs, h.resumeNs]),
    values: call.snapshots.map((s) => s.serial).sort((a, b) => a - b),
    scheduledBy: call.scheduledBy ? (call.scheduledBy.depth < 0 ? '(top)' : call.scheduledBy.name) : null,
    below: call.descendants,
    children: depth < maxDepth ? call.children.map((c) => shape(c, depth + 1, maxDepth)) : [],
  };
}

function textOf(q: QueryTrace, thread: number, maxDepth: number, minNs: number, limit: number): { lines: string[]; tree: CallTree } {
  const options = { maxDepth, minNs, timed: true, limit };
  const tree = q.engine.callTree(thread, { maxDepth, enough: (partial) => treeText(q.trace, partial, { ...options, limit: limit + 1, finalOnly: true }).lines.length > limit });
  const text = treeText(q.trace, tree, options);
  return { lines: [...text.lines, String(text.truncated)], tree };
}

function compare(dir: string): { skipped: number; stopped: number } {
  const trace = openTrace(dir);
  const small = openQuery(dir, { segmentRecords: 32, write: false });
  const odd = openQuery(dir, { segmentRecords: 97, write: false });
  const whole = openQuery(dir, { segmentRecords: 1 << 24, write: false });
  let skipped = 0;
  let stopped = 0;
  try {
    trace.threads.forEach((thread, t) => {
      const model = walkCalls(trace, thread, { keepChildren: true });
      // One call's values (engine.call) are the snapshots the call model gives it.
      const all: Call[] = [];
      for (const stack = [...model.root.children]; stack.length > 0 && all.length < 400; ) {
        const call = stack.pop() as Call;
        all.push(call);
        stack.push(...call.children);
      }
      for (const call of all) {
        if (call.outcome === 'dropped' || call.enterEvent < 0 || call.frame !== 0 && call.hops.length > 0) continue;
        const values = whole.engine.call(`c${t}.${call.enterEvent}`).values.map((v) => v.serial).sort((a, b) => a - b);
        assert.deepEqual(values, call.snapshots.map((v) => v.serial).sort((a, b) => a - b), `${dir} values of ${call.name} at e${call.enterEvent}`);
      }
      for (const maxDepth of DEPTHS) {
        const expected = model.root.children.map((c) => shape(c, 1, maxDepth));
        for (const q of [small, odd, whole]) {
          const tree = q.engine.callTree(t, { maxDepth });
          skipped += tree.segmentsSkipped;
          assert.deepEqual(tree.root.children.map((c) => shape(c, 1, maxDepth)), expected, `${dir} thread ${t} depth ${maxDepth}`);
        }
        for (const limit of [3, 12, 60, 400]) {
          for (const minNs of [0, 20_000]) {
            const reference = textOf(whole, t, maxDepth, minNs, limit);
            for (const q of [small, odd]) {
              const got = textOf(q, t, maxDepth, minNs, limit);
              if (!got.tree.complete) stopped++;
              assert.deepEqual(got.lines, reference.lines, `${dir} thread ${t} depth ${maxDepth} limit ${limit} min ${minNs}`);
            }
          }
        }
      }
    });
  } finally {
    small.close();
    odd.close();
    whole.close();
  }
  return { skipped, stopped };
}

test('call tree: small segments skip and stop early, and give the call model exactly (recursion, generators resumed deep, catches, awaits, timers)', () => {
  const { dir, result } = record('query/tree-shapes.js');
  assert.equal(result.status, 0, result.stderr);
  // Walks stop early there with main() open, its catch clauses' values still ahead.
  assert.ok(compare(dir).stopped > 0, 'some walks stopped early');
  // A generator stays suspended there most of the time (a skip could miss its resumes): fib has none.
  const fib = record('fib.js', { args: ['12'] });
  const { skipped, stopped } = compare(fib.dir);
  assert.ok(skipped > 0, 'some segments were skipped');
  assert.ok(stopped > 0, 'some walks stopped early');
});

test('call tree: async chains, generators, spans and workers agree with the call model', () => {
  for (const fixture of ['semantics/async.mjs', 'semantics/generators.mjs', 'events/http.mjs', 'events/timers.mjs', 'bugs/worker-throw.cjs', 'bugs/async-throw.js']) {
    const { dir } = record(fixture);
    compare(dir);
  }
});

test('recall tree --depth: the calls below a cut are counted, in text and JSON', () => {
  const { dir, result } = record('fib.js', { args: ['16'] });
  assert.equal(result.status, 0, result.stderr);
  const text = recall(['tree', dir, '--depth', '2']);
  assert.equal(text.status, 0, text.stderr);
  // fib(16) makes 3,193 calls: the two at depth 2 hold the other 3,192 but themselves.
  const below = [...text.stdout.matchAll(/… ([\d,]+) calls below \(--depth\)/g)].map((m) => Number((m[1] as string).replace(/,/g, '')));
  const json = JSON.parse(recall(['tree', dir, '--depth', '2', '--format', 'json']).stdout) as { threads: { calls: { name: string; omitted: number; children: { name: string; omitted: number }[] }[] }[] };
  const fib = json.threads[0]!.calls.find((c) => c.name === 'fib')!;
  assert.deepEqual(fib.children.map((c) => c.omitted), below);
  assert.equal(fib.children.reduce((sum, c) => sum + 1 + c.omitted, 0), 3192);
});

test('recall tree: past what it holds in memory, JSON is refused in one line; text stops early instead', () => {
  // fib(29): 1,664,079 calls, all as nodes for JSON; the text needs its first lines only. The
  // top call's argument comes from the slow-call trigger: at the default 100 ms it missed on a
  // fast machine (fib(29) ran 99.1 ms traced, and the line had no values), so 10 ms.
  const { dir, result } = record('fib.js', { args: ['29'], flags: ['--trigger', 'slow=10ms'] });
  assert.equal(result.status, 0, result.stderr);
  const json = recall(['tree', dir, '--format', 'json']);
  assert.equal(json.status, 1);
  assert.match(json.stderr, /^recall: tree: more than 500,000 calls to hold .*use --depth/);
  assert.equal(json.stderr.trim().split('\n').length, 1);
  const text = recall(['tree', dir, '--max-lines', '5']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^  fib\(n=29\) /m);
  // Under load the ring may have overflowed: the exact counts hold for a trace that lost nothing.
  const summary = summaryJson(dir);
  if (summary.totals.dropped === 0) {
    assert.match(text.stdout, /^thread 0 main · 1,664,079 calls$/m);
    const shallow = JSON.parse(recall(['tree', dir, '--format', 'json', '--depth', '2']).stdout) as { threads: { calls: { omitted: number; children: { omitted: number }[] }[] }[] };
    const top = shallow.threads[0]!.calls[0]!;
    assert.equal(top.children.reduce((sum, c) => sum + 1 + c.omitted, 0), 1_664_078);
  }
});
