// What the clock can deliver here, measured by the drain worker when it is first idle (off the
// program's thread and start-up path, and never while rings wait to be drained): the smallest step between two performance.now() reads (resolution)
// and the mean cost of a read. Both go into the manifest with the timing mode's rules, so the
// trace states the precision it actually has.

import type { ClockInfo, TimingMode } from '../format/manifest.js';

/** Adaptive timing: a function is judged on each window of this many timed calls... */
export const ADAPTIVE_WINDOW_CALLS = 64;
/** ...and stops paying for timestamps when their mean duration was below this (ms). */
export const ADAPTIVE_DEMOTE_BELOW_MS = 0.001;
/**
 * Adaptive timing keeps sampling: after this many untimed calls in a thread, the next
 * ADAPTIVE_SAMPLE_BURST entries are timed whatever their function. A burst times a tiny call
 * together with its tiny callees, so the summary's estimates rest on warm, fully timed calls
 * (the calls that got a function demoted ran cold, before V8 optimized it).
 */
export const ADAPTIVE_SAMPLE_EVERY = 1024;
export const ADAPTIVE_SAMPLE_BURST = 8;

export interface ClockMeasurement {
  resolutionNs: number;
  readCostNs: number;
}

export function measureClock(reads = 20000): ClockMeasurement {
  const perf = performance;
  // Warm up first: the cold loop measures the interpreter, not the clock.
  for (let i = 0; i < 5000; i++) perf.now();
  let smallest = Infinity;
  let previous = perf.now();
  const start = previous;
  for (let i = 0; i < reads; i++) {
    const now = perf.now();
    const step = now - previous;
    if (step > 0 && step < smallest) smallest = step;
    previous = now;
  }
  const costNs = ((previous - start) * 1e6) / reads;
  return {
    resolutionNs: Number.isFinite(smallest) ? Math.round(smallest * 1e6 * 10) / 10 : 0,
    readCostNs: Math.round(costNs * 10) / 10,
  };
}

/** The manifest's clock section: the mode, and the measurement (null: not measured). */
export function clockInfo(mode: TimingMode, measured: ClockMeasurement | null): ClockInfo {
  const resolutionNs = measured?.resolutionNs ?? 0;
  const readCostNs = measured?.readCostNs ?? 0;
  const clock = measured
    ? `performance.now(), resolution ${resolutionNs} ns, read cost ${readCostNs} ns measured by the trace writer`
    : 'performance.now(), resolution and read cost not measured: the trace writer measures them when it is first idle, and this run ended before';
  let precision: string;
  if (mode === 'none') precision = 'none: calls and call structure only, no timestamps (--timing none)';
  else if (mode === 'exact') precision = `exact: every event timestamped (${clock})`;
  else {
    precision =
      `adaptive: every event timestamped (${clock}) except calls of functions whose last ${ADAPTIVE_WINDOW_CALLS} timed calls ` +
      `averaged under ${ADAPTIVE_DEMOTE_BELOW_MS * 1e6} ns; those are counted exactly and their time is estimated from their function's timed calls ` +
      `(after every ${ADAPTIVE_SAMPLE_EVERY} untimed calls, the next ${ADAPTIVE_SAMPLE_BURST} are timed as samples)`;
  }
  return { source: 'performance.now', mode, resolutionNs, readCostNs, precision };
}
