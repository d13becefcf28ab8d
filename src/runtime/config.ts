// What `recall run` tells the traced process: passed as JSON in RECALL_CONFIG to the first
// process, then to its worker threads through worker_threads environment data, and (when
// following) to its child processes, marked with their parent's and the root's pid.

import type { TimingMode } from '../format/manifest.js';

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
  threadSlots: number;
  timing: TimingMode;
  durationSeconds: number | null;
  /** Show the live status line on stderr (only when it is a terminal). */
  status: boolean;
  /** Transform cache directory, or null to disable the cache. */
  cacheDir: string | null;
  command: string[];
  /** The NODE_OPTIONS text recall adds (--import of the preload), removed from the program's own env. */
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
}

/**
 * 2^20 events x 16 bytes = 16 MiB per thread: ~40 ms of a thread producing 25 M events/s, so a
 * busy thread rides out a drain that loses its core for a while. Memory is touched only by
 * threads that run (64 slots reserve 1 GiB of address space, not of RAM).
 */
export const DEFAULT_RING_RECORDS = 1 << 20;
export const DEFAULT_THREAD_SLOTS = 64;

export function parseConfig(raw: string): RecordConfig {
  const value = JSON.parse(raw) as RecordConfig;
  if (typeof value.traceDir !== 'string' || typeof value.ringRecords !== 'number') {
    throw new Error('RECALL_CONFIG is not a recall configuration');
  }
  return value;
}
