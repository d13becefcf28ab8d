// `recall export <trace> --format perfetto|chrome|speedscope|parquet|otlp [--out FILE] [--thread ID] [--process PID|all] [--from T] [--to T]`:
// a trace in another tool's format, streamed from the query engine (src/export). Writes FILE
// (default: <trace name>.<extension> in the current directory; `-` for stdout) and says on
// stderr what it wrote. otlp sends spans to a collector (--endpoint, --protocol, --service,
// --min-duration) unless --out names a file for the request bodies.

import { basename } from 'node:path';
import { RecallError } from '../format/errors.js';
import { openQuery, type QueryTrace } from '../query/open.js';
import { exportChrome } from '../export/chrome.js';
import { exportSpeedscope } from '../export/speedscope.js';
import { exportPerfetto } from '../export/perfetto.js';
import { exportOtlp } from '../export/otlp.js';
import type { OtlpProtocol } from '../export/otlp-encode.js';
import { endpointFrom, fileSink, headersFrom, httpSink } from '../export/otlp-send.js';
import { ExportWriter } from '../export/writer.js';
import { durationMs, formatBytes, formatCount } from '../text/format.js';
import { parse } from './args.js';
import { viewProcess } from './view-common.js';
import { listProcesses } from '../analysis/processes.js';

export const EXPORT_HELP = `usage: recall export [trace] --format perfetto|chrome|speedscope|parquet [--out FILE] [--thread ID] [--process PID|all]
                     [--from T] [--to T]
       recall export [trace] --format otlp [--endpoint URL] [--protocol http/protobuf|http/json]
                     [--min-duration D] [--service NAME] [--out FILE] [--thread ID] [--process PID|all]
                     [--from T] [--to T]

Write the trace in another tool's format, streamed (memory stays bounded; on a terminal a
progress line on stderr):
  perfetto     Perfetto's native protobuf (TrackEvent): https://ui.perfetto.dev (Open trace file),
               or trace_processor for SQL; the compact choice for big traces
  chrome       Chrome Trace Event JSON: chrome://tracing, https://ui.perfetto.dev (Open trace file);
               messages between threads and awaits (to the call's next run) as flow events
  speedscope   speedscope's evented profiles, one per thread: https://www.speedscope.app or
               npx speedscope FILE
  parquet      a directory of tables (calls, functions, threads, exceptions, events, values;
               zstd; columns in docs/SQL.md) for DuckDB, ClickHouse, Spark; recall sql queries them
  otlp         OpenTelemetry spans to a collector (OTLP/HTTP, gzipped, retried on 429/503):
               calls of async functions, calls lasting at least --min-duration, and HTTP and
               fetch spans, each a child of the nearest such call that was its caller; a call
               that threw has the error as its status message and an exception event when the
               error value was recorded (else the message is "threw")

options:
  --out FILE     where to write (default: <trace>.<format extension> here; - for stdout;
                 for parquet a directory, default <trace>.parquet; otlp: the request bodies,
                 not gzipped, instead of sending them)
  --thread ID    one thread (default: all)
  --from T       only the range [T, --to] (times since the trace began, like 1.5s; for
                 every process, since the root process began):
  --to T         perfetto, chrome, speedscope: calls running at an edge are cut there;
                 otlp: the spans that overlap the range, whole (not cut); a span whose
                 parent ended before the range is a root;
                 parquet: the calls that overlap the range, whole, and the exceptions, events
                 and values inside it (the functions table still counts the whole trace)
  --process P    a child process of the trace (default: the root), or all: every process
                 (otlp: a resource per process, one trace; a child process's root calls are
                 children of the call that spawned it. parquet: one set of tables, the
                 process column tells them apart)

otlp options:
  --endpoint URL       the collector (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                       $OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318); spans go to
                       <URL>/v1/traces unless it ends in /v1/traces already
  --protocol P         http/protobuf (default) or http/json
  --min-duration D     calls at least this long become spans (default 1ms; 0 = every call)
  --service NAME       service.name (default: the recorded command's script)
  request headers (an API key) come from $OTEL_EXPORTER_OTLP_TRACES_HEADERS or
  $OTEL_EXPORTER_OTLP_HEADERS: key=value,key2=value2
`;

const OPTIONS = {
  format: { type: 'string' },
  out: { type: 'string' },
  thread: { type: 'string' },
  process: { type: 'string' },
  endpoint: { type: 'string' },
  protocol: { type: 'string' },
  'min-duration': { type: 'string' },
  service: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FORMATS = { perfetto: exportPerfetto, chrome: exportChrome, speedscope: exportSpeedscope } as const;
const EXTENSIONS: Record<string, string> = { perfetto: 'perfetto-trace', chrome: 'chrome.json', speedscope: 'speedscope.json' };

const OTLP_ONLY = ['endpoint', 'protocol', 'min-duration', 'service'] as const;

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('export', args, OPTIONS);
  if (values.help) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  const format = values.format as string | undefined;
  if (format !== 'otlp') {
    const stray = OTLP_ONLY.find((name) => values[name] !== undefined);
    if (stray !== undefined) throw new RecallError('E_USAGE', `export: --${stray} is for --format otlp`);
  }
  if (format === 'otlp') return otlpCommand(values, positionals);
  if (format === undefined || (!(format in FORMATS) && format !== 'parquet')) throw new RecallError('E_USAGE', `export: --format takes ${[...Object.keys(FORMATS), 'parquet', 'otlp'].join(', ')}${format === undefined ? '' : `, not '${format}'`} (recall export --help)`);
  const thread = threadOption(values.thread);
  const range = rangeOption(values);
  const started = performance.now();
  const progress = progressLine(started);
  const processes = openProcesses(values, positionals, thread);
  const q = processes[0]!;
  if (format === 'parquet') {
    try {
      if (thread !== undefined) throw new RecallError('E_USAGE', 'export: --format parquet writes every thread (filter in SQL: where thread = N)');
      const dir = (values.out as string | undefined) ?? `${basename(q.dir)}.parquet`;
      const { writeTables } = await import('../export/tables.js');
      let totals: Awaited<ReturnType<typeof writeTables>>;
      try {
        totals = await writeTables(processes, dir, { ...range, ...(progress ? { progress } : {}) });
      } finally {
        if (progress) process.stderr.write('\r\x1b[K');
      }
      const seconds = (performance.now() - started) / 1000;
      const rows = Object.entries(totals.rows).map(([table, n]) => `${table} ${formatCount(n)}`).join(', ');
      process.stderr.write(`recall: ${rows}${processes.length > 1 ? ` from ${processes.length} processes` : ''} → ${dir}/ (${seconds.toFixed(1)} s)\n`);
      return 0;
    } finally {
      for (const p of processes) p.close();
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
    if (progress) process.stderr.write('\r\x1b[K');
    out.abort();
    throw error;
  } finally {
    for (const p of processes) p.close();
  }
  return 0;
}

/** --from/--to as ns since the trace began. */
function rangeOption(values: Record<string, unknown>): { fromNs?: number; toNs?: number } {
  const range: { fromNs?: number; toNs?: number } = {};
  for (const edge of ['from', 'to'] as const) {
    if (values[edge] === undefined) continue;
    const ms = durationMs(values[edge] as string);
    if (ms === null) throw new RecallError('E_USAGE', `export: --${edge} takes a time since the trace began, like 200ms or 1.5s, not '${String(values[edge])}'`);
    range[edge === 'from' ? 'fromNs' : 'toNs'] = ms * 1e6;
  }
  if (range.fromNs !== undefined && range.toNs !== undefined && range.toNs < range.fromNs) throw new RecallError('E_USAGE', 'export: --to is before --from');
  return range;
}

/** A progress line on a terminal (stderr), redrawn at most every 200 ms; none elsewhere. */
function progressLine(started: number): ((events: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let shownAt = 0;
  return (events: number) => {
    const now = performance.now();
    if (now - shownAt < 200) return;
    shownAt = now;
    process.stderr.write(`\rrecall: exporting · ${formatCount(events)} events · ${((now - started) / 1000).toFixed(0)} s`);
  };
}

/** The processes to export: the one --process names (default: the root), or with --process all
 *  the root, then every other process of the trace. */
function openProcesses(values: Record<string, unknown>, positionals: string[], thread: number | undefined): QueryTrace[] {
  const all = values.process === 'all';
  if (all && thread !== undefined) throw new RecallError('E_USAGE', 'export: --thread needs one process (thread ids repeat across processes); use --process PID with it');
  const q = openQuery(positionals[0] ?? 'recall-trace', all ? {} : viewProcess('export', values.process));
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
  return processes;
}

function threadOption(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const thread = Number(value);
  if (!Number.isInteger(thread) || thread < 0) throw new RecallError('E_USAGE', `export: --thread takes a thread id (0 = main), not '${String(value)}'`);
  return thread;
}

async function otlpCommand(values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const protocol = (values.protocol as string | undefined) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') throw new RecallError('E_USAGE', `export: --protocol takes http/protobuf or http/json, not '${protocol}'`);
  let minDurationNs = 1e6;
  if (values['min-duration'] !== undefined) {
    const ms = durationMs(values['min-duration'] as string);
    if (ms === null) throw new RecallError('E_USAGE', `export: --min-duration takes a duration such as 1ms, 500us or 0.2s, not '${String(values['min-duration'])}'`);
    minDurationNs = Math.round(ms * 1e6);
  }
  const service = values.service as string | undefined;
  if (service !== undefined && service.trim() === '') throw new RecallError('E_USAGE', 'export: --service takes a name');
  const thread = threadOption(values.thread);
  const range = rangeOption(values);
  const outPath = values.out as string | undefined;
  // Check the endpoint before the work.
  const url = outPath === undefined ? endpointFrom(values.endpoint as string | undefined) : null;
  const headers = outPath === undefined ? headersFrom() : {};
  const started = performance.now();
  const progress = progressLine(started);
  const processes = openProcesses(values, positionals, thread);
  const out = outPath !== undefined ? new ExportWriter(outPath === '-' ? null : outPath) : null;
  try {
    const sink = out !== null ? fileSink(out, protocol as OtlpProtocol) : httpSink(url as string, protocol as OtlpProtocol, headers);
    const totals = await exportOtlp(processes, sink, {
      protocol: protocol as OtlpProtocol,
      minDurationNs,
      ...range,
      ...(service !== undefined ? { service } : {}),
      ...(thread !== undefined ? { thread } : {}),
      ...(progress ? { progress } : {}),
    });
    if (progress) process.stderr.write('\r\x1b[K');
    out?.finish();
    const seconds = (performance.now() - started) / 1000;
    const where = out !== null ? (outPath === '-' ? 'stdout' : outPath) : url;
    const retried = sink.retries > 0 ? `, ${sink.retries} retr${sink.retries === 1 ? 'y' : 'ies'}` : '';
    if (sink.rejected > 0 || sink.rejectedMessage !== '') {
      process.stderr.write(`recall: the collector rejected ${formatCount(sink.rejected)} span${sink.rejected === 1 ? '' : 's'}${sink.rejectedMessage ? `: ${sink.rejectedMessage}` : ''}\n`);
    }
    process.stderr.write(
      `recall: ${formatCount(totals.calls + totals.runtime)} spans (${formatCount(totals.calls)} calls, ${formatCount(totals.runtime)} HTTP/fetch) from ${totals.threads} thread${totals.threads === 1 ? '' : 's'}${processes.length > 1 ? ` of ${processes.length} processes` : ''} in ${totals.requests} request${totals.requests === 1 ? '' : 's'} → ${where} (${formatBytes(sink.bytes)}${retried}, ${seconds.toFixed(1)} s)\n`,
    );
  } catch (error) {
    if (progress) process.stderr.write('\r\x1b[K');
    out?.abort();
    throw error;
  } finally {
    for (const p of processes) p.close();
  }
  return 0;
}
