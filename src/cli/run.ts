// `recall run [options] -- <command...>`: record a program. Starts the command with recall's
// preload in NODE_OPTIONS (so the Node process it starts, and its worker threads, are
// instrumented), passes stdio, signals and the exit code through untouched, and afterwards makes
// sure the trace has a complete manifest (salvaging one from the thread files if the program
// was killed before it could write its own). Child Node processes are followed into the same
// trace by default; recall waits for the root process only, and salvages children that died
// without finishing their manifests.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, lstatSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecallError } from '../format/errors.js';
import { CONFIG_ENV, DEFAULT_RING_RECORDS, DEFAULT_SPILL_RECORDS, DEFAULT_THREAD_SLOTS, type RecordConfig } from '../runtime/config.js';
import { signalNumber } from '../runtime/signals.js';
import { isNodeBinary, withScaledStack } from '../runtime/stack-limit.js';
import type { Manifest } from '../format/manifest.js';
import { loadPicomatch } from '../instrument/filter.js';
import { parse, positiveInteger, stringList } from './args.js';
import { DETAIL_HELP, DETAIL_OPTIONS, detailConfig } from './detail-options.js';
import { durationMs, formatBytes, formatCount, sizeBytes } from '../text/format.js';

/** Smallest --max-size: a few 1 MiB chunks per thread. */
const MIN_MAX_SIZE = 4 << 20;
/** --snapshot without --keep or --max-size keeps this much of every thread. */
const DEFAULT_SNAPSHOT_KEEP_MS = 10_000;

export const RUN_HELP = `usage: recall run [options] -- <command...>

Record a Node.js program: every call of every instrumented function, per thread.

options:
  --out DIR           write the trace to DIR (default ./recall-trace/<name>-<time>)
  --include GLOB      instrument only files matching GLOB (repeatable; relative to cwd)
  --exclude GLOB      do not instrument files matching GLOB (repeatable)
  --node-modules      also instrument files under node_modules
  --duration SECONDS  stop recording after SECONDS; the program runs on untraced
  --max-size SIZE     keep at most SIZE of thread files, every process's together (e.g.
                      512MiB): the oldest records of the thread holding the most are discarded
                      while recording
  --keep DURATION     keep at least the last DURATION of every thread (e.g. 10m); older
                      records are discarded while recording (with --max-size: both bounds)
  --snapshot          flight-recorder mode: only the manifest reaches the trace directory
                      until a trigger fires (an exception, a mark, a slow call: see --trigger),
                      SIGUSR2 arrives or recall ctl snapshot asks; then the last --keep
                      (default 10s) of every thread is written out as a complete trace under
                      <trace>/snapshots/
  --timing MODE       adaptive (default): tiny hot functions stop paying for timestamps
                      after a warm-up (counts and call structure stay exact); exact: every
                      event timestamped; none: counts and call structure only
  --threads N         thread registry slots (default ${DEFAULT_THREAD_SLOTS})
  --ring-size N       events per thread ring, a power of two (default ${DEFAULT_RING_RECORDS})
  --spill-size N      events a thread keeps in a private ring while the drain falls behind,
                      before any is dropped: a power of two, or 0 to drop at once (default
                      ${DEFAULT_SPILL_RECORDS}: 256 MiB of address space, of memory only what is used)
  --no-follow         do not trace child processes (by default every Node.js process the
                      program starts records into the same trace)
  --no-cache          do not use the transform cache (nor recall's V8 compile cache)
  --no-runtime-events record calls only: no scheduling links, worker messages, spans, GC
  --quiet             no status line and no closing line on stderr

${DETAIL_HELP}`;

const RUN_OPTIONS = {
  out: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  'node-modules': { type: 'boolean' },
  duration: { type: 'string' },
  'max-size': { type: 'string' },
  keep: { type: 'string' },
  snapshot: { type: 'boolean' },
  threads: { type: 'string' },
  'ring-size': { type: 'string' },
  'spill-size': { type: 'string' },
  timing: { type: 'string' },
  'no-cache': { type: 'boolean' },
  'no-follow': { type: 'boolean' },
  'no-runtime-events': { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...DETAIL_OPTIONS,
} as const;

function defaultTraceName(command: string[]): string {
  const script = command.slice(1).find((arg) => !arg.startsWith('-')) ?? command[0] ?? 'trace';
  const name = basename(script).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'trace';
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return `${name}-${stamp}`;
}

/** Make the trace directory ready: create it, or clear a previous trace out of it. */
function prepareTraceDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new RecallError('E_USAGE', `run: --out ${dir} exists and is not a directory`);
    const entries = readdirSync(dir);
    const ours = (name: string): boolean =>
      name === 'manifest.json' ||
      name === 'functions.jsonl' ||
      name === 'processes.jsonl' ||
      /^p\d+\.(manifest\.json|functions\.jsonl)$/.test(name) ||
      /\.(idx|det|seg|dseg)$/.test(name) || // thread files, and a bounded recording's segments
      /^p\d+\.ctl\.sock$/.test(name) || // a control socket left by a killed recording
      name === 'snapshots' || // snapshots of the previous trace (--snapshot, recall ctl snapshot)
      /\.recall-idx(\.\d+\.tmp)?$/.test(name) || // the query index (src/query/store.ts) of the previous trace
      name === 'sql' || /^sql-p\d+$/.test(name) || // recall sql's tables of the previous trace
      name.startsWith('.manifest.');
    if (entries.length > 0 && !entries.includes('manifest.json')) {
      throw new RecallError('E_USAGE', `run: --out ${dir} is a non-empty directory that holds no recall trace; choose an empty or new directory`);
    }
    for (const name of entries) if (ours(name)) rmSync(join(dir, name), { force: true, recursive: true });
  }
  mkdirSync(dir, { recursive: true });
}

/** A glob that matches no file under cwd is almost always a typo: say so before running. */
function checkGlobsMatch(cwd: string, include: string[]): void {
  for (const glob of include) {
    const match = loadPicomatch()(glob, { dot: true });
    const absolute = glob.startsWith('/');
    let found = false;
    let visited = 0;
    const walk = (dir: string): void => {
      if (found || visited > 20000) return;
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (found) return;
        visited++;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name === '.git' || (entry.name === 'node_modules' && !glob.includes('node_modules'))) continue;
          walk(full);
        } else if (match(absolute ? full : relative(cwd, full))) {
          found = true;
        }
      }
    };
    walk(cwd);
    if (!found && visited <= 20000) {
      throw new RecallError('E_NO_MATCH', `run: --include '${glob}' matches no file under ${cwd}; check the pattern (it is relative to the current directory)`);
    }
  }
}

/** A path as one word of NODE_OPTIONS (which splits at spaces outside double quotes). */
export function nodeOptionsWord(path: string): string {
  return /[\s"\\]/.test(path) ? `"${path.replace(/["\\]/g, '\\$&')}"` : path;
}

function defaultCacheDir(cwd: string): string {
  const configured = process.env.RECALL_CACHE_DIR;
  if (configured) return resolve(cwd, configured);
  if (existsSync(join(cwd, 'node_modules'))) return join(cwd, 'node_modules', '.cache', 'recall');
  let user = 'user';
  try {
    user = String(userInfo().uid);
  } catch {
    // no passwd entry
  }
  return join(tmpdir(), `recall-cache-${user}`);
}

function updateLatestLink(root: string, dir: string): void {
  const link = join(root, 'latest');
  try {
    if (lstatSync(link, { throwIfNoEntry: false })) unlinkSync(link);
    symlinkSync(basename(dir), link);
  } catch {
    // a filesystem without symlinks only loses the convenience
  }
}

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('run', args, RUN_OPTIONS);
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const command = positionals;
  if (command.length === 0) throw new RecallError('E_USAGE', 'run: no command given; usage: recall run [options] -- node app.js');
  const cwd = process.cwd();
  const include = stringList(values.include);
  const exclude = stringList(values.exclude);
  checkGlobsMatch(cwd, include);
  const ringRecords = positiveInteger('run', '--ring-size', values['ring-size'] as string | undefined, DEFAULT_RING_RECORDS);
  if ((ringRecords & (ringRecords - 1)) !== 0 || ringRecords < 16 || ringRecords > 1 << 24) {
    throw new RecallError('E_USAGE', `run: --ring-size must be a power of two between 16 and ${1 << 24}, not ${ringRecords}`);
  }
  const spillText = values['spill-size'] as string | undefined;
  const spillRecords = spillText === '0' ? 0 : positiveInteger('run', '--spill-size', spillText, DEFAULT_SPILL_RECORDS);
  if ((spillRecords & (spillRecords - 1)) !== 0 || spillRecords > 1 << 26) {
    throw new RecallError('E_USAGE', `run: --spill-size must be 0 or a power of two up to ${1 << 26}, not ${spillRecords}`);
  }
  const threadSlots = positiveInteger('run', '--threads', values.threads as string | undefined, DEFAULT_THREAD_SLOTS);
  if (threadSlots > 4096) throw new RecallError('E_USAGE', 'run: --threads is at most 4096');
  let durationSeconds: number | null = null;
  if (values.duration !== undefined) {
    durationSeconds = Number(values.duration);
    if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) {
      throw new RecallError('E_USAGE', `run: --duration takes a positive number of seconds, not '${String(values.duration)}'`);
    }
  }
  let maxBytes: number | null = null;
  if (values['max-size'] !== undefined) {
    maxBytes = sizeBytes(values['max-size'] as string);
    if (maxBytes === null || maxBytes < MIN_MAX_SIZE) {
      throw new RecallError('E_USAGE', `run: --max-size takes a size of at least 4MiB, like 64MiB or 1GiB, not '${String(values['max-size'])}'`);
    }
  }
  let keepMs: number | null = null;
  if (values.keep !== undefined) {
    keepMs = durationMs(values.keep as string);
    if (keepMs === null || keepMs < 1000) {
      throw new RecallError('E_USAGE', `run: --keep takes a duration of at least 1s, like 30s, 10m or 2h, not '${String(values.keep)}'`);
    }
  }
  const snapshot = values.snapshot === true;
  if (snapshot && keepMs === null && maxBytes === null) keepMs = DEFAULT_SNAPSHOT_KEEP_MS;
  const timing = (values.timing as string | undefined) ?? 'adaptive';
  if (timing !== 'adaptive' && timing !== 'exact' && timing !== 'none') {
    throw new RecallError('E_USAGE', `run: --timing must be adaptive, exact or none, not '${timing}'`);
  }
  const quiet = values.quiet === true;
  const outRoot = resolve(cwd, 'recall-trace');
  const traceDir = values.out ? resolve(cwd, values.out as string) : join(outRoot, defaultTraceName(command));
  const detail = detailConfig(values);
  prepareTraceDir(traceDir);

  // recall's preload comes first, before the program's own NODE_OPTIONS and command-line
  // preloads, so they are instrumented too: --require (Node runs every --require before any
  // --import). No --import of recall's: with one, Node runs a CommonJS main module through its
  // ES module loader, which the program's async_hooks can see (preload-require.cts).
  const preloadRequire = fileURLToPath(new URL('../runtime/preload-require.cjs', import.meta.url));
  const added = `--require=${nodeOptionsWord(preloadRequire)} --enable-source-maps`;
  const config: RecordConfig = {
    traceDir,
    cwd,
    include,
    exclude,
    nodeModules: values['node-modules'] === true,
    ringRecords,
    spillRecords,
    threadSlots,
    timing,
    durationSeconds,
    maxBytes,
    keepMs,
    snapshot,
    status: !quiet,
    cacheDir: values['no-cache'] ? null : defaultCacheDir(cwd),
    command,
    nodeOptionsAdded: added,
    follow: values['no-follow'] !== true,
    userSourceMaps: /--enable-source-maps/.test(process.env.NODE_OPTIONS ?? '') || command.includes('--enable-source-maps'),
    detail,
    runtimeEvents: values['no-runtime-events'] !== true,
  };
  const env = { ...process.env };
  env.NODE_OPTIONS = env.NODE_OPTIONS?.trim() ? `${added} ${env.NODE_OPTIONS}` : added;
  env[CONFIG_ENV] = JSON.stringify(config);

  const [file, ...given] = command as [string, ...string[]];
  // Instrumented frames take more stack: a Node command gets V8's limit scaled (stack-limit.ts).
  const rest = isNodeBinary(file) ? withScaledStack(given) : given;
  const child = spawn(file, rest, { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const signal of signals) process.on(signal, forward);
  // What reads the trace after the run loads while the program runs, not before it starts.
  const afterRun = loadAfterRun();
  afterRun.catch(() => {}); // awaited below; never an unhandled rejection meanwhile

  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new RecallError(
          'E_SPAWN',
          error.code === 'ENOENT' ? `run: cannot start '${file}': command not found` : `run: cannot start '${file}': ${error.message}`,
        ),
      );
    });
    child.once('exit', (code, signal) => resolvePromise({ code, signal }));
  }).finally(() => {
    for (const signal of signals) process.removeListener(signal, forward);
  });

  const exitCode = outcome.code ?? 128 + signalNumber(outcome.signal ?? 'SIGTERM');
  const after = await afterRun;
  // A bounded recording killed before it finished left its threads as segment files.
  after.joinLeftSegments(traceDir, (pid) => !alive(pid));
  removeLeftSockets(traceDir, (pid) => !alive(pid));
  if (snapshot) removeLeftSpools(after, traceDir);
  const result = after.salvageManifest(traceDir, outcome.signal);
  if (result?.salvaged) after.writeManifestFile(traceDir, result.manifest, result.file);
  const children = result ? finishChildren(after, traceDir, result.manifest) : null;
  if (!values.out) updateLatestLink(outRoot, traceDir);
  if (!quiet) {
    const rel = relative(cwd, traceDir);
    const shown = rel === '' ? '.' : rel.startsWith('..') ? traceDir : rel;
    if (result === null) {
      process.stderr.write(`recall: no trace was recorded (the command started no traced Node.js process); ${shown} is empty\n`);
    } else {
      const { manifest } = result;
      if (manifest.options.snapshot === true) {
        const snapshots = manifest.snapshots ?? [];
        process.stderr.write(
          snapshots.length > 0
            ? `recall: snapshot mode: ${snapshots.length} snapshot${snapshots.length === 1 ? '' : 's'} in ${shown}: ${snapshots.join(', ')}\nrecall: next: recall summary ${join(shown, snapshots[snapshots.length - 1] as string)}\n`
            : `recall: snapshot mode: no trigger fired, so nothing but the manifest was written to ${shown}\n`,
        );
        return exitCode;
      }
      const totals = { threads: manifest.threads.length, events: manifest.totals.written, dropped: manifest.totals.dropped, bytes: manifest.totals.bytes };
      for (const child of children?.finished ?? []) {
        totals.threads += child.threads;
        totals.events += child.events;
        totals.dropped += child.dropped;
        totals.bytes += child.bytes;
      }
      const count = 1 + (children?.finished.length ?? 0) + (children?.running ?? 0);
      const processes =
        count > 1 ? ` in ${count} processes${children?.running ? ` (${children.running} still running: their events are not counted here)` : ''}` : '';
      const threads = totals.threads;
      const drops = totals.dropped > 0 ? ` · ${formatCount(totals.dropped)} DROPPED` : '';
      const salvaged = manifest.status === 'salvaged' ? ' (salvaged: the program was killed before the trace was finished)' : '';
      const childrenSalvaged = children?.salvaged ? ` (${children.salvaged} child process${children.salvaged === 1 ? '' : 'es'} salvaged)` : '';
      process.stderr.write(
        `recall: ${formatCount(totals.events)} events from ${threads} thread${threads === 1 ? '' : 's'}${processes}, ${formatBytes(totals.bytes)}${drops} → ${shown}${salvaged}${childrenSalvaged}\n` +
          `recall: next: recall summary ${shown}\n`,
      );
    }
  }
  return exitCode;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface ChildrenOutcome {
  /** Children whose recording is over (complete or salvaged now). */
  finished: { threads: number; events: number; dropped: number; bytes: number }[];
  /** Children still recording: they outlive the root and finish their manifests themselves. */
  running: number;
  salvaged: number;
}

type AfterRun = typeof import('../analysis/salvage.js') &
  typeof import('../analysis/processes.js') &
  typeof import('../analysis/process-overview.js') &
  typeof import('../runtime/bounded.js') &
  typeof import('../runtime/manifest-file.js') &
  typeof import('../format/processes.js');

async function loadAfterRun(): Promise<AfterRun> {
  const modules = await Promise.all([
    import('../analysis/salvage.js'),
    import('../analysis/processes.js'),
    import('../analysis/process-overview.js'),
    import('../runtime/bounded.js'),
    import('../runtime/manifest-file.js'),
    import('../format/processes.js'),
  ]);
  return Object.assign({}, ...modules) as AfterRun;
}

/**
 * After the root process ended: salvage each child process that died without finishing its
 * manifest (still "recording", its pid gone), and count what the children recorded.
 */
function finishChildren(after: AfterRun, traceDir: string, root: Manifest): ChildrenOutcome {
  const { listProcesses, processOverview, salvageManifest } = after;
  const outcome: ChildrenOutcome = { finished: [], running: 0, salvaged: 0 };
  for (const entry of listProcesses(traceDir)) {
    if (entry.pid === root.pid) continue;
    let overview = processOverview(traceDir, entry, false, false);
    if (overview.status === 'recording' || overview.status === 'missing') {
      if (alive(entry.pid)) {
        outcome.running++;
        continue;
      }
      const result = salvageManifest(traceDir, null, entry.pid);
      if (!result) continue;
      if (result.salvaged) {
        after.writeManifestFile(traceDir, result.manifest, result.file);
        outcome.salvaged++;
      }
      overview = processOverview(traceDir, entry, false);
    }
    outcome.finished.push(overview);
  }
  return outcome;
}

/** --snapshot: remove the spools of the trace's processes that ended without removing their own (killed). */
function removeLeftSpools(after: AfterRun, traceDir: string): void {
  let text = '';
  try {
    text = readFileSync(join(traceDir, after.PROCESSES_FILE), 'utf8');
  } catch {
    return;
  }
  for (const entry of after.parseProcessesJsonl(text).processes) if (!alive(entry.pid)) after.removeSpool(entry.pid);
}

/** The control sockets of processes that were killed before they could remove their own. */
function removeLeftSockets(traceDir: string, ended: (pid: number) => boolean): void {
  let names: string[] = [];
  try {
    names = readdirSync(traceDir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^p(\d+)\.ctl\.sock$/.exec(name);
    if (match && ended(Number(match[1]))) rmSync(join(traceDir, name), { force: true });
  }
}
