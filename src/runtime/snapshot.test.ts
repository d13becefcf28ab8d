// Snapshotter: the value descriptions it produces for every kind of value, that it never runs the
// program's code (getters, proxies, toJSON/valueOf/inspect hooks, prepareStackTrace,
// monkeypatched built-ins), never throws, stays within its limits and byte budget, and redacts.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_REDACT_KEYS, DEFAULT_SNAPSHOT_LIMITS, Snapshotter } from './snapshot.js';
import { renderValue, type ValueDesc } from '../format/values.js';
import { mulberry32 } from '../format/mulberry32.js';

const getOwnDescriptor = Object.getOwnPropertyDescriptor;
const defineProperty = Object.defineProperty;

const snap = (v: unknown, depth?: number): ValueDesc => new Snapshotter().value(v, depth);
const json = (d: unknown): string => JSON.stringify(d);

/** Temporarily replaces a property (data or accessor) and restores it afterwards. */
function patched(target: object, key: PropertyKey, descriptor: PropertyDescriptor, body: () => void): void {
  const saved = getOwnDescriptor(target, key);
  defineProperty(target, key, { configurable: true, ...descriptor });
  try {
    body();
  } finally {
    if (saved) defineProperty(target, key, saved);
    else delete (target as Record<PropertyKey, unknown>)[key];
  }
}

/** A Proxy whose every trap (present or looked up) counts and throws. */
function hostileProxy<T extends object>(target: T, counter: { n: number }): T {
  const handler = new Proxy({}, {
    get(_t, name) {
      counter.n++;
      return () => {
        throw new Error(`trap ${String(name)} ran`);
      };
    },
  });
  return new Proxy(target, handler as ProxyHandler<T>);
}

describe('Snapshotter: primitives', () => {
  test('strings, numbers, booleans, null, undefined, bigint, symbol', () => {
    assert.equal(snap('hi'), 'hi');
    assert.equal(snap(''), '');
    assert.equal(snap(42), 42);
    assert.equal(snap(-1.5), -1.5);
    assert.deepEqual(snap(NaN), { $: 'number', value: 'NaN' });
    assert.deepEqual(snap(Infinity), { $: 'number', value: 'Infinity' });
    assert.deepEqual(snap(-Infinity), { $: 'number', value: '-Infinity' });
    assert.deepEqual(snap(-0), { $: 'number', value: '-0' });
    assert.equal(snap(0), 0);
    assert.equal(snap(true), true);
    assert.equal(snap(false), false);
    assert.equal(snap(null), null);
    assert.deepEqual(snap(undefined), { $: 'undefined' });
    assert.deepEqual(snap(123n), { $: 'bigint', value: '123' });
    assert.deepEqual(snap(-5n), { $: 'bigint', value: '-5' });
    assert.deepEqual(snap(Symbol('x')), { $: 'symbol', description: 'x' });
    assert.deepEqual(snap(Symbol()), { $: 'symbol' });
    assert.deepEqual(snap(Symbol.iterator), { $: 'symbol', description: 'Symbol.iterator' });
  });

  test('a long string keeps its head and full length; short ones stay whole', () => {
    const s = new Snapshotter({ string: 8 });
    assert.equal(s.value('12345678'), '12345678');
    assert.deepEqual(s.value('123456789'), { $: 'string', head: '12345678', length: 9 });
  });

  test('a string head never splits a surrogate pair', () => {
    const s = new Snapshotter({ string: 4 });
    const d = s.value('abc😀def') as { head: string };
    assert.equal(d.head, 'abc');
  });

  test('a huge bigint is clipped hex, not a giant decimal', () => {
    const d = new Snapshotter({ string: 16 }).value(2n ** 4000n) as { $: string; value: string };
    assert.equal(d.$, 'bigint');
    assert.ok(d.value.startsWith('0x1'), d.value);
    assert.ok(d.value.length <= 20, d.value);
  });
});

describe('Snapshotter: functions', () => {
  test('functions, classes, anonymous, bound, async, arrows', () => {
    function named(): void {}
    class Klass {}
    assert.deepEqual(snap(named), { $: 'function', name: 'named' });
    assert.deepEqual(snap(Klass), { $: 'function', name: 'Klass', class: true });
    assert.deepEqual(snap(class {}), { $: 'function', name: '', class: true });
    assert.deepEqual(snap(named.bind(null)), { $: 'function', name: 'bound named' });
    assert.deepEqual(snap(async () => {}), { $: 'function', name: '' });
    assert.deepEqual(snap(Math.max), { $: 'function', name: 'max' });
    const classy = function classy(): void {};
    assert.deepEqual(snap(classy), { $: 'function', name: 'classy' }, 'a function whose name starts with "class" is not a class');
  });

  test('a name getter is not invoked', () => {
    let calls = 0;
    const f = function f(): void {};
    Object.defineProperty(f, 'name', { get: () => { calls++; return 'x'; } });
    assert.deepEqual(snap(f), { $: 'function', name: '' });
    assert.equal(calls, 0);
  });
});

describe('Snapshotter: arrays', () => {
  test('a short, complete array is a plain JSON array', () => {
    assert.deepEqual(snap([1, 'a', null, [true]]), [1, 'a', null, [true]]);
    assert.deepEqual(snap([]), []);
  });

  test('long arrays keep the first items and count the rest', () => {
    const d = new Snapshotter({ items: 3 }).value([1, 2, 3, 4, 5]);
    assert.deepEqual(d, { $: 'array', length: 5, items: [1, 2, 3], more: 2 });
  });

  test('holes, accessor elements and extra properties', () => {
    // eslint-disable-next-line no-sparse-arrays
    assert.deepEqual(snap([1, , 3]), { $: 'array', length: 3, items: [1, { $: 'hole' }, 3] });
    let calls = 0;
    const withGetter = [1, 2];
    Object.defineProperty(withGetter, 1, { get: () => { calls++; return 9; }, enumerable: true });
    assert.deepEqual(snap(withGetter), [1, { $: 'getter' }]);
    assert.equal(calls, 0);
    const match = /b(c)/.exec('abc');
    assert.deepEqual(snap(match), {
      $: 'array', length: 2, items: ['bc', 'c'],
      props: { index: 1, input: 'abc', groups: { $: 'undefined' } },
    });
  });

  test('holes never read through a polluted Array.prototype', () => {
    let calls = 0;
    patched(Array.prototype, 1, { get: () => { calls++; return 'polluted'; } }, () => {
      // eslint-disable-next-line no-sparse-arrays
      assert.deepEqual(snap([0, , 2]), { $: 'array', length: 3, items: [0, { $: 'hole' }, 2] });
    });
    assert.equal(calls, 0);
  });

  test('a huge array (1e6 items) is bounded and fast', () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => i);
    const started = performance.now();
    const d = snap(big) as { $: string; length: number; items: unknown[]; more: number };
    const elapsed = performance.now() - started;
    assert.equal(d.$, 'array');
    assert.equal(d.length, 1_000_000);
    assert.equal(d.items.length, DEFAULT_SNAPSHOT_LIMITS.items);
    assert.equal(d.more, 1_000_000 - DEFAULT_SNAPSHOT_LIMITS.items);
    assert.ok(json(d).length <= DEFAULT_SNAPSHOT_LIMITS.bytes + 200);
    assert.ok(elapsed < 50, `took ${elapsed} ms`);
  });
});

describe('Snapshotter: objects', () => {
  test('plain, class and null-prototype objects', () => {
    class User {
      name = 'ann';
      age = 3;
    }
    assert.deepEqual(snap({ a: 1, b: 'x' }), { $: 'object', props: { a: 1, b: 'x' } });
    assert.deepEqual(snap({}), { $: 'object', props: {} });
    assert.deepEqual(snap(new User()), { $: 'object', class: 'User', props: { name: 'ann', age: 3 } });
    const bare = Object.create(null) as Record<string, unknown>;
    bare.k = 1;
    assert.deepEqual(snap(bare), { $: 'object', class: null, props: { k: 1 } });
  });

  test('symbol keys, non-enumerable keys, awkward keys', () => {
    const o: Record<PropertyKey, unknown> = { 'x-y': 1, __proto__: null };
    o[Symbol('s')] = 2;
    Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
    Object.defineProperty(o, '__proto__', { value: 4, enumerable: true });
    const d = snap(o) as { props: Record<string, unknown> };
    assert.equal(d.props['x-y'], 1);
    assert.equal(d.props['[Symbol(s)]'], 2);
    assert.equal(d.props.hidden, undefined);
    assert.ok(Object.prototype.hasOwnProperty.call(d.props, '__proto__'));
    assert.equal(Object.getPrototypeOf(d.props), Object.prototype, '__proto__ was a key, not a prototype');
  });

  test('accessors are described, never invoked', () => {
    let calls = 0;
    const o = {
      get g(): number { calls++; throw new Error('getter ran'); },
      set s(_v: number) { calls++; },
      get a(): number { calls++; return 1; },
      set a(_v: number) { calls++; },
    };
    assert.deepEqual(snap(o), { $: 'object', props: { g: { $: 'getter' }, s: { $: 'setter' }, a: { $: 'accessor' } } });
    assert.equal(calls, 0);
  });

  test('toJSON, toString, valueOf, Symbol.toPrimitive and util.inspect.custom are never called', () => {
    let calls = 0;
    const count = (): string => { calls++; return 'called'; };
    class Loud {
      toJSON = count;
      toString(): string { return count(); }
      valueOf(): string { return count(); }
      [Symbol.toPrimitive](): string { return count(); }
      [inspect.custom](): string { return count(); }
    }
    const d = snap({ loud: new Loud(), n: 1 });
    assert.equal(calls, 0);
    assert.equal(json(d).includes('called'), false);
    assert.deepEqual((d as unknown as { props: { n: number } }).props.n, 1);
  });

  test('more counts own enumerable keys left out', () => {
    const o: Record<string, number> = {};
    for (let i = 0; i < 10; i++) o[`k${i}`] = i;
    const d = new Snapshotter({ keys: 4 }).value(o) as { props: Record<string, number>; more: number };
    assert.deepEqual(Object.keys(d.props), ['k0', 'k1', 'k2', 'k3']);
    assert.equal(d.more, 6);
  });

  test('an object with 1e5 keys is bounded and fast', () => {
    const o: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) o[`key${i}`] = i;
    const started = performance.now();
    const d = snap(o) as { props: Record<string, number>; more: number };
    const elapsed = performance.now() - started;
    assert.equal(Object.keys(d.props).length, DEFAULT_SNAPSHOT_LIMITS.keys);
    assert.equal(d.more, 100_000 - DEFAULT_SNAPSHOT_LIMITS.keys);
    assert.ok(json(d).length <= DEFAULT_SNAPSHOT_LIMITS.bytes + 200);
    // Reflect.ownKeys of a 1e5-key dictionary dominates (tens of ms); describing stays bounded.
    assert.ok(elapsed < 1500, `took ${elapsed} ms`);
  });

  test('a constructor getter on the prototype is not invoked (class left out)', () => {
    let calls = 0;
    class Account {
      id = 7;
    }
    Object.defineProperty(Account.prototype, 'constructor', { get: () => { calls++; return Account; } });
    assert.deepEqual(snap(new Account()), { $: 'object', props: { id: 7 } });
    assert.equal(calls, 0);
  });

  test('a constructor whose name is a getter: class left out, getter not invoked', () => {
    let calls = 0;
    class Thing {}
    Object.defineProperty(Thing, 'name', { get: () => { calls++; return 'Thing'; } });
    assert.deepEqual(snap(new Thing()), { $: 'object', props: {} });
    assert.equal(calls, 0);
  });
});

describe('Snapshotter: depth and cycles', () => {
  test('containers beyond the depth limit are truncated', () => {
    const d = new Snapshotter({ depth: 2 }).value({ a: { b: { c: 1 } }, l: [[1]], m: { m: new Map([[1, 2]]) }, s: { s: new Set([1]) } });
    assert.deepEqual(d, {
      $: 'object',
      props: {
        a: { $: 'object', props: { b: { $: 'object', truncated: 'depth', keys: 1 } } },
        l: [{ $: 'array', length: 1, truncated: 'depth' }],
        m: { $: 'object', props: { m: { $: 'map', size: 1, truncated: 'depth' } } },
        s: { $: 'object', props: { s: { $: 'set', size: 1, truncated: 'depth' } } },
      },
    });
  });

  test('depthLimit 1 gives a shallow `this`', () => {
    class Service {
      config = { deep: true };
      name = 'svc';
    }
    assert.deepEqual(new Snapshotter().value(new Service(), 1), {
      $: 'object', class: 'Service', props: { config: { $: 'object', truncated: 'depth', keys: 1 }, name: 'svc' },
    });
  });

  test('a 10,000-deep object does not overflow the stack', () => {
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 10_000; i++) deep = { next: deep };
    const d = snap(deep);
    const text = json(d);
    assert.ok(text.includes('"truncated":"depth"'));
    assert.ok(!text.includes('unserializable'));
    const huge = new Snapshotter({ depth: 1_000_000 }).value(deep);
    assert.ok(json(huge).length <= DEFAULT_SNAPSHOT_LIMITS.bytes + 200, 'a huge depth limit is clamped');
  });

  test('cycles through objects, arrays, maps, sets and error causes', () => {
    const o: Record<string, unknown> = { name: 'root' };
    o.self = o;
    assert.deepEqual(snap(o), { $: 'object', props: { name: 'root', self: { $: 'circular', path: '$' } } });

    const a: unknown[] = [1];
    a.push(a);
    assert.deepEqual(snap(a), [1, { $: 'circular', path: '$' }]);

    const nested: Record<string, unknown> = { a: { b: [0, 1, {}] } };
    ((nested.a as { b: unknown[] }).b[2] as Record<string, unknown>).up = nested.a;
    assert.deepEqual(snap(nested), {
      $: 'object',
      props: { a: { $: 'object', props: { b: [0, 1, { $: 'object', props: { up: { $: 'circular', path: '$.a' } } }] } } },
    });

    const m = new Map<unknown, unknown>();
    m.set('me', m);
    m.set(m, 1);
    assert.deepEqual(snap(m), { $: 'map', size: 2, entries: [['me', { $: 'circular', path: '$' }], [{ $: 'circular', path: '$' }, 1]] });

    const holder: Record<string, unknown> = { 'odd key': {} };
    const s = new Set<unknown>([holder]);
    (holder['odd key'] as Record<string, unknown>).back = s;
    assert.deepEqual(snap({ s }), {
      $: 'object',
      props: { s: { $: 'set', size: 1, values: [{ $: 'object', props: { 'odd key': { $: 'object', props: { back: { $: 'circular', path: '$.s' } } } } }] } },
    });

    const e = new Error('loop');
    (e as { cause?: unknown }).cause = e;
    const d = snap(e) as { cause: unknown };
    assert.deepEqual(d.cause, { $: 'circular', path: '$' });
  });

  test('repeated, non-cyclic references are described each time', () => {
    const shared = { x: 1 };
    assert.deepEqual(snap([shared, shared]), [{ $: 'object', props: { x: 1 } }, { $: 'object', props: { x: 1 } }]);
  });
});

describe('Snapshotter: built-in objects', () => {
  test('Map, Set, subclasses, weak collections', () => {
    assert.deepEqual(snap(new Map<unknown, unknown>([['a', 1], [{ k: 1 }, [2]]])), {
      $: 'map', size: 2, entries: [['a', 1], [{ $: 'object', props: { k: 1 } }, [2]]],
    });
    assert.deepEqual(snap(new Set([1, 'x'])), { $: 'set', size: 2, values: [1, 'x'] });
    class Registry extends Map<string, number> {}
    assert.deepEqual(snap(new Registry([['a', 1]])), { $: 'map', class: 'Registry', size: 1, entries: [['a', 1]] });
    const many = new Map(Array.from({ length: 50 }, (_, i) => [i, i]));
    const d = new Snapshotter({ items: 2 }).value(many);
    assert.deepEqual(d, { $: 'map', size: 50, entries: [[0, 0], [1, 1]], more: 48 });
    assert.deepEqual(new Snapshotter({ items: 1 }).value(new Set([1, 2, 3])), { $: 'set', size: 3, values: [1], more: 2 });
    assert.deepEqual(snap(new WeakMap()), { $: 'object', class: 'WeakMap' });
    assert.deepEqual(snap(new WeakSet()), { $: 'object', class: 'WeakSet' });
    assert.deepEqual(snap(new WeakRef({})), { $: 'object', class: 'WeakRef' });
  });

  test('Date and RegExp', () => {
    assert.deepEqual(snap(new Date(Date.UTC(2024, 0, 1))), { $: 'date', iso: '2024-01-01T00:00:00.000Z' });
    assert.deepEqual(snap(new Date(NaN)), { $: 'date', iso: 'Invalid Date' });
    assert.deepEqual(snap(/ab+c/gi), { $: 'regexp', source: 'ab+c', flags: 'gi' });
    assert.deepEqual(snap(/x/dmsuy), { $: 'regexp', source: 'x', flags: 'dmsuy' });
    assert.deepEqual(snap(new RegExp('[a]', 'v')), { $: 'regexp', source: '[a]', flags: 'v' });
  });

  test('RegExp and Date accessors/methods overridden by the program are not used', () => {
    let calls = 0;
    const r = /q/g;
    Object.defineProperty(r, 'global', { get: () => { calls++; return false; } });
    Object.defineProperty(r, 'source', { get: () => { calls++; return 'fake'; } });
    const date = new Date(0);
    Object.defineProperty(date, 'toISOString', { value: () => { calls++; return 'fake'; } });
    patched(RegExp.prototype, 'flags', { get: () => { calls++; return 'zz'; } }, () => {
      patched(Date.prototype, 'getTime', { value: () => { calls++; return 1; }, writable: true }, () => {
        assert.deepEqual(snap([r, date]), [{ $: 'regexp', source: 'q', flags: 'g' }, { $: 'date', iso: '1970-01-01T00:00:00.000Z' }]);
      });
    });
    assert.equal(calls, 0);
  });

  test('typed arrays, Buffer, ArrayBuffer, SharedArrayBuffer, DataView', () => {
    assert.deepEqual(snap(new Uint8Array([1, 2, 3, 4])), { $: 'typedarray', class: 'Uint8Array', length: 4, items: [1, 2, 3, 4] });
    assert.deepEqual(snap(new Float64Array([0.5, NaN, -0])), {
      $: 'typedarray', class: 'Float64Array', length: 3, items: [0.5, { $: 'number', value: 'NaN' }, { $: 'number', value: '-0' }],
    });
    assert.deepEqual(snap(new BigInt64Array([1n, -2n])), { $: 'typedarray', class: 'BigInt64Array', length: 2, items: ['1', '-2'] });
    const long = new Snapshotter({ items: 2 }).value(new Int16Array(10));
    assert.deepEqual(long, { $: 'typedarray', class: 'Int16Array', length: 10, items: [0, 0] });
    assert.deepEqual(snap(Buffer.from([1, 2, 255])), { $: 'buffer', length: 3, hex: '0102ff' });
    const big = snap(Buffer.alloc(1024, 0xab)) as { length: number; hex: string };
    assert.equal(big.length, 1024);
    assert.equal(big.hex, 'ab'.repeat(64));
    assert.deepEqual(snap(new ArrayBuffer(8)), { $: 'arraybuffer', class: 'ArrayBuffer', byteLength: 8 });
    assert.deepEqual(snap(new SharedArrayBuffer(4)), { $: 'arraybuffer', class: 'SharedArrayBuffer', byteLength: 4 });
    assert.deepEqual(snap(new DataView(new ArrayBuffer(6))), { $: 'dataview', byteLength: 6 });
  });

  test('lengths come from intrinsic getters, not overridden instance properties', () => {
    let calls = 0;
    const u = new Uint8Array([7, 8]);
    Object.defineProperty(u, 'length', { get: () => { calls++; return 1e9; } });
    const b = Buffer.from([1]);
    Object.defineProperty(b, 'length', { get: () => { calls++; return 1e9; } });
    assert.deepEqual(snap([u, b]), [{ $: 'typedarray', class: 'Uint8Array', length: 2, items: [7, 8] }, { $: 'buffer', length: 1, hex: '01' }]);
    assert.equal(calls, 0);
  });

  test('detached buffers and views', () => {
    const ab = new ArrayBuffer(8);
    const view = new Uint8Array(ab);
    const dv = new DataView(ab);
    structuredClone(ab, { transfer: [ab] });
    assert.deepEqual(snap([ab, view, dv]), [
      { $: 'arraybuffer', class: 'ArrayBuffer', byteLength: 0 },
      { $: 'typedarray', class: 'Uint8Array', length: 0, items: [] },
      { $: 'dataview', byteLength: 0 },
    ]);
  });

  test('promises, generators, boxed primitives', () => {
    let thens = 0;
    const p = Promise.resolve(1);
    Object.defineProperty(p, 'then', { get: () => { thens++; return undefined; } });
    assert.deepEqual(snap(p), { $: 'promise' });
    assert.equal(thens, 0);
    assert.deepEqual(snap((function* gen() { yield 1; })()), { $: 'generator' });
    assert.deepEqual(snap((async function* agen() { yield 1; })()), { $: 'generator' });
    let calls = 0;
    const n = new Number(3);
    Object.defineProperty(n, 'valueOf', { value: () => { calls++; return 4; } });
    assert.deepEqual(snap(n), { $: 'boxed', value: 3 });
    assert.deepEqual(snap(new String('s')), { $: 'boxed', value: 's' });
    assert.deepEqual(snap(new Boolean(false)), { $: 'boxed', value: false });
    assert.deepEqual(snap(Object(5n)), { $: 'boxed', value: { $: 'bigint', value: '5' } });
    assert.deepEqual(snap(Object(Symbol('b'))), { $: 'boxed', value: { $: 'symbol', description: 'b' } });
    assert.equal(calls, 0);
  });

  test('module namespaces, including a binding still in its TDZ', async () => {
    const ns = await import('node:path');
    const d = snap(ns) as { $: string; keys: string[] };
    assert.equal(d.$, 'module');
    assert.ok(d.keys.includes('join'));

    const dir = mkdtempSync(join(tmpdir(), 'recall-snapshot-'));
    try {
      const file = join(dir, 'self.mjs');
      writeFileSync(file, "import * as self from './self.mjs';\nglobalThis.__recallSnapshotTest(self);\nexport let later = 1;\nexport const other = 2;\n");
      let seen: ValueDesc | undefined;
      (globalThis as Record<string, unknown>).__recallSnapshotTest = (value: unknown) => {
        seen = new Snapshotter().value({ ns: value });
      };
      await import(pathToFileURL(file).href);
      assert.deepEqual(seen, { $: 'object', props: { ns: { $: 'module', keys: ['later', 'other'] } } });
    } finally {
      delete (globalThis as Record<string, unknown>).__recallSnapshotTest;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Snapshotter: errors', () => {
  test('class, name, message, own fields and cause', () => {
    const root = new RangeError('root cause');
    const e = new TypeError('bad thing', { cause: root }) as TypeError & { code?: string; errno?: number };
    e.code = 'E_BAD';
    e.errno = -2;
    const d = snap(e);
    assert.deepEqual(d, {
      $: 'error', class: 'TypeError', name: 'TypeError', message: 'bad thing',
      props: { code: 'E_BAD', errno: -2 },
      cause: { $: 'error', class: 'RangeError', name: 'RangeError', message: 'root cause' },
    });
  });

  test('custom error classes, inherited errors and AggregateError', () => {
    class HttpError extends Error {
      override name = 'HttpError';
      status = 404;
    }
    assert.deepEqual(snap(new HttpError('nope')), { $: 'error', class: 'HttpError', name: 'HttpError', message: 'nope', props: { status: 404 } });
    const fake = Object.create(Error.prototype) as object;
    assert.deepEqual(snap(fake), { $: 'error', class: 'Error', name: 'Error', message: '' });
    const agg = new AggregateError([new Error('a')], 'several');
    assert.deepEqual(snap(agg), {
      $: 'error', class: 'AggregateError', name: 'AggregateError', message: 'several',
      props: { errors: [{ $: 'error', class: 'Error', name: 'Error', message: 'a' }] },
    });
  });

  test('name and message getters are not invoked', () => {
    let calls = 0;
    class Sneaky extends Error {
      override get name(): string { calls++; return 'Sneaky'; }
    }
    const e = new Sneaky('m');
    Object.defineProperty(e, 'message', { get: () => { calls++; return 'x'; }, enumerable: false });
    const d = snap(e) as { name: unknown; message: unknown };
    assert.deepEqual(d.name, { $: 'getter' });
    assert.deepEqual(d.message, { $: 'getter' });
    assert.equal(calls, 0);
  });

  test('errors at the depth limit keep name and message only', () => {
    const d = new Snapshotter({ depth: 1 }).value({ e: Object.assign(new Error('deep'), { code: 1 }) });
    assert.deepEqual(d, { $: 'object', props: { e: { $: 'error', class: 'Error', name: 'Error', message: 'deep', truncated: 'depth' } } });
  });

  // Node 20: `stack` is an own property whose first read (even Object.getOwnPropertyDescriptor)
  // formats it through Error.prepareStackTrace and freezes the header. Newer V8: an own accessor
  // with the same effect. Either way the snapshot must not read it by default.
  test('stack is not read by default: prepareStackTrace never runs, later message edits still show', () => {
    const saved = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
    let calls = 0;
    Error.prepareStackTrace = (error: Error) => {
      calls++;
      return `formatted: ${error.message}`;
    };
    try {
      const e = new Error('first');
      const d = snap(e) as unknown as Record<string, unknown>;
      assert.equal(calls, 0);
      assert.equal('stack' in d, false);
      e.message = 'second';
      assert.equal(e.stack, 'formatted: second', 'the program sees the stack it would have seen untraced');
      assert.equal(calls, 1);
    } finally {
      if (saved) Object.defineProperty(Error, 'prepareStackTrace', saved);
    }
  });

  test('errorStacks opt-in: reads a formatted stack, bounded to 4×string', () => {
    const e = new Error('with stack');
    void e.stack; // formatted already, as after Node printed an uncaught exception
    const d = new Snapshotter({}, {}, { errorStacks: true }).value(e) as { stack: unknown };
    assert.equal(typeof d.stack === 'string' ? d.stack.split('\n')[0] : (d.stack as { head: string }).head.split('\n')[0], 'Error: with stack');
    const long = new Error('x');
    long.stack = 's'.repeat(5000);
    const bounded = new Snapshotter({ string: 10 }, {}, { errorStacks: true }).value(long) as { stack: unknown };
    assert.deepEqual(bounded.stack, { $: 'string', head: 's'.repeat(40), length: 5000 });
  });

  test('errorStacks opt-in: a program-defined stack accessor is never invoked', () => {
    let calls = 0;
    const e = new Error('acc');
    Object.defineProperty(e, 'stack', { get: () => { calls++; return 'fake'; }, configurable: true });
    const d = new Snapshotter({}, {}, { errorStacks: true }).value(e) as unknown as Record<string, unknown>;
    assert.equal('stack' in d, false);
    assert.equal(calls, 0);
  });

  test('an object given a stack by Error.captureStackTrace is not formatted', () => {
    const saved = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
    let calls = 0;
    Error.prepareStackTrace = () => {
      calls++;
      return 'x';
    };
    try {
      const o = { id: 1 };
      Error.captureStackTrace(o);
      assert.deepEqual(snap(o), { $: 'object', props: { id: 1 } });
      assert.equal(calls, 0);
    } finally {
      if (saved) Object.defineProperty(Error, 'prepareStackTrace', saved);
    }
  });
});

describe('Snapshotter: proxies', () => {
  test('a live proxy with hostile traps: no trap ever runs', () => {
    const counter = { n: 0 };
    const target = { secret: 1 };
    const p = hostileProxy(target, counter);
    assert.deepEqual(snap(p), { $: 'proxy' });
    const fn = hostileProxy(function f() {}, counter);
    assert.deepEqual(snap(fn), { $: 'proxy' });
    const arr = hostileProxy([1, 2], counter);
    assert.deepEqual(snap(arr), { $: 'proxy' });
    assert.equal(counter.n, 0);
  });

  test('a revoked proxy', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    assert.deepEqual(snap(proxy), { $: 'proxy' });
    assert.deepEqual(snap([proxy]), [{ $: 'proxy' }]);
  });

  test('proxies nested in objects, as map keys, as prototypes and as constructors', () => {
    const counter = { n: 0 };
    const p = hostileProxy({}, counter);
    const map = new Map([[p, p]]);
    const withProtoProxy = Object.create(hostileProxy({}, counter), { own: { value: 1, enumerable: true } }) as object;
    const errorWithProxyProto = Object.create(hostileProxy(Object.create(Error.prototype) as object, counter)) as object;
    class K {}
    const instance = new K();
    Object.setPrototypeOf(instance, { constructor: hostileProxy(function K2() {}, counter) });
    const d = snap({ p, map, withProtoProxy, errorWithProxyProto, instance, list: [p] });
    assert.deepEqual(d, {
      $: 'object',
      props: {
        p: { $: 'proxy' },
        map: { $: 'map', size: 1, entries: [[{ $: 'proxy' }, { $: 'proxy' }]] },
        withProtoProxy: { $: 'object', props: { own: 1 } },
        errorWithProxyProto: { $: 'object', props: {} },
        instance: { $: 'object', props: {} },
        list: [{ $: 'proxy' }],
      },
    });
    assert.equal(counter.n, 0);
    assert.deepEqual(new Snapshotter().args(['a'], hostileProxy([1], counter)), []);
    assert.equal(counter.n, 0);
  });
});

describe('Snapshotter: a program that monkeypatches built-ins', () => {
  test('Map.prototype.entries, Set.prototype.values and the iterators throw: still serialized', () => {
    const m = new Map([['a', 1]]);
    const s = new Set([2]);
    let calls = 0;
    const boom = (): never => {
      calls++;
      throw new Error('patched');
    };
    const mapIteratorProto = Object.getPrototypeOf(new Map().entries()) as object;
    const setIteratorProto = Object.getPrototypeOf(new Set().values()) as object;
    patched(Map.prototype, 'entries', { value: boom, writable: true }, () => {
      patched(Map.prototype, Symbol.iterator, { value: boom, writable: true }, () => {
        patched(Set.prototype, 'values', { value: boom, writable: true }, () => {
          patched(mapIteratorProto, 'next', { value: boom, writable: true }, () => {
            patched(setIteratorProto, 'next', { value: boom, writable: true }, () => {
              patched(Map.prototype, 'size', { get: boom }, () => {
                assert.deepEqual(snap([m, s]), [{ $: 'map', size: 1, entries: [['a', 1]] }, { $: 'set', size: 1, values: [2] }]);
              });
            });
          });
        });
      });
    });
    assert.equal(calls, 0);
  });

  test('Object.prototype polluted with an enumerable getter and setters for our field names', () => {
    let calls = 0;
    const count = { get: () => { calls++; return 'polluted'; }, set: () => { calls++; }, enumerable: true };
    const many: Record<string, number> = {};
    for (let i = 0; i < 40; i++) many[`k${i}`] = i;
    const input = { a: 1, many, e: Object.assign(new Error('x'), { code: 1 }) };
    let d: Record<string, unknown> = {};
    let text = '';
    patched(Object.prototype, 'polluted', count, () => {
      patched(Object.prototype, '$', count, () => {
        patched(Object.prototype, 'props', count, () => {
          patched(Object.prototype, 'more', count, () => {
            patched(Object.prototype, 'get', count, () => {
              patched(Object.prototype, 'value', count, () => {
                d = snap(input) as unknown as Record<string, unknown>;
                text = JSON.stringify(d);
              });
            });
          });
        });
      });
    });
    assert.equal(calls, 0);
    assert.ok(Object.prototype.hasOwnProperty.call(d, '$'));
    assert.ok(!text.includes('polluted'), text);
    assert.ok(text.includes('"more":8'), text);
  });

  test('Array.prototype push/iterator/index setters, String and Reflect methods patched', () => {
    let calls = 0;
    const boom = (): never => {
      calls++;
      throw new Error('patched');
    };
    const setter = { set: boom, get: boom };
    const s = new Snapshotter({ string: 12 });
    const input = { list: [1, 2, 3], m: new Map([['token', 'x']]), long: 'abcdefghijklmnop', [Symbol('k')]: 1 };
    let d: ValueDesc | undefined;
    let list: ValueDesc[] | undefined;
    patched(Array.prototype, 'push', { value: boom, writable: true }, () => {
      patched(Array.prototype, Symbol.iterator, { value: boom, writable: true }, () => {
        patched(Array.prototype, 0, setter, () => {
          patched(Array.prototype, 1, setter, () => {
            patched(String.prototype, 'slice', { value: boom, writable: true }, () => {
              patched(String.prototype, 'indexOf', { value: boom, writable: true }, () => {
                patched(String.prototype, 'charCodeAt', { value: boom, writable: true }, () => {
                  patched(Reflect, 'ownKeys', { value: boom, writable: true }, () => {
                    patched(Object, 'getOwnPropertyDescriptor', { value: boom, writable: true }, () => {
                      patched(Symbol.prototype, 'description', { get: boom }, () => {
                        d = s.value(input);
                        list = s.args(['password', 'x'], ['p', 'y']);
                      });
                    });
                  });
                });
              });
            });
          });
        });
      });
    });
    assert.equal(calls, 0);
    assert.deepEqual(d, {
      $: 'object',
      props: {
        list: [1, 2, 3],
        m: { $: 'map', size: 1, entries: [['token', '[redacted]']] },
        long: { $: 'string', head: 'abcdefghijkl', length: 16 },
        '[Symbol(k)]': 1,
      },
    });
    assert.deepEqual(list, ['[redacted]', 'y']);
  });

  test('Buffer.isBuffer and Symbol.hasInstance replaced: buffers still recognised, nothing called', () => {
    let calls = 0;
    const saved = Buffer.isBuffer;
    Buffer.isBuffer = ((_: unknown): boolean => { calls++; return false; }) as typeof Buffer.isBuffer;
    try {
      patched(Buffer, Symbol.hasInstance, { value: () => { calls++; return false; } }, () => {
        assert.deepEqual(snap(Buffer.from('hi')), { $: 'buffer', length: 2, hex: '6869' });
      });
    } finally {
      Buffer.isBuffer = saved;
    }
    assert.equal(calls, 0);
  });
});

describe('Snapshotter: leaves no trace in the program', () => {
  test('no global or object state changes: RegExp legacy statics, lastIndex, iteration, extensibility', () => {
    /(ab)c/.exec('xabc');
    const r = /x/g;
    r.lastIndex = 3;
    const m = new Map([[1, 2], [3, 4]]);
    const iterator = m.entries();
    iterator.next();
    const sealed = Object.seal({ a: 'line\n"quoted"' });
    const e = new Error('kept');
    snap({ r, m, iterator, sealed, e, s: 'with "quotes" and\nnewlines and a PRIVATE KEY----- marker', list: [r, m] });
    assert.equal(RegExp.$1, 'ab');
    assert.equal(RegExp.lastMatch, 'abc');
    assert.equal(r.lastIndex, 3);
    assert.deepEqual(iterator.next().value, [3, 4], 'a live iterator of the program is not advanced');
    assert.ok(Object.isSealed(sealed));
    assert.ok(Object.isExtensible(e));
    assert.deepEqual(Object.keys(e), []);
  });
});

describe('Snapshotter: size bounds', () => {
  test('a 10 MB string is bounded and not copied', () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    snap(big); // the first read flattens the rope 'repeat' built: V8's cost, once
    const started = performance.now();
    for (let i = 0; i < 100; i++) snap(big);
    const elapsed = (performance.now() - started) / 100;
    const d = snap(big) as { $: string; head: string; length: number };
    assert.equal(d.$, 'string');
    assert.equal(d.length, big.length);
    assert.equal(d.head.length, DEFAULT_SNAPSHOT_LIMITS.string);
    assert.ok(json(d).length < DEFAULT_SNAPSHOT_LIMITS.string + 100);
    assert.ok(elapsed < 1, `${elapsed} ms per snapshot (a copy or full scan of 10 MB costs more)`);
  });

  test('strings are shortened to fit what is left of the byte budget', () => {
    const s = new Snapshotter({ bytes: 300, string: 1000 });
    const d = s.value(['y'.repeat(200), 'z'.repeat(200)]);
    const text = json(d);
    assert.ok(text.length <= 300, `${text.length}`);
    assert.ok(text.includes('"head":"zz'), text);
  });

  test('when the budget runs out, values are elided and containers count what they left out', () => {
    const s = new Snapshotter({ bytes: 200, keys: 100 });
    const o: Record<string, string> = {};
    for (let i = 0; i < 50; i++) o[`field${i}`] = 'value';
    const d = s.value(o) as { props: Record<string, unknown>; more: number };
    assert.ok(json(d).length <= 200, json(d));
    assert.equal(Object.keys(d.props).length + d.more, 50);
    assert.ok(d.more > 0);
    const arr = s.value(Array.from({ length: 80 }, () => 'v'.repeat(20)), 1) as { items: unknown[]; more: number };
    assert.ok(json(arr).length <= 200);
    assert.equal(arr.items.length + arr.more, 80);
    assert.deepEqual(new Snapshotter({ bytes: 0 }).value({ a: 1 }), { $: 'elided' });
  });

  test('args share one budget; the tail marker says how many values it stands for', () => {
    const s = new Snapshotter({ bytes: 100 });
    const values = Array.from({ length: 20 }, (_, i) => `argument-${i}`);
    const d = s.args([], values);
    assert.ok(json(d).length <= 100 + 40, json(d));
    const last = d[d.length - 1] as { $: string; more: number };
    assert.equal(last.$, 'elided');
    assert.equal(d.length - 1 + last.more, 20);
    assert.deepEqual(new Snapshotter().args(['a', 'b', 'c'], [1]), [1]);
    assert.deepEqual(new Snapshotter().args(['a'], [1, 2]), [1, 2], 'values beyond the names are still described');
  });

  test('args reads arguments objects and sparse arrays without the prototype', () => {
    const s = new Snapshotter();
    function capture(..._rest: unknown[]): ValueDesc[] {
      // eslint-disable-next-line prefer-rest-params
      return s.args(['a', 'b'], arguments);
    }
    assert.deepEqual(capture('x', { y: 1 }), ['x', { $: 'object', props: { y: 1 } }]);
    // eslint-disable-next-line no-sparse-arrays
    assert.deepEqual(s.args(['a', 'b', 'c'], [1, , 3]), [1, { $: 'undefined' }, 3]);
  });
});

describe('Snapshotter: redaction', () => {
  test('the default keys', () => {
    assert.ok(DEFAULT_REDACT_KEYS.includes('password'));
    const s = new Snapshotter();
    for (const key of ['password', 'accessToken', 'x-api-key', 'Set-Cookie', 'AWS_SECRET_ACCESS_KEY', 'refresh_token', 'Authorization', 'client_secret', 'db.passwd', 'sessionId', 'PRIVATE_KEY', 'userCredentials']) {
      assert.ok(s.redacts(key), key);
    }
    for (const key of ['user', 'name', 'author', 'id', 'session', 'keyboard']) assert.equal(s.redacts(key), false, key);
  });

  test('{ user, password } keeps the user, hides the password', () => {
    const d = snap({ user: 'ann', password: 'hunter2' });
    assert.deepEqual(d, { $: 'object', props: { user: 'ann', password: '[redacted]' } });
    assert.ok(!JSON.stringify(d).includes('hunter2'));
  });

  test('nested headers, map keys, error props, symbol keys', () => {
    const d = snap({
      headers: { Authorization: 'Bearer abc', cookie: 'a=b', accept: '*/*' },
      cache: new Map<unknown, unknown>([['token', 'tok-1'], ['plain', 'ok'], [{ token: 'k' }, 'objkey']]),
      err: Object.assign(new Error('x'), { apiKey: 'k-1' }),
      [Symbol('secret')]: 's-1',
      accessor: Object.defineProperty({}, 'password', { get: () => 'never', enumerable: true }),
    });
    const text = JSON.stringify(d);
    for (const secret of ['Bearer abc', 'a=b', 'tok-1', 'k-1', 's-1', 'never']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.ok(text.includes('*/*'));
    assert.ok(text.includes('"ok"'));
    assert.ok(text.includes('objkey'), 'only string map keys redact their values');
    assert.deepEqual((d as unknown as { props: { headers: unknown } }).props.headers, {
      $: 'object', props: { Authorization: '[redacted]', cookie: '[redacted]', accept: '*/*' },
    });
  });

  test('args: a redacted parameter is not looked at', () => {
    let calls = 0;
    const hostile = hostileProxy({}, { get n() { return 0; }, set n(_v) { calls++; } });
    const s = new Snapshotter();
    assert.deepEqual(s.args(['user', 'password'], ['ann', 'hunter2']), ['ann', '[redacted]']);
    assert.deepEqual(s.args(['user', 'token'], ['ann', hostile]), ['ann', '[redacted]']);
    assert.equal(calls, 0);
  });

  test('PEM private keys anywhere are redacted', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n';
    assert.equal(snap(pem), '[redacted]');
    const d = snap({ config: { tls: [`prefix ${pem}`] }, note: 'x'.repeat(300) + pem });
    const text = JSON.stringify(d);
    assert.ok(!text.includes('MIIEow'), text);
    assert.ok(!text.includes('PRIVATE KEY'), text);
    const huge = pem + 'y'.repeat(1_000_000);
    assert.equal(snap(huge), '[redacted]');
    assert.equal(snap('-----BEGIN PUBLIC KEY-----\nabc'), '-----BEGIN PUBLIC KEY-----\nabc');
    // Only the kept head plus a bounded window is searched: a marker 1 MB in cannot be in the head.
    const far = snap('z'.repeat(1_000_000) + pem) as { $: string; head: string; length: number };
    assert.equal(far.$, 'string');
    assert.equal(far.head, 'z'.repeat(DEFAULT_SNAPSHOT_LIMITS.string));
  });

  test('user keys add to the defaults, normalized', () => {
    const s = new Snapshotter({}, { keys: ['ssn', 'X-Internal'] });
    assert.deepEqual(s.value({ ssn: '123-45', user_SSN: '1', xinternal: 2, password: 'p', name: 'n' }), {
      $: 'object', props: { ssn: '[redacted]', user_SSN: '[redacted]', xinternal: '[redacted]', password: '[redacted]', name: 'n' },
    });
    assert.equal(new Snapshotter({}, { keys: ['---'] }).redacts('anything'), false, 'an empty normalized key matches nothing');
  });

  test('enabled: false keeps everything', () => {
    const s = new Snapshotter({}, { enabled: false });
    const pem = '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----';
    assert.deepEqual(s.value({ password: 'hunter2', key: pem }), { $: 'object', props: { password: 'hunter2', key: pem } });
    assert.deepEqual(s.args(['password'], ['hunter2']), ['hunter2']);
    assert.equal(s.redacts('password'), false);
  });
});

describe('Snapshotter: never throws, stays within bytes (fuzzed)', () => {
  const rng = mulberry32;

  /** Nodes still allowed in the value being built (keeps each value small enough to build). */
  let nodes = 0;

  function randomValue(next: () => number, depth: number, pool: object[]): unknown {
    nodes--;
    const pick = Math.floor(next() * (depth > 6 || nodes <= 0 ? 12 : 24));
    const n = Math.floor(next() * (depth === 0 ? 60 : 12));
    switch (pick) {
      case 0: return n;
      case 1: return next() < 0.5 ? -0 : NaN;
      case 2: return 'é"\\\n\u0001'.repeat(n);
      case 3: return 'a'.repeat(n * n * 3);
      case 4: return BigInt(n) ** 40n;
      case 5: return Symbol(String(n));
      case 6: return undefined;
      case 7: return null;
      case 8: return '😀'.repeat(n);
      case 9: return next() < 0.5;
      case 10: return pool.length > 0 ? pool[Math.floor(next() * pool.length)] : {};
      case 11: return new Date(n * 1e10);
      case 12: case 13: case 14: {
        const o: Record<string, unknown> = {};
        pool.push(o);
        for (let i = 0; i < n; i++) o[i % 7 === 0 ? `password${i}` : `k"${i}\u0000`] = randomValue(next, depth + 1, pool);
        return o;
      }
      case 15: case 16: {
        const a: unknown[] = [];
        pool.push(a);
        for (let i = 0; i < n; i++) a.push(randomValue(next, depth + 1, pool));
        if (next() < 0.2) a.length += 3;
        return a;
      }
      case 17: {
        const m = new Map<unknown, unknown>();
        pool.push(m);
        for (let i = 0; i < n; i++) m.set(randomValue(next, depth + 1, pool), randomValue(next, depth + 1, pool));
        return m;
      }
      case 18: {
        const s = new Set<unknown>();
        pool.push(s);
        for (let i = 0; i < n; i++) s.add(randomValue(next, depth + 1, pool));
        return s;
      }
      case 19: {
        const e = new Error('m'.repeat(n * 10), { cause: randomValue(next, depth + 1, pool) });
        (e as unknown as Record<string, unknown>).extra = randomValue(next, depth + 1, pool);
        return e;
      }
      case 20: return new Uint16Array(n * 3);
      case 21: return Buffer.alloc(n * 5, n);
      case 22: return new Proxy({}, {});
      default: return function fuzzed() {};
    }
  }

  test('a few hundred random nested values: valid JSON, within bytes + 200, renderable', () => {
    const next = rng(20240601);
    for (let round = 0; round < 400; round++) {
      const bytes = [0, 20, 64, 200, 1000, 4096][round % 6] as number;
      const s = new Snapshotter({ bytes, depth: 1 + (round % 6), keys: 1 + (round % 40), items: 1 + (round % 35), string: 1 + ((round * 7) % 300) });
      nodes = 3000;
      const value = randomValue(next, 0, []);
      const d = s.value(value);
      const text = JSON.stringify(d);
      assert.ok(text.length <= bytes + 200, `round ${round}: ${text.length} > ${bytes} + 200`);
      assert.deepEqual(JSON.parse(text), d, `round ${round}: not plain JSON`);
      assert.ok(!text.includes('"unserializable"'), `round ${round}: ${text}`);
      const rendered = renderValue(d, 80);
      assert.ok(rendered.length <= 80);
      nodes = 300;
      const list = s.args(['a', 'password', 'c'], [value, value, randomValue(next, 0, []), value]);
      const listText = JSON.stringify(list);
      assert.ok(listText.length <= bytes + 200, `round ${round}: args ${listText.length}`);
      assert.deepEqual(JSON.parse(listText), list);
    }
  });
});
