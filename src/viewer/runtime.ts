// The viewer's runtime-event tracks: per thread, its GC pauses, HTTP (and other) spans, worker
// starts and exits, spawns and marks; and the messages between threads, each from its send to
// its receive (drawn as arrows). Put together once per trace by the runtime-event view the
// `events` command and the exports use (analysis/runtime-events.ts), fed from the query index
// (a few thousand stored rows, not a walk of the records). Threads are the engine's indexes.

import { runtimeEvents } from '../analysis/runtime-events.js';
import type { QueryTrace } from '../query/open.js';
import { indexedRuntimeRecords } from '../query/runtime-source.js';
import { describe } from '../text/events.js';

/** Items of one kind a thread's track holds at most (the rest are counted). */
const PER_KIND = 20_000;

export interface RuntimeTrack {
  thread: number;
  /** [ns, duration ns] of each GC pause. */
  gc: [number, number][];
  spans: { beginNs: number; endNs: number | null; label: string; status: number | null; error: string | null }[];
  /** Instants: worker-start, worker-exit, spawn, mark: [ns, kind, text]. */
  instants: [number, string, string][];
  /** [ns, child pid] of each process this thread started (a spawn; drawn as an arrow to the child's tracks when they are shown). */
  spawns: [number, number][];
  /** Items left out (over PER_KIND of a kind). */
  omitted: number;
}

export interface RuntimeAnswer {
  threads: RuntimeTrack[];
  /** [send thread, send ns, receive thread, receive ns] of each message with both ends in the trace. */
  messages: [number, number, number, number][];
  /** Messages with one end only (failed sends, receives from untraced senders). */
  unpaired: number;
  counts: { gc: number; spans: number; workers: number; messages: number };
}

const cache = new WeakMap<QueryTrace, RuntimeAnswer>();

export function runtimeTracks(q: QueryTrace): RuntimeAnswer {
  const cached = cache.get(q);
  if (cached) return cached;
  const runtime = runtimeEvents(q.trace, indexedRuntimeRecords(q.engine));
  const indexOf = new Map(q.threads.map((t, i) => [t.id, i]));
  const names = new Map(q.threads.map((t) => [t.id, t.name]));
  const threads: RuntimeTrack[] = runtime.threads.map((t) => {
    const track: RuntimeTrack = { thread: indexOf.get(t.id) ?? -1, gc: [], spans: [], instants: [], spawns: [], omitted: 0 };
    for (const e of t.events) {
      switch (e.kind) {
        case 'gc':
          if (track.gc.length < PER_KIND) track.gc.push([e.ns, e.aux * 1000]);
          else track.omitted++;
          break;
        case 'span-begin':
          if (!e.span) break;
          if (track.spans.length < PER_KIND) track.spans.push({ beginNs: e.span.beginNs, endNs: e.span.endNs, label: describe(e, names, q.engine.times), status: e.span.status, error: e.span.error });
          else track.omitted++;
          break;
        case 'spawn':
        case 'worker-start':
        case 'worker-exit':
        case 'mark':
          // A spawn's aux is the child's pid: kept for the arrow to the child's tracks.
          if (e.kind === 'spawn' && e.aux > 0 && track.spawns.length < PER_KIND) track.spawns.push([e.ns, e.aux]);
          if (track.instants.length < PER_KIND) track.instants.push([e.ns, e.kind, `${e.kind} ${describe(e, names, q.engine.times)}`.trim()]);
          else track.omitted++;
          break;
        default:
          break;
      }
    }
    return track;
  });
  const messages: [number, number, number, number][] = [];
  let unpaired = 0;
  for (const m of runtime.messages) {
    const from = m.send ? indexOf.get(m.send.thread) : undefined;
    const to = m.receive ? indexOf.get(m.receive.thread) : undefined;
    if (m.send && m.receive && from !== undefined && to !== undefined) messages.push([from, m.send.ns, to, m.receive.ns]);
    else unpaired++;
  }
  const answer: RuntimeAnswer = {
    threads: threads.filter((t) => t.thread >= 0),
    messages,
    unpaired,
    counts: { gc: threads.reduce((n, t) => n + t.gc.length, 0), spans: runtime.spans.length, workers: runtime.workers.length, messages: runtime.messages.length },
  };
  cache.set(q, answer);
  return answer;
}
