// Salvage: when the traced process died before finishing its trace (SIGKILL, OOM kill, power
// loss), rebuild a manifest from what is on disk — the thread files up to their last complete
// chunk and functions.jsonl — with status "salvaged" and notes on what was lost.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sumCounters, validateManifest, type Manifest } from '../format/manifest.js';
import { openTrace } from './trace.js';
import { summarize } from './summary.js';

/** The completed manifest of a trace, or a salvaged one to be written; null when there is no trace. */
export function salvageManifest(dir: string, signal: string | null): { manifest: Manifest; salvaged: boolean } | null {
  // The usual case, a finished trace, needs only its manifest (not gigabytes of thread files).
  try {
    const path = join(dir, 'manifest.json');
    const manifest = validateManifest(JSON.parse(readFileSync(path, 'utf8')), path);
    if (manifest.status === 'complete') return { manifest, salvaged: false };
  } catch {
    // missing or damaged: salvage from the thread files below
  }
  let trace;
  try {
    trace = openTrace(dir);
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
  };
  return { manifest, salvaged: true };
}
