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
// Runtime spans' parents are the nearest exported call when they began. With every process
// (--process all), a child process's root calls are children of the call that spawned it (the
// nearest exported call on the stack at the parent's spawn event; a process started through a
// shell is the shell's child, which is not traced, so its root calls stay roots), and all
// processes share the root's trace id. A call that threw has the error's text as its status message and an
// `exception` event (exception.type, exception.message, exception.stacktrace) when the error
// value was recorded in a detail window: its own throw snapshot, another snapshot of the same
// exception chain (x), or else what `recall exceptions` knows of it (the call model of
// analysis/calls.ts follows an exception through the frames it passed, an await's rejection
// included, and takes the error from the uncaught record that ended the process; it walks the
// thread again, so it runs only for a thread with such calls); otherwise the message is
// "threw". With a range (--from/--to), the spans are the
// calls and runtime spans that overlap it, whole (not cut at its edges); a span whose parent
// was left out (it ended before the range) is a root. Ids are deterministic: a span id from
// (process ordinal, thread, position of the enter record), a trace id from the root
// recording's pid and start time. One walk of each thread's activations; memory holds the
// exported set's positions, the calls open at a time and the thrown calls whose error is not
// known yet.

import { RecallError } from '../format/errors.js';
import { walkCalls } from '../analysis/calls.js';
import { threadDetailLookup } from '../analysis/detail.js';
import type { Trace } from '../analysis/trace.js';
import { runtimeEvents, type Span as RuntimeSpan } from '../analysis/runtime-events.js';
import type { ValueDesc } from '../format/values.js';
import { parseCallId } from '../query/ids.js';
import type { QueryTrace } from '../query/open.js';
import { indexedRuntimeRecords } from '../query/runtime-source.js';
import { errorLine } from '../text/values.js';
import { counted, exportedThreads, type ExportOptions } from './common.js';

export const SPAN_KIND_INTERNAL = 1;
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

export type AttributeValue = string | number | boolean;

export interface OtlpEvent {
  timeUnixNs: bigint;
  name: string;
  attributes: readonly [string, AttributeValue][];
}

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
  /** Span events (an exception), when any. */
  events?: readonly OtlpEvent[];
}

export interface SpanOptions extends ExportOptions {
  /** Calls lasting at least this long become spans (ns; default 1 ms). */
  minDurationNs?: number;
}

export interface SpanTotals {
  calls: number;
  runtime: number;
  threads: number;
  /** Activation events walked (for a progress line). */
  events: number;
}

/** What the processes of one export share (--process all). */
export interface SpanContext {
  /** The process's place in the export (0: the root): part of every span id. */
  ordinal: number;
  /** The span of the call that spawned each child process, by the child's pid (filled while
   *  the spawning process is walked; processes are walked parents first). */
  spawners: Map<number, Link>;
  /** Calls that spans of other threads or processes hang from, by `${ordinal}:${thread}` and
   *  position: whether each was sent (false: the range left it out; null: not walked yet). */
  links: Map<string, Map<number, boolean | null>>;
}

/** A call another thread's or process's spans hang from. */
export interface Link {
  ordinal: number;
  thread: number;
  position: number;
}

export function spanContext(ordinal = 0, shared?: SpanContext): SpanContext {
  return { ordinal, spawners: shared?.spawners ?? new Map(), links: shared?.links ?? new Map() };
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

/** 8 bytes: 2 for the thread (+1, so never zero; the top bit marks a runtime span), 12 bits
 *  for the process's ordinal in the export (0: the root), 36 for the position. */
export function spanIdOf(thread: number, position: number, runtime = false, ordinal = 0): Uint8Array {
  const id = new Uint8Array(8);
  const head = ((thread + 1) & 0x7fff) | (runtime ? 0x8000 : 0);
  const high = (Math.floor(position / 2 ** 32) & 0xf) | ((ordinal & 0xfff) << 4);
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

/** An error value recorded in a detail window as a span's status message and `exception` event. */
function thrownError(error: ValueDesc, atUnixNs: bigint): { message: string; events: OtlpEvent[] } {
  const e = error as { $?: string; name?: unknown; class?: unknown; message?: unknown; stack?: unknown };
  const attributes: [string, AttributeValue][] = [];
  if (e.$ === 'error') {
    attributes.push(['exception.type', String(e.class ?? e.name ?? 'Error')]);
    if (typeof e.message === 'string') attributes.push(['exception.message', e.message]);
    if (typeof e.stack === 'string') attributes.push(['exception.stacktrace', e.stack]);
  } else attributes.push(['exception.message', errorLine(error, 400)]);
  return { message: errorLine(error, 400), events: [{ timeUnixNs: atUnixNs, name: 'exception', attributes }] };
}

/** Every span of the trace (of the threads asked for), thread by thread; `emit` gets each as it ends. */
export function collectSpans(q: QueryTrace, options: SpanOptions, emit: (span: OtlpSpan) => void, context: SpanContext = spanContext()): SpanTotals {
  if (!q.engine.times) throw new RecallError('E_USAGE', 'export: otlp needs times, and this trace was recorded with --timing none');
  const minNs = options.minDurationNs ?? 1e6;
  const from = options.fromNs ?? -Infinity;
  const to = options.toNs ?? Infinity;
  const overlaps = (startNs: number, endNs: number): boolean => endNs >= from && startNs <= to;
  const ordinal = context.ordinal;
  const idOf = (thread: number, position: number, runtime = false): Uint8Array => spanIdOf(thread, position, runtime, ordinal);
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
  const totals: SpanTotals = { calls: 0, runtime: 0, threads: 0, events: 0 };
  const exportedOn = (threadIndex: number): ((fn: number, call: number) => boolean) => {
    const slowHere = slow.get(threadIndex) ?? new Set<number>();
    return (fn, call) => every || asyncFns.has(fn) || slowHere.has(call);
  };
  // A worker's root calls are children of the nearest exported call that started the worker
  // (on the thread that created it, when that thread is exported too); a child process's, of
  // the nearest exported call that spawned it (any thread of the spawning process).
  const indexOf = new Map(q.threads.map((t, i) => [t.id, i]));
  const picked = new Set(threads.map((t) => t.info.id));
  const workerParent = new Map<number, Link>();
  const linksOf = (thread: number): Map<number, boolean | null> => {
    const key = `${ordinal}:${thread}`;
    let found = context.links.get(key);
    if (!found) context.links.set(key, (found = new Map()));
    return found;
  };
  const link = (thread: number, position: number): Link => {
    const known = linksOf(thread);
    if (!known.has(position)) known.set(position, null);
    return { ordinal, thread, position };
  };
  for (const thread of events.threads) {
    if (!picked.has(thread.id)) continue;
    for (const event of thread.events) {
      const spawn = event.kind === 'spawn' && event.aux > 0;
      if (!spawn && (event.kind !== 'worker-start' || !picked.has(event.aux))) continue;
      const index = indexOf.get(thread.id) as number;
      const parent = nearestExported(q, index, event.index, exportedOn(index));
      if (parent < 0) continue;
      if (spawn) context.spawners.set(event.aux, link(thread.id, parent));
      else workerParent.set(event.aux, link(thread.id, parent));
    }
  }
  /** The span id of a call of another thread or process, null when the range left it out. */
  const linkedId = (to: Link | undefined): Uint8Array | null =>
    to === undefined || context.links.get(`${to.ordinal}:${to.thread}`)?.get(to.position) === false ? null : spanIdOf(to.thread, to.position, false, to.ordinal);

  // The trace for the call model: the query's view, a thread's records read piece by piece.
  const full = (): Trace => q.trace;
  for (const { index, info } of threads) {
    totals.threads++;
    const exported = exportedOn(index);
    const started = linkedId(workerParent.get(info.id) ?? (info.id === 0 ? context.spawners.get(q.manifest.pid) : undefined));
    // Calls of this thread that others hang from: whether each is sent.
    const linked = context.links.get(`${ordinal}:${info.id}`);
    const decided = (call: number, sent: boolean): void => {
      if (linked?.has(call)) linked.set(call, sent);
    };
    const threadAttributes: [string, AttributeValue][] = [
      ['thread.id', info.id],
      ['thread.name', info.name || (info.id === 0 ? 'main' : `thread ${info.id}`)],
    ];
    const stack: Frame[] = [];
    const open = new Map<number, OpenSpan>();
    // Calls the range left out (they ended before it): their children are roots.
    const skipped = new Set<number>();
    // A call with no exported caller that runs while exactly one HTTP server span is open on
    // its thread handles that request: its parent is the server span (with requests in flight
    // together the recording cannot tell which, and the call stays a root).
    const servers = runtime.filter((span) => span.thread === info.id && span.kind === 'http.server').sort((a, b) => a.beginIndex - b.beginIndex);
    let nextServer = 0;
    const serving: RuntimeSpan[] = [];
    const serverAt = (position: number): number => {
      while (nextServer < servers.length && (servers[nextServer] as RuntimeSpan).beginIndex < position) serving.push(servers[nextServer++] as RuntimeSpan);
      for (let i = serving.length - 1; i >= 0; i--) if ((serving[i] as RuntimeSpan).endIndex !== null && ((serving[i] as RuntimeSpan).endIndex as number) < position) serving.splice(i, 1);
      if (serving.length !== 1) return -1;
      const server = serving[0] as RuntimeSpan;
      return overlaps(server.beginNs, server.endNs ?? Infinity) ? server.beginIndex : -1;
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
    const finish = (call: number, span: OpenSpan, endNs: number, how: string, error?: ValueDesc): void => {
      const id = idOf(info.id, call);
      if (!overlaps(span.startNs, endNs)) {
        skipped.add(call);
        decided(call, false);
        return;
      }
      decided(call, true);
      const attributes = attributesOf(span.fn, how);
      const end = unix(Math.max(endNs, span.startNs));
      const thrown = how === 'throw' && error !== undefined ? thrownError(error, end) : null;
      emit({
        spanId: id,
        parentSpanId: span.parent >= 0 ? (skipped.has(span.parent) ? null : idOf(info.id, span.parent)) : span.server >= 0 ? idOf(info.id, span.server, true) : started,
        name: q.engine.nameOf(span.fn),
        kind: SPAN_KIND_INTERNAL,
        startUnixNs: unix(span.startNs),
        endUnixNs: end,
        status: how === 'throw' ? STATUS_ERROR : STATUS_UNSET,
        statusMessage: thrown?.message ?? (how === 'throw' ? 'threw' : ''),
        attributes,
        ...(thrown ? { events: thrown.events } : {}),
      });
      totals.calls++;
    };
    // A call that threw is held until the next event: its throw snapshot (the error, or the
    // exception chain it belongs to) comes right after its end. One whose chain's error is not
    // recorded yet waits for the end of the thread (an uncaught error is recorded last).
    const detail = threadDetailLookup(q.trace, q.trace.threads[index]!);
    interface Thrown {
      call: number;
      span: OpenSpan;
      ns: number;
      chain: number | null;
      error: ValueDesc | undefined;
    }
    let held: Thrown | null = null;
    const waiting: Thrown[] = [];
    const chainErrors = new Map<number, ValueDesc>();
    const release = (): void => {
      if (held === null) return;
      const t = held;
      held = null;
      t.error ??= t.chain !== null ? chainErrors.get(t.chain) : undefined;
      if (t.error === undefined && t.chain !== null) waiting.push(t);
      else finish(t.call, t.span, t.ns, 'throw', t.error);
    };
    let walked = 0;
    q.engine.walkActivations(index, counted({
      open(fn, call, ns, how) {
        release();
        walked++;
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
        release();
        walked++;
        lastNs = ns;
        stack.pop();
        if (how === 'await') return;
        const span = open.get(call);
        if (!span) return;
        open.delete(call);
        if (how === 'throw') held = { call, span, ns, chain: null, error: undefined };
        else finish(call, span, ns, how);
      },
      detail(serial) {
        const value = detail.get(serial);
        if (!value) return;
        const body = value.body;
        const chain = typeof body.x === 'number' ? body.x : null;
        if (chain !== null && body.error !== undefined && !chainErrors.has(chain)) chainErrors.set(chain, body.error as ValueDesc);
        if (held !== null && body.k === 'throw' && Number(body.fn) === held.span.fn) {
          held.chain = chain;
          if (body.error !== undefined) held.error = body.error as ValueDesc;
        }
      },
    }, options, totals));
    totals.events += walked;
    release();
    const known = waiting.some((t) => !chainErrors.has(t.chain as number)) ? exceptionErrors(full(), index) : new Map<number, ValueDesc>();
    for (const t of waiting) finish(t.call, t.span, t.ns, 'throw', chainErrors.get(t.chain as number) ?? known.get(t.call));
    // Calls suspended at an await when the recording ended.
    for (const [call, span] of open) finish(call, span, lastNs, 'unfinished');

    for (const span of runtime) {
      if (span.thread !== info.id || !overlaps(span.beginNs, span.endNs ?? lastNs)) continue;
      emit(runtimeSpan(q, index, info.id, span, unix, lastNs, (fn, call) => exported(fn, call), threadAttributes, ordinal, skipped));
      totals.runtime++;
    }
  }
  return totals;
}

/** The errors of the exceptions `recall exceptions` finds on a thread, by the position of each
 *  call they went through (its enter record). */
function exceptionErrors(trace: Trace, threadIndex: number): Map<number, ValueDesc> {
  const found = new Map<number, ValueDesc>();
  const thread = trace.threads[threadIndex];
  if (!thread) return found;
  for (const x of walkCalls(trace, thread).exceptions) {
    if (x.error === null) continue;
    for (const frame of x.frames) found.set(frame.enterEvent, x.error);
  }
  return found;
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

/** The position of the nearest exported call on a thread's stack at a position (-1: none). */
function nearestExported(q: QueryTrace, threadIndex: number, at: number, exported: (fn: number, call: number) => boolean): number {
  const frames = q.engine.stackAt(threadIndex, { position: at }).frames;
  for (let i = frames.length - 1; i >= 0; i--) {
    const frame = frames[i]!;
    const { position } = parseCallId(frame.id);
    if (exported(frame.fn, position)) return position;
  }
  return -1;
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
  ordinal: number,
  skipped: Set<number>,
): OtlpSpan {
  // The parent: the nearest exported call on the stack when the span began (none when the
  // range left that call out).
  const caller = nearestExported(q, threadIndex, span.beginIndex, exported);
  const parent = caller >= 0 && !skipped.has(caller) ? spanIdOf(threadId, caller, false, ordinal) : null;
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
    spanId: spanIdOf(threadId, span.beginIndex, true, ordinal),
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
