// The viewer's search over the whole trace: functions by name (a glob, or a substring) with
// their totals from the index; calls by argument predicate (`fn(0=5)`, `fn(arg1>2)`,
// `fn(quantity<0)`, or recall_find_calls's `where`: `GLOB:N~TEXT`, `=`, `>`, `<`), tested on the
// values detail windows recorded; and the calls of one function a page at a time.

import { RecallError } from '../format/errors.js';
import type { CallBrief } from '../query/answers.js';
import { nameMatcher } from '../query/glob.js';
import { mergeByFunction } from '../query/merge.js';
import type { QueryTrace } from '../query/open.js';
import { argsOf, parseWhere, primitive, whereTest, type ArgPredicateSpec } from '../tools/calls.js';
import { signature, whereOf } from '../tools/text.js';
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
  const predicate = predicateOf(text.trim());
  if (predicate) return callsWhere(q, text, predicate);
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


/** Candidate calls whose values are looked at for a predicate, at most (as recall_find_calls). */
const WHERE_LIMIT = 5000;
/** Calls a predicate search lists at most. */
const WHERE_SHOWN = 200;

/** A predicate over one argument: by index, or by parameter name (resolved per function). */
interface Predicate {
  fn: string;
  arg: number | string;
  op: ArgPredicateSpec['op'];
  raw: string;
}

/** `fn(ARG OP VALUE)` (ARG: an index, argN or a parameter name) or `GLOB:N OP VALUE`; null: a name search. */
function predicateOf(text: string): Predicate | null {
  const call = /^([^()\s]+)\(\s*([A-Za-z_$][\w$]*|\d+)\s*([=~<>])\s*(.*?)\s*\)$/s.exec(text);
  if (call) {
    const arg = call[2]!;
    const index = /^\d+$/.test(arg) ? Number(arg) : /^arg\d+$/.test(arg) ? Number(arg.slice(3)) : arg;
    return { fn: call[1]!, arg: index, op: call[3] as Predicate['op'], raw: call[4]! };
  }
  const spec = parseWhere(text);
  if (spec) return { fn: spec.fn, arg: spec.index, op: spec.op, raw: text.slice(text.indexOf(spec.op, text.lastIndexOf(':')) + 1) };
  if (/[()]/.test(text) || /^[^:]+:\d+[=~<>]/.test(text)) throw new RecallError('E_USAGE', `search: an argument predicate is fn(ARG=VALUE), fn(ARG>N), fn(ARG<N) or fn(ARG~TEXT) (ARG: 0, arg0 or a parameter name), or GLOB:N=VALUE; not ${JSON.stringify(text)}`);
  return null;
}

/** The spec for one function (its parameter names resolve a named argument), or null when it has no such parameter. */
function specFor(q: QueryTrace, fn: number, p: Predicate): ArgPredicateSpec | null {
  const index = typeof p.arg === 'number' ? p.arg : (q.engine.functions.get(fn)?.params ?? []).indexOf(p.arg);
  if (index < 0) return null;
  return parseWhere(`${p.fn}:${index}${p.op}${p.raw}`);
}

function callsWhere(q: QueryTrace, text: string, p: Predicate): unknown {
  const { engine } = q;
  const page = engine.calls({ function: p.fn, limit: WHERE_LIMIT });
  const specs = new Map<number, ArgPredicateSpec | null>();
  const found: unknown[] = [];
  let total = 0;
  for (const c of page.calls) {
    let spec = specs.get(c.fn);
    if (spec === undefined) specs.set(c.fn, (spec = specFor(q, c.fn, p)));
    const test = spec ? whereTest(c.name, spec) : null;
    if (!test) continue;
    const args = argsOf(engine.callValues(c.id));
    if (!args || !test(args.map(primitive))) continue;
    total++;
    if (found.length < WHERE_SHOWN) found.push({ ...(briefOut(c) as object), args: signature('', engine.functions.get(c.fn), args, 80).replace(/^\(|\)$/g, '') });
  }
  if ([...specs.values()].every((s) => s === null) && page.calls.length > 0) throw new RecallError('E_USAGE', `search: no function matching ${p.fn} has a parameter ${p.arg}`);
  const notes = ['values recorded in detail windows: calls outside them have none and do not match'];
  if (page.cursor !== null) notes.unshift(`of the first ${page.calls.length} calls of ${p.fn}`);
  return { query: text, predicate: `${p.fn}(${typeof p.arg === 'number' ? `arg ${p.arg}` : p.arg} ${p.op} ${p.raw})`, total, calls: found, note: notes.join('; ') };
}
