// `recall summary --from/--to`: the summary of a time range, from the query engine's range walk.
// Over the whole recording it is the summary; split at a moment, calls add up and self time
// splits; bad ranges are one-line usage errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recall, record, summaryJson } from '../helpers.js';
import type { Summary } from '../../src/analysis/summary.js';

function rangeJson(dir: string, from: string, to?: string): Summary {
  const result = recall(['summary', dir, '--format', 'json', '--from', from, ...(to !== undefined ? ['--to', to] : [])]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Summary;
}

test('summary --from/--to: the whole range is the summary; two halves add up', () => {
  const { dir, result } = record('fib.js', { args: ['22'], flags: ['--timing', 'exact'] });
  assert.equal(result.status, 0, result.stderr);
  const whole = summaryJson(dir).functions.find((f) => f.name === 'fib')!;
  const all = rangeJson(dir, '0ms');
  const fib = all.functions.find((f) => f.name === 'fib')!;
  assert.equal(fib.calls, whole.calls);
  assert.ok(Math.abs(fib.selfNs - whole.selfNs) <= 1000, `${fib.selfNs} vs ${whole.selfNs}`);
  assert.ok(all.range && all.range.fromNs === 0);
  // Cut in the middle of the fib calls (the first half by time of the whole recording's end).
  const mid = `${(all.range.toNs / 1e6 / 2).toFixed(3)}ms`;
  const a = rangeJson(dir, '0ms', mid).functions.find((f) => f.name === 'fib');
  const b = rangeJson(dir, mid).functions.find((f) => f.name === 'fib');
  assert.equal((a?.calls ?? 0) + (b?.calls ?? 0), whole.calls);
  assert.ok(Math.abs((a?.selfNs ?? 0) + (b?.selfNs ?? 0) - whole.selfNs) <= 2000);
  const text = recall(['summary', dir, '--from', '0', '--to', mid]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^range: 0 ns to .* · calls that began in it; self and total time clipped to it$/m);
});

test('summary --from/--to: bad values are one-line usage errors', () => {
  const { dir } = record('fib.js', { args: ['5'] });
  for (const [args, message] of [
    [['--from', 'soon'], /--from and --to take times since the trace began/],
    [['--from', '2s', '--to', '1s'], /--to is before --from/],
    [['--from', '1ms', '--process', 'all'], /--from\/--to need one process/],
  ] as const) {
    const result = recall(['summary', dir, ...args]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, message);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  }
  const none = record('fib.js', { args: ['5'], flags: ['--timing', 'none'] });
  const result = recall(['summary', none.dir, '--from', '1ms']);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /need times/);
});
