// `recall sql <trace> "<query>" [--format text|json|csv] [--process PID]`: SQL over the trace's
// tables (calls, functions, threads, exceptions, events, values; docs/SQL.md) with DuckDB. The
// tables are the Parquet files `recall export --format parquet` writes, built once into
// <trace>/sql/ (or sql-p<pid>/ for a child process) and rebuilt when the trace changes.

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecallError } from '../format/errors.js';
import { openQuery, traceSources } from '../query/open.js';
import { resolveTraceDir } from '../analysis/trace.js';
import { csvField, table } from '../text/format.js';
import { parse } from './args.js';
import { formatOption, printJson, viewProcess } from './view-common.js';

export const SQL_HELP = `usage: recall sql [trace] "<query>" [--format text|json|csv] [--process PID]

Run SQL (DuckDB) over the trace's tables:
  calls(call, process, thread, name, file, line, depth, parent, start_ns, end_ns, self_ns,
        threw, timed, outcome)
  functions(fn, name, file, line, column, kind, calls, total_ns, self_ns, throws, unfinished)
  threads(thread_index, thread, name, process)
  exceptions(id, thread, thrown_ns, error, thrown_in, caught_in, outcome)
  events(thread, position, ns, kind, text)
  values(thread, serial, kind, function, ns, body)
Columns are described in docs/SQL.md. The tables are built once beside the trace (Parquet).

example: recall sql recall-trace "select name, count(*) calls, sum(self_ns)/1e6 self_ms
         from calls group by name order by self_ms desc limit 10"
`;

const OPTIONS = {
  format: { type: 'string' },
  process: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'object') return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return String(value);
}

function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value !== null && typeof value === 'object') return cell(value);
  return value;
}

export async function sqlCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('sql', args, OPTIONS);
  if (values.help) {
    process.stdout.write(SQL_HELP);
    return 0;
  }
  const format = formatOption('sql', values.format, ['text', 'json', 'csv']);
  if (positionals.length === 0 || positionals.length > 2) throw new RecallError('E_USAGE', 'sql: give a query (and a trace before it; default ./recall-trace): recall sql [trace] "<query>"');
  const query = positionals[positionals.length - 1]!;
  if (positionals.length === 1 && existsSync(query) && statSync(query).isDirectory()) throw new RecallError('E_USAGE', `sql: give a query after the trace: recall sql ${query} "select ..."`);
  const path = positionals.length === 2 ? positionals[0]! : 'recall-trace';
  const openOptions = viewProcess('sql', values.process);
  const dir = resolveTraceDir(path);
  const tablesDir = join(dir, openOptions.pid !== undefined ? `sql-p${openOptions.pid}` : 'sql');
  const stampFile = join(tablesDir, 'sources.json');
  const { TABLES, TABLES_LAYOUT, writeTables } = await import('../export/tables.js');
  const sources = JSON.stringify({ layout: TABLES_LAYOUT, sources: traceSources(path, openOptions) });
  const current = existsSync(stampFile) && readFileSync(stampFile, 'utf8') === sources && TABLES.every((t) => existsSync(join(tablesDir, `${t}.parquet`)));
  if (!current) {
    const q = openQuery(path, openOptions);
    try {
      const started = performance.now();
      await writeTables(q, tablesDir);
      writeFileSync(stampFile, sources);
      if (process.stderr.isTTY) process.stderr.write(`recall: built the SQL tables in ${((performance.now() - started) / 1000).toFixed(1)} s (${tablesDir}/)\n`);
    } finally {
      q.close();
    }
  }
  const duck = await import('@duckdb/node-api');
  const instance = await duck.DuckDBInstance.create(':memory:', { threads: '2' });
  const db = await instance.connect();
  try {
    for (const t of TABLES) await db.run(`create view "${t}" as select * from read_parquet('${join(tablesDir, `${t}.parquet`).replace(/'/g, "''")}')`);
    let reader;
    try {
      reader = await db.runAndReadAll(query);
    } catch (error) {
      throw new RecallError('E_USAGE', `sql: ${(error as Error).message.split('\n')[0]}`);
    }
    const names = reader.columnNames();
    const rows = reader.getRows();
    if (format === 'json') printJson({ columns: names, rows: rows.map((r) => Object.fromEntries(r.map((v, i) => [names[i], jsonValue(v)]))) });
    else if (format === 'csv') process.stdout.write([names.map(csvField).join(','), ...rows.map((r) => r.map((v) => csvField(cell(v))).join(','))].join('\n') + '\n');
    else process.stdout.write((rows.length === 0 ? `(no rows) ${names.join(', ')}` : table(names.map((title) => ({ title, align: 'left' as const, shrink: true })), rows.map((r) => r.map(cell)), 120)) + '\n');
    return 0;
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}
