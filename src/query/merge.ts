// Per-function totals of several threads (or answers) added up by function id: what the
// overview, hotspots, range summaries and the SQL tables show for a whole trace. No Node-only
// imports.

import type { FunctionStats } from './answers.js';

export function mergeByFunction(lists: Iterable<readonly FunctionStats[]>): FunctionStats[] {
  const merged = new Map<number, FunctionStats>();
  for (const list of lists) {
    for (const s of list) {
      const m = merged.get(s.fn);
      if (!m) merged.set(s.fn, { ...s });
      else {
        m.calls += s.calls;
        m.totalNs += s.totalNs;
        m.selfNs += s.selfNs;
        m.throws += s.throws;
        m.unfinished += s.unfinished;
        if (s.untimedCalls !== undefined) m.untimedCalls = (m.untimedCalls ?? 0) + s.untimedCalls;
        if (s.estimatedNs !== undefined) m.estimatedNs = (m.estimatedNs ?? 0) + s.estimatedNs;
      }
    }
  }
  return [...merged.values()];
}
