// `recall export <trace> --format perfetto|chrome|speedscope|parquet [--out FILE] [--thread ID] [--process PID|all]`:
// a trace in another tool's format, streamed from the query engine (src/export). Writes FILE
// (default: <trace name>.<extension> in the current directory; `-` for stdout) and says on
// stderr what it wrote.

import { basename } from 'node:path';
import { RecallError } from '../format/errors.js';
import { openQuery } from '../query/open.js';
import { exportChrome } from '../export/chrome.js';
import { exportSpeedscope } from '../export/speedscope.js';
import { exportPerfetto } from '../export/perfetto.js';
import { ExportWriter } from '../export/writer.js';
import { durationMs, formatBytes, formatCount } from '../text/format.js';
import { parse } from './args.js';
import { viewProcess } from './view-common.js';
import { listProcesses } from '../analysis/processes.js';

export const EXPORT_HELP = `usage: recall export [trace] --format perfetto|chrome|speedscope|parquet [--out FILE] [--thread ID] [--process PID|all]

Write the trace in another tool's format, streamed (memory stays bounded):
  perfetto     Perfetto's native protobuf (TrackEvent): https://ui.perfetto.dev (Open trace file),
               or trace_processor for SQL; the compact choice for big traces
  chrome       Chrome Trace Event JSON: chrome://tracing, https://ui.perfetto.dev (Open trace file)
  speedscope   speedscope's evented profiles, one per thread: https://www.speedscope.app or
               npx speedscope FILE
  parquet      a directory of tables (calls, functions, threads, exceptions, events, values;
               zstd; columns in docs/SQL.md) for DuckDB, ClickHouse, Spark; recall sql queries them

options:
  --out FILE     where to write (default: <trace>.<format extension> here; - for stdout;
                 for parquet a directory, default <trace>.parquet)
  --thread ID    one thread (default: all)
  --from T       only the range [T, --to] (times since the trace began, like 1.5s): calls
  --to T         running at an edge are cut there (not for parquet: filter in SQL)
  --process P    a child process of the trace (default: the root), or all: every process
`;

const OPTIONS = {
  format: { type: 'string' },
  out: { type: 'string' },
  thread: { type: 'string' },
  process: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS = { perfetto: exportPerfetto, chrome: exportChrome, speedscope: exportSpeedscope } as const;
const EXTENSIONS: Record<string, string> = { perfetto: 'perfetto-trace', chrome: 'chrome.json', speedscope: 'speedscope.json' };

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('export', args, OPTIONS);
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  const format = values.format as string | undefined;
  if (format === undefined || (!(format in FORMATS) && format !== 'parquet')) throw new RecallError('E_USAGE', `export: --format takes ${[...Object.keys(FORMATS), 'parquet'].join(', ')}${format === undefined ? '' : `, not '${format}'`} (recall export --help)`);
  let thread: number | undefined;
  if (values.thread !== undefined) {
    thread = Number(values.thread);
    if (!Number.isInteger(thread) || thread < 0) throw new RecallError('E_USAGE', `export: --thread takes a thread id (0 = main), not '${String(values.thread)}'`);
  }
  const range: { fromNs?: number; toNs?: number } = {};
  for (const edge of ['from', 'to'] as const) {
    if (values[edge] === undefined) continue;
    const ms = durationMs(values[edge] as string);
    if (ms === null) throw new RecallError('E_USAGE', `export: --${edge} takes a time since the trace began, like 200ms or 1.5s, not '${String(values[edge])}'`);
    range[edge === 'from' ? 'fromNs' : 'toNs'] = ms * 1e6;
  }
  if (range.fromNs !== undefined && range.toNs !== undefined && range.toNs < range.fromNs) throw new RecallError('E_USAGE', 'export: --to is before --from');
  if (format === 'parquet' && (range.fromNs !== undefined || range.toNs !== undefined)) throw new RecallError('E_USAGE', 'export: --format parquet writes the whole trace; filter in SQL (where start_ns between ...)');
  const started = performance.now();
  // A progress line on a terminal (stderr), redrawn at most every 200 ms.
  let shownAt = 0;
  const progress = process.stderr.isTTY
    ? (events: number) => {
        const now = performance.now();
        if (now - shownAt < 200) return;
        shownAt = now;
        process.stderr.write(`\rrecall: exporting · ${formatCount(events)} events · ${((now - started) / 1000).toFixed(0)} s`);
      }
    : undefined;
  const all = values.process === 'all';
  if (all && thread !== undefined) throw new RecallError('E_USAGE', 'export: --thread needs one process (thread ids repeat across processes); use --process PID with it');
  const q = openQuery(positionals[0] ?? 'recall-trace', all ? {} : viewProcess('export', values.process));
  // --process all: the root process, then every other process of the trace, on one time axis.
  const processes = [q];
  if (all) {
    for (const entry of listProcesses(q.dir)) {
      if (entry.pid === q.manifest.pid) continue;
      try {
        processes.push(openQuery(q.dir, { pid: entry.pid }));
      } catch (error) {
        process.stderr.write(`recall: WARNING: process ${entry.pid} cannot be read (${(error as Error).message}); it is left out\n`);
      }
    }
  }
  if (format === 'parquet') {
    try {
      if (thread !== undefined) throw new RecallError('E_USAGE', 'export: --format parquet writes every thread (filter in SQL: where thread = N)');
      if (processes.length > 1) throw new RecallError('E_USAGE', 'export: --format parquet writes one process at a time (--process PID)');
      const dir = (values.out as string | undefined) ?? `${basename(q.dir)}.parquet`;
      const { writeTables } = await import('../export/tables.js');
      const totals = await writeTables(q, dir);
      const seconds = (performance.now() - started) / 1000;
      const rows = Object.entries(totals.rows).map(([table, n]) => `${table} ${formatCount(n)}`).join(', ');
      process.stderr.write(`recall: ${rows} → ${dir}/ (${seconds.toFixed(1)} s)\n`);
      return 0;
    } finally {
      q.close();
    }
  }
  const outPath = (values.out as string | undefined) ?? `${basename(q.dir)}.${EXTENSIONS[format]}`;
  const out = new ExportWriter(outPath === '-' ? null : outPath);
  try {
    const totals = FORMATS[format as keyof typeof FORMATS](processes, out, { ...(thread !== undefined ? { thread } : {}), ...range, ...(progress ? { progress } : {}) });
    out.finish();
    if (progress) process.stderr.write('\r\x1b[K');
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(`recall: ${formatCount(totals.calls)} calls, ${formatCount(totals.events)} events from ${totals.threads} thread${totals.threads === 1 ? '' : 's'} → ${outPath === '-' ? 'stdout' : outPath} (${formatBytes(out.bytes)}, ${seconds.toFixed(1)} s)\n`);
  } catch (error) {
    out.abort();
    throw error;
  } finally {
    for (const p of processes) p.close();
  }
  return 0;
}
