// `recall summary`: rebuild each thread's exact call stack from its event stream and total, per
// function, the calls, inclusive time (counted once per outermost activation, so recursion is
// not double-counted) and self time (inclusive minus time in callees). Async functions and
// generators are suspended and resumed by frame serial, so their time is their time on the
// stack, attributed to the call that started them. Drops and damage are reported, not hidden.

import type { ThreadFileHeader } from '../format/chunk.js';
import type { FunctionEntry, Manifest, ManifestThread } from '../format/manifest.js';
import type { Trace, TraceThread } from './trace.js';
import {
  ACC_STRIDE,
  A_CALLS,
  A_ESTIMATED,
  A_SELF,
  A_THROWS,
  A_TIMED_CALLS,
  A_TOTAL,
  A_UNFINISHED,
  A_UNTIMED,
  ThreadWalker,
  accumulator,
  addSums,
  warmUpWalk,
  type Accumulator,
  type Sums,
  type ThreadWalk,
} from './walk.js';

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
  /** Records a bounded trace (--max-size / --keep) discarded from the thread's beginning; not lost, left out on purpose. */
  discarded: number;
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
  totals: { events: number; dropped: number; discarded: number; lost: number; durationNs: number; threads: number; functions: number; calls: number };
  warnings: string[];
  /** A summary of a time range only (summary --from/--to): ns since the trace began. */
  range?: { fromNs: number; toNs: number };
}

export interface SummaryOptions {
  thread?: number;
  top?: number;
}

function functionKey(fn: FunctionEntry): string {
  return `${fn.file}\0${fn.line}\0${fn.column}\0${fn.name}`;
}

/**
 * Sums the threads' walks into one summary. Threads are added in trace order; each thread is
 * walked into an accumulator of its own (so threads can be walked in parallel) and added to the
 * running sums here, whose timed-call columns are the priors of the threads walked after it.
 */
export class SummaryBuilder {
  readonly acc: Accumulator;
  readonly threads: ThreadSummary[] = [];
  private firstAbs = Infinity;
  private lastAbs = -Infinity;

  constructor(
    private readonly manifest: Manifest,
    readonly size: number,
  ) {
    this.acc = accumulator(size);
  }

  /** The sums of the threads added so far: the timed calls the next thread's estimates rest on. */
  get priors(): Accumulator {
    return this.acc;
  }

  /**
   * Whether a walk made without priors estimated any function that the threads added so far
   * have timed calls of: then its estimates differ, and it must be walked again with priors.
   */
  needsPriors(estimatedWith: ArrayLike<number>): boolean {
    for (let i = 0; i < estimatedWith.length; i++) {
      if ((this.acc[(estimatedWith[i] as number) * ACC_STRIDE + A_TIMED_CALLS] as number) > 0) return true;
    }
    return false;
  }

  /** Add one thread's walk and its per-function sums. */
  addThread(info: ManifestThread, header: ThreadFileHeader | null, walk: ThreadWalk, sums: Sums): void {
    addSums(this.acc, sums);
    const origin = header?.timeOriginMs ?? info.timeOriginMs;
    if (walk.events > 0 || walk.droppedFromMarkers > 0) {
      this.firstAbs = Math.min(this.firstAbs, origin + walk.firstMs);
      this.lastAbs = Math.max(this.lastAbs, origin + walk.lastMs);
    }
    const manifest = this.manifest;
    const reconstructed = manifest.status !== 'complete' && !manifest.threads.some((t) => t.file === info.file);
    const dropped = reconstructed ? walk.droppedFromMarkers : info.dropped;
    const written = reconstructed ? walk.events : info.written;
    // A bounded trace's prelude (format/window.ts) re-opens frames: its records are not events.
    const events = Math.max(0, walk.events - (header?.window?.prelude ?? 0));
    const lost = Math.max(0, written - events);
    this.threads.push({
      id: info.id,
      name: info.name,
      file: info.file,
      events,
      produced: reconstructed ? events + dropped + (info.discarded ?? 0) : info.produced,
      written,
      dropped,
      discarded: info.discarded ?? header?.window?.discardedRecords ?? 0,
      lost,
      durationNs: walk.events > 0 ? Math.round((walk.lastMs - walk.firstMs) * 1e6) : 0,
      maxDepth: walk.maxDepth,
    });
  }

  finish(dir: string, functionTable: Map<number, FunctionEntry>, problems: string[], options: SummaryOptions): Summary {
    const { acc, size, threads, manifest } = this;
    const warnings = [...problems];
    // Merge function ids that name the same source function (one registration per thread).
    const merged = new Map<string, FunctionSummary>();
    for (let id = 0; id < size; id++) {
      const a = id * ACC_STRIDE;
      const calls = acc[a + A_CALLS] as number;
      if (calls === 0 && (acc[a + A_TOTAL] as number) === 0) continue;
      const fn = functionTable.get(id) ?? { id, name: id === 0 ? '(unregistered)' : `(unknown #${id})`, file: '', line: 0, column: 0, kind: '' };
      const key = functionKey(fn);
      let entry = merged.get(key);
      if (!entry) {
        entry = { name: fn.name, file: fn.file, line: fn.line, column: fn.column, kind: fn.kind, calls: 0, totalNs: 0, selfNs: 0, avgNs: 0, throws: 0, unfinished: 0, untimedCalls: 0, estimatedNs: 0 };
        merged.set(key, entry);
      }
      entry.calls += calls;
      entry.totalNs += (acc[a + A_TOTAL] as number) * 1e6;
      entry.selfNs += (acc[a + A_SELF] as number) * 1e6;
      entry.throws += acc[a + A_THROWS] as number;
      entry.unfinished += acc[a + A_UNFINISHED] as number;
      entry.untimedCalls += acc[a + A_UNTIMED] as number;
      entry.estimatedNs += (acc[a + A_ESTIMATED] as number) * 1e6;
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
      discarded: threads.reduce((sum, t) => sum + t.discarded, 0),
      lost: threads.reduce((sum, t) => sum + t.lost, 0),
      durationNs: Number.isFinite(this.firstAbs) ? Math.round((this.lastAbs - this.firstAbs) * 1e6) : 0,
      threads: threads.length,
      functions: allFunctions,
      calls: totalCalls,
    };
    for (const t of threads) {
      if (t.dropped > 0) warnings.push(`thread ${t.id} (${t.name}) DROPPED ${t.dropped} of ${t.produced} events: its ring and spill ring were full (raise --ring-size or --spill-size); call counts and times are incomplete`);
      if (t.lost > 0) warnings.push(`thread ${t.id} (${t.name}): ${t.lost} events the recorder wrote are missing from ${t.file} (truncated or damaged file)`);
    }
    if (manifest.threadsUntraced > 0) {
      warnings.push(`${manifest.threadsUntraced} thread(s) were not recorded: all ${manifest.options.threadSlots} registry slots were taken (raise --threads)`);
    }
    return {
      trace: dir,
      status: manifest.status,
      command: manifest.command,
      clock: { mode: manifest.clock.mode, precision: manifest.clock.precision, resolutionNs: manifest.clock.resolutionNs },
      threads,
      functions: shown,
      totals,
      warnings,
    };
  }
}

/** Accumulators are sized to the function table: ids past it are not counted (as ever). */
export function tableSize(functions: Map<number, FunctionEntry>): number {
  let maxId = 0;
  for (const id of functions.keys()) if (id > maxId) maxId = id;
  return maxId + 1;
}

/** Walk one opened thread's valid chunks (already in memory). */
export function walkThread(thread: TraceThread, walker: ThreadWalker): ThreadWalk {
  const bytes = thread.bytes;
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  const f64 = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3);
  for (const chunk of thread.scan.chunks) walker.records(u32, f64, chunk.payloadOffset >> 2, chunk.count);
  return walker.end();
}

/** Summarize a trace already opened (openTrace): one thread after another, in this thread. */
export function summarize(trace: Trace, options: SummaryOptions = {}): Summary {
  const size = tableSize(trace.functions);
  const builder = new SummaryBuilder(trace.manifest, size);
  const selected = trace.threads.filter((t) => options.thread === undefined || t.info.id === options.thread);
  warmUpWalk();
  for (const thread of selected) {
    const walker = new ThreadWalker(size, builder.priors);
    const walk = walkThread(thread, walker);
    builder.addThread(thread.info, thread.header, walk, walker.sums());
  }
  return builder.finish(trace.dir, trace.functions, trace.problems, options);
}
