// recall_stack: the logical stack at a moment — a time ("12ms"), an event (e<N>, on `thread`),
// a call (c<thread>.<N>: its callers when it began) or an exception (x<N>: the stack at the
// throw, with arguments where recorded). Frames resumed after an await are followed back to
// the calls that started them (engine.logicalStackAt). Innermost frame first.

import * as z from 'zod';
import { logicalStack } from '../analysis/calls.js';
import { RecallError } from '../format/errors.js';
import { parseCallId } from '../query/ids.js';
import { allExceptions, callText, outcomeText } from './exceptions.js';
import { answerSchema, threadInput, items, traceInput, type Tool } from './tool.js';
import { at, errorLine, parseDuration, whereOf } from './text.js';

export const stackTool: Tool = {
  name: 'stack',
  description: 'Stack at a moment: at = time ("12ms"), e<N> (event on thread), c<T>.<N> (call), x<N> (exception: logical async stack with args). Innermost first.',
  input: z.object({ ...traceInput, at: z.string(), thread: threadInput.optional() }),
  output: answerSchema({ frames: items, awaiting: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const asked = String(input.at).trim();
    if (/^x\d+$/.test(asked)) {
      const trace = ctx.store.query(dir).trace;
      const x = allExceptions(ctx, dir).find((e) => e.id === asked);
      if (!x) throw new RecallError('E_USAGE', `no exception ${asked} in this trace (recall_exceptions lists them)`);
      const e = x.exception;
      const origin = e.frames[0] ?? e.caughtBy;
      const through = new Set(e.frames);
      const frames = origin ? logicalStack(origin) : [];
      return {
        data: { at: asked, error: errorLine(e.error), outcome: e.outcome },
        doc: {
          head: [`${asked} ${errorLine(e.error)} ${at(e.thrownNs)} on thread ${trace.threads[x.threadIndex]?.info.id ?? x.threadIndex}`, outcomeText(trace, x)],
          sections: [
            {
              key: 'frames',
              title: 'logical stack at the throw (innermost first):',
              noun: 'frames',
              items: frames.map((call) => {
                const mark = call === e.frames[0] ? '  ✗ threw here' : call === e.caughtBy ? '  ✓ caught here' : through.has(call) ? '  ✗ passed it on' : '';
                const async = call.frame !== 0 && call.hops.length > 0 ? ' (async)' : '';
                return { text: `  ${callText(trace, call, 100)}${async}${mark}`, brief: `  ${call.name}${mark}`, data: { name: call.name, where: whereOf(trace.functions.get(call.fn), trace.manifest.cwd), async: async !== '' } };
              }),
              first: 50,
            },
            { key: 'awaiting', noun: 'awaiting calls', items: [] },
          ],
        },
      };
    }
    const q = ctx.store.query(dir);
    const engine = q.engine;
    let thread = (input.thread as number | undefined) ?? 0;
    let where: { position: number } | { timeNs: number };
    let callId: string | null = null;
    if (/^e\d+$/.test(asked)) where = { position: Number(asked.slice(1)) };
    else if (/^c\d+\.\d+$/.test(asked)) {
      const ref = parseCallId(asked);
      thread = ref.thread;
      where = { position: ref.position };
      callId = asked;
    } else {
      const ns = parseDuration(asked);
      if (ns === null) throw new RecallError('E_USAGE', `at: a time ("12ms"), an event (e<N>), a call (c<T>.<N>) or an exception (x<N>), not ${JSON.stringify(asked)}`);
      where = { timeNs: ns };
    }
    const stack = engine.logicalStackAt(thread, where);
    const cwd = q.manifest.cwd;
    const frames = stack.frames;
    return {
      data: { at: asked, thread: stack.threadId, position: stack.position, timeNs: stack.timeNs, suspended: stack.suspended },
      doc: {
        head: [`stack of thread ${stack.threadId} at e${stack.position}${stack.timeNs !== null ? ' ' + at(stack.timeNs) : ''}${callId ? ` (when ${callId} began)` : ''}: ${frames.length} frames, ${stack.suspended} async calls suspended`],
        sections: [
          {
            key: 'frames',
            title: 'logical stack (innermost first):',
            noun: 'frames',
            items: frames.map((f) => {
              const resumed = f.resumed ? '  ⤷ resumed after an await; started by the calls below' : '';
              return { text: `  ${f.id} ${f.name}  ${whereOf(engine.functions.get(f.fn), cwd)}${resumed}`, brief: `  ${f.id} ${f.name}${f.resumed ? ' (resumed)' : ''}`, data: { id: f.id, name: f.name, enterNs: f.enterNs, resumed: f.resumed } };
            }),
            first: 50,
            empty: '  (no traced frame running)',
          },
          { key: 'awaiting', title: 'awaiting (suspended async calls):', noun: 'awaiting calls', total: stack.suspended, items: stack.awaiting.map((f) => ({ text: `  ${f.id} ${f.name}`, data: { id: f.id, name: f.name } })) },
        ],
      },
    };
  },
};
