// Entry point of the drain worker thread started by the preload: runs the Drain until the
// trace is finalized. It is started with execArgv [] so it is never itself instrumented.
import { workerData } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { Drain } from './drain.js';
import type { DrainWorkerData } from './preload.js';

const data = workerData as DrainWorkerData;
// Tests only: start late, as a drain on a loaded machine does, to show the program loses nothing
// meanwhile (record.test.ts). Never set by recall itself.
const delayMs = Number(process.env.RECALL_TEST_DRAIN_DELAY_MS ?? 0);
if (delayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
try {
  new Drain(data.sab, data.config, data.manifest).run();
} catch (error) {
  writeSync(2, `recall: the trace writer failed: ${(error as Error).message}\n`);
}
