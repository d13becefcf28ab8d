// The viewer's answers over every process it shows (viewer-trace.ts): a request that names a
// thread, a call or a function goes to its process's own answer (timeline.ts, call.ts,
// navigation.ts, search.ts, source.ts), and one about the whole trace (search, hotspots,
// exceptions, range, runtime) is asked of each process and merged. Either way the answer comes
// back in the viewer's terms: its thread numbering, its call ids (`c0.12`, `c0.12@PID` outside
// the first process), times on its one axis; and each call, function or exception names its
// process (`process`: a pid), since function ids are per process.

import { isRecallError, RecallError } from '../format/errors.js';
import type { ActivationAxis } from '../query/engine.js';
import { callDetails } from './call.js';
import { jump, step } from './navigation.js';
import { overview as processOverview, type ThreadExtent } from './overview.js';
import { exceptions as processExceptions, hotspots as processHotspots, rangeSummary as processRange, type ExceptionRow, type HotspotRow } from './panels.js';
import { nullable } from './params.js';
import { runtimeTracks, type RuntimeAnswer, type RuntimeTrack } from './runtime.js';
import { callsOf as processCalls, search as processSearch } from './search.js';
import { sourceExcerpt, type SourceExcerpt } from './source.js';
import { timeline as processTimeline, type TimelineAnswer } from './timeline.js';
import type { ViewerProcess, ViewerTrace } from './viewer-trace.js';

/** Rows a merged hotspots or range answer lists at most (as one process's). */
const TOP = 30;
/** Exceptions listed at most (as one process's). */
const EXCEPTIONS_SHOWN = 500;
/** Search results at most (as one process's). */
const SEARCH_LIMIT = 200;

/** A time of process `p` on the viewer's axis (null and NaN stay null). */
function shifted(p: ViewerProcess, ns: number | null): number | null {
  const n = nullable(ns);
  return n === null ? null : n + p.offsetNs;
}

export interface ProcessInfo {
  pid: number;
  parentPid: number | null;
  command: string[];
  depth: number;
  /** The viewer's thread indexes of its threads. */
  threads: number[];
}

/** Threads as the overview lists them, with their process and their index in it. */
export interface ViewerThread extends ThreadExtent {
  pid: number;
  /** The thread's index in its process (its call ids' `c<local>.`). */
  local: number;
}

export function overview(v: ViewerTrace): unknown {
  const processes: ProcessInfo[] = [];
  const threads: ViewerThread[] = [];
  const problems: string[] = [...v.problems];
  for (const p of v.processes) {
    const o = processOverview(p.q) as { threads: ThreadExtent[]; problems: string[] };
    const shift = p.q.engine.times ? p.offsetNs : 0;
    const mine = o.threads.map((t) => ({ ...t, index: p.firstThread + t.index, local: t.index, pid: p.pid, startNs: t.startNs + shift, endNs: t.endNs + shift }));
    threads.push(...mine);
    processes.push({ pid: p.pid, parentPid: p.parentPid, command: p.command, depth: p.depth, threads: mine.map((t) => t.index) });
    problems.push(...o.problems.map((line) => (p.first ? line : `process ${p.pid}: ${line}`)));
  }
  // The window the threads ran in (not from the first process's start: its first ~50-400 ms load Node).
  const startNs = threads.length > 0 ? Math.min(...threads.map((t) => t.startNs)) : 0;
  const endNs = Math.max(startNs + 1, ...threads.map((t) => t.endNs));
  const m = v.first.q.manifest;
  return { dir: v.dir, command: m.command, pid: m.pid, times: v.times, clock: m.clock.mode ?? 'exact', startNs, endNs, processes, threads, problems };
}

export function timeline(v: ViewerTrace, thread: number, fromNs: number, toNs: number, width: number, axis: ActivationAxis): TimelineAnswer & { pid: number } {
  const { p, local } = v.thread(thread);
  const shift = axis === 'time' ? p.offsetNs : 0;
  const answer = processTimeline(p.q, local, fromNs - shift, toNs - shift, width, axis);
  if (shift !== 0) {
    for (const span of answer.spans) {
      span[1] += shift;
      span[2] += shift;
    }
  }
  return { ...answer, thread, fromNs, toNs, pid: p.pid };
}

export function call(v: ViewerTrace, id: string): unknown {
  const { p, id: local } = v.route(id);
  const c = callDetails(p.q, local) as { id: string; thread: number; enterNs: number | null; exitNs: number | null; callers: { id: string }[] };
  return {
    ...c,
    id: v.idOf(p, c.id),
    thread: p.firstThread + c.thread,
    enterNs: shifted(p, c.enterNs),
    exitNs: shifted(p, c.exitNs),
    callers: c.callers.map((f) => ({ ...f, id: v.idOf(p, f.id) })),
    process: { pid: p.pid, command: p.command, first: p.first },
  };
}

export function stepFrom(v: ViewerTrace, id: string, to: string): { from: string; to: string | null } {
  const { p, id: local } = v.route(id);
  const answer = step(p.q, local, to) as { from: string; to: string | null };
  return { from: v.idOf(p, answer.from), to: v.idOf(p, answer.to) };
}

export function jumpTo(v: ViewerTrace, fn: number, pid: number | undefined, to: string): { fn: number; process: number; to: string | null } {
  const p = v.process(pid);
  const answer = jump(p.q, fn, to);
  return { fn, process: p.pid, to: v.idOf(p, answer.to) };
}

interface Brief {
  id: string;
  enterNs: number | null;
}

function briefIn<T extends Brief>(v: ViewerTrace, p: ViewerProcess, c: T): T & { process: number } {
  return { ...c, id: v.idOf(p, c.id), enterNs: shifted(p, c.enterNs), process: p.pid };
}

/** The calls of function `fn` of process `pid`, a page at a time (`thread`: one of the viewer's threads, which must be that process's). */
export function calls(v: ViewerTrace, fn: number, pid: number | undefined, thread: number | undefined, cursor: string | undefined, limit: number): unknown {
  const p = v.process(pid);
  let local: number | undefined;
  if (thread !== undefined) {
    const t = v.thread(thread);
    if (t.p !== p) throw new RecallError('E_USAGE', `calls: thread ${thread} is not a thread of process ${p.pid}`);
    local = t.local;
  }
  const answer = processCalls(p.q, fn, local, cursor, limit) as { calls: Brief[] };
  return { ...answer, process: p.pid, calls: answer.calls.map((c) => briefIn(v, p, c)) };
}

/** Ask each process; a process where the question makes no sense (a predicate over a parameter none of its functions has) is left out, unless every one is. */
function eachProcess<T>(v: ViewerTrace, ask: (p: ViewerProcess) => T): { p: ViewerProcess; answer: T }[] {
  const out: { p: ViewerProcess; answer: T }[] = [];
  let first: RecallError | null = null;
  for (const p of v.processes) {
    try {
      out.push({ p, answer: ask(p) });
    } catch (error) {
      if (!isRecallError(error)) throw error;
      first ??= error;
    }
  }
  if (out.length === 0 && first) throw first;
  return out;
}

interface FunctionHitOut {
  fn: number;
  calls: number;
  name: string;
}

export function search(v: ViewerTrace, text: string): unknown {
  const answers = eachProcess(v, (p) => processSearch(p.q, text) as { total: number; functions?: FunctionHitOut[]; calls?: Brief[]; predicate?: string; note?: string });
  const head = answers[0]!.answer;
  if (head.calls !== undefined) {
    const found = answers.flatMap(({ p, answer }) => (answer.calls ?? []).map((c) => briefIn(v, p, c)));
    found.sort((a, b) => (a.enterNs ?? 0) - (b.enterNs ?? 0));
    return { ...head, total: answers.reduce((n, a) => n + a.answer.total, 0), calls: found.slice(0, SEARCH_LIMIT) };
  }
  const functions = answers.flatMap(({ p, answer }) => (answer.functions ?? []).map((f) => ({ ...f, process: p.pid })));
  functions.sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name));
  return { query: text, total: answers.reduce((n, a) => n + a.answer.total, 0), functions: functions.slice(0, SEARCH_LIMIT) };
}

function rowsIn(rows: HotspotRow[], p: ViewerProcess): (HotspotRow & { process: number })[] {
  return rows.map((r) => ({ ...r, process: p.pid }));
}

function topRows(v: ViewerTrace, rows: (HotspotRow & { process: number })[]): (HotspotRow & { process: number })[] {
  const key = v.times ? 'selfNs' : 'calls';
  return rows.sort((a, b) => (b[key] ?? 0) - (a[key] ?? 0) || b.calls - a.calls || a.name.localeCompare(b.name)).slice(0, TOP);
}

export function hotspots(v: ViewerTrace): unknown {
  const answers = v.processes.map((p) => ({ p, answer: processHotspots(p.q) }));
  return {
    by: v.times ? 'self' : 'calls',
    total: answers.reduce((n, a) => n + a.answer.total, 0),
    functions: topRows(v, answers.flatMap(({ p, answer }) => rowsIn(answer.functions, p))),
  };
}

type ViewerException = ExceptionRow & { process: number };

function exceptionIn(v: ViewerTrace, p: ViewerProcess, x: ExceptionRow): ViewerException {
  return { ...x, id: p.first ? x.id : `${x.id}@${p.pid}`, call: v.idOf(p, x.call), thrownNs: shifted(p, x.thrownNs), process: p.pid };
}

const exceptionCache = new WeakMap<ViewerTrace, { total: number; exceptions: ViewerException[]; partial: string[] }>();

/** Every process's exceptions by time of throw (each keeps its process's id, `x3`, or `x3@PID` outside the first). */
export function exceptions(v: ViewerTrace): { total: number; exceptions: ViewerException[]; partial: string[] } {
  const cached = exceptionCache.get(v);
  if (cached) return cached;
  const answers = v.processes.map((p) => ({ p, answer: processExceptions(p.q) }));
  const all = answers.flatMap(({ p, answer }) => answer.exceptions.map((x) => exceptionIn(v, p, x)));
  all.sort((a, b) => (a.thrownNs ?? 0) - (b.thrownNs ?? 0));
  const answer = {
    total: answers.reduce((n, a) => n + a.answer.total, 0),
    exceptions: all.slice(0, EXCEPTIONS_SHOWN),
    partial: answers.flatMap(({ p, answer }) => answer.partial.map((line) => (p.first ? line : `process ${p.pid}: ${line}`))),
  };
  exceptionCache.set(v, answer);
  return answer;
}

/** The summary of [fromNs, toNs] over every process (each asked for the window on its own axis). */
export function range(v: ViewerTrace, fromNs: number, toNs: number): unknown {
  const answers = v.processes.map((p) => ({ p, answer: processRange(p.q, fromNs - p.offsetNs, toNs - p.offsetNs) as { calls: number; functionCount: number; functions: HotspotRow[]; exceptions: ExceptionRow[] } }));
  const thrown = answers.flatMap(({ p, answer }) => answer.exceptions.map((x) => exceptionIn(v, p, x)));
  thrown.sort((a, b) => (a.thrownNs ?? 0) - (b.thrownNs ?? 0));
  return {
    fromNs,
    toNs,
    calls: answers.reduce((n, a) => n + a.answer.calls, 0),
    functionCount: answers.reduce((n, a) => n + a.answer.functionCount, 0),
    functions: topRows(v, answers.flatMap(({ p, answer }) => rowsIn(answer.functions, p))),
    exceptions: thrown,
  };
}

export interface ViewerRuntimeAnswer extends RuntimeAnswer {
  /** [spawning thread, ns, child pid, the child's first thread (-1: the child is not shown)] of each child process started. */
  spawns: [number, number, number, number][];
}

const runtimeCache = new WeakMap<ViewerTrace, ViewerRuntimeAnswer>();

/** Every process's runtime-event tracks on the viewer's threads and axis, and the spawns of child processes. */
export function runtime(v: ViewerTrace): ViewerRuntimeAnswer {
  const cached = runtimeCache.get(v);
  if (cached) return cached;
  const out: ViewerRuntimeAnswer = { threads: [], messages: [], unpaired: 0, counts: { gc: 0, spans: 0, workers: 0, messages: 0 }, spawns: [] };
  const pids = new Map(v.processes.map((p) => [p.pid, p]));
  for (const p of v.processes) {
    const r = runtimeTracks(p.q);
    const off = p.offsetNs;
    const thread = (t: number): number => p.firstThread + t;
    for (const t of r.threads) {
      const track: RuntimeTrack = {
        thread: thread(t.thread),
        gc: off === 0 ? t.gc : t.gc.map(([ns, dur]) => [ns + off, dur]),
        spans: off === 0 ? t.spans : t.spans.map((s) => ({ ...s, beginNs: s.beginNs + off, endNs: s.endNs === null ? null : s.endNs + off })),
        instants: off === 0 ? t.instants : t.instants.map(([ns, kind, text]) => [ns + off, kind, text]),
        spawns: t.spawns.map(([ns, pid]) => [ns + off, pid]),
        omitted: t.omitted,
      };
      out.threads.push(track);
      for (const [ns, pid] of track.spawns) {
        const child = pids.get(pid);
        out.spawns.push([track.thread, ns, pid, child && child.q.engine.threads.length > 0 ? child.firstThread : -1]);
      }
    }
    for (const [from, fromNs, to, toNs] of r.messages) out.messages.push([thread(from), fromNs + off, thread(to), toNs + off]);
    out.unpaired += r.unpaired;
    out.counts.gc += r.counts.gc;
    out.counts.spans += r.counts.spans;
    out.counts.workers += r.counts.workers;
    out.counts.messages += r.counts.messages;
  }
  runtimeCache.set(v, out);
  return out;
}

/** Lines around a line of a file: of process `pid`'s function table, or (no pid) the first process's whose table names the file. */
export function source(v: ViewerTrace, file: string, line: number, pid: number | undefined): SourceExcerpt {
  if (pid !== undefined) return sourceExcerpt(v.process(pid).q, file, line);
  let refused: unknown = null;
  for (const p of v.processes) {
    try {
      return sourceExcerpt(p.q, file, line);
    } catch (error) {
      if (!isRecallError(error) || error.code !== 'E_OUTSIDE_ROOT') throw error;
      refused ??= error;
    }
  }
  throw refused;
}
