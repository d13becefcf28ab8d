// `recall ctl <trace|pid> status|pause|resume|snapshot|set KEY=VALUE...`: live control of a
// recording that is still running, through the owner-only Unix socket its drain serves in the
// trace directory (format/control-protocol.ts). A pid is found through the trace directory in
// its recall configuration (/proc/<pid>/environ); a trace directory means its root process
// unless --process names another.

import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { RecallError } from '../format/errors.js';
import { CONTROL_OPS, controlSocketName, type ControlOp, type ControlRequest, type ControlResponse, type ControlStatus } from '../format/control-protocol.js';
import { manifestFileOf } from '../format/processes.js';
import { resolveTraceDir } from '../analysis/trace.js';
import { CONFIG_ENV } from '../runtime/config.js';
import { parse } from './args.js';
import { formatBytes, formatCount, formatNs } from '../text/format.js';

export const CTL_HELP = `usage: recall ctl <trace|pid> <operation> [KEY=VALUE...] [--format text|json] [--process PID]

Control a recording while it runs (through an owner-only Unix socket in the trace directory).

operations:
  status          state, events/s, events written, dropped, discarded, bytes, threads, triggers
  pause           stop recording (every thread's probes become no-ops) until resume
  resume          record again
  snapshot        write what the recording holds now as a complete trace of its own, under
                  <trace>/snapshots/ (a bounded or --snapshot recording: its kept window)
  set K=V...      change settings: a bounded recording's max-size=SIZE and keep=DURATION
                  (none: off); the triggers slow=DURATION|off, throw=on|off, mark=on|off;
                  fn=GLOBS (every call of matching functions opens a detail window) and
                  capture=GLOBS (their calls' values go to the flight ring), comma-separated
                  or none. Functions armed live give their values at exit (arguments as they
                  are then, and the return value)

options:
  --format F      text (default) or json
  --process PID   a process of the trace other than its root
`;

const OPTIONS = {
  format: { type: 'string' },
  process: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How long to wait for the recording process to answer. */
const ANSWER_TIMEOUT_MS = 10000;

export async function ctlCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('ctl', args, OPTIONS);
  if (values.help) {
    process.stdout.write(CTL_HELP);
    return 0;
  }
  const [target, op, ...rest] = positionals;
  if (target === undefined || op === undefined) throw new RecallError('E_USAGE', 'ctl: usage: recall ctl <trace|pid> status|pause|resume|snapshot|set KEY=VALUE');
  if (!(CONTROL_OPS as readonly string[]).includes(op)) throw new RecallError('E_USAGE', `ctl: unknown operation '${op}'; operations: ${CONTROL_OPS.join(', ')}`);
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') throw new RecallError('E_USAGE', `ctl: --format must be text or json, not '${format}'`);
  const request: ControlRequest = { op: op as ControlOp };
  if (op === 'set') {
    if (rest.length === 0) throw new RecallError('E_USAGE', 'ctl: set takes KEY=VALUE, e.g. recall ctl <trace> set max-size=64MiB');
    const settings: Record<string, string> = {};
    for (const pair of rest) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new RecallError('E_USAGE', `ctl: set takes KEY=VALUE, not '${pair}'`);
      settings[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    request.settings = settings;
  } else if (rest.length > 0) {
    throw new RecallError('E_USAGE', `ctl: ${op} takes no arguments (got ${rest.join(' ')})`);
  }
  let pid: number | undefined;
  if (values.process !== undefined) {
    pid = Number(values.process);
    if (!Number.isInteger(pid) || pid <= 0) throw new RecallError('E_USAGE', `ctl: --process takes a pid, not '${String(values.process)}'`);
  }
  const { dir, pid: recordingPid } = locate(target, pid);
  const response = await ask(join(dir, controlSocketName(recordingPid)), request, dir, recordingPid);
  if (!response.ok) throw new RecallError('E_CONTROL', `ctl: ${response.message}`);
  const { ok: _ok, message, ...status } = response;
  if (format === 'json') process.stdout.write(JSON.stringify({ ...status, ...(message !== undefined ? { message } : {}) }, null, 1) + '\n');
  else process.stdout.write((message !== undefined ? `${message}\n` : '') + statusText(status));
  return 0;
}

/** The trace directory and recording process a target names. */
function locate(target: string, pid: number | undefined): { dir: string; pid: number } {
  if (/^\d+$/.test(target) && !existsSync(target)) {
    const targetPid = Number(target);
    return { dir: traceDirOfProcess(targetPid), pid: targetPid };
  }
  const dir = resolveTraceDir(target);
  if (pid !== undefined) return { dir, pid };
  const manifestPath = join(dir, manifestFileOf(0, true));
  let rootPid: unknown;
  try {
    rootPid = (JSON.parse(readFileSync(manifestPath, 'utf8')) as { pid?: unknown }).pid;
  } catch {
    throw new RecallError('E_NOT_RECORDING', `ctl: ${dir} has no readable manifest.json; is a recording running there?`);
  }
  if (typeof rootPid !== 'number') throw new RecallError('E_CORRUPT', `ctl: ${manifestPath} names no process`);
  return { dir, pid: rootPid };
}

/** The trace directory a running process records into, from the recall configuration in its environment. */
function traceDirOfProcess(pid: number): string {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    throw new RecallError('E_NOT_RECORDING', `ctl: no process ${pid} of yours is running`);
  }
  const entry = environ.split('\0').find((line) => line.startsWith(`${CONFIG_ENV}=`));
  if (entry === undefined) throw new RecallError('E_NOT_RECORDING', `ctl: process ${pid} is not recording with recall (give its trace directory instead)`);
  try {
    const config = JSON.parse(entry.slice(CONFIG_ENV.length + 1)) as { traceDir?: unknown };
    if (typeof config.traceDir === 'string') return config.traceDir;
  } catch {
    // below
  }
  throw new RecallError('E_NOT_RECORDING', `ctl: process ${pid}'s recall configuration names no trace directory`);
}

/** Send one request over the control socket and read the answer. */
function ask(socketPath: string, request: ControlRequest, dir: string, pid: number): Promise<ControlResponse> {
  if (!existsSync(socketPath)) {
    let status = 'unknown';
    try {
      status = String((JSON.parse(readFileSync(join(dir, manifestFileOf(pid, pid === rootPidOf(dir))), 'utf8')) as { status?: unknown }).status);
    } catch {
      // no manifest: say so below
    }
    throw new RecallError(
      'E_NOT_RECORDING',
      status === 'complete' || status === 'salvaged'
        ? `ctl: the recording of process ${pid} in ${dir} has finished (${status}); nothing to control`
        : `ctl: process ${pid} has no control socket in ${dir} (not running, or not recording yet)`,
    );
  }
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RecallError('E_NOT_RECORDING', `ctl: process ${pid} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`));
    }, ANSWER_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new RecallError(
          'E_NOT_RECORDING',
          error.code === 'ECONNREFUSED' || error.code === 'ENOENT'
            ? `ctl: process ${pid} is not recording any more (its control socket does not answer)`
            : `ctl: cannot reach process ${pid}: ${error.message}`,
        ),
      );
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text.trim()) as ControlResponse);
      } catch {
        reject(new RecallError('E_CONTROL', `ctl: process ${pid} answered something that is not a control response`));
      }
    });
  });
}

function rootPidOf(dir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(dir, manifestFileOf(0, true)), 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : null;
  } catch {
    return null;
  }
}

function statusText(s: ControlStatus): string {
  const bounds = [s.maxBytes !== null ? `max size ${formatBytes(s.maxBytes)}` : null, s.keepMs !== null ? `keep ${formatNs(s.keepMs * 1e6)}` : null].filter((b) => b !== null);
  const lines = [
    `${s.state} · pid ${s.pid} · up ${formatNs(s.uptimeMs * 1e6)}${s.snapshotMode ? ' · snapshot mode' : ''}`,
    `events/s   ${formatCount(s.eventsPerSecond)}`,
    `written    ${formatCount(s.written)} events · ${formatBytes(s.bytes)} on disk${s.snapshotMode ? ' (spooled)' : ''}`,
    `dropped    ${formatCount(s.dropped)}`,
    `discarded  ${formatCount(s.discarded)}`,
    `threads    ${s.threads}`,
    `triggers   ${s.triggers.length > 0 ? s.triggers.join(', ') : 'none'}${s.capture.length > 0 ? ` · capture ${s.capture.join(', ')}` : ''}`,
    `bounds     ${bounds.length > 0 ? bounds.join(', ') : 'none (the trace grows)'}`,
    `snapshots  ${s.snapshots.length > 0 ? `${s.snapshots.length}: ${s.snapshots.join(', ')}` : 'none'}`,
  ];
  return lines.join('\n') + '\n';
}
