// One line of facts per process of a trace (for `recall info` and the closing line of
// `recall run`): status, threads, events and drops. A finished process is described by its
// manifest alone; one still recording (or whose manifest is gone) by scanning its thread files.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateManifest, type ManifestStatus } from '../format/manifest.js';
import type { ProcessEntry } from '../format/processes.js';
import { openTrace } from './trace.js';

export interface ProcessOverview {
  pid: number;
  parentPid: number | null;
  command: string[];
  startEpochMs: number;
  /** The manifest's status; 'missing' when the process has no readable manifest. */
  status: ManifestStatus | 'missing';
  threads: number;
  events: number;
  dropped: number;
  bytes: number;
  manifest: string;
  functionsFile: string;
}

/** With scan false, a process still recording is described without reading its thread files (counts 0). */
export function processOverview(dir: string, entry: ProcessEntry, root: boolean, scan = true): ProcessOverview {
  const base = {
    pid: entry.pid,
    parentPid: entry.parentPid,
    command: entry.command,
    startEpochMs: entry.startEpochMs,
    manifest: entry.manifest,
    functionsFile: entry.functionsFile,
  };
  let status: ProcessOverview['status'] = 'missing';
  try {
    const path = join(dir, entry.manifest);
    const m = validateManifest(JSON.parse(readFileSync(path, 'utf8')), path);
    status = m.status;
    if (m.status !== 'recording') {
      return { ...base, command: m.command.length ? m.command : entry.command, status, threads: m.threads.length, events: m.totals.written, dropped: m.totals.dropped, bytes: m.totals.bytes };
    }
  } catch {
    // missing or damaged: counted from the thread files
  }
  if (!scan) return { ...base, status, threads: 0, events: 0, dropped: 0, bytes: 0 };
  try {
    const trace = openTrace(dir, root ? {} : { pid: entry.pid });
    let events = 0;
    let bytes = 0;
    for (const t of trace.threads) {
      events += t.scan.records;
      bytes += t.bytes.byteLength;
    }
    return { ...base, status, threads: trace.threads.length, events, dropped: 0, bytes };
  } catch {
    return { ...base, status, threads: 0, events: 0, dropped: 0, bytes: 0 };
  }
}
