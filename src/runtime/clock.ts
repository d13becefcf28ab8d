// Measures, at start-up, what the clock can deliver here: the smallest step between two
// performance.now() reads (resolution) and the mean cost of a read. Both go into the manifest
// so the trace states the precision it actually has.

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
