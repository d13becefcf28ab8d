// `recall summary --process all`: every process of a trace summarized on its own (function ids
// are per process, so a function is keyed by process and id: the same source function in two
// processes is two rows, each saying its pid), then put side by side: threads and functions
// carry their pid, totals are summed and the duration spans all processes.

import { listProcesses } from './processes.js';
import { summarize, type FunctionSummary, type Summary, type ThreadSummary } from './summary.js';
import { openTrace, type Trace } from './trace.js';

export interface ProcessSummary {
  pid: number;
  parentPid: number | null;
  command: string[];
  status: string;
  threads: number;
  events: number;
  dropped: number;
  durationNs: number;
}

export interface AllProcessesSummary extends Omit<Summary, 'threads' | 'functions' | 'totals'> {
  processes: ProcessSummary[];
  threads: (ThreadSummary & { pid: number })[];
  functions: (FunctionSummary & { pid: number })[];
  totals: Summary['totals'] & { processes: number };
}

/** First and last record time (epoch ms) of a trace's threads, from the chunk headers. */
function span(trace: Trace): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const thread of trace.threads) {
    const origin = thread.header?.timeOriginMs ?? thread.info.timeOriginMs;
    for (const chunk of thread.scan.chunks) {
      if (chunk.count === 0) continue;
      first = Math.min(first, origin + chunk.firstTime);
      last = Math.max(last, origin + chunk.lastTime);
    }
  }
  return { first, last };
}

export function summarizeAllProcesses(path: string, options: { top?: number } = {}): AllProcessesSummary {
  const root = openTrace(path);
  const entries = listProcesses(root.dir);
  const traces: Trace[] = [root];
  const warnings: string[] = [];
  for (const entry of entries) {
    if (entry.pid === root.manifest.pid) continue;
    try {
      traces.push(openTrace(root.dir, { pid: entry.pid }));
    } catch (error) {
      warnings.push(`process ${entry.pid}: cannot be read (${(error as Error).message})`);
    }
  }
  const processes: ProcessSummary[] = [];
  const threads: AllProcessesSummary['threads'] = [];
  const functions: AllProcessesSummary['functions'] = [];
  let first = Infinity;
  let last = -Infinity;
  let rootSummary: Summary | null = null;
  for (const trace of traces) {
    const pid = trace.manifest.pid;
    const summary = summarize(trace);
    rootSummary ??= summary;
    const s = span(trace);
    first = Math.min(first, s.first);
    last = Math.max(last, s.last);
    processes.push({
      pid,
      parentPid: trace === root ? null : trace.manifest.parentPid ?? null,
      command: trace.manifest.command,
      status: trace.manifest.status,
      threads: summary.totals.threads,
      events: summary.totals.events,
      dropped: summary.totals.dropped,
      durationNs: summary.totals.durationNs,
    });
    for (const t of summary.threads) threads.push({ pid, ...t });
    for (const fn of summary.functions) functions.push({ pid, ...fn });
    for (const warning of summary.warnings) warnings.push(trace === root ? warning : `process ${pid}: ${warning}`);
  }
  functions.sort((a, b) => b.selfNs - a.selfNs || b.calls - a.calls || a.name.localeCompare(b.name) || a.pid - b.pid);
  const base = rootSummary as Summary;
  return {
    trace: base.trace,
    status: base.status,
    command: base.command,
    clock: base.clock,
    processes,
    threads,
    functions: options.top !== undefined ? functions.slice(0, options.top) : functions,
    totals: {
      events: threads.reduce((sum, t) => sum + t.events, 0),
      dropped: threads.reduce((sum, t) => sum + t.dropped, 0),
      discarded: threads.reduce((sum, t) => sum + t.discarded, 0),
      lost: threads.reduce((sum, t) => sum + t.lost, 0),
      durationNs: Number.isFinite(first) && last >= first ? Math.round((last - first) * 1e6) : 0,
      threads: threads.length,
      functions: functions.length,
      calls: functions.reduce((sum, fn) => sum + fn.calls, 0),
      processes: processes.length,
    },
    warnings,
  };
}
