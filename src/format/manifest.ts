// The trace manifest (manifest.json; p<pid>.manifest.json for a followed child process): what
// was recorded, how, and what was lost. Written by the recorder at start ("recording") and
// completed at shutdown
// ("complete"); `recall run` salvages it from the thread files when the target was killed
// ("salvaged"). This file holds the types and the validation of manifests read from disk.

import { RecallError } from './errors.js';
import { FORMAT_VERSION } from './layout.js';
import { processEntryOf, type ProcessEntry } from './processes.js';

export type ManifestStatus = 'recording' | 'complete' | 'salvaged';

export type TimingMode = 'adaptive' | 'exact' | 'none';

export interface ClockInfo {
  /** Where timestamps come from. */
  source: 'performance.now';
  /**
   * Timing mode: 'exact' = every event timestamped; 'adaptive' = functions whose calls prove
   * tiny stop being timestamped (their records carry UNTIMED_FLAG); 'none' = no timestamps.
   */
  mode: TimingMode;
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
  /**
   * Records a bounded trace (--max-size / --keep) wrote and later deleted to stay within its
   * bounds: the thread's oldest. produced = written + dropped + discarded. 0 when not bounded.
   */
  discarded: number;
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
  /** The thread's detail-lane file, when any window persisted values on it. */
  detail?: ManifestDetailFile | null;
  /**
   * The most events the thread had waiting for the trace writer at once (its ring and its spill
   * ring), as its probes' slow path saw it (at least once every eighth of the ring): how close it
   * came to dropping, against ringRecords + spillRecords. Absent in traces written before recall
   * recorded it.
   */
  backlogPeak?: number;
}

export interface ManifestDetailFile {
  file: string; // relative to the trace directory
  records: number;
  bytes: number;
  chunks: number;
  /** Committed detail records lost to a full detail ring. */
  dropped: number;
}

/** A detail window: a trigger fired on a thread and values around it were persisted. */
export interface ManifestWindow {
  thread: number;
  id: number; // per thread
  trigger: string; // throw | slow | fn | mark | uncaught
  /** Function id of the triggering call (0: none). */
  fn: number;
  /** Nanoseconds since the trace's start: when the trigger fired, and the window's span. */
  atNs: number;
  fromNs: number;
  toNs: number;
  records: number;
}

/** The detail lane's settings as recorded (null: --no-detail). */
export interface ManifestDetailSettings {
  triggers: string[];
  capture: string[];
  preRollMs: number;
  postRollMs: number;
  postRollCalls: number;
  limits: Record<string, number>;
  redact: { enabled: boolean; keys: string[] };
  maxWindowsPerSecond: number;
}

export interface FunctionEntry {
  id: number;
  name: string;
  file: string;
  line: number; // 1-based
  column: number; // 1-based
  kind: string;
  /** Parameter names in order (destructured parameters contribute each name); detail args align with them. */
  params?: string[];
}

export interface ShutdownInfo {
  /** snapshot: a snapshot of a recording still running (recall ctl snapshot, --snapshot), not its end. */
  reason: 'exit' | 'signal' | 'uncaught-exception' | 'duration' | 'killed' | 'snapshot' | 'unknown';
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
    timing?: TimingMode;
    ringRecords: number;
    /** Events a thread may keep in its private spill ring once its ring is full (0: it drops at once); absent in older traces. */
    spillRecords?: number;
    threadSlots: number;
    include: string[];
    exclude: string[];
    nodeModules: boolean;
    durationSeconds: number | null;
    /** Bounded trace (recall run --max-size / --keep): the bounds, per process; null when not bounded that way. */
    maxBytes?: number | null;
    keepMs?: number | null;
    /** Snapshot mode (recall run --snapshot): thread files reach the trace directory only in snapshots. */
    snapshot?: boolean;
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
  /** Detail-lane settings (absent in traces written without a detail lane). */
  detail?: ManifestDetailSettings | null;
  /** Every window persisted, ordered by atNs. */
  windows?: ManifestWindow[];
  /** The traced process that started this one; null for the root process (the one `recall run` started). */
  parentPid?: number | null;
  /** The root process of the trace (this one's pid for the root). */
  rootPid?: number;
  /** Root manifest only: the processes of the trace when it was finished (processes.jsonl is the full list). */
  processes?: ProcessEntry[];
  /** Snapshots written while recording (recall ctl snapshot, --snapshot): directories relative to the trace directory. */
  snapshots?: string[];
  /**
   * Format 2: how the trace writer (the drain) stored the index lane — `codec` (zstd, deflate or
   * none; each chunk's header says its own) — and the CPU time it spent, in ms (null where Node
   * cannot measure a thread's CPU time).
   */
  writer?: { codec: string; cpuMs: number | null };
}

/**
 * True for a plain file name inside the trace directory: not empty, no directory separators,
 * not "." or "..", no NUL. Thread and function files are always written at the top level.
 */
export function isTraceFileName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function counters(value: unknown): ThreadCounters {
  const c = isRecord(value) ? value : {};
  const written = num(c.written, 0);
  const dropped = num(c.dropped, 0);
  const discarded = num(c.discarded, 0);
  return { produced: num(c.produced, written + dropped + discarded), written, dropped, discarded, bytes: num(c.bytes, 0), chunks: num(c.chunks, 0) };
}

/**
 * Validate a parsed manifest.json. Throws RecallError for what cannot be used at all: not an
 * object, not a recall manifest, a newer format version (E_FORMAT_VERSION), missing core fields,
 * or a thread file outside the trace directory. Optional fields that are missing or of the wrong
 * type are filled with neutral defaults, so readers can use every field without checking it.
 */
export function validateManifest(value: unknown, where: string): Manifest {
  if (!isRecord(value)) {
    throw new RecallError('E_CORRUPT', `${where} is not a recall manifest (expected a JSON object)`);
  }
  const m = value;
  if (m.format !== 'recall-trace') {
    throw new RecallError('E_CORRUPT', `${where} is not a recall manifest (no "format": "recall-trace")`);
  }
  if (typeof m.formatVersion !== 'number' || !Number.isInteger(m.formatVersion) || m.formatVersion < 1) {
    throw new RecallError('E_CORRUPT', `${where} has no valid formatVersion`);
  }
  if (m.formatVersion > FORMAT_VERSION) {
    throw new RecallError(
      'E_FORMAT_VERSION',
      `${where} was written in trace format ${m.formatVersion} by recall ${str(m.recallVersion, 'unknown')}; this recall reads format ${FORMAT_VERSION}: upgrade recall to read it`,
    );
  }
  if (!Array.isArray(m.threads) || typeof m.pid !== 'number' || typeof m.startEpochMs !== 'number') {
    throw new RecallError('E_CORRUPT', `${where} is missing required fields (threads, pid, startEpochMs)`);
  }
  const threads: ManifestThread[] = [];
  for (const t of m.threads as unknown[]) {
    if (!isRecord(t) || typeof t.file !== 'string' || typeof t.id !== 'number') {
      throw new RecallError('E_CORRUPT', `${where} has a malformed thread entry`);
    }
    if (!isTraceFileName(t.file)) {
      throw new RecallError('E_CORRUPT', `${where} names a thread file outside the trace directory: ${JSON.stringify(t.file)}`);
    }
    threads.push({
      ...counters(t),
      id: t.id,
      name: str(t.name, `thread ${t.id}`),
      slot: num(t.slot, -1),
      file: t.file,
      timeOriginMs: num(t.timeOriginMs, 0),
      closed: t.closed === true,
      ...(typeof t.backlogPeak === 'number' ? { backlogPeak: num(t.backlogPeak, 0) } : {}),
      ...(t.detail !== undefined ? { detail: detailFile(t.detail, where) } : {}),
    });
  }
  const functionsFile = m.functionsFile === undefined ? 'functions.jsonl' : m.functionsFile;
  if (!isTraceFileName(functionsFile)) {
    throw new RecallError('E_CORRUPT', `${where} names a function table outside the trace directory: ${JSON.stringify(functionsFile)}`);
  }
  const clock = isRecord(m.clock) ? m.clock : {};
  const options = isRecord(m.options) ? m.options : {};
  const shutdown = isRecord(m.shutdown) ? (m.shutdown as unknown as ShutdownInfo) : null;
  const status: ManifestStatus = m.status === 'complete' || m.status === 'salvaged' ? m.status : 'recording';
  const functions = Array.isArray(m.functions)
    ? (m.functions as unknown[]).filter((f): f is FunctionEntry => isRecord(f) && typeof f.id === 'number').map((f) => ({
        id: f.id,
        name: str(f.name, `#${f.id}`),
        file: str(f.file, ''),
        line: num(f.line, 0),
        column: num(f.column, 0),
        kind: str(f.kind, 'function'),
        ...(Array.isArray(f.params) ? { params: strings(f.params) } : {}),
      }))
    : [];
  const windows = Array.isArray(m.windows)
    ? (m.windows as unknown[]).filter(isRecord).map((w) => ({
        thread: num(w.thread, 0),
        id: num(w.id, 0),
        trigger: str(w.trigger, 'unknown'),
        fn: num(w.fn, 0),
        atNs: num(w.atNs, 0),
        fromNs: num(w.fromNs, 0),
        toNs: num(w.toNs, 0),
        records: num(w.records, 0),
      }))
    : [];
  return {
    format: 'recall-trace',
    formatVersion: m.formatVersion,
    recallVersion: str(m.recallVersion, 'unknown'),
    status,
    command: strings(m.command),
    cwd: str(m.cwd, ''),
    pid: m.pid,
    nodeVersion: str(m.nodeVersion, 'unknown'),
    startedAt: str(m.startedAt, ''),
    startEpochMs: m.startEpochMs,
    endEpochMs: typeof m.endEpochMs === 'number' && Number.isFinite(m.endEpochMs) ? m.endEpochMs : null,
    clock: {
      source: 'performance.now',
      mode: clock.mode === 'adaptive' || clock.mode === 'none' ? clock.mode : 'exact',
      resolutionNs: num(clock.resolutionNs, 0),
      readCostNs: num(clock.readCostNs, 0),
      precision: str(clock.precision, 'unknown'),
    },
    options: {
      ringRecords: num(options.ringRecords, 0),
      ...(typeof options.spillRecords === 'number' ? { spillRecords: num(options.spillRecords, 0) } : {}),
      threadSlots: num(options.threadSlots, 0),
      include: strings(options.include),
      exclude: strings(options.exclude),
      nodeModules: options.nodeModules === true,
      durationSeconds: typeof options.durationSeconds === 'number' ? options.durationSeconds : null,
      maxBytes: typeof options.maxBytes === 'number' ? options.maxBytes : null,
      keepMs: typeof options.keepMs === 'number' ? options.keepMs : null,
      snapshot: options.snapshot === true,
    },
    threads,
    threadsUntraced: num(m.threadsUntraced, 0),
    functionsFile,
    functions,
    totals: counters(m.totals),
    shutdown,
    notes: strings(m.notes),
    detail: isRecord(m.detail) ? (m.detail as unknown as ManifestDetailSettings) : null,
    windows,
    parentPid: typeof m.parentPid === 'number' && Number.isInteger(m.parentPid) && m.parentPid > 0 ? m.parentPid : null,
    rootPid: typeof m.rootPid === 'number' && Number.isInteger(m.rootPid) && m.rootPid > 0 ? m.rootPid : m.pid,
    processes: Array.isArray(m.processes) ? (m.processes as unknown[]).map(processEntryOf).filter((p): p is ProcessEntry => p !== null) : [],
    snapshots: strings(m.snapshots).filter((s) => !s.split('/').includes('..')),
    ...(isRecord(m.writer) ? { writer: { codec: str(m.writer.codec, 'none'), cpuMs: typeof m.writer.cpuMs === 'number' ? m.writer.cpuMs : null } } : {}),
  };
}

function detailFile(value: unknown, where: string): ManifestDetailFile | null {
  if (!isRecord(value) || typeof value.file !== 'string') return null;
  if (!isTraceFileName(value.file)) {
    throw new RecallError('E_CORRUPT', `${where} names a detail file outside the trace directory: ${JSON.stringify(value.file)}`);
  }
  return { file: value.file, records: num(value.records, 0), bytes: num(value.bytes, 0), chunks: num(value.chunks, 0), dropped: num(value.dropped, 0) };
}

/** Totals over threads' counters. */
export function sumCounters(threads: readonly ThreadCounters[]): ThreadCounters {
  const totals: ThreadCounters = { produced: 0, written: 0, dropped: 0, discarded: 0, bytes: 0, chunks: 0 };
  for (const t of threads) {
    totals.produced += t.produced;
    totals.written += t.written;
    totals.dropped += t.dropped;
    totals.discarded += t.discarded;
    totals.bytes += t.bytes;
    totals.chunks += t.chunks;
  }
  return totals;
}
