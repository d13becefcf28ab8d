// What `recall run` tells the traced process: passed as JSON in RECALL_CONFIG to the first
// process, then to its worker threads through worker_threads environment data, and (when
// following) to its child processes, marked with their parent's and the root's pid.

import type { ManifestDetailSettings, TimingMode } from '../format/manifest.js';
import type { ArgPredicateSpec } from './predicate-spec.js';

/** How much of a value a snapshot describes (snapshot.ts); here so the CLI need not load the snapshotter. */
export interface SnapshotLimits {
  /** Container nesting described before `"truncated":"depth"` (the described value itself is level 0). */
  depth: number;
  /** Own properties described per object. */
  keys: number;
  /** Elements / entries described per array, map, set and typed array. */
  items: number;
  /** Characters kept of a string (error stacks: 4×). */
  string: number;
  /** Approximate bound on the JSON size of one value() / args() result. */
  bytes: number;
}

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = Object.freeze({ depth: 4, keys: 32, items: 32, string: 256, bytes: 4096 });

/** The detail lane: which moments persist values, how much around them, how values are bounded. */
export interface DetailConfig {
  /** Any exception thrown through (or caught in) an instrumented function opens a window. */
  onThrow: boolean;
  /** Calls slower than this (ms) open a window; null = off. */
  slowMs: number | null;
  /** Function-name globs: every call opens a window (their arguments are captured on entry). */
  fn: string[];
  /** Value predicates: a call whose argument passes opens a window (--trigger arg=GLOB:N~TEXT). */
  args: ArgPredicateSpec[];
  /** recall.mark() opens a window (marks are recorded either way). */
  onMark: boolean;
  /** Function-name globs whose arguments are captured on entry into the flight ring (pre-roll material). */
  capture: string[];
  preRollMs: number;
  postRollMs: number;
  /** A window also ends after this many calls' values were captured in its post-roll. */
  postRollCalls: number;
  limits: SnapshotLimits;
  redact: { enabled: boolean; keys: string[] };
  /** Bytes of each thread's detail ring in shared memory (a power of two). */
  ringBytes: number;
  /** New windows per second per thread, at most (a burst of triggers beyond it is counted, not captured). */
  maxWindowsPerSecond: number;
}

export const CONFIG_ENV = 'RECALL_CONFIG';

export interface RecordConfig {
  /** Absolute trace directory; created by `recall run`. */
  traceDir: string;
  /** Directory globs are relative to. */
  cwd: string;
  include: string[];
  exclude: string[];
  nodeModules: boolean;
  ringRecords: number;
  /** Records of each thread's private spill ring, used while the drain falls behind (0: none); absent = default. */
  spillRecords?: number;
  threadSlots: number;
  timing: TimingMode;
  durationSeconds: number | null;
  /** Show the live status line on stderr (only when it is a terminal). */
  status: boolean;
  /** Transform cache directory, or null to disable the cache. */
  cacheDir: string | null;
  command: string[];
  /** The NODE_OPTIONS text recall adds (--require of the preload), removed from the program's own env. */
  nodeOptionsAdded: string;
  /** Trace child processes too (`recall run --no-follow` turns it off). */
  follow: boolean;
  /** Set for a followed child process: the traced process that started it. Absent for the root. */
  parentPid?: number | null;
  /** Set for a followed child process: the root process of the trace. */
  rootPid?: number;
  /** Set by the root when --duration is given: when recording stops, for its children too. */
  deadlineEpochMs?: number | null;
  /** The program runs with --enable-source-maps of its own: Node's source-mapped stacks stay as they are. */
  userSourceMaps: boolean;
  /** The detail lane's settings; null = off (--no-detail). */
  detail: DetailConfig | null;
  /** A bounded trace: per process, the most bytes of thread files kept (null/absent: unbounded). */
  maxBytes?: number | null;
  /** A bounded trace: per thread, how many ms of the most recent records are kept at least (null/absent: all). */
  keepMs?: number | null;
  /**
   * Snapshot mode (--snapshot): thread files are kept in a spool outside the trace directory,
   * within maxBytes / keepMs, and written out as a complete trace when a trigger fires.
   */
  snapshot?: boolean;
  /** Record runtime events (scheduling, messages, workers, spans, GC); absent = true. */
  runtimeEvents?: boolean;
}

/**
 * 2^20 events x 16 bytes = 16 MiB per thread: ~40 ms of a thread producing 25 M events/s, so a
 * busy thread rides out a drain that loses its core for a while. Memory is touched only by
 * threads that run (64 slots reserve 1 GiB of address space, not of RAM).
 */
export const DEFAULT_RING_RECORDS = 1 << 20;
export const DEFAULT_THREAD_SLOTS = 64;
/**
 * 2^24 events x 16 bytes = 256 MiB of address space, private to a thread and allocated only when
 * its shared ring fills: on a 2-core machine the drain can go without CPU for hundreds of ms
 * while the program and V8's compiler and GC threads hold both cores, longer than the shared
 * ring lasts at 25-50 M events/s (tsc in the bench: 166-692 K events dropped past a 2^22 spill,
 * in 3 of 15 runs). The OS commits its pages as they are first written, and every spill starts
 * at the ring's start, so its memory is the deepest backlog's (the manifest's backlogPeak).
 */
export const DEFAULT_SPILL_RECORDS = 1 << 24;

export const DEFAULT_DETAIL_RING_BYTES = 1 << 20;
export const DEFAULT_SLOW_MS = 100;
export const DEFAULT_PRE_ROLL_MS = 100;
export const DEFAULT_POST_ROLL_MS = 20;
export const DEFAULT_POST_ROLL_CALLS = 100;
export const DEFAULT_MAX_WINDOWS_PER_SECOND = 20;

export function parseConfig(raw: string): RecordConfig {
  const value = JSON.parse(raw) as RecordConfig;
  if (typeof value.traceDir !== 'string' || typeof value.ringRecords !== 'number') {
    throw new Error('RECALL_CONFIG is not a recall configuration');
  }
  return value;
}

/** How the manifest states the detail settings. */
/** The globs whose functions the instrumenter compiles with an entry capture (R.de): --capture, --trigger fn= and arg=. */
export function entryCaptureGlobs(config: DetailConfig): string[] {
  return [...config.capture, ...config.fn, ...(config.args ?? []).map((p) => p.fn)];
}

export function detailSettings(config: DetailConfig | null): ManifestDetailSettings | null {
  if (config === null) return null;
  const triggers: string[] = [];
  if (config.onThrow) triggers.push('throw');
  if (config.slowMs !== null) triggers.push(`slow=${config.slowMs}ms`);
  for (const glob of config.fn) triggers.push(`fn=${glob}`);
  for (const p of config.args ?? []) triggers.push(`arg=${p.fn}:${p.index}${p.op}${String(p.value)}`);
  if (config.onMark) triggers.push('mark');
  return {
    triggers,
    capture: config.capture,
    preRollMs: config.preRollMs,
    postRollMs: config.postRollMs,
    postRollCalls: config.postRollCalls,
    limits: { ...config.limits },
    redact: config.redact,
    maxWindowsPerSecond: config.maxWindowsPerSecond,
  };
}
