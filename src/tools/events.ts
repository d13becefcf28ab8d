// recall_events: runtime events in time order — messages between threads, workers starting and
// ending, HTTP/fetch spans, GC, child processes, marks and notes — worded as `recall events`
// words them, optionally of some kinds or one thread. Read from the query index's table of
// runtime events (no walk of the records).

import * as z from 'zod';
import { hasTimes } from '../analysis/trace.js';
import { runtimeEvents } from '../analysis/runtime-events.js';
import { indexedRuntimeRecords, UNINDEXED_KINDS } from '../query/runtime-source.js';
import { describe, kindFilter, TEXT_DEFAULT, textKind } from '../text/events.js';
import { answerSchema, fitting, threadInput, items, traceInput, type Tool } from './tool.js';
import { at, formatCount } from './text.js';

export const eventsTool: Tool = {
  name: 'events',
  description: 'Runtime events in time order: messages between threads, workers, http/fetch spans, gc, spawn, marks. kind: comma list of message, worker, span, gc, spawn, mark, note, scheduling.',
  input: z.object({ ...traceInput, kind: z.string().optional(), thread: threadInput.optional() }),
  output: answerSchema({ events: items }),
  run(ctx, input) {
    const dir = ctx.store.resolve(input.trace as string | undefined);
    const kinds = kindFilter(input.kind);
    // The index keeps every runtime event but the scheduling links and detail pointers: asking
    // for those walks the records.
    const walk = kinds !== null && [...kinds].some((k) => UNINDEXED_KINDS.has(k));
    const q = ctx.store.query(dir);
    const trace = q.trace;
    const all = walk ? runtimeEvents(trace) : runtimeEvents(trace, indexedRuntimeRecords(q.engine));
    const names = new Map(trace.threads.map((t) => [t.info.id, t.info.name]));
    const threadId = input.thread !== undefined ? trace.threads[input.thread as number]?.info.id : undefined;
    const timed = hasTimes(trace);
    const events = all.threads
      .filter((t) => threadId === undefined || t.id === threadId)
      .flatMap((t) => t.events.filter((e) => (kinds ? kinds.has(e.kind) : TEXT_DEFAULT.has(e.kind))))
      .sort((a, b) => a.ns - b.ns);
    const gc = all.threads.reduce((n, t) => n + t.gc.count, 0);
    return {
      data: { total: events.length },
      doc: {
        head: [`${formatCount(events.length)} events${kinds ? ` of kind ${String(input.kind)}` : ''}${threadId !== undefined ? ` on thread ${threadId}` : ''}; ${all.workers.length} workers, ${all.messages.length} messages, ${all.spans.length} spans, ${gc} gc`],
        sections: [
          {
            key: 'events',
            noun: 'events',
            total: events.length,
            items: fitting(events, input).map((e) => {
              const text = describe(e, names, timed);
              return { text: `${timed ? at(e.ns) + ' ' : ''}thread ${e.thread} ${textKind(e)}  ${text}`, data: { ns: timed ? e.ns : null, thread: e.thread, kind: e.kind, text } };
            }),
            first: 20,
          },
        ],
      },
    };
  },
};
