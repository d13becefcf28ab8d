// `recall export --format chrome`: the Chrome Trace Event format (JSON), streamed: one B/E pair
// per activation (a call, or its run after an await: args.resumed), properly nested per thread, with
// process_name/thread_name metadata. Opens in chrome://tracing, Perfetto's UI and speedscope.
// Times are µs since the trace began; a --timing none trace is laid out by event number
// (1 µs per event), which the metadata says.

import type { QueryTrace } from '../query/open.js';
import type { ExportWriter } from './writer.js';
import { exportedThreads, walkForExport, locationOf, type ExportOptions, type ExportTotals } from './common.js';

export function exportChrome(q: QueryTrace, out: ExportWriter, options: ExportOptions = {}): ExportTotals {
  const pid = q.manifest.pid;
  const timed = q.manifest.clock.mode !== 'none';
  const totals: ExportTotals = { calls: 0, events: 0, threads: 0 };
  out.write('{"displayTimeUnit":"ns","otherData":');
  out.write(JSON.stringify({ exporter: 'recall', command: q.manifest.command.join(' '), timing: timed ? q.manifest.clock.mode : 'none: laid out by event number, 1 µs per event' }));
  out.write(',"traceEvents":[\n');
  out.write(JSON.stringify({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: q.manifest.command.join(' ') || `pid ${pid}` } }));
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
  for (const { index, info } of exportedThreads(q, options)) {
    totals.threads++;
    const tid = info.id;
    out.write(`,\n${JSON.stringify({ name: 'thread_name', ph: 'M', pid, tid, args: { name: info.name || `thread ${tid}` } })}`);
    let sequence = 0;
    const ts = (ns: number): string => (timed ? (ns / 1000).toFixed(3) : String(sequence++));
    walkForExport(q, index, {
      open(fn, _call, ns, how) {
        if (how === 'enter') totals.calls++;
        totals.events++;
        // A run after an await is marked, so the calls can be counted: B events without it.
        out.write(`,\n{"ph":"B","pid":${pid},"tid":${tid},"ts":${ts(ns)},${how === 'enter' ? nameOf(fn) : resumedNameOf(fn)}}`);
      },
      close(_fn, _call, ns, how) {
        totals.events++;
        out.write(`,\n{"ph":"E","pid":${pid},"tid":${tid},"ts":${ts(ns)}${how === 'return' ? '' : `,"args":{"end":"${how}"}`}}`);
      },
    }, options, totals);
  }
  out.write('\n]}\n');
  return totals;
}
