// The code `recall run` injects into the traced process: loaded first of all the process's
// preloads by preload-require.cts (node --require), from its CommonJS bundle preload.cjs, so the
// program's own --require and --import preloads are instrumented too. It has no top-level await
// (a CommonJS bundle cannot have one) and runs once per thread, however it is loaded. In the main thread it
// reads RECALL_CONFIG, creates the shared control block and rings, writes the first manifest,
// starts the drain worker and installs the shutdown paths. In every thread (workers get the
// session through worker_threads environment data) it installs this thread's Recorder as
// globalThis.__recall, the ES module hooks and the CommonJS hook, and a Worker wrapper that
// names new threads and notices when they end. When following (the default), child processes
// get the session through the spawn funnels (follow.ts) and record into the same trace
// directory under their own pid; with --no-follow they run untraced. A process started without
// RECALL_CONFIG is left untouched.

import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as threads from 'node:worker_threads';
import { FORMAT_VERSION } from '../format/layout.js';
import type { Manifest, TimingMode } from '../format/manifest.js';
import { functionsFileOf, manifestFileOf, PROCESSES_FILE, type ProcessEntry } from '../format/processes.js';
import { RECALL_VERSION } from '../format/version.js';
import { createFilter } from '../instrument/filter.js';
import { CJS_HOOK_URL, installCommonJsHook } from '../instrument/cjs-hook.js';
import { REQUIRE_ESM, requireEsmMissing } from '../instrument/require-esm.js';
import { workerLimitsWithScaledStack } from './stack-limit.js';
import { installSyncHooks, syncHooksAvailable } from '../instrument/sync-hooks.js';
import type { HookData } from '../instrument/esm-hooks.js';
import { clockInfo } from './clock.js';
import { enableCompileCacheFor } from './compile-cache.js';
import { CONFIG_ENV, DEFAULT_DETAIL_RING_BYTES, DEFAULT_SPILL_RECORDS, detailSettings, entryCaptureGlobs, parseConfig, type RecordConfig } from './config.js';
import { installSnapshotSignal } from './snapshot-signal.js';
import { DRAIN_BY_EXITING_THREAD, DRAIN_UNCLAIMED, H_DRAIN_READY, H_DRAIN_WAKE, H_STOPPED, S_STATE, S_THREAD_ID, SLOT_ACTIVE, SLOT_CLOSING, createControl, layoutOf, publishThreadName, slotBase } from './control.js';
import { noopProbes, Recorder, type Probes } from './recorder.js';
import { installFollow } from './follow.js';
import { installShutdown } from './shutdown.js';
import { writeManifestFile } from './manifest-file.js';
import { hideFramesOf, installStackTraceMapping } from './stack-traces.js';
import { installRuntimeEvents } from './runtime-events.js';
import { workerExited, workerStarted } from './worker-events.js';

interface Session {
  /** This process's settings: parentPid is null for the root, rootPid always set. */
  config: RecordConfig & { parentPid: number | null; rootPid: number };
  sab: SharedArrayBuffer;
  /** RECALL_CONFIG for this process's children, or null when not following. */
  childConfig: string | null;
}

/** What the drain worker is sent once the session exists (drain-worker.ts). */
export interface DrainSession {
  sab: SharedArrayBuffer;
  config: RecordConfig;
  manifest: Manifest;
}

const SESSION_KEY = 'recall:session';

type Global = typeof globalThis & { __recall?: Probes };

/**
 * This process's settings from the inherited ones: the root's as `recall run` wrote them; a
 * followed child's with its own command line, the time left of --duration (null: the recording
 * is already over, the child runs untraced) and whether it has source maps of its own.
 */
function processConfig(inherited: RecordConfig): Session['config'] | null {
  const parentPid = typeof inherited.parentPid === 'number' ? inherited.parentPid : null;
  if (parentPid === null) {
    const deadlineEpochMs = inherited.durationSeconds !== null ? Date.now() + inherited.durationSeconds * 1000 : null;
    return { ...inherited, parentPid: null, rootPid: process.pid, deadlineEpochMs };
  }
  let durationSeconds: number | null = null;
  if (typeof inherited.deadlineEpochMs === 'number') {
    durationSeconds = (inherited.deadlineEpochMs - Date.now()) / 1000;
    if (durationSeconds <= 0) return null;
  }
  return {
    ...inherited,
    parentPid,
    rootPid: typeof inherited.rootPid === 'number' ? inherited.rootPid : parentPid,
    command: [process.argv0, ...process.execArgv, ...process.argv.slice(1)],
    durationSeconds,
    status: false,
    userSourceMaps: process.execArgv.includes('--enable-source-maps') || /--enable-source-maps/.test(process.env.NODE_OPTIONS ?? ''),
  };
}

function mainThreadSession(): Session | null {
  const raw = process.env[CONFIG_ENV];
  if (!raw) return null;
  const inherited = parseConfig(raw);
  // The program sees the environment it would see untraced: take our settings out. Children
  // get them back from the spawn funnels when following (follow.ts).
  delete process.env[CONFIG_ENV];
  const nodeOptions = process.env.NODE_OPTIONS;
  if (nodeOptions && inherited.nodeOptionsAdded) {
    const rest = nodeOptions.replace(inherited.nodeOptionsAdded, '').trim();
    if (rest) process.env.NODE_OPTIONS = rest;
    else delete process.env.NODE_OPTIONS;
  }
  const config = processConfig(inherited);
  if (!config) return null;
  const childConfig = config.follow === true ? JSON.stringify({ ...config, parentPid: process.pid, command: [], status: false }) : null;
  // The detail ring exists even with --no-detail: runtime notes (spans, messages) travel in it.
  const session: Session = { config, sab: createControl(config.threadSlots, config.ringRecords, config.detail?.ringBytes ?? DEFAULT_DETAIL_RING_BYTES), childConfig };
  threads.setEnvironmentData(SESSION_KEY, session as unknown as threads.Serializable);
  return session;
}

function workerThreadSession(): Session | null {
  // Node's module hooks thread (module.register) runs the process's --require preloads too, and
  // has no parentPort, unlike every Worker: it is Node's, not the program's; leave it alone.
  if (threads.parentPort === null) return null;
  const data = threads.workerData as { recallDrain?: boolean } | null;
  if (data && typeof data === 'object' && data.recallDrain === true) return null;
  const session = threads.getEnvironmentData(SESSION_KEY) as Session | undefined;
  return session ?? null;
}

/** What the trace's times are worth, in words, for the manifest and `recall info`. */
function initialManifest(config: Session['config']): Manifest {
  const root = config.parentPid === null;
  return {
    format: 'recall-trace',
    formatVersion: FORMAT_VERSION,
    recallVersion: RECALL_VERSION,
    status: 'recording',
    command: config.command,
    cwd: root ? config.cwd : process.cwd(),
    pid: process.pid,
    nodeVersion: process.version,
    startedAt: new Date().toISOString(),
    startEpochMs: Date.now(),
    endEpochMs: null,
    // Measured by the drain (Drain's constructor), off the program's start-up path.
    clock: clockInfo(config.timing, null),
    options: {
      timing: config.timing,
      ringRecords: config.ringRecords,
      spillRecords: config.spillRecords ?? DEFAULT_SPILL_RECORDS,
      threadSlots: config.threadSlots,
      include: config.include,
      exclude: config.exclude,
      nodeModules: config.nodeModules,
      durationSeconds: config.durationSeconds,
      maxBytes: config.maxBytes ?? null,
      keepMs: config.keepMs ?? null,
      snapshot: config.snapshot === true,
    },
    threads: [],
    threadsUntraced: 0,
    functionsFile: functionsFileOf(process.pid, root),
    functions: [],
    totals: { produced: 0, written: 0, dropped: 0, discarded: 0, bytes: 0, chunks: 0 },
    shutdown: null,
    notes: [],
    detail: detailSettings(config.detail),
    windows: [],
    parentPid: config.parentPid,
    rootPid: config.rootPid,
    processes: [],
  };
}

/** Longest processes.jsonl line: below PIPE_BUF (4096), so appends of processes starting at once never interleave. */
const PROCESS_LINE_MAX = 4000;

/** Say in processes.jsonl that this process records into the trace (its manifest has the full command). */
function announceProcess(config: Session['config'], manifest: Manifest): void {
  const root = config.parentPid === null;
  const entry: ProcessEntry = {
    pid: process.pid,
    parentPid: config.parentPid,
    command: manifest.command,
    startEpochMs: manifest.startEpochMs,
    manifest: manifestFileOf(process.pid, root),
    functionsFile: manifest.functionsFile,
  };
  let line = JSON.stringify(entry);
  if (Buffer.byteLength(line) > PROCESS_LINE_MAX) {
    const short = manifest.command.slice(0, 16).map((arg) => (arg.length > 120 ? arg.slice(0, 119) + '…' : arg));
    line = JSON.stringify({ ...entry, command: short });
    if (Buffer.byteLength(line) > PROCESS_LINE_MAX) line = JSON.stringify({ ...entry, command: [] });
  }
  appendFileSync(join(config.traceDir, PROCESSES_FILE), line + '\n');
}

/** Where preload-require.cts leaves the drain worker it started before this bundle loaded. */
const EARLY_DRAIN = Symbol.for('recall:early-drain');

/** The drain worker preload-require.cts started early, taken once; null when it started none. */
function takeEarlyDrain(): threads.Worker | null {
  const g = globalThis as { [EARLY_DRAIN]?: threads.Worker };
  const drain = g[EARLY_DRAIN] ?? null;
  delete g[EARLY_DRAIN];
  return drain;
}

/** No session after all (the recording is over, or this Node cannot trace): end the early worker unseen. */
function dropEarlyDrain(): void {
  const drain = takeEarlyDrain();
  if (!drain) return;
  hideWorkerEvents(1);
  void drain.terminate();
}

/**
 * Give the drain worker its session: the one preload-require.cts started, else one started
 * now (this bundle loaded some other way). The worker waits for it (drain-worker.ts).
 */
function startDrain(session: Session, manifest: Manifest): void {
  const drain =
    takeEarlyDrain() ??
    (createRequire(import.meta.url)('./drain-thread.cjs') as typeof import('./drain-thread.cjs')).startDrainThread(threads);
  const data: DrainSession = { sab: session.sab, config: session.config, manifest };
  drain.postMessage(data);
  drain.on('error', (error) => {
    process.stderr.write(`recall: the trace writer stopped: ${error.message}\n`);
  });
}

/** The workers the program starts (through wrapWorker's class), as opposed to recall's and Node's own. */
const programWorkers = new WeakSet<object>();

/**
 * Node announces every new Worker with process.emit('worker') a tick later, after the program's
 * main module has registered its listeners: swallow those emissions for the threads started
 * while the preload ran, `count` of them (recall's drain, and on Node without
 * module.registerHooks the module hooks thread module.register starts), so the program sees
 * the workers it would see untraced. The filter steps aside after them.
 */
function hideWorkerEvents(count: number): void {
  const original = process.emit;
  let left = count;
  const filter = function (this: NodeJS.Process, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'worker' || typeof args[0] !== 'object' || args[0] === null || programWorkers.has(args[0])) {
      return (original as (...a: unknown[]) => boolean).call(this, event, ...args);
    }
    if (--left === 0 && process.emit === filter) process.emit = original;
    return false;
  };
  process.emit = filter as typeof process.emit;
}

/**
 * At exit, before the drain worker has booted: claim the drain and run it in this thread, so the
 * process does not wait for a worker to start only to write what a short run recorded. The drain
 * is required from its CommonJS bundle (scripts/postbuild.mjs), loaded only here.
 */
function drainHere(session: Session, manifest: Manifest): boolean {
  const ctl = new Int32Array(session.sab);
  if (Atomics.load(ctl, H_DRAIN_READY) !== DRAIN_UNCLAIMED) return false;
  const { Drain, CLOCK_READS_AT_EXIT } = createRequire(import.meta.url)('./drain.cjs') as typeof import('./drain.js');
  if (!Drain.claim(session.sab, DRAIN_BY_EXITING_THREAD)) return false;
  new Drain(session.sab, session.config, manifest, CLOCK_READS_AT_EXIT).run();
  return true;
}

/** Find the slot a thread holds and mark it closing (the thread ended without saying so). */
function markThreadEnded(sab: SharedArrayBuffer, threadId: number): void {
  const ctl = new Int32Array(sab);
  const { slots } = layoutOf(sab);
  for (let slot = 0; slot < slots; slot++) {
    const base = slotBase(slot);
    if (ctl[base + S_THREAD_ID] === threadId && Atomics.compareExchange(ctl, base + S_STATE, SLOT_ACTIVE, SLOT_CLOSING) === SLOT_ACTIVE) {
      Atomics.notify(ctl, H_DRAIN_WAKE);
      return;
    }
  }
}

/** Wrap worker_threads.Worker so new threads get a display name and their end is noticed. */
function wrapWorker(sab: SharedArrayBuffer): void {
  const require = createRequire(import.meta.url);
  const exports = require('node:worker_threads') as typeof threads;
  const Original = exports.Worker;
  const Wrapped = class Worker extends Original {
    constructor(filename: string | URL, options?: threads.WorkerOptions) {
      // Instrumented frames take more stack: the worker's limit is scaled (stack-limit.ts).
      super(filename, { ...options, resourceLimits: workerLimitsWithScaledStack(options?.resourceLimits) });
      const where = options?.eval === true ? 'eval' : basename(filename instanceof URL ? fileURLToPath(filename) : String(filename));
      publishThreadName(sab, this.threadId, options?.name ? `${options.name} (${where})` : where);
      const id = this.threadId;
      programWorkers.add(this);
      workerStarted(this, id);
      this.once('exit', () => {
        workerExited(id);
        markThreadEnded(sab, id);
      });
    }
  };
  exports.Worker = Wrapped;
  syncBuiltinESMExports();
}

function installThread(session: Session): Recorder | null {
  const { config, sab } = session;
  const ctl = new Int32Array(sab);
  const g = globalThis as Global;
  if (Atomics.load(ctl, H_STOPPED) === 1) {
    g.__recall = noopProbes;
    return null;
  }
  const recorder = new Recorder({ sab, functionsFile: join(config.traceDir, functionsFileOf(process.pid, config.parentPid === null)), timing: config.timing, detail: config.detail, spillRecords: config.spillRecords ?? DEFAULT_SPILL_RECORDS });
  g.__recall = recorder;
  recorder.startIdlePublisher();
  if (!config.userSourceMaps) installStackTraceMapping(config.cacheDir);
  const filter = { cwd: config.cwd, include: config.include, exclude: config.exclude, nodeModules: config.nodeModules };
  // Functions whose arguments are captured on entry: --capture and --trigger fn= globs.
  const capture = config.detail ? entryCaptureGlobs(config.detail) : [];
  enableCompileCacheFor(config.cacheDir, { detail: config.detail !== null, capture });
  if (syncHooksAvailable()) {
    // Newer Node: one set of in-thread hooks covers import and require.
    installSyncHooks({ accept: createFilter(filter), cacheDir: config.cacheDir, capture, detail: config.detail !== null });
  } else {
    const hookData: HookData = { filter, cacheDir: config.cacheDir, capture, detail: config.detail !== null };
    register(new URL('../instrument/esm-hooks.js', import.meta.url), { data: hookData });
    installCommonJsHook({ accept: createFilter(filter), cacheDir: config.cacheDir, capture, detail: config.detail !== null });
    // Its Module.prototype._compile wrapper is on the stack of every CommonJS module's top level.
    hideFramesOf(CJS_HOOK_URL);
  }
  process.on('uncaughtExceptionMonitor', (error) => recorder.uncaught(error));
  wrapWorker(sab);
  if (session.childConfig !== null) {
    installFollow({ config: session.childConfig, nodeOptions: config.nodeOptionsAdded, active: () => Atomics.load(ctl, H_STOPPED) === 0 });
  }
  installRuntimeEvents(config);
  return recorder;
}

const LOADED = Symbol.for('recall:preload');

function main(): void {
  // Once per thread, however often it is loaded (a --require given twice, a copy in NODE_OPTIONS).
  const g = globalThis as { [LOADED]?: true };
  if (g[LOADED]) return;
  g[LOADED] = true;
  if (threads.isMainThread) {
    const session = mainThreadSession();
    if (!session) {
      dropEarlyDrain();
      return;
    }
    if (!REQUIRE_ESM) {
      dropEarlyDrain();
      process.stderr.write(requireEsmMissing(process.version));
      return;
    }
    mkdirSync(session.config.traceDir, { recursive: true });
    const manifest = initialManifest(session.config);
    writeManifestFile(session.config.traceDir, manifest);
    announceProcess(session.config, manifest);
    hideWorkerEvents(syncHooksAvailable() ? 1 : 2);
    startDrain(session, manifest);
    const recorder = installThread(session);
    if (recorder) installShutdown(session.sab, recorder, session.config.durationSeconds, () => drainHere(session, manifest));
    if (session.config.snapshot === true) installSnapshotSignal(session.sab);
    // The program starts at once, while the drain worker boots (~100 ms): a ring that fills
    // before the drain runs waits for it then (Recorder.awaitDrainStart), not up front.
    return;
  }
  const session = workerThreadSession();
  if (!session || !REQUIRE_ESM) return;
  const recorder = installThread(session);
  if (recorder) process.on('exit', () => recorder.close());
}

main();
