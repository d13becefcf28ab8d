// The viewer's side panels: hotspots (functions by self time, with their calls, from the index:
// no walk), exceptions (each throw with its error, the function that threw it and how it ended:
// the call model the exceptions view and recall_exceptions are built on), and the summary of a
// time range (the engine's range walk, as `recall summary --from --to` and recall_hotspots with
// from/to: top functions by self time in it, its calls, and the exceptions thrown in it).

import { walkCalls, type Exception } from '../analysis/calls.js';
import { RecallError } from '../format/errors.js';
import type { FunctionStats } from '../query/answers.js';
import { callId } from '../query/ids.js';
import { mergeByFunction } from '../query/merge.js';
import type { QueryTrace } from '../query/open.js';
import { errorLine } from '../text/values.js';
import { whereOf } from '../tools/text.js';
import { nullable } from './params.js';

/** Functions a hotspots or range answer lists at most. */
const TOP = 30;
/** Threads with more records than this are not walked whole for their exceptions: their calls that ended by a throw are listed instead (from the index). */
const EXCEPTION_WALK_RECORDS = 2_000_000;
/** Exceptions listed at most. */
const EXCEPTIONS_SHOWN = 500;

export interface HotspotRow {
  fn: number;
  name: string;
  where: string;
  calls: number;
  selfNs: number | null;
  totalNs: number | null;
  throws: number;
}

function rows(q: QueryTrace, stats: FunctionStats[], top: number): HotspotRow[] {
  const times = q.engine.times;
  const key = times ? 'selfNs' : 'calls';
  return stats
    .filter((s) => s.calls > 0 || s.selfNs > 0)
    .sort((a, b) => b[key] - a[key] || b.calls - a.calls || a.name.localeCompare(b.name))
    .slice(0, top)
    .map((s) => ({ fn: s.fn, name: s.name, where: whereOf(q.engine.functions.get(s.fn), q.manifest.cwd), calls: s.calls, selfNs: nullable(s.selfNs), totalNs: nullable(s.totalNs), throws: s.throws }));
}

/** Functions by self time over the whole trace (by calls without times). */
export function hotspots(q: QueryTrace, top = TOP): { by: 'self' | 'calls'; total: number; functions: HotspotRow[] } {
  const { engine } = q;
  const stats = mergeByFunction(engine.threads.map((_, i) => engine.functionStats(i))).filter((s) => s.calls > 0);
  return { by: engine.times ? 'self' : 'calls', total: stats.length, functions: rows(q, stats, top) };
}

export interface ExceptionRow {
  /** x<N>: by time of throw over every thread (the ids recall_exceptions and recall_stack use). */
  id: string;
  error: string;
  /** The call that threw it first (null: the catching call's own code or untraced code threw it). */
  call: string | null;
  name: string | null;
  where: string;
  thread: number;
  thrownNs: number | null;
  outcome: Exception['outcome'] | 'threw';
  caughtIn: string | null;
}

const exceptionCache = new WeakMap<QueryTrace, { exceptions: ExceptionRow[]; total: number; partial: string[] }>();

/**
 * Every exception of the trace, by time of throw: from the call model of each thread that can
 * hold one (the index says which). A thread of more than EXCEPTION_WALK_RECORDS records is not
 * walked whole: its calls that ended by a throw are listed instead (found through the index),
 * and `partial` says so. Made once per trace.
 */
export function exceptions(q: QueryTrace): { total: number; exceptions: ExceptionRow[]; partial: string[] } {
  const cached = exceptionCache.get(q);
  if (cached) return cached;
  const { engine } = q;
  const all: ExceptionRow[] = [];
  const partial: string[] = [];
  const cwd = q.manifest.cwd;
  q.threads.forEach((info, t) => {
    if (!engine.mayHoldExceptions(t)) return;
    const thread = q.trace.threads[t];
    if (!thread) return;
    if (engine.threads[t]!.index.records > EXCEPTION_WALK_RECORDS) {
      partial.push(`thread ${info.id}: too long to follow each exception (${engine.threads[t]!.index.records.toLocaleString('en-US')} events); its calls that ended by a throw are listed`);
      for (const c of engine.calls({ thread: t, threw: true, limit: EXCEPTIONS_SHOWN }).calls) {
        all.push({ id: '', error: '(see the call)', call: c.id, name: c.name, where: whereOf(engine.functions.get(c.fn), cwd), thread: info.id, thrownNs: nullable(c.durationNs === null ? null : c.enterNs + c.durationNs), outcome: 'threw', caughtIn: null });
      }
      return;
    }
    for (const x of walkCalls(q.trace, thread).exceptions) {
      const thrower = x.frames[0] ?? null;
      all.push({
        id: '',
        error: errorLine(x.error),
        call: thrower ? callId(t, thrower.enterEvent) : null,
        name: thrower?.name ?? null,
        where: thrower ? whereOf(engine.functions.get(thrower.fn), cwd) : '',
        thread: info.id,
        thrownNs: nullable(x.thrownNs),
        outcome: x.outcome,
        caughtIn: x.caughtBy ? (x.caughtBy.depth < 0 ? '(top-level code)' : x.caughtBy.name) : null,
      });
    }
  });
  all.sort((a, b) => (a.thrownNs ?? 0) - (b.thrownNs ?? 0));
  all.forEach((x, i) => (x.id = `x${i + 1}`));
  const answer = { total: all.length, exceptions: all.slice(0, EXCEPTIONS_SHOWN), partial };
  exceptionCache.set(q, answer);
  return answer;
}

/** The summary of [fromNs, toNs]: calls that began in it, self and total time clipped to it (engine.rangeStats), and the exceptions thrown in it. */
export function rangeSummary(q: QueryTrace, fromNs: number, toNs: number, top = TOP): unknown {
  const { engine } = q;
  if (!engine.times) throw new RecallError('E_USAGE', 'range: this trace was recorded with --timing none and has no times');
  if (!(toNs > fromNs)) throw new RecallError('E_USAGE', `range: 'to' (${toNs}) must be after 'from' (${fromNs})`);
  const stats = mergeByFunction(engine.threads.map((_, t) => engine.rangeStats(t, fromNs, toNs).functions));
  const thrown = exceptions(q).exceptions.filter((x) => x.thrownNs !== null && x.thrownNs >= fromNs && x.thrownNs <= toNs);
  return {
    fromNs,
    toNs,
    calls: stats.reduce((n, s) => n + s.calls, 0),
    functionCount: stats.filter((s) => s.calls > 0 || s.selfNs > 0).length,
    functions: rows(q, stats, top),
    exceptions: thrown,
  };
}
