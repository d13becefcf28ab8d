// The call-stack walk behind `recall summary`: one thread's index-lane records, chunk by chunk,
// rebuilt into per-function calls, inclusive time (once per outermost activation), self time,
// throws, unfinished calls and the estimates for untimed calls. No Node-only imports: the same
// code runs in the CLI's thread and in the summary workers (summary-worker.ts).
//
// Speed matters here (a 1 GiB trace is 67 M records). step() is the walk, one record at a time.
// With WebAssembly (the usual case) the kernel's $walk (kernel.ts) does every record but lost
// exits and drop markers, with the stack, the sums and the suspended frames in the Space's
// memory, and hands those to step(). Without it, fast() does the common records (enters, exits
// matching the top frame, runtime events) in a loop with no calls in it, and step() the rest
// (suspended frames then live in a Map). V8 reloads a typed array's data pointer and length at
// every use in such a loop, so the state is packed into as few arrays as possible: the stack is
// one Float64Array of 8-slot frames, the per-function sums one Float64Array of ACC_STRIDE-slot
// rows. All three give the same doubles (walk.test.ts). The rules for lost exits, drops and
// suspensions are stack-rules.ts's, which the query engine's machine follows too.

import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_RESUME, EV_SUSPEND, EV_THROW } from '../format/layout.js';
import {
  ESTIMATE_SAMPLE_CAP_MS,
  HASH_MULTIPLIER,
  S_ACC,
  S_CAPACITY,
  S_DEPTH,
  S_FRAMES,
  S_MAX_DEPTH,
  S_PRIORS,
  S_SIZE,
  S_TABLE,
  S_TABLE_MASK,
  S_TABLE_SEQ,
  S_TABLE_SHIFT,
  S_TABLE_USED,
  Space,
  TABLE_ENTRY_BYTES,
} from './kernel.js';
import { exitLevel, suspendApplies } from './stack-rules.js';

/**
 * Per-function sums of one thread (or of several, merged): row `fn` is
 * `[fn * ACC_STRIDE, (fn + 1) * ACC_STRIDE)`, columns A_*. Times in ms. One Float64Array, so it
 * transfers between threads as-is.
 */
export type Accumulator = Float64Array<ArrayBuffer>;

export const ACC_STRIDE = 12;
export const A_CALLS = 0;
export const A_TOTAL = 1;
export const A_SELF = 2;
export const A_THROWS = 3;
/** Calls still running when the recording ended. */
export const A_UNFINISHED = 4;
/** Calls recorded without timestamps, and the time estimated for them (ms). */
export const A_UNTIMED = 5;
export const A_ESTIMATED = 6;
/** Fully timed, completed frames and their summed self time (ms, each at most ESTIMATE_SAMPLE_CAP_MS): the basis of estimates. */
export const A_TIMED_CALLS = 7;
export const A_TIMED_SUM = 8;
/** Columns [0, SUMMED_COLUMNS) are sums that add up across threads; the rest belong to one walk. */
export const SUMMED_COLUMNS = 9;
/** Open frames of the function during the walk: inclusive time is credited when the outermost closes. */
export const A_ACTIVE = 9;
/** 1 when an untimed call of the function was estimated in this walk (the estimate read the priors). */
export const A_ESTIMATED_WITH = 10;

export function accumulator(size: number): Accumulator {
  return new Float64Array(size * ACC_STRIDE);
}

/** Functions (ids) an accumulator has rows for. */
export function accumulatorSize(acc: Accumulator): number {
  return acc.length / ACC_STRIDE;
}

/**
 * One thread's sums, only the functions it has any for: `rows` holds SUMMED_COLUMNS values per
 * id in `ids`. (A trace of many threads has a row per function of every thread, and a thread
 * touches its own: dense sums of every thread kept until they are added up would not scale.)
 */
export interface Sums {
  ids: Int32Array<ArrayBuffer>;
  rows: Float64Array<ArrayBuffer>;
  /** The functions whose untimed calls the walk estimated (it read the priors for them). */
  estimatedWith: Int32Array<ArrayBuffer>;
}

/** The sums in `acc` (rows whose summed columns are all zero are left out: adding them changes nothing). */
export function sparseSums(acc: Accumulator): Sums {
  const ids: number[] = [];
  const estimated: number[] = [];
  for (let fn = 0, row = 0; row < acc.length; fn++, row += ACC_STRIDE) {
    for (let c = 0; c < SUMMED_COLUMNS; c++) {
      if (acc[row + c] !== 0) {
        ids.push(fn);
        break;
      }
    }
    if (acc[row + A_ESTIMATED_WITH] !== 0) estimated.push(fn);
  }
  const rows = new Float64Array(ids.length * SUMMED_COLUMNS);
  ids.forEach((fn, k) => rows.set(acc.subarray(fn * ACC_STRIDE, fn * ACC_STRIDE + SUMMED_COLUMNS), k * SUMMED_COLUMNS));
  return { ids: Int32Array.from(ids), rows, estimatedWith: Int32Array.from(estimated) };
}

/** Add one thread's sums into `into`. */
export function addSums(into: Accumulator, sums: Sums): void {
  const { ids, rows } = sums;
  for (let k = 0; k < ids.length; k++) {
    const row = (ids[k] as number) * ACC_STRIDE;
    const from = k * SUMMED_COLUMNS;
    for (let c = 0; c < SUMMED_COLUMNS; c++) into[row + c] = (into[row + c] as number) + (rows[from + c] as number);
  }
}

/** What a walk found besides the per-function sums. */
export interface ThreadWalk {
  events: number;
  droppedFromMarkers: number;
  firstMs: number;
  lastMs: number;
  maxDepth: number;
}

interface SuspendedFrame {
  fn: number;
  acc: number;
}

// A stack frame: FRAME slots of a Float64Array.
const FRAME = 8;
const F_FN = 0;
/** Enter time; NaN for a frame entered without a timestamp. */
const F_START = 1;
/** Time spent in callees so far. */
const F_CHILD = 2;
/** Time on the stack before the frame's last suspension. */
const F_CARRIED = 3;
const F_SERIAL = 4;
/** 1 when an untimed frame ran beneath this one: its self time rests on estimates. */
const F_EST = 5;

const INITIAL_DEPTH = 256;
const INITIAL_TABLE_ENTRIES = 1024;

/**
 * One thread's walk in progress. Feed it the thread's chunks in file order with `records`, then
 * call `end()` once and take its sums with `sums()`. `priors` are the summed timed calls of the
 * threads walked before this one: an untimed call's self time is estimated as its function's
 * mean self time over the fully timed calls of those threads and of this thread so far.
 */
export class ThreadWalker {
  /** This thread's sums and the stack: in `space` when the WebAssembly kernel walks, else plain arrays. */
  private acc: Accumulator;
  private frames: Float64Array;
  /** Frames the stack has room for (not frames.length: a view of a grown memory reads 0). */
  private capacity = INITIAL_DEPTH;
  private depth = 0;
  private maxDepth = 0;
  private readonly suspended = new Map<number, SuspendedFrame>();
  private events = 0;
  private droppedFromMarkers = 0;
  private firstMs = Infinity;
  private lastMs = -Infinity;
  readonly size: number;
  /** Where readThreadFile puts the file's bytes; with the kernel, also where acc and frames live. */
  readonly space: Space;
  private readonly wasm: boolean;
  // Byte addresses in the space (kernel only).
  private accAt = 0;
  private framesAt = 0;
  private priorsAt = 0;
  /** A region for records that come from outside the space (kernel only). */
  private scratchAt = 0;
  private scratchBytes = 0;
  /**
   * The kernel's table of suspended frames (kernel only; without it, `suspended`): its
   * address and entries. Its counters live in the space's state block.
   */
  private tableAt = 0;
  private tableEntries = 0;

  /**
   * `size`: rows of the accumulator (the function table; ids past it are not counted).
   * `priors`: read, never written.
   */
  constructor(
    size: number,
    private readonly priors: Accumulator | null,
    space: Space = new Space(),
  ) {
    this.size = size;
    this.space = space;
    this.wasm = space.wasm;
    if (this.wasm) {
      this.accAt = space.allocate(size * ACC_STRIDE * 8);
      if (priors) {
        this.priorsAt = space.allocate(size * ACC_STRIDE * 8);
        space.f64.set(priors.subarray(0, size * ACC_STRIDE), this.priorsAt >> 3);
      }
      this.framesAt = space.allocate(INITIAL_DEPTH * FRAME * 8);
      this.rehashTable();
      this.acc = new Float64Array(space.f64.buffer as ArrayBuffer, this.accAt, size * ACC_STRIDE);
      this.frames = new Float64Array(space.f64.buffer, this.framesAt, INITIAL_DEPTH * FRAME);
    } else {
      this.acc = accumulator(size);
      this.frames = new Float64Array(INITIAL_DEPTH * FRAME);
    }
  }

  /** The views of acc and frames again, after the space's memory grew. */
  private refresh(): void {
    if (!this.wasm || this.space.holds(this.acc)) return;
    const buffer = this.space.f64.buffer as ArrayBuffer;
    this.acc = new Float64Array(buffer, this.accAt, this.size * ACC_STRIDE);
    this.frames = new Float64Array(buffer, this.framesAt, this.capacity * FRAME);
  }

  /**
   * A new table of suspended frames, the kernel's being half full: room for four times the
   * live entries (at least INITIAL_TABLE_ENTRIES), put back with their order numbers.
   */
  private rehashTable(): void {
    const live = this.tableAt === 0 ? [] : this.suspendedInOrder();
    let entries = INITIAL_TABLE_ENTRIES;
    while (entries < live.length * 4) entries *= 2;
    const space = this.space;
    const at = space.allocate(entries * TABLE_ENTRY_BYTES);
    space.u8.fill(0, at, at + entries * TABLE_ENTRY_BYTES);
    const state = space.i32;
    const shift = 32 - Math.log2(entries);
    state[S_TABLE >> 2] = at;
    state[S_TABLE_MASK >> 2] = entries - 1;
    state[S_TABLE_SHIFT >> 2] = shift;
    state[S_TABLE_USED >> 2] = live.length;
    if (this.tableAt === 0) space.f64[S_TABLE_SEQ >> 3] = 0;
    for (const entry of live) {
      let slot = Math.imul(entry.serial, HASH_MULTIPLIER) >>> shift;
      while (space.u32[((at + slot * TABLE_ENTRY_BYTES) >> 2) + 1] !== 0) slot = (slot + 1) & (entries - 1);
      const e = at + slot * TABLE_ENTRY_BYTES;
      space.u32[e >> 2] = entry.serial;
      space.u32[(e >> 2) + 1] = 1;
      space.u32[(e >> 2) + 2] = entry.fn;
      space.f64[(e >> 3) + 2] = entry.acc;
      space.f64[(e >> 3) + 3] = entry.order;
    }
    this.tableAt = at;
    this.tableEntries = entries;
  }

  /** The kernel table's live entries, in insertion order (a Map's iteration order). */
  private suspendedInOrder(): { serial: number; fn: number; acc: number; order: number }[] {
    const space = this.space;
    const live: { serial: number; fn: number; acc: number; order: number }[] = [];
    for (let slot = 0; slot < this.tableEntries; slot++) {
      const e = this.tableAt + slot * TABLE_ENTRY_BYTES;
      if (space.u32[(e >> 2) + 1] !== 1) continue;
      live.push({ serial: space.u32[e >> 2] as number, fn: space.u32[(e >> 2) + 2] as number, acc: space.f64[(e >> 3) + 2] as number, order: space.f64[(e >> 3) + 3] as number });
    }
    return live.sort((a, b) => a.order - b.order);
  }

  /** This thread's sums (transferable); call after end(). */
  sums(): Sums {
    this.refresh();
    return sparseSums(this.acc);
  }

  /** Make room for `frames` frames. */
  private reserve(frames: number): void {
    this.refresh();
    if (this.capacity >= frames) return;
    const capacity = Math.max(this.capacity * 2, frames);
    if (this.wasm) {
      const at = this.space.allocate(capacity * FRAME * 8);
      const f64 = this.space.f64;
      f64.copyWithin(at >> 3, this.framesAt >> 3, (this.framesAt >> 3) + this.capacity * FRAME);
      this.framesAt = at;
      this.acc = new Float64Array(f64.buffer as ArrayBuffer, this.accAt, this.size * ACC_STRIDE);
      this.frames = new Float64Array(f64.buffer, at, capacity * FRAME);
    } else {
      const next = new Float64Array(capacity * FRAME);
      next.set(this.frames);
      this.frames = next;
    }
    this.capacity = capacity;
  }

  private push(fn: number, t: number, serial: number, carried: number): void {
    const d = this.depth;
    this.reserve(d + 1);
    const f = d * FRAME;
    const frames = this.frames;
    frames[f + F_FN] = fn;
    frames[f + F_START] = t;
    frames[f + F_CHILD] = 0;
    frames[f + F_CARRIED] = carried;
    frames[f + F_SERIAL] = serial;
    frames[f + F_EST] = 0;
    this.depth = d + 1;
    if (d + 1 > this.maxDepth) this.maxDepth = d + 1;
    if (fn < this.size) this.acc[fn * ACC_STRIDE + A_ACTIVE] = (this.acc[fn * ACC_STRIDE + A_ACTIVE] as number) + 1;
  }

  /** Self time estimated for an untimed frame of `fn` (ms). */
  private estimate(fn: number): number {
    if (fn >= this.size) return 0;
    const acc = this.acc;
    const a = fn * ACC_STRIDE;
    acc[a + A_ESTIMATED_WITH] = 1;
    const priors = this.priors;
    const samples = (priors === null ? 0 : (priors[a + A_TIMED_CALLS] as number)) + (acc[a + A_TIMED_CALLS] as number);
    const sum = (priors === null ? 0 : (priors[a + A_TIMED_SUM] as number)) + (acc[a + A_TIMED_SUM] as number);
    return samples > 0 ? Math.max(0, sum / samples) : 0;
  }

  /**
   * Pop the top frame at time t; returns its accumulated time on the stack. A frame entered
   * without a timestamp (start NaN) is given its callees' time plus its function's mean self
   * time over fully timed calls (frames with no untimed frame beneath them), counted as estimated.
   * fast() does the same inline.
   */
  private popFrame(t: number): number {
    const acc = this.acc;
    const frames = this.frames;
    const d = this.depth - 1;
    this.depth = d;
    const f = d * FRAME;
    const fn = frames[f + F_FN] as number;
    const start = frames[f + F_START] as number;
    const child = frames[f + F_CHILD] as number;
    const a = fn * ACC_STRIDE;
    const known = fn < this.size;
    const timed = start === start;
    let segment: number;
    let self: number;
    if (timed) {
      segment = t - start;
      self = segment - child;
    } else {
      self = this.estimate(fn);
      segment = child + self;
      if (known) acc[a + A_ESTIMATED] = (acc[a + A_ESTIMATED] as number) + self;
    }
    const frameTotal = (frames[f + F_CARRIED] as number) + segment;
    if (known) {
      acc[a + A_SELF] = (acc[a + A_SELF] as number) + self;
      acc[a + A_ACTIVE] = (acc[a + A_ACTIVE] as number) - 1;
      if (timed && frames[f + F_EST] === 0) {
        acc[a + A_TIMED_CALLS] = (acc[a + A_TIMED_CALLS] as number) + 1;
        acc[a + A_TIMED_SUM] = (acc[a + A_TIMED_SUM] as number) + Math.min(self, ESTIMATE_SAMPLE_CAP_MS);
      }
    }
    if (d > 0) {
      frames[f - FRAME + F_CHILD] = (frames[f - FRAME + F_CHILD] as number) + segment;
      if (!timed || frames[f + F_EST] === 1) frames[f - FRAME + F_EST] = 1;
    }
    return frameTotal;
  }

  /** Pop and count the frame's time once per outermost activation (recursion is not double-counted). */
  private finishFrame(t: number): void {
    const fn = this.frames[(this.depth - 1) * FRAME + F_FN] as number;
    const frameTotal = this.popFrame(t);
    const a = fn * ACC_STRIDE;
    if (fn < this.size && this.acc[a + A_ACTIVE] === 0) this.acc[a + A_TOTAL] = (this.acc[a + A_TOTAL] as number) + frameTotal;
  }

  /** Forget every open frame without crediting time (the stack is unknown across a gap). */
  private forget(): void {
    while (this.depth > 0) {
      this.depth--;
      const open = this.frames[this.depth * FRAME + F_FN] as number;
      if (open < this.size) this.acc[open * ACC_STRIDE + A_ACTIVE] = (this.acc[open * ACC_STRIDE + A_ACTIVE] as number) - 1;
    }
  }

  /**
   * Walk `count` records starting at word `word` of `u32` (`f64` views the same bytes). Both
   * views must start at the same 8-aligned byte offset.
   */
  records(u32: Uint32Array, f64: Float64Array, word: number, count: number): void {
    if (count <= 0) return;
    const first = f64[(word >> 1) + 1] as number;
    if (first < this.firstMs) this.firstMs = first;
    const last = f64[(word >> 1) + (count - 1) * 2 + 1] as number;
    if (last > this.lastMs) this.lastMs = last;
    if (this.wasm) {
      // In the space already? (Growing it leaves `u32` viewing the old memory.)
      const inSpace = this.space.holds(u32) && u32.byteOffset === 0;
      this.kernelRecords(inSpace, u32, word, count);
      return;
    }
    // Each record pushes at most one frame: with this room fast() never grows the stack.
    this.reserve(this.depth + count);
    const end = word + count * 4;
    let w = word;
    while (w < end) {
      w = this.fast(u32, f64, w, end);
      if (w < end) {
        this.step(u32, f64, w);
        w += 4;
      }
    }
  }

  /** records() by the WebAssembly kernel's $walk, with step() for what it leaves. */
  private kernelRecords(inSpace: boolean, u32: Uint32Array, word: number, count: number): void {
    const space = this.space;
    let at = word * 4;
    if (!inSpace) {
      // Records from elsewhere (a whole file read into memory): copy them in first.
      if (this.scratchBytes < count * 16) {
        this.scratchBytes = count * 16;
        this.scratchAt = space.allocate(this.scratchBytes);
      }
      space.u8.set(new Uint8Array(u32.buffer, u32.byteOffset + word * 4, count * 16), this.scratchAt);
      at = this.scratchAt;
    }
    this.refresh();
    const end = at + count * 16;
    while (at < end) {
      const state = space.i32;
      state[S_DEPTH >> 2] = this.depth;
      state[S_MAX_DEPTH >> 2] = this.maxDepth;
      state[S_SIZE >> 2] = this.size;
      state[S_ACC >> 2] = this.accAt;
      state[S_FRAMES >> 2] = this.framesAt;
      state[S_CAPACITY >> 2] = this.capacity;
      state[S_PRIORS >> 2] = this.priorsAt;
      const from = at;
      at = space.walk(at, end);
      this.depth = state[S_DEPTH >> 2] as number;
      this.maxDepth = state[S_MAX_DEPTH >> 2] as number;
      this.events += (at - from) >> 4; // every record $walk goes past is an event
      if (at >= end) break;
      // $walk stopped at this record: for want of room (then it does the record once there
      // is), or for a record only step() does (lost exits, drops).
      const kind = ((space.u32[at >> 2] as number) >>> 28) & 7;
      if (kind === EV_ENTER || kind === EV_RESUME) {
        this.reserve(this.depth + 1);
      } else if (kind === EV_SUSPEND) {
        this.rehashTable();
      } else {
        this.step(space.u32, space.f64, at >> 2);
        at += 16;
      }
    }
  }

  /**
   * The common records with everything in locals and no calls: enters, exits that match the
   * top frame (timed or not), runtime events. Stops at the first other record (an exit that
   * does not match the top frame, suspend, resume, dropped) and returns its word index, or
   * `end`. Must agree exactly with step().
   */
  private fast(u32: Uint32Array, f64: Float64Array, from: number, end: number): number {
    const acc = this.acc;
    const frames = this.frames;
    const priors = this.priors;
    const size = this.size;
    let depth = this.depth;
    let maxDepth = this.maxDepth;
    let events = this.events;
    let w = from;
    for (; w < end; w += 4) {
      const head = u32[w] as number;
      const kind = (head >>> 28) & 7;
      const fn = head & 0x0fffffff;
      if (kind === EV_ENTER) {
        events++;
        const untimed = head >>> 31 === 1;
        if (fn < size) {
          const a = fn * ACC_STRIDE;
          acc[a + A_CALLS] = (acc[a + A_CALLS] as number) + 1;
          if (untimed) acc[a + A_UNTIMED] = (acc[a + A_UNTIMED] as number) + 1;
          acc[a + A_ACTIVE] = (acc[a + A_ACTIVE] as number) + 1;
        }
        const f = depth * FRAME;
        frames[f + F_FN] = fn;
        frames[f + F_START] = untimed ? NaN : (f64[(w >> 1) + 1] as number);
        frames[f + F_CHILD] = 0;
        frames[f + F_CARRIED] = 0;
        frames[f + F_SERIAL] = u32[w + 1] as number;
        frames[f + F_EST] = 0;
        depth++;
        if (depth > maxDepth) maxDepth = depth;
      } else if (kind === EV_EXIT || kind === EV_THROW) {
        const f = (depth - 1) * FRAME;
        if (depth > 0 && frames[f + F_FN] !== fn) break; // exits were lost: step() unwinds
        events++;
        const known = fn < size;
        const a = fn * ACC_STRIDE;
        if (kind === EV_THROW && known) acc[a + A_THROWS] = (acc[a + A_THROWS] as number) + 1;
        if (depth === 0) continue; // its enter was lost (drops) or happened before recording
        // popFrame() + finishFrame(), inline.
        depth--;
        const start = frames[f + F_START] as number;
        const child = frames[f + F_CHILD] as number;
        let segment: number;
        let self: number;
        const timed = start === start;
        if (timed) {
          segment = (f64[(w >> 1) + 1] as number) - start;
          self = segment - child;
        } else if (known) {
          // estimate(), inline
          acc[a + A_ESTIMATED_WITH] = 1;
          const samples = (priors === null ? 0 : (priors[a + A_TIMED_CALLS] as number)) + (acc[a + A_TIMED_CALLS] as number);
          const sum = (priors === null ? 0 : (priors[a + A_TIMED_SUM] as number)) + (acc[a + A_TIMED_SUM] as number);
          self = samples > 0 ? Math.max(0, sum / samples) : 0;
          segment = child + self;
          acc[a + A_ESTIMATED] = (acc[a + A_ESTIMATED] as number) + self;
        } else {
          self = 0;
          segment = child + 0;
        }
        const frameTotal = (frames[f + F_CARRIED] as number) + segment;
        const est = frames[f + F_EST] as number;
        if (known) {
          acc[a + A_SELF] = (acc[a + A_SELF] as number) + self;
          const open = (acc[a + A_ACTIVE] as number) - 1;
          acc[a + A_ACTIVE] = open;
          if (timed && est === 0) {
            acc[a + A_TIMED_CALLS] = (acc[a + A_TIMED_CALLS] as number) + 1;
            acc[a + A_TIMED_SUM] = (acc[a + A_TIMED_SUM] as number) + Math.min(self, ESTIMATE_SAMPLE_CAP_MS);
          }
          if (open === 0) acc[a + A_TOTAL] = (acc[a + A_TOTAL] as number) + frameTotal;
        }
        if (depth > 0) {
          frames[f - FRAME + F_CHILD] = (frames[f - FRAME + F_CHILD] as number) + segment;
          if (!timed || est === 1) frames[f - FRAME + F_EST] = 1;
        }
      } else if (kind === EV_SUSPEND || kind === EV_RESUME || kind === EV_DROPPED) {
        break;
      } else {
        // Runtime events (EV_EXT) and unknown kinds are events, not calls.
        events++;
      }
    }
    this.depth = depth;
    this.maxDepth = maxDepth;
    this.events = events;
    return w;
  }

  /** One record, any kind: the reference semantics of the walk (fast() is its common part). */
  private step(u32: Uint32Array, f64: Float64Array, w: number): void {
    const head = u32[w] as number;
    const kind = (head >>> 28) & 7;
    const fn = head & 0x0fffffff;
    const t = f64[(w >> 1) + 1] as number;
    const acc = this.acc;
    const a = fn * ACC_STRIDE;
    const known = fn < this.size;
    if (kind === EV_ENTER) {
      this.events++;
      const untimed = head >>> 31 === 1;
      if (known) {
        acc[a + A_CALLS] = (acc[a + A_CALLS] as number) + 1;
        if (untimed) acc[a + A_UNTIMED] = (acc[a + A_UNTIMED] as number) + 1;
      }
      this.push(fn, untimed ? NaN : t, u32[w + 1] as number, 0);
    } else if (kind === EV_EXIT || kind === EV_THROW) {
      this.events++;
      if (kind === EV_THROW && known) acc[a + A_THROWS] = (acc[a + A_THROWS] as number) + 1;
      const depth = this.depth;
      if (depth === 0) return; // its enter was lost (drops) or happened before recording
      // Exits were lost when fn's frame is not on top: unwind to it (stack-rules.ts).
      const match = exitLevel(this.frames, FRAME, F_FN, depth, fn);
      if (match < 0) return;
      while (this.depth - 1 > match) this.finishFrame(t);
      this.finishFrame(t);
    } else if (kind === EV_SUSPEND) {
      this.events++;
      const depth = this.depth;
      if (!suspendApplies(this.frames, FRAME, F_FN, depth, fn)) return;
      const serial = this.frames[(depth - 1) * FRAME + F_SERIAL] as number;
      this.suspended.set(serial, { fn, acc: this.popFrame(t) });
    } else if (kind === EV_RESUME) {
      this.events++;
      const serial = u32[w + 1] as number;
      const frame = this.suspended.get(serial);
      if (frame) this.suspended.delete(serial);
      this.push(fn, t, serial, frame ? frame.acc : 0);
    } else if (kind === EV_DROPPED) {
      this.droppedFromMarkers += u32[w + 1] as number;
      this.forget();
    } else {
      this.events++;
    }
  }

  /** After the last chunk: frames still open, and frames suspended for good, are unfinished. */
  end(): ThreadWalk {
    this.refresh();
    const acc = this.acc;
    const size = this.size;
    // Frames still open when the recording ended: count them up to the thread's last event.
    while (this.depth > 0) {
      const fn = this.frames[(this.depth - 1) * FRAME + F_FN] as number;
      if (fn < size) acc[fn * ACC_STRIDE + A_UNFINISHED] = (acc[fn * ACC_STRIDE + A_UNFINISHED] as number) + 1;
      this.finishFrame(this.lastMs);
    }
    for (const frame of this.wasm ? this.suspendedInOrder() : this.suspended.values()) {
      if (frame.fn < size) {
        const a = frame.fn * ACC_STRIDE;
        acc[a + A_UNFINISHED] = (acc[a + A_UNFINISHED] as number) + 1;
        if (acc[a + A_ACTIVE] === 0) acc[a + A_TOTAL] = (acc[a + A_TOTAL] as number) + frame.acc;
      }
    }
    return { events: this.events, droppedFromMarkers: this.droppedFromMarkers, firstMs: this.firstMs, lastMs: this.lastMs, maxDepth: this.maxDepth };
  }
}

/**
 * Run every path of the walk once on a few made-up records. V8 compiles the walk's long loops
 * while they run (on-stack replacement); code it has never seen run (the end of the loop, the
 * rare kinds) then has no type feedback, and the compiled loop deoptimizes at it on every chunk.
 */
let warmed = false;
export function warmUpWalk(): void {
  if (warmed) return;
  warmed = true;
  const records = [
    [EV_ENTER, 1, 0],
    [EV_ENTER | 8, 2, 0], // untimed
    [EV_EXIT | 8, 2, 0],
    [EV_ENTER, 3, 0],
    [EV_ENTER, 2, 0],
    [EV_EXIT, 3, 0], // lost exit of 2
    [EV_THROW, 1, 0],
    [EV_ENTER, 4, 7],
    [EV_SUSPEND, 4, 7],
    [EV_RESUME, 4, 7],
    [7, 1, 0], // a runtime event
    [EV_EXIT, 4, 0],
    [EV_ENTER, 9, 0], // past the function table
    [EV_EXIT, 9, 0],
    [EV_ENTER, 1, 0],
    [EV_DROPPED, 0, 3],
    [EV_EXIT, 1, 0],
    [EV_ENTER, 1, 0],
  ];
  const u32 = new Uint32Array(records.length * 4);
  const f64 = new Float64Array(u32.buffer);
  records.forEach(([kind, fn, aux], i) => {
    u32[i * 4] = (((kind as number) << 28) | (fn as number)) >>> 0;
    u32[i * 4 + 1] = aux as number;
    f64[i * 2 + 1] = i;
  });
  // V8 collects type feedback only from a function's ninth call or so on.
  for (let round = 0; round < 16; round++) {
    // Both loops: the kernel's (its step() calls) and the JavaScript one.
    const walker = new ThreadWalker(8, round % 2 === 0 ? null : accumulator(8), new Space(0, round < 8));
    walker.records(u32, f64, 0, records.length);
    walker.end();
  }
}
