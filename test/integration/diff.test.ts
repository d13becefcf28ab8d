// recall diff: two runs of one program with different inputs — the changed call counts,
// exactly; functions new and gone; exceptions new in the second run; text and JSON.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recall, record } from '../helpers.js';

interface DiffJson {
  calls: { before: number; after: number };
  functions: { name: string; only: string | null; before: { calls: number; selfNs: number | null }; after: { calls: number; selfNs: number | null } }[];
  newExceptions: { error: string; thrownIn: string | null }[];
}

test('diff of fib(10) and fib(12): 177 → 465 calls of fib, nothing else', () => {
  const a = record('fib.js', { args: ['10'], flags: ['--timing', 'exact'] });
  const b = record('fib.js', { args: ['12'], flags: ['--timing', 'exact'] });
  const json = recall(['diff', a.dir, b.dir, '--format', 'json']);
  assert.equal(json.status, 0, json.stderr);
  const diff = JSON.parse(json.stdout) as DiffJson;
  assert.deepEqual(diff.calls, { before: 177, after: 465 });
  assert.equal(diff.functions.length, 1);
  assert.equal(diff.functions[0]!.name, 'fib');
  assert.equal(diff.functions[0]!.before.calls, 177);
  assert.equal(diff.functions[0]!.after.calls, 465);
  assert.deepEqual(diff.newExceptions, []);
  const text = recall(['diff', a.dir, b.dir]);
  assert.match(text.stdout, /calls 177 → 465 · 1 function changed, 0 new, 0 gone/);
  assert.match(text.stdout, /^fib +177 +465 +\+288 /m);
  const same = recall(['diff', a.dir, a.dir]);
  assert.match(same.stdout, /no function changed/);
});

test('diff names functions new and gone, and exceptions new in the second run', () => {
  const a = record('fib.js', { args: ['5'] });
  const b = record('bugs/bad-value.js');
  const diff = JSON.parse(recall(['diff', a.dir, b.dir, '--format', 'json']).stdout) as DiffJson;
  assert.equal(diff.functions.find((f) => f.name === 'fib')?.only, 'base');
  assert.equal(diff.functions.find((f) => f.name === 'checkQuantity')?.only, 'trace');
  assert.deepEqual(diff.newExceptions.map((x) => [x.error, x.thrownIn]), [['RangeError: quantity must be positive, got -3', 'checkQuantity']]);
  const usage = recall(['diff', a.dir]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /^recall: diff: give two traces/);
});
