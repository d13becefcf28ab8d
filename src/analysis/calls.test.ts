// The call model of calls.ts (the tree, stack and exceptions views) against the summary's walk,
// on hand-made traces with lost exits and drop markers (issue 12 item 5): both follow
// stack-rules.ts, so per function the tree view's calls, unfinished calls, inclusive time (once
// per outermost activation) and self time equal the summary's, and so does its call count.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { recall, summaryJson, tempDir, writeTrace } from '../../test/helpers.js';
import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EV_THROW, EXT_GC } from '../format/layout.js';

interface Node {
  name: string;
  enterNs: number;
  durationNs: number | null;
  openUntilNs?: number;
  outcome: string | null;
  children: Node[];
}

interface Totals {
  calls: number;
  totalNs: number;
  selfNs: number;
  unfinished: number;
}

/** Time a call has on record: to its exit, or (unfinished) to the thread's last event; none when its end was dropped. */
function onRecord(node: Node): number {
  return node.durationNs ?? (node.openUntilNs !== undefined ? node.openUntilNs - node.enterNs : 0);
}

/** Per-function totals from `recall tree --format json`, counted as the summary counts them. */
function treeTotals(dir: string): { byName: Map<string, Totals>; calls: number; header: string } {
  const json = recall(['tree', dir, '--format', 'json']);
  assert.equal(json.status, 0, json.stderr);
  const roots = (JSON.parse(json.stdout) as { threads: { calls: Node[] }[] }).threads[0]!.calls;
  const byName = new Map<string, Totals>();
  let calls = 0;
  const visit = (node: Node, open: string[]): void => {
    calls++;
    let t = byName.get(node.name);
    if (!t) byName.set(node.name, (t = { calls: 0, totalNs: 0, selfNs: 0, unfinished: 0 }));
    t.calls++;
    if (node.outcome === null) t.unfinished++;
    if (!open.includes(node.name)) t.totalNs += onRecord(node);
    t.selfNs += onRecord(node) - node.children.reduce((sum, c) => sum + onRecord(c), 0);
    for (const child of node.children) visit(child, [...open, node.name]);
  };
  for (const root of roots) visit(root, []);
  const text = recall(['tree', dir]);
  assert.equal(text.status, 0, text.stderr);
  return { byName, calls, header: text.stdout };
}

const TRACES: Record<string, [number, number, number, number][]> = {
  'lost exits (and an exit with no open frame)': [
    [EV_ENTER, 1, 0, 0], // f1
    [EV_ENTER, 2, 0, 1], //   f2
    [EV_ENTER, 1, 0, 2], //     f1 (recursion)
    [EV_ENTER, 3, 0, 3], //       f3: its exit is lost
    [EV_EXIT, 1, 0, 5], //       closes the inner f1 (innermost of f1) and f3 with it
    [EV_EXIT, 2, 0, 7], //   f2
    [EV_EXIT, 3, 0, 8], // no open frame of f3: changes nothing
    [EV_ENTER, 3, 0, 9], //   f3: exit lost
    [EV_ENTER, 2, 0, 9.5], //     f2: exit lost
    [EV_THROW, 1, 0, 10], // f1 throws: f3 and f2 end with it
    [EV_ENTER, 2, 0, 12], // f2 returns
    [EV_EXIT, 2, 0, 15],
  ],
  'drop markers': [
    [EV_ENTER, 1, 0, 0], // f1
    [EV_ENTER, 2, 0, 1], //   f2
    [EV_DROPPED, 0, 4, 3], // 4 events lost: f1 and f2 forgotten
    [EV_EXIT, 2, 0, 4], // their exits change nothing
    [EV_EXIT, 1, 0, 5],
    [EV_ENTER, 2, 0, 6], // f2, 1 ms
    [EV_EXIT, 2, 0, 7],
    [EV_ENTER, 1, 0, 8], // f1
    [EV_ENTER, 3, 0, 9], //   f3
    [EV_DROPPED, 0, 2, 10], // f1 and f3 forgotten
    [EV_ENTER, 3, 0, 11], // f3, 2 ms
    [EV_EXIT, 3, 0, 13],
    [EV_ENTER, 1, 0, 20], // f1, unfinished: to the thread's last event
    [EV_EXT, EXT_GC, 5, 25],
  ],
  'a lost exit and a drop marker': [
    [EV_ENTER, 1, 0, 0],
    [EV_ENTER, 2, 0, 1],
    [EV_EXIT, 1, 0, 10],
    [EV_ENTER, 2, 0, 11],
    [EV_DROPPED, 0, 3, 12],
    [EV_EXIT, 2, 0, 13],
    [EV_ENTER, 2, 0, 20],
    [EV_EXIT, 2, 0, 21],
    [EV_ENTER, 1, 0, 30],
    [EV_EXT, EXT_GC, 5, 40],
  ],
};

describe('the tree view and the summary agree (stack-rules.ts)', () => {
  for (const [name, records] of Object.entries(TRACES)) {
    test(name, () => {
      const dir = join(tempDir('recall-calls-'), 'trace');
      writeTrace(dir, records, 3);
      const summary = summaryJson(dir);
      const tree = treeTotals(dir);
      const fromSummary = new Map(summary.functions.map((f) => [f.name, { calls: f.calls, totalNs: f.totalNs, selfNs: f.selfNs, unfinished: f.unfinished }]));
      assert.deepEqual(tree.byName, fromSummary);
      const calls = summary.functions.reduce((sum, f) => sum + f.calls, 0);
      assert.equal(tree.calls, calls);
      assert.match(tree.header, new RegExp(`^thread 0 main · ${calls} calls$`, 'm'));
      const drops = records.filter(([kind]) => kind === EV_DROPPED).length;
      if (drops > 0) assert.match(tree.header, /WARNING: \d+ events dropped .* in \d+ gaps?/);
      else assert.doesNotMatch(tree.header, /WARNING/);
    });
  }
});
