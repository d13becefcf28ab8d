// recall_find_calls and recall_call. find_calls pages through the calls of the functions a glob
// names, filtered by an argument predicate (on the values detail windows recorded), duration,
// throw and time range, with exemplars (first, slowest, first that threw) and an exact count
// where the scan finished. call shows one call: signature with its recorded values, where it is,
// how long it took and how it ended, its caller chain with ids, and its callees folded.

import * as z from 'zod';
import { RecallError } from '../format/errors.js';
import type { ValueDesc } from '../format/values.js';
import { parseArgPredicate, type ArgPredicateSpec } from '../runtime/predicate-spec.js';
import { argTestFor, type ArgTest } from '../runtime/predicates.js';
import type { CallBrief, CallFilter, CallsPage, DetailValue } from '../query/answers.js';
import type { QueryEngine } from '../query/engine.js';
import { cursorOf, parseCallId } from '../query/ids.js';
import { DEFAULT_BUDGET, type DocItem } from './budget.js';
import { countTokens } from './tokens.js';
import { answerSchema, fitting, threadInput, cursorInput, items, traceInput, type Tool } from './tool.js';
import { at, dur, errorLine, formatCount, parseDuration, signature, value, whereOf } from './text.js';

/** Calls enumerated at most to count and pick exemplars (more: the count comes from the
 *  index's totals when only the function is asked for, else it is "more than"). */
const SCAN_LIMIT = 2000;
/** Calls listed per page at most when the index can count them (each may need a segment walked). */
const PAGE = 50;
/** A call's line ("c0.12 name 1.5 µs @3 ms  file:line") is never shorter than this in tokens. */
const CALL_LINE_TOKENS = 8;
/** Candidates whose values are looked up for an argument predicate, at most. */
const WHERE_LIMIT = 5000;

function durationArg(name: string, raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const ns = parseDuration(raw as string | number);
  if (ns === null) throw new RecallError('E_USAGE', `${name}: a duration like "5ms", "200us" or "1.5s", not ${JSON.stringify(raw)}`);
  return ns;
}

/** A recorded value as the predicate sees it: primitives; a long string by its head. */
export function primitive(desc: ValueDesc | undefined): unknown {
  if (desc === null || typeof desc !== 'object') return desc;
  if (!Array.isArray(desc) && desc.$ === 'string') return desc.head;
  return desc;
}

/** recall_find_calls's `where`: `GLOB:N~TEXT`, `GLOB:N=VALUE`, `GLOB:N>NUMBER`, `GLOB:N<NUMBER`; null when it is not one. */
export function parseWhere(text: string): ArgPredicateSpec | null {
  return parseArgPredicate(text);
}

/** The test of a `where` on the recorded arguments of a call of function `name` (null: the where names other functions). */
export function whereTest(name: string, spec: ArgPredicateSpec): ArgTest | null {
  return argTestFor(name, [spec]);
}

export type { ArgPredicateSpec };

/** The arguments a call's recorded snapshots hold (the first snapshot kind that has them), or null. */
export function argsOf(values: DetailValue[]): ValueDesc[] | null {
  for (const k of ['entry', 'call', 'slow', 'throw', 'catch']) {
    const found = values.find((v) => v.body.k === k && Array.isArray(v.body.args));
    if (found) return found.body.args as ValueDesc[];
  }
  return null;
}

function briefText(engine: QueryEngine, c: CallBrief, cwd: string, extra = ''): string {
  const outcome = c.outcome === 'throw' ? ' ✗ threw' : c.outcome === 'return' ? '' : ` (${c.outcome})`;
  return `${c.id} ${c.name}${extra} ${dur(c.durationNs)}${c.timed ? '' : '~'} ${at(c.enterNs)}${outcome}  ${whereOf(engine.functions.get(c.fn), cwd)}`.replace(/ {2,}$/, '');
}

/** Calls listed first, whose lines tell how many more the budget can show. */
const PROBE = 8;

/**
 * A page of the calls asked for, no longer than the budget can show. Each listed call may cost
 * a segment walked, so the first PROBE are listed, their lines counted in tokens, and only as
 * many more as would fit at three quarters of the shortest of them are listed after those (a
 * 500-token answer shows about a dozen calls of tsc's; listing 50 for it cost 40 walks).
 */
function budgetedPage(engine: QueryEngine, filter: CallFilter, limit: number, input: Record<string, unknown>, cwd: string): CallsPage {
  const first = engine.calls({ ...filter, limit: Math.min(limit, PROBE) });
  if (first.cursor === null || first.calls.length >= limit) return first;
  const budget = (input.budget as number | undefined) ?? DEFAULT_BUDGET;
  let least = Infinity;
  for (const c of first.calls) least = Math.min(least, countTokens(briefText(engine, c, cwd)));
  const fit = Math.min(limit, Math.ceil(budget / Math.max(CALL_LINE_TOKENS, Math.floor(least * 0.75))) + 1);
  if (fit <= first.calls.length) return first;
  const rest = engine.calls({ ...filter, cursor: first.cursor, limit: fit - first.calls.length });
  return { ...rest, calls: [...first.calls, ...rest.calls], segmentsWalked: first.segmentsWalked + rest.segmentsWalked, segmentsSkipped: first.segmentsSkipped + rest.segmentsSkipped };
}

export const findCallsTool: Tool = {
  name: 'find_calls',
  description: 'Calls of functions matching a glob, in order, with filters: where (arg predicate "fn:N~text", "fn:N>5", "fn:N=value"), slowerThan ("5ms"), threw, from/to, thread. Gives count and exemplars (first, slowest, threw). Pages.',
  pages: true,
  input: z.object({
    ...traceInput,
    function: z.string().optional().describe('name glob, e.g. "parse*"'),
    where: z.string().optional(),
    slowerThan: z.string().optional(),
    threw: z.boolean().optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    thread: threadInput.optional(),
    ...cursorInput,
  }),
  output: answerSchema({ matched: z.number(), exact: z.boolean(), calls: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const q = ctx.store.query(dir);
    const engine = q.engine;
    const cwd = q.manifest.cwd;
    const where = input.where as string | undefined;
    const spec = where !== undefined ? parseArgPredicate(where) : null;
    if (where !== undefined && spec === null) throw new RecallError('E_USAGE', `where: "GLOB:N~TEXT", "GLOB:N=VALUE", "GLOB:N>NUMBER" or "GLOB:N<NUMBER" (N: argument index from 0), not ${JSON.stringify(where)}`);
    const filter: CallFilter = {};
    const fnGlob = (input.function as string | undefined) ?? spec?.fn;
    if (fnGlob !== undefined) filter.function = fnGlob;
    const slower = durationArg('slowerThan', input.slowerThan);
    if (slower !== undefined) filter.slowerThanNs = slower;
    if (input.threw === true) filter.threw = true;
    const fromNs = durationArg('from', input.from);
    const toNs = durationArg('to', input.to);
    if (fromNs !== undefined) filter.fromNs = fromNs;
    if (toNs !== undefined) filter.toNs = toNs;
    if (input.thread !== undefined) filter.thread = input.thread as number;
    if (input.cursor !== undefined) filter.cursor = input.cursor as string;
    // Only the function asked for, from the start: the index counts every call and finds the
    // slowest and the first that threw by skipping segments, so only a page is read.
    const functionOnly = !spec && Object.keys(filter).every((k) => k === 'function' || k === 'thread');
    const scanLimit = spec ? WHERE_LIMIT : functionOnly ? Math.min(PAGE, fitting(new Array<number>(PAGE), input, CALL_LINE_TOKENS).length) + 1 : SCAN_LIMIT;
    const page = functionOnly ? budgetedPage(engine, filter, scanLimit, input, cwd) : engine.calls({ ...filter, limit: scanLimit });
    let matched = page.calls;
    const argTexts = new Map<string, string>();
    if (spec) {
      const kept: CallBrief[] = [];
      for (const c of matched) {
        const test = argTestFor(c.name, [spec]);
        if (!test) continue;
        const args = argsOf(engine.callValues(c.id));
        if (!args || !test(args.map(primitive))) continue;
        kept.push(c);
        argTexts.set(c.id, signature('', engine.functions.get(c.fn), args, 60));
      }
      matched = kept;
    }
    const exact = page.cursor === null;
    const scanned = page.calls.length;
    let indexCount: number | null = null;
    let slowest: CallBrief | null;
    let threw: CallBrief | null;
    let slowestLabel = 'slowest';
    if (functionOnly && !exact) {
      indexCount = engine.callCount(filter);
      const longest = engine.times ? engine.longestNs(filter) : null;
      slowest = longest !== null ? (engine.calls({ ...filter, slowerThanNs: Math.max(0, longest - 1), limit: 1 }).calls[0] ?? null) : null;
      threw = engine.calls({ ...filter, threw: true, limit: 1 }).calls[0] ?? null;
    } else {
      slowest = matched.reduce<CallBrief | null>((best, c) => (c.durationNs !== null && (best === null || c.durationNs > (best.durationNs ?? -1)) ? c : best), null);
      threw = matched.find((c) => c.outcome === 'throw') ?? null;
      if (!exact) slowestLabel = `slowest of the first ${formatCount(scanned)}`;
    }
    const exemplars: DocItem[] = [];
    const exemplar = (label: string, c: CallBrief | null) => {
      if (c) exemplars.push({ text: `${label}: ${briefText(engine, c, cwd, argTexts.get(c.id) ?? '')}`, data: { label, id: c.id, name: c.name, durationNs: c.durationNs, outcome: c.outcome } });
    };
    const first = matched[0] ?? null;
    exemplar('first', first);
    if (engine.times && slowest && slowest.id !== first?.id) exemplar(slowestLabel, slowest);
    if (threw && threw.id !== first?.id && threw.id !== slowest?.id) exemplar('first that threw', threw);
    const countText = exact ? formatCount(matched.length) : indexCount !== null ? formatCount(indexCount) : spec ? `${formatCount(matched.length)} of the first ${formatCount(scanned)} candidates (more exist)` : `more than ${formatCount(scanned)}`;
    const what = [fnGlob !== undefined ? `of ${fnGlob}` : '', where ? `where ${where}` : '', slower !== undefined ? `slower than ${dur(slower)}` : '', input.threw ? 'that threw' : '', input.from || input.to ? `began in [${input.from ?? 'start'}, ${input.to ?? 'end'}]` : '', input.thread !== undefined ? `on thread ${input.thread}` : ''].filter(Boolean).join(' ');
    const head = [`${countText} calls ${what}`.trim()];
    if (spec) head.push('(where looks at values recorded in detail windows: calls outside windows have none and do not match)');
    const nextCursor = (shown: number): string | null => {
      const next = matched[shown];
      if (next) {
        const ref = parseCallId(next.id);
        return cursorOf(ref.thread, ref.position);
      }
      return page.cursor;
    };
    return {
      data: { matched: matched.length, exact },
      doc: {
        head,
        sections: [
          { key: 'exemplars', title: 'exemplars:', noun: 'exemplars', items: exemplars, first: 3 },
          {
            key: 'calls',
            title: 'calls in order:',
            noun: 'calls',
            total: exact ? matched.length : (indexCount ?? matched.length + 1),
            items: fitting(matched, input, CALL_LINE_TOKENS).map((c) => ({ text: briefText(engine, c, cwd, argTexts.get(c.id) ?? ''), data: { id: c.id, name: c.name, enterNs: c.enterNs, durationNs: c.durationNs, selfNs: c.selfNs, outcome: c.outcome } })),
            cursor: nextCursor,
            first: 5,
          },
        ],
        foot: matched.length > 0 ? ['next: recall_call call=ID (values, callers, callees), recall_tree call=ID'] : [],
      },
    };
  },
};

export const callTool: Tool = {
  name: 'call',
  description: 'One call by id (c<thread>.<event>): signature with recorded args/this/return/error, location, duration, self time, outcome, caller chain with ids, callees folded.',
  input: z.object({ ...traceInput, call: z.string() }),
  output: answerSchema({ call: z.record(z.string(), z.unknown()), callers: items, callees: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const q = ctx.store.query(dir);
    const engine = q.engine;
    const cwd = q.manifest.cwd;
    const id = input.call as string;
    const c = engine.call(id);
    const ref = parseCallId(id);
    const stack = engine.stackAt(ref.thread, { position: ref.position });
    const entry = engine.functions.get(c.fn);
    const args = argsOf(c.values);
    const head = [`${c.id} ${signature(c.name, entry, args, 200)}  ${whereOf(entry, cwd)}`, [`thread ${c.threadId}`, at(c.enterNs), `took ${dur(c.durationNs)}${c.timed ? '' : ' (partly untimed)'}`, `self ${dur(c.selfNs)}`, `ended: ${c.outcome}`].filter((part) => part !== '').join(', ')];
    const thisValue = c.values.find((v) => v.body.this !== undefined);
    if (thisValue) head.push(`this: ${value(thisValue.body.this as ValueDesc, 120)}`);
    const ret = c.values.find((v) => v.body.ret !== undefined);
    if (ret) head.push(`returned: ${value(ret.body.ret as ValueDesc, 160)}`);
    const error = c.values.find((v) => v.body.error !== undefined);
    if (error) head.push(`error: ${errorLine(error.body.error as ValueDesc)}`);
    if (c.values.length === 0) head.push('values: not recorded (no detail window covered this call)');
    const callers = stack.frames.filter((f) => f.id !== c.id).reverse();
    const result = {
      data: { call: { id: c.id, name: c.name, where: whereOf(entry, cwd), thread: c.threadId, enterNs: c.enterNs, durationNs: c.durationNs, selfNs: c.selfNs, outcome: c.outcome, args, values: c.values.map((v) => v.body) } },
      doc: {
        head,
        sections: [
          { key: 'callers', title: 'called by (innermost first):', noun: 'callers', items: callers.map((f) => ({ text: `  ${f.id} ${f.name}  ${whereOf(engine.functions.get(f.fn), cwd)}`, data: { id: f.id, name: f.name } })), first: 4 },
          {
            key: 'callees',
            title: 'callees (folded by function):',
            noun: 'callee functions',
            items: [...c.children].sort((a, b) => b.totalNs - a.totalNs || b.calls - a.calls).map((f) => ({
              text: `  ${f.name} ×${formatCount(f.calls)} ${engine.times ? `total ${dur(f.totalNs)} self ${dur(f.selfNs)}` : ''}${f.throws ? ` threw ×${f.throws}` : ''}`.trimEnd(),
              data: { name: f.name, calls: f.calls, totalNs: f.totalNs, selfNs: f.selfNs, throws: f.throws },
            })),
            empty: 'callees: none traced',
          },
        ],
      },
    };
    return result;
  },
};
