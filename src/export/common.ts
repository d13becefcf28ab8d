// What the exporters share: which threads go out, a function's place in the source, and the
// totals an export reports.

import { RecallError } from '../format/errors.js';
import type { ManifestThread } from '../format/manifest.js';
import type { QueryTrace } from '../query/open.js';

export interface ExportOptions {
  /** A thread id (default: every thread). */
  thread?: number;
}

export interface ExportTotals {
  /** Calls exported (activations that began with an enter). */
  calls: number;
  /** Events written (opens and closes). */
  events: number;
  threads: number;
}

export function exportedThreads(q: QueryTrace, options: ExportOptions): { index: number; info: ManifestThread }[] {
  const all = q.threads.map((info, index) => ({ index, info }));
  if (options.thread === undefined) return all;
  const picked = all.filter(({ info }) => info.id === options.thread);
  if (picked.length === 0) throw new RecallError('E_USAGE', `export: no thread ${options.thread} in this trace; threads: ${q.threads.map((t) => t.id).join(', ')}`);
  return picked;
}

/** file:line of a function (as recorded: absolute paths). */
export function locationOf(q: QueryTrace, fn: number): string {
  const entry = q.engine.functions.get(fn);
  return entry?.file ? `${entry.file}:${entry.line}` : '';
}
