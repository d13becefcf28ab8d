// Scheduling links: which call scheduled a callback, and where that callback ran. setTimeout,
// setInterval, setImmediate (the `timers` module's exports, the `node:timers` ESM exports and the
// globals, which are the same functions), process.nextTick and queueMicrotask are replaced by
// wrappers that, while this thread records, record EXT_SCHEDULE (aux = a per-thread link id) at
// the call and hand Node a wrapped callback that records EXT_CALLBACK before the program's
// callback and EXT_CALLBACK_END after it (try/finally: a throw passes through untouched). An
// interval's every run gets its own CALLBACK/END pair with the same id.
//
// What the program can observe stays as it was: the same return values (the real Timeout and
// Immediate objects, so ref/unref/hasRef/refresh/Symbol.toPrimitive and clear* work), the
// callback's `this` and arguments, the functions' name and length, their
// util.promisify.custom (util.promisify(setTimeout) still gives timers/promises' version), the
// globals' property attributes, Node's own errors for a callback that is not a function (passed
// straight through). Error.stack is kept as untraced by the stack-trace formatter, which hides
// the wrapper frames (hideFramesOf) and names a timer callback's frame as Node would have
// (`Timeout._onTimeout`). Not hidden: a timer's internal `_onTimeout`/`_onImmediate` field
// holds the wrapper. Node-internal modules loaded after this (http, net, ...) take the
// wrapped functions too, so their timers are linked like the program's.

import { createRequire, syncBuiltinESMExports } from 'node:module';
import { EXT_CALLBACK, EXT_CALLBACK_END, EXT_SCHEDULE } from '../format/layout.js';
import { noopProbes, type Probes } from './recorder.js';
import { hideFramesOf } from './stack-traces.js';

type Global = typeof globalThis & { __recall: Probes };
type Fn = (...args: unknown[]) => unknown;

const g = globalThis as Global;

/** Per-thread link ids (u32, from 1). */
let lastLink = 0;

/**
 * The callback Node will call in place of `callback`: records the schedule now and the run
 * around each call. While this thread is not recording, the callback itself (nothing to link).
 */
function linked(callback: Fn): Fn {
  const recorder = g.__recall;
  if (recorder === noopProbes || recorder === undefined) return callback;
  const id = (lastLink = (lastLink + 1) >>> 0 || 1);
  // One clock read per link: the callback's start. The schedule and the end carry the thread's
  // last clock read (untimed records): what happens between is timed by the calls themselves.
  recorder.eu(EXT_SCHEDULE, id);
  return function recallScheduled(this: unknown): unknown {
    g.__recall.ext(EXT_CALLBACK, id);
    try {
      return Reflect.apply(callback, this, arguments);
    } finally {
      g.__recall.eu(EXT_CALLBACK_END, id);
    }
  };
}

/** Give `wrapper` the original's name, length and own extras (util.promisify.custom). */
function lookAlike<T extends Fn>(wrapper: T, original: Fn): T {
  for (const key of Reflect.ownKeys(original)) {
    if (key === 'prototype') continue;
    const descriptor = Object.getOwnPropertyDescriptor(original, key);
    if (descriptor === undefined) continue;
    try {
      Object.defineProperty(wrapper, key, descriptor);
    } catch {
      // a non-configurable own property of the wrapper: leave it
    }
  }
  return wrapper;
}

/** setTimeout / setInterval / setImmediate / nextTick: the callback is the first argument. */
function wrapFirstArgument(original: Fn): Fn {
  const wrapper = function (this: unknown, callback: unknown): unknown {
    if (typeof callback !== 'function') return Reflect.apply(original, this, arguments);
    const fn = linked(callback as Fn);
    switch (arguments.length) {
      case 1:
        return original.call(this, fn);
      case 2:
        return original.call(this, fn, arguments[1]);
      case 3:
        return original.call(this, fn, arguments[1], arguments[2]);
      default: {
        const args = Array.prototype.slice.call(arguments) as unknown[];
        args[0] = fn;
        return Reflect.apply(original, this, args);
      }
    }
  };
  return lookAlike(wrapper, original);
}

/** Replace `target[key]` keeping its property attributes; returns the replacement. */
function replace(target: object, key: string, replacement: Fn): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor === undefined || !('value' in descriptor)) return;
  Object.defineProperty(target, key, { ...descriptor, value: replacement });
}

export function installScheduling(): void {
  hideFramesOf(import.meta.url);
  const require = createRequire(import.meta.url);
  const timers = require('node:timers') as Record<string, Fn>;
  const global = globalThis as unknown as Record<string, Fn>;
  for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
    const original = timers[name];
    if (typeof original !== 'function') continue;
    const wrapper = wrapFirstArgument(original);
    replace(timers, name, wrapper);
    // The globals are the timers module's functions: keep them identical.
    if (global[name] === original) replace(global, name, wrapper);
  }
  syncBuiltinESMExports();
  const nextTick = process.nextTick as unknown as Fn;
  replace(process, 'nextTick', wrapFirstArgument(nextTick));
  const queueMicrotask = global.queueMicrotask;
  if (typeof queueMicrotask === 'function') replace(global, 'queueMicrotask', wrapFirstArgument(queueMicrotask));
}
