// The walk (walk.ts) against an oracle: the walk as recall summary did it before the fast
// loops (copied verbatim from src/analysis/summary.ts at 2ade26d, below), on seeded random
// record streams with every kind of record — timed and untimed calls, lost exits, throws,
// suspend/resume by serial, drop markers, runtime events, ids past the function table, deep
// stacks — cut into random chunks. The JavaScript loop and the WebAssembly kernel must both give
// exactly the oracle's numbers (the same doubles, not just close ones).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EV_RESUME, EV_SUSPEND, EV_THROW, FN_MASK, KIND_MASK, KIND_SHIFT, RECORD_WORDS, UNTIMED_FLAG } from '../format/layout.js';
import { ESTIMATE_SAMPLE_CAP_MS, Space } from './kernel.js';
import {
  ACC_STRIDE,
  A_CALLS,
  A_ESTIMATED,
  A_SELF,
  A_THROWS,
  A_TIMED_CALLS,
  A_TIMED_SUM,
  A_TOTAL,
  A_UNFINISHED,
  A_UNTIMED,
  ThreadWalker,
  accumulator,
  addSums,
  warmUpWalk,
  type ThreadWalk,
} from './walk.js';
import { mulberry32 } from '../format/mulberry32.js';

interface OracleChunk {
  u32: Uint32Array;
  f64: Float64Array;
  count: number;
}

// ---- the oracle (2ade26d) ------------------------------------------------------------------

interface OracleAccumulator {
  calls: Float64Array;
  total: Float64Array;
  self: Float64Array;
  throws: Float64Array;
  unfinished: Float64Array;
  /** Calls recorded without timestamps, and the time estimated for them (ms). */
  untimed: Float64Array;
  estimated: Float64Array;
  /** Fully timed, completed frames and their summed self time (ms): the basis of estimates. */
  timedCalls: Float64Array;
  timedSum: Float64Array;
}

function oracleAccumulator(size: number): OracleAccumulator {
  return {
    calls: new Float64Array(size),
    total: new Float64Array(size),
    self: new Float64Array(size),
    throws: new Float64Array(size),
    unfinished: new Float64Array(size),
    untimed: new Float64Array(size),
    estimated: new Float64Array(size),
    timedCalls: new Float64Array(size),
    timedSum: new Float64Array(size),
  };
}

interface SuspendedFrame {
  fn: number;
  acc: number;
}

interface OracleWalk {
  events: number;
  droppedFromMarkers: number;
  firstMs: number;
  lastMs: number;
  maxDepth: number;
}

/**
 * One thread's call stack while its records are walked: typed-array columns and plain fields,
 * so the per-record work stays in registers (closures over reassigned locals cost ~3× here).
 */
class FrameStack {
  fn = new Int32Array(256);
  start = new Float64Array(256);
  child = new Float64Array(256);
  carried = new Float64Array(256);
  serial = new Float64Array(256);
  /** 1 when an untimed frame ran beneath this one: its self time rests on estimates. */
  estimated = new Uint8Array(256);
  depth = 0;
  maxDepth = 0;
  readonly active: Int32Array;
  readonly size: number;

  constructor(private readonly acc: OracleAccumulator) {
    this.size = acc.calls.length;
    this.active = new Int32Array(this.size);
  }

  private grow(): void {
    const capacity = this.fn.length * 2;
    const fn = new Int32Array(capacity);
    fn.set(this.fn);
    this.fn = fn;
    const grow64 = (old: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const next = new Float64Array(capacity);
      next.set(old);
      return next;
    };
    this.start = grow64(this.start);
    this.child = grow64(this.child);
    this.carried = grow64(this.carried);
    this.serial = grow64(this.serial);
    const estimated = new Uint8Array(capacity);
    estimated.set(this.estimated);
    this.estimated = estimated;
  }

  push(fn: number, t: number, serial: number, carried: number): void {
    const d = this.depth;
    if (d === this.fn.length) this.grow();
    this.fn[d] = fn;
    this.start[d] = t;
    this.child[d] = 0;
    this.carried[d] = carried;
    this.serial[d] = serial;
    this.estimated[d] = 0;
    this.depth = d + 1;
    if (d + 1 > this.maxDepth) this.maxDepth = d + 1;
    if (fn < this.size) this.active[fn] = (this.active[fn] as number) + 1;
  }

  /**
   * Pop the top frame at time t; returns its accumulated time on the stack. A frame entered
   * without a timestamp (start NaN) is given its callees' time plus its function's mean self
   * time over fully timed calls (frames with no untimed frame beneath them), counted as estimated.
   */
  pop(t: number): number {
    const acc = this.acc;
    const d = this.depth - 1;
    this.depth = d;
    const fn = this.fn[d] as number;
    const start = this.start[d] as number;
    const child = this.child[d] as number;
    const timed = start === start;
    let segment: number;
    let self: number;
    if (timed) {
      segment = t - start;
      self = segment - child;
    } else {
      const samples = fn < this.size ? (acc.timedCalls[fn] as number) : 0;
      self = samples > 0 ? Math.max(0, (acc.timedSum[fn] as number) / samples) : 0;
      segment = child + self;
      if (fn < this.size) acc.estimated[fn] = (acc.estimated[fn] as number) + self;
    }
    const frameTotal = (this.carried[d] as number) + segment;
    if (fn < this.size) {
      acc.self[fn] = (acc.self[fn] as number) + self;
      this.active[fn] = (this.active[fn] as number) - 1;
      if (timed && this.estimated[d] === 0) {
        acc.timedCalls[fn] = (acc.timedCalls[fn] as number) + 1;
        // Each call adds at most the cap to the basis of estimates (a held call must not set them).
        acc.timedSum[fn] = (acc.timedSum[fn] as number) + Math.min(self, ESTIMATE_SAMPLE_CAP_MS);
      }
    }
    if (d > 0) {
      this.child[d - 1] = (this.child[d - 1] as number) + segment;
      if (!timed || this.estimated[d] === 1) this.estimated[d - 1] = 1;
    }
    return frameTotal;
  }

  /** Pop and count the frame's time once per outermost activation (recursion is not double-counted). */
  finish(t: number): void {
    const fn = this.fn[this.depth - 1] as number;
    const frameTotal = this.pop(t);
    if (fn < this.size && this.active[fn] === 0) this.acc.total[fn] = (this.acc.total[fn] as number) + frameTotal;
  }

  /** Forget every open frame without crediting time (the stack is unknown across a gap). */
  forget(): void {
    while (this.depth > 0) {
      this.depth--;
      const open = this.fn[this.depth] as number;
      if (open < this.size) this.active[open] = (this.active[open] as number) - 1;
    }
  }
}

/** Walk one thread's records, adding into `acc` (indexed by function id). Times in ms. */
function oracleWalk(chunks: OracleChunk[], acc: OracleAccumulator): OracleWalk {
  const stack = new FrameStack(acc);
  const size = stack.size;
  const calls = acc.calls;
  const untimedCalls = acc.untimed;
  const throws = acc.throws;
  const suspended = new Map<number, SuspendedFrame>();
  let events = 0;
  let droppedFromMarkers = 0;
  let firstMs = Infinity;
  let lastMs = -Infinity;

  for (const chunk of chunks) {
    const u32 = chunk.u32;
    const f64 = chunk.f64;
    const n = chunk.count;
    if (n > 0) {
      if ((f64[1] as number) < firstMs) firstMs = f64[1] as number;
      const last = f64[(n - 1) * 2 + 1] as number;
      if (last > lastMs) lastMs = last;
    }
    for (let r = 0; r < n; r++) {
      const head = u32[r * RECORD_WORDS] as number;
      const kind = (head >>> KIND_SHIFT) & KIND_MASK;
      const fn = head & FN_MASK;
      const t = f64[r * 2 + 1] as number;
      if (kind === EV_ENTER) {
        events++;
        const untimed = head >>> 31 === 1;
        if (fn < size) {
          calls[fn] = (calls[fn] as number) + 1;
          if (untimed) untimedCalls[fn] = (untimedCalls[fn] as number) + 1;
        }
        stack.push(fn, untimed ? NaN : t, u32[r * RECORD_WORDS + 1] as number, 0);
      } else if (kind === EV_EXIT || kind === EV_THROW) {
        events++;
        if (kind === EV_THROW && fn < size) throws[fn] = (throws[fn] as number) + 1;
        const depth = stack.depth;
        if (depth === 0) continue; // its enter was lost (drops) or happened before recording
        if (stack.fn[depth - 1] !== fn) {
          // Exits were lost: unwind to the matching frame if there is one.
          let match = depth - 1;
          while (match >= 0 && stack.fn[match] !== fn) match--;
          if (match < 0) continue;
          while (stack.depth - 1 > match) stack.finish(t);
        }
        stack.finish(t);
      } else if (kind === EV_SUSPEND) {
        events++;
        const depth = stack.depth;
        if (depth === 0 || stack.fn[depth - 1] !== fn) continue;
        const serial = stack.serial[depth - 1] as number;
        suspended.set(serial, { fn, acc: stack.pop(t) });
      } else if (kind === EV_RESUME) {
        events++;
        const serial = u32[r * RECORD_WORDS + 1] as number;
        const frame = suspended.get(serial);
        if (frame) suspended.delete(serial);
        stack.push(fn, t, serial, frame ? frame.acc : 0);
      } else if (kind === EV_DROPPED) {
        droppedFromMarkers += u32[r * RECORD_WORDS + 1] as number;
        stack.forget();
      } else {
        events++;
      }
    }
  }
  // Frames still open when the recording ended: count them up to the thread's last event.
  while (stack.depth > 0) {
    const fn = stack.fn[stack.depth - 1] as number;
    if (fn < size) acc.unfinished[fn] = (acc.unfinished[fn] as number) + 1;
    stack.finish(lastMs);
  }
  for (const frame of suspended.values()) {
    if (frame.fn < size) {
      acc.unfinished[frame.fn] = (acc.unfinished[frame.fn] as number) + 1;
      if (stack.active[frame.fn] === 0) acc.total[frame.fn] = (acc.total[frame.fn] as number) + frame.acc;
    }
  }
  return { events, droppedFromMarkers, firstMs, lastMs, maxDepth: stack.maxDepth };
}


// ---- random record streams -----------------------------------------------------------------

const random = mulberry32;

type Record = [head: number, aux: number, time: number];

/**
 * A plausible, damaged-here-and-there event stream: calls nest, some exits are lost, some
 * frames suspend and resume later, drop markers cut the stack, ids sometimes lie past `size`.
 * `integerTimes`: times advance by whole milliseconds (sums then stay exact in any order).
 */
function stream(seed: number, length: number, size: number, integerTimes = false): Record[] {
  const next = random(seed);
  const pick = (n: number): number => Math.floor(next() * n);
  const out: Record[] = [];
  const stack: { fn: number; untimed: boolean; serial: number }[] = [];
  const suspended: { fn: number; serial: number }[] = [];
  let t = next() * 10;
  let serial = 1;
  const deep = next() < 0.2; // sometimes a deep recursion, past the initial stack room
  const untimedShare = [0, 0.3, 0.9][pick(3)] as number;
  while (out.length < length) {
    t += integerTimes ? pick(3) : next() < 0.1 ? 0 : next() * 0.01;
    const clock = (untimed: boolean): number => (untimed ? out.at(-1)?.[2] ?? 0 : t);
    const r = next();
    const fn = next() < 0.03 ? size + pick(3) : pick(size); // sometimes not in the table
    if (deep && out.length < length / 2) {
      out.push([((EV_ENTER << KIND_SHIFT) | 7) >>> 0, 0, t]);
      stack.push({ fn: 7, untimed: false, serial: 0 });
    } else if (r < 0.4 || stack.length === 0) {
      const untimed = next() < untimedShare;
      const async = next() < 0.15;
      const s = async ? serial++ : 0;
      out.push([(((EV_ENTER << KIND_SHIFT) | fn) | (untimed ? UNTIMED_FLAG : 0)) >>> 0, s, clock(untimed)]);
      stack.push({ fn, untimed, serial: s });
    } else if (r < 0.8) {
      // Exit the top frame (or, rarely, one further down: the exits between were lost).
      let depth = stack.length - 1;
      if (next() < 0.05) depth = pick(stack.length);
      const frame = stack[depth]!;
      stack.length = depth;
      const kind = next() < 0.1 ? EV_THROW : EV_EXIT;
      out.push([(((kind << KIND_SHIFT) | frame.fn) | (frame.untimed ? UNTIMED_FLAG : 0)) >>> 0, 0, clock(frame.untimed)]);
    } else if (r < 0.87) {
      const top = stack.at(-1)!;
      if (top.serial !== 0) {
        stack.pop();
        out.push([((EV_SUSPEND << KIND_SHIFT) | top.fn) >>> 0, top.serial, t]);
        suspended.push(top);
      } else {
        out.push([((EV_EXT << KIND_SHIFT) | (1 + pick(15))) >>> 0, pick(100), t]);
      }
    } else if (r < 0.94 && suspended.length > 0) {
      const frame = suspended.splice(pick(suspended.length), 1)[0]!;
      out.push([((EV_RESUME << KIND_SHIFT) | frame.fn) >>> 0, frame.serial, t]);
      stack.push({ fn: frame.fn, untimed: false, serial: frame.serial });
    } else if (r < 0.95) {
      out.push([(EV_DROPPED << KIND_SHIFT) >>> 0, 1 + pick(50), t]);
      stack.length = 0;
    } else if (r < 0.97) {
      // An exit nothing matches, or a resume nobody suspended.
      const kind = next() < 0.5 ? EV_EXIT : EV_RESUME;
      out.push([((kind << KIND_SHIFT) | fn) >>> 0, serial + 1000, t]);
      if (kind === EV_RESUME) stack.push({ fn, untimed: false, serial: serial + 1000 });
    } else {
      out.push([((EV_EXT << KIND_SHIFT) | (1 + pick(15))) >>> 0, pick(100), t]);
    }
  }
  return out.slice(0, length);
}

/** The records in one buffer, cut into chunks of random sizes (some empty). */
function chunked(records: Record[], seed: number): { u32: Uint32Array; f64: Float64Array; chunks: { word: number; count: number }[] } {
  const u32 = new Uint32Array(records.length * RECORD_WORDS + 4);
  const f64 = new Float64Array(u32.buffer);
  records.forEach(([head, aux, time], i) => {
    u32[i * 4] = head;
    u32[i * 4 + 1] = aux;
    f64[i * 2 + 1] = time;
  });
  const next = random(seed);
  const chunks: { word: number; count: number }[] = [];
  for (let at = 0; at < records.length; ) {
    const count = Math.min(records.length - at, next() < 0.1 ? 0 : 1 + Math.floor(next() * 300));
    chunks.push({ word: at * 4, count });
    at += count;
  }
  return { u32, f64, chunks };
}

const COLUMNS = [
  ['calls', A_CALLS],
  ['total', A_TOTAL],
  ['self', A_SELF],
  ['throws', A_THROWS],
  ['unfinished', A_UNFINISHED],
  ['untimed', A_UNTIMED],
  ['estimated', A_ESTIMATED],
  ['timedCalls', A_TIMED_CALLS],
  ['timedSum', A_TIMED_SUM],
] as const;

function walkNew(records: Record[], size: number, seed: number, wasm: boolean, priors: Float64Array<ArrayBuffer> | null): { walk: ThreadWalk; acc: Float64Array } {
  const { u32, f64, chunks } = chunked(records, seed);
  const walker = new ThreadWalker(size, priors, new Space(0, wasm));
  for (const chunk of chunks) walker.records(u32, f64, chunk.word, chunk.count);
  const walk = walker.end();
  // The sums back as one dense row per function, as the oracle has them.
  const sums = walker.sums();
  const acc = accumulator(size);
  addSums(acc, sums);
  return { walk, acc };
}

function walkOracle(records: Record[], size: number, seed: number, acc: OracleAccumulator): OracleWalk {
  const { u32, f64, chunks } = chunked(records, seed);
  return oracleWalk(
    chunks.map((c) => ({ u32: u32.subarray(c.word), f64: f64.subarray(c.word >> 1), count: c.count })),
    acc,
  );
}

function same(actual: number, expected: number, what: string): void {
  assert.ok(Object.is(actual, expected), `${what}: ${actual} !== ${expected}`);
}

function compare(label: string, got: { walk: ThreadWalk; acc: Float64Array }, walk: OracleWalk, oracle: OracleAccumulator, size: number, skip: string[] = []): void {
  for (const key of ['events', 'droppedFromMarkers', 'firstMs', 'lastMs', 'maxDepth'] as const) same(got.walk[key], walk[key], `${label} ${key}`);
  for (let fn = 0; fn < size; fn++) {
    for (const [name, column] of COLUMNS) {
      if (skip.includes(name)) continue;
      same(got.acc[fn * ACC_STRIDE + column] as number, oracle[name][fn] as number, `${label} fn ${fn} ${name}`);
    }
  }
}

describe('the walk gives exactly what the walk before it gave', () => {
  warmUpWalk();
  const kernel = new Space().wasm;

  test('the WebAssembly kernel is available here (else only the JavaScript loop is checked)', () => {
    assert.ok(kernel);
  });

  test('random streams, JavaScript loop and WebAssembly kernel', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const size = 1 + (seed % 17);
      const records = stream(seed, 50 + ((seed * 7919) % 3000), size);
      const oracle = oracleAccumulator(size);
      const expected = walkOracle(records, size, seed, oracle);
      compare(`seed ${seed} js`, walkNew(records, size, seed + 1, false, null), expected, oracle, size);
      if (kernel) compare(`seed ${seed} wasm`, walkNew(records, size, seed + 2, true, null), expected, oracle, size);
    }
  });

  test('thousands of frames suspended at once (the kernel grows its table), resumed in any order', () => {
    for (let seed = 500; seed < 510; seed++) {
      const next = random(seed);
      const size = 5;
      const records: Record[] = [];
      let t = 0;
      const live: number[] = [];
      // Serials all over the u32 range (so they collide in the kernel's hash table), and times
      // whose steps differ by orders of magnitude (so the order of adding them up shows).
      const serials = new Set<number>();
      while (serials.size < 3000) serials.add(Math.floor(next() * 2 ** 32));
      const step = (): number => next() * 10 ** Math.floor(next() * 8 - 4);
      for (const serial of serials) {
        const fn = 1 + (serial % 4);
        records.push([((EV_ENTER << KIND_SHIFT) | fn) >>> 0, serial, (t += step())]);
        records.push([((EV_SUSPEND << KIND_SHIFT) | fn) >>> 0, serial, (t += step())]);
        live.push(serial);
        // Now and then resume one and let it finish; some stay suspended to the end.
        if (next() < 0.4) {
          const back = live.splice(Math.floor(next() * live.length), 1)[0]!;
          const backFn = 1 + (back % 4);
          records.push([((EV_RESUME << KIND_SHIFT) | backFn) >>> 0, back, (t += step())]);
          if (next() < 0.5) {
            records.push([((EV_SUSPEND << KIND_SHIFT) | backFn) >>> 0, back, (t += step())]); // again: it moves to the end of the order
            live.push(back);
          } else {
            records.push([((EV_EXIT << KIND_SHIFT) | backFn) >>> 0, 0, (t += step())]);
          }
        }
      }
      const oracle = oracleAccumulator(size);
      const expected = walkOracle(records, size, seed, oracle);
      compare(`seed ${seed} js`, walkNew(records, size, seed + 1, false, null), expected, oracle, size);
      if (kernel) compare(`seed ${seed} wasm`, walkNew(records, size, seed + 2, true, null), expected, oracle, size);
    }
  });

  test('priors: untimed calls are estimated from the threads before too', () => {
    for (let seed = 1000; seed < 1100; seed++) {
      const size = 1 + (seed % 9);
      const records = stream(seed, 2000, size, true);
      // The threads before: whole-millisecond timed calls, so any order of summing is exact.
      const next = random(seed);
      const oracle = oracleAccumulator(size);
      const priors = accumulator(size);
      for (let fn = 0; fn < size; fn++) {
        const calls = Math.floor(next() * 4);
        const sum = calls * Math.floor(next() * 5);
        oracle.timedCalls[fn] = calls;
        oracle.timedSum[fn] = sum;
        priors[fn * ACC_STRIDE + A_TIMED_CALLS] = calls;
        priors[fn * ACC_STRIDE + A_TIMED_SUM] = sum;
      }
      const expected = walkOracle(records, size, seed, oracle);
      // The oracle's timed columns hold priors + this thread; the walk's only this thread.
      for (const wasm of kernel ? [false, true] : [false]) {
        const got = walkNew(records, size, seed + 3, wasm, priors);
        compare(`seed ${seed} ${wasm ? 'wasm' : 'js'}`, got, expected, oracle, size, ['timedCalls', 'timedSum']);
        for (let fn = 0; fn < size; fn++) {
          same((got.acc[fn * ACC_STRIDE + A_TIMED_CALLS] as number) + (priors[fn * ACC_STRIDE + A_TIMED_CALLS] as number), oracle.timedCalls[fn] as number, `seed ${seed} timedCalls`);
          same((got.acc[fn * ACC_STRIDE + A_TIMED_SUM] as number) + (priors[fn * ACC_STRIDE + A_TIMED_SUM] as number), oracle.timedSum[fn] as number, `seed ${seed} timedSum`);
        }
      }
    }
  });
});
