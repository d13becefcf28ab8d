// What `recall run` tells the traced process: passed as JSON in RECALL_CONFIG to the first
// process, then to its worker threads through worker_threads environment data.

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
  durationSeconds: number | null;
  /** Show the live status line on stderr (only when it is a terminal). */
  status: boolean;
  /** Transform cache directory, or null to disable the cache. */
  cacheDir: string | null;
  command: string[];
  /** The NODE_OPTIONS text recall added, removed again so that child processes run untraced. */
  nodeOptionsAdded: string;
}

export const DEFAULT_RING_RECORDS = 1 << 16;
export const DEFAULT_THREAD_SLOTS = 64;

export function parseConfig(raw: string): RecordConfig {
  const value = JSON.parse(raw) as RecordConfig;
  if (typeof value.traceDir !== 'string' || typeof value.ringRecords !== 'number') {
    throw new Error('RECALL_CONFIG is not a recall configuration');
  }
  return value;
}
