// The viewer's timeline: level of detail for one thread and a time window. Per depth, calls at
// least a pixel wide are spans, and runs of narrower calls merge into "many calls" buckets (the
// idea of Perfetto's slice mipmaps); a window is walked from the index checkpoint before it, or
// for a window of millions of records merged from the thread's overview level, laid out once
// before serving (prepareTimelines). On the axis 'events' (the sequential layout) the window is
// of record positions, not times: calls in order, each as wide as the records it ran through,
// so tiny calls and traces without times (--timing none) are laid out too.

import { RecallError } from '../format/errors.js';
import type { ActivationAxis, ActivationVisitor } from '../query/engine.js';
import type { QueryTrace } from '../query/open.js';

/** Spans a timeline answer holds at most per depth row (a window wider than this in pixels is refused). */
const MAX_WIDTH = 8192;
/** Depth rows a timeline answer holds at most (deeper calls are counted in `deeper`). */
const MAX_DEPTH = 256;

/** One row entry: [depth, startNs, endNs, fn, call position, calls merged (1: one call), threw (0/1)]. */
export type TimelineSpan = [number, number, number, number, number, number, number];

export interface TimelineAnswer {
  thread: number;
  fromNs: number;
  toNs: number;
  width: number;
  nsPerPx: number;
  /** Spans and buckets, ordered by depth then start. */
  spans: TimelineSpan[];
  /** Names of the functions the spans name. */
  names: Record<string, string>;
  /** Calls deeper than the rows shown (MAX_DEPTH). */
  deeper: number;
  walked: number;
}

/**
 * Lays a window's activations out by depth. A call (an activation of it: an async call runs in
 * pieces) at least a pixel wide is a span of its own; narrower ones at the same depth whose
 * pixels touch merge into one bucket that counts them and is named by its longest call.
 */
export class TimelineBuilder implements ActivationVisitor {
  private readonly stack: { fn: number; call: number; s: number }[] = [];
  private readonly rows: TimelineSpan[][] = [];
  /** Per depth, the bucket being grown (not yet in rows) and its longest call's duration. */
  private readonly open_: (TimelineSpan | null)[] = [];
  private readonly longest: number[] = [];
  deeper = 0;

  constructor(
    readonly fromNs: number,
    readonly toNs: number,
    readonly nsPerPx: number,
  ) {}

  open(fn: number, call: number, ns: number): void {
    this.stack.push({ fn, call, s: ns });
  }

  close(_fn: number, _call: number, ns: number, how: string): void {
    const frame = this.stack.pop();
    if (frame) this.add(this.stack.length, frame.fn, frame.call, frame.s, ns, how === 'throw');
  }

  /** Add an entry of another answer (a finer level): its calls keep their count; a bucket stays one. */
  addEntry(span: TimelineSpan): void {
    this.add(span[0], span[3], span[4], span[1], span[2], span[6] === 1, span[5]);
  }

  private add(depth: number, fn: number, call: number, start: number, end: number, threw: boolean, n = 1): void {
    if (end < this.fromNs || start > this.toNs) return;
    if (depth >= MAX_DEPTH) {
      this.deeper++;
      return;
    }
    const s = Math.max(start, this.fromNs);
    const e = Math.min(end, this.toNs);
    while (this.rows.length <= depth) {
      this.rows.push([]);
      this.open_.push(null);
      this.longest.push(0);
    }
    const row = this.rows[depth]!;
    const bucket = this.open_[depth] ?? null;
    if (n === 1 && e - s >= this.nsPerPx) {
      if (bucket) row.push(bucket);
      this.open_[depth] = null;
      row.push([depth, s, e, fn, call, 1, threw ? 1 : 0]);
      return;
    }
    if (bucket && s - bucket[2] < this.nsPerPx) {
      bucket[2] = Math.max(bucket[2], e);
      bucket[5] += n;
      if (threw) bucket[6] = 1;
      if (e - s > (this.longest[depth] ?? 0)) {
        this.longest[depth] = e - s;
        bucket[3] = fn;
        bucket[4] = call;
      }
      return;
    }
    if (bucket) row.push(bucket);
    this.open_[depth] = [depth, s, e, fn, call, n, threw ? 1 : 0];
    this.longest[depth] = e - s;
  }

  /** The frames still open run past the window: close them at its end. Returns the rows' spans. */
  finish(): TimelineSpan[] {
    while (this.stack.length > 0) {
      const frame = this.stack.pop()!;
      this.add(this.stack.length, frame.fn, frame.call, frame.s, this.toNs, false);
    }
    const out: TimelineSpan[] = [];
    this.rows.forEach((row, depth) => {
      const bucket = this.open_[depth];
      if (bucket) row.push(bucket);
      out.push(...row);
    });
    return out;
  }
}

/**
 * A thread's overview level: its whole time laid out once at a fine resolution (`cells` pixels).
 * A window too wide to walk quickly (more than `windowRecords` records) at that resolution or
 * coarser is answered from it: its calls at least a cell wide are exact, the rest are buckets
 * counted exactly; merging them to the window's pixels gives every call at least a pixel wide
 * exactly, as a walk would, and buckets that count the same calls.
 */
interface Level {
  fromNs: number;
  toNs: number;
  nsPerPx: number;
  spans: TimelineSpan[];
  /** Where each depth's spans begin in `spans` (and, last, spans.length): a window's spans are found by a binary search per depth, not a pass over all of them. */
  rows: number[];
  deeper: number;
  windowRecords: number;
  /** The same laid out 4 times coarser (merged from this one, no walk), down to LEVEL_CELLS: wide windows read it, not the many spans of a fine level. */
  coarser: Level | null;
}

/** Where each depth's spans begin in spans ordered by depth then start, then spans.length. */
function rowStarts(spans: TimelineSpan[]): number[] {
  const rows: number[] = [];
  spans.forEach((s, i) => {
    while (rows.length <= s[0]) rows.push(i);
  });
  rows.push(spans.length);
  return rows;
}

/** Add a level's spans that reach into [fromNs, toNs] to a builder: at each depth the spans are in order and do not overlap, so their ends are ordered too. */
function addLevelSpans(level: Level, builder: TimelineBuilder, fromNs: number, toNs: number): void {
  const { spans, rows } = level;
  for (let d = 0; d + 1 < rows.length; d++) {
    let lo = rows[d]!;
    let hi = rows[d + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (spans[mid]![2] < fromNs) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < rows[d + 1]! && spans[i]![1] <= toNs; i++) builder.addEntry(spans[i]!);
  }
}

const levels = new WeakMap<QueryTrace, Map<string, Level>>();

/** Cells of an overview level. */
export const LEVEL_CELLS = 16384;
/** Threads with more records than this get an overview level; windows with more records than this are answered from it. */
export const LEVEL_RECORDS = 2_000_000;

/**
 * Cells of a thread's overview level: enough that a window too wide to walk (over
 * `windowRecords` records, when the thread's records are spread evenly) is still at least a
 * cell per pixel of a 4096-pixel timeline, so it is answered from the level, not walked.
 */
export function levelCells(records: number, windowRecords: number, least = LEVEL_CELLS): number {
  return Math.min(LEVEL_CELLS * 16, Math.max(least, Math.ceil((records / windowRecords) * 4096)));
}

function levelKey(thread: number, axis: ActivationAxis): string {
  return `${axis}:${thread}`;
}

/** The extent of a thread on an axis: its first to its last record's time, or 0 to its record count. */
export function extentOf(q: QueryTrace, thread: number, axis: ActivationAxis): { from: number; to: number } {
  const t = q.engine.threads[thread]!;
  if (axis === 'events') return { from: 0, to: Math.max(1, t.index.records) };
  const from = Math.round((t.shiftMs + (t.index.segTime[0] as number)) * 1e6);
  return { from, to: Math.max(from + 1, Math.round((t.shiftMs + t.index.lastTime) * 1e6)) };
}

function buildLevel(q: QueryTrace, thread: number, axis: ActivationAxis, cells: number, windowRecords: number): Level {
  const { from, to } = extentOf(q, thread, axis);
  const builder = new TimelineBuilder(from, to, (to - from) / cells);
  q.engine.walkActivations(thread, builder, axis);
  const spans = builder.finish();
  return withCoarser({ fromNs: from, toNs: to, nsPerPx: (to - from) / cells, spans, rows: rowStarts(spans), deeper: builder.deeper, windowRecords, coarser: null }, cells);
}

/** Give a level of `cells` cells its coarser levels (each a quarter of the cells, down to LEVEL_CELLS), merged from it. */
function withCoarser(level: Level, cells: number): Level {
  let fine = level;
  for (let c = Math.floor(cells / 4); c >= LEVEL_CELLS; c = Math.floor(c / 4)) {
    const builder = new TimelineBuilder(fine.fromNs, fine.toNs, (fine.toNs - fine.fromNs) / c);
    for (const span of fine.spans) builder.addEntry(span);
    const spans = builder.finish();
    fine.coarser = { ...fine, nsPerPx: (fine.toNs - fine.fromNs) / c, spans, rows: rowStarts(spans), coarser: null };
    fine = fine.coarser;
  }
  return level;
}

function levelMap(q: QueryTrace): Map<string, Level> {
  let map = levels.get(q);
  if (!map) levels.set(q, (map = new Map()));
  return map;
}

/**
 * Build the overview levels of the threads with more than `minRecords` records (one walk of
 * each): on the time axis, or on the events axis for a trace without times (its default
 * layout; a timed trace's events levels are built when first asked for). Returns the threads
 * given one. `recall view` calls this before it serves.
 */
export function prepareTimelines(q: QueryTrace, options: { minRecords?: number; windowRecords?: number; cells?: number } = {}): number[] {
  const { engine } = q;
  const axis: ActivationAxis = engine.times ? 'time' : 'events';
  const minRecords = options.minRecords ?? LEVEL_RECORDS;
  const map = levelMap(q);
  const done: number[] = [];
  engine.threads.forEach((t, thread) => {
    if (t.index.records <= minRecords || t.index.segTime.length === 0) return;
    map.set(levelKey(thread, axis), buildLevel(q, thread, axis, options.cells ?? levelCells(t.index.records, options.windowRecords ?? LEVEL_RECORDS), options.windowRecords ?? LEVEL_RECORDS));
    done.push(thread);
  });
  return done;
}

/** Records of a thread between two times (from the index: a segment read at each end). */
function recordsBetween(q: QueryTrace, thread: number, fromNs: number, toNs: number): number {
  return q.engine.positionAt(thread, toNs) - Math.max(0, q.engine.positionAt(thread, fromNs));
}

export function timeline(q: QueryTrace, thread: number, fromNs: number, toNs: number, width: number, axis: ActivationAxis = 'time'): TimelineAnswer & { lod: 'walk' | 'level'; axis: ActivationAxis } {
  if (!(toNs > fromNs)) throw new RecallError('E_USAGE', `timeline: 'to' (${toNs}) must be after 'from' (${fromNs})`);
  if (!Number.isInteger(width) || width < 1 || width > MAX_WIDTH) throw new RecallError('E_USAGE', `timeline: 'width' must be a whole number of pixels, 1-${MAX_WIDTH}`);
  if (axis === 'time' && !q.engine.times) throw new RecallError('E_USAGE', "timeline: this trace was recorded with --timing none and has no times: ask for axis 'events' (the sequential layout)");
  const nsPerPx = (toNs - fromNs) / width;
  const builder = new TimelineBuilder(fromNs, toNs, nsPerPx);
  const map = levelMap(q);
  const records = q.engine.threads[thread]!.index.records;
  let level = map.get(levelKey(thread, axis));
  const between = axis === 'time' ? () => recordsBetween(q, thread, fromNs, toNs) : () => Math.min(toNs, records) - Math.max(0, fromNs);
  // The sequential layout of a long thread: its level is built the first time a wide window asks.
  if (!level && axis === 'events' && records > LEVEL_RECORDS && between() > LEVEL_RECORDS) map.set(levelKey(thread, axis), (level = buildLevel(q, thread, axis, levelCells(records, LEVEL_RECORDS), LEVEL_RECORDS)));
  let walked = 0;
  let lod: 'walk' | 'level' = 'walk';
  if (level && nsPerPx >= level.nsPerPx && between() > level.windowRecords) {
    lod = 'level';
    let use = level;
    while (use.coarser && use.coarser.nsPerPx <= nsPerPx) use = use.coarser;
    addLevelSpans(use, builder, fromNs, toNs);
    builder.deeper = level.deeper;
  } else if (axis === 'events') {
    walked = q.engine.walkActivationsAt(thread, fromNs, toNs, builder).walked;
  } else {
    walked = q.engine.walkActivationsIn(thread, fromNs, toNs, builder).walked;
  }
  const spans = builder.finish();
  const names: Record<string, string> = {};
  for (const span of spans) names[span[3]] ??= q.engine.nameOf(span[3]);
  return { thread, fromNs, toNs, width, nsPerPx, spans, names, deeper: builder.deeper, walked, lod, axis };
}
