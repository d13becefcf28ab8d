// Value predicates: parsing of arg=GLOB:N<op>VALUE and the tests they build, which look only at
// primitives (objects never pass, so no user code runs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgPredicate } from './predicate-spec.js';
import { argTestFor } from './predicates.js';

test('parses the four operators and rejects what is not a predicate', () => {
  assert.deepEqual(parseArgPredicate('parse*:0~bad'), { fn: 'parse*', index: 0, op: '~', value: 'bad' });
  assert.deepEqual(parseArgPredicate('step:1=42'), { fn: 'step', index: 1, op: '=', value: 42 });
  assert.deepEqual(parseArgPredicate('step:1="42"'), { fn: 'step', index: 1, op: '=', value: '42' });
  assert.deepEqual(parseArgPredicate('f:2=null'), { fn: 'f', index: 2, op: '=', value: null });
  assert.deepEqual(parseArgPredicate('f:0=word'), { fn: 'f', index: 0, op: '=', value: 'word' });
  assert.deepEqual(parseArgPredicate('f:0>1.5'), { fn: 'f', index: 0, op: '>', value: 1.5 });
  for (const bad of ['f', 'f:x~a', 'f:0>abc', 'f:0<', ':0~a']) assert.equal(parseArgPredicate(bad), null, bad);
});

test('tests match by full or short name and look at primitives only', () => {
  const specs = [parseArgPredicate('parse*:0~bad')!, parseArgPredicate('Queue.prototype.push:1>10')!];
  const parse = argTestFor('parseLine', specs)!;
  assert.equal(parse(['a bad line']), true);
  assert.equal(parse(['fine']), false);
  assert.equal(parse([]), false);
  let touched = 0;
  const hostile = { get length() { touched++; return 3; }, toString() { touched++; return 'bad'; } };
  assert.equal(parse([hostile]), false);
  assert.equal(touched, 0);
  const push = argTestFor('Queue.prototype.push', specs)!;
  assert.equal(push(['x', 11]), true);
  assert.equal(push(['x', '11']), false);
  assert.equal(argTestFor('other', specs), null);
});
