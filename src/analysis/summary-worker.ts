// A summary worker (worker_threads): reads, verifies and walks the thread files it is sent, one
// at a time, and posts back what it found and the thread's per-function sums (transferred, not
// copied). Walks here are made without priors (the threads before this one are walked elsewhere
// at the same time); summarizeTrace redoes the rare walk whose estimates needed them. The main
// thread runs the same tasks with runTask while the workers run theirs.

import { parentPort } from 'node:worker_threads';
import { readThreadFile, type ThreadFileOutcome } from './thread-file.js';
import { ThreadWalker, warmUpWalk, type Sums, type ThreadWalk } from './walk.js';

export interface WorkerTask {
  id: number;
  path: string;
  verify: boolean;
  /** Accumulator size (function table); -1: scan only, do not walk. */
  size: number;
}

export type WorkerReply =
  | { id: number; ok: true; outcome: ThreadFileOutcome; walk: ThreadWalk | null; sums: Sums | null }
  | { id: number; ok: false; code: string | null; message: string };

/** Do one task (in a worker, or in the main thread alongside the workers). */
export function runTask(task: WorkerTask): { reply: WorkerReply; transfer: ArrayBuffer[] } {
  try {
    const walker = task.size >= 0 ? new ThreadWalker(task.size, null) : null;
    const outcome = readThreadFile(task.path, task.verify, walker);
    const walk = walker ? walker.end() : null;
    const sums = walker ? walker.sums() : null;
    const transfer = sums ? [sums.ids.buffer, sums.rows.buffer, sums.estimatedWith.buffer] : [];
    return { reply: { id: task.id, ok: true, outcome, walk, sums }, transfer };
  } catch (error) {
    return { reply: { id: task.id, ok: false, code: (error as NodeJS.ErrnoException).code ?? null, message: (error as Error).message }, transfer: [] };
  }
}

if (parentPort) {
  const port = parentPort;
  warmUpWalk();
  port.on('message', (task: WorkerTask) => {
    const { reply, transfer } = runTask(task);
    port.postMessage(reply, transfer);
  });
}
