// recall_hotspots: functions ranked by self time, total time or calls, over the whole trace
// (from the index: no walk) or over a time range (the calls that began in it, found through
// the index's per-segment entries). Repeats are folded: one line per function.

import * as z from 'zod';
import { RecallError } from '../format/errors.js';
import type { FunctionStats } from '../query/answers.js';
import type { QueryEngine } from '../query/engine.js';
import { mergedStats } from './overview.js';
import { answerSchema, fitting, threadInput, items, traceInput, type Tool } from './tool.js';
import { dur, formatCount, parseDuration, whereOf } from './text.js';

const BY = ['self', 'total', 'calls'] as const;

/** Per-function totals of the calls that began in [fromNs, toNs]. */
function rangeStats(engine: QueryEngine, thread: number | undefined, fromNs: number, toNs: number): FunctionStats[] {
  const merged = new Map<number, FunctionStats>();
  let cursor: string | undefined;
  for (;;) {
    const page = engine.calls({ fromNs, toNs, limit: 10000, ...(thread !== undefined ? { thread } : {}), ...(cursor !== undefined ? { cursor } : {}) });
    for (const c of page.calls) {
      let m = merged.get(c.fn);
      if (!m) merged.set(c.fn, (m = { fn: c.fn, name: c.name, calls: 0, totalNs: 0, selfNs: 0, throws: 0, unfinished: 0 }));
      m.calls++;
      m.totalNs += c.durationNs ?? 0;
      m.selfNs += c.selfNs ?? 0;
      if (c.outcome === 'throw') m.throws++;
      if (c.durationNs === null) m.unfinished++;
    }
    if (page.cursor === null) break;
    cursor = page.cursor;
  }
  return [...merged.values()];
}

export const hotspotsTool: Tool = {
  name: 'hotspots',
  description: 'Functions ranked by self time, total time or call count; optionally one thread or a time range (from/to like "20ms").',
  input: z.object({
    ...traceInput,
    by: z.enum(BY).optional().describe('default self'),
    thread: threadInput.optional(),
    from: z.string().optional(),
    to: z.string().optional(),
  }),
  output: answerSchema({ functions: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const q = ctx.store.query(dir);
    const by = (input.by as (typeof BY)[number] | undefined) ?? (q.engine.times ? 'self' : 'calls');
    if (by !== 'calls' && !q.engine.times) throw new RecallError('E_USAGE', 'this trace was recorded with --timing none: rank by calls');
    const thread = input.thread as number | undefined;
    const ranged = input.from !== undefined || input.to !== undefined;
    let stats: FunctionStats[];
    if (ranged) {
      const fromNs = input.from !== undefined ? parseDuration(input.from as string) : 0;
      const toNs = input.to !== undefined ? parseDuration(input.to as string) : Number.MAX_VALUE;
      if (fromNs === null || toNs === null) throw new RecallError('E_USAGE', 'from and to are times since the trace began, like "20ms" or "1.5s"');
      stats = rangeStats(q.engine, thread, fromNs, toNs);
    } else stats = mergedStats(ctx, dir, thread);
    const key = by === 'self' ? 'selfNs' : by === 'total' ? 'totalNs' : 'calls';
    stats.sort((a, b) => b[key] - a[key]);
    const sum = stats.reduce((n, s) => n + (by === 'calls' ? s.calls : s.selfNs), 0);
    const cwd = q.manifest.cwd;
    const times = q.engine.times;
    return {
      data: { by, thread: thread ?? null, range: ranged ? { from: input.from ?? null, to: input.to ?? null } : null },
      doc: {
        head: [`hotspots by ${by}${thread !== undefined ? ` on thread ${thread}` : ''}${ranged ? ` of calls that began in [${input.from ?? 'start'}, ${input.to ?? 'end'}]` : ''}: ${formatCount(stats.length)} functions`],
        sections: [
          {
            key: 'functions',
            noun: 'functions',
            total: stats.length,
            items: fitting(stats, input).map((s) => {
              const share = sum > 0 ? ` ${(((by === 'calls' ? s.calls : s.selfNs) / sum) * 100).toFixed(1)}%` : '';
              return {
                text: `${s.name}  ${times ? `self ${dur(s.selfNs)} total ${dur(s.totalNs)} ` : ''}×${formatCount(s.calls)}${share}${s.throws ? ` threw ×${formatCount(s.throws)}` : ''}${s.unfinished ? ` unfinished ×${s.unfinished}` : ''}  ${whereOf(q.engine.functions.get(s.fn), cwd)}`,
                brief: `${s.name} ${times ? `self ${dur(s.selfNs)} ` : ''}×${formatCount(s.calls)}`,
                data: { name: s.name, calls: s.calls, selfNs: times ? s.selfNs : null, totalNs: times ? s.totalNs : null, throws: s.throws, unfinished: s.unfinished },
              };
            }),
            first: 10,
          },
        ],
        foot: ['next: recall_find_calls function=NAME (slowest, throwing), recall_tree function=NAME'],
      },
    };
  },
};
