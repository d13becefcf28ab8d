// The trace as the viewer shows it: every process of a trace directory (or the one `--process`
// picked), each opened as its own QueryTrace (its own function table, engine and index), in
// tree order (the root first, each process followed by its children). It numbers the threads
// of all of them in one list (process order, then each process's thread order), puts every
// process's times on one axis (the first process's start as 0: each engine's times are since
// its own manifest's startEpochMs, so a process's are shifted by the difference) and turns the
// engines' call ids into the viewer's (ids.ts) and back. Answers are put together from these in
// processes.ts.

import { processTree, readProcessList } from '../analysis/processes.js';
import { isRecallError, RecallError } from '../format/errors.js';
import { openQuery, type QueryTrace } from '../query/open.js';
import { qualify, unqualify } from './ids.js';

export interface ViewerProcess {
  pid: number;
  parentPid: number | null;
  command: string[];
  /** Depth below the first process in the process tree. */
  depth: number;
  /** The viewer's first process: its ids are the engine's, unqualified. */
  first: boolean;
  q: QueryTrace;
  /** Add to this process's engine times (ns) to put them on the viewer's axis. */
  offsetNs: number;
  /** The viewer's index of this process's thread 0. */
  firstThread: number;
}

export class ViewerTrace {
  readonly processes: ViewerProcess[];
  /** What could not be opened (a process whose files are unreadable), one line each. */
  readonly problems: string[];
  private readonly byPid = new Map<number, ViewerProcess>();

  /** The processes, the first one's threads numbered from 0 and its start as time 0. */
  constructor(traces: { q: QueryTrace; parentPid: number | null; depth: number }[], problems: string[] = []) {
    if (traces.length === 0) throw new RecallError('E_USAGE', 'view: no process of the trace could be opened');
    const start = traces[0]!.q.manifest.startEpochMs;
    let firstThread = 0;
    this.processes = traces.map(({ q, parentPid, depth }, i) => {
      const p: ViewerProcess = { pid: q.manifest.pid, parentPid, command: q.manifest.command, depth, first: i === 0, q, offsetNs: i === 0 || !start || !q.manifest.startEpochMs ? 0 : Math.round((q.manifest.startEpochMs - start) * 1e6), firstThread };
      firstThread += q.engine.threads.length;
      this.byPid.set(p.pid, p);
      return p;
    });
    this.problems = problems;
  }

  /** One process only (`recall view --process PID`, and tests): as it was before processes were shown together. */
  static of(q: QueryTrace): ViewerTrace {
    return new ViewerTrace([{ q, parentPid: q.manifest.parentPid ?? null, depth: 0 }]);
  }

  /**
   * Open a trace for the viewer: the process `pid` alone when given, else every process of the
   * trace directory (each one's index loaded, or built and written when missing). A child
   * process that cannot be opened is left out and said in `problems`; the root must open.
   */
  static open(path: string, options: { pid?: number } = {}): ViewerTrace {
    if (options.pid !== undefined) return ViewerTrace.of(openQuery(path, { pid: options.pid }));
    const root = openQuery(path);
    const list = readProcessList(root.dir);
    const problems: string[] = [];
    const opened: { q: QueryTrace; parentPid: number | null; depth: number }[] = [];
    // The tree below the root; the root first even if the list names another top (a damaged link).
    const tree = processTree(list.processes);
    const rootPid = root.manifest.pid;
    opened.push({ q: root, parentPid: null, depth: 0 });
    for (const { process: p, depth } of tree) {
      if (p.pid === rootPid) continue;
      try {
        opened.push({ q: openQuery(root.dir, { pid: p.pid }), parentPid: p.parentPid, depth: Math.max(1, depth) });
      } catch (error) {
        if (!isRecallError(error)) throw error;
        problems.push(`process ${p.pid} is not shown: ${error.message}`);
      }
    }
    return new ViewerTrace(opened, problems);
  }

  get dir(): string {
    return this.first.q.dir;
  }

  get first(): ViewerProcess {
    return this.processes[0]!;
  }

  /** Every process's times, or none has (a --timing none trace). */
  get times(): boolean {
    return this.first.q.engine.times;
  }

  get threadCount(): number {
    const last = this.processes.at(-1)!;
    return last.firstThread + last.q.engine.threads.length;
  }

  /** The process of a pid (undefined or null: the first). */
  process(pid: number | null | undefined): ViewerProcess {
    if (pid === null || pid === undefined) return this.first;
    const p = this.byPid.get(pid);
    if (!p) throw new RecallError('E_USAGE', `no process ${pid} in this view: processes ${[...this.byPid.keys()].join(', ')}`);
    return p;
  }

  /** The process and its own thread index of one of the viewer's thread indexes. */
  thread(index: number): { p: ViewerProcess; local: number } {
    if (!Number.isInteger(index) || index < 0 || index >= this.threadCount) throw new RecallError('E_USAGE', `no thread ${index}: threads are 0-${this.threadCount - 1}`);
    for (let i = this.processes.length - 1; i >= 0; i--) {
      const p = this.processes[i]!;
      if (index >= p.firstThread) return { p, local: index - p.firstThread };
    }
    throw new RecallError('E_USAGE', `no thread ${index}`);
  }

  /** The viewer's id of an engine id of process `p` (null stays null). */
  idOf(p: ViewerProcess, id: string): string;
  idOf(p: ViewerProcess, id: string | null): string | null;
  idOf(p: ViewerProcess, id: string | null): string | null {
    return id === null ? null : qualify(id, p.first ? null : p.pid);
  }

  /** The process and engine id a viewer id names. */
  route(id: string): { p: ViewerProcess; id: string } {
    const parsed = unqualify(id);
    return { p: this.process(parsed.pid), id: parsed.id };
  }

  /**
   * Open every process's trace again: a part of an index read on first use was found damaged
   * (E_INDEX_DAMAGED; its file is deleted by then), and opening builds it anew. Each process
   * keeps its place, pid and thread numbering; answers cached per QueryTrace start over.
   */
  reopen(): void {
    for (const p of this.processes) {
      const old = p.q;
      p.q = openQuery(old.dir, { pid: old.manifest.pid });
      old.close();
    }
  }

  close(): void {
    for (const p of this.processes) p.q.close();
  }
}
