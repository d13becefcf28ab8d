// recall_diff: what changed between two recordings — per function (matched by name and source
// place), the change in calls, self and total time, and the functions that appear in only one
// of them; biggest change first. From the two indexes: no walk.

import * as z from 'zod';
import { mergedStats } from './overview.js';
import { answerSchema, fitting, items, traceInput, type Tool, type ToolContext } from './tool.js';
import { dur, formatCount, whereOf } from './text.js';

export interface Side {
  calls: number;
  selfNs: number;
  totalNs: number;
  throws: number;
}

function signed(n: number, unit: (n: number) => string): string {
  return `${n >= 0 ? '+' : '−'}${unit(Math.abs(n))}`;
}

export interface DiffRow {
  name: string;
  file: string;
  line: number;
  /** file:line as shown (relative to the program's directory). */
  where: string;
  /** The function is only in the base, or only in the trace. */
  only: 'base' | 'trace' | null;
  before: Side;
  after: Side;
  dSelf: number;
  dCalls: number;
  dThrows: number;
}

/**
 * Per function (matched by name and file, not line: an edit that moves a function keeps it one
 * function), its calls, self and total time and throws in both traces, from the two indexes.
 */
export function diffTraces(ctx: ToolContext, baseDir: string, dir: string): { rows: DiffRow[]; times: boolean; calls: [number, number] } {
  const sides = [baseDir, dir].map((d) => {
    const q = ctx.store.query(d);
    const byKey = new Map<string, Side & { name: string; where: string; file: string; line: number }>();
    for (const s of mergedStats(ctx, d)) {
      const entry = q.engine.functions.get(s.fn);
      const where = whereOf(entry, q.manifest.cwd);
      const file = entry?.file ? relativeFile(entry.file, q.manifest.cwd) : '';
      const key = `${s.name}@${file}`;
      const m = byKey.get(key);
      if (m) {
        m.calls += s.calls;
        m.selfNs += s.selfNs;
        m.totalNs += s.totalNs;
        m.throws += s.throws;
      } else byKey.set(key, { name: s.name, where, file, line: entry?.line ?? 0, calls: s.calls, selfNs: s.selfNs, totalNs: s.totalNs, throws: s.throws });
    }
    return { q, byKey };
  });
  const [a, b] = sides as [(typeof sides)[0], (typeof sides)[0]];
  const times = a.q.engine.times && b.q.engine.times;
  const zero: Side = { calls: 0, selfNs: 0, totalNs: 0, throws: 0 };
  const keys = new Set([...a.byKey.keys(), ...b.byKey.keys()]);
  const rows: DiffRow[] = [...keys].map((key) => {
    const x = a.byKey.get(key);
    const y = b.byKey.get(key);
    const before = x ? { calls: x.calls, selfNs: x.selfNs, totalNs: x.totalNs, throws: x.throws } : zero;
    const after = y ? { calls: y.calls, selfNs: y.selfNs, totalNs: y.totalNs, throws: y.throws } : zero;
    const either = (y ?? x)!;
    return { name: either.name, file: either.file, line: either.line, where: either.where, only: x && !y ? 'base' : y && !x ? 'trace' : null, before, after, dSelf: after.selfNs - before.selfNs, dCalls: after.calls - before.calls, dThrows: after.throws - before.throws };
  });
  const weight = (c: DiffRow) => (times ? Math.abs(c.dSelf) : 0) + Math.abs(c.dCalls) * (times ? 0 : 1) + Math.abs(c.dThrows) * 1e12;
  const changed = rows.filter((c) => c.dCalls !== 0 || c.dThrows !== 0 || (times && c.dSelf !== 0) || c.only !== null).sort((p, q) => weight(q) - weight(p));
  const total = (side: typeof a) => [...side.byKey.values()].reduce((n, s) => n + s.calls, 0);
  return { rows: changed, times, calls: [total(a), total(b)] };
}

function relativeFile(file: string, cwd: string): string {
  return cwd && file.startsWith(cwd + '/') ? file.slice(cwd.length + 1) : file;
}

export const diffTool: Tool = {
  name: 'diff',
  description: 'Compare two traces (base, trace): per function the change in calls, self and total time, throws; functions only in one. Biggest change first.',
  input: z.object({ base: z.string(), trace: z.string().optional(), budget: traceInput.budget }),
  output: answerSchema({ changes: items }),
  run(ctx, input) {
    const baseDir = ctx.store.resolve(input.base as string);
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const { rows: changed, times, calls } = diffTraces(ctx, baseDir, dir);
    return {
      data: { base: ctx.store.name(baseDir), callsBase: calls[0], callsTrace: calls[1] },
      doc: {
        head: [
          `diff ${ctx.store.name(baseDir)} → ${ctx.store.name(dir)}: calls ${formatCount(calls[0])} → ${formatCount(calls[1])}; ${formatCount(changed.length)} functions changed, ${changed.filter((c) => c.only === 'trace').length} new, ${changed.filter((c) => c.only === 'base').length} gone`,
        ],
        sections: [
          {
            key: 'changes',
            noun: 'changed functions',
            total: changed.length,
            items: fitting(changed, input).map((c) => ({
              text: `${c.name}${c.only === 'trace' ? ' (new)' : c.only === 'base' ? ' (gone)' : ''}  calls ${formatCount(c.before.calls)}→${formatCount(c.after.calls)}${times ? `  self ${dur(c.before.selfNs)}→${dur(c.after.selfNs)} (${signed(c.dSelf, dur)})` : ''}${c.dThrows !== 0 ? `  throws ${c.before.throws}→${c.after.throws}` : ''}  ${c.where}`,
              brief: `${c.name} calls ${signed(c.dCalls, formatCount)}${times ? ` self ${signed(c.dSelf, dur)}` : ''}`,
              data: { name: c.name, where: c.where, only: c.only, callsBefore: c.before.calls, callsAfter: c.after.calls, selfBeforeNs: times ? c.before.selfNs : null, selfAfterNs: times ? c.after.selfNs : null, throwsBefore: c.before.throws, throwsAfter: c.after.throws },
            })),
            first: 10,
            empty: 'no function changed in calls, throws or self time',
          },
        ],
      },
    };
  },
};
