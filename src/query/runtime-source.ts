// The runtime-event view (analysis/runtime-events.ts) fed from the query index instead of a
// walk of every record: the index keeps each thread's runtime events (messages, workers,
// spans, gc, catches, marks, notes) and counts the scheduling links, so the events of a trace
// of tens of millions of calls are put together from a few thousand stored rows.

import { EXT_NAMES } from '../format/layout.js';
import type { RuntimeRecordSource } from '../analysis/runtime-events.js';
import type { QueryEngine } from './engine.js';

/** Kinds the index does not keep one by one (asking for them needs a walk of the records). */
export const UNINDEXED_KINDS: ReadonlySet<string> = new Set(['schedule', 'callback', 'callback-end', 'detail']);

export function indexedRuntimeRecords(engine: QueryEngine): RuntimeRecordSource {
  return {
    *records(_thread, threadIndex) {
      for (const r of engine.runtimeRecords(threadIndex)) yield { index: r.index, kind: EXT_NAMES[r.ext] ?? `ext${r.ext}`, aux: r.aux, ns: r.ns };
    },
    scheduling: (threadIndex) => ({ ...engine.threads[threadIndex]!.index.scheduling }),
  };
}
