// recall_overview: what was recorded and what stands out — the command and how it ended, the
// processes and threads, totals and drops, the functions with the most self time, the
// functions that threw, and the detail windows (where values were captured). All from the
// manifest and the index: no walk of the trace.

import * as z from 'zod';
import type { FunctionStats } from '../query/answers.js';
import { mergeByFunction } from '../query/merge.js';
import type { DocItem } from './budget.js';
import { answerSchema, fitting, items, traceInput, type Tool, type ToolAnswer, type ToolContext } from './tool.js';
import { at, dur, formatCount, whereOf } from './text.js';

/** Per-function totals over every thread (or one), added up by function id (from the index). */
export function mergedStats(ctx: ToolContext, dir: string, thread?: number): FunctionStats[] {
  const q = ctx.store.query(dir);
  return mergeByFunction(q.threads.map((_, index) => index).filter((index) => thread === undefined || index === thread).map((index) => q.engine.functionStats(index)));
}

export function overview(ctx: ToolContext, dir: string, input: Record<string, unknown> = {}): ToolAnswer {
  const q = ctx.store.query(dir);
  const m = q.manifest;
  const times = m.clock.mode !== 'none';
  const durationNs = m.endEpochMs !== null && m.startEpochMs ? (m.endEpochMs - m.startEpochMs) * 1e6 : null;
  const ended = m.shutdown ? `${m.shutdown.reason}${m.shutdown.exitCode !== undefined && m.shutdown.exitCode !== null ? ` code ${m.shutdown.exitCode}` : ''}${m.shutdown.signal ? ` ${m.shutdown.signal}` : ''}` : m.status;
  const stats = mergedStats(ctx, dir);
  const calls = stats.reduce((n, s) => n + s.calls, 0);
  const head = [
    `trace ${ctx.store.name(dir)}: ${m.command.join(' ')}`,
    `status ${m.status}, ended by ${ended}${durationNs !== null ? `, ${dur(durationNs)}` : ''}; node ${m.nodeVersion}; timing ${m.clock.mode}`,
    `${q.threads.length} thread${q.threads.length === 1 ? '' : 's'} (${q.threads.map((t, i) => `${i}=${t.name || 'thread ' + t.id}`).join(', ')}); ${(m.processes?.length ?? 1)} process(es)`,
    `${formatCount(calls)} calls of ${formatCount(stats.length)} functions; events written ${formatCount(m.totals.written)}, dropped ${formatCount(m.totals.dropped)}`,
  ];
  if (m.totals.dropped > 0) head.push(`WARNING: ${formatCount(m.totals.dropped)} events were lost to full rings: calls around them have no end`);
  for (const problem of q.problems) head.push(`WARNING: ${problem}`);
  const cwd = m.cwd;
  const fnItem = (s: FunctionStats): DocItem => ({
    text: `${s.name}  ${times ? `self ${dur(s.selfNs)} total ${dur(s.totalNs)} ` : ''}×${formatCount(s.calls)}${s.throws ? ` threw ×${formatCount(s.throws)}` : ''}  ${whereOf(q.engine.functions.get(s.fn), cwd)}`,
    brief: `${s.name} ${times ? `self ${dur(s.selfNs)} ` : ''}×${formatCount(s.calls)}`,
    data: { name: s.name, calls: s.calls, selfNs: times ? s.selfNs : null, totalNs: times ? s.totalNs : null, throws: s.throws },
  });
  const top = [...stats].sort((a, b) => (times ? b.selfNs - a.selfNs : b.calls - a.calls));
  const throwing = stats.filter((s) => s.throws > 0).sort((a, b) => b.throws - a.throws);
  const windows = m.windows ?? [];
  return {
    data: { command: m.command, status: m.status, durationNs, threads: q.threads.length, calls, dropped: m.totals.dropped },
    doc: {
      head,
      sections: [
        { key: 'throwing', title: 'functions that threw (recall_exceptions for each error):', noun: 'throwing functions', total: throwing.length, items: fitting(throwing, input).map(fnItem), first: 5 },
        { key: 'functions', title: times ? 'top self time:' : 'most calls (no times: --timing none):', noun: 'functions', total: top.length, items: fitting(top, input).map(fnItem), first: 5 },
        {
          key: 'windows',
          title: 'detail windows (values captured around these):',
          noun: 'windows',
          items: windows.map((w) => ({
            text: `${w.trigger} ${w.fn ? q.engine.nameOf(w.fn) : ''} thread ${w.thread} ${at(w.atNs)}`.replace(/ +/g, ' '),
            data: { trigger: w.trigger, function: w.fn ? q.engine.nameOf(w.fn) : null, thread: w.thread, atNs: w.atNs },
          })),
          first: 2,
        },
      ],
      foot: ['next: recall_exceptions, recall_hotspots, recall_find_calls function=NAME, recall_call call=ID'],
    },
  };
}

export const overviewTool: Tool = {
  name: 'overview',
  description: 'What a trace recorded: command, exit, threads, totals and drops, top self time, functions that threw, detail windows. Start here.',
  input: z.object({ ...traceInput }),
  output: answerSchema({ status: z.string(), throwing: items, functions: items, windows: items }),
  run: (ctx, input) => overview(ctx, ctx.store.resolve(input.trace as string | undefined), input),
};
