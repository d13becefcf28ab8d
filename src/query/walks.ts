// The sinks the engine's walks use (machine.ts's MachineSink): following one call to fold its
// callees and collect its detail-lane values (CallSink), and collecting the calls a filter
// accepts inside one segment (SegmentCallsSink, with Criteria: what calls() accepts and which
// segments the index says may hold it). No Node-only imports.

import { EXT_DETAIL } from '../format/layout.js';
import type { CallBrief, CallFilter } from './answers.js';
import type { Fold } from './fold.js';
import { NullSink, OUT_DROPPED, OUT_THROW, OUT_UNFINISHED, PUSH_ENTER, PUSH_ORPHAN, PUSH_RESUME, type StackMachine } from './machine.js';
import type { ThreadIndex } from './thread-index.js';

/** Tags the walks below give frames (StackMachine.tag): seeded frames carry crossing rows (>= 0). */
export const NO_TAG = -1;
export const ORPHAN_TAG = -2;
/** Frames of a call's subtree carry -(NODE_BASE + node). */
export const NODE_BASE = 10;

/** Follows one call (the one that begins at `position`) through the walk. */
export class CallSink extends NullSink {
  /** The call ended (or was forgotten): the walk can stop. */
  done = false;
  ended = false;
  afterEnd = false;
  exitTime = 0;
  total: number | null = null;
  self: number | null = null;
  outcome = OUT_UNFINISHED;
  timed = true;
  readonly serials: number[] = [];
  /** The record of the last close (or -2), and whether it closed the call: a snapshot right after a close belongs to the call that ended. */
  lastClosePos = -2;
  private lastClosedCall = false;

  constructor(
    private readonly position: number,
    private readonly depth: number,
    private readonly fold: Fold,
  ) {
    super();
  }

  override push(m: StackMachine, level: number, how: number): void {
    // A resumed frame keeps the tag (its node) it was given when it began.
    if (how === PUSH_RESUME) return;
    if (m.call(level) === this.position) {
      m.setTag(level, -NODE_BASE); // the call itself: node 0
      return;
    }
    if (level === 0) return;
    const parentTag = m.tag(level - 1);
    if (parentTag > -NODE_BASE) return; // not beneath the call
    const parentNode = -NODE_BASE - parentTag;
    if (this.fold.depth(parentNode) >= this.depth) return; // deeper than asked
    const node = this.fold.child(parentNode, m.fn(level));
    m.setTag(level, -NODE_BASE - node);
    if (how === PUSH_ENTER) this.fold.entered(node);
  }

  override close(m: StackMachine, level: number, outcome: number, _exitPos: number, exitTime: number, total: number, self: number): void {
    const tag = m.tag(level);
    this.lastClosePos = m.lastPos;
    this.lastClosedCall = tag === -NODE_BASE;
    if (tag > -NODE_BASE) return;
    const node = -NODE_BASE - tag;
    if (node === 0) {
      this.ended = true;
      this.done = true;
      this.exitTime = exitTime;
      this.total = total;
      this.self = self;
      this.outcome = outcome;
      this.timed = m.timed(level);
      return;
    }
    this.fold.ended(node, total, self, outcome === OUT_THROW);
  }

  override forget(m: StackMachine, level: number): void {
    if (m.tag(level) === -NODE_BASE) {
      this.done = true;
      this.outcome = OUT_DROPPED;
    }
  }

  override ext(m: StackMachine, type: number, aux: number, pos: number): void {
    if (type !== EXT_DETAIL) return;
    // A snapshot right after a call ended is that call's (the call model's rule); any other
    // while the call runs on top, or right after it ended, is the call's.
    if (this.lastClosePos === pos - 1) {
      if (this.lastClosedCall) this.serials.push(aux);
      return;
    }
    const top = m.depth - 1;
    if (this.afterEnd || (top >= 0 && m.tag(top) === -NODE_BASE)) this.serials.push(aux);
  }

  /** Before a walk from a checkpoint whose previous record (at `pos`) ended some other call. */
  afterOtherEnd(pos: number): void {
    this.lastClosePos = pos;
    this.lastClosedCall = false;
  }

  /** The machine's end: a call still suspended is unfinished. */
  suspendedAtEnd(m: StackMachine, slot: number): void {
    if (m.suspendedTag(slot) !== -NODE_BASE) return;
    this.done = true;
    this.ended = true;
    this.outcome = OUT_UNFINISHED;
    this.total = m.suspendedCarried(slot);
    this.self = m.suspendedSelf(slot);
    this.timed = m.suspendedTimed(slot);
  }
}

/** What calls() accepts. */
export class Criteria {
  private readonly fromMs: number;
  private readonly toMs: number;
  private readonly slowerMs: number;
  private readonly shiftMs: number;

  constructor(
    private readonly filter: CallFilter,
    private readonly wanted: Set<number>,
    private readonly all: boolean,
    thread: { shiftMs: number },
  ) {
    // Segments are judged with a margin for rounding; calls by their enter time as answers show it.
    this.fromMs = filter.fromNs !== undefined ? (filter.fromNs - 1) / 1e6 - thread.shiftMs : -Infinity;
    this.toMs = filter.toNs !== undefined ? (filter.toNs + 1) / 1e6 - thread.shiftMs : Infinity;
    this.shiftMs = thread.shiftMs;
    this.slowerMs = filter.slowerThanNs !== undefined ? filter.slowerThanNs / 1e6 : -Infinity;
  }

  wants(fn: number): boolean {
    return this.all || this.wanted.has(fn);
  }

  /** Whether segment s can hold calls that began in the time range. */
  segmentInRange(index: ThreadIndex, s: number): boolean {
    const first = index.segTime[s] as number;
    const next = s + 1 < index.segTime.length ? (index.segTime[s + 1] as number) : index.lastTime;
    return next >= this.fromMs && first <= this.toMs;
  }

  /** Whether segment s may hold a call inside it that passes (by the index's per-function rows). */
  segmentMayHold(index: ThreadIndex, s: number): boolean {
    for (let i = index.fnStart[s] as number; i < (index.fnStart[s + 1] as number); i++) {
      if (!this.wants(index.fnId[i] as number) || index.fnEnters[i] === 0) continue;
      if (this.filter.threw === true && index.fnThrows[i] === 0) continue;
      if (this.slowerMs > -Infinity && !this.longer(index.fnMax[i] as number)) continue;
      return true;
    }
    return false;
  }

  /** Calls of the wanted functions that began in segment s (the index's per-function rows). */
  entersIn(index: ThreadIndex, s: number): number {
    let enters = 0;
    for (let i = index.fnStart[s] as number; i < (index.fnStart[s + 1] as number); i++) if (this.wants(index.fnId[i] as number)) enters += index.fnEnters[i] as number;
    return enters;
  }

  accepts(fn: number, enterTime: number, total: number | null, outcome: number): boolean {
    if (!this.wants(fn) || enterTime < this.fromMs || enterTime > this.toMs) return false;
    if (this.filter.fromNs !== undefined || this.filter.toNs !== undefined) {
      const ns = Math.round((this.shiftMs + enterTime) * 1e6);
      if ((this.filter.fromNs !== undefined && ns < this.filter.fromNs) || (this.filter.toNs !== undefined && ns > this.filter.toNs)) return false;
    }
    if (this.filter.threw === true && outcome !== OUT_THROW) return false;
    if (this.filter.threw === false && outcome === OUT_THROW) return false;
    if (this.slowerMs > -Infinity && (total === null || !this.longer(total))) return false;
    return true;
  }

  /** A duration (ms) is longer than slowerThanNs as answers give it: in whole ns (else a call of 100000.4 ns passed "slower than 100 µs" and was answered as 100000 ns). */
  private longer(ms: number): boolean {
    return Math.round(ms * 1e6) > (this.filter.slowerThanNs as number);
  }
}

/**
 * Collects the calls that begin and end (or are forgotten) inside one segment. `complete` once
 * every call of the wanted functions that began in the segment (`enters`, from the index) has
 * ended: the rest of the segment holds none, and the walk may stop there. A call still running
 * at the segment's end keeps it false (it is a row of the index, listed from there).
 */
export class SegmentCallsSink extends NullSink {
  /** Wanted calls begun in the segment so far, and of those, the ones not yet ended. */
  private begun = 0;
  private running = 0;
  complete: boolean;

  /** `brief` makes the answer's entry for a call (QueryEngine.brief for the thread). */
  constructor(
    private readonly criteria: Criteria,
    private readonly from: number,
    private readonly segFrom: number,
    private readonly enters: number,
    private readonly found: CallBrief[],
    private readonly brief: (position: number, fn: number, enterTime: number, total: number | null, self: number | null, outcome: number, timed: boolean) => CallBrief,
  ) {
    super();
    this.complete = enters === 0;
  }

  override push(m: StackMachine, level: number, how: number): void {
    if (how === PUSH_ORPHAN) m.setTag(level, ORPHAN_TAG);
    else if (how === PUSH_ENTER && this.criteria.wants(m.fn(level))) {
      this.begun++;
      this.running++;
      this.complete = false;
    }
  }

  override close(m: StackMachine, level: number, outcome: number, _exitPos: number, _exitTime: number, total: number, self: number): void {
    if (m.tag(level) !== NO_TAG) return; // a row (listed from the index) or an orphan
    this.ended(m, level);
    this.take(m, level, total, self, outcome);
  }

  override forget(m: StackMachine, level: number): void {
    if (m.tag(level) !== NO_TAG) return;
    this.ended(m, level);
    this.take(m, level, null, null, OUT_DROPPED);
  }

  private ended(m: StackMachine, level: number): void {
    if (m.call(level) >= this.segFrom && this.criteria.wants(m.fn(level))) {
      this.running--;
      this.complete = this.running === 0 && this.begun >= this.enters;
    }
  }

  private take(m: StackMachine, level: number, total: number | null, self: number | null, outcome: number): void {
    const position = m.call(level);
    if (position < this.from) return;
    const fn = m.fn(level);
    const enterTime = m.enterTime(level);
    if (!this.criteria.accepts(fn, enterTime, total, outcome)) return;
    this.found.push(this.brief(position, fn, enterTime, total, self, outcome, m.timed(level)));
  }
}
