// The runtime events of a trace put together (docs/FORMAT.md section 3, EXT_* types): every
// thread's events in order, each resolved to what it means — a message send linked to its
// receive on the other thread (and back), a span with its name, outcome and duration, a worker's
// start with its exit, a spawn with its file — plus per-thread scheduling counts and GC totals.
// Message sends and receives are paired by message id, in time order per id (ids wrap after 2^20
// messages per direction, see runtime/message-flows.ts); notes that describe an event carrying
// its own argument (`ext`, `aux` in the note body) are paired with the n-th such event.

import { EXT_MSG_SEND, EXT_SPAN_END, EXT_SPAWN } from '../format/layout.js';
import { threadDetail, type DetailEntry, type ThreadDetail } from './detail.js';
import { threadEvents } from './events.js';
import type { Trace, TraceThread } from './trace.js';

export interface EventPlace {
  thread: number;
  ns: number;
  /** Index of the event in its thread's records. */
  index: number;
}

export interface MessageFlow {
  id: number;
  /** From the id's bits: 'worker' (a Worker's own channel) or 'channel' (a MessageChannel). */
  via: string | null;
  /** From the id's bits: the worker's threadId or the MessageChannel's id, mod 1024. */
  channel: number | null;
  /** The full sequence number (from the send's note; else the id's 20 bits). */
  seq: number | null;
  summary: unknown;
  send: EventPlace | null;
  receive: EventPlace | null;
  /** receive.ns - send.ns (threads' clocks are compared through absolute times). */
  latencyNs: number | null;
  /** postMessage threw: the message never left. */
  failed?: boolean;
}

export interface Span {
  thread: number;
  serial: number;
  kind: string;
  method: string | null;
  url: string | null;
  host: string | null;
  status: number | null;
  error: string | null;
  beginNs: number;
  endNs: number | null;
  durationNs: number | null;
  beginIndex: number;
  endIndex: number | null;
}

export interface WorkerLife {
  /** The thread that created the worker. */
  parent: number;
  worker: number;
  name: string | null;
  startNs: number;
  exitNs: number | null;
}

export interface SchedulingCounts {
  /** EXT_SCHEDULE events: callbacks scheduled. */
  scheduled: number;
  /** EXT_CALLBACK events: callback runs (an interval runs many times). */
  runs: number;
  /** Scheduled callbacks that never ran (cleared, or pending when the recording ended). */
  neverRan: number;
  /** Runs whose schedule is not in this thread's record (scheduled before recording began). */
  unmatched: number;
  /** Runs with no callback-end (the recording ended inside them). */
  unfinished: number;
}

export interface GcTotals {
  count: number;
  totalUs: number;
  maxUs: number;
}

export interface RuntimeEvent {
  thread: number;
  index: number;
  ns: number;
  kind: string;
  aux: number;
  /** message-send / message-receive: the flow; span-begin / span-end: the span; ... */
  message?: MessageFlow;
  span?: Span;
  worker?: WorkerLife;
  /** The detail note describing the event (note, mark, spawn). */
  note?: Record<string, unknown>;
}

export interface ThreadRuntimeEvents {
  id: number;
  name: string;
  events: RuntimeEvent[];
  scheduling: SchedulingCounts;
  gc: GcTotals;
}

export interface RuntimeEvents {
  threads: ThreadRuntimeEvents[];
  messages: MessageFlow[];
  spans: Span[];
  workers: WorkerLife[];
}

const INDEX_ONLY = new Set(['enter', 'exit', 'throw', 'suspend', 'resume', 'dropped']);

/** "http.server GET /users?id=1" */
export function spanLabel(body: Record<string, unknown>): string {
  const parts = [String(body.kind ?? 'span')];
  if (typeof body.method === 'string') parts.push(body.method);
  const host = typeof body.host === 'string' ? body.host : '';
  if (typeof body.url === 'string') parts.push(`${host}${body.url}`);
  return parts.join(' ');
}

/** Notes that describe an event carrying its own argument, by `${ext}:${aux}`, oldest first. */
function describedEvents(records: Map<number, DetailEntry>): Map<string, DetailEntry[]> {
  const byKey = new Map<string, DetailEntry[]>();
  const sorted = [...records.values()].filter((r) => r.body.k === 'note' && typeof r.body.ext === 'number').sort((a, b) => a.serial - b.serial);
  for (const record of sorted) {
    const key = `${record.body.ext as number}:${Number(record.body.aux)}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(record);
  }
  return byKey;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A runtime event record as runtimeEvents reads it. */
export interface RuntimeRecord {
  /** Position in the thread (the event number). */
  index: number;
  kind: string;
  aux: number;
  ns: number;
}

/** Where the records come from: the thread files walked whole (default), or the query index. */
export interface RuntimeRecordSource {
  records(thread: TraceThread, threadIndex: number): Iterable<RuntimeRecord>;
  /** Scheduling counts when the source does not give the schedule/callback records themselves. */
  scheduling?(threadIndex: number): SchedulingCounts;
}

function* walkedRecords(trace: Trace, thread: TraceThread): Generator<RuntimeRecord> {
  let index = -1;
  for (const ev of threadEvents(trace, thread)) {
    index++;
    if (INDEX_ONLY.has(ev.kind)) continue;
    yield { index, kind: ev.kind, aux: ev.aux, ns: ev.ns };
  }
}

export function runtimeEvents(trace: Trace, source?: RuntimeRecordSource): RuntimeEvents {
  const threads: ThreadRuntimeEvents[] = [];
  const sends = new Map<number, RuntimeEvent[]>();
  const receives = new Map<number, RuntimeEvent[]>();
  const spans: Span[] = [];
  const workers: WorkerLife[] = [];
  const names = new Map<number, string>(trace.threads.map((t) => [t.info.id, t.info.name]));

  trace.threads.forEach((thread, threadIndex) => {
    // The thread's detail lane is read only when an event needs its description (a thread
    // with only GC and scheduling events, as tsc's, never reads its captured values).
    let records: ThreadDetail['records'] | null = null;
    const recordsOf = (): ThreadDetail['records'] => (records ??= threadDetail(trace, thread).records);
    let described: ReturnType<typeof describedEvents> | null = null;
    const take = (ext: number, aux: number): DetailEntry | undefined => (described ??= describedEvents(recordsOf())).get(`${ext}:${aux}`)?.shift();
    const id = thread.info.id;
    const out: ThreadRuntimeEvents = {
      id,
      name: thread.info.name,
      events: [],
      scheduling: { scheduled: 0, runs: 0, neverRan: 0, unmatched: 0, unfinished: 0 },
      gc: { count: 0, totalUs: 0, maxUs: 0 },
    };
    const openSpans = new Map<number, Span>();
    const startedWorkers = new Map<number, WorkerLife>();
    const scheduled = new Map<number, number>(); // link id -> runs
    let running = 0;
    for (const ev of source ? source.records(thread, threadIndex) : walkedRecords(trace, thread)) {
      const index = ev.index;
      const event: RuntimeEvent = { thread: id, index, ns: ev.ns, kind: ev.kind, aux: ev.aux };
      switch (ev.kind) {
        case 'message-send': {
          const note = take(EXT_MSG_SEND, ev.aux)?.body;
          event.message = {
            id: ev.aux,
            via: ev.aux >>> 31 === 1 ? 'channel' : 'worker',
            channel: (ev.aux >>> 21) & 0x3ff,
            seq: num(note?.seq) ?? (ev.aux & 0xfffff),
            summary: note?.summary,
            send: { thread: id, ns: ev.ns, index },
            receive: null,
            latencyNs: null,
          };
          let list = sends.get(ev.aux);
          if (!list) sends.set(ev.aux, (list = []));
          list.push(event);
          break;
        }
        case 'message-receive': {
          let list = receives.get(ev.aux);
          if (!list) receives.set(ev.aux, (list = []));
          list.push(event);
          break;
        }
        case 'span-begin': {
          const body = recordsOf().get(ev.aux)?.body ?? {};
          const span: Span = {
            thread: id,
            serial: ev.aux,
            kind: String(body.kind ?? 'span'),
            method: text(body.method),
            url: text(body.url),
            host: text(body.host),
            status: null,
            error: null,
            beginNs: ev.ns,
            endNs: null,
            durationNs: null,
            beginIndex: index,
            endIndex: null,
          };
          openSpans.set(ev.aux, span);
          spans.push(span);
          event.span = span;
          break;
        }
        case 'span-end': {
          const span = openSpans.get(ev.aux);
          const how = take(EXT_SPAN_END, ev.aux)?.body;
          if (span) {
            openSpans.delete(ev.aux);
            span.endNs = ev.ns;
            span.durationNs = ev.ns - span.beginNs;
            span.endIndex = index;
            span.status = num(how?.status);
            span.error = text(how?.error);
            event.span = span;
          }
          break;
        }
        case 'worker-start': {
          const life: WorkerLife = { parent: id, worker: ev.aux, name: names.get(ev.aux) ?? null, startNs: ev.ns, exitNs: null };
          startedWorkers.set(ev.aux, life);
          workers.push(life);
          event.worker = life;
          break;
        }
        case 'worker-exit': {
          const life = startedWorkers.get(ev.aux);
          if (life) {
            life.exitNs = ev.ns;
            event.worker = life;
          }
          break;
        }
        case 'spawn': {
          const note = take(EXT_SPAWN, ev.aux)?.body;
          if (note) event.note = note;
          break;
        }
        case 'note':
        case 'mark': {
          const note = recordsOf().get(ev.aux)?.body;
          if (note) event.note = note;
          if (note?.event === 'message-send-failed') {
            // The last send of that id on this thread never left: it has no receive.
            const list = sends.get(Number(note.id));
            const failed = list?.[list.length - 1];
            if (list && failed && failed.thread === id) {
              list.pop();
              if (failed.message) failed.message.failed = true;
            }
          }
          break;
        }
        case 'schedule':
          out.scheduling.scheduled++;
          scheduled.set(ev.aux, 0);
          break;
        case 'callback': {
          out.scheduling.runs++;
          running++;
          const runs = scheduled.get(ev.aux);
          if (runs === undefined) out.scheduling.unmatched++;
          else scheduled.set(ev.aux, runs + 1);
          break;
        }
        case 'callback-end':
          running = Math.max(0, running - 1);
          break;
        case 'gc':
          out.gc.count++;
          out.gc.totalUs += ev.aux;
          out.gc.maxUs = Math.max(out.gc.maxUs, ev.aux);
          break;
        default:
          break;
      }
      out.events.push(event);
    }
    for (const runs of scheduled.values()) if (runs === 0) out.scheduling.neverRan++;
    out.scheduling.unfinished = running;
    if (source?.scheduling) out.scheduling = source.scheduling(threadIndex);
    threads.push(out);
  });

  // Pair sends and receives of each id in time order (FIFO per channel direction).
  const messages: MessageFlow[] = [];
  for (const [id, list] of sends) {
    const got = (receives.get(id) ?? []).sort((a, b) => a.ns - b.ns);
    list.sort((a, b) => a.ns - b.ns);
    list.forEach((send, n) => {
      const flow = send.message as MessageFlow;
      const receive = got[n];
      if (receive) {
        flow.receive = { thread: receive.thread, ns: receive.ns, index: receive.index };
        flow.latencyNs = receive.ns - send.ns;
        receive.message = flow;
      }
      messages.push(flow);
    });
    receives.delete(id);
    if (got.length > list.length) receives.set(id, got.slice(list.length));
  }
  // Receives whose send was not recorded (the sender was untraced or not recording).
  for (const [id, list] of receives) {
    for (const receive of list) {
      const flow: MessageFlow = { id, via: null, channel: null, seq: null, summary: undefined, send: null, receive: { thread: receive.thread, ns: receive.ns, index: receive.index }, latencyNs: null };
      receive.message = flow;
      messages.push(flow);
    }
  }
  messages.sort((a, b) => (a.send?.ns ?? a.receive?.ns ?? 0) - (b.send?.ns ?? b.receive?.ns ?? 0));
  return { threads, messages, spans, workers };
}

