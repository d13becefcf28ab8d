// The viewer's search over the whole trace: functions by name (a glob, or a substring) with
// their totals from the index, and the calls of one function a page at a time.

import { RecallError } from '../format/errors.js';
import type { CallBrief } from '../query/answers.js';
import { nameMatcher } from '../query/glob.js';
import { mergeByFunction } from '../query/merge.js';
import type { QueryTrace } from '../query/open.js';
import { whereOf } from '../tools/text.js';
import { nullable } from './params.js';

/** Search results at most. */
const SEARCH_LIMIT = 200;

/** `q` as a glob when it has * or ?, else a case-insensitive substring of the name. */
function matcherOf(text: string): (name: string) => boolean {
  if (/[*?]/.test(text)) return nameMatcher(text);
  const lower = text.toLowerCase();
  return (name) => name.toLowerCase().includes(lower);
}

export function search(q: QueryTrace, text: string): unknown {
  const { engine } = q;
  const match = matcherOf(text.trim());
  const totals = mergeByFunction(engine.threads.map((_, i) => engine.functionStats(i)));
  const found = totals.filter((s) => s.calls > 0 && match(s.name)).sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name));
  return {
    query: text,
    total: found.length,
    functions: found.slice(0, SEARCH_LIMIT).map((s) => ({
      fn: s.fn,
      name: s.name,
      where: whereOf(engine.functions.get(s.fn), q.manifest.cwd),
      calls: s.calls,
      totalNs: nullable(s.totalNs),
      selfNs: nullable(s.selfNs),
      throws: s.throws,
    })),
  };
}

/** The engine's glob for this function's name: the name itself (a name holding * or ? matches
 *  more names; the calls are filtered by function id after). */
export function exactGlob(name: string): string {
  return name;
}

export function callsOf(q: QueryTrace, fn: number, thread: number | undefined, cursor: string | undefined, limit: number): unknown {
  const entry = q.engine.functions.get(fn);
  if (!entry) throw new RecallError('E_USAGE', `no function #${fn} in this trace`);
  const page = q.engine.calls({ function: exactGlob(entry.name), ...(thread !== undefined ? { thread } : {}), ...(cursor !== undefined ? { cursor } : {}), limit });
  return { fn, name: entry.name, calls: page.calls.filter((c) => c.fn === fn).map(briefOut), cursor: page.cursor };
}

export function briefOut(c: CallBrief): unknown {
  return { id: c.id, name: c.name, enterNs: nullable(c.enterNs), durationNs: nullable(c.durationNs), outcome: c.outcome };
}

