// Entry point of the drain worker thread started by the preload: once the preload sends the
// session, runs the Drain until the trace is finalized, serving the control socket of `recall
// ctl` between its passes, unless the process ended before this thread booted and its main
// thread drained the rings itself (control.ts: DRAIN_BY_EXITING_THREAD). It is started with
// execArgv [], and preload-require.cts leaves it alone, so it is never itself instrumented.
import { parentPort } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { DRAIN_BY_WORKER } from './control.js';
import { Drain } from './drain.js';
import { startControlServer } from './control-server.js';
import type { DrainSession } from './preload.js';

function start(data: DrainSession): void {
  // Tests only: start late, as a drain on a loaded machine does, to show the program loses nothing
  // meanwhile (record.test.ts). Never set by recall itself.
  const delayMs = Number(process.env.RECALL_TEST_DRAIN_DELAY_MS ?? 0);
  if (delayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delayMs);
  try {
    if (Drain.claim(data.sab, DRAIN_BY_WORKER)) {
      const drain = new Drain(data.sab, data.config, data.manifest);
      // Live control (recall ctl), served between the drain's passes.
      const control = startControlServer(data.config.traceDir, data.manifest.pid, (request) => drain.control(request));
      drain.onFinish = () => control?.close();
      drain.runServing().catch((error: unknown) => {
        writeSync(2, `recall: the trace writer failed: ${(error as Error).message}\n`);
      });
    }
  } catch (error) {
    writeSync(2, `recall: the trace writer failed: ${(error as Error).message}\n`);
  }
}

// The thread is started before its session exists (preload-require.cts): it boots meanwhile.
parentPort?.once('message', start);
