// recall_tree: the call tree under one call (by id) or under the first/slowest call of a
// function, callees folded by function at each level (fib ×242,785), heaviest first, down to
// `depth`. Lines are depth-first, so a cut budget keeps the top of the tree.

import * as z from 'zod';
import { RecallError } from '../format/errors.js';
import { nameMatcher } from '../query/glob.js';
import type { FoldedChild } from '../query/answers.js';
import type { DocItem } from './budget.js';
import { answerSchema, items, traceInput, type Tool } from './tool.js';
import { dur, formatCount } from './text.js';

export const treeTool: Tool = {
  name: 'tree',
  description: 'Call tree under a call id, or under the slowest (pick=first: first) call of a function; callees folded by function, heaviest first, to depth (default 3).',
  input: z.object({
    ...traceInput,
    call: z.string().optional(),
    function: z.string().optional(),
    pick: z.enum(['slowest', 'first']).optional(),
    depth: z.number().int().min(1).max(50).optional(),
  }),
  output: answerSchema({ root: z.record(z.string(), z.unknown()), lines: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const engine = ctx.store.query(dir).engine;
    const depth = (input.depth as number | undefined) ?? 3;
    let id = input.call as string | undefined;
    let how = '';
    if (id === undefined) {
      const fn = input.function as string | undefined;
      if (fn === undefined) throw new RecallError('E_USAGE', 'tree: pass call (an id like c0.123) or function (a name glob)');
      const first = engine.calls({ function: fn, limit: 1 }).calls[0];
      if (!first) throw new RecallError('E_NO_MATCH', `no call of ${fn} in this trace`);
      let pick = first;
      // The slowest from the index: its longest call, found by skipping every shorter segment.
      const longest = input.pick !== 'first' && engine.times ? engine.longestNs({ function: fn }) : null;
      if (longest !== null) pick = engine.calls({ function: fn, slowerThanNs: Math.max(0, longest - 1), limit: 1 }).calls[0] ?? first;
      const match = nameMatcher(fn);
      let count = 0;
      for (let t = 0; t < engine.threads.length; t++) for (const st of engine.functionStats(t)) if (match(st.name)) count += st.calls;
      id = pick.id;
      how = ` (${pick === first ? 'first' : 'slowest'} of ${formatCount(count)} calls of ${fn})`;
    }
    const tree = engine.subtree(id, depth);
    const lines: DocItem[] = [];
    const visit = (children: FoldedChild[], level: number, path: string) => {
      for (const child of [...children].sort((a, b) => b.totalNs - a.totalNs || b.calls - a.calls)) {
        const times = engine.times ? ` total ${dur(child.totalNs)} self ${dur(child.selfNs)}` : '';
        lines.push({
          text: `${'  '.repeat(level)}${child.name} ×${formatCount(child.calls)}${times}${child.throws ? ` threw ×${child.throws}` : ''}`,
          data: { path: `${path}/${child.name}`, level, name: child.name, calls: child.calls, totalNs: engine.times ? child.totalNs : null, selfNs: engine.times ? child.selfNs : null, throws: child.throws },
        });
        visit(child.children, level + 1, `${path}/${child.name}`);
      }
    };
    visit(tree.children, 1, tree.name);
    return {
      data: { root: { id: tree.id, name: tree.name, totalNs: tree.totalNs, selfNs: tree.selfNs, depth } },
      doc: {
        head: [`${tree.id} ${tree.name}${how}${engine.times ? ` total ${dur(tree.totalNs)} self ${dur(tree.selfNs)}` : ''}, depth ${depth}`],
        sections: [{ key: 'lines', noun: 'tree lines', items: lines, first: 1000, empty: '  (no traced callees)' }],
      },
    };
  },
};
