// renderValue / renderArgs: the one-line rendering of value descriptions for CLI views — each
// shape, the maxChars bound, and robustness to malformed descriptions read from disk.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, renderArgs, renderValue, type ValueDesc } from './values.js';

const r = (d: ValueDesc, max?: number): string => renderValue(d, max);

describe('renderValue', () => {
  test('primitives', () => {
    assert.equal(r('ann'), "'ann'");
    assert.equal(r("it's\n\\ \u0001"), "'it\\'s\\n\\\\ \\x01'");
    assert.equal(r(REDACTED), '[redacted]');
    assert.equal(r(42), '42');
    assert.equal(r(-1.5), '-1.5');
    assert.equal(r(true), 'true');
    assert.equal(r(null), 'null');
    assert.equal(r({ $: 'undefined' }), 'undefined');
    assert.equal(r({ $: 'number', value: 'NaN' }), 'NaN');
    assert.equal(r({ $: 'number', value: '-0' }), '-0');
    assert.equal(r({ $: 'number', value: '-Infinity' }), '-Infinity');
    assert.equal(r({ $: 'bigint', value: '12' }), '12n');
    assert.equal(r({ $: 'symbol', description: 'x' }), 'Symbol(x)');
    assert.equal(r({ $: 'symbol' }), 'Symbol()');
  });

  test('a long string shows its head and full length', () => {
    assert.equal(r({ $: 'string', head: 'aaaa', length: 10485760 }), "'aaaa…' (10485760 chars)");
  });

  test('functions and classes', () => {
    assert.equal(r({ $: 'function', name: 'f' }), '[Function: f]');
    assert.equal(r({ $: 'function', name: '' }), '[Function: (anonymous)]');
    assert.equal(r({ $: 'function', name: 'A', class: true }), '[class A]');
  });

  test('arrays: plain, long, holes, extra props, depth', () => {
    assert.equal(r([1, 2, 3]), '[ 1, 2, 3 ]');
    assert.equal(r([]), '[]');
    assert.equal(r({ $: 'array', length: 100, items: [1, 2], more: 98 }), '[ 1, 2, … 98 more ]');
    assert.equal(r({ $: 'array', length: 3, items: [1, { $: 'hole' }, 3] }), '[ 1, <empty>, 3 ]');
    assert.equal(r({ $: 'array', length: 1, items: ['x'], props: { index: 0 } }), "[ 'x', index: 0 ]");
    assert.equal(r({ $: 'array', length: 5, truncated: 'depth' }), '[…]');
    assert.equal(r({ $: 'array', length: 5, items: [], more: 5 }), '[ … 5 more ]');
  });

  test('objects: plain, class, null prototype, redacted, accessors, more, depth, awkward keys', () => {
    assert.equal(r({ $: 'object', props: { a: 1, b: [1, 2, 3] } }), '{ a: 1, b: [ 1, 2, 3 ] }');
    assert.equal(r({ $: 'object', class: 'User', props: { user: 'ann', password: REDACTED } }), "User { user: 'ann', password: [redacted] }");
    assert.equal(r({ $: 'object', props: {} }), '{}');
    assert.equal(r({ $: 'object', class: 'Empty', props: {} }), 'Empty {}');
    assert.equal(r({ $: 'object', class: null, props: { k: 1 } }), '[Object: null prototype] { k: 1 }');
    assert.equal(r({ $: 'object', props: { g: { $: 'getter' }, s: { $: 'setter' }, a: { $: 'accessor' } } }), '{ g: <getter>, s: <setter>, a: <accessor> }');
    assert.equal(r({ $: 'object', props: { a: 1 }, more: 4 }), '{ a: 1, … 4 more }');
    assert.equal(r({ $: 'object', class: 'Deep', truncated: 'depth', keys: 3 }), 'Deep {…}');
    assert.equal(r({ $: 'object', truncated: 'depth', keys: 3 }), '{…}');
    assert.equal(r({ $: 'object', props: { 'x-api-key': REDACTED, '[Symbol(s)]': 1, "it's": 2 } }), "{ 'x-api-key': [redacted], [Symbol(s)]: 1, 'it\\'s': 2 }");
    assert.equal(r({ $: 'object', class: 'WeakMap' }), 'WeakMap {}');
  });

  test('circular, proxy, hole, elided, unserializable', () => {
    assert.equal(r({ $: 'circular', path: '$.a' }), '<circular $.a>');
    assert.equal(r({ $: 'proxy' }), '<proxy>');
    assert.equal(r({ $: 'hole' }), '<empty>');
    assert.equal(r({ $: 'elided' }), '…');
    assert.equal(r({ $: 'elided', more: 3 }), '… 3 more');
    assert.equal(r({ $: 'unserializable', error: 'boom' }), '<unserializable: boom>');
  });

  test('maps and sets', () => {
    assert.equal(r({ $: 'map', size: 3, entries: [['a', 1]], more: 2 }), "Map(3) { 'a' => 1, … 2 more }");
    assert.equal(r({ $: 'map', size: 1, entries: [['token', REDACTED]] }), "Map(1) { 'token' => [redacted] }");
    assert.equal(r({ $: 'map', class: 'Registry', size: 0, entries: [] }), 'Registry(0) {}');
    assert.equal(r({ $: 'map', size: 4, truncated: 'depth' }), 'Map(4) {…}');
    assert.equal(r({ $: 'set', size: 2, values: [1, 2] }), 'Set(2) { 1, 2 }');
    assert.equal(r({ $: 'set', size: 9, truncated: 'depth' }), 'Set(9) {…}');
  });

  test('errors', () => {
    assert.equal(r({ $: 'error', class: 'TypeError', name: 'TypeError', message: 'bad thing' }), 'TypeError: bad thing');
    assert.equal(r({ $: 'error', class: 'Error', name: 'Error', message: '' }), 'Error');
    assert.equal(r({ $: 'error', class: 'HttpError', message: 'x' }), 'HttpError: x', 'no name: the class');
    assert.equal(
      r({ $: 'error', class: 'Error', name: 'Error', message: 'x', props: { code: 'ENOENT' }, cause: { $: 'error', name: 'RangeError', message: 'y' } }),
      "Error: x { code: 'ENOENT', [cause]: RangeError: y }",
    );
    assert.equal(r({ $: 'error', name: 'Error', message: { $: 'string', head: 'long', length: 900 } }), 'Error: long…');
    assert.equal(r({ $: 'error', name: { $: 'getter' }, message: 'm' }), 'Error: m');
  });

  test('dates, regexps, binary data, promises, generators, boxed, modules', () => {
    assert.equal(r({ $: 'date', iso: '2024-01-01T00:00:00.000Z' }), '2024-01-01T00:00:00.000Z');
    assert.equal(r({ $: 'date', iso: 'Invalid Date' }), 'Invalid Date');
    assert.equal(r({ $: 'regexp', source: 'ab+c', flags: 'g' }), '/ab+c/g');
    assert.equal(r({ $: 'typedarray', class: 'Uint8Array', length: 4, items: [1, 2, 3, 4] }), 'Uint8Array(4) [ 1, 2, 3, 4 ]');
    assert.equal(r({ $: 'typedarray', class: 'Int8Array', length: 10, items: [1, 2] }), 'Int8Array(10) [ 1, 2, … 8 more ]');
    assert.equal(r({ $: 'typedarray', class: 'BigInt64Array', length: 1, items: ['5'] }), 'BigInt64Array(1) [ 5n ]');
    assert.equal(r({ $: 'typedarray', class: 'Float32Array', length: 0, items: [] }), 'Float32Array(0) []');
    assert.equal(r({ $: 'buffer', length: 1024, hex: '0102' }), '<Buffer 01 02 … (1024 bytes)>');
    assert.equal(r({ $: 'buffer', length: 2, hex: '0102' }), '<Buffer 01 02>');
    assert.equal(r({ $: 'buffer', length: 0, hex: '' }), '<Buffer>');
    assert.equal(r({ $: 'arraybuffer', class: 'ArrayBuffer', byteLength: 8 }), 'ArrayBuffer { byteLength: 8 }');
    assert.equal(r({ $: 'dataview', byteLength: 8 }), 'DataView { byteLength: 8 }');
    assert.equal(r({ $: 'promise' }), 'Promise {…}');
    assert.equal(r({ $: 'generator' }), 'Object [Generator] {}');
    assert.equal(r({ $: 'boxed', value: 3 }), '[Number: 3]');
    assert.equal(r({ $: 'boxed', value: 's' }), "[String: 's']");
    assert.equal(r({ $: 'boxed', value: false }), '[Boolean: false]');
    assert.equal(r({ $: 'boxed', value: { $: 'bigint', value: '1' } }), '[BigInt: 1n]');
    assert.equal(r({ $: 'module', keys: ['a', 'b'] }), '[Module] { a, b }');
    assert.equal(r({ $: 'module', keys: ['a'], more: 3 }), '[Module] { a, … 3 more }');
  });

  test('never longer than maxChars, cut with …', () => {
    const big: ValueDesc = { $: 'object', props: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`key${i}`, 'v'.repeat(20)])) };
    for (const max of [1, 2, 5, 10, 40, 120, 500]) {
      const text = r(big, max);
      assert.ok(text.length <= max, `${max}: ${text.length}`);
      if (max < 200) assert.ok(text.endsWith('…'), text);
    }
    assert.equal(r('short', 120), "'short'");
    assert.equal(r('abcdefghij', 6), "'abcd…");
    assert.equal(r(`x${'😀'.repeat(5)}`, 4), "'x…", 'never splits a surrogate pair');
    assert.equal(r(big).length, 120, 'default 120');
  });

  test('malformed descriptions render without throwing', () => {
    const bad = [
      { $: 'nope' }, { $: 'array' }, { $: 'map', size: 'x' }, { $: 'object', props: 5 }, { $: 'error' }, { $: 'buffer' },
      { $: 'string' }, { no: 'tag' }, { $: 'regexp' }, { $: 'boxed' }, { $: 'module', keys: [1, 'a'] },
    ] as unknown as ValueDesc[];
    for (const d of bad) assert.equal(typeof r(d), 'string');
    assert.equal(r({ $: 'nope' } as unknown as ValueDesc), '<?>');
    assert.equal(r(undefined as unknown as ValueDesc), '<?>');
  });
});

describe('renderArgs', () => {
  test('named values, redacted ones, values beyond the names', () => {
    assert.equal(renderArgs(['user', 'password'], ['ann', REDACTED], 120), "user='ann', password=[redacted]");
    assert.equal(renderArgs([], [1, 'b'], 120), "1, 'b'");
    assert.equal(renderArgs(['a'], [1, 2], 120), 'a=1, 2');
    assert.equal(renderArgs(['a', 'b'], [], 120), '');
    assert.equal(renderArgs(['x'], [{ $: 'elided', more: 4 }], 120), 'x=… 4 more');
  });

  test('bounded by maxChars', () => {
    const args: ValueDesc[] = Array.from({ length: 50 }, (_, i) => `value number ${i}`);
    const names = args.map((_, i) => `arg${i}`);
    for (const max of [1, 3, 20, 80]) {
      const text = renderArgs(names, args, max);
      assert.ok(text.length <= max, `${max}: ${text}`);
      assert.ok(text.endsWith('…'));
    }
  });
});
