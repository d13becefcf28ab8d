// The trace as SQL tables (issue 13): `recall export --format parquet` writes them as Parquet
// files (zstd), and `recall sql` queries them with DuckDB. Rows are staged into a DuckDB
// database file beside the output (its memory is capped; it spills to disk), a data chunk of
// numbers at a time, then each table is copied out to Parquet with names and ids joined in.
// Tables (columns in docs/SQL.md): calls, functions, threads, exceptions, events, values.
// Several processes (--process all) go into the same tables one after the other, their times
// moved onto the root's axis; the process column tells them apart (ids repeat across
// processes). A range (--from/--to, ns since the root began) keeps the calls that overlap it,
// whole, and the exceptions, events and values inside it; functions and threads stay whole.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { walkCalls } from '../analysis/calls.js';
import { threadDetail } from '../analysis/detail.js';
import { runtimeEvents } from '../analysis/runtime-events.js';
import type { QueryTrace } from '../query/open.js';
import { indexedRuntimeRecords } from '../query/runtime-source.js';
import { mergeByFunction } from '../query/merge.js';
import { describe } from '../text/events.js';
import { errorLine } from '../text/values.js';
import { counted, shiftNs, type ExportOptions, type ExportTotals } from './common.js';

export const TABLES = ['calls', 'functions', 'threads', 'exceptions', 'events', 'values'] as const;

/** The tables' layout, part of recall sql's cache stamp: tables built with another are rebuilt
 *  (2: a process column in every table). */
export const TABLES_LAYOUT = 2;

const OUTCOMES = ['return', 'throw', 'lost-exit', 'dropped', 'unfinished'] as const;
const CHUNK = 2048;

type Duck = typeof import('@duckdb/node-api');

async function loadDuckDB(): Promise<Duck> {
  return import('@duckdb/node-api');
}

/** Columns staged a chunk at a time, appended as one DuckDB data chunk. */
class Staged {
  private readonly columns: unknown[][];
  private rows = 0;
  count = 0;
  constructor(
    private readonly duck: Duck,
    private readonly appender: import('@duckdb/node-api').DuckDBAppender,
    private readonly types: import('@duckdb/node-api').DuckDBType[],
  ) {
    this.columns = types.map(() => new Array(CHUNK));
  }

  row(...values: unknown[]): void {
    for (let i = 0; i < values.length; i++) (this.columns[i] as unknown[])[this.rows] = values[i];
    this.count++;
    if (++this.rows === CHUNK) this.flush();
  }

  // One data chunk, reused: a chunk's vectors are native memory that JavaScript's collector
  // does not see, so a new chunk per flush held ~2 GB until a collection ran (tsc trace).
  private chunk: import('@duckdb/node-api').DuckDBDataChunk | null = null;

  flush(): void {
    if (this.rows === 0) return;
    this.chunk ??= this.duck.DuckDBDataChunk.create(this.types, CHUNK);
    this.chunk.reset();
    this.chunk.rowCount = this.rows;
    this.chunk.setColumns(this.columns.map((c) => (this.rows === CHUNK ? c : c.slice(0, this.rows))) as never);
    this.appender.appendDataChunk(this.chunk);
    this.rows = 0;
  }

  close(): void {
    this.flush();
    this.appender.closeSync();
  }
}

/** Write the tables of `processes` (the first is the root) as Parquet files into `dir`
 *  (created; files replaced). */
export async function writeTables(processes: QueryTrace | readonly QueryTrace[], dir: string, range: Pick<ExportOptions, 'fromNs' | 'toNs' | 'progress'> = {}): Promise<ExportTotals & { rows: Record<string, number> }> {
  const list = Array.isArray(processes) ? (processes as readonly QueryTrace[]) : [processes as QueryTrace];
  const root = list[0]!;
  const duck = await loadDuckDB();
  mkdirSync(dir, { recursive: true });
  const staging = join(dir, `.staging-${process.pid}.duckdb`);
  rmSync(staging, { force: true });
  const instance = await duck.DuckDBInstance.create(staging, { memory_limit: '512MB', threads: '2' });
  const db = await instance.connect();
  const totals = { calls: 0, events: 0, threads: 0, rows: {} as Record<string, number> };
  const { DOUBLE, INTEGER, VARCHAR, BOOLEAN, TINYINT } = duck;
  const stage = async (table: string, columns: [string, import('@duckdb/node-api').DuckDBType, string][]): Promise<Staged> => {
    await db.run(`create or replace table ${table}(${columns.map(([name, , sql]) => `${name} ${sql}`).join(', ')})`);
    return new Staged(duck, await db.createAppender(table), columns.map(([, type]) => type));
  };
  try {
    const threads = await stage('threads', [['thread_index', INTEGER, 'integer'], ['thread', INTEGER, 'integer'], ['name', VARCHAR, 'varchar'], ['process', INTEGER, 'integer']]);
    const functions = await stage('functions_raw', [['process', INTEGER, 'integer'], ['fn', INTEGER, 'integer'], ['calls', DOUBLE, 'double'], ['total_ns', DOUBLE, 'double'], ['self_ns', DOUBLE, 'double'], ['throws', DOUBLE, 'double'], ['unfinished', DOUBLE, 'double']]);
    const names = await stage('names', [['process', INTEGER, 'integer'], ['fn', INTEGER, 'integer'], ['name', VARCHAR, 'varchar'], ['file', VARCHAR, 'varchar'], ['line', INTEGER, 'integer'], ['col', INTEGER, 'integer'], ['kind', VARCHAR, 'varchar']]);
    const calls = await stage('calls_raw', [
      ['process', INTEGER, 'integer'],
      ['thread_index', INTEGER, 'integer'],
      ['position', DOUBLE, 'double'],
      ['fn', INTEGER, 'integer'],
      ['depth', INTEGER, 'integer'],
      ['parent', DOUBLE, 'double'],
      ['start_ns', DOUBLE, 'double'],
      ['end_ns', DOUBLE, 'double'],
      ['self_ns', DOUBLE, 'double'],
      ['outcome', TINYINT, 'tinyint'],
      ['timed', BOOLEAN, 'boolean'],
    ]);
    const events = await stage('events', [['process', INTEGER, 'integer'], ['thread', INTEGER, 'integer'], ['position', DOUBLE, 'double'], ['ns', DOUBLE, 'double'], ['kind', VARCHAR, 'varchar'], ['text', VARCHAR, 'varchar']]);
    const values = await stage('values_raw', [['process', INTEGER, 'integer'], ['thread', INTEGER, 'integer'], ['serial', DOUBLE, 'double'], ['kind', VARCHAR, 'varchar'], ['fn', INTEGER, 'integer'], ['ns', DOUBLE, 'double'], ['body', VARCHAR, 'varchar']]);
    const exceptions = await stage('exceptions_raw', [['process', INTEGER, 'integer'], ['thread', INTEGER, 'integer'], ['thrown_ns', DOUBLE, 'double'], ['thrown_event', DOUBLE, 'double'], ['error', VARCHAR, 'varchar'], ['thrown_in', VARCHAR, 'varchar'], ['caught_in', VARCHAR, 'varchar'], ['outcome', VARCHAR, 'varchar']]);
    for (const q of list) writeProcess(q, shiftNs(root, q), range, { threads, functions, names, calls, events, values, exceptions }, totals);
    for (const table of [threads, functions, names, calls, events, values, exceptions]) table.close();
    // Out to Parquet, ids and names joined in.
    const to = (table: string) => `'${join(dir, `${table}.parquet`).replace(/'/g, "''")}' (format parquet, compression zstd)`;
    const outcomeCase = `case c.outcome ${OUTCOMES.map((o, i) => `when ${i} then '${o}'`).join(' ')} end`;
    await db.run(`copy (select 'c' || c.thread_index || '.' || cast(c.position as bigint) as call, t.process, t.thread, n.name, n.file, n.line, c.depth,
      case when c.parent < 0 then null else 'c' || c.thread_index || '.' || cast(c.parent as bigint) end as parent,
      cast(c.start_ns as bigint) as start_ns, cast(c.end_ns as bigint) as end_ns, cast(c.self_ns as bigint) as self_ns,
      c.outcome = 1 as threw, c.timed, ${outcomeCase} as outcome
      from calls_raw c join threads t using (process, thread_index) left join names n using (process, fn)) to ${to('calls')}`);
    // One row per function in the source: a module loaded by several threads registers its
    // functions once per thread (as recall summary, they are added up).
    // (With several processes, one row per function per process: ids are per process.)
    await db.run(`copy (select n.process, min(n.fn) as fn, n.name, n.file, n.line, n.col as "column", n.kind, cast(sum(coalesce(f.calls, 0)) as bigint) as calls, cast(sum(f.total_ns) as bigint) as total_ns, cast(sum(f.self_ns) as bigint) as self_ns, cast(sum(coalesce(f.throws, 0)) as bigint) as throws, cast(sum(coalesce(f.unfinished, 0)) as bigint) as unfinished from names n left join functions_raw f using (process, fn) group by n.process, n.name, n.file, n.line, n.col, n.kind order by self_ns desc nulls last) to ${to('functions')}`);
    await db.run(`copy (select thread_index, thread, name, process from threads) to ${to('threads')}`);
    await db.run(`copy (select 'x' || row_number() over (partition by process order by thrown_ns, thrown_event) as id, process, thread, cast(thrown_ns as bigint) as thrown_ns, error, thrown_in, caught_in, outcome from exceptions_raw order by thrown_ns, thrown_event) to ${to('exceptions')}`);
    await db.run(`copy (select process, thread, cast(position as bigint) as position, cast(ns as bigint) as ns, kind, text from events order by ns, process, thread, position) to ${to('events')}`);
    await db.run(`copy (select v.process, v.thread, cast(v.serial as bigint) as serial, v.kind, n.name as function, cast(v.ns as bigint) as ns, v.body from values_raw v left join names n using (process, fn) order by v.process, v.thread, v.serial) to ${to('values')}`);
    for (const table of TABLES) {
      const reader = await db.runAndReadAll(`select count(*) from read_parquet('${join(dir, `${table}.parquet`).replace(/'/g, "''")}')`);
      totals.rows[table] = Number(reader.getRows()[0]?.[0] ?? 0);
    }
    return totals;
  } finally {
    db.closeSync();
    instance.closeSync();
    for (const suffix of ['', '.wal']) rmSync(staging + suffix, { force: true });
    if (existsSync(staging + '.tmp')) rmSync(staging + '.tmp', { recursive: true, force: true });
  }
}

interface Tables {
  threads: Staged;
  functions: Staged;
  names: Staged;
  calls: Staged;
  events: Staged;
  values: Staged;
  exceptions: Staged;
}

/** One process's rows, its times moved by `shift` onto the root's axis, the range kept. */
function writeProcess(q: QueryTrace, shift: number, range: Pick<ExportOptions, 'fromNs' | 'toNs' | 'progress'>, tables: Tables, totals: ExportTotals): void {
  const pid = q.manifest.pid;
  const timed = q.manifest.clock.mode !== 'none';
  const from = range.fromNs ?? -Infinity;
  const to = range.toNs ?? Infinity;
  const whole = from === -Infinity && to === Infinity;
  /** ns on the root's axis (null without times). */
  const at = (ns: number): number | null => (timed ? ns + shift : null);
  const inside = (ns: number): boolean => whole || (timed && ns + shift >= from && ns + shift <= to);
  q.threads.forEach((t, i) => tables.threads.row(i, t.id, t.name, pid));
  // functions (totals over every thread of the process, by function id; the whole trace)
  for (const f of mergeByFunction(q.threads.map((_, i) => q.engine.functionStats(i)))) tables.functions.row(pid, f.fn, f.calls, f.totalNs, f.selfNs, f.throws, f.unfinished);
  for (const [fn, entry] of q.engine.functions) tables.names.row(pid, fn, entry.name, entry.file, entry.line, entry.column, entry.kind);
  // calls: one row per call, from the engine's walk of every activation
  q.threads.forEach((_, threadIndex) => {
    totals.threads++;
    interface Open {
      fn: number;
      call: number;
      enterNs: number;
      depth: number;
      parent: number;
      self: number;
      orphan: boolean;
    }
    const stack: { rec: Open; start: number; child: number }[] = [];
    const suspended = new Map<number, Open>();
    const emit = (rec: Open, endNs: number | null, outcome: number, isTimed: boolean): void => {
      if (rec.orphan) return; // a run after an await whose call began before the recording
      // With a range: the calls that overlap it (one whose end is not known runs to the end).
      if (!whole && (!timed || rec.enterNs + shift > to || (endNs !== null && endNs + shift < from))) return;
      totals.calls++;
      tables.calls.row(pid, threadIndex, rec.call, rec.fn, rec.depth, rec.parent, at(rec.enterNs), endNs !== null ? at(endNs) : null, timed ? rec.self : null, outcome, isTimed);
    };
    const walked = { events: totals.events };
    q.engine.walkActivations(threadIndex, counted({
      open(fn, call, ns, how) {
        totals.events++;
        const below = stack[stack.length - 1];
        let rec = how === 'resume' ? suspended.get(call) : undefined;
        if (rec) suspended.delete(call);
        else rec = { fn, call, enterNs: ns, depth: stack.length, parent: below ? below.rec.call : -1, self: 0, orphan: how === 'resume' };
        stack.push({ rec, start: ns, child: 0 });
      },
      close(_fn, call, ns, how, isTimed) {
        totals.events++;
        const top = stack.pop();
        if (!top || top.rec.call !== call) return;
        const spent = ns - top.start;
        top.rec.self += spent - top.child;
        const below = stack[stack.length - 1];
        if (below) below.child += spent;
        if (how === 'await') suspended.set(call, top.rec);
        else emit(top.rec, how === 'dropped' ? null : ns, OUTCOMES.indexOf(how === 'lost-exit' ? 'lost-exit' : how === 'throw' ? 'throw' : how === 'dropped' ? 'dropped' : how === 'unfinished' ? 'unfinished' : 'return'), isTimed);
      },
    }, range, walked));
    // Calls still awaiting when the recording ended.
    for (const rec of suspended.values()) emit(rec, null, OUTCOMES.indexOf('unfinished'), false);
  });
  // events: runtime events from the index
  const runtime = runtimeEvents(q.trace, indexedRuntimeRecords(q.engine));
  const threadNames = new Map(q.threads.map((t) => [t.id, t.name]));
  for (const t of runtime.threads) for (const e of t.events) if (inside(e.ns)) tables.events.row(pid, t.id, e.index, at(e.ns), e.kind, describe(e, threadNames, timed));
  // values: every detail-lane snapshot, with its function and body (JSON)
  q.trace.threads.forEach((thread) => {
    for (const entry of threadDetail(q.trace, thread).records.values()) {
      if (inside(entry.ns)) tables.values.row(pid, thread.info.id, entry.serial, String(entry.body.k ?? ''), Number(entry.body.fn ?? 0), at(entry.ns), JSON.stringify(entry.body));
    }
  });
  // exceptions: from the call model, for the threads the index says threw or caught
  const holding = q.threads.map((_, i) => i).filter((i) => q.engine.mayHoldExceptions(i));
  if (holding.length === 0) return;
  // The query's trace view: a thread's records are read from its file piece by piece.
  for (const i of holding) {
    const thread = q.trace.threads[i];
    if (!thread) continue;
    for (const x of walkCalls(q.trace, thread).exceptions) {
      if (!inside(x.thrownNs)) continue;
      tables.exceptions.row(pid, thread.info.id, at(x.thrownNs), x.thrownEvent, errorLine(x.error), x.frames[0]?.name ?? null, x.caughtBy ? (x.caughtBy.depth < 0 ? '(top level)' : x.caughtBy.name) : null, x.outcome);
    }
  }
}
