// What a bounded trace (`recall run --max-size / --keep`) kept and what it discarded, from its
// manifest and its threads' file headers (format/window.ts): the time each thread's kept records
// begin, and the records and bytes deleted before them. `recall info`, the summary's header and
// the MCP overview state it, so nobody takes a window for the whole run.

import type { Trace } from './trace.js';

export interface ThreadKeptWindow {
  thread: number;
  name: string;
  /** Nanoseconds since the trace began: where the thread's kept records begin (null: the thread has none). */
  fromNs: number | null;
  discardedRecords: number;
  discardedBytes: number;
  /** Frames open at the window's start, re-opened by the prelude. */
  openAtStart: number;
}

export interface KeptWindow {
  maxBytes: number | null;
  keepMs: number | null;
  /** The latest start of any thread's kept records that lost its beginning (ns since the trace began); 0 when none did. */
  fromNs: number;
  discardedRecords: number;
  discardedBytes: number;
  threads: ThreadKeptWindow[];
}

/** The kept window of a bounded trace, or null when the trace was not recorded bounded. */
export function keptWindow(trace: Trace): KeptWindow | null {
  const m = trace.manifest;
  const maxBytes = m.options.maxBytes ?? null;
  const keepMs = m.options.keepMs ?? null;
  if (maxBytes === null && keepMs === null && !trace.threads.some((t) => t.header?.window)) return null;
  const threads: ThreadKeptWindow[] = [];
  let fromNs = 0;
  let discardedRecords = 0;
  let discardedBytes = 0;
  for (const t of trace.threads) {
    const window = t.header?.window;
    const first = window ? t.scan.chunks[1] ?? t.scan.chunks[0] : t.scan.chunks[0];
    const origin = t.header?.timeOriginMs ?? t.info.timeOriginMs;
    const at = first ? Math.max(0, Math.round((origin + first.firstTime - m.startEpochMs) * 1e6)) : null;
    const records = window?.discardedRecords ?? t.info.discarded ?? 0;
    const bytes = window?.discardedBytes ?? 0;
    threads.push({ thread: t.info.id, name: t.info.name, fromNs: at, discardedRecords: records, discardedBytes: bytes, openAtStart: window ? Math.max(0, window.prelude - 1) : 0 });
    if (window && at !== null && at > fromNs) fromNs = at;
    discardedRecords += records;
    discardedBytes += bytes;
  }
  return { maxBytes, keepMs, fromNs, discardedRecords, discardedBytes, threads };
}
