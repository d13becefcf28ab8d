// Salvage: when a traced process died before finishing its trace (SIGKILL, OOM kill, power
// loss), rebuild its manifest from what is on disk — its thread files up to their last complete
// chunk and its function table — with status "salvaged" and notes on what was lost. Works on
// the root process (manifest.json) or, given a pid, on a followed child (p<pid>.manifest.json).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sumCounters, validateManifest, type Manifest } from '../format/manifest.js';
import { manifestFileOf } from '../format/processes.js';
import { listProcesses } from './processes.js';
import { openTrace } from './trace.js';
import { summarize } from './summary.js';

export interface Salvage {
  manifest: Manifest;
  /** True when the manifest was rebuilt and must be written (to `file`). */
  salvaged: boolean;
  /** The manifest's file name in the trace directory. */
  file: string;
}

/**
 * The completed manifest of a process (default: the root), or a salvaged one to be written;
 * null when there is no trace of it.
 */
export function salvageManifest(dir: string, signal: string | null, pid?: number): Salvage | null {
  const root = pid === undefined;
  // The usual case, a finished trace, needs only its manifest (not gigabytes of thread files).
  const fast = manifestFileOf(pid ?? 0, root);
  try {
    const path = join(dir, fast);
    const manifest = validateManifest(JSON.parse(readFileSync(path, 'utf8')), path);
    if (manifest.status === 'complete') return { manifest, salvaged: false, file: fast };
  } catch {
    // missing or damaged: salvage from the thread files below
  }
  let trace;
  try {
    trace = openTrace(dir, root ? {} : { pid });
  } catch {
    return null;
  }
  if (trace.threads.length === 0 && trace.manifestReconstructed) return null;
  const summary = summarize(trace);
  const threads = trace.threads.map((t, index) => {
    const s = summary.threads[index];
    return {
      ...t.info,
      produced: s ? s.produced : 0,
      written: s ? s.events : 0,
      dropped: s ? s.dropped : 0,
      discarded: t.info.discarded ?? 0,
      bytes: t.scan.validBytes,
      chunks: t.scan.chunks.length,
      closed: false,
    };
  });
  const totals = sumCounters(threads);
  const manifest: Manifest = {
    ...trace.manifest,
    status: 'salvaged',
    endEpochMs: Date.now(),
    threads,
    functions: [...trace.functions.values()],
    totals,
    shutdown: { reason: 'killed', signal, exitCode: null },
    notes: [
      `the traced process ended before finishing its trace${signal ? ` (killed by ${signal})` : ''}: events still in its rings or unwritten chunk buffers were lost`,
      ...trace.problems,
    ],
    ...(root ? { parentPid: null, processes: listProcesses(dir) } : {}),
  };
  return { manifest, salvaged: true, file: root ? fast : manifestFileOf(pid, false) };
}
