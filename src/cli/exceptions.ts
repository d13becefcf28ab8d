// `recall exceptions [trace]`: every exception the traced code threw or caught, with the error,
// the logical stack of traced calls at the throw (arguments and `this` where the detail lane
// recorded them), the frames it went through and where it was caught — or that it was not.

import { argumentsOf, logicalStack, walkCalls, type Exception } from '../analysis/calls.js';
import { renderArgs, renderValue, type ValueDesc } from '../format/values.js';
import { parse, positiveInteger } from './args.js';
import { callJson, callSignature, errorText, whereOf } from './call-text.js';
import { formatNs } from '../text/format.js';
import { formatOption, openViewTrace, pickThreads, printJson, viewProcess } from './view-common.js';
import { openQuery } from '../query/open.js';
import { threadDetail } from '../analysis/detail.js';
import { hasTimes, type Trace } from '../analysis/trace.js';
import { endedBy, outcomeWords } from '../tools/exceptions.js';

export const EXCEPTIONS_HELP = `usage: recall exceptions [trace] [--thread ID] [--limit N] [--format text|json]

Every exception thrown through or caught in traced code: the error, the stack of traced calls
at the throw with their arguments (where a detail window recorded them), and where it was caught.

options:
  --process PID  a child process of the trace (default: the root; see recall info)
  --thread ID  only this thread (default: all)
  --limit N    at most N exceptions (default 50 in text, all in JSON)
  --format F   text (default) or json
`;

const OPTIONS = {
  thread: { type: 'string' },
  process: { type: 'string' },
  limit: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Every exception of a trace (one process; the threads `thread` picks, default all), numbered
 * by time of throw as `recall exceptions` and `recall stack --at x<N>` number them, from the
 * call model of each thread. The query index says which threads threw or caught anything:
 * only those are walked (the call model needs a thread's every record, read from its file
 * piece by piece), none when no thread did. `close` when done with the trace.
 */
export function traceExceptions(command: string, path: string | undefined, processValue: unknown, thread: unknown): { trace: Trace; all: Exception[]; problems: string[]; close: () => void } {
  const q = openQuery(path ?? 'recall-trace', viewProcess(command, processValue));
  const trace = q.trace;
  const all: Exception[] = [];
  const problems = [...trace.problems];
  try {
    for (const t of pickThreads(command, trace, thread, 'all')) {
      if (!q.engine.mayHoldExceptions(trace.threads.indexOf(t))) {
        problems.push(...threadDetail(trace, t).problems);
        continue;
      }
      // Its records are read from the file piece by piece (trace.threads[i].records).
      const calls = walkCalls(trace, t);
      problems.push(...calls.problems);
      all.push(...calls.exceptions);
    }
  } catch (error) {
    q.close();
    throw error;
  }
  all.sort((a, b) => a.thrownNs - b.thrownNs);
  all.forEach((exception, index) => {
    exception.id = index + 1;
  });
  return { trace, all, problems, close: () => q.close() };
}

function origin(exception: Exception) {
  return exception.frames[0] ?? exception.caughtBy;
}

export function exceptionJson(trace: Trace, exception: Exception): unknown {
  const first = origin(exception);
  return {
    id: exception.id,
    thread: exception.thread,
    error: exception.error,
    message: errorText(exception.error),
    thrownNs: exception.thrownNs,
    outcome: exception.outcome,
    ended: endedBy(exception),
    thrownIn: exception.frames.length > 0 ? callJson(trace, exception.frames[0]!) : null,
    thrownByUntracedCodeIn: exception.frames.length === 0 && exception.caughtBy ? callJson(trace, exception.caughtBy) : null,
    through: exception.frames.map((call) => callJson(trace, call)),
    caughtBy: exception.caughtBy ? (exception.caughtBy.depth < 0 ? { topLevel: true } : callJson(trace, exception.caughtBy)) : null,
    caughtNs: exception.caughtNs,
    caughtValues: exception.snapshots.find((s) => s.body.k === 'catch')?.body ?? null,
    stack: first ? logicalStack(first).map((call) => callJson(trace, call)) : [],
  };
}

function exceptionText(trace: Trace, exception: Exception): string {
  const lines: string[] = [];
  const thread = trace.threads.find((t) => t.info.id === exception.thread);
  const outcome = outcomeWords(trace, exception);
  lines.push(`#${exception.id}  ${errorText(exception.error)}`);
  const when = hasTimes(trace) ? ` · at ${formatNs(exception.thrownNs)}` : '';
  lines.push(`    thread ${exception.thread} ${thread?.info.name ?? ''}${when} · ${outcome}`);
  const first = origin(exception);
  if (!first) return lines.join('\n');
  const through = new Set(exception.frames);
  for (const call of logicalStack(first)) {
    let mark = '';
    if (call === exception.frames[0]) mark = '✗ threw here';
    else if (through.has(call)) mark = '✗ passed it on';
    if (call === exception.caughtBy) mark = exception.frames.length === 0 ? '✗ thrown by its own or untraced code, ✓ caught here' : '✓ caught here';
    const async = call.frame !== 0 && call.hops.length > 0 ? ' (async)' : '';
    lines.push(`    at ${callSignature(trace, call, 90)}${async}  ${whereOf(trace, call.fn)}${mark ? '  ' + mark : ''}`);
    if (call === exception.caughtBy) {
      const caught = exception.snapshots.find((s) => s.body.k === 'catch');
      if (caught && Array.isArray(caught.body.args) && (caught.body.args as unknown[]).length > 0 && argumentsOf(call) !== caught) {
        lines.push(`       values when caught: ${renderArgs(trace.functions.get(call.fn)?.params ?? [], caught.body.args as ValueDesc[], 90)}`);
      }
    }
  }
  if (exception.caughtBy && exception.caughtBy.depth < 0) lines.push('    ✓ caught by top-level code');
  else if (exception.caughtBy && !logicalStack(first).includes(exception.caughtBy)) {
    // It reached the catching call through a promise, not up the stack it was thrown on.
    lines.push(`    then, through a promise: ${callSignature(trace, exception.caughtBy, 90)}  ${whereOf(trace, exception.caughtBy.fn)}  ✓ caught here`);
  }
  const thrown = exception.snapshots.find((s) => s.body.k === 'throw' && s.body.this !== undefined);
  if (thrown) lines.push(`    this: ${renderValue(thrown.body.this as ValueDesc, 100)}`);
  return lines.join('\n');
}

export function exceptionsCommand(args: string[]): number {
  const { values, positionals } = parse('exceptions', args, OPTIONS);
  if (values.help) {
    process.stdout.write(EXCEPTIONS_HELP);
    return 0;
  }
  const format = formatOption('exceptions', values.format);
  const { trace, all, problems, close } = traceExceptions('exceptions', positionals[0], values.process, values.thread);
  close();
  const limit = positiveInteger('exceptions', '--limit', values.limit as string | undefined, format === 'json' ? Number.MAX_SAFE_INTEGER : 50);
  const shown = all.slice(0, limit);
  if (format === 'json') {
    printJson({ trace: trace.dir, total: all.length, exceptions: shown.map((x) => exceptionJson(trace, x)), problems });
    return 0;
  }
  const out: string[] = [];
  for (const problem of problems) out.push(`WARNING: ${problem}`);
  if (all.length === 0) out.push('no exceptions were thrown through or caught in traced code');
  else out.push(`${all.length} exception${all.length === 1 ? '' : 's'}${shown.length < all.length ? ` (first ${shown.length}; --limit N for more)` : ''}`);
  for (const exception of shown) out.push('', exceptionText(trace, exception));
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
