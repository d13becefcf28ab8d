// The shapes of the query engine's answers (engine.ts): what a stack, a call, a page of calls
// and a subtree say. Times are nanoseconds since the trace started (NaN, null in JSON, for a
// --timing none trace). No Node-only imports.

import type { OutcomeName } from './machine.js';

/** A detail-lane snapshot (analysis/detail.ts's DetailEntry). */
export interface DetailValue {
  serial: number;
  type: number;
  ns: number;
  body: Record<string, unknown>;
}

export interface Frame {
  id: string;
  fn: number;
  name: string;
  enterNs: number;
}

export interface StackAnswer {
  thread: number;
  threadId: number;
  /** The last record applied (-1: before the first). */
  position: number;
  /** The moment asked about (a time; else the time of that record). */
  timeNs: number | null;
  /** The time of the last record applied (null before the first, NaN without times). */
  eventNs: number | null;
  /** Outermost first. */
  frames: Frame[];
  /** Async calls suspended at that moment (awaiting), in the order they suspended: the first AWAITING_SHOWN. */
  awaiting: Frame[];
  /** How many were suspended (awaiting may show fewer). */
  suspended: number;
}

/** A frame of the logical stack: `resumed` when it runs again after an await, its callers
 *  (the frames after it) being the calls that started it, no longer under it on the thread. */
export interface LogicalFrame extends Frame {
  resumed: boolean;
}

export interface LogicalStackAnswer {
  thread: number;
  threadId: number;
  position: number;
  timeNs: number | null;
  eventNs: number | null;
  /** Innermost first: the running frame, its callers, and across awaits the calls that started them. */
  frames: LogicalFrame[];
  /** Async calls suspended then (as StackAnswer.awaiting), those not on the logical stack. */
  awaiting: Frame[];
  suspended: number;
  /** Stacks walked to follow awaits back. */
  hops: number;
}

/** Suspended calls a stack answer lists at most. */
export const AWAITING_SHOWN = 50;

/** What a fold of calls of one function adds up (a folded child, a function's statistics). */
export interface CallTotals {
  fn: number;
  name: string;
  calls: number;
  totalNs: number;
  selfNs: number;
  throws: number;
}

export interface FoldedChild extends CallTotals {
  /** Folded children of these calls (subtree, down to the depth asked). */
  children: FoldedChild[];
}

export interface CallAnswer {
  id: string;
  thread: number;
  threadId: number;
  fn: number;
  name: string;
  file: string;
  line: number;
  enterNs: number;
  /** Null when the end is not in the trace (unfinished, dropped). */
  exitNs: number | null;
  durationNs: number | null;
  selfNs: number | null;
  /** False when some activation was not timed (adaptive timing): its own time counts as 0 here. */
  timed: boolean;
  outcome: OutcomeName;
  /** Ids of the callers on the stack when it began, outermost first. */
  parents: string[];
  /** Its direct callees, folded by function. */
  children: FoldedChild[];
  /** Detail-lane snapshots that belong to the call (arguments, return value, error), when recorded. */
  values: DetailValue[];
  /** Records walked to answer. */
  walked: number;
}

export interface CallBrief {
  id: string;
  fn: number;
  name: string;
  enterNs: number;
  durationNs: number | null;
  selfNs: number | null;
  /** False when some activation was not timed (adaptive timing): its own time counts as 0 here. */
  timed: boolean;
  outcome: OutcomeName;
}

export interface CallFilter {
  /** A glob over function names (default: every function). */
  function?: string;
  /** A thread index (default: all). */
  thread?: number;
  /** Only calls that took longer than this (ns). */
  slowerThanNs?: number;
  /** Only calls that ended by a throw. */
  threw?: boolean;
  /** Only calls that began in [fromNs, toNs]. */
  fromNs?: number;
  toNs?: number;
  /** Calls per page (default 50). */
  limit?: number;
  /** Where to continue (from a previous page). */
  cursor?: string;
}

export interface CallsPage {
  calls: CallBrief[];
  /** Null when there are no more. */
  cursor: string | null;
  /** Segments walked and skipped by the index. */
  segmentsWalked: number;
  segmentsSkipped: number;
}

export interface SubtreeAnswer {
  id: string;
  name: string;
  totalNs: number | null;
  selfNs: number | null;
  depth: number;
  children: FoldedChild[];
  walked: number;
}

export interface FunctionStats extends CallTotals {
  unfinished: number;
  /** Calls begun without a timestamp (adaptive timing) and the time estimated for them (ns): part of selfNs and totalNs. */
  untimedCalls?: number;
  estimatedNs?: number;
}
