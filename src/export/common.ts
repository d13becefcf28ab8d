// What the exporters share: which threads go out, the range and progress wrappers of the
// engine's walk, async causality as flows, a function's place in the source, and the totals
// an export reports.

import { RecallError } from '../format/errors.js';
import type { ManifestThread } from '../format/manifest.js';
import type { QueryTrace } from '../query/open.js';
import type { ActivationVisitor } from '../query/engine.js';

export interface ExportOptions {
  /** A thread id (default: every thread). */
  thread?: number;
  /** Only [fromNs, toNs] (ns since the trace began): calls running at either edge are cut there. */
  fromNs?: number;
  toNs?: number;
  /** Told of each thread's progress (for a progress line). */
  progress?: (events: number) => void;
}

/**
 * A visitor that passes on only the part of a thread's activations inside [fromNs, toNs]:
 * frames open when the range begins are opened at its start (as runs, not new calls), frames
 * still open when it ends are closed at its end ('unfinished'). Without a range, `visitor`
 * itself.
 */
export function clipped(visitor: ActivationVisitor, options: ExportOptions): ActivationVisitor {
  const from = options.fromNs ?? -Infinity;
  const to = options.toNs ?? Infinity;
  if (from === -Infinity && to === Infinity) return visitor;
  const stack: { fn: number; call: number }[] = [];
  let inside = false;
  let done = false;
  const reach = (ns: number): void => {
    if (done) return;
    if (ns > to) {
      // The range ends: close what is open (opening it first when no event fell inside).
      if (!inside) for (const f of stack) visitor.open(f.fn, f.call, Math.max(from, 0), 'resume');
      for (let i = stack.length - 1; i >= 0; i--) visitor.close(stack[i]!.fn, stack[i]!.call, to, 'unfinished', true);
      done = true;
      inside = false;
    } else if (!inside && ns >= from) {
      inside = true;
      for (const f of stack) visitor.open(f.fn, f.call, from, 'resume');
    }
  };
  return {
    open(fn, call, ns, how) {
      reach(ns);
      if (done) return;
      stack.push({ fn, call });
      if (inside) visitor.open(fn, call, ns, how);
    },
    close(fn, call, ns, how, timed) {
      reach(ns);
      if (done) return;
      stack.pop();
      if (inside) visitor.close(fn, call, ns, how, timed);
    },
    detail(serial, ns) {
      if (inside && !done && ns <= to) visitor.detail?.(serial, ns);
    },
  };
}

/** Count events for a progress line: every 2^16 events, `progress` hears the running total. */
export function counted(visitor: ActivationVisitor, options: ExportOptions, base: { events: number }): ActivationVisitor {
  const progress = options.progress;
  if (!progress) return visitor;
  let n = 0;
  return {
    open(fn, call, ns, how) {
      if ((++n & 0xffff) === 0) progress(base.events + n);
      visitor.open(fn, call, ns, how);
    },
    close(fn, call, ns, how, timed) {
      if ((++n & 0xffff) === 0) progress(base.events + n);
      visitor.close(fn, call, ns, how, timed);
    },
    detail(serial, ns) {
      visitor.detail?.(serial, ns);
    },
  };
}

/** The engine's walk of a thread for an exporter: clipped to the range, counted for progress. */
export function walkForExport(q: QueryTrace, threadIndex: number, visitor: ActivationVisitor, options: ExportOptions, totals: ExportTotals): void {
  q.engine.walkActivations(threadIndex, counted(clipped(visitor, options), options, totals));
}

/**
 * Async causality as flows (Perfetto's flow_ids, Chrome's s/f events): each run of a call that
 * ends at an await starts a flow that ends where the call runs next. Ids count up from 2^40,
 * clear of the message flows (numbered from 1, one per message), unique over the export.
 */
export class AwaitFlows {
  private next = 2 ** 40;
  private readonly awaiting = new Map<number, number>(); // call -> flow id
  /** A new thread (calls are positions within one thread). */
  thread(): void {
    this.awaiting.clear();
  }
  /** A run of `call` ends at an await: the flow it starts. */
  suspended(call: number): number {
    const id = ++this.next;
    this.awaiting.set(call, id);
    return id;
  }
  /** A run of `call` begins (`how` as the walk says): the flow it ends, 0 for none (a new call,
   *  or a run whose await is not in the export). */
  resumed(call: number, how: string): number {
    if (how !== 'resume') return 0;
    const id = this.awaiting.get(call) ?? 0;
    if (id !== 0) this.awaiting.delete(call);
    return id;
  }
}

/** Whether a runtime event at `ns` is inside the range. */
export function inRange(ns: number, options: ExportOptions): boolean {
  return ns >= (options.fromNs ?? -Infinity) && ns <= (options.toNs ?? Infinity);
}

export interface ExportTotals {
  /** Calls exported (activations that began with an enter). */
  calls: number;
  /** Events written (opens and closes). */
  events: number;
  threads: number;
}

export function exportedThreads(q: QueryTrace, options: ExportOptions): { index: number; info: ManifestThread }[] {
  const all = q.threads.map((info, index) => ({ index, info }));
  if (options.thread === undefined) return all;
  const picked = all.filter(({ info }) => info.id === options.thread);
  if (picked.length === 0) throw new RecallError('E_USAGE', `export: no thread ${options.thread} in this trace; threads: ${q.threads.map((t) => t.id).join(', ')}`);
  return picked;
}

/** file:line of a function (as recorded: absolute paths). */
export function locationOf(q: QueryTrace, fn: number): string {
  const entry = q.engine.functions.get(fn);
  return entry?.file ? `${entry.file}:${entry.line}` : '';
}

/** The options for one process: the range (ns since the root began) moved onto its own axis. */
export function onAxisOf<T extends ExportOptions>(options: T, shift: number): T {
  if (shift === 0 || (options.fromNs === undefined && options.toNs === undefined)) return options;
  return {
    ...options,
    ...(options.fromNs !== undefined ? { fromNs: options.fromNs - shift } : {}),
    ...(options.toNs !== undefined ? { toNs: options.toNs - shift } : {}),
  };
}

/** What to add to a process's times (ns since its own start) to put them on the root's axis. */
export function shiftNs(root: QueryTrace, q: QueryTrace): number {
  const a = root.manifest.startEpochMs;
  const b = q.manifest.startEpochMs;
  return a && b ? Math.round((b - a) * 1e6) : 0;
}
