// How the main thread of a traced process ends a recording. Every path — normal exit,
// process.exit(), an uncaught exception, SIGINT/SIGTERM/SIGHUP with no handler of the
// program's, and --duration — stops the probes, asks the drain to finish the trace, and (except
// for --duration, where the program runs on untraced) waits for the trace to be complete on
// disk before the process goes. A signal is then re-raised so the process dies of it as it
// would have untraced. A process that ends before its drain worker has booted (a short
// program: the worker takes ~100 ms to start) drains its rings in the exiting thread instead,
// when it can load the drain synchronously (drainHere).

import {
  FIN_DURATION,
  FIN_EXIT,
  FIN_SIGNAL,
  FIN_UNCAUGHT,
  H_DRAIN_WAKE,
  H_EXIT_CODE,
  H_FINALIZE,
  H_FINAL_DONE,
  H_SIGNAL,
  H_STOPPED,
} from './control.js';
import type { Recorder } from './recorder.js';
import { signalNumber } from './signals.js';

/** Longest the exiting process waits for the drain to finish writing. */
const FINISH_TIMEOUT_MS = 20000;

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Finish the trace in this thread when the drain worker has not claimed the drain yet: true when
 * it did (the trace is then complete on disk), false to wait for the worker.
 */
export type DrainHere = () => boolean;

export function installShutdown(sab: SharedArrayBuffer, recorder: Recorder, durationSeconds: number | null, drainHere: DrainHere): void {
  const ctl = new Int32Array(sab);
  let requested = false;
  let uncaught = false;

  const request = (reason: number, exitCode: number, signal: number): void => {
    if (requested) return;
    requested = true;
    recorder.close();
    ctl[H_EXIT_CODE] = exitCode;
    ctl[H_SIGNAL] = signal;
    Atomics.store(ctl, H_STOPPED, 1);
    Atomics.store(ctl, H_FINALIZE, reason);
    Atomics.notify(ctl, H_DRAIN_WAKE);
  };
  const finishAndWait = (reason: number, exitCode: number, signal: number): void => {
    request(reason, exitCode, signal);
    if (drainHere()) return;
    Atomics.wait(ctl, H_FINAL_DONE, 0, FINISH_TIMEOUT_MS);
  };

  process.on('uncaughtExceptionMonitor', () => {
    uncaught = true;
  });
  process.on('exit', (code) => {
    finishAndWait(uncaught ? FIN_UNCAUGHT : FIN_EXIT, typeof code === 'number' ? code : 0, 0);
  });
  for (const signal of FORWARDED_SIGNALS) {
    const onSignal = (): void => {
      // The program has its own handler: it decides what the signal means (exit runs our 'exit' path).
      if (process.listenerCount(signal) > 1) return;
      finishAndWait(FIN_SIGNAL, 128 + signalNumber(signal), signalNumber(signal));
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
  if (durationSeconds !== null && durationSeconds > 0) {
    setTimeout(() => request(FIN_DURATION, 0, 0), durationSeconds * 1000).unref();
  }
}
