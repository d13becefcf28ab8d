// The query engine's stack machine: one thread's index-lane records, in order, rebuilt into
// calls (enter, exit, outcome, inclusive and self time) by the rules of stack-rules.ts — the
// rules of the summary's walk — with everything in typed arrays (no object per event). Every
// call is named by its position: the ordinal of the record that began it (its enter, or a
// resume no suspended frame matches). A sink hears every frame pushed, suspended, closed and
// forgotten; the index builder and each query are sinks. The machine can start mid-thread from
// an index checkpoint (frames and suspended calls known by position and function only; their
// times then come from the index). No Node-only imports.

import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EV_RESUME, EV_SUSPEND, EV_THROW } from '../format/layout.js';
import { exitLevel, suspendApplies } from '../analysis/stack-rules.js';
import { ESTIMATE_SAMPLE_CAP_MS } from '../analysis/kernel.js';

/**
 * Adaptive timing's estimates, as the summary makes them (analysis/walk.ts): an activation that
 * began without a timestamp is given its function's mean self time over the fully timed
 * activations (no estimated frame beneath them) seen so far, each counted at most
 * ESTIMATE_SAMPLE_CAP_MS. The index builder learns them as it walks a thread from its start, so
 * the index's totals are the summary's; query walks that start mid-thread use the thread's
 * final estimates (frozen), which the index keeps per function.
 */
export class Estimates {
  private calls = new Float64Array(1024);
  private sums = new Float64Array(1024);

  /** Estimates that do not learn: `perCall[i]` for function `fns[i]`. */
  static frozen(fns: ArrayLike<number>, perCall: ArrayLike<number>): Estimates {
    const estimates = new Estimates(false);
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i] as number;
      estimates.grow(fn);
      estimates.calls[fn] = 1;
      estimates.sums[fn] = perCall[i] as number;
    }
    return estimates;
  }

  constructor(readonly learning = true) {}

  private grow(fn: number): void {
    if (fn < this.calls.length) return;
    const size = 1 << Math.ceil(Math.log2(fn + 1));
    const calls = new Float64Array(size);
    calls.set(this.calls);
    this.calls = calls;
    const sums = new Float64Array(size);
    sums.set(this.sums);
    this.sums = sums;
  }

  /** Self time (ms) estimated for an untimed activation of `fn`. */
  estimate(fn: number): number {
    const n = fn < this.calls.length ? (this.calls[fn] as number) : 0;
    return n > 0 ? Math.max(0, (this.sums[fn] as number) / n) : 0;
  }

  /** A fully timed activation of `fn` ended with this self time (ms). */
  learn(fn: number, self: number): void {
    if (!this.learning) return;
    this.grow(fn);
    this.calls[fn] = (this.calls[fn] as number) + 1;
    this.sums[fn] = (this.sums[fn] as number) + Math.min(self, ESTIMATE_SAMPLE_CAP_MS);
  }
}

/** How a call ended. */
export const OUT_RETURN = 0;
export const OUT_THROW = 1;
/** Its exit record was lost: it was closed when a caller's exit came (stack-rules.ts). */
export const OUT_LOST_EXIT = 2;
/** Still running (or suspended) when the thread's recording ended. */
export const OUT_UNFINISHED = 3;
/** Forgotten at a drop marker: its end is not in the trace. */
export const OUT_DROPPED = 4;
export const OUTCOME_NAMES = ['return', 'throw', 'lost-exit', 'unfinished', 'dropped'] as const;
export type OutcomeName = (typeof OUTCOME_NAMES)[number];

/** How a frame came onto the stack. */
export const PUSH_ENTER = 0;
/** A suspended call resumed (the same call as before). */
export const PUSH_RESUME = 1;
/** A resume whose suspension is not in the trace (it began before recording, or was lost): a call begun here, not counted as one (as the summary does not). */
export const PUSH_ORPHAN = 2;

/** What the machine reports to. `level` is the frame's stack level (0: outermost). */
export interface MachineSink {
  /** A frame was pushed: how (PUSH_ENTER, PUSH_RESUME or PUSH_ORPHAN). */
  push(m: StackMachine, level: number, how: number): void;
  /**
   * The frame at `level` suspended: it is off the stack (depth is `level`) but still readable
   * there; m.lastSelf / m.lastSegment hold the times of the activation that ended.
   */
  suspend(m: StackMachine, level: number): void;
  /**
   * The frame at `level` closed: it is off the stack (depth is `level`) but still readable
   * there. `exitPos` is the record that closed it, `total` and `self` the call's times (ms; the
   * self time of untimed activations counts as 0); m.lastSelf / m.lastSegment hold the times
   * of its last activation.
   */
  close(m: StackMachine, level: number, outcome: number, exitPos: number, exitTime: number, total: number, self: number): void;
  /** The frame at `level` is forgotten (drop marker). */
  forget(m: StackMachine, level: number): void;
  /** A runtime event (EV_EXT): its type, argument, position and time. */
  ext(m: StackMachine, type: number, aux: number, pos: number, time: number): void;
  /** A drop marker: `count` events were lost just before it; the `depth` frames open then are forgotten next. */
  dropped?(m: StackMachine, count: number, depth: number, pos: number, time: number): void;
}

/** A sink that hears nothing (queries override what they need). */
export class NullSink implements MachineSink {
  push(_m: StackMachine, _level: number, _how: number): void {}
  suspend(_m: StackMachine, _level: number): void {}
  close(_m: StackMachine, _level: number, _outcome: number, _exitPos: number, _exitTime: number, _total: number, _self: number): void {}
  forget(_m: StackMachine, _level: number): void {}
  ext(_m: StackMachine, _type: number, _aux: number, _pos: number, _time: number): void {}
}

// Frame slots (a Float64Array of FRAME slots per level; the function id in slot F_FN so the
// stack rules read it in place).
const FRAME = 19;
const F_FN = 0;
/** Position of the record that began the call (its id within the thread). */
const F_CALL = 1;
/** Start of this activation (NaN: untimed or unknown). */
const F_START = 2;
/** Time in callees during this activation. */
const F_CHILD = 3;
/** Inclusive and self time of earlier activations (before suspensions). */
const F_CARRIED = 4;
const F_SELF_CARRIED = 5;
const F_SERIAL = 6;
/** Enter time of the call (its first activation). */
const F_ENTER_TIME = 7;
/** 1 when every activation so far was timed. */
const F_TIMED = 8;
/** Free for the sink (e.g. an index row); -1 by default; kept across suspension. */
const F_TAG = 9;
/**
 * Its callers when it began, nearest first: ANCESTRY positions from F_ANC, their functions
 * from F_ANC_FN (-1: none or unknown, e.g. frames seeded from a checkpoint); kept across
 * suspension, so a resumed frame still names the call that started it.
 */
const F_ANC = 10;
const F_ANC_FN = 13;
/** Awaits (suspensions) of the call so far; kept across suspension. */
const F_HOPS = 16;
/** 1 when this activation began by an untimed enter: its self time is estimated (Estimates). */
const F_UNTIMED = 17;
/** 1 when an estimated activation ran beneath this one: its self time rests on estimates. */
const F_EST = 18;

// Suspended calls: a pool of SUSPENDED slots per call, found by serial through a Map (its
// insertion order is the order the walk credits them at the end, as walk.ts's Map).
const S_FN = 0;
const S_CALL = 1;
const S_CARRIED = 2;
const S_SELF_CARRIED = 3;
const S_ENTER_TIME = 4;
const S_TIMED = 5;
const S_TAG = 6;
const S_ANC = 7;
const S_ANC_FN = 10;
const S_HOPS = 13;
const SUSPENDED = 14;

/** How many callers each frame remembers (the depth of the index's callee folds). */
export const ANCESTRY = 3;

export class StackMachine {
  frames = new Float64Array(64 * FRAME);
  depth = 0;
  maxDepth = 0;
  /** serial -> slot in `pool`. */
  readonly suspended = new Map<number, number>();
  pool = new Float64Array(16 * SUSPENDED);
  private free: number[] = [];
  private slots = 0;
  /** Times of the last activation popped (suspend or close), ms. */
  lastSegment = 0;
  lastSelf = 0;
  /** The part of lastSelf that is an estimate (an untimed activation's), ms. */
  lastEstimated = 0;
  /** The last activation popped began by an untimed enter (adaptive timing). */
  lastUntimed = false;
  /** Position and time of the last record stepped. */
  lastPos = -1;
  lastTime = 0;

  /** `estimates`: adaptive timing's, for untimed activations (null: their self time counts as 0). */
  constructor(
    private readonly sink: MachineSink,
    private readonly estimates: Estimates | null = null,
  ) {}

  // Reading frames (level 0: outermost).
  fn(level: number): number {
    return this.frames[level * FRAME + F_FN] as number;
  }
  call(level: number): number {
    return this.frames[level * FRAME + F_CALL] as number;
  }
  enterTime(level: number): number {
    return this.frames[level * FRAME + F_ENTER_TIME] as number;
  }
  serial(level: number): number {
    return this.frames[level * FRAME + F_SERIAL] as number;
  }
  timed(level: number): boolean {
    return this.frames[level * FRAME + F_TIMED] === 1;
  }
  /** The frame's activation began by an untimed enter (adaptive timing: its self time is estimated). */
  untimed(level: number): boolean {
    return this.frames[level * FRAME + F_UNTIMED] === 1;
  }
  /** The position of the frame's caller `k` levels up when it began (0: its caller), or -1. */
  ancestor(level: number, k: number): number {
    return this.frames[level * FRAME + F_ANC + k] as number;
  }
  /** That caller's function. */
  ancestorFn(level: number, k: number): number {
    return this.frames[level * FRAME + F_ANC_FN + k] as number;
  }
  parent(level: number): number {
    return this.frames[level * FRAME + F_ANC] as number;
  }
  tag(level: number): number {
    return this.frames[level * FRAME + F_TAG] as number;
  }
  setTag(level: number, tag: number): void {
    this.frames[level * FRAME + F_TAG] = tag;
  }
  // Suspended slots.
  /** Awaits of the call at `level` so far (0 for frames seeded from a checkpoint: not known there). */
  hops(level: number): number {
    return this.frames[level * FRAME + F_HOPS] as number;
  }
  suspendedHops(slot: number): number {
    return this.pool[slot * SUSPENDED + S_HOPS] as number;
  }
    suspendedFn(slot: number): number {
    return this.pool[slot * SUSPENDED + S_FN] as number;
  }
  suspendedCall(slot: number): number {
    return this.pool[slot * SUSPENDED + S_CALL] as number;
  }
  suspendedEnterTime(slot: number): number {
    return this.pool[slot * SUSPENDED + S_ENTER_TIME] as number;
  }
  suspendedTimed(slot: number): boolean {
    return this.pool[slot * SUSPENDED + S_TIMED] === 1;
  }
  suspendedCarried(slot: number): number {
    return this.pool[slot * SUSPENDED + S_CARRIED] as number;
  }
  suspendedSelf(slot: number): number {
    return this.pool[slot * SUSPENDED + S_SELF_CARRIED] as number;
  }
  suspendedTag(slot: number): number {
    return this.pool[slot * SUSPENDED + S_TAG] as number;
  }
  setSuspendedTag(slot: number, tag: number): void {
    this.pool[slot * SUSPENDED + S_TAG] = tag;
  }

  private reserve(frames: number): void {
    if (frames * FRAME <= this.frames.length) return;
    const next = new Float64Array(Math.max(frames, (this.frames.length / FRAME) * 2) * FRAME);
    next.set(this.frames);
    this.frames = next;
  }

  /** Push a frame. */
  private pushFrame(fn: number, call: number, start: number, enterTime: number, serial: number, timed: boolean, carried: number, selfCarried: number, tag: number): number {
    const level = this.depth;
    this.reserve(level + 1);
    const f = level * FRAME;
    const frames = this.frames;
    frames[f + F_FN] = fn;
    frames[f + F_CALL] = call;
    frames[f + F_START] = start;
    frames[f + F_CHILD] = 0;
    frames[f + F_CARRIED] = carried;
    frames[f + F_SELF_CARRIED] = selfCarried;
    frames[f + F_SERIAL] = serial;
    frames[f + F_ENTER_TIME] = enterTime;
    frames[f + F_TIMED] = timed ? 1 : 0;
    frames[f + F_TAG] = tag;
    frames[f + F_HOPS] = 0;
    frames[f + F_UNTIMED] = 0;
    frames[f + F_EST] = 0;
    this.depth = level + 1;
    if (level + 1 > this.maxDepth) this.maxDepth = level + 1;
    return level;
  }

  /**
   * Seed the stack from an index checkpoint (outermost first): frames whose times are not
   * known here (their activation start is NaN: what the machine computes for them is not
   * their time; the index has it).
   */
  seedFrame(fn: number, call: number, enterTime: number, serial: number, tag: number): void {
    this.ancestry(this.pushFrame(fn, call, NaN, enterTime, serial, false, 0, 0, tag), false);
  }

  /** Seed a suspended call from an index checkpoint. */
  seedSuspended(serial: number, fn: number, call: number, enterTime: number, tag: number): void {
    const slot = this.storeSuspended(serial, fn, call, 0, 0, enterTime, false, tag);
    this.pool.fill(-1, slot * SUSPENDED + S_ANC, slot * SUSPENDED + S_ANC_FN + ANCESTRY);
  }

  /** A new frame's callers: the frame below and its callers (`known`), else none. */
  private ancestry(level: number, known: boolean): void {
    const frames = this.frames;
    const f = level * FRAME;
    if (!known || level === 0) {
      frames.fill(-1, f + F_ANC, f + F_ANC_FN + ANCESTRY);
      return;
    }
    const b = f - FRAME;
    frames[f + F_ANC] = frames[b + F_CALL] as number;
    frames[f + F_ANC_FN] = frames[b + F_FN] as number;
    for (let k = 1; k < ANCESTRY; k++) {
      frames[f + F_ANC + k] = frames[b + F_ANC + k - 1] as number;
      frames[f + F_ANC_FN + k] = frames[b + F_ANC_FN + k - 1] as number;
    }
  }

  private storeSuspended(serial: number, fn: number, call: number, carried: number, selfCarried: number, enterTime: number, timed: boolean, tag: number): number {
    let slot = this.suspended.get(serial);
    if (slot !== undefined) {
      // A second suspension under a serial still held (walk.ts's Map overwrites it too): the
      // earlier call is forgotten.
      this.suspended.delete(serial);
    } else {
      slot = this.free.pop();
      if (slot === undefined) {
        slot = this.slots++;
        if (this.slots * SUSPENDED > this.pool.length) {
          const next = new Float64Array(this.pool.length * 2);
          next.set(this.pool);
          this.pool = next;
        }
      }
    }
    const p = slot * SUSPENDED;
    const pool = this.pool;
    pool[p + S_FN] = fn;
    pool[p + S_CALL] = call;
    pool[p + S_CARRIED] = carried;
    pool[p + S_SELF_CARRIED] = selfCarried;
    pool[p + S_ENTER_TIME] = enterTime;
    pool[p + S_TIMED] = timed ? 1 : 0;
    pool[p + S_TAG] = tag;
    pool[p + S_HOPS] = 0;
    this.suspended.set(serial, slot);
    return slot;
  }

  /** Pop the top activation at time t: sets lastSegment / lastSelf and credits the caller. */
  private popActivation(t: number): void {
    const d = this.depth - 1;
    const f = d * FRAME;
    const frames = this.frames;
    const start = frames[f + F_START] as number;
    const child = frames[f + F_CHILD] as number;
    const estimates = this.estimates;
    let segment: number;
    let self: number;
    let estimated = 0;
    if (start === start) {
      segment = t - start;
      self = segment - child;
      if (estimates !== null && frames[f + F_EST] === 0) estimates.learn(frames[f + F_FN] as number, self);
    } else if (estimates !== null && frames[f + F_UNTIMED] === 1) {
      // Untimed: its callees' time is known, its own is its function's estimate.
      estimated = self = estimates.estimate(frames[f + F_FN] as number);
      segment = child + self;
    } else {
      // Seeded from a checkpoint (or untimed, without estimates): its callees' time is known, its own is not.
      segment = child;
      self = 0;
    }
    this.lastSegment = segment;
    this.lastSelf = self;
    this.lastEstimated = estimated;
    this.lastUntimed = frames[f + F_UNTIMED] === 1;
    this.depth = d;
    if (d > 0) {
      frames[f - FRAME + F_CHILD] = (frames[f - FRAME + F_CHILD] as number) + segment;
      if (start !== start || frames[f + F_EST] === 1) frames[f - FRAME + F_EST] = 1;
    }
  }

  private closeTop(outcome: number, pos: number, t: number): void {
    const level = this.depth - 1;
    const f = level * FRAME;
    this.popActivation(t);
    const frames = this.frames;
    this.sink.close(this, level, outcome, pos, t, (frames[f + F_CARRIED] as number) + this.lastSegment, (frames[f + F_SELF_CARRIED] as number) + this.lastSelf);
  }

  /** Walk `count` records at word `word` of `u32` (`f64` views the same bytes); the first is at position `pos`. */
  run(u32: Uint32Array, f64: Float64Array, word: number, count: number, pos: number): void {
    for (let r = 0; r < count; r++) this.step(u32, f64, word + r * 4, pos + r);
  }

  /** One record at word `w`, position `pos`. */
  step(u32: Uint32Array, f64: Float64Array, w: number, pos: number): void {
    const head = u32[w] as number;
    const kind = (head >>> 28) & 7;
    const fn = head & 0x0fffffff;
    const t = f64[(w >> 1) + 1] as number;
    this.lastPos = pos;
    this.lastTime = t;
    if (kind === EV_ENTER) {
      const untimed = head >>> 31 === 1;
      const level = this.pushFrame(fn, pos, untimed ? NaN : t, t, u32[w + 1] as number, !untimed, 0, 0, -1);
      if (untimed) this.frames[level * FRAME + F_UNTIMED] = 1;
      this.ancestry(level, true);
      this.sink.push(this, level, PUSH_ENTER);
    } else if (kind === EV_EXIT || kind === EV_THROW) {
      if (this.depth === 0) return;
      const match = exitLevel(this.frames, FRAME, F_FN, this.depth, fn);
      if (match < 0) return;
      while (this.depth - 1 > match) this.closeTop(OUT_LOST_EXIT, pos, t);
      if (head >>> 31 === 1) this.frames[match * FRAME + F_TIMED] = 0;
      this.closeTop(kind === EV_THROW ? OUT_THROW : OUT_RETURN, pos, t);
    } else if (kind === EV_SUSPEND) {
      if (!suspendApplies(this.frames, FRAME, F_FN, this.depth, fn)) return;
      const level = this.depth - 1;
      const f = level * FRAME;
      const frames = this.frames;
      this.popActivation(t);
      this.sink.suspend(this, level);
      const slot = this.storeSuspended(
        frames[f + F_SERIAL] as number,
        fn,
        frames[f + F_CALL] as number,
        (frames[f + F_CARRIED] as number) + this.lastSegment,
        (frames[f + F_SELF_CARRIED] as number) + this.lastSelf,
        frames[f + F_ENTER_TIME] as number,
        frames[f + F_TIMED] === 1,
        frames[f + F_TAG] as number,
      );
      this.pool.set(frames.subarray(f + F_ANC, f + F_ANC_FN + ANCESTRY), slot * SUSPENDED + S_ANC);
      this.pool[slot * SUSPENDED + S_HOPS] = (frames[f + F_HOPS] as number) + 1;
    } else if (kind === EV_RESUME) {
      const serial = u32[w + 1] as number;
      const slot = this.suspended.get(serial);
      if (slot !== undefined) {
        this.suspended.delete(serial);
        this.free.push(slot);
        const p = slot * SUSPENDED;
        const pool = this.pool;
        const level = this.pushFrame(fn, pool[p + S_CALL] as number, t, pool[p + S_ENTER_TIME] as number, serial, pool[p + S_TIMED] === 1, pool[p + S_CARRIED] as number, pool[p + S_SELF_CARRIED] as number, pool[p + S_TAG] as number);
        this.frames.set(this.pool.subarray(p + S_ANC, p + S_ANC_FN + ANCESTRY), level * FRAME + F_ANC);
        this.frames[level * FRAME + F_HOPS] = pool[p + S_HOPS] as number;
        this.sink.push(this, level, PUSH_RESUME);
      } else {
        // No suspension of this serial is known: a call of its own, begun here.
        const level = this.pushFrame(fn, pos, t, t, serial, true, 0, 0, -1);
        this.ancestry(level, true);
        this.sink.push(this, level, PUSH_ORPHAN);
      }
    } else if (kind === EV_DROPPED) {
      this.sink.dropped?.(this, u32[w + 1] as number, this.depth, pos, t);
      while (this.depth > 0) {
        this.sink.forget(this, this.depth - 1);
        this.depth--;
      }
    } else if (kind === EV_EXT) {
      this.sink.ext(this, fn, u32[w + 1] as number, pos, t);
    }
  }

  /**
   * The end of the thread at `lastTime` (its last event's time): open frames close unfinished
   * (innermost first), then suspended calls are reported to `suspendedAtEnd` in order.
   */
  end(lastTime: number, pos: number, suspendedAtEnd: (slot: number, serial: number) => void): void {
    while (this.depth > 0) this.closeTop(OUT_UNFINISHED, pos, lastTime);
    for (const [serial, slot] of this.suspended) suspendedAtEnd(slot, serial);
  }
}
