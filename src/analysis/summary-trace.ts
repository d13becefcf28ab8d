// `recall summary` on a trace directory, fast: each thread file is read in pieces (never whole),
// verified chunk by chunk and walked as it is read, and on a large trace the files are walked
// in parallel, by this thread and worker threads, each file by one of them. The result is exactly what
// summarize(openTrace(...)) gives — the same numbers, threads and warnings in the same order:
//
// - Each thread is walked into sums of its own and the sums are added up in trace order, in
//   both paths (summarize() does the same).
// - An untimed call is estimated from its function's timed calls in the threads before it (the
//   priors) and in its own thread. The parallel walks are made without priors and report which
//   functions they estimated; when the threads before did have timed calls of one of them, the
//   thread is walked again with the priors. (Function ids are per thread registration: rare.)
//
// RECALL_SUMMARY_WORKERS=N sets the number of worker threads (0: everything in this thread);
// this thread walks files too, while they do. By default a trace of PARALLEL_MIN_BYTES or more
// with two or more thread files gets one thread per file, up to the number of CPUs: on 2 CPUs,
// this thread and one worker.

import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Manifest, ManifestThread } from '../format/manifest.js';
import { SummaryBuilder, tableSize, type Summary, type SummaryOptions } from './summary.js';
import { runTask, type WorkerReply, type WorkerTask } from './summary-worker.js';
import { readThreadFile, type ThreadFileOutcome } from './thread-file.js';
import {
  acceptThreadFile,
  beginOpening,
  finishOpening,
  readFunctionTable,
  resolveTraceDir,
  threadFileUnreadable,
  type TraceOpening,
} from './trace.js';
import { ThreadWalker, warmUpWalk, type Sums, type ThreadWalk } from './walk.js';
import { RecallError } from '../format/errors.js';

/** Below this many bytes of thread files, starting workers costs more than it saves. */
export const PARALLEL_MIN_BYTES = 64 << 20;

export interface SummarizeTraceOptions extends SummaryOptions {
  /** The process to summarize (default: the root). */
  pid?: number;
  /** Worker threads to walk files with; 0 walks in this thread. Default: RECALL_SUMMARY_WORKERS, else automatic. */
  workers?: number;
  verify?: boolean;
}

export interface TraceSummary {
  summary: Summary;
  dir: string;
  manifest: Manifest;
  /** Every thread of the process (also those --thread left out). */
  threads: ManifestThread[];
}

const EMPTY_WALK: ThreadWalk = { events: 0, droppedFromMarkers: 0, firstMs: Infinity, lastMs: -Infinity, maxDepth: 0 };

/**
 * Worker threads to start: the option, else RECALL_SUMMARY_WORKERS, else (when the files hold
 * PARALLEL_MIN_BYTES or more) one per thread file but the one this thread walks, up to the CPUs
 * but this one. Decided from the directory alone (before the manifest is read) so that the
 * workers start while it is.
 */
function workerCount(dir: string, options: SummarizeTraceOptions): number {
  let files: string[];
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.idx'));
  } catch {
    return 0; // beginOpening says what is wrong
  }
  let chosen = options.workers;
  const env = process.env['RECALL_SUMMARY_WORKERS']?.trim();
  if (chosen === undefined && env !== undefined && /^\d+$/.test(env)) chosen = Number(env);
  if (chosen !== undefined) return Math.max(0, Math.min(chosen, files.length - 1));
  let bytes = 0;
  for (const file of files) {
    try {
      bytes += statSync(join(dir, file)).size;
    } catch {
      // unreadable: reported when it is read
    }
  }
  // One file, or one CPU: a worker would only add its start-up.
  return bytes >= PARALLEL_MIN_BYTES ? Math.max(0, Math.min(availableParallelism(), files.length) - 1) : 0;
}

/** Summary workers, started before there is work for them; a worker that fails or exits fails the summary. */
class WorkerPool {
  readonly workers: Worker[] = [];
  private failure: Error | null = null;
  private onFailure: ((error: Error) => void) | null = null;
  private stopped = false;

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./summary-worker.js', import.meta.url));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => this.fail(new Error(`summary worker exited (code ${code}) before the trace was read`)));
      this.workers.push(worker);
    }
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    this.failure ??= error;
    this.onFailure?.(error);
  }

  /** Call `handler` on the first failure (now, if there was one already). */
  whenFailed(handler: (error: Error) => void): void {
    this.onFailure = handler;
    if (this.failure) handler(this.failure);
  }

  stop(): void {
    this.stopped = true;
    for (const worker of this.workers) {
      worker.removeAllListeners();
      void worker.terminate();
    }
  }
}

/** A thread file's read failure: the file's problem line, or (not a file-system error) a bug. */
function unreadable(opening: TraceOpening, file: string, error: { code?: string | null; message: string }): void {
  if (!error.code) throw error instanceof Error ? error : new Error(error.message);
  threadFileUnreadable(opening, file, error);
}

export async function summarizeTrace(path: string, options: SummarizeTraceOptions = {}): Promise<TraceSummary> {
  // Workers take tens of milliseconds to start: start them before reading the manifest.
  const pool = new WorkerPool(workerCount(resolveTraceDir(path), options));
  try {
    return await summarizeWith(pool, path, options);
  } finally {
    pool.stop();
  }
}

async function summarizeWith(pool: WorkerPool, path: string, options: SummarizeTraceOptions): Promise<TraceSummary> {
  const opening = beginOpening(path, options.pid === undefined ? {} : { pid: options.pid });
  const table = readFunctionTable(opening);
  const size = tableSize(table.functions);
  const builder = new SummaryBuilder(opening.manifest, size);
  const verify = options.verify !== false;
  const threads: ManifestThread[] = [];
  const selected = (id: number): boolean => options.thread === undefined || id === options.thread;
  /** Whether to walk a file: not when the manifest names it as another thread than --thread's. */
  const walkFile = (file: string): boolean => {
    const listed = opening.listed.get(file);
    return listed === undefined || selected(listed.id);
  };

  /** Take one file's results, in trace order. `walk` is null when the file was not walked. */
  const take = (file: string, outcome: ThreadFileOutcome, walk: ThreadWalk | null, sums: Sums | null, redo: (() => { walk: ThreadWalk; sums: Sums }) | null): void => {
    const { info } = acceptThreadFile(opening, file, outcome);
    threads.push(info);
    if (!selected(info.id)) return;
    if (walk === null || sums === null) throw new Error(`summary: ${file} was not walked`);
    if (redo) ({ walk, sums } = redo());
    builder.addThread(info, outcome.header, walk, sums);
  };

  const workers = pool.workers.slice(0, Math.max(0, opening.files.length - 1));
  if (workers.length === 0) {
    warmUpWalk();
    for (const file of opening.files) {
      const walker = walkFile(file) ? new ThreadWalker(size, builder.priors) : null;
      let outcome: ThreadFileOutcome;
      try {
        outcome = readThreadFile(join(opening.dir, file), verify, walker);
      } catch (error) {
        unreadable(opening, file, error as NodeJS.ErrnoException);
        continue;
      }
      const walk = walker ? walker.end() : null;
      take(file, outcome, walk, walker ? walker.sums() : null, null);
    }
  } else {
    await inParallel(opening, pool, workers, verify, size, walkFile, (file, reply) => {
      if (!reply.ok) {
        unreadable(opening, file, reply);
        return;
      }
      const redo =
        reply.sums && builder.needsPriors(reply.sums.estimatedWith)
          ? () => {
              // The worker's estimates lacked the threads before this one: walk it again with them.
              warmUpWalk();
              const walker = new ThreadWalker(size, builder.priors);
              readThreadFile(join(opening.dir, file), verify, walker);
              return { walk: walker.end(), sums: walker.sums() };
            }
          : null;
      take(file, reply.outcome, reply.walk, reply.sums, redo);
    });
  }

  const functions = finishOpening(opening, table);
  if (options.thread !== undefined && !threads.some((t) => t.id === options.thread)) {
    const ids = threads.map((t) => `${t.id} (${t.name})`).join(', ');
    throw new RecallError('E_NO_MATCH', `summary: no thread ${options.thread} in this trace; threads: ${ids || 'none'}`);
  }
  const summary = builder.finish(opening.dir, functions, opening.problems, options);
  return { summary, dir: opening.dir, manifest: opening.manifest, threads };
}

/** A worker's start-up, in bytes of thread file this thread walks meanwhile (about 50 ms). */
const WORKER_START_BYTES = 64 << 20;

/**
 * Read and walk the opening's files in this thread and `workers`, each with a fixed share
 * decided up front (largest files first, each to the least loaded; the workers start with
 * WORKER_START_BYTES of load for their start-up); `take` gets every file's reply in trace order.
 */
async function inParallel(
  opening: TraceOpening,
  pool: WorkerPool,
  workers: Worker[],
  verify: boolean,
  size: number,
  walkFile: (file: string) => boolean,
  take: (file: string, reply: WorkerReply) => void,
): Promise<void> {
  const files = opening.files;
  const sizes = files.map((file) => {
    try {
      return statSync(join(opening.dir, file)).size;
    } catch {
      return 0;
    }
  });
  // Share 0 is this thread's.
  const shares: number[][] = [[], ...workers.map(() => [])];
  const load = [0, ...workers.map(() => WORKER_START_BYTES)];
  const order = files.map((_, i) => i).sort((a, b) => (sizes[b] as number) - (sizes[a] as number) || a - b);
  for (const index of order) {
    const least = load.indexOf(Math.min(...load));
    (shares[least] as number[]).push(index);
    load[least] = (load[least] as number) + (sizes[index] as number);
  }
  const task = (index: number): WorkerTask => {
    const file = files[index] as string;
    return { id: index, path: join(opening.dir, file), verify, size: walkFile(file) ? size : -1 };
  };
  const replies: (WorkerReply | undefined)[] = new Array(files.length);
  let pending = files.length - (shares[0] as number[]).length;
  const theirs = new Promise<void>((resolve, reject) => {
    if (pending === 0) resolve();
    pool.whenFailed(reject);
    workers.forEach((worker, w) => {
      worker.on('message', (reply: WorkerReply) => {
        replies[reply.id] = reply;
        if (--pending === 0) resolve();
      });
      for (const index of shares[w + 1] as number[]) worker.postMessage(task(index));
    });
  });
  theirs.catch(() => {}); // awaited below, after this thread's share
  warmUpWalk();
  for (const index of shares[0] as number[]) replies[index] = runTask(task(index)).reply;
  await theirs;
  replies.forEach((reply, index) => take(files[index] as string, reply as WorkerReply));
}
