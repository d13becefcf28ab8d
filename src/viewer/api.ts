// The viewer's JSON API (`recall view`): every answer comes from the query engine over the
// trace's index, so the browser never holds the trace. Endpoints (GET, query parameters):
//   /api/overview                         the trace: command, processes, threads with time extents
//   /api/timeline?thread&from&to&width    level of detail for one thread and a time window: per
//                                         depth, calls at least a pixel wide as spans, and runs of
//                                         narrower calls merged into "many calls" buckets (the
//                                         idea of Perfetto's slice mipmaps): walked from the
//                                         index checkpoint before the window, or for a window of
//                                         millions of records merged from the thread's overview
//                                         level, laid out once before serving (prepareTimelines)
//   /api/call?id                          one call: function, place, times, values, callers
//   /api/search?q                         functions by name (a glob, or a substring) with totals
//   /api/calls?fn&thread&cursor&limit     calls of one function, a page at a time
//   /api/step?id&to=next|prev|parent|child   the call a step leads to (null: none)
// Errors the user can cause are RecallErrors; the server answers them with 400 and one line.

import { RecallError } from '../format/errors.js';
import { renderValue, type ValueDesc } from '../format/values.js';
import type { ActivationVisitor } from '../query/engine.js';
import type { CallBrief } from '../query/answers.js';
import { callId, cursorOf, parseCallId } from '../query/ids.js';
import { nameMatcher } from '../query/glob.js';
import { mergeByFunction } from '../query/merge.js';
import type { QueryTrace } from '../query/open.js';
import { argsOf } from '../tools/calls.js';
import { whereOf } from '../tools/text.js';

/** Spans a timeline answer holds at most per depth row (a window wider than this in pixels is refused). */
const MAX_WIDTH = 8192;
/** Depth rows a timeline answer holds at most (deeper calls are counted in `deeper`). */
const MAX_DEPTH = 256;
/** Search results at most. */
const SEARCH_LIMIT = 200;

type Params = URLSearchParams;

function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') throw new RecallError('E_USAGE', `missing parameter '${name}'`);
  return value;
}

function numberParam(params: Params, name: string, fallback?: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') {
    if (fallback === undefined) throw new RecallError('E_USAGE', `missing parameter '${name}'`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new RecallError('E_USAGE', `parameter '${name}' must be a number, not '${raw}'`);
  return n;
}

function threadParam(q: QueryTrace, params: Params): number {
  const t = numberParam(params, 'thread', 0);
  if (!Number.isInteger(t) || t < 0 || t >= q.engine.threads.length) throw new RecallError('E_USAGE', `no thread ${t}: threads are 0-${q.engine.threads.length - 1}`);
  return t;
}

/** Answer one API request (path under /api/); throws RecallError for bad requests. */
export function answer(q: QueryTrace, path: string, params: Params): unknown {
  switch (path) {
    case 'overview':
      return overview(q);
    case 'timeline':
      return timeline(q, threadParam(q, params), numberParam(params, 'from'), numberParam(params, 'to'), numberParam(params, 'width'));
    case 'call':
      return callDetails(q, required(params, 'id'));
    case 'search':
      return search(q, params.get('q') ?? '');
    case 'calls':
      return callsOf(q, numberParam(params, 'fn'), params.has('thread') ? threadParam(q, params) : undefined, params.get('cursor') ?? undefined, numberParam(params, 'limit', 50));
    case 'step':
      return step(q, required(params, 'id'), required(params, 'to'));
    default:
      throw new RecallError('E_USAGE', `no API endpoint '${path}'`);
  }
}

// ---- overview

export interface ThreadExtent {
  index: number;
  id: number;
  name: string;
  events: number;
  startNs: number;
  endNs: number;
}

function overview(q: QueryTrace): unknown {
  const { engine, manifest } = q;
  const threads: ThreadExtent[] = engine.threads.map((t, index) => {
    const ix = t.index;
    const first = ix.segTime.length > 0 ? (ix.segTime[0] as number) : ix.lastTime;
    return {
      index,
      id: ix.threadId,
      name: q.threads[index]?.name ?? ix.name,
      events: ix.records,
      startNs: engine.times ? Math.round((t.shiftMs + first) * 1e6) : 0,
      endNs: engine.times ? Math.round((t.shiftMs + ix.lastTime) * 1e6) : ix.records,
    };
  });
  // The window the threads ran in (not from the process's start: its first ~50-400 ms load Node).
  const startNs = threads.length > 0 ? Math.min(...threads.map((t) => t.startNs)) : 0;
  const endNs = Math.max(startNs + 1, ...threads.map((t) => t.endNs));
  return {
    dir: q.dir,
    command: manifest.command,
    pid: manifest.pid,
    times: engine.times,
    startNs,
    endNs,
    processes: [{ pid: manifest.pid, command: manifest.command, threads: threads.map((t) => t.index) }],
    threads,
    problems: q.problems,
  };
}

// ---- timeline (level of detail)

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
  deeper: number;
  windowRecords: number;
}

const levels = new WeakMap<QueryTrace, Map<number, Level>>();

/** Cells of an overview level. */
export const LEVEL_CELLS = 16384;
/** Threads with more records than this get an overview level; windows with more records than this are answered from it. */
export const LEVEL_RECORDS = 2_000_000;

/**
 * Build the overview levels of the threads with more than `minRecords` records (one walk of
 * each). Returns the threads given one. `recall view` calls this before it serves.
 */
export function prepareTimelines(q: QueryTrace, options: { minRecords?: number; windowRecords?: number; cells?: number } = {}): number[] {
  const { engine } = q;
  if (!engine.times) return [];
  const minRecords = options.minRecords ?? LEVEL_RECORDS;
  const cells = options.cells ?? LEVEL_CELLS;
  const map = levels.get(q) ?? new Map<number, Level>();
  levels.set(q, map);
  const done: number[] = [];
  engine.threads.forEach((t, thread) => {
    if (t.index.records <= minRecords || t.index.segTime.length === 0) return;
    const fromNs = Math.round((t.shiftMs + (t.index.segTime[0] as number)) * 1e6);
    const toNs = Math.max(fromNs + 1, Math.round((t.shiftMs + t.index.lastTime) * 1e6));
    const builder = new TimelineBuilder(fromNs, toNs, (toNs - fromNs) / cells);
    engine.walkActivations(thread, builder);
    map.set(thread, { fromNs, toNs, nsPerPx: (toNs - fromNs) / cells, spans: builder.finish(), deeper: builder.deeper, windowRecords: options.windowRecords ?? LEVEL_RECORDS });
    done.push(thread);
  });
  return done;
}

/** Records of a thread between two times (from the index: a segment read at each end). */
function recordsBetween(q: QueryTrace, thread: number, fromNs: number, toNs: number): number {
  return q.engine.positionAt(thread, toNs) - Math.max(0, q.engine.positionAt(thread, fromNs));
}

export function timeline(q: QueryTrace, thread: number, fromNs: number, toNs: number, width: number): TimelineAnswer & { lod: 'walk' | 'level' } {
  if (!(toNs > fromNs)) throw new RecallError('E_USAGE', `timeline: 'to' (${toNs}) must be after 'from' (${fromNs})`);
  if (!Number.isInteger(width) || width < 1 || width > MAX_WIDTH) throw new RecallError('E_USAGE', `timeline: 'width' must be a whole number of pixels, 1-${MAX_WIDTH}`);
  const nsPerPx = (toNs - fromNs) / width;
  const builder = new TimelineBuilder(fromNs, toNs, nsPerPx);
  const level = levels.get(q)?.get(thread);
  let walked = 0;
  let lod: 'walk' | 'level' = 'walk';
  if (level && nsPerPx >= level.nsPerPx && recordsBetween(q, thread, fromNs, toNs) > level.windowRecords) {
    lod = 'level';
    for (const span of level.spans) builder.addEntry(span);
    builder.deeper = level.deeper;
  } else {
    walked = q.engine.walkActivationsIn(thread, fromNs, toNs, builder).walked;
  }
  const spans = builder.finish();
  const names: Record<string, string> = {};
  for (const span of spans) names[span[3]] ??= q.engine.nameOf(span[3]);
  return { thread, fromNs, toNs, width, nsPerPx, spans, names, deeper: builder.deeper, walked, lod };
}

// ---- one call

function shown(desc: unknown, maxChars = 400): string {
  return renderValue(desc as ValueDesc, maxChars);
}

export function callDetails(q: QueryTrace, id: string): unknown {
  const { engine } = q;
  const c = engine.call(id);
  const entry = engine.functions.get(c.fn);
  const params = entry?.params ?? [];
  const args = argsOf(c.values);
  const values: { label: string; text: string }[] = [];
  if (args) args.forEach((arg, i) => values.push({ label: params[i] ? params[i]! : `arg ${i}`, text: shown(arg) }));
  const thisValue = c.values.find((v) => v.body.this !== undefined);
  if (thisValue) values.push({ label: 'this', text: shown(thisValue.body.this) });
  const ret = c.values.find((v) => v.body.ret !== undefined);
  if (ret) values.push({ label: 'returned', text: shown(ret.body.ret) });
  const error = c.values.find((v) => v.body.error !== undefined);
  if (error) values.push({ label: 'threw', text: shown(error.body.error) });
  const ref = parseCallId(c.id);
  // Callers innermost first, across awaits (resumed: the frame runs again after an await, and
  // the frames after it are the calls that started it).
  const logical = engine.logicalStackAt(ref.thread, { position: ref.position });
  const callers = logical.frames
    .filter((f) => f.id !== c.id)
    .map((f) => ({ id: f.id, name: f.name, where: whereOf(engine.functions.get(f.fn), q.manifest.cwd), resumed: f.resumed }));
  return {
    id: c.id,
    thread: c.thread,
    threadId: c.threadId,
    fn: c.fn,
    name: c.name,
    where: whereOf(entry, q.manifest.cwd),
    file: c.file,
    line: c.line,
    column: entry?.column ?? 0,
    enterNs: nullable(c.enterNs),
    exitNs: nullable(c.exitNs),
    durationNs: nullable(c.durationNs),
    selfNs: nullable(c.selfNs),
    timed: c.timed,
    outcome: c.outcome,
    values,
    recorded: c.values.length > 0,
    callers,
    children: [...c.children].sort((a, b) => b.totalNs - a.totalNs || b.calls - a.calls).map((f) => ({ fn: f.fn, name: f.name, calls: f.calls, totalNs: nullable(f.totalNs), selfNs: nullable(f.selfNs), throws: f.throws })),
  };
}

function nullable(n: number | null): number | null {
  return n === null || Number.isNaN(n) ? null : n;
}

// ---- search

/** `q` as a glob when it has * or ?, else a case-insensitive substring of the name. */
function matcherOf(text: string): (name: string) => boolean {
  if (/[*?]/.test(text)) return nameMatcher(text);
  const lower = text.toLowerCase();
  return (name) => name.toLowerCase().includes(lower);
}

export function search(q: QueryTrace, text: string): unknown {
  const { engine } = q;
  const match = matcherOf(text.trim());
  const totals = mergeByFunction(engine.threads.map((_, i) => engine.functionStats(i)));
  const found = totals.filter((s) => s.calls > 0 && match(s.name)).sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name));
  return {
    query: text,
    total: found.length,
    functions: found.slice(0, SEARCH_LIMIT).map((s) => ({
      fn: s.fn,
      name: s.name,
      where: whereOf(engine.functions.get(s.fn), q.manifest.cwd),
      calls: s.calls,
      totalNs: nullable(s.totalNs),
      selfNs: nullable(s.selfNs),
      throws: s.throws,
    })),
  };
}

/** The engine's glob for this function's name: the name itself (a name holding * or ? matches
 *  more names; the calls are filtered by function id after). */
function exactGlob(name: string): string {
  return name;
}

// ---- calls of a function

function callsOf(q: QueryTrace, fn: number, thread: number | undefined, cursor: string | undefined, limit: number): unknown {
  const entry = q.engine.functions.get(fn);
  if (!entry) throw new RecallError('E_USAGE', `no function #${fn} in this trace`);
  const page = q.engine.calls({ function: exactGlob(entry.name), ...(thread !== undefined ? { thread } : {}), ...(cursor !== undefined ? { cursor } : {}), limit });
  return { fn, name: entry.name, calls: page.calls.filter((c) => c.fn === fn).map(briefOut), cursor: page.cursor };
}

function briefOut(c: CallBrief): unknown {
  return { id: c.id, name: c.name, enterNs: nullable(c.enterNs), durationNs: nullable(c.durationNs), outcome: c.outcome };
}

// ---- stepping

/** The first call of `fn` on `thread` that began at `position` or later. */
function nextCallOf(q: QueryTrace, fn: number, thread: number, position: number): CallBrief | null {
  const name = q.engine.nameOf(fn);
  let cursor: string | null = cursorOf(thread, position);
  while (cursor !== null) {
    const page = q.engine.calls({ function: exactGlob(name), thread, cursor, limit: 64 });
    const found = page.calls.find((c) => c.fn === fn);
    if (found) return found;
    cursor = page.cursor;
  }
  return null;
}

/**
 * The last call of `fn` on `thread` that began before `position`: the calls in a stretch of
 * segments before it, the stretch doubling backwards until one is found. With times, calls
 * that began after the current one are not even looked at (the engine skips their segments).
 */
function prevCallOf(q: QueryTrace, fn: number, thread: number, position: number, beforeNs: number | null): CallBrief | null {
  const { engine } = q;
  const name = engine.nameOf(fn);
  const per = engine.segmentRecords;
  let end = position; // exclusive
  for (let stretch = 1; end > 0; stretch *= 2) {
    const start = Math.max(0, (Math.floor((end - 1) / per) - stretch + 1) * per);
    let best: CallBrief | null = null;
    let cursor: string | null = cursorOf(thread, start);
    while (cursor !== null) {
      const page = engine.calls({ function: exactGlob(name), thread, cursor, limit: 512, ...(beforeNs !== null ? { toNs: beforeNs } : {}) });
      let past = false;
      for (const c of page.calls) {
        if (parseCallId(c.id).position >= end) {
          past = true;
          break;
        }
        if (c.fn === fn) best = c;
      }
      cursor = past ? null : page.cursor;
    }
    if (best) return best;
    end = start;
  }
  return null;
}

export function step(q: QueryTrace, id: string, to: string): unknown {
  const { engine } = q;
  const ref = parseCallId(id);
  let target: string | null = null;
  switch (to) {
    case 'next':
    case 'prev': {
      const c = engine.call(id);
      const found = to === 'next' ? nextCallOf(q, c.fn, ref.thread, ref.position + 1) : prevCallOf(q, c.fn, ref.thread, ref.position, engine.times ? c.enterNs : null);
      target = found?.id ?? null;
      break;
    }
    case 'parent': {
      const stack = engine.stackAt(ref.thread, { position: ref.position });
      const frames = stack.frames;
      const at = frames.findIndex((f) => f.id === id);
      target = at > 0 ? frames[at - 1]!.id : null;
      break;
    }
    case 'child':
      target = firstChild(q, ref.thread, ref.position);
      break;
    default:
      throw new RecallError('E_USAGE', `step: 'to' must be next, prev, parent or child, not '${to}'`);
  }
  return { from: callId(ref.thread, ref.position), to: target };
}

/** Records looked at, after a call's enter, for its first callee. */
const CHILD_LOOKAHEAD = 32;

/** The first call made by the call that began at `position`: the frame above it at the first record where there is one. */
function firstChild(q: QueryTrace, thread: number, position: number): string | null {
  const { engine } = q;
  const base = engine.stackAt(thread, { position });
  const depth = base.frames.length;
  const records = engine.threads[thread]!.index.records;
  for (let p = position + 1; p < Math.min(records, position + 1 + CHILD_LOOKAHEAD); p++) {
    const frames = engine.stackAt(thread, { position: p }).frames;
    if (frames.length < depth || frames[depth - 1]?.id !== base.frames[depth - 1]?.id) return null; // it ended (or suspended)
    if (frames.length > depth) return frames[depth]!.id;
  }
  return null;
}
