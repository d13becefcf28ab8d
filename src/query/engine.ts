// The query engine: questions about one opened trace answered from its index, walking only
// the records they need — from the checkpoint before the moment asked about to that moment
// (stackAt), through one call's own records (call, subtree), or the segments the index says
// hold calls of the functions asked for (calls). Every walk is the stack machine of machine.ts
// (the summary's rules). Times in answers are nanoseconds since the trace started, as in the
// CLI views. Reading records and detail-lane values comes through the interfaces below, so
// this file has no Node-only imports (open.ts supplies them from files).

import { RecallError } from '../format/errors.js';
import { EV_EXIT, EV_THROW, EXT_CATCH, EXT_DETAIL, EXT_SPAN_BEGIN, EXT_SPAN_END } from '../format/layout.js';
import type { Call } from '../analysis/calls.js';
import { own, ScheduleFinder, SnapshotOwner, TreeSink, type CallTree, type CallTreeOptions } from './call-tree.js';
import type { FunctionEntry } from '../format/manifest.js';
import { AWAITING_SHOWN, type LogicalFrame, type LogicalStackAnswer, type CallAnswer, type CallBrief, type CallFilter, type CallsPage, type DetailValue, type Frame, type FunctionStats, type StackAnswer, type SubtreeAnswer } from './answers.js';
import { Fold } from './fold.js';
import { callId, cursorOf, parseCallId, parseCursor } from './ids.js';
import { nameMatcher } from './glob.js';
import { ANCESTRY, NullSink, OUTCOME_NAMES, OUT_DROPPED, OUT_LOST_EXIT, OUT_THROW, OUT_UNFINISHED, PUSH_ENTER, Estimates, StackMachine } from './machine.js';
import { FLAG_ORPHAN, FLAG_TIMED, crossingRow, firstRowFrom, lastAtMost, type ThreadIndex } from './thread-index.js';
import { CallSink, Criteria, NODE_BASE, SegmentCallsSink } from './walks.js';

export type { CallTree, CallTreeOptions, TreeSpan, TreeDrop } from './call-tree.js';
export type { CallAnswer, CallBrief, CallFilter, CallsPage, DetailValue, FoldedChild, Frame, FunctionStats, LogicalFrame, LogicalStackAnswer, StackAnswer, SubtreeAnswer } from './answers.js';

/** Records of a thread, read back (store.ts's RecordReader). */
export interface RecordSource {
  read(index: ThreadIndex, from: number, to: number): { u32: Uint32Array; f64: Float64Array; word: number; count: number };
}

/** The detail-lane snapshots of a thread, found by serial (none when none were recorded). */
export type DetailSource = (thread: number) => { get(serial: number): DetailValue | undefined };

export interface EngineThread {
  index: ThreadIndex;
  /** Thread time (ms) minus trace time (ms): trace ns = round((time + shiftMs) * 1e6). */
  shiftMs: number;
}

/** Records read and walked at a time. */
const PIECE = 1 << 16;

/** A thread's clock reading (ms) as ns since the trace began; also in traces without times, whose records still carry one (the order of events needs it). */
function clockNs(thread: EngineThread, ms: number): number {
  return Math.round((thread.shiftMs + ms) * 1e6);
}
/** Awaits followed back at most by logicalStackAt. */
const MAX_HOPS = 256;

export class QueryEngine {
  /**
   * `times`: false for a --timing none trace (order and counts only): every time and duration
   * in answers is then NaN (null in JSON), and questions by time or duration are refused.
   */
  constructor(
    readonly threads: EngineThread[],
    readonly functions: Map<number, FunctionEntry>,
    readonly segmentRecords: number,
    private readonly source: RecordSource,
    private readonly details: DetailSource,
    readonly times = true,
  ) {}

  /** Per thread, made on first use: function -> the segments where it began a call (segments[start[fn] .. start[fn + 1])). */
  private readonly inverted: { start: Uint32Array; segments: Uint32Array; rows: Uint32Array }[] = [];
  /** The function ids a name glob matches, for the last few globs asked (a question asks up to three times). */
  private readonly matches = new Map<string, Set<number>>();

  private needTimes(what: string): void {
    if (!this.times) throw new RecallError('E_USAGE', `${what}: this trace was recorded with --timing none and has no times: ask by event (position) or call id`);
  }

  /** Per thread, made on first use: adaptive timing's final estimates (index totals), frozen, for walks that start mid-thread. */
  private readonly estimates = new Map<EngineThread, Estimates>();

  private estimatesFor(thread: EngineThread): Estimates {
    let estimates = this.estimates.get(thread);
    if (estimates === undefined) {
      estimates = Estimates.frozen(thread.index.totals.fn, thread.index.totals.estimate);
      this.estimates.set(thread, estimates);
    }
    return estimates;
  }

  private thread(index: number): EngineThread {
    const thread = this.threads[index];
    if (!thread) throw new RecallError('E_USAGE', `no thread ${index} in this trace; threads: 0-${this.threads.length - 1}`);
    return thread;
  }

  nameOf(fn: number): string {
    return this.functions.get(fn)?.name ?? `#${fn}`;
  }

  private ns(thread: EngineThread, ms: number): number {
    return this.times ? clockNs(thread, ms) : NaN;
  }

  private span(ms: number): number {
    return this.times ? Math.round(ms * 1e6) : NaN;
  }

  /** A machine seeded with segment s's checkpoint, and the position it starts at. */
  private seeded(thread: EngineThread, s: number, machine: StackMachine, tagOf: (row: number) => number = (row) => row): number {
    const index = thread.index;
    const from = index.cpStart[s] as number;
    const depth = index.cpDepth[s] as number;
    const to = index.cpStart[s + 1] as number;
    for (let i = from; i < to; i++) {
      const row = index.cpRows[i] as number;
      const fn = index.cpFn[i] as number;
      if (i < from + depth) machine.seedFrame(fn, index.xCall[row] as number, index.xEnterTime[row] as number, index.xSerial[row] as number, tagOf(row));
      else machine.seedSuspended(index.xSerial[row] as number, fn, index.xCall[row] as number, index.xEnterTime[row] as number, tagOf(row));
    }
    return s * this.segmentRecords;
  }

  /** Step `machine` over records [from, to), piece by piece; `stop()` ends the walk early (checked after each record). */
  private walk(thread: EngineThread, machine: StackMachine, from: number, to: number, stop: () => boolean = () => false): number {
    let pos = from;
    const end = Math.min(to, thread.index.records);
    while (pos < end) {
      const range = this.source.read(thread.index, pos, Math.min(end, pos + PIECE));
      for (let r = 0; r < range.count; r++) {
        machine.step(range.u32, range.f64, range.word + r * 4, pos);
        pos++;
        if (stop()) return pos;
      }
      if (range.count === 0) break;
    }
    return pos;
  }

  /** The position of the last record at or before `timeNs` on the thread (-1: none). */
  positionAt(threadIndex: number, timeNs: number): number {
    this.needTimes('stack at a time');
    const thread = this.thread(threadIndex);
    const index = thread.index;
    // Times are compared as answers show them (whole ns since the trace started); the segment
    // search allows for that rounding.
    const ms = (timeNs + 1) / 1e6 - thread.shiftMs;
    let s = lastAtMost(index.segTime, index.segTime.length, ms);
    while (s >= 0 && this.ns(thread, index.segTime[s] as number) > timeNs) s--;
    if (s < 0) return -1;
    const from = s * this.segmentRecords;
    const range = this.source.read(index, from, Math.min(index.records, from + this.segmentRecords));
    let last = from;
    for (let r = 0; r < range.count; r++) {
      if (this.ns(thread, range.f64[((range.word + r * 4) >> 1) + 1] as number) > timeNs) break;
      last = from + r;
    }
    return last;
  }

  /** The open frames after the record at `position` was applied (or at a time: after the last record at or before it). */
  stackAt(threadIndex: number, at: { position: number } | { timeNs: number }): StackAnswer {
    const thread = this.thread(threadIndex);
    const index = thread.index;
    const position = 'position' in at ? at.position : this.positionAt(threadIndex, at.timeNs);
    if (!Number.isInteger(position) || position >= index.records) {
      throw new RecallError('E_USAGE', `thread ${threadIndex} has events e0-e${index.records - 1}; there is no e${position}`);
    }
    const machine = new StackMachine(new NullSink(), this.estimatesFor(thread));
    if (position >= 0) {
      const s = Math.floor(position / this.segmentRecords);
      const from = this.seeded(thread, s, machine);
      this.walk(thread, machine, from, position + 1);
    }
    const frames: Frame[] = [];
    for (let level = 0; level < machine.depth; level++) frames.push(this.frame(threadIndex, thread, machine, level));
    const awaiting: Frame[] = [];
    for (const slot of machine.suspended.values()) {
      if (awaiting.length === AWAITING_SHOWN) break;
      const fn = machine.suspendedFn(slot);
      awaiting.push({ id: callId(threadIndex, machine.suspendedCall(slot)), fn, name: this.nameOf(fn), enterNs: this.ns(thread, machine.suspendedEnterTime(slot)) });
    }
    return {
      thread: threadIndex,
      threadId: index.threadId,
      position,
      timeNs: 'timeNs' in at ? at.timeNs : position >= 0 ? this.ns(thread, machine.lastTime) : null,
      eventNs: position >= 0 ? this.ns(thread, machine.lastTime) : null,
      frames,
      awaiting,
      suspended: machine.suspended.size,
    };
  }

  /**
   * The logical stack at a moment: the physical stack, then, for a frame that runs again after
   * an await (its callers at its start are no longer under it), the stack when it began, and
   * so on back. Each hop is one stackAt at an enter (a walk of at most a segment).
   */
  logicalStackAt(threadIndex: number, at: { position: number } | { timeNs: number }): LogicalStackAnswer {
    const now = this.stackAt(threadIndex, at);
    const frames: LogicalFrame[] = [...now.frames].reverse().map((f) => ({ ...f, resumed: false }));
    let hops = 0;
    const seen = new Set<string>();
    for (let outer = frames[frames.length - 1]; outer !== undefined && hops < MAX_HOPS && !seen.has(outer.id); outer = frames[frames.length - 1]) {
      seen.add(outer.id);
      const began = this.stackAt(threadIndex, { position: parseCallId(outer.id).position });
      hops++;
      const callers = began.frames.slice(0, -1);
      if (callers.length === 0) break;
      outer.resumed = true;
      for (let i = callers.length - 1; i >= 0; i--) frames.push({ ...callers[i]!, resumed: false });
    }
    const onStack = new Set(frames.map((f) => f.id));
    return {
      thread: now.thread,
      threadId: now.threadId,
      position: now.position,
      timeNs: now.timeNs,
      eventNs: now.eventNs,
      frames,
      awaiting: now.awaiting.filter((f) => !onStack.has(f.id)),
      suspended: now.suspended,
      hops,
    };
  }

  private frame(threadIndex: number, thread: EngineThread, machine: StackMachine, level: number): Frame {
    const fn = machine.fn(level);
    return { id: callId(threadIndex, machine.call(level)), fn, name: this.nameOf(fn), enterNs: this.ns(thread, machine.enterTime(level)) };
  }

  /** One call: its times, outcome, callers, callees folded by function and recorded values. */
  call(id: string): CallAnswer {
    const { thread: threadIndex, position } = parseCallId(id);
    const thread = this.thread(threadIndex);
    const found = this.callWalk(threadIndex, thread, position, 1, true);
    const fn = found.fn;
    const entry = this.functions.get(fn);
    return {
      id: callId(threadIndex, position),
      thread: threadIndex,
      threadId: thread.index.threadId,
      fn,
      name: this.nameOf(fn),
      file: entry?.file ?? '',
      line: entry?.line ?? 0,
      enterNs: this.ns(thread, found.enterTime),
      exitNs: found.exitTime === null ? null : this.ns(thread, found.exitTime),
      durationNs: found.total === null ? null : this.span(found.total),
      selfNs: found.self === null ? null : this.span(found.self),
      timed: found.timed,
      outcome: OUTCOME_NAMES[found.outcome] ?? 'unfinished',
      parents: found.parents.map((pos) => callId(threadIndex, pos)),
      children: found.fold.children(0, 1),
      values: found.values,
      walked: found.walked,
    };
  }

  /**
   * The values recorded for one call (its detail-lane snapshots, as call() gives them), without
   * its callees: for a long call, the index's folded callees are not read.
   */
  callValues(id: string): DetailValue[] {
    const { thread: threadIndex, position } = parseCallId(id);
    return this.callWalk(threadIndex, this.thread(threadIndex), position, 0, true).values;
  }

  /**
   * The calls beneath one call, folded by function path down to `depth` levels. A call that
   * outlives its segment is answered from the index's folds up to 3 levels; deeper, or with
   * `walk` (for checks), its records are walked.
   */
  subtree(id: string, depth: number, options: { walk?: boolean } = {}): SubtreeAnswer {
    if (!Number.isInteger(depth) || depth < 1) throw new RecallError('E_USAGE', `subtree: depth must be a whole number >= 1, not ${depth}`);
    const { thread: threadIndex, position } = parseCallId(id);
    const thread = this.thread(threadIndex);
    const found = this.callWalk(threadIndex, thread, position, depth, false, options.walk === true);
    return {
      id: callId(threadIndex, position),
      name: this.nameOf(found.fn),
      totalNs: found.total === null ? null : this.span(found.total),
      selfNs: found.self === null ? null : this.span(found.self),
      depth,
      children: found.fold.children(0, depth),
      walked: found.walked,
    };
  }

  /**
   * Walk from the checkpoint before `position` through the call that began there, to the
   * record after its end: its callers, times, outcome, callees folded to `depth`, and (with
   * `values`) the detail-lane snapshots that belong to it.
   */
  private callWalk(threadIndex: number, thread: EngineThread, position: number, depth: number, values: boolean, walkAll = false): CallWalkResult {
    const index = thread.index;
    if (!Number.isInteger(position) || position < 0 || position >= index.records) {
      throw new RecallError('E_USAGE', `there is no call ${callId(threadIndex, position)}: thread ${threadIndex} has events e0-e${index.records - 1}`);
    }
    const fold = new Fold((fn) => this.nameOf(fn));
    const sink = new CallSink(position, depth, fold);
    const machine = new StackMachine(sink, this.estimatesFor(thread));
    const s = Math.floor(position / this.segmentRecords);
    const from = this.seeded(thread, s, machine);
    this.walk(thread, machine, from, position + 1);
    const level = machine.depth - 1;
    if (level < 0 || machine.call(level) !== position || machine.lastPos !== position) {
      throw new RecallError('E_NO_MATCH', `no call began at ${callId(threadIndex, position)} (event e${position} is not a call's enter)`);
    }
    const parents: number[] = [];
    for (let l = 0; l < level; l++) parents.push(machine.call(l));
    const fn = machine.fn(level);
    const enterTime = machine.enterTime(level);
    const segEnd = Math.min(index.records, (s + 1) * this.segmentRecords);
    const row = crossingRow(index, position);
    if (!walkAll && depth <= ANCESTRY && index.folds && row >= 0 && (index.xExitPos[row] as number) >= segEnd && segEnd < index.records) {
      // A call that outlives its first segment: its callees there by walking it, the rest and
      // its end from the index, its values from the segments where it began and ended.
      this.walk(thread, machine, position + 1, segEnd);
      if (depth > 0) fold.addTrie(index, row, depth);
      let walked = segEnd - from;
      const serials = [...sink.serials];
      const outcome = index.xOutcome[row] as number;
      const exitPos = index.xExitPos[row] as number;
      if (values && outcome !== OUT_DROPPED && outcome !== OUT_UNFINISHED && exitPos < index.records) {
        const after = new CallSink(position, 0, new Fold((fn) => this.nameOf(fn)));
        const end = new StackMachine(after, this.estimatesFor(thread));
        const endFrom = this.seeded(thread, Math.floor(exitPos / this.segmentRecords), end);
        if (endFrom > 0 && this.endsACall(thread, endFrom - 1)) after.afterOtherEnd(endFrom - 1);
        for (let l = 0; l < end.depth; l++) if (end.call(l) === position) end.setTag(l, -NODE_BASE);
        for (const slot of end.suspended.values()) if (end.suspendedCall(slot) === position) end.setSuspendedTag(slot, -NODE_BASE);
        let to = this.walk(thread, end, endFrom, exitPos + 1);
        if (after.ended && to < index.records) {
          after.afterEnd = true;
          to = this.walk(thread, end, to, to + 1);
        }
        walked += to - endFrom;
        serials.push(...after.serials);
      }
      return {
        fn,
        enterTime,
        exitTime: outcome === OUT_DROPPED || outcome === OUT_UNFINISHED ? null : (index.xExitTime[row] as number),
        total: outcome === OUT_DROPPED ? null : (index.xTotal[row] as number),
        self: outcome === OUT_DROPPED ? null : (index.xSelf[row] as number),
        outcome,
        timed: ((index.xFlags[row] as number) & FLAG_TIMED) !== 0,
        parents,
        fold,
        values: this.valuesOf(threadIndex, values, serials),
        walked,
      };
    }
    let walkedTo = this.walk(thread, machine, position + 1, index.records, () => sink.done);
    if (!sink.done) {
      machine.end(index.lastTime, index.records, (slot) => sink.suspendedAtEnd(machine, slot));
    }
    // The record right after the end may hold the call's values (a snapshot taken at its exit).
    if (values && sink.ended && sink.outcome !== OUT_UNFINISHED && walkedTo < index.records) {
      sink.afterEnd = true;
      walkedTo = this.walk(thread, machine, walkedTo, walkedTo + 1);
    }
    const outcome = sink.outcome;
    return {
      fn,
      enterTime,
      exitTime: outcome === OUT_DROPPED || outcome === OUT_UNFINISHED ? null : sink.exitTime,
      total: outcome === OUT_DROPPED ? null : sink.total,
      self: outcome === OUT_DROPPED ? null : sink.self,
      outcome,
      timed: sink.timed,
      parents,
      fold,
      values: this.valuesOf(threadIndex, values, sink.serials),
      walked: walkedTo - from,
    };
  }

  /** The detail snapshots of `serials` (those CallSink found to be the call's, by the call model's rule). */
  private valuesOf(threadIndex: number, wanted: boolean, serials: number[]): DetailValue[] {
    if (!wanted || serials.length === 0) return [];
    const details = this.details(threadIndex);
    const found: DetailValue[] = [];
    for (const serial of serials) {
      const value = details.get(serial);
      if (value) found.push(value);
    }
    return found;
  }

  /** Calls of the functions a filter names, in order of position, a page at a time. */
  calls(filter: CallFilter = {}): CallsPage {
    if (filter.slowerThanNs !== undefined || filter.fromNs !== undefined || filter.toNs !== undefined) this.needTimes('calls slower than or in a time range');
    const limit = filter.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1) throw new RecallError('E_USAGE', `calls: limit must be a whole number >= 1, not ${limit}`);
    const wanted = filter.function !== undefined ? this.functionsMatching(filter.function) : new Set<number>();
    const match = filter.function !== undefined;
    if (match && wanted.size === 0) throw new RecallError('E_NO_MATCH', `no function matches '${filter.function}'`);
    const start = filter.cursor !== undefined ? parseCursor(filter.cursor) : { thread: filter.thread ?? 0, position: 0 };
    const out: CallBrief[] = [];
    const page: CallsPage = { calls: out, cursor: null, segmentsWalked: 0, segmentsSkipped: 0 };
    const threads = filter.thread !== undefined ? [filter.thread] : this.threads.map((_, i) => i);
    for (const threadIndex of threads) {
      if (threadIndex < start.thread) continue;
      const thread = this.thread(threadIndex);
      const index = thread.index;
      const from = threadIndex === start.thread ? start.position : 0;
      const criteria = new Criteria(filter, wanted, !match, thread);
      const segments = index.segTime.length;
      // Only the segments where a wanted function began a call can hold a match (its rows
      // included: a row's call began in its segment); the others are skipped unread.
      const candidates = match ? this.segmentsEntering(threadIndex, wanted) : null;
      const firstSegment = Math.floor(from / this.segmentRecords);
      let c = candidates === null ? 0 : lastAtMost(candidates, candidates.length, firstSegment - 1) + 1;
      if (candidates !== null) page.segmentsSkipped += segments - firstSegment - (candidates.length - c);
      for (let s = candidates === null ? firstSegment : (candidates[c] ?? segments); s < segments; s = candidates === null ? s + 1 : (candidates[++c] ?? segments)) {
        const segFrom = s * this.segmentRecords;
        const segTo = Math.min(index.records, segFrom + this.segmentRecords);
        if (!criteria.segmentInRange(index, s)) {
          page.segmentsSkipped++;
          continue;
        }
        // Calls in rows (live at a checkpoint or the end) and calls inside the segment.
        const found: CallBrief[] = [];
        for (let row = firstRowFrom(index, Math.max(from, segFrom)); row < index.xCall.length && (index.xCall[row] as number) < segTo; row++) {
          if (((index.xFlags[row] as number) & FLAG_ORPHAN) !== 0) continue;
          const fn = index.xFn[row] as number;
          const outcome = index.xOutcome[row] as number;
          const total = outcome === OUT_DROPPED ? null : (index.xTotal[row] as number);
          if (!criteria.accepts(fn, index.xEnterTime[row] as number, total, outcome)) continue;
          const timed = ((index.xFlags[row] as number) & FLAG_TIMED) !== 0;
          found.push(this.brief(threadIndex, thread, index.xCall[row] as number, fn, index.xEnterTime[row] as number, total, outcome === OUT_DROPPED ? null : (index.xSelf[row] as number), outcome, timed));
        }
        if (criteria.segmentMayHold(index, s)) {
          page.segmentsWalked++;
          const sink = new SegmentCallsSink(criteria, Math.max(from, segFrom), segFrom, criteria.entersIn(index, s), found, (position, fn, enterTime, total, self, outcome, timed) =>
            this.brief(threadIndex, thread, position, fn, enterTime, total, self, outcome, timed),
          );
          const machine = new StackMachine(sink, this.estimatesFor(thread));
          // Until every call of the wanted functions that began in the segment has ended.
          this.walk(thread, machine, this.seeded(thread, s, machine), segTo, () => sink.complete);
        } else {
          page.segmentsSkipped++;
        }
        found.sort((a, b) => positionOf(a.id) - positionOf(b.id));
        for (const brief of found) {
          if (out.length === limit) {
            page.cursor = cursorOf(threadIndex, positionOf(brief.id));
            return page;
          }
          out.push(brief);
        }
      }
    }
    return page;
  }

  brief(threadIndex: number, thread: EngineThread, position: number, fn: number, enterTime: number, total: number | null, self: number | null, outcome: number, timed: boolean): CallBrief {
    return {
      id: callId(threadIndex, position),
      fn,
      name: this.nameOf(fn),
      enterNs: this.ns(thread, enterTime),
      durationNs: total === null ? null : this.span(total),
      selfNs: self === null ? null : this.span(self),
      timed,
      outcome: OUTCOME_NAMES[outcome] ?? 'unfinished',
    };
  }

  /**
   * What ran on a thread in [fromNs, toNs]: per function, the calls that began in it, and self
   * and inclusive time clipped to it (a call that began before `fromNs` counts the part inside;
   * inclusive time counts once per outermost activation, as the summary does); throws of calls
   * that ended in it; `unfinished`: activations still running at its end. Walks from the
   * checkpoint before `fromNs` to the first record after `toNs`. Untimed activations (adaptive
   * timing) give their time to the frame that was timed before them.
   */
  rangeStats(threadIndex: number, fromNs: number, toNs: number): { functions: FunctionStats[]; walked: number } {
    this.needTimes('a time range');
    if (!(toNs >= fromNs)) throw new RecallError('E_USAGE', `range: the end (${toNs} ns) is before the start (${fromNs} ns)`);
    const thread = this.thread(threadIndex);
    const fromMs = fromNs / 1e6 - thread.shiftMs;
    const toMs = toNs / 1e6 - thread.shiftMs;
    const sink = new RangeSink(toMs);
    const machine = new StackMachine(sink, this.estimatesFor(thread));
    const start = this.positionAt(threadIndex, fromNs);
    let pos = 0;
    if (start >= 0) {
      const s = Math.floor(start / this.segmentRecords);
      pos = this.walk(thread, machine, this.seeded(thread, s, machine), start + 1);
    }
    sink.arm(machine, fromMs);
    let prevT = fromMs;
    let prevTop = machine.depth > 0 ? machine.fn(machine.depth - 1) : -1;
    let ended = false;
    const walkedTo = this.walk(thread, machine, pos, thread.index.records, () => {
      const t = machine.lastTime;
      const clipped = t > toMs ? toMs : t;
      if (prevTop >= 0 && clipped > prevT) sink.addSelf(prevTop, clipped - prevT);
      if (clipped > prevT) prevT = clipped;
      prevTop = machine.depth > 0 ? machine.fn(machine.depth - 1) : -1;
      if (t > toMs) ended = true;
      return ended;
    });
    const endMs = ended ? toMs : Math.min(toMs, thread.index.lastTime);
    if (!ended && prevTop >= 0 && endMs > prevT) sink.addSelf(prevTop, endMs - prevT);
    sink.finish(endMs);
    const functions = [...sink.stats.entries()].map(([fn, v]) => ({
      fn,
      name: this.nameOf(fn),
      calls: v.calls,
      totalNs: this.span(v.total),
      selfNs: Math.min(this.span(v.total), Math.max(0, this.span(v.self))),
      untimedCalls: v.untimed,
      estimatedNs: this.span(v.estimated),
      throws: v.throws,
      unfinished: v.unfinished,
    }));
    return { functions, walked: walkedTo - (start >= 0 ? Math.floor(start / this.segmentRecords) * this.segmentRecords : 0) };
  }

  /**
   * Every activation of a thread in order, for exports: `open` when a frame goes on the stack
   * (a call's enter, or its resume after an await), `close` when it leaves (return, throw,
   * suspension at an await, lost exit, drop, or the end of the thread), properly nested. Times
   * are ns since the trace began (untimed records carry the last clock read); on the axis
   * 'events', record positions instead (as walkActivationsAt). One walk of the thread's records
   * through the stack machine, with no object per event.
   */
  walkActivations(threadIndex: number, visitor: ActivationVisitor, axis: ActivationAxis = 'time'): void {
    const thread = this.thread(threadIndex);
    const sink = new ActivationSink(visitor, axis === 'time' ? (_pos, ms) => clockNs(thread, ms) : (pos) => pos);
    const machine = new StackMachine(sink, this.estimatesFor(thread));
    this.walk(thread, machine, 0, thread.index.records);
    sink.ending = true;
    machine.end(thread.index.lastTime, thread.index.records, () => {});
  }

  /**
   * walkActivationsIn by record position (the axis 'events': the viewer's sequential layout, and
   * traces without times): the visitor is told positions where it is told times otherwise (an
   * activation runs from the record that began or resumed it to the one that ended or suspended
   * it; frames open at the checkpoint are told at their enter's position), so calls are laid out
   * in order, each as wide as the records it ran through. The walk starts at the checkpoint
   * before `fromPos` and stops after the record at `toPos`.
   */
  walkActivationsAt(threadIndex: number, fromPos: number, toPos: number, visitor: ActivationVisitor): { walked: number; stopped: boolean } {
    const thread = this.thread(threadIndex);
    const sink = new ActivationSink(visitor, (pos) => pos);
    const machine = new StackMachine(sink, this.estimatesFor(thread));
    const start = Math.min(Math.max(0, Math.floor(fromPos)), thread.index.records);
    let from = 0;
    if (start > 0 && thread.index.records > 0) {
      from = this.seeded(thread, Math.floor(Math.min(start, thread.index.records - 1) / this.segmentRecords), machine);
      for (let level = 0; level < machine.depth; level++) visitor.open(machine.fn(level), machine.call(level), machine.call(level), 'enter');
    }
    let stopped = false;
    const to = this.walk(thread, machine, from, thread.index.records, () => (stopped = machine.lastPos > toPos));
    if (!stopped) {
      sink.ending = true;
      machine.end(thread.index.lastTime, thread.index.records, () => {});
    }
    return { walked: to - from, stopped };
  }

  /**
   * walkActivations for a time window (the viewer's timeline): the walk starts at the index
   * checkpoint before `fromNs`, not at the thread's start. First `open` is told of each frame
   * on the stack at that checkpoint (outermost first, at its call's enter time, which is at or
   * before `fromNs`); then activations as walkActivations reports them, until the first record
   * later than `toNs` has been applied: the frames still open then are not closed (they run
   * past `toNs`). At the thread's end open frames close 'unfinished', as in walkActivations.
   * Returns the records walked and whether the walk stopped after `toNs` (false: the thread ended).
   */
  walkActivationsIn(threadIndex: number, fromNs: number, toNs: number, visitor: ActivationVisitor): { walked: number; stopped: boolean } {
    this.needTimes('a time window');
    const thread = this.thread(threadIndex);
    const shift = thread.shiftMs;
    const sink = new ActivationSink(visitor, (_pos, ms) => clockNs(thread, ms));
    const machine = new StackMachine(sink, this.estimatesFor(thread));
    const start = this.positionAt(threadIndex, fromNs);
    let from = 0;
    if (start >= 0) {
      from = this.seeded(thread, Math.floor(start / this.segmentRecords), machine);
      for (let level = 0; level < machine.depth; level++) visitor.open(machine.fn(level), machine.call(level), this.ns(thread, machine.enterTime(level)), 'enter');
    }
    const toMs = toNs / 1e6 - shift;
    let stopped = false;
    const to = this.walk(thread, machine, from, thread.index.records, () => (stopped = machine.lastTime > toMs));
    if (!stopped) {
      sink.ending = true;
      machine.end(thread.index.lastTime, thread.index.records, () => {});
    }
    return { walked: to - from, stopped };
  }

  /**
   * The exact call tree of a thread down to `maxDepth` (call-tree.ts): one walk of its records
   * through the stack machine, where a segment is skipped unread when no node can begin or end
   * in it — a plain call (not async: it cannot leave the stack and come back) at the node depth
   * or deeper is open at both of its checkpoints, and nothing that could run above it in the
   * segment counts into another node (see skippable).
   * The calls that began in a skipped segment are counted into that depth's node, from the
   * index. `enough`, asked at segment boundaries as the tree grows, may end the walk early: the
   * nodes open then are completed from the index (their ends, outcomes and values).
   */
  callTree(threadIndex: number, options: CallTreeOptions = {}): CallTree {
    const thread = this.thread(threadIndex);
    const index = thread.index;
    const ns = (ms: number): number => clockNs(thread, ms);
    const sink = new TreeSink(options.maxDepth ?? Infinity, (fn) => this.nameOf(fn), ns, this.details(threadIndex));
    const skipped: number[] = [];
    sink.resolveLink = (link) => this.schedulerIn(thread, skipped, link, sink);
    const tree: CallTree = { root: sink.root, spans: sink.spans, drops: sink.drops, hopEvents: sink.hopEvents, walkedTo: 0, complete: false, segmentsWalked: 0, segmentsSkipped: 0, nodes: 1, pending: new Set(), ends: new Map() };
    let machine = new StackMachine(sink, this.estimatesFor(thread));
    const segments = index.segTime.length;
    let checkAt = 2;
    for (let s = 0; s < segments; s++) {
      const segTo = Math.min(index.records, (s + 1) * this.segmentRecords);
      const owner = s + 1 < segments ? this.skippable(index, s, machine, sink) : -1;
      if (owner >= 0) {
        let enters = 0;
        for (let r = index.fnStart[s] as number; r < (index.fnStart[s + 1] as number); r++) enters += index.fnEnters[r] as number;
        (sink.nodes[owner] as Call).descendants += enters;
        this.spansIn(threadIndex, thread, s, sink);
        machine = this.reseeded(thread, s + 1, machine, sink, owner);
        skipped.push(s);
        tree.segmentsSkipped++;
      } else {
        this.walk(thread, machine, s * this.segmentRecords, segTo);
        tree.segmentsWalked++;
      }
      tree.walkedTo = segTo;
      tree.nodes = sink.nodes.length;
      if (options.enough && segTo < index.records && sink.nodes.length >= checkAt) {
        checkAt = Math.max(sink.nodes.length + 1, Math.ceil(sink.nodes.length * 1.25));
        tree.pending = sink.pendingNodes(machine);
        tree.ends = this.openEnds(thread, machine, sink);
        if (options.enough(tree)) {
          this.completeOpen(thread, machine, sink, segTo);
          return tree;
        }
      }
    }
    machine.end(index.lastTime, index.records, (slot) => sink.suspendedAtEnd(machine, slot, ns(index.lastTime)));
    tree.complete = true;
    tree.pending = new Set();
    tree.ends = new Map();
    tree.spans.sort((a, b) => a.event - b.event);
    return tree;
  }

  /** Whether segment s of a call-tree walk may be skipped: the node that counts its calls, else -1 (see callTree). */
  private skippable(index: ThreadIndex, s: number, machine: StackMachine, sink: TreeSink): number {
    const at = index.cpStart[s] as number;
    const depth = index.cpDepth[s] as number;
    const next = index.cpStart[s + 1] as number;
    if (machine.depth !== depth) return -1;
    const shared = Math.min(depth, index.cpDepth[s + 1] as number);
    let level = -1;
    while (level + 1 < shared && index.cpRows[at + level + 1] === index.cpRows[next + level + 1]) level++;
    while (level >= 0 && index.xSerial[index.cpRows[at + level] as number] !== 0) level--;
    const tag = level < 0 ? 0 : machine.tag(level);
    if (level < 0 || !sink.atDepthLimit(tag)) return -1;
    // Every call that begins in the segment begins above that frame; it counts into the node
    // its caller counts into. So every frame above it, and every suspended generator (its
    // next() can resume it anywhere; an await resumes only from an empty stack), must count
    // into the same node: a generator started elsewhere counts into the node that started it.
    const owner = TreeSink.owner(tag);
    for (let l = level + 1; l < depth; l++) if (TreeSink.owner(machine.tag(l)) !== owner) return -1;
    for (const slot of machine.suspended.values()) {
      if (TreeSink.owner(machine.suspendedTag(slot)) !== owner && this.functions.get(machine.suspendedFn(slot))?.kind.includes('generator') !== false) return -1;
    }
    // A node at the depth limit may be the running call in the segment: a catch clause of its own would attach values to it.
    if (tag > 0) {
      const fn = machine.fn(level);
      const to = (s + 1) * this.segmentRecords;
      for (let i = lastAtMost(index.evPos, index.evPos.length, s * this.segmentRecords - 0.5) + 1; i < index.evPos.length && (index.evPos[i] as number) < to; i++) {
        if (index.evType[i] === EXT_CATCH && index.evAux[i] === fn) return -1;
      }
    }
    return owner;
  }

  /** A machine at checkpoint s after a skipped segment: the frames it shares with `old` keep their tags; the others are deeper calls counted into `owner`. */
  private reseeded(thread: EngineThread, s: number, old: StackMachine, sink: TreeSink, owner: number): StackMachine {
    const index = thread.index;
    const known = new Map<number, number>();
    for (let level = 0; level < old.depth; level++) known.set(old.call(level), old.tag(level));
    for (const slot of old.suspended.values()) known.set(old.suspendedCall(slot), old.suspendedTag(slot));
    const machine = new StackMachine(sink, this.estimatesFor(thread));
    this.seeded(thread, s, machine, (row) => {
      const tag = known.get(index.xCall[row] as number) ?? -owner - 1;
      if (tag > 0) sink.seededTimed.set(tag, ((index.xFlags[row] as number) & FLAG_TIMED) !== 0);
      return tag;
    });
    return machine;
  }

  /** Spans that begin or end in a skipped segment s (from the index's runtime-event table): begun by deeper calls. */
  private spansIn(threadIndex: number, thread: EngineThread, s: number, sink: TreeSink): void {
    const index = thread.index;
    const to = (s + 1) * this.segmentRecords;
    for (let i = lastAtMost(index.evPos, index.evPos.length, s * this.segmentRecords - 0.5) + 1; i < index.evPos.length && (index.evPos[i] as number) < to; i++) {
      const type = index.evType[i] as number;
      if (type !== EXT_SPAN_BEGIN && type !== EXT_SPAN_END) continue;
      const pos = index.evPos[i] as number;
      const stack = type === EXT_SPAN_BEGIN ? this.stackAt(threadIndex, { position: pos }) : null;
      const top = stack?.frames[stack.frames.length - 1];
      sink.runtimeSpan(type, index.evAux[i] as number, pos, index.evTime[i] as number, top ? parseCallId(top.id).position : null);
    }
  }

  /** The call that scheduled `link`, looked for in the skipped segments (latest first). */
  private schedulerIn(thread: EngineThread, skipped: number[], link: number, sink: TreeSink): Call | null {
    for (let k = skipped.length - 1; k >= 0; k--) {
      const s = skipped[k] as number;
      const finder = new ScheduleFinder(link);
      const machine = new StackMachine(finder, this.estimatesFor(thread));
      this.walk(thread, machine, this.seeded(thread, s, machine), Math.min(thread.index.records, (s + 1) * this.segmentRecords), () => finder.found);
      if (finder.found) return finder.fn < 0 ? sink.root : sink.stub(finder.fn);
    }
    return null;
  }

  /** Whether the record at `pos` is an exit or a throw. */
  private endsACall(thread: EngineThread, pos: number): boolean {
    const range = this.source.read(thread.index, pos, pos + 1);
    if (range.count === 0) return false;
    const kind = ((range.u32[range.word] as number) >>> 28) & 7;
    return kind === EV_EXIT || kind === EV_THROW;
  }

  /** When the open nodes of a call-tree walk end (ns; null: not in the trace), from their crossing rows. */
  private openEnds(thread: EngineThread, machine: StackMachine, sink: TreeSink): Map<Call, number | null> {
    const index = thread.index;
    const ends = new Map<Call, number | null>();
    const add = (tag: number): void => {
      if (tag <= 0) return;
      const call = sink.nodes[tag] as Call;
      const row = crossingRow(index, call.enterEvent);
      const outcome = row < 0 ? OUT_UNFINISHED : (index.xOutcome[row] as number);
      ends.set(call, outcome === OUT_UNFINISHED || outcome === OUT_DROPPED ? null : clockNs(thread, index.xExitTime[row] as number));
    };
    for (let level = 0; level < machine.depth; level++) add(machine.tag(level));
    for (const slot of machine.suspended.values()) add(machine.suspendedTag(slot));
    return ends;
  }

  /** After an early stop: the nodes still open (or suspended) get their ends, outcomes and values from the index. */
  private completeOpen(thread: EngineThread, machine: StackMachine, sink: TreeSink, stoppedAt: number): void {
    const index = thread.index;
    const open: number[] = [];
    for (let level = machine.depth - 1; level >= 0; level--) open.push(machine.tag(level));
    for (const slot of machine.suspended.values()) open.push(machine.suspendedTag(slot));
    const targets: { call: Call; until: number }[] = [];
    for (const tag of open) {
      if (tag <= 0) continue;
      const call = sink.nodes[tag] as Call;
      const row = crossingRow(index, call.enterEvent);
      if (row < 0) continue;
      const outcome = index.xOutcome[row] as number;
      const exitPos = index.xExitPos[row] as number;
      const end = outcome === OUT_UNFINISHED ? index.lastTime : (index.xExitTime[row] as number);
      sink.finish(tag, outcome, exitPos, clockNs(thread, end), ((index.xFlags[row] as number) & FLAG_TIMED) !== 0);
      if ((index.xHops[row] as number) !== call.hops.length) call.awaits = index.xHops[row] as number;
      targets.push({ call, until: outcome === OUT_UNFINISHED || outcome === OUT_DROPPED || exitPos < 0 ? index.records - 1 : exitPos });
    }
    const found = this.snapshotsOf(thread, targets.map((t) => ({ call: t.call.enterEvent, fn: t.call.fn, until: t.until })), stoppedAt);
    for (const { call } of targets) {
      const have = new Set(call.snapshots.map((v) => v.serial));
      for (const serial of found.get(call.enterEvent) ?? []) {
        const value = sink.details.get(serial);
        if (value && value.body.k !== 'uncaught' && !have.has(serial)) {
          own(call, 'snapshots').push(value);
          have.add(serial);
        }
      }
    }
  }

  /**
   * The detail snapshots that belong to calls (by position; by the call model's rule: the
   * record right after a call's end, or any while it runs on top) among positions [from,
   * until + 1]: where their own catch clauses ran (the index's runtime events) and where they
   * ended. Walks only those segments, each once.
   */
  private snapshotsOf(thread: EngineThread, targets: { call: number; fn: number; until: number }[], from: number): Map<number, number[]> {
    const index = thread.index;
    const found = new Map<number, number[]>();
    if (targets.length === 0) return found;
    /** Segment -> the position to walk it to. */
    const walks = new Map<number, number>();
    const need = (s: number, to: number): void => {
      walks.set(s, Math.min(index.records, Math.max(walks.get(s) ?? 0, (s + 1) * this.segmentRecords, to)));
    };
    const byFn = new Map<number, number>();
    for (const t of targets) {
      byFn.set(t.fn, Math.max(byFn.get(t.fn) ?? -1, t.until));
      need(Math.floor(t.until / this.segmentRecords), t.until + 2);
    }
    for (let i = lastAtMost(index.evPos, index.evPos.length, from - 0.5) + 1; i < index.evPos.length; i++) {
      if (index.evType[i] !== EXT_CATCH) continue;
      const until = byFn.get(index.evAux[i] as number);
      const pos = index.evPos[i] as number;
      if (until !== undefined && pos <= until) need(Math.floor(pos / this.segmentRecords), pos + 2);
    }
    const owner = new SnapshotOwner(new Set(targets.map((t) => t.call)), found);
    for (const s of [...walks.keys()].sort((a, b) => a - b)) {
      const machine = new StackMachine(owner, this.estimatesFor(thread));
      const from = this.seeded(thread, s, machine, () => -1);
      // A snapshot at the segment's first record belongs to the call that ended just before it, if one did.
      owner.reset(from > 0 && this.endsACall(thread, from - 1) ? from - 1 : -2);
      this.walk(thread, machine, from, walks.get(s) as number);
    }
    return found;
  }

  /**
   * The longest call (ns) of the functions a filter names (`function`, `thread`; other fields
   * are ignored), from the index alone: per segment, the longest call that began and ended in
   * it; and every crossing row. Null when there is no finished call. calls() with slowerThanNs
   * just under it then finds that call by skipping every other segment.
   */
  longestNs(filter: Pick<CallFilter, 'function' | 'thread'>): number | null {
    this.needTimes('the longest call');
    const wanted = filter.function !== undefined ? this.functionsMatching(filter.function) : null;
    let best = -1;
    const threads = filter.thread !== undefined ? [filter.thread] : this.threads.map((_, i) => i);
    for (const t of threads) {
      const index = this.thread(t).index;
      if (wanted === null) {
        for (let i = 0; i < index.fnMax.length; i++) if ((index.fnMax[i] as number) > best) best = index.fnMax[i] as number;
      } else {
        // Only the wanted functions' rows, through the inverted index.
        const { start, rows } = this.invertedOf(t);
        for (const fn of wanted) {
          if (fn + 1 >= start.length) continue;
          for (let k = start[fn] as number; k < (start[fn + 1] as number); k++) {
            const max = index.fnMax[rows[k] as number] as number;
            if (max > best) best = max;
          }
        }
      }
      for (let r = 0; r < index.xCall.length; r++) {
        if (((index.xFlags[r] as number) & FLAG_ORPHAN) !== 0 || index.xOutcome[r] === OUT_DROPPED || index.xOutcome[r] === OUT_UNFINISHED) continue;
        if ((index.xTotal[r] as number) > best && (wanted === null || wanted.has(index.xFn[r] as number))) best = index.xTotal[r] as number;
      }
    }
    return best < 0 ? null : this.span(best);
  }

  /**
   * Make now what the questions about a function's calls would otherwise make on first use
   * (each thread's inverted index): a long-lived server calls this when it opens a trace, so
   * the first question costs no more than the others.
   */
  prepareCallQueries(): void {
    for (let t = 0; t < this.threads.length; t++) this.invertedOf(t);
  }

  /**
   * Read now what a long-lived server would read on its first questions: the index's lazy parts
   * (index-file.ts: the function rows, made into the inverted index, and the folded callees).
   */
  warm(): void {
    this.prepareCallQueries();
    for (let t = 0; t < this.threads.length; t++) void this.thread(t).index.kFn.length;
  }

  /** Calls of the functions a glob names (all: no glob), from the index's totals (no walk). */
  callCount(filter: Pick<CallFilter, 'function' | 'thread'>): number {
    const wanted = filter.function !== undefined ? this.functionsMatching(filter.function) : null;
    let count = 0;
    const threads = filter.thread !== undefined ? [filter.thread] : this.threads.map((_, i) => i);
    for (const t of threads) {
      const totals = this.thread(t).index.totals;
      for (let i = 0; i < totals.fn.length; i++) if (wanted === null || wanted.has(totals.fn[i] as number)) count += totals.calls[i] as number;
    }
    return count;
  }

  /** The ids of the functions whose names a glob matches (kept for the last few globs). */
  functionsMatching(glob: string): Set<number> {
    let found = this.matches.get(glob);
    if (found === undefined) {
      const match = nameMatcher(glob);
      found = new Set<number>();
      for (const [id, entry] of this.functions) if (match(entry.name)) found.add(id);
      if (this.matches.size >= 16) this.matches.delete(this.matches.keys().next().value as string);
      this.matches.set(glob, found);
    }
    return found;
  }

  /**
   * The segments (ascending) where any of `fns` began a call on a thread. From a per-thread
   * inverted index (function -> segments), made on first use from the index's per-segment
   * function rows.
   */
  private segmentsEntering(threadIndex: number, fns: Set<number>): Uint32Array {
    const { start, segments } = this.invertedOf(threadIndex);
    const runOf = (fn: number): Uint32Array => (fn + 1 < start.length ? segments.subarray(start[fn] as number, start[fn + 1] as number) : new Uint32Array(0));
    if (fns.size === 1) return runOf(fns.values().next().value as number);
    const all = new Set<number>();
    for (const fn of fns) for (const seg of runOf(fn)) all.add(seg);
    return Uint32Array.from(all).sort();
  }

  /**
   * A thread's inverted index, made on first use from the index's per-segment function rows:
   * per function id, the run [start[fn], start[fn + 1]) of the segments where it began a call
   * (ascending) and of those segments' function rows. Typed arrays, not one array per function:
   * tens of thousands of small buffers would cost more than the data.
   */
  private invertedOf(threadIndex: number): { start: Uint32Array; segments: Uint32Array; rows: Uint32Array } {
    let inverted = this.inverted[threadIndex];
    if (!inverted) {
      const index = this.thread(threadIndex).index;
      let maxFn = 0;
      for (let i = 0; i < index.fnId.length; i++) if ((index.fnId[i] as number) > maxFn) maxFn = index.fnId[i] as number;
      const start = new Uint32Array(maxFn + 2);
      for (let i = 0; i < index.fnId.length; i++) if ((index.fnEnters[i] as number) > 0) { const k = (index.fnId[i] as number) + 1; start[k] = (start[k] as number) + 1; }
      for (let fn = 0; fn <= maxFn; fn++) start[fn + 1] = (start[fn + 1] as number) + (start[fn] as number);
      const segments = new Uint32Array(start[maxFn + 1] as number);
      const rows = new Uint32Array(segments.length);
      const at = start.slice(0, maxFn + 1);
      for (let s = 0; s < index.segTime.length; s++) {
        for (let i = index.fnStart[s] as number; i < (index.fnStart[s + 1] as number); i++) {
          if ((index.fnEnters[i] as number) === 0) continue;
          const fn = index.fnId[i] as number;
          const k = at[fn] as number;
          segments[k] = s;
          rows[k] = i;
          at[fn] = k + 1;
        }
      }
      inverted = { start, segments, rows };
      this.inverted[threadIndex] = inverted;
    }
    return inverted;
  }

  /** A thread's runtime events from the index (no walk): position, EXT_* type, aux and ns since the trace began. */
  *runtimeRecords(threadIndex: number): Generator<{ index: number; ext: number; aux: number; ns: number }> {
    const thread = this.thread(threadIndex);
    const { evPos, evType, evAux, evTime } = thread.index;
    for (let i = 0; i < evPos.length; i++) {
      yield { index: evPos[i] as number, ext: evType[i] as number, aux: evAux[i] as number, ns: clockNs(thread, evTime[i] as number) };
    }
  }

  /** Exceptions can be in this thread: a traced call ended by a throw, or a catch clause ran. */
  mayHoldExceptions(threadIndex: number): boolean {
    const index = this.thread(threadIndex).index;
    for (let i = 0; i < index.totals.throws.length; i++) if ((index.totals.throws[i] as number) > 0) return true;
    for (let i = 0; i < index.evType.length; i++) if (index.evType[i] === EXT_CATCH) return true;
    return false;
  }

  /** Per-function totals of a thread by the summary's rules, from the index (no walk). */
  functionStats(threadIndex: number): FunctionStats[] {
    const totals = this.thread(threadIndex).index.totals;
    const out: FunctionStats[] = [];
    for (let i = 0; i < totals.fn.length; i++) {
      const fn = totals.fn[i] as number;
      const totalNs = this.span(totals.total[i] as number);
      out.push({
        fn,
        name: this.nameOf(fn),
        calls: totals.calls[i] as number,
        totalNs,
        // As the summary: estimates (adaptive timing) can overshoot what was measured around them; self never exceeds total.
        selfNs: Math.min(totalNs, Math.max(0, this.span(totals.self[i] as number))),
        throws: totals.throws[i] as number,
        unfinished: totals.unfinished[i] as number,
      });
    }
    return out;
  }
}

function positionOf(id: string): number {
  return Number(id.slice(id.indexOf('.') + 1));
}

interface CallWalkResult {
  fn: number;
  enterTime: number;
  exitTime: number | null;
  total: number | null;
  self: number | null;
  outcome: number;
  timed: boolean;
  parents: number[];
  fold: Fold;
  values: DetailValue[];
  walked: number;
}


interface RangeTotals {
  calls: number;
  /** Calls begun without a timestamp (adaptive timing), and the time estimated for them (ms). */
  untimed: number;
  estimated: number;
  self: number;
  total: number;
  throws: number;
  unfinished: number;
  /** Activations of the function on the stack now, and since when (ms) the outermost one runs. */
  active: number;
  since: number;
}

/** Hears the frames of a range walk: calls begun, activations (for inclusive time) and throws. */
class RangeSink extends NullSink {
  readonly stats = new Map<number, RangeTotals>();
  private armed = false;

  constructor(private readonly toMs: number) {
    super();
  }

  private of(fn: number): RangeTotals {
    let v = this.stats.get(fn);
    if (!v) this.stats.set(fn, (v = { calls: 0, untimed: 0, estimated: 0, self: 0, total: 0, throws: 0, unfinished: 0, active: 0, since: 0 }));
    return v;
  }

  /** From now on count: the frames on the stack are active since `fromMs`. */
  arm(m: StackMachine, fromMs: number): void {
    this.armed = true;
    this.owed.fill(0);
    for (let level = 0; level < m.depth; level++) this.begin(m.fn(level), fromMs);
  }

  addSelf(fn: number, ms: number): void {
    this.of(fn).self += ms;
  }

  private begin(fn: number, t: number): void {
    const v = this.of(fn);
    if (v.active++ === 0) v.since = t;
  }

  private stop(fn: number, t: number): void {
    const v = this.of(fn);
    if (v.active === 0) return;
    if (--v.active === 0) v.total += Math.max(0, Math.min(t, this.toMs) - v.since);
  }

  override push(m: StackMachine, level: number, how: number): void {
    if (level < this.owed.length) this.owed[level] = 0;
    if (!this.armed || m.lastTime > this.toMs) return;
    const fn = m.fn(level);
    if (how === PUSH_ENTER) {
      const v = this.of(fn);
      v.calls++;
      if (m.untimed(level)) v.untimed++;
    }
    this.begin(fn, m.lastTime);
  }

  /**
   * An untimed activation (adaptive timing) ended: the clock did not see it, so the time it ran
   * was credited to the frame below it (the top of the stack at the next clock read). Give it
   * its function's estimate, as the summary does: the activation's self and inclusive time
   * gain it, and the frame below loses it from its self time.
   */
  private estimated(m: StackMachine, level: number): void {
    const owed = level < this.owed.length ? (this.owed[level] as number) : 0;
    if (!m.lastUntimed) return; // a timed frame: the clock credited it what its untimed callees took (owed), rightly taken off
    // Untimed: it ran unseen by the clock, and so did the untimed activations beneath it, whose
    // time was taken off its self time (owed). It gets its own estimate; all of it goes on down
    // to the frame below, which the clock credited (or, untimed too, passes it on in turn).
    const unseen = m.lastEstimated + owed;
    const v = this.of(m.fn(level));
    v.self += unseen;
    v.estimated += m.lastEstimated;
    if (v.active === 0) v.total += unseen;
    if (level > 0) {
      this.of(m.fn(level - 1)).self -= unseen;
      this.owe(level - 1, unseen);
    }
  }

  /** Per stack level: estimated time of untimed activations above it, taken from its self time. */
  private owed = new Float64Array(64);

  private owe(level: number, ms: number): void {
    if (level >= this.owed.length) {
      const next = new Float64Array(Math.max(level + 1, this.owed.length * 2));
      next.set(this.owed);
      this.owed = next;
    }
    this.owed[level] = (this.owed[level] as number) + ms;
  }

  // A record after the range (the walk steps one) changes nothing here: what it ends was still
  // running at the range's end, and finish() counts it so.
  override suspend(m: StackMachine, level: number): void {
    if (!this.armed || m.lastTime > this.toMs) return;
    this.stop(m.fn(level), m.lastTime);
    this.estimated(m, level);
  }

  override close(m: StackMachine, level: number, outcome: number): void {
    if (!this.armed || m.lastTime > this.toMs) return;
    const fn = m.fn(level);
    if (outcome === OUT_THROW) this.of(fn).throws++;
    this.stop(fn, m.lastTime);
    this.estimated(m, level);
  }

  override forget(m: StackMachine, level: number): void {
    if (this.armed && m.lastTime <= this.toMs) this.stop(m.fn(level), m.lastTime);
  }

  /** The range ends at endMs: what is still active counts to it, as unfinished. */
  finish(endMs: number): void {
    for (const v of this.stats.values()) {
      if (v.active > 0) {
        v.total += Math.max(0, endMs - v.since);
        v.unfinished += v.active;
        v.active = 0;
      }
    }
  }
}

/** Where walkActivations places records: at their times (ns since the trace began), or at their positions (the order of records). */
export type ActivationAxis = 'time' | 'events';

/** What walkActivations reports; `call` is the call's position (its id within the thread). */
export interface ActivationVisitor {
  open(fn: number, call: number, ns: number, how: 'enter' | 'resume'): void;
  /** `timed`: every activation of the call so far had clock reads of its own (adaptive timing may leave tiny calls untimed). */
  close(fn: number, call: number, ns: number, how: 'return' | 'throw' | 'await' | 'lost-exit' | 'dropped' | 'unfinished', timed: boolean): void;
  /** A detail-lane snapshot belongs here (EXT_DETAIL): its serial. Snapshots of a call's end (its return value, the error it threw) come right after its close. */
  detail?(serial: number, ns: number): void;
}

class ActivationSink extends NullSink {
  ending = false;
  /** `at(position, clock ms)`: where on the axis a record is (its time in ns, or its position). */
  constructor(
    private readonly visitor: ActivationVisitor,
    private readonly at: (pos: number, ms: number) => number,
  ) {
    super();
  }

  override push(m: StackMachine, level: number, how: number): void {
    this.visitor.open(m.fn(level), m.call(level), this.at(m.lastPos, m.lastTime), how === PUSH_ENTER ? 'enter' : 'resume');
  }

  override suspend(m: StackMachine, level: number): void {
    this.visitor.close(m.fn(level), m.call(level), this.at(m.lastPos, m.lastTime), 'await', m.timed(level));
  }

  override close(m: StackMachine, level: number, outcome: number, exitPos: number, exitTime: number): void {
    const how = outcome === OUT_THROW ? 'throw' : outcome === OUT_LOST_EXIT ? 'lost-exit' : outcome === OUT_UNFINISHED || this.ending ? 'unfinished' : 'return';
    this.visitor.close(m.fn(level), m.call(level), this.at(exitPos, exitTime), how, m.timed(level));
  }

  override forget(m: StackMachine, level: number): void {
    this.visitor.close(m.fn(level), m.call(level), this.at(m.lastPos, m.lastTime), 'dropped', m.timed(level));
  }

  override ext(_m: StackMachine, type: number, aux: number, pos: number, time: number): void {
    if (type === EXT_DETAIL && this.visitor.detail) this.visitor.detail(aux, this.at(pos, time));
  }
}
