// The index of one thread, as the query engine holds it in memory (and index-file.ts stores
// it): typed arrays only, and the lookups over them. Positions are ordinals of the thread's
// records in its valid chunks, in file order (the event numbers of `recall stack --at e<N>`).
// The thread is cut into segments of `segmentRecords` records. For each segment the index
// keeps:
// - a checkpoint: the calls open (and suspended) before its first record, as rows of the
//   crossing table;
// - the time of its first record (to find a time);
// - per function entered in it: enters, throws and the longest call that began and ended
//   within the segment.
// Runtime events (EV_EXT records: messages, workers, spans, gc, catches, marks, notes) are kept
// whole in a small table, except the scheduling links and detail pointers, which are only
// counted: the runtime-event views and the exceptions need no walk of the trace.
// The crossing table has one row per call that is live at a checkpoint or at the end of the
// thread (so every call is either inside one segment or a row): position, function, serial,
// enter time, and how and when it ended. Times are ms on the thread's clock, as in the file.
// No Node-only imports.

/** Per-function totals of a thread, by the summary's rules (walk.ts). */
export interface FunctionTotals {
  fn: Uint32Array;
  calls: Float64Array;
  /** Inclusive time, counted once per outermost activation (ms). */
  total: Float64Array;
  self: Float64Array;
  throws: Float64Array;
  unfinished: Float64Array;
  /** Self time estimated for untimed activations (adaptive timing; part of self and total), ms. */
  estimated: Float64Array;
  /** The thread's final estimate of one untimed activation's self time (ms): what query walks that start mid-thread use. */
  estimate: Float64Array;
}

export interface ThreadIndex {
  /** The thread file (name in the trace directory). */
  file: string;
  threadId: number;
  name: string;
  timeOriginMs: number;
  records: number;
  firstTime: number;
  lastTime: number;
  maxDepth: number;
  droppedFromMarkers: number;
  /** What reading the file found (chunk problems), as openTrace words them. */
  problems: string[];
  /** Valid chunks: file offset of the payload, records, position of the first record. */
  chunkPayload: Float64Array;
  chunkCount: Uint32Array;
  chunkFirst: Float64Array;
  /** Per segment: time of its first record. */
  segTime: Float64Array;
  /** Checkpoints: rows of segment s are cpRows[cpStart[s], cpStart[s + 1]); the first cpDepth[s] are the stack (outermost first), the rest suspended calls. */
  cpStart: Uint32Array;
  cpDepth: Uint32Array;
  cpRows: Uint32Array;
  /** The function of each checkpoint frame now (a resume names its function anew, so it can differ from its row's). */
  cpFn: Uint32Array;
  /** Function rows of segment s: [fnStart[s], fnStart[s + 1]), sorted by function id. */
  fnStart: Uint32Array;
  fnId: Uint32Array;
  fnEnters: Uint32Array;
  fnThrows: Uint32Array;
  /** Longest call of the function that began and ended in the segment (ms; -1 for none). */
  fnMax: Float64Array;
  /** The crossing table, sorted by position. */
  xCall: Float64Array;
  xFn: Uint32Array;
  xSerial: Uint32Array;
  xEnterTime: Float64Array;
  xExitPos: Float64Array;
  xExitTime: Float64Array;
  xTotal: Float64Array;
  xSelf: Float64Array;
  /** OUT_* of machine.ts. */
  xOutcome: Uint8Array;
  /** FLAG_* bits. */
  xFlags: Uint8Array;
  /** Awaits (suspensions) of the row's call in all (to its end, or the thread's). */
  xHops: Uint32Array;
  /**
   * The callees of each row's call, folded by function path ANCESTRY (3) levels deep, for the
   * part of its life after its first segment (that segment is walked): calls are counted when
   * they begin, times when they end while the row's call is live. Row r's trie nodes are
   * [kStart[r], kStart[r + 1]), parents before children; kParent is a node index, or
   * NO_PARENT for a direct callee. `folds` is false when the tries grew too large to keep.
   */
  folds: boolean;
  kStart: Uint32Array;
  kParent: Uint32Array;
  kFn: Uint32Array;
  kCalls: Uint32Array;
  kTotal: Float64Array;
  kSelf: Float64Array;
  kThrows: Uint32Array;
  totals: FunctionTotals;
  /** Runtime events but scheduling links and detail pointers: position, EXT_* type, aux, time (ms). */
  evPos: Float64Array;
  evType: Uint8Array;
  evAux: Uint32Array;
  evTime: Float64Array;
  /** The scheduling links, counted as the runtime-event view counts them. */
  scheduling: SchedulingTally;
}

/** Callbacks scheduled (timers, immediates, nextTick, microtasks) and their runs. */
export interface SchedulingTally {
  scheduled: number;
  runs: number;
  neverRan: number;
  unmatched: number;
  unfinished: number;
}

/** Crossing-row flags: the call was timed throughout; it began at a resume (an orphan: not counted as a call). */
export const FLAG_TIMED = 1;
export const FLAG_ORPHAN = 2;
/** kParent of a row's direct callee. */
export const NO_PARENT = 0xffffffff;

/** The segment holding position `pos`. */
export function segmentOf(index: ThreadIndex, segmentRecords: number, pos: number): number {
  return Math.floor(pos / segmentRecords);
}

export function segmentCount(index: ThreadIndex): number {
  return index.segTime.length;
}

/** Binary search: the last i in [0, n) with values[i] <= x, or -1. */
export function lastAtMost(values: ArrayLike<number>, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The crossing-table row of the call at `pos`, or -1. */
export function crossingRow(index: ThreadIndex, pos: number): number {
  const i = lastAtMost(index.xCall, index.xCall.length, pos);
  return i >= 0 && index.xCall[i] === pos ? i : -1;
}

/** The first crossing row whose position is >= pos. */
export function firstRowFrom(index: ThreadIndex, pos: number): number {
  return lastAtMost(index.xCall, index.xCall.length, pos - 0.5) + 1;
}

/** The chunk holding position `pos` (pos < records), or -1. */
export function chunkOf(index: ThreadIndex, pos: number): number {
  return lastAtMost(index.chunkFirst, index.chunkFirst.length, pos);
}
