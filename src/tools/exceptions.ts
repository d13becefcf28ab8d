// recall_exceptions: every exception thrown through or caught in traced code, the failures
// first (uncaught, escaped, handled by no catch), then the caught ones; identical ones (same
// error, same thrower, same catcher) folded with a count. Each says the error, the function
// that threw it with its arguments where recorded, the logical (async) caller chain, and where
// it was caught or that nothing caught it. Built on the call model of analysis/calls.ts.

import * as z from 'zod';
import { argumentsOf, logicalStack, type Call, type Exception } from '../analysis/calls.js';
import type { Trace } from '../analysis/trace.js';
import type { ValueDesc } from '../format/values.js';
import type { DocItem } from './budget.js';
import { answerSchema, threadInput, items, traceInput, type Tool, type ToolContext } from './tool.js';
import { at, errorLine, formatCount, signature, value, whereOf } from './text.js';

export interface NumberedException {
  /** x<N>: by time of throw over every thread, from 1. */
  id: string;
  exception: Exception;
  threadIndex: number;
}

const SEVERITY: Record<Exception['outcome'], number> = { uncaught: 0, escaped: 1, handled: 2, unknown: 3, caught: 4 };

/** Every exception of the trace, numbered by time of throw (the ids recall_stack at=x<N> takes). */
export function allExceptions(ctx: ToolContext, dir: string): NumberedException[] {
  // The index says which threads can hold exceptions (a traced call ended by a throw, or a
  // catch clause ran); only those are walked (the call model needs the thread whole).
  const q = ctx.store.query(dir);
  const all: NumberedException[] = [];
  q.threads.forEach((_, threadIndex) => {
    if (!q.engine.mayHoldExceptions(threadIndex)) return;
    for (const exception of ctx.store.calls(dir, threadIndex).exceptions) all.push({ id: '', exception, threadIndex });
  });
  all.sort((a, b) => a.exception.thrownNs - b.exception.thrownNs || a.exception.thrownEvent - b.exception.thrownEvent);
  all.forEach((x, i) => (x.id = `x${i + 1}`));
  return all;
}

export function callText(trace: Trace, call: Call, maxChars = 80): string {
  const args = argumentsOf(call)?.body.args as ValueDesc[] | undefined;
  const where = whereOf(trace.functions.get(call.fn), trace.manifest.cwd);
  return `${signature(call.name, trace.functions.get(call.fn), args ?? null, maxChars)}${where ? ' ' + where : ''}`;
}

/** What an uncaught exception ended: its thread when a worker's (thread id 0 is a process's main thread), else the process. */
export function endedBy(exception: Exception): 'worker' | 'process' | null {
  if (exception.outcome !== 'uncaught') return null;
  return exception.thread === 0 ? 'process' : 'worker';
}

/** How an exception ended, in words: where it was caught, or what it ended. One wording for the
 *  tools and the exceptions view. */
export function outcomeWords(trace: Trace, exception: Exception, caughtIn: (call: Call) => string = (call) => call.name): string {
  switch (exception.outcome) {
    case 'caught':
      return exception.caughtBy && exception.caughtBy.depth < 0 ? 'caught by top-level code' : `caught in ${exception.caughtBy ? caughtIn(exception.caughtBy) : '?'}`;
    case 'uncaught': {
      if (endedBy(exception) !== 'worker') return 'UNCAUGHT: it ended the process';
      const name = trace.threads.find((t) => t.info.id === exception.thread)?.info.name;
      return `UNCAUGHT: it ended worker thread ${exception.thread}${name ? ` (${name})` : ''}; the main thread gets its 'error' event`;
    }
    case 'handled':
      return 'not caught by a catch clause (a promise handler took it, or it was ignored)';
    case 'escaped':
      return 'not caught in traced code (it left the top of a stack: a callback, a promise or top-level code)';
    default:
      return 'still in flight when the trace ends';
  }
}

export function outcomeText(trace: Trace, x: NumberedException): string {
  return outcomeWords(trace, x.exception, (call) => callText(trace, call));
}

function key(x: NumberedException): string {
  const e = x.exception;
  return `${errorLine(e.error)}|${e.frames[0]?.fn ?? -1}|${e.caughtBy?.fn ?? -1}|${e.outcome}|${x.threadIndex}`;
}

export function exceptionItem(trace: Trace, x: NumberedException, count: number, ids: string[]): DocItem {
  const e = x.exception;
  const thread = trace.threads[x.threadIndex]?.info;
  const lines = [`${x.id}${count > 1 ? ` ×${formatCount(count)}` : ''}  ${errorLine(e.error)}  thread ${thread?.id ?? x.threadIndex} ${at(e.thrownNs)}`.trimEnd()];
  const origin = e.frames[0] ?? e.caughtBy;
  const through = new Set(e.frames);
  if (e.frames[0]) lines.push(`  threw in ${callText(trace, e.frames[0])}`);
  else lines.push('  thrown by untraced code or the catching call itself');
  const chain = origin ? logicalStack(origin).slice(e.frames[0] ? 1 : 0) : [];
  const shownChain = chain.slice(0, 6);
  for (const call of shownChain) {
    const mark = call === e.caughtBy ? ' ✓ caught here' : through.has(call) ? ' ✗ passed it on' : '';
    const async = call.frame !== 0 && call.hops.length > 0 ? ' (async)' : '';
    lines.push(`  ← ${callText(trace, call, 60)}${async}${mark}`);
  }
  if (chain.length > shownChain.length) lines.push(`  ← … ${chain.length - shownChain.length} more callers`);
  // The catcher is marked in the chain when it is shown there; said in full otherwise.
  if (!(e.outcome === 'caught' && e.caughtBy && shownChain.includes(e.caughtBy))) lines.push(`  ${outcomeText(trace, x)}`);
  if (e.outcome === 'caught' && e.caughtBy && e.caughtBy.depth >= 0 && e.caughtBy.outcome === 'return') {
    lines.push(`  after catching it, ${e.caughtBy.name} returned normally: the error went no further`);
  }
  const caught = e.snapshots.find((s) => s.body.k === 'catch');
  if (caught && Array.isArray(caught.body.args) && e.caughtBy && caught.body.args.length > 0) {
    const when = signature(e.caughtBy.name, trace.functions.get(e.caughtBy.fn), caught.body.args as ValueDesc[], 80);
    if (when !== signature(e.caughtBy.name, trace.functions.get(e.caughtBy.fn), (argumentsOf(e.caughtBy)?.body.args as ValueDesc[] | undefined) ?? null, 80)) lines.push(`  values when caught: ${when}`);
  }
  const thrownThis = e.frames[0] ? e.snapshots.find((s) => s.body.k === 'throw' && s.body.fn === e.frames[0]!.fn && s.body.this !== undefined) : undefined;
  if (thrownThis) lines.push(`  this: ${value(thrownThis.body.this as ValueDesc, 80)}`);
  const thrower = e.frames[0]?.name ?? 'untraced code';
  const catcher = e.outcome === 'caught' ? `caught in ${e.caughtBy && e.caughtBy.depth >= 0 ? e.caughtBy.name : 'top-level code'}` : e.outcome;
  return {
    text: lines.join('\n'),
    brief: `${x.id}${count > 1 ? ` ×${formatCount(count)}` : ''} ${errorLine(e.error, 80)} — threw in ${thrower}, ${catcher}`,
    data: {
      id: x.id,
      count,
      ids: ids.slice(0, 20),
      error: errorLine(e.error),
      thread: thread?.id ?? x.threadIndex,
      thrownNs: e.thrownNs,
      thrownIn: e.frames[0] ? { name: e.frames[0].name, where: whereOf(trace.functions.get(e.frames[0].fn), trace.manifest.cwd), args: argumentsOf(e.frames[0])?.body.args ?? null } : null,
      callers: chain.map((c) => c.name),
      outcome: e.outcome,
      caughtIn: e.caughtBy ? (e.caughtBy.depth < 0 ? '(top-level code)' : e.caughtBy.name) : null,
    },
  };
}

export const exceptionsTool: Tool = {
  name: 'exceptions',
  description: 'Every exception: error, throwing function with its args, async caller chain, where caught or that nothing caught it. Failures first; repeats folded.',
  input: z.object({ ...traceInput, thread: threadInput.optional() }),
  output: answerSchema({ exceptions: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const trace = ctx.store.query(dir).trace;
    const thread = input.thread as number | undefined;
    const all = allExceptions(ctx, dir).filter((x) => thread === undefined || x.threadIndex === thread);
    const groups = new Map<string, NumberedException[]>();
    for (const x of all) {
      const k = key(x);
      const group = groups.get(k);
      if (group) group.push(x);
      else groups.set(k, [x]);
    }
    const ranked = [...groups.values()].sort((a, b) => SEVERITY[a[0]!.exception.outcome] - SEVERITY[b[0]!.exception.outcome] || a[0]!.exception.thrownNs - b[0]!.exception.thrownNs);
    const failures = all.filter((x) => x.exception.outcome !== 'caught').length;
    return {
      data: { total: all.length, failures },
      doc: {
        head: [all.length === 0 ? 'no exceptions were thrown through or caught in traced code' : `${formatCount(all.length)} exceptions (${formatCount(failures)} not caught by a catch clause), ${formatCount(ranked.length)} distinct; failures first`],
        sections: [
          {
            key: 'exceptions',
            noun: 'distinct exceptions',
            items: ranked.map((group) => exceptionItem(trace, group[0]!, group.length, group.map((x) => x.id))),
            first: 3,
          },
        ],
        foot: all.length > 0 ? ['next: recall_stack at=x<N> for the full stack; recall_call call=ID for values'] : [],
      },
    };
  },
};
