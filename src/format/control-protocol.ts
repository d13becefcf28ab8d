// The live-control protocol between `recall ctl` and a recording process (docs/FORMAT.md section
// 11): one owner-only Unix socket per process in the trace directory, p<pid>.ctl.sock; a client
// connects, sends one request as a line of JSON and reads one line of JSON back. No Node-only
// imports: both the CLI and the runtime use these names and shapes.

/** The control socket of process `pid` in its trace directory. */
export function controlSocketName(pid: number): string {
  return `p${pid}.ctl.sock`;
}

export type ControlOp = 'status' | 'pause' | 'resume' | 'snapshot' | 'set';

export const CONTROL_OPS: readonly ControlOp[] = ['status', 'pause', 'resume', 'snapshot', 'set'];

export interface ControlRequest {
  op: ControlOp;
  /** `set`: KEY=VALUE pairs. */
  settings?: Record<string, string>;
}

/** What `status` answers (and every other op, after doing its part). */
export interface ControlStatus {
  pid: number;
  state: 'recording' | 'paused' | 'stopped';
  /** Events per second taken from the rings over the last second or so. */
  eventsPerSecond: number;
  /** Events taken from the rings so far (kept or discarded since). */
  written: number;
  /** Events lost to full rings. */
  dropped: number;
  /** Records a bounded trace deleted to stay within its bounds. */
  discarded: number;
  /** Bytes of the process's thread files (or spooled segments) now. */
  bytes: number;
  threads: number;
  /** The detail lane's triggers (e.g. "throw", "slow=100ms"). */
  triggers: string[];
  capture: string[];
  maxBytes: number | null;
  keepMs: number | null;
  snapshotMode: boolean;
  /** Snapshots written so far: their directories, relative to the trace directory. */
  snapshots: string[];
  uptimeMs: number;
}

export type ControlResponse = ({ ok: true; message?: string } & ControlStatus) | { ok: false; code: string; message: string };

/** Longest request line a server reads. */
export const CONTROL_REQUEST_MAX_BYTES = 16 * 1024;
