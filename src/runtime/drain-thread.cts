// How the drain worker thread is started: its file, options and name, in one place for the two
// places that start it (preload-require.cts, early, in a traced process's main thread; and
// preload.ts, when the preload's bundle was loaded without that entry). CommonJS, like
// preload-require.cts, which requires it before the bundle loads; the bundle requires it at
// run time (createRequire), so both use this one file.

import type * as Threads from 'node:worker_threads';

/** Start the drain worker, unreferenced; it waits for its session (drain-worker.ts). */
export function startDrainThread(threads: typeof Threads): Threads.Worker {
  const drain = new threads.Worker(require('node:path').join(__dirname, 'drain-worker.cjs') as string, {
    workerData: { recallDrain: true },
    // RECALL_DRAIN_PROFILE=DIR writes a CPU profile of the drain (for performance work).
    execArgv: process.env.RECALL_DRAIN_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.RECALL_DRAIN_PROFILE] : [],
    name: 'recall drain',
  });
  drain.unref();
  return drain;
}
