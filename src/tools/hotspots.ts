// recall_hotspots: functions ranked by self time, total time or calls, over the whole trace
// (from the index: no walk) or over a time range (engine.rangeStats: calls that began in it,
// self and total time clipped to it, as summary --from/--to). One line per function.

import * as z from 'zod';
import { RecallError } from '../format/errors.js';
import type { FunctionStats } from '../query/answers.js';
import type { QueryEngine } from '../query/engine.js';
import { mergeByFunction } from '../query/merge.js';
import { mergedStats } from './overview.js';
import { answerSchema, fitting, threadInput, items, traceInput, type Tool } from './tool.js';
import { dur, formatCount, parseDuration, whereOf } from './text.js';

const BY = ['self', 'total', 'calls'] as const;

/** Per-function activity in [fromNs, toNs] over the threads asked for (engine.rangeStats). */
function rangeStats(engine: QueryEngine, threads: number, thread: number | undefined, fromNs: number, toNs: number): FunctionStats[] {
  const lists: FunctionStats[][] = [];
  for (let t = 0; t < threads; t++) if (thread === undefined || t === thread) lists.push(engine.rangeStats(t, fromNs, toNs).functions);
  return mergeByFunction(lists).filter((f) => f.calls > 0 || f.selfNs > 0 || f.totalNs > 0);
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
      const toNs = input.to !== undefined ? parseDuration(input.to as string) : Infinity;
      if (fromNs === null || toNs === null) throw new RecallError('E_USAGE', 'from and to are times since the trace began, like "20ms" or "1.5s"');
      stats = rangeStats(q.engine, q.threads.length, thread, fromNs, toNs);
    } else stats = mergedStats(ctx, dir, thread);
    const key = by === 'self' ? 'selfNs' : by === 'total' ? 'totalNs' : 'calls';
    stats.sort((a, b) => b[key] - a[key]);
    const sum = stats.reduce((n, s) => n + (by === 'calls' ? s.calls : s.selfNs), 0);
    const cwd = q.manifest.cwd;
    const times = q.engine.times;
    return {
      data: { by, thread: thread ?? null, range: ranged ? { from: input.from ?? null, to: input.to ?? null } : null },
      doc: {
        head: [`hotspots by ${by}${thread !== undefined ? ` on thread ${thread}` : ''}${ranged ? ` in [${input.from ?? 'start'}, ${input.to ?? 'end'}] (calls that began in it; time clipped to it)` : ''}: ${formatCount(stats.length)} functions`],
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
