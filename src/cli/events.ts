// `recall events [trace]`: the runtime events of a trace, thread by thread in time order —
// messages with the thread at the other end, worker starts and exits, HTTP/fetch spans with
// their outcome and duration, garbage collections, sockets, spawns, marks — and each thread's
// scheduling (callbacks scheduled and run) as counts. Text is for reading; JSON has every event
// (scheduling ones included) and the message, span and worker tables. Read from the query index
// (built and kept beside the trace on first use) unless the scheduling records themselves are
// asked for (JSON without --kind, or --kind scheduling): those are walked.

import { hasTimes, openTrace } from '../analysis/trace.js';
import { runtimeEvents, type RuntimeEvent } from '../analysis/runtime-events.js';
import { describe, kindFilter, TEXT_DEFAULT, textKind } from '../text/events.js';
import { openQuery } from '../query/open.js';
import { indexedRuntimeRecords, UNINDEXED_KINDS } from '../query/runtime-source.js';
import { parse } from './args.js';
import { formatCount, formatNs } from '../text/format.js';
import { formatOption, pickThreads, printJson } from './view-common.js';

export const EVENTS_HELP = `usage: recall events [trace] [--thread ID] [--kind K] [--format text|json]

The runtime events of a trace in time order, per thread: messages between threads (with the
thread at the other end), worker starts and exits, HTTP and fetch spans with their status and
duration, garbage collections, sockets, child processes, marks; and how many callbacks each
thread scheduled and ran.

options:
  --thread ID   one thread (default: all)
  --kind K      only events of kind K (repeatable): message, message-send, message-receive,
                worker, worker-start, worker-exit, span, gc, socket, spawn, mark, note,
                scheduling (schedule, callback, callback-end)
  --format F    text (default) or json
`;

const OPTIONS = {
  thread: { type: 'string' },
  kind: { type: 'string', multiple: true },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** --kind names and the event kinds they select. */
export function eventsCommand(args: string[]): number {
  const { values, positionals } = parse('events', args, OPTIONS);
  if (values.help) {
    process.stdout.write(EVENTS_HELP);
    return 0;
  }
  const format = formatOption('events', values.format);
  const kinds = kindFilter(values.kind);
  // The query index keeps every runtime event but the scheduling links and detail pointers
  // (it counts the links): a view that lists none of those reads the index, not the records.
  const walk = kinds === null ? format === 'json' : [...kinds].some((k) => UNINDEXED_KINDS.has(k));
  const q = walk ? null : openQuery(positionals[0] ?? 'recall-trace');
  const trace = q ? q.trace : openTrace(positionals[0] ?? 'recall-trace');
  const picked = new Set(pickThreads('events', trace, values.thread, 'all').map((t) => t.info.id));
  const all = q ? runtimeEvents(trace, indexedRuntimeRecords(q.engine)) : runtimeEvents(trace);
  q?.close();
  const threads = all.threads.filter((t) => picked.has(t.id));
  const names = new Map(trace.threads.map((t) => [t.info.id, t.info.name]));
  // --timing none: events in order, without times (their ns fields would read as times).
  const timed = hasTimes(trace);

  if (format === 'json') {
    const shown = (events: RuntimeEvent[]): RuntimeEvent[] | (Omit<RuntimeEvent, 'ns'> & { ns: null })[] => {
      const picked = kinds ? events.filter((e) => kinds.has(e.kind)) : events;
      return timed ? picked : picked.map((e) => ({ ...e, ns: null }));
    };
    printJson({
      trace: trace.dir,
      timed,
      threads: threads.map((t) => ({ ...t, events: shown(t.events) })),
      messages: all.messages.filter((m) => (m.send && picked.has(m.send.thread)) || (m.receive && picked.has(m.receive.thread))),
      spans: all.spans.filter((s) => picked.has(s.thread)),
      workers: all.workers.filter((w) => picked.has(w.parent) || picked.has(w.worker)),
    });
    return 0;
  }

  const out: string[] = [`recall events · ${trace.dir}${timed ? '' : ' · recorded with --timing none: events in order, without times'}`];
  for (const thread of threads) {
    const shown = thread.events.filter((e) => (kinds ? kinds.has(e.kind) : TEXT_DEFAULT.has(e.kind)));
    out.push('', `thread ${thread.id} ${thread.name} · ${formatCount(shown.length)} event${shown.length === 1 ? '' : 's'}`);
    // A loop, not Math.max(...spread): a busy service has hundreds of thousands of events.
    let width = 0;
    for (const e of shown) width = Math.max(width, textKind(e).length);
    for (const event of shown) {
      out.push(`  ${timed ? `${formatNs(event.ns).padStart(9)}  ` : ''}${textKind(event).padEnd(width)}  ${describe(event, names, timed)}`);
    }
    const s = thread.scheduling;
    if (!kinds || kinds.has('schedule') || kinds.has('callback')) {
      if (s.scheduled + s.runs > 0) {
        const extra = [s.neverRan > 0 ? `${formatCount(s.neverRan)} never ran` : '', s.unmatched > 0 ? `${formatCount(s.unmatched)} runs of callbacks scheduled before recording` : '', s.unfinished > 0 ? `${formatCount(s.unfinished)} unfinished` : ''].filter(Boolean);
        out.push(`  scheduling: ${formatCount(s.scheduled)} callback${s.scheduled === 1 ? '' : 's'} scheduled, ${formatCount(s.runs)} run${s.runs === 1 ? '' : 's'}${extra.length > 0 ? `, ${extra.join(', ')}` : ''}`);
      }
    }
    if ((!kinds || kinds.has('gc')) && thread.gc.count > 0) {
      out.push(`  gc: ${formatCount(thread.gc.count)} collection${thread.gc.count === 1 ? '' : 's'}, ${formatNs(thread.gc.totalUs * 1000)} in all, longest ${formatNs(thread.gc.maxUs * 1000)}`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
