// Which calls of a trace become OpenTelemetry spans, and their parents (`recall export --format
// otlp`). A span is a CALL, from its enter to its final return or throw across its awaits, not
// one run of it. Exported: every call of an async function (the function table's kind says
// async), every call lasting at least the minimum duration (found by the engine's calls(),
// which skips the segments that cannot hold one), and every runtime span (HTTP server and
// client, fetch). A span's parent is the nearest exported call on the stack when it was
// entered: the frames physically below an entered call are its callers, async callees
// included, and a call resumed after an await keeps the parent it was entered with; a call
// with no such caller that runs while one HTTP server span is open is that request's handler
// (its child); a worker's root calls are children of the call that started the worker.
// Runtime spans' parents are the nearest exported call when they began. Ids are
// deterministic: a span id from (thread, position of the enter record), a trace id from the
// recording's pid and start time. One walk of each thread's activations; memory holds the
// exported set's positions and the calls open at a time.

import { RecallError } from '../format/errors.js';
import { runtimeEvents, type Span as RuntimeSpan } from '../analysis/runtime-events.js';
import { parseCallId } from '../query/ids.js';
import type { QueryTrace } from '../query/open.js';
import { indexedRuntimeRecords } from '../query/runtime-source.js';
import { exportedThreads, type ExportOptions } from './common.js';

export const SPAN_KIND_INTERNAL = 1;
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

export type AttributeValue = string | number | boolean;

export interface OtlpSpan {
  spanId: Uint8Array;
  parentSpanId: Uint8Array | null;
  name: string;
  kind: number;
  /** Unix time, ns. */
  startUnixNs: bigint;
  endUnixNs: bigint;
  status: number;
  statusMessage: string;
  /** Integer values are written as ints, other numbers as doubles. The same array (not to be
   *  changed) is given for every call of a function on a thread that returned or threw, so
   *  encoders may cache its encoding by identity. */
  attributes: readonly [string, AttributeValue][];
}

export interface SpanOptions extends ExportOptions {
  /** Calls lasting at least this long become spans (ns; default 1 ms). */
  minDurationNs?: number;
}

export interface SpanTotals {
  calls: number;
  runtime: number;
  threads: number;
}

/** 16 bytes from the recording's pid and start time (unix µs): one trace id per recording. */
export function traceIdOf(pid: number, startEpochMs: number): Uint8Array {
  const id = new Uint8Array(16);
  const view = new DataView(id.buffer);
  view.setUint32(0, pid >>> 0);
  view.setBigUint64(4, BigInt(Math.round(startEpochMs * 1000)));
  id.set([0x72, 0x63, 0x6c, 0x6c], 12); // "rcll": never all zeroes
  return id;
}

/** 8 bytes: 2 for the thread (+1, so never zero; the top bit marks a runtime span), 6 for the position. */
export function spanIdOf(thread: number, position: number, runtime = false): Uint8Array {
  const id = new Uint8Array(8);
  const head = ((thread + 1) & 0x7fff) | (runtime ? 0x8000 : 0);
  const high = Math.floor(position / 2 ** 32) & 0xffff;
  const low = position >>> 0;
  id[0] = head >>> 8;
  id[1] = head & 0xff;
  id[2] = high >>> 8;
  id[3] = high & 0xff;
  id[4] = low >>> 24;
  id[5] = (low >>> 16) & 0xff;
  id[6] = (low >>> 8) & 0xff;
  id[7] = low & 0xff;
  return id;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

interface Frame {
  call: number;
  /** The nearest exported call at or below this frame (-1: none). */
  nearest: number;
}

interface OpenSpan {
  fn: number;
  /** The parent call's position (-1: none). */
  parent: number;
  /** Or the parent HTTP server span's begin position (-1: none). */
  server: number;
  startNs: number;
}

/** Every span of the trace (of the threads asked for), thread by thread; `emit` gets each as it ends. */
export function collectSpans(q: QueryTrace, options: SpanOptions, emit: (span: OtlpSpan) => void): SpanTotals {
  if (!q.engine.times) throw new RecallError('E_USAGE', 'export: otlp needs times, and this trace was recorded with --timing none');
  const minNs = options.minDurationNs ?? 1e6;
  const base = BigInt(Math.round(q.manifest.startEpochMs * 1000)) * 1000n;
  const unix = (ns: number): bigint => base + BigInt(Math.max(0, Math.round(ns)));
  const asyncFns = new Set<number>();
  for (const [id, entry] of q.engine.functions) if (entry.kind.startsWith('async')) asyncFns.add(id);
  const threads = exportedThreads(q, options);
  // --min-duration 0: every call (calls demoted to count-only by adaptive timing have no time
  // of their own, so a search by duration would miss them).
  const every = minNs <= 0;
  const slow = every ? new Map<number, Set<number>>() : slowCalls(q, minNs, threads.map((t) => t.index));
  const events = runtimeEvents(q.trace, indexedRuntimeRecords(q.engine));
  const runtime = events.spans;
  const totals: SpanTotals = { calls: 0, runtime: 0, threads: 0 };
  const exportedOn = (threadIndex: number): ((fn: number, call: number) => boolean) => {
    const slowHere = slow.get(threadIndex) ?? new Set<number>();
    return (fn, call) => every || asyncFns.has(fn) || slowHere.has(call);
  };
  // A worker's root calls are children of the nearest exported call that started the worker
  // (on the thread that created it, when that thread is exported too).
  const indexOf = new Map(q.threads.map((t, i) => [t.id, i]));
  const picked = new Set(threads.map((t) => t.info.id));
  const workerParent = new Map<number, Uint8Array>();
  for (const thread of events.threads) {
    if (!picked.has(thread.id)) continue;
    for (const event of thread.events) {
      if (event.kind !== 'worker-start' || !picked.has(event.aux)) continue;
      const parent = nearestExported(q, indexOf.get(thread.id) as number, thread.id, event.index, exportedOn(indexOf.get(thread.id) as number));
      if (parent !== null) workerParent.set(event.aux, parent);
    }
  }

  for (const { index, info } of threads) {
    totals.threads++;
    const exported = exportedOn(index);
    const started = workerParent.get(info.id) ?? null;
    const threadAttributes: [string, AttributeValue][] = [
      ['thread.id', info.id],
      ['thread.name', info.name || (info.id === 0 ? 'main' : `thread ${info.id}`)],
    ];
    const stack: Frame[] = [];
    const open = new Map<number, OpenSpan>();
    // A call with no exported caller that runs while exactly one HTTP server span is open on
    // its thread handles that request: its parent is the server span (with requests in flight
    // together the recording cannot tell which, and the call stays a root).
    const servers = runtime.filter((span) => span.thread === info.id && span.kind === 'http.server').sort((a, b) => a.beginIndex - b.beginIndex);
    let nextServer = 0;
    const serving: RuntimeSpan[] = [];
    const serverAt = (position: number): number => {
      while (nextServer < servers.length && (servers[nextServer] as RuntimeSpan).beginIndex < position) serving.push(servers[nextServer++] as RuntimeSpan);
      for (let i = serving.length - 1; i >= 0; i--) if ((serving[i] as RuntimeSpan).endIndex !== null && ((serving[i] as RuntimeSpan).endIndex as number) < position) serving.splice(i, 1);
      return serving.length === 1 ? (serving[0] as RuntimeSpan).beginIndex : -1;
    };
    let lastNs = 0;
    const shared = new Map<number, [string, AttributeValue][]>();
    const attributesOf = (fn: number, how: string): [string, AttributeValue][] => {
      const ended = how === 'return' || how === 'throw';
      const cached = ended ? shared.get(fn) : undefined;
      if (cached) return cached;
      const entry = q.engine.functions.get(fn);
      const attributes: [string, AttributeValue][] = [['code.function', q.engine.nameOf(fn)]];
      if (entry?.file) attributes.push(['code.filepath', entry.file], ['code.lineno', entry.line]);
      attributes.push(...threadAttributes);
      if (!ended) attributes.push(['recall.outcome', how]);
      else shared.set(fn, attributes);
      return attributes;
    };
    const finish = (call: number, span: OpenSpan, endNs: number, how: string): void => {
      const attributes = attributesOf(span.fn, how);
      emit({
        spanId: spanIdOf(info.id, call),
        parentSpanId: span.parent >= 0 ? spanIdOf(info.id, span.parent) : span.server >= 0 ? spanIdOf(info.id, span.server, true) : started,
        name: q.engine.nameOf(span.fn),
        kind: SPAN_KIND_INTERNAL,
        startUnixNs: unix(span.startNs),
        endUnixNs: unix(Math.max(endNs, span.startNs)),
        status: how === 'throw' ? STATUS_ERROR : STATUS_UNSET,
        statusMessage: how === 'throw' ? 'threw' : '',
        attributes,
      });
      totals.calls++;
    };
    q.engine.walkActivations(index, {
      open(fn, call, ns, how) {
        lastNs = ns;
        const below = stack.length > 0 ? (stack[stack.length - 1] as Frame).nearest : -1;
        let mine = false;
        if (how === 'enter') {
          if (exported(fn, call)) {
            open.set(call, { fn, parent: below, server: below < 0 ? serverAt(call) : -1, startNs: ns });
            mine = true;
          }
        } else {
          mine = open.has(call);
        }
        stack.push({ call, nearest: mine ? call : below });
      },
      close(_fn, call, ns, how) {
        lastNs = ns;
        stack.pop();
        if (how === 'await') return;
        const span = open.get(call);
        if (!span) return;
        open.delete(call);
        finish(call, span, ns, how);
      },
    });
    // Calls suspended at an await when the recording ended.
    for (const [call, span] of open) finish(call, span, lastNs, 'unfinished');

    for (const span of runtime) {
      if (span.thread !== info.id) continue;
      emit(runtimeSpan(q, index, info.id, span, unix, lastNs, (fn, call) => exported(fn, call), threadAttributes));
      totals.runtime++;
    }
  }
  return totals;
}

/** Positions of the calls lasting at least minNs, per thread index. */
function slowCalls(q: QueryTrace, minNs: number, threads: number[]): Map<number, Set<number>> {
  const found = new Map<number, Set<number>>();
  const wanted = new Set(threads);
  let cursor: string | undefined;
  do {
    const page = q.engine.calls({
      slowerThanNs: Math.max(0, minNs - 1),
      limit: 10000,
      ...(threads.length === 1 ? { thread: threads[0] as number } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    for (const brief of page.calls) {
      const { thread, position } = parseCallId(brief.id);
      if (!wanted.has(thread) || brief.durationNs === null || brief.durationNs < minNs) continue;
      let set = found.get(thread);
      if (!set) found.set(thread, (set = new Set()));
      set.add(position);
    }
    cursor = page.cursor ?? undefined;
  } while (cursor !== undefined);
  return found;
}

/** The span id of the nearest exported call on a thread's stack at a position (null: none). */
function nearestExported(q: QueryTrace, threadIndex: number, threadId: number, at: number, exported: (fn: number, call: number) => boolean): Uint8Array | null {
  const frames = q.engine.stackAt(threadIndex, { position: at }).frames;
  for (let i = frames.length - 1; i >= 0; i--) {
    const frame = frames[i]!;
    const { position } = parseCallId(frame.id);
    if (exported(frame.fn, position)) return spanIdOf(threadId, position);
  }
  return null;
}

function runtimeSpan(
  q: QueryTrace,
  threadIndex: number,
  threadId: number,
  span: RuntimeSpan,
  unix: (ns: number) => bigint,
  lastNs: number,
  exported: (fn: number, call: number) => boolean,
  threadAttributes: [string, AttributeValue][],
): OtlpSpan {
  // The parent: the nearest exported call on the stack when the span began.
  const parent = nearestExported(q, threadIndex, threadId, span.beginIndex, exported);
  const attributes: [string, AttributeValue][] = [];
  if (span.method !== null) attributes.push(['http.method', span.method], ['http.request.method', span.method]);
  // fetch's host is an origin (scheme included); http.client's a bare host name.
  if (span.host !== null && span.host.includes('://')) attributes.push(['url.full', `${span.host}${span.url ?? ''}`]);
  else {
    if (span.host !== null) attributes.push(['server.address', span.host]);
    if (span.url !== null) attributes.push(['url.path', span.url]);
  }
  if (span.status !== null) attributes.push(['http.response.status_code', span.status]);
  if (span.error !== null) attributes.push(['error.type', span.error]);
  attributes.push(['recall.span.kind', span.kind], ...threadAttributes);
  if (span.endNs === null) attributes.push(['recall.outcome', 'unfinished']);
  const failed = span.error !== null || (span.status !== null && span.status >= (span.kind === 'http.server' ? 500 : 400));
  const what = span.method ?? span.kind;
  const where = span.kind === 'http.server' ? (span.url ?? '') : `${span.host ?? ''}${span.url ?? ''}`;
  return {
    spanId: spanIdOf(threadId, span.beginIndex, true),
    parentSpanId: parent,
    name: where ? `${what} ${where}` : what,
    kind: span.kind === 'http.server' ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT,
    startUnixNs: unix(span.beginNs),
    endUnixNs: unix(Math.max(span.endNs ?? lastNs, span.beginNs)),
    status: failed ? STATUS_ERROR : STATUS_UNSET,
    statusMessage: span.error ?? '',
    attributes,
  };
}
