// The trace manifest (manifest.json): what was recorded, how, and what was lost. Written by the
// recorder at start ("recording"), refreshed while running, and completed at shutdown
// ("complete"); `recall run` salvages it from the thread files when the target was killed
// ("salvaged"). This file holds the types and the validation of manifests read from disk.

import { RecallError } from './errors.js';
import { FORMAT_VERSION } from './layout.js';

export type ManifestStatus = 'recording' | 'complete' | 'salvaged';

export interface ClockInfo {
  /** Where timestamps come from. */
  source: 'performance.now';
  /** Timing mode: 'exact' = every event timestamped. */
  mode: 'exact';
  /** Smallest non-zero difference between two clock reads seen at start-up, in ns. */
  resolutionNs: number;
  /** Mean cost of one clock read measured at start-up, in ns. */
  readCostNs: number;
  /** Human statement of the precision this trace actually has. */
  precision: string;
}

export interface ThreadCounters {
  /** Events the thread's probes generated (written + dropped). */
  produced: number;
  /** Events the drain wrote to the thread file. */
  written: number;
  /** Events lost because the ring was full. */
  dropped: number;
  /** Bytes of the thread file. */
  bytes: number;
  chunks: number;
}

export interface ManifestThread extends ThreadCounters {
  id: number; // worker_threads.threadId (0 = main)
  name: string;
  slot: number;
  file: string; // relative to the trace directory
  timeOriginMs: number;
  /** True when the thread ended (or the recording stopped) and its file was closed cleanly. */
  closed: boolean;
}

export interface FunctionEntry {
  id: number;
  name: string;
  file: string;
  line: number; // 1-based
  column: number; // 1-based
  kind: string;
}

export interface ShutdownInfo {
  reason: 'exit' | 'signal' | 'uncaught-exception' | 'duration' | 'killed' | 'unknown';
  exitCode?: number | null;
  signal?: string | null;
}

export interface Manifest {
  format: 'recall-trace';
  formatVersion: number;
  recallVersion: string;
  status: ManifestStatus;
  command: string[];
  cwd: string;
  pid: number;
  nodeVersion: string;
  startedAt: string; // ISO time
  startEpochMs: number;
  endEpochMs: number | null;
  clock: ClockInfo;
  options: {
    ringRecords: number;
    threadSlots: number;
    include: string[];
    exclude: string[];
    nodeModules: boolean;
    durationSeconds: number | null;
  };
  threads: ManifestThread[];
  /** Threads that ran instrumented code but found no free registry slot (raise --threads). */
  threadsUntraced: number;
  functionsFile: string;
  functions: FunctionEntry[];
  totals: ThreadCounters;
  shutdown: ShutdownInfo | null;
  /** Problems found while salvaging (status "salvaged"). */
  notes: string[];
}

/** Validate a parsed manifest.json. Throws RecallError for what cannot be used at all. */
export function validateManifest(value: unknown, where: string): Manifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecallError('E_CORRUPT', `${where} is not a recall manifest (expected a JSON object)`);
  }
  const m = value as Partial<Manifest>;
  if (m.format !== 'recall-trace') {
    throw new RecallError('E_CORRUPT', `${where} is not a recall manifest (no "format": "recall-trace")`);
  }
  if (typeof m.formatVersion !== 'number' || !Number.isInteger(m.formatVersion) || m.formatVersion < 1) {
    throw new RecallError('E_CORRUPT', `${where} has no valid formatVersion`);
  }
  if (m.formatVersion > FORMAT_VERSION) {
    throw new RecallError(
      'E_FORMAT_VERSION',
      `${where} was written in trace format ${m.formatVersion} by recall ${String(m.recallVersion)}; this recall reads format ${FORMAT_VERSION}: upgrade recall to read it`,
    );
  }
  if (!Array.isArray(m.threads) || typeof m.pid !== 'number' || typeof m.startEpochMs !== 'number') {
    throw new RecallError('E_CORRUPT', `${where} is missing required fields (threads, pid, startEpochMs)`);
  }
  for (const t of m.threads) {
    if (typeof t !== 'object' || t === null || typeof t.file !== 'string' || typeof t.id !== 'number') {
      throw new RecallError('E_CORRUPT', `${where} has a malformed thread entry`);
    }
    if (t.file.includes('..') || t.file.startsWith('/')) {
      throw new RecallError('E_CORRUPT', `${where} names a thread file outside the trace directory: ${t.file}`);
    }
  }
  if (!Array.isArray(m.functions)) m.functions = [];
  if (!Array.isArray(m.notes)) m.notes = [];
  return m as Manifest;
}
