// How runtime events are worded, for the `recall events` view and the recall_events tool:
// the kinds a --kind filter names, the kinds listed by default, and one line per event
// (a message with the thread at the other end, a span with its outcome and duration, ...).

import { spanLabel, type MessageFlow, type RuntimeEvent, type Span } from '../analysis/runtime-events.js';
import { RecallError } from '../format/errors.js';
import { renderValue, type ValueDesc } from '../format/values.js';
import { formatNs } from './format.js';

export const KINDS: Record<string, string[]> = {
  message: ['message-send', 'message-receive'],
  messages: ['message-send', 'message-receive'],
  'message-send': ['message-send'],
  'message-receive': ['message-receive'],
  worker: ['worker-start', 'worker-exit'],
  workers: ['worker-start', 'worker-exit'],
  'worker-start': ['worker-start'],
  'worker-exit': ['worker-exit'],
  span: ['span-begin', 'span-end'],
  spans: ['span-begin', 'span-end'],
  'span-begin': ['span-begin'],
  'span-end': ['span-end'],
  gc: ['gc'],
  socket: ['note'],
  note: ['note'],
  spawn: ['spawn'],
  mark: ['mark'],
  scheduling: ['schedule', 'callback', 'callback-end'],
  schedule: ['schedule'],
  callback: ['callback', 'callback-end'],
  'callback-end': ['callback-end'],
  catch: ['catch'],
  detail: ['detail'],
};

/** What the text view lists by default (scheduling is summarised; catch/detail belong to other views). */
export const TEXT_DEFAULT = new Set(['message-send', 'message-receive', 'worker-start', 'worker-exit', 'span-begin', 'gc', 'note', 'spawn', 'mark']);

export function kindFilter(values: unknown): Set<string> | null {
  const list = Array.isArray(values) ? (values as string[]) : typeof values === 'string' ? [values] : [];
  if (list.length === 0) return null;
  const kinds = new Set<string>();
  for (const item of list.flatMap((v) => v.split(','))) {
    const found = KINDS[item.trim()];
    if (!found) throw new RecallError('E_USAGE', `events: unknown --kind '${item}'; kinds: ${Object.keys(KINDS).join(', ')}`);
    for (const kind of found) kinds.add(kind);
  }
  return kinds;
}

function threadLabel(names: Map<number, string>, id: number | null | undefined): string {
  if (id === null || id === undefined) return 'an untraced thread';
  const name = names.get(id);
  return name ? `thread ${id} ${name}` : `thread ${id}`;
}

function flowTag(flow: MessageFlow): string {
  const seq = flow.seq !== null ? `#${flow.seq}` : `id ${flow.id}`;
  return flow.via === 'channel' ? `${seq} on channel ${flow.channel}` : seq;
}

function spanText(span: Span, timed: boolean): string {
  const label = spanLabel({ kind: span.kind, method: span.method ?? undefined, url: span.url ?? undefined, host: span.host ?? undefined });
  const outcome = span.error !== null ? ` ✗ ${span.error}` : span.status !== null ? ` → ${span.status}` : '';
  const duration = span.durationNs === null ? '  (unfinished)' : timed ? `  (${formatNs(span.durationNs)})` : '';
  return `${label}${outcome}${duration}`;
}

/** One event's description; `timed` false (--timing none): without the times between events. */
export function describe(event: RuntimeEvent, names: Map<number, string>, timed: boolean): string {
  switch (event.kind) {
    case 'message-send': {
      const flow = event.message;
      if (!flow) return `id ${event.aux}`;
      if (flow.failed) return `✗ not sent (postMessage threw)  ${flowTag(flow)}`;
      const to = flow.receive ? threadLabel(names, flow.receive.thread) : 'not received';
      const delivered = flow.latencyNs !== null && timed ? `  delivered after ${formatNs(flow.latencyNs)}` : '';
      const summary = flow.summary !== undefined ? `  ${renderValue(flow.summary as ValueDesc, 80)}` : '';
      return `→ ${to}  ${flowTag(flow)}${delivered}${summary}`;
    }
    case 'message-receive': {
      const flow = event.message;
      if (!flow || !flow.send) return `← ${threadLabel(names, null)}  id ${event.aux}`;
      return `← ${threadLabel(names, flow.send.thread)}  ${flowTag(flow)}${timed ? `  sent ${formatNs(Math.max(0, flow.latencyNs ?? 0))} earlier` : ''}`;
    }
    case 'worker-start':
      return threadLabel(names, event.aux);
    case 'worker-exit': {
      const life = event.worker;
      return `${threadLabel(names, event.aux)}${life && timed ? `  after ${formatNs(event.ns - life.startNs)}` : ''}`;
    }
    case 'span-begin':
    case 'span-end':
      return event.span ? spanText(event.span, timed) : `span ${event.aux}`;
    case 'gc':
      return formatNs(event.aux * 1000);
    case 'spawn':
      return `pid ${event.aux}${typeof event.note?.file === 'string' && event.note.file ? `  ${event.note.file}` : ''}`;
    case 'note': {
      const note = event.note ?? {};
      const rest = Object.entries(note)
        .filter(([key]) => key !== 'k' && key !== 'event')
        .map(([key, value]) => (key === 'kind' ? String(value) : `${key} ${typeof value === 'string' ? value : JSON.stringify(value)}`));
      return rest.join('  ') || `note ${event.aux}`;
    }
    case 'mark':
      return typeof event.note?.label === 'string' ? event.note.label : `mark ${event.aux}`;
    case 'schedule':
    case 'callback':
    case 'callback-end':
      return `link ${event.aux}`;
    default:
      return String(event.aux);
  }
}

/** The text view names a span by its begin, and a socket note by "socket". */
export function textKind(event: RuntimeEvent): string {
  if (event.kind === 'span-begin') return 'span';
  if (event.kind === 'note' && typeof event.note?.event === 'string') return event.note.event;
  return event.kind;
}
