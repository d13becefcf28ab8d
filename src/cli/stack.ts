// `recall stack [trace] --at T`: the call stack of a thread at a moment — a time since the
// trace started (12.5ms), an event number (e1234) or an exception (x3: where it was thrown) —
// as the logical chain of callers, async ones included (a frame resumed after an await still
// has the call that started it as its caller), with values where the detail lane recorded them.
// Times and events are answered by the query engine (engine.logicalStackAt); an exception's
// stack by the call model, which knows where each exception was thrown.

import { RecallError } from '../format/errors.js';
import { hasTimes, type Trace, type TraceThread } from '../analysis/trace.js';
import { logicalStack, walkCalls, type Call } from '../analysis/calls.js';
import { traceExceptions } from './exceptions.js';
import { parse } from './args.js';
import { durationMs } from '../text/format.js';
import { callJson, callSignature, whereOf } from './call-text.js';
import { formatNs } from '../text/format.js';
import { formatOption, pickThreads, printJson, viewProcess } from './view-common.js';
import { openQuery } from '../query/open.js';
import { renderArgs, type ValueDesc } from '../format/values.js';
import { whereOf as whereOfEntry } from '../tools/text.js';

export const STACK_HELP = `usage: recall stack [trace] --at WHEN [--thread ID] [--format text|json]

The call stack (synchronous and async callers) at a moment, with arguments where recorded.

  --at WHEN    a time since the trace started (12.5ms, 1.2s, 800us), an event
               number of the thread (e1234), or an exception (x3, as numbered by
               recall exceptions: the stack where it was thrown)
  --process PID  a child process of the trace (default: the root; see recall info)
  --thread ID  the thread (default: main; for x<N>, the exception's thread)
  --format F   text (default) or json
`;

const OPTIONS = {
  at: { type: 'string' },
  thread: { type: 'string' },
  process: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function stackCommand(args: string[]): number {
  const { values, positionals } = parse('stack', args, OPTIONS);
  if (values.help) {
    process.stdout.write(STACK_HELP);
    return 0;
  }
  const format = formatOption('stack', values.format);
  const at = values.at as string | undefined;
  if (at === undefined) throw new RecallError('E_USAGE', 'stack: --at is required: a time (12.5ms), an event (e1234) or an exception (x1)');
  const exceptionRef = /^x(\d+)$/.exec(at);
  if (!exceptionRef) return engineStack(positionals[0], values, at, format);
  // An exception's stack comes from the call model (analysis/calls.ts), which knows where each
  // exception was thrown; times and events are answered by the query engine below.
  const id = Number(exceptionRef[1]);
  const { trace, all, close } = traceExceptions('stack', positionals[0], values.process, undefined);
  const timed = hasTimes(trace);
  const exception = all.find((x) => x.id === id);
  if (!exception) {
    close();
    throw new RecallError('E_USAGE', `stack: there is no exception x${id} in this trace (see recall exceptions)`);
  }
  const thread = trace.threads.find((t) => t.info.id === exception.thread) as TraceThread;
  let walk: ReturnType<typeof walkCalls>;
  try {
    walk = walkCalls(trace, thread, { atEvent: exception.thrownEvent - 1 });
  } finally {
    close();
  }
  const what = `where exception x${id} was thrown`;
  const frames = logicalStack(walk.top);
  const onStack = new Set(frames);
  walk.awaiting = walk.awaiting.filter((call) => !onStack.has(call));
  if (format === 'json') {
    printJson({
      trace: trace.dir,
      thread: thread.info.id,
      at,
      lastEvent: walk.lastEvent,
      lastEventNs: timed ? walk.lastNs : null,
      frames: frames.map((call) => ({ ...callJson(trace, call), resumedAfterAwait: call.frame !== 0 && call.hops.length > 0 })),
      awaiting: walk.awaiting.map((call) => ({ ...callJson(trace, call), stack: logicalStack(call).slice(1).map((c) => c.name) })),
    });
    return 0;
  }
  const out: string[] = [];
  out.push(`thread ${thread.info.id} ${thread.info.name} · ${what} · last event e${walk.lastEvent}${timed ? ` at ${formatNs(walk.lastNs)}` : ''}`);
  if (frames.length === 0) out.push('  no traced call was running');
  for (const call of frames) {
    const since = timed ? `  entered ${formatNs(call.enterNs)}` : '';
    out.push(`  ${callSignature(trace, call, 90)}  ${whereOf(trace, call.fn)}${since}`);
    if (call.frame !== 0 && call.hops.length > 0 && call.parent && call.parent.depth >= 0) {
      out.push(`    ⤷ resumed after ${call.hops.length} await${call.hops.length === 1 ? '' : 's'}; started by:`);
    }
  }
  if (walk.awaiting.length > 0) {
    out.push('', `awaiting then (${walk.awaiting.length} async call${walk.awaiting.length === 1 ? '' : 's'} suspended):`);
    for (const call of walk.awaiting.slice(0, 20)) out.push(`  ${awaitingLine(trace, call)}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

function awaitingLine(trace: Trace, call: Call): string {
  const hop = call.hops[call.hops.length - 1];
  const chain = logicalStack(call).slice(1, 4).map((c) => c.name);
  const since = hasTimes(trace) ? `  since ${hop ? formatNs(hop.suspendNs) : '?'}` : '';
  return `${callSignature(trace, call, 70)}  ${whereOf(trace, call.fn)}${since}${chain.length ? '  ← ' + chain.join(' ← ') : ''}`;
}

/**
 * The stack at a time or an event, from the query engine (its index, built beside the trace on
 * first use): the logical stack (frames resumed after an await followed back to the calls that
 * started them) and the async calls awaiting then, with arguments where a detail window
 * recorded them (looked up for the innermost VALUE_FRAMES frames).
 */
function engineStack(path: string | undefined, values: Record<string, unknown>, at: string, format: string): number {
  const q = openQuery(path ?? 'recall-trace', viewProcess('stack', values.process));
  try {
    const trace = q.trace;
    const timed = hasTimes(trace);
    const picked = pickThreads('stack', trace, values.thread, 'main')[0];
    if (!picked) throw new RecallError('E_TRACE_EMPTY', 'stack: the trace has no threads');
    const threadIndex = trace.threads.indexOf(picked);
    const eventRef = /^[e#](\d+)$/.exec(at);
    let where: { position: number } | { timeNs: number };
    let what: string;
    if (eventRef) {
      where = { position: Number(eventRef[1]) };
      what = `after event e${eventRef[1]}`;
    } else {
      const ms = durationMs(at);
      if (ms === null) throw new RecallError('E_USAGE', `stack: --at takes a time (12.5ms), an event (e1234) or an exception (x1), not '${at}'`);
      if (!timed) throw new RecallError('E_USAGE', `stack: this trace was recorded with --timing none and has no times: give --at an event (e1234) or an exception (x1)`);
      where = { timeNs: ms * 1e6 };
      what = `at ${formatNs(ms * 1e6)}`;
    }
    const engine = q.engine;
    const stack = engine.logicalStackAt(threadIndex, where);
    const hasValues = q.trace.threads[threadIndex]!.info.detail != null;
    const argsOf = (id: string, i: number): ValueDesc[] | null => {
      if (!hasValues || i >= VALUE_FRAMES) return null;
      const found = engine.callValues(id).find((v) => Array.isArray(v.body.args));
      return found ? (found.body.args as ValueDesc[]) : null;
    };
    const where_ = (fn: number) => whereOfEntry(engine.functions.get(fn), q.manifest.cwd);
    const signature = (name: string, fn: number, args: ValueDesc[] | null, max: number) => (args ? `${name}(${renderArgs(engine.functions.get(fn)?.params ?? [], args, max)})` : name);
    const frames = stack.frames.map((f, i) => ({ ...f, args: argsOf(f.id, i) }));
    const awaiting = stack.awaiting.slice(0, 20).map((f) => ({ ...f, callers: engine.logicalStackAt(threadIndex, { position: Number(f.id.slice(f.id.indexOf('.') + 1)) }).frames.slice(1, 4).map((c) => c.name) }));
    const lastEvent = stack.position;
    const lastNs = stack.eventNs;
    if (format === 'json') {
      printJson({
        trace: trace.dir,
        thread: picked.info.id,
        at,
        lastEvent,
        lastEventNs: timed ? lastNs : null,
        frames: frames.map((f) => {
          const entry = engine.functions.get(f.fn);
          return { id: f.id, fn: f.fn, name: f.name, file: entry?.file ?? '', line: entry?.line ?? 0, column: entry?.column ?? 0, enterNs: timed ? f.enterNs : null, enterEvent: Number(f.id.slice(f.id.indexOf('.') + 1)), params: entry?.params ?? [], args: f.args, resumedAfterAwait: f.resumed };
        }),
        awaiting: awaiting.map((f) => ({ id: f.id, fn: f.fn, name: f.name, enterNs: timed ? f.enterNs : null, stack: f.callers })),
        awaitingTotal: stack.awaiting.length,
      });
      return 0;
    }
    const out: string[] = [];
    const last = lastEvent < 0 ? 'before its first event' : `last event e${lastEvent}${timed && lastNs !== null ? ` at ${formatNs(lastNs)}` : ''}`;
    out.push(`thread ${picked.info.id} ${picked.info.name} · ${what} · ${last}`);
    if (frames.length === 0) out.push('  no traced call was running');
    for (const f of frames) {
      const since = timed ? `  entered ${formatNs(f.enterNs)}` : '';
      out.push(`  ${signature(f.name, f.fn, f.args, 90)}  ${where_(f.fn)}${since}`);
      if (f.resumed) out.push('    ⤷ resumed after an await; started by:');
    }
    if (stack.awaiting.length > 0) {
      out.push('', `awaiting then (${stack.awaiting.length} async call${stack.awaiting.length === 1 ? '' : 's'} suspended):`);
      for (const f of awaiting) out.push(`  ${f.name}  ${where_(f.fn)}${timed ? `  entered ${formatNs(f.enterNs)}` : ''}${f.callers.length ? '  ← ' + f.callers.join(' ← ') : ''}`);
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    q.close();
  }
}

/** Frames whose arguments engineStack looks up (each costs a walk of the call's segment). */
const VALUE_FRAMES = 32;
