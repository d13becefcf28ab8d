// `recall export --format speedscope`: speedscope's file format
// (https://www.speedscope.app/file-format-schema.json), streamed: one evented profile per
// thread (open/close events per activation, in nanoseconds since the trace began), frames
// shared across profiles; a call's runs after an await are the frame "name (after await)". A --timing none trace is laid out by event number.

import type { QueryTrace } from '../query/open.js';
import type { ExportWriter } from './writer.js';
import { exportedThreads, onAxisOf, shiftNs, walkForExport, type ExportOptions, type ExportTotals } from './common.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export function exportSpeedscope(processes: readonly QueryTrace[], out: ExportWriter, wanted: ExportOptions = {}): ExportTotals {
  const root = processes[0]!;
  const timed = root.manifest.clock.mode !== 'none';
  const totals: ExportTotals = { calls: 0, events: 0, threads: 0 };
  // Frames shared by every profile: one per function of each process (ids are per process).
  const frames = new Map<string, { index: number; q: QueryTrace; fn: number; resumed: boolean }>();
  const several = processes.length > 1;
  out.write(`{"$schema":${JSON.stringify(SPEEDSCOPE_SCHEMA)},"exporter":"recall","name":${JSON.stringify(root.manifest.command.join(' ') || 'recall trace')},"activeProfileIndex":0,"profiles":[`);
  let first = true;
  for (const q of processes) {
    const pid = q.manifest.pid;
    const shift = shiftNs(root, q);
    // The range on this process's own axis.
    const options = onAxisOf(wanted, shift);
    // A run after an await is a frame of its own ("name (after await)"), so each function's
    // frame opens exactly once per call.
    const frameOf = (fn: number, resumed: boolean): number => {
      const key = `${pid}:${fn}${resumed ? ':r' : ''}`;
      let frame = frames.get(key);
      if (frame === undefined) frames.set(key, (frame = { index: frames.size, q, fn, resumed }));
      return frame.index;
    };
    for (const { index, info } of exportedThreads(q, options)) {
      totals.threads++;
      const name = `${several ? `pid ${pid} ` : ''}thread ${info.id} ${info.name}`.trim();
      out.write(`${first ? '' : ','}\n{"type":"evented","name":${JSON.stringify(name)},"unit":${timed ? '"nanoseconds"' : '"none"'},"events":[`);
      first = false;
      let sequence = 0;
      let start = Infinity;
      let end = -Infinity;
      let sep = '';
      const at = (ns: number): number => {
        const t = timed ? ns + shift : sequence++;
        if (t < start) start = t;
        if (t > end) end = t;
        return t;
      };
      // The frame each open activation was opened with (its close must name the same one).
      const open: number[] = [];
      walkForExport(q, index, {
        open(fn, _call, ns, how) {
          if (how === 'enter') totals.calls++;
          totals.events++;
          const frame = frameOf(fn, how === 'resume');
          open.push(frame);
          out.write(`${sep}\n{"type":"O","frame":${frame},"at":${at(ns)}}`);
          sep = ',';
        },
        close(fn, _call, ns) {
          totals.events++;
          out.write(`,\n{"type":"C","frame":${open.pop() ?? frameOf(fn, false)},"at":${at(ns)}}`);
        },
      }, options, totals);
      if (start === Infinity) start = end = 0;
      out.write(`\n],"startValue":${start},"endValue":${end}}`);
    }
  }
  out.write('\n],"shared":{"frames":[');
  let i = 0;
  for (const { q, fn, resumed } of frames.values()) {
    const entry = q.engine.functions.get(fn);
    const frame: Record<string, unknown> = { name: resumed ? `${q.engine.nameOf(fn)} (after await)` : q.engine.nameOf(fn) };
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
