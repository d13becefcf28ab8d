// `recall summary [trace]`: the top functions by self time with calls, total, self and average,
// per-thread event and drop counts, and loud warnings for anything dropped or damaged.
// Text (fits 80 columns), JSON (one object) or CSV. One process of the trace (the root unless
// --process PID), or every process side by side (--process all: rows then carry their pid).

import { relative, isAbsolute } from 'node:path';
import { RecallError } from '../format/errors.js';
import { summarizeTrace } from '../analysis/summary-trace.js';
import type { FunctionSummary, Summary } from '../analysis/summary.js';
import { summarizeAllProcesses, type AllProcessesSummary } from '../analysis/summary-all.js';
import { listProcesses, processTree } from '../analysis/processes.js';
import { parse, positiveInteger } from './args.js';
import { durationMs } from '../text/format.js';
import { openQuery } from '../query/open.js';
import { rangeSummary } from '../query/range-summary.js';
import { csvField, displayCommand, formatCount, formatNs, table } from '../text/format.js';

export const SUMMARY_HELP = `usage: recall summary [trace] [--format text|json|csv] [--top N] [--thread ID] [--process PID|all]

Top functions by self time: calls, total (inclusive) time, self time, average (by calls
for a trace recorded with --timing none, which has no times).
trace defaults to ./recall-trace (its latest recording).

options:
  --format F   text (default), json or csv
  --top N      show the N functions with the most self time (text default 20)
  --thread ID  only the thread with this id (0 = main thread)
  --process P  the process with pid P (default: the root process recall run started), or
               all: every process, each function and thread row with its pid
  --from T     only the time range [T, --to] (times since the trace began, like 1.5s or 200ms;
  --to T       default: its start and end): calls that began in it, self and total time
               clipped to it (read through the query index, built beside the trace once)
`;

const OPTIONS = {
  format: { type: 'string' },
  top: { type: 'string' },
  thread: { type: 'string' },
  process: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function location(file: string, line: number, cwd: string): string {
  if (!file) return '?';
  const shown = isAbsolute(file) ? relative(cwd, file) : file;
  return `${shown.startsWith('..') ? file : shown}:${line}`;
}

function isAll(summary: Summary | AllProcessesSummary): summary is AllProcessesSummary {
  return 'processes' in summary;
}

/** `pid` column cells, present only in an all-processes summary. */
function pidCell(row: { pid?: number }): string[] {
  return row.pid === undefined ? [] : [String(row.pid)];
}

/**
 * Text form of a summary. `otherProcesses`: how many more processes the trace holds besides the
 * one shown (a hint to --process), 0 for none.
 */
export function renderSummaryText(summary: Summary | AllProcessesSummary, cwd: string, otherProcesses = 0): string {
  const out: string[] = [];
  const t = summary.totals;
  const all = isAll(summary);
  // --timing none: no durations to show (the timing line says so).
  const timed = summary.clock.mode !== 'none';
  const pidColumn = all ? [{ title: 'pid', align: 'right' } as const] : [];
  out.push(`recall summary · ${relative(process.cwd(), summary.trace) || '.'}${summary.command.length ? ' · ' + summary.command.join(' ') : ''}`);
  out.push(
    `${summary.status} · ${all ? `${summary.processes.length} processes · ` : ''}${t.threads} thread${t.threads === 1 ? '' : 's'} · ${formatCount(t.events)} events · ${formatCount(t.dropped)} dropped${t.discarded > 0 ? ` · ${formatCount(t.discarded)} older discarded (bounded trace: the run's beginning is gone)` : ''}${timed ? ` · ${formatNs(t.durationNs)} recorded` : ''}`,
  );
  out.push(`timing: ${summary.clock.precision}`);
  if (!all && summary.range) {
    out.push(`range: ${formatNs(summary.range.fromNs)} to ${formatNs(summary.range.toNs)} · calls that began in it; self and total time clipped to it`);
  }
  if (otherProcesses > 0) {
    out.push(`the trace holds ${otherProcesses} more process${otherProcesses === 1 ? '' : 'es'} (recall info lists them): recall summary --process PID, or --process all`);
  }
  for (const warning of summary.warnings) out.push(`WARNING: ${warning}`);
  out.push('');
  if (all) {
    out.push(
      table(
        [
          { title: 'pid', align: 'left' },
          { title: 'parent', align: 'right' },
          { title: 'status', align: 'left' },
          { title: 'events', align: 'right' },
          { title: 'command', align: 'left', shrink: true },
        ],
        processTree(summary.processes).map(({ process: p, depth }) => [
          '  '.repeat(depth) + String(p.pid),
          p.parentPid === null ? '-' : String(p.parentPid),
          p.status,
          formatCount(p.events),
          displayCommand(p.command, process.cwd()),
        ]),
      ),
    );
    out.push('');
  }
  out.push(
    table(
      [
        ...pidColumn,
        { title: 'thread', align: 'right' },
        { title: 'name', align: 'left', shrink: true },
        { title: 'events', align: 'right' },
        { title: 'dropped', align: 'right' },
        ...(timed ? [{ title: 'duration', align: 'right' } as const] : []),
      ],
      (summary.threads as (Summary['threads'][number] & { pid?: number })[]).map((th) => [
        ...pidCell(th),
        String(th.id),
        th.name,
        formatCount(th.events),
        formatCount(th.dropped),
        ...(timed ? [formatNs(th.durationNs)] : []),
      ]),
    ),
  );
  out.push('');
  const shown = summary.functions.length;
  // Without times every self time is 0: the order is then by calls.
  const order = timed ? 'self time' : 'calls';
  out.push(
    shown < t.functions
      ? `top ${shown} of ${t.functions} functions by ${order} (${formatCount(t.calls)} calls)`
      : `${t.functions} function${t.functions === 1 ? '' : 's'} by ${order} (${formatCount(t.calls)} calls)`,
  );
  const mark = (fn: FunctionSummary, text: string): string => (fn.untimedCalls > 0 ? '~' + text : text);
  out.push(
    table(
      [
        ...pidColumn,
        { title: 'function', align: 'left', shrink: true },
        { title: 'location', align: 'left', shrink: true, keepEnd: true },
        { title: 'calls', align: 'right' },
        ...(timed
          ? ([
              { title: 'total', align: 'right' },
              { title: 'self', align: 'right' },
              { title: 'avg', align: 'right' },
            ] as const)
          : []),
      ],
      (summary.functions as (FunctionSummary & { pid?: number })[]).map((fn) => [
        ...pidCell(fn),
        fn.name + (fn.throws > 0 ? ` (${formatCount(fn.throws)} threw)` : ''),
        location(fn.file, fn.line, cwd),
        formatCount(fn.calls),
        ...(timed ? [mark(fn, formatNs(fn.totalNs)), mark(fn, formatNs(fn.selfNs)), mark(fn, formatNs(fn.avgNs))] : []),
      ]),
    ),
  );
  if (!timed) {
    out.push('recorded with --timing none: calls and call structure only');
    return out.join('\n') + '\n';
  }
  if (summary.functions.some((fn) => fn.untimedCalls > 0)) {
    out.push('~ includes time estimated for calls recorded without timestamps (adaptive)');
  }
  out.push('total includes callees; async functions and generators: time on the stack only');
  return out.join('\n') + '\n';
}

export function renderSummaryCsv(summary: Summary | AllProcessesSummary): string {
  const all = isAll(summary);
  const header = [...(all ? ['pid'] : []), 'name', 'file', 'line', 'column', 'calls', 'totalNs', 'selfNs', 'avgNs', 'throws', 'untimedCalls', 'estimatedNs'];
  const rows = (summary.functions as (FunctionSummary & { pid?: number })[]).map((fn) =>
    [...pidCell(fn), fn.name, fn.file, fn.line, fn.column, fn.calls, fn.totalNs, fn.selfNs, fn.avgNs, fn.throws, fn.untimedCalls, fn.estimatedNs].map(csvField).join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}

export async function summaryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('summary', args, OPTIONS);
  if (values.help) {
    process.stdout.write(SUMMARY_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new RecallError('E_USAGE', `summary: expected one trace directory, got ${positionals.length}`);
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'csv') {
    throw new RecallError('E_USAGE', `summary: --format must be text, json or csv, not '${format}'`);
  }
  const top = positiveInteger('summary', '--top', values.top as string | undefined, format === 'text' ? 20 : Number.MAX_SAFE_INTEGER);
  let thread: number | undefined;
  if (values.thread !== undefined) {
    thread = Number(values.thread);
    if (!Number.isInteger(thread) || thread < 0) throw new RecallError('E_USAGE', `summary: --thread takes a thread id (0 = main), not '${String(values.thread)}'`);
  }
  const processOption = values.process as string | undefined;
  let pid: number | undefined;
  if (processOption !== undefined && processOption !== 'all') {
    pid = Number(processOption);
    if (!Number.isInteger(pid) || pid <= 0) throw new RecallError('E_USAGE', `summary: --process takes a pid or 'all', not '${processOption}'`);
  }
  const path = positionals[0] ?? 'recall-trace';
  let summary: Summary | AllProcessesSummary;
  let cwd: string;
  let others = 0;
  const ranged = values.from !== undefined || values.to !== undefined;
  if (ranged) {
    if (processOption === 'all') throw new RecallError('E_USAGE', 'summary: --from/--to need one process; use --process PID with them');
    const fromMs = values.from !== undefined ? durationMs(values.from as string) : 0;
    const toMs = values.to !== undefined ? durationMs(values.to as string) : Infinity;
    if (fromMs === null || toMs === null) throw new RecallError('E_USAGE', `summary: --from and --to take times since the trace began, like 200ms or 1.5s, not '${String(fromMs === null ? values.from : values.to)}'`);
    if (toMs < fromMs) throw new RecallError('E_USAGE', 'summary: --to is before --from');
    const q = openQuery(path, pid !== undefined ? { pid } : {});
    try {
      summary = rangeSummary(q, { fromNs: fromMs * 1e6, toNs: toMs * 1e6, ...(thread !== undefined ? { thread } : {}), top });
    } finally {
      q.close();
    }
    cwd = q.manifest.cwd || process.cwd();
  } else if (processOption === 'all') {
    if (thread !== undefined) throw new RecallError('E_USAGE', 'summary: --thread needs one process (thread ids repeat across processes); use --process PID with it');
    summary = summarizeAllProcesses(path, { top });
    cwd = process.cwd();
  } else {
    const result = await summarizeTrace(path, { pid, thread, top });
    summary = result.summary;
    cwd = result.manifest.cwd || process.cwd();
    if (format === 'text') others = Math.max(0, listProcesses(result.dir).length - 1);
  }
  if (format === 'json') {
    process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
  } else if (format === 'csv') {
    for (const warning of summary.warnings) process.stderr.write(`recall: WARNING: ${warning}\n`);
    process.stdout.write(renderSummaryCsv(summary));
  } else {
    process.stdout.write(renderSummaryText(summary, cwd, others));
  }
  return 0;
}
