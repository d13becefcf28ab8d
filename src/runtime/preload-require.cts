// recall's preload as `node --require` loads it, its only entry. Node runs every --require
// preload before any --import one: recall run puts this first in NODE_OPTIONS, so the program's
// own --require and --import preloads are instrumented too. There is no --import entry: with
// one, Node runs a CommonJS main module through its ES module loader (the program's async_hooks
// see its promises). It loads the preload (preload.ts) from its CommonJS bundle, preload.cjs
// (scripts/postbuild.mjs): one file, and Node's built-in modules as CommonJS, loads in about
// half the time of the ES module graph it is built from.
//
// In a traced process's main thread it first starts the drain worker, before the bundle loads:
// a worker takes longer to boot than a short program takes to run, and a process cannot exit
// before its workers have booted, so every millisecond the worker starts earlier is one the
// process does not wait at exit. The worker waits for its session (drain-worker.ts), which the
// preload sends once it has made one, or is terminated when the preload decides not to trace.

import type * as Threads from 'node:worker_threads';

/** Where the preload (preload.ts: takeEarlyDrain) finds the worker started here. */
const EARLY_DRAIN = Symbol.for('recall:early-drain');

function startDrainEarly(threads: typeof Threads): void {
  // RECALL_CONFIG: config.ts's CONFIG_ENV (this file is loaded before the bundle that has it).
  if (!threads.isMainThread || !process.env.RECALL_CONFIG) return;
  const { startDrainThread } = require('./drain-thread.cjs') as typeof import('./drain-thread.cjs');
  (globalThis as { [EARLY_DRAIN]?: Threads.Worker })[EARLY_DRAIN] = startDrainThread(threads);
}

const threads = require('node:worker_threads') as typeof Threads;
// Node's module hooks thread (module.register) runs the --require preloads too. It is Node's
// thread, not the program's, and the only one without a parentPort: recall stays out of it, as
// it does of its own drain worker, which needs nothing of the preload.
const hooksThread = !threads.isMainThread && threads.parentPort === null;
const drainThread = (threads.workerData as { recallDrain?: unknown } | null)?.recallDrain === true;
if (!hooksThread && !drainThread) {
  startDrainEarly(threads);
  require('./preload.cjs');
}
