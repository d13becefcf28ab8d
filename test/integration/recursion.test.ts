// Recursion depth traced vs untraced: instrumented cold frames take about twice the stack, so
// recall scales the stack limit of every Node thread and process it starts (stack-limit.ts).
// A deep recursion that works untraced must work traced: at least 80% of the untraced depth on
// the main thread, in a worker and in a child Node process, and the calls are all recorded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { record, summaryJson, untraced } from '../helpers.js';

interface Depths {
  main: number;
  worker: number;
  child: number;
}

test('a cold recursion reaches at least 80% of its untraced depth on the main thread, in a worker and in a child process', () => {
  const plain = untraced('recursion.cjs');
  assert.equal(plain.status, 0, plain.stderr);
  const before = JSON.parse(plain.stdout) as Depths;
  const { dir, result } = record('recursion.cjs');
  assert.equal(result.status, 0, result.stderr);
  const traced = JSON.parse(result.stdout) as Depths;
  for (const where of ['main', 'worker', 'child'] as const) {
    const ratio = traced[where] / before[where];
    assert.ok(ratio >= 0.8, `${where}: traced depth ${traced[where]} is ${(ratio * 100).toFixed(0)}% of untraced ${before[where]}`);
    // Scaled, not unbounded: the program still overflows near where it does untraced.
    assert.ok(ratio <= 1.5, `${where}: traced depth ${traced[where]} is ${(ratio * 100).toFixed(0)}% of untraced ${before[where]}`);
  }
  // Every frame of the descents was recorded (each call of down() once, plus the call that threw).
  const summary = summaryJson(dir, ['--process', 'all']);
  const down = summary.functions.filter((fn) => fn.name.endsWith('down'));
  const calls = down.reduce((sum, fn) => sum + fn.calls, 0);
  assert.ok(calls >= traced.main + traced.worker + traced.child, `recorded ${calls} calls of down for depths ${JSON.stringify(traced)}`);
});
