// `recall summary --from T --to T`: the summary of a time range, from the query engine's range
// walk (engine.rangeStats: calls that began in the range, self and inclusive time clipped to
// it), in the summary's own shape so the text, JSON and CSV forms are the summary's.

import { RecallError } from '../format/errors.js';
import type { FunctionSummary, Summary, ThreadSummary } from '../analysis/summary.js';
import type { QueryTrace } from './open.js';
import type { FunctionStats } from './answers.js';
import { mergeByFunction } from './merge.js';

export interface RangeSummaryOptions {
  fromNs: number;
  toNs: number;
  /** toNs may be Infinity: to the end. A thread id (default: every thread). */
  thread?: number;
  top?: number;
}

export function rangeSummary(q: QueryTrace, options: RangeSummaryOptions): Summary {
  const engine = q.engine;
  // An open end is the trace's last event.
  const lastNs = Math.max(0, ...engine.threads.map((t) => Math.round((t.shiftMs + t.index.lastTime) * 1e6)));
  const fromNs = options.fromNs;
  const toNs = Math.min(options.toNs, lastNs);
  const m = q.manifest;
  if (m.clock.mode === 'none') throw new RecallError('E_USAGE', 'summary: --from/--to need times, and this trace was recorded with --timing none');
  const picked = q.threads.map((info, index) => ({ info, index })).filter(({ info }) => options.thread === undefined || info.id === options.thread);
  if (picked.length === 0) throw new RecallError('E_USAGE', `summary: no thread ${options.thread} in this trace; threads: ${q.threads.map((t) => t.id).join(', ')}`);
  const threads: ThreadSummary[] = [];
  const perThread: FunctionStats[][] = [];
  for (const { info, index } of picked) {
    perThread.push(engine.rangeStats(index, fromNs, toNs).functions);
    const first = engine.positionAt(index, fromNs);
    const last = engine.positionAt(index, toNs);
    const thread = engine.threads[index]!.index;
    threads.push({ id: info.id, name: info.name, file: info.file, events: last - first, produced: info.produced, written: info.written, dropped: info.dropped, discarded: info.discarded, lost: 0, durationNs: toNs - fromNs, maxDepth: thread.maxDepth });
  }
  const all: FunctionSummary[] = mergeByFunction(perThread)
    .filter((f) => f.calls > 0 || f.selfNs > 0 || f.totalNs > 0)
    .map((f) => {
      const entry = engine.functions.get(f.fn);
      return { name: f.name, file: entry?.file ?? '', line: entry?.line ?? 0, column: entry?.column ?? 0, kind: entry?.kind ?? '', calls: f.calls, totalNs: f.totalNs, selfNs: f.selfNs, avgNs: 0, throws: f.throws, unfinished: f.unfinished, untimedCalls: f.untimedCalls ?? 0, estimatedNs: Math.round(f.estimatedNs ?? 0) };
    });
  for (const f of all) f.avgNs = f.calls > 0 ? f.totalNs / f.calls : 0;
  all.sort((a, b) => b.selfNs - a.selfNs || b.calls - a.calls);
  const functions = options.top !== undefined ? all.slice(0, options.top) : all;
  const warnings = [...q.problems];
  if (m.clock.mode === 'adaptive') warnings.push('adaptive timing: calls recorded without timestamps are given their function\'s mean timed self time over the whole thread; in a range that is an approximation of the summary\'s estimates');
  return {
    trace: q.dir,
    status: m.status,
    command: m.command,
    clock: { mode: m.clock.mode ?? 'exact', precision: m.clock.precision, resolutionNs: m.clock.resolutionNs },
    threads,
    functions,
    totals: {
      events: threads.reduce((n, t) => n + t.events, 0),
      dropped: threads.reduce((n, t) => n + t.dropped, 0),
      discarded: threads.reduce((n, t) => n + t.discarded, 0),
      lost: 0,
      durationNs: toNs - fromNs,
      threads: threads.length,
      functions: all.length,
      calls: all.reduce((n, f) => n + f.calls, 0),
    },
    warnings,
    range: { fromNs, toNs },
  };
}
