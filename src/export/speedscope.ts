// `recall export --format speedscope`: speedscope's file format
// (https://www.speedscope.app/file-format-schema.json), streamed: one evented profile per
// thread (open/close events per activation, in nanoseconds since the trace began), frames
// shared across profiles. A --timing none trace is laid out by event number.

import type { QueryTrace } from '../query/open.js';
import type { ExportWriter } from './writer.js';
import { exportedThreads, walkForExport, type ExportOptions, type ExportTotals } from './common.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export function exportSpeedscope(q: QueryTrace, out: ExportWriter, options: ExportOptions = {}): ExportTotals {
  const timed = q.manifest.clock.mode !== 'none';
  const totals: ExportTotals = { calls: 0, events: 0, threads: 0 };
  const frames = new Map<number, number>(); // fn -> frame index
  const frameOf = (fn: number): number => {
    let i = frames.get(fn);
    if (i === undefined) frames.set(fn, (i = frames.size));
    return i;
  };
  out.write(`{"$schema":${JSON.stringify(SPEEDSCOPE_SCHEMA)},"exporter":"recall","name":${JSON.stringify(q.manifest.command.join(' ') || 'recall trace')},"activeProfileIndex":0,"profiles":[`);
  let first = true;
  for (const { index, info } of exportedThreads(q, options)) {
    totals.threads++;
    out.write(`${first ? '' : ','}\n{"type":"evented","name":${JSON.stringify(`thread ${info.id} ${info.name}`.trim())},"unit":${timed ? '"nanoseconds"' : '"none"'},"events":[`);
    first = false;
    let sequence = 0;
    let start = Infinity;
    let end = -Infinity;
    let sep = '';
    const at = (ns: number): number => {
      const t = timed ? ns : sequence++;
      if (t < start) start = t;
      if (t > end) end = t;
      return t;
    };
    walkForExport(q, index, {
      open(fn, _call, ns, how) {
        if (how === 'enter') totals.calls++;
        totals.events++;
        out.write(`${sep}\n{"type":"O","frame":${frameOf(fn)},"at":${at(ns)}}`);
        sep = ',';
      },
      close(fn, _call, ns) {
        totals.events++;
        out.write(`,\n{"type":"C","frame":${frameOf(fn)},"at":${at(ns)}}`);
      },
    }, options, totals);
    if (start === Infinity) start = end = 0;
    out.write(`\n],"startValue":${start},"endValue":${end}}`);
  }
  out.write('\n],"shared":{"frames":[');
  let i = 0;
  for (const fn of frames.keys()) {
    const entry = q.engine.functions.get(fn);
    const frame: Record<string, unknown> = { name: q.engine.nameOf(fn) };
    if (entry?.file) {
      frame.file = entry.file;
      frame.line = entry.line;
      frame.col = entry.column;
    }
    out.write(`${i++ === 0 ? '' : ','}\n${JSON.stringify(frame)}`);
  }
  out.write('\n]}}\n');
  return totals;
}
