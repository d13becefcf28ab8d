// `recall export --format chrome`: the Chrome Trace Event format (JSON), streamed: one B/E pair
// per activation (a call, or its run after an await: args.resumed), properly nested per thread, with
// process_name/thread_name metadata, runtime events as instants, messages between threads
// as flow events, and async causality as flow events too (cat "await": from the end of each run
// that stops at an await to the call's next run, bound to those slices). Opens in chrome://tracing, Perfetto's UI and speedscope.
// Times are µs since the trace began; a --timing none trace is laid out by event number
// (1 µs per event), which the metadata says.

import type { QueryTrace } from '../query/open.js';
import { runtimeEvents } from '../analysis/runtime-events.js';
import { indexedRuntimeRecords } from '../query/runtime-source.js';
import { describe } from '../text/events.js';
import type { ExportWriter } from './writer.js';
import { AwaitFlows, exportedThreads, inRange, onAxisOf, shiftNs, walkForExport, locationOf, type ExportOptions, type ExportTotals } from './common.js';

/** Runtime events written as instants (scheduling links and detail pointers are not). */
const INSTANT_KINDS = new Set(['message-send', 'message-receive', 'worker-start', 'worker-exit', 'span-begin', 'span-end', 'gc', 'spawn', 'mark', 'note']);

export function exportChrome(processes: readonly QueryTrace[], out: ExportWriter, options: ExportOptions = {}): ExportTotals {
  const root = processes[0]!;
  const timed = root.manifest.clock.mode !== 'none';
  const totals: ExportTotals = { calls: 0, events: 0, threads: 0 };
  out.write('{"displayTimeUnit":"ns","otherData":');
  out.write(JSON.stringify({ exporter: 'recall', command: root.manifest.command.join(' '), timing: timed ? root.manifest.clock.mode : 'none: laid out by event number, 1 µs per event' }));
  out.write(',"traceEvents":[');
  let flows = 0;
  const awaits = new AwaitFlows();
  processes.forEach((q, n) => {
    const shift = shiftNs(root, q);
    flows = exportProcess(q, out, onAxisOf(options, shift), totals, timed, shift, flows, n === 0, awaits);
  });
  out.write('\n]}\n');
  return totals;
}

/** One process's threads; returns the flow ids used so far (ids are unique over the file). */
function exportProcess(q: QueryTrace, out: ExportWriter, options: ExportOptions, totals: ExportTotals, timed: boolean, shift: number, flowBase: number, first: boolean, awaits: AwaitFlows): number {
  const pid = q.manifest.pid;
  out.write(`${first ? '' : ','}\n${JSON.stringify({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: q.manifest.command.join(' ') || `pid ${pid}` } })}`);
  const names = new Map<number, string>();
  const nameOf = (fn: number): string => {
    let text = names.get(fn);
    if (text === undefined) {
      const loc = locationOf(q, fn);
      text = `"name":${JSON.stringify(q.engine.nameOf(fn))},"cat":"js","args":{"at":${JSON.stringify(loc)}}`;
      names.set(fn, text);
    }
    return text;
  };
  const resumed = new Map<number, string>();
  const resumedNameOf = (fn: number): string => {
    let text = resumed.get(fn);
    if (text === undefined) {
      text = `"name":${JSON.stringify(q.engine.nameOf(fn))},"cat":"js","args":{"at":${JSON.stringify(locationOf(q, fn))},"resumed":true}`;
      resumed.set(fn, text);
    }
    return text;
  };
  // Runtime events as instant events, and each message between threads as a flow (s at the
  // send, f at the delivery, bound to the enclosing slices).
  const runtime = runtimeEvents(q.trace, indexedRuntimeRecords(q.engine));
  const threadNames = new Map(q.threads.map((t) => [t.id, t.name]));
  const flowOf = new Map<object, number>();
  runtime.messages.forEach((flow, i) => flowOf.set(flow, flowBase + i + 1));
  const eventsOf = new Map(runtime.threads.map((t) => [t.id, t.events]));
  for (const { index, info } of exportedThreads(q, options)) {
    totals.threads++;
    const tid = info.id;
    out.write(`,\n${JSON.stringify({ name: 'thread_name', ph: 'M', pid, tid, args: { name: info.name || `thread ${tid}` } })}`);
    let sequence = 0;
    const ts = (ns: number): string => (timed ? ((ns + shift) / 1000).toFixed(3) : String(sequence++));
    const flow = (ph: 's' | 'f', id: number, at: string): string => `,\n{"ph":"${ph}",${ph === 'f' ? '"bp":"e",' : ''}"id":${id},"pid":${pid},"tid":${tid},"ts":${at},"name":"await","cat":"await"}`;
    awaits.thread();
    walkForExport(q, index, {
      open(fn, call, ns, how) {
        if (how === 'enter') totals.calls++;
        totals.events++;
        const at = ts(ns);
        // A run after an await is marked, so the calls can be counted: B events without it.
        out.write(`,\n{"ph":"B","pid":${pid},"tid":${tid},"ts":${at},${how === 'enter' ? nameOf(fn) : resumedNameOf(fn)}}`);
        const resumed = awaits.resumed(call, how);
        if (resumed !== 0) out.write(flow('f', resumed, at));
      },
      close(_fn, call, ns, how) {
        totals.events++;
        const at = ts(ns);
        // The flow starts inside the run it leaves (before its E, at the same time).
        if (how === 'await') out.write(flow('s', awaits.suspended(call), at));
        out.write(`,\n{"ph":"E","pid":${pid},"tid":${tid},"ts":${at}${how === 'return' ? '' : `,"args":{"end":"${how}"}`}}`);
      },
    }, options, totals);
    for (const e of eventsOf.get(tid) ?? []) {
      if (!INSTANT_KINDS.has(e.kind) || !inRange(e.ns, options)) continue;
      const at = timed ? ((e.ns + shift) / 1000).toFixed(3) : null;
      if (at === null) continue; // --timing none: runtime events have no place on an event-number axis
      out.write(`,\n{"ph":"i","s":"t","pid":${pid},"tid":${tid},"ts":${at},"name":${JSON.stringify(`${e.kind} ${describe(e, threadNames, timed)}`.trim())},"cat":"runtime"}`);
      const flow = e.message ? flowOf.get(e.message) : undefined;
      if (flow !== undefined) out.write(`,\n{"ph":"${e.kind === 'message-send' ? 's' : 'f'}",${e.kind === 'message-send' ? '' : '"bp":"e",'}"id":${flow},"pid":${pid},"tid":${tid},"ts":${at},"name":"message","cat":"message"}`);
    }
  }
  return flowBase + runtime.messages.length;
}
