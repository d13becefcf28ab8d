// `recall summary`: rebuild each thread's exact call stack from its event stream and total, per
// function, the calls, inclusive time (counted once per outermost activation, so recursion is
// not double-counted) and self time (inclusive minus time in callees). Async functions and
// generators are suspended and resumed by frame serial, so their time is their time on the
// stack, attributed to the call that started them. Drops and damage are reported, not hidden.

import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_RESUME, EV_SUSPEND, EV_THROW, FN_MASK, KIND_MASK, KIND_SHIFT, RECORD_WORDS } from '../format/layout.js';
import type { FunctionEntry } from '../format/manifest.js';
import type { Trace, TraceThread } from './trace.js';

export interface FunctionSummary {
  name: string;
  file: string;
  line: number;
  column: number;
  kind: string;
  calls: number;
  totalNs: number;
  selfNs: number;
  avgNs: number;
  throws: number;
  /** Calls still running when the recording ended (their time runs to the thread's last event). */
  unfinished: number;
  /** Calls recorded without timestamps (adaptive or count-only timing). */
  untimedCalls: number;
  /** The part of totalNs/selfNs that is estimated for those calls rather than measured. */
  estimatedNs: number;
}

export interface ThreadSummary {
  id: number;
  name: string;
  file: string;
  events: number;
  produced: number;
  written: number;
  dropped: number;
  /** Events the manifest says were written but the file no longer holds (truncated/damaged). */
  lost: number;
  durationNs: number;
  maxDepth: number;
}

export interface Summary {
  trace: string;
  status: string;
  command: string[];
  clock: { mode: 'adaptive' | 'exact' | 'none'; precision: string; resolutionNs: number };
  threads: ThreadSummary[];
  functions: FunctionSummary[];
  totals: { events: number; dropped: number; lost: number; durationNs: number; threads: number; functions: number; calls: number };
  warnings: string[];
}

export interface SummaryOptions {
  thread?: number;
  top?: number;
}

interface Accumulator {
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

function accumulator(size: number): Accumulator {
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

export interface ThreadWalk {
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

  constructor(private readonly acc: Accumulator) {
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
        acc.timedSum[fn] = (acc.timedSum[fn] as number) + self;
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
export function walkThread(thread: TraceThread, acc: Accumulator): ThreadWalk {
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

  for (const chunk of thread.scan.chunks) {
    const byteOffset = thread.bytes.byteOffset + chunk.payloadOffset;
    const u32 = new Uint32Array(thread.bytes.buffer, byteOffset, chunk.count * RECORD_WORDS);
    const f64 = new Float64Array(thread.bytes.buffer, byteOffset, chunk.count * (RECORD_WORDS >> 1));
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

function functionKey(fn: FunctionEntry): string {
  return `${fn.file}\0${fn.line}\0${fn.column}\0${fn.name}`;
}

export function summarize(trace: Trace, options: SummaryOptions = {}): Summary {
  let maxId = 0;
  for (const id of trace.functions.keys()) if (id > maxId) maxId = id;
  const size = maxId + 1;
  const acc = accumulator(size);
  const warnings = [...trace.problems];
  const threads: ThreadSummary[] = [];
  let firstAbs = Infinity;
  let lastAbs = -Infinity;
  const selected = trace.threads.filter((t) => options.thread === undefined || t.info.id === options.thread);
  for (const thread of selected) {
    const walk = walkThread(thread, acc);
    const origin = thread.header?.timeOriginMs ?? thread.info.timeOriginMs;
    if (walk.events > 0 || walk.droppedFromMarkers > 0) {
      firstAbs = Math.min(firstAbs, origin + walk.firstMs);
      lastAbs = Math.max(lastAbs, origin + walk.lastMs);
    }
    const reconstructed = trace.manifest.status !== 'complete' && !trace.manifest.threads.some((t) => t.file === thread.info.file);
    const dropped = reconstructed ? walk.droppedFromMarkers : thread.info.dropped;
    const written = reconstructed ? walk.events : thread.info.written;
    const lost = Math.max(0, written - walk.events);
    threads.push({
      id: thread.info.id,
      name: thread.info.name,
      file: thread.info.file,
      events: walk.events,
      produced: reconstructed ? walk.events + dropped : thread.info.produced,
      written,
      dropped,
      lost,
      durationNs: walk.events > 0 ? Math.round((walk.lastMs - walk.firstMs) * 1e6) : 0,
      maxDepth: walk.maxDepth,
    });
  }

  // Merge function ids that name the same source function (one registration per thread).
  const merged = new Map<string, FunctionSummary>();
  for (let id = 0; id < size; id++) {
    const calls = acc.calls[id] as number;
    if (calls === 0 && (acc.total[id] as number) === 0) continue;
    const fn = trace.functions.get(id) ?? { id, name: id === 0 ? '(unregistered)' : `(unknown #${id})`, file: '', line: 0, column: 0, kind: '' };
    const key = functionKey(fn);
    let entry = merged.get(key);
    if (!entry) {
      entry = { name: fn.name, file: fn.file, line: fn.line, column: fn.column, kind: fn.kind, calls: 0, totalNs: 0, selfNs: 0, avgNs: 0, throws: 0, unfinished: 0, untimedCalls: 0, estimatedNs: 0 };
      merged.set(key, entry);
    }
    entry.calls += calls;
    entry.totalNs += (acc.total[id] as number) * 1e6;
    entry.selfNs += (acc.self[id] as number) * 1e6;
    entry.throws += acc.throws[id] as number;
    entry.unfinished += acc.unfinished[id] as number;
    entry.untimedCalls += acc.untimed[id] as number;
    entry.estimatedNs += (acc.estimated[id] as number) * 1e6;
  }
  const functions = [...merged.values()];
  for (const fn of functions) {
    fn.totalNs = Math.round(fn.totalNs);
    // Estimates can overshoot what was measured around them; self never exceeds total.
    fn.selfNs = Math.min(fn.totalNs, Math.max(0, Math.round(fn.selfNs)));
    fn.avgNs = fn.calls > 0 ? Math.round(fn.totalNs / fn.calls) : 0;
    fn.estimatedNs = Math.round(fn.estimatedNs);
  }
  functions.sort((a, b) => b.selfNs - a.selfNs || b.calls - a.calls || a.name.localeCompare(b.name));
  const allFunctions = functions.length;
  const totalCalls = functions.reduce((sum, fn) => sum + fn.calls, 0);
  const shown = options.top !== undefined ? functions.slice(0, options.top) : functions;

  const totals = {
    events: threads.reduce((sum, t) => sum + t.events, 0),
    dropped: threads.reduce((sum, t) => sum + t.dropped, 0),
    lost: threads.reduce((sum, t) => sum + t.lost, 0),
    durationNs: Number.isFinite(firstAbs) ? Math.round((lastAbs - firstAbs) * 1e6) : 0,
    threads: threads.length,
    functions: allFunctions,
    calls: totalCalls,
  };
  for (const t of threads) {
    if (t.dropped > 0) warnings.push(`thread ${t.id} (${t.name}) DROPPED ${t.dropped} of ${t.produced} events: its ring was full (raise --ring-size); call counts and times are incomplete`);
    if (t.lost > 0) warnings.push(`thread ${t.id} (${t.name}): ${t.lost} events the recorder wrote are missing from ${t.file} (truncated or damaged file)`);
  }
  if (trace.manifest.threadsUntraced > 0) {
    warnings.push(`${trace.manifest.threadsUntraced} thread(s) were not recorded: all ${trace.manifest.options.threadSlots} registry slots were taken (raise --threads)`);
  }
  return {
    trace: trace.dir,
    status: trace.manifest.status,
    command: trace.manifest.command,
    clock: { mode: trace.manifest.clock.mode, precision: trace.manifest.clock.precision, resolutionNs: trace.manifest.clock.resolutionNs },
    threads,
    functions: shown,
    totals,
    warnings,
  };
}
