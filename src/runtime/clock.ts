// What the clock can deliver here, measured by the drain worker a slice at a time when it is idle
// (off the program's thread and start-up path, and never for long while rings wait): the smallest step between two performance.now() reads (resolution)
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

/**
 * Measures the clock a slice at a time, so the drain can do it in its idle moments without
 * ever pausing for long (a 20,000-read loop runs cold for 10 ms and more: a tiny ring fills
 * meanwhile). The first WARM_UP_READS reads only warm the loop up: cold, it measures the
 * interpreter, not the clock.
 */
export class ClockMeter {
  static readonly WARM_UP_READS = 5000;
  private smallest = Infinity;
  private elapsedMs = 0;
  private measuredReads = 0;
  private warmUpLeft = ClockMeter.WARM_UP_READS;

  constructor(private readonly reads: number) {}

  /** Whether `reads` reads have been measured. */
  get done(): boolean {
    return this.measuredReads >= this.reads;
  }

  /** Read the clock `slice` more times. */
  step(slice: number): void {
    const perf = performance;
    let previous = perf.now();
    const start = previous;
    let smallest = this.smallest;
    for (let i = 0; i < slice; i++) {
      const now = perf.now();
      const step = now - previous;
      if (step > 0 && step < smallest) smallest = step;
      previous = now;
    }
    if (this.warmUpLeft > 0) {
      this.warmUpLeft -= slice;
      return;
    }
    this.smallest = smallest;
    this.elapsedMs += previous - start;
    this.measuredReads += slice;
  }

  /** The measurement so far (null before any read was measured). */
  result(): ClockMeasurement | null {
    if (this.measuredReads === 0) return null;
    return {
      resolutionNs: Number.isFinite(this.smallest) ? Math.round(this.smallest * 1e6 * 10) / 10 : 0,
      readCostNs: Math.round(((this.elapsedMs * 1e6) / this.measuredReads) * 10) / 10,
    };
  }
}

/** The manifest's clock section: the mode, and the measurement (null: not measured). */
export function clockInfo(mode: TimingMode, measured: ClockMeasurement | null): ClockInfo {
  const resolutionNs = measured?.resolutionNs ?? 0;
  const readCostNs = measured?.readCostNs ?? 0;
  const clock = measured
    ? `performance.now(), resolution ${resolutionNs} ns, read cost ${readCostNs} ns measured by the trace writer`
    : 'performance.now(), resolution and read cost not measured: the trace writer measures them when it is idle, and this run ended before';
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
