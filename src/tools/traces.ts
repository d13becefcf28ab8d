// The traces a tool session may read: every path is resolved against the root (default: the
// current directory) and refused when it leads outside it, through links too. Opened traces
// are kept, with their index and the per-thread call models the exception answers need, until
// the trace's manifest changes (a recording that finished, a new recording in `latest`).

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { RecallError } from '../format/errors.js';
import { resolveTraceDir } from '../analysis/trace.js';
import { walkCalls, type ThreadCalls } from '../analysis/calls.js';
import { hasCurrentIndex, openQuery, type QueryTrace } from '../query/open.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Opened {
  stamp: string;
  query: QueryTrace | null;
  calls: Map<number, ThreadCalls>;
}

function stampOf(dir: string): string {
  try {
    const stat = statSync(join(dir, 'manifest.json'));
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'none';
  }
}

export interface TraceStoreOptions {
  /**
   * Build a missing or stale index in a child process (`recall index`) rather than in this one:
   * a build takes a few hundred MB for a while, which a long-running server would keep.
   */
  buildInChild?: boolean;
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export class TraceStore {
  readonly root: string;
  private readonly opened = new Map<string, Opened>();
  private readonly buildInChild: boolean;

  constructor(root: string, options: TraceStoreOptions = {}) {
    this.buildInChild = options.buildInChild === true;
    try {
      this.root = realpathSync(resolve(root));
    } catch {
      throw new RecallError('E_TRACE_NOT_FOUND', `the root ${root} does not exist`);
    }
  }

  /** True when path (real) is the root or inside it. */
  inside(path: string): boolean {
    const rel = relative(this.root, path);
    return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
  }

  /** A trace directory under the root: the one named (relative to the root), else the latest. */
  resolve(trace?: string): string {
    const asked = trace === undefined || trace === '' ? join(this.root, 'recall-trace') : resolve(this.root, trace);
    let real: string;
    try {
      real = realpathSync(asked);
    } catch {
      if (!this.inside(resolve(asked))) throw outside(trace ?? asked, this.root);
      const where = this.root === sep ? '' : ` under ${this.root}`;
      throw new RecallError('E_TRACE_NOT_FOUND', trace === undefined ? `no trace${where}: record one (recall_record, or recall run -- node app.js)` : `no trace at ${trace}${where}`);
    }
    if (!this.inside(real)) throw outside(trace ?? asked, this.root);
    const dir = realpathSync(resolveTraceDir(real));
    if (!this.inside(dir)) throw outside(trace ?? asked, this.root);
    return dir;
  }

  private entry(dir: string): Opened {
    const stamp = stampOf(dir);
    let entry = this.opened.get(dir);
    if (!entry || entry.stamp !== stamp) {
      entry?.query?.close();
      entry = { stamp, query: null, calls: new Map() };
      this.opened.set(dir, entry);
    }
    return entry;
  }

  /**
   * Make sure the trace's index is current before it is used, building it in a child process
   * when the store was made so (else query() builds it in this one). A child that fails (a
   * trace directory that cannot be written, say) leaves the build to query().
   */
  async prepare(dir: string): Promise<void> {
    if (!this.buildInChild || this.opened.get(dir)?.stamp === stampOf(dir) || hasCurrentIndex(dir)) return;
    await new Promise<void>((done) => {
      const child = spawn(process.execPath, [CLI, 'index', dir], { stdio: 'ignore' });
      child.on('error', () => done());
      child.on('close', () => done());
    });
  }

  /** The indexed trace (the index is built and written beside it on first use). */
  query(dir: string): QueryTrace {
    const entry = this.entry(dir);
    if (!entry.query) {
      entry.query = openQuery(dir);
      entry.query.engine.warm();
    }
    return entry.query;
  }

  /** The call model of one thread (by its index in query(dir).trace.threads). */
  calls(dir: string, thread: number): ThreadCalls {
    const entry = this.entry(dir);
    let found = entry.calls.get(thread);
    if (!found) {
      // The query's trace view: the thread's records are read from its file piece by piece.
      const trace = this.query(dir).trace;
      const t = trace.threads[thread];
      if (!t) throw new RecallError('E_USAGE', `no thread ${thread} in this trace`);
      found = walkCalls(trace, t);
      entry.calls.set(thread, found);
    }
    return found;
  }

  /** Close what is open of a trace (its next use opens it again). */
  forget(dir: string): void {
    this.opened.get(dir)?.query?.close();
    this.opened.delete(dir);
  }

  /** The path to show for a trace: relative to the root. */
  name(dir: string): string {
    if (this.root === sep) return dir;
    return relative(this.root, dir) || '.';
  }

  close(): void {
    for (const entry of this.opened.values()) entry.query?.close();
    this.opened.clear();
  }
}

function outside(path: string, root: string): RecallError {
  return new RecallError('E_OUTSIDE_ROOT', `${path} is outside ${root}: only traces under the root can be read (start the server with --root DIR to change it)`);
}
