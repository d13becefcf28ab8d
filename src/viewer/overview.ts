// The viewer's overview of the trace: its command, processes and threads with their time
// extents (the window the threads ran in, not the process's start), and what was lost.

import type { QueryTrace } from '../query/open.js';

export interface ThreadExtent {
  index: number;
  id: number;
  name: string;
  events: number;
  startNs: number;
  endNs: number;
}

export function overview(q: QueryTrace): unknown {
  const { engine, manifest } = q;
  const threads: ThreadExtent[] = engine.threads.map((t, index) => {
    const ix = t.index;
    const first = ix.segTime.length > 0 ? (ix.segTime[0] as number) : ix.lastTime;
    return {
      index,
      id: ix.threadId,
      name: q.threads[index]?.name ?? ix.name,
      events: ix.records,
      startNs: engine.times ? Math.round((t.shiftMs + first) * 1e6) : 0,
      endNs: engine.times ? Math.round((t.shiftMs + ix.lastTime) * 1e6) : ix.records,
    };
  });
  // The window the threads ran in (not from the process's start: its first ~50-400 ms load Node).
  const startNs = threads.length > 0 ? Math.min(...threads.map((t) => t.startNs)) : 0;
  const endNs = Math.max(startNs + 1, ...threads.map((t) => t.endNs));
  return {
    dir: q.dir,
    command: manifest.command,
    pid: manifest.pid,
    times: engine.times,
    clock: manifest.clock.mode ?? 'exact',
    startNs,
    endNs,
    processes: [{ pid: manifest.pid, command: manifest.command, threads: threads.map((t) => t.index) }],
    threads,
    problems: q.problems,
  };
}

