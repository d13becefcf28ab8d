// What the query views share: the --format and --thread options, picking threads from a trace,
// and printing JSON.

import { RecallError } from '../format/errors.js';
import { openTrace, type Trace, type TraceThread } from '../analysis/trace.js';

export function formatOption(command: string, value: unknown, allowed: readonly string[] = ['text', 'json']): string {
  const format = (value as string | undefined) ?? 'text';
  if (!allowed.includes(format)) throw new RecallError('E_USAGE', `${command}: --format must be ${allowed.join(' or ')}, not '${format}'`);
  return format;
}

/** The threads a view covers: the one --thread names, or all (`all`) / the main thread (`main`) by default. */
export function pickThreads(command: string, trace: Trace, value: unknown, fallback: 'all' | 'main'): TraceThread[] {
  if (value === undefined) {
    if (fallback === 'all') return trace.threads;
    const main = trace.threads.find((t) => t.info.id === 0) ?? trace.threads[0];
    return main ? [main] : [];
  }
  const id = Number(value);
  const found = trace.threads.filter((t) => t.info.id === id);
  if (!Number.isInteger(id) || found.length === 0) {
    const ids = trace.threads.map((t) => t.info.id).join(', ');
    throw new RecallError('E_USAGE', `${command}: no thread ${String(value)} in this trace; threads: ${ids || 'none'}`);
  }
  return found;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The --process option of a view: the open options for that process (default: the root). */
export function viewProcess(command: string, process: unknown): { pid?: number } {
  if (process === undefined) return {};
  const pid = Number(process);
  if (!Number.isInteger(pid) || pid <= 0) throw new RecallError('E_USAGE', `${command}: --process takes a pid (see recall info), not '${String(process)}'`);
  return { pid };
}

/** Open the trace (one process of it: --process PID, default the root) a view reads. */
export function openViewTrace(command: string, path: string | undefined, process: unknown): Trace {
  return openTrace(path ?? 'recall-trace', viewProcess(command, process));
}
