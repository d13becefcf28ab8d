// `recall tree [trace]`: the exact call tree of a thread, in order, with durations, arguments and
// return values where the detail lane recorded them, and async hops (awaits) in place: an async
// call's work after an await stays under that call. Runs of the same leaf call are folded into
// one line, calls shorter than --min-time into a count, and --depth cuts the tree. Runtime spans
// (HTTP, fetch) show in place as `⇢ kind METHOD path (duration)` lines in the call that was
// running when they began, and a callback's root call says which call scheduled it. Built by
// the query engine (callTree): text stops walking once its --max-lines are final, and --depth
// skips the parts of the thread that only deeper calls ran in.

import { hasTimes, type Trace } from '../analysis/trace.js';
import type { Call } from '../analysis/calls.js';
import { RecallError } from '../format/errors.js';
import { spanLabel } from '../analysis/runtime-events.js';
import { openQuery, type QueryTrace } from '../query/open.js';
import type { CallTree } from '../query/engine.js';
import { duration, parse, positiveInteger } from './args.js';
import { callJson, durationOf, type CallJson } from './call-text.js';
import { formatCount } from '../text/format.js';
import { scheduledByName, treeText } from './tree-text.js';
import { formatOption, pickThreads, printJson, viewProcess } from './view-common.js';

export const TREE_HELP = `usage: recall tree [trace] [--thread ID] [--depth N] [--min-time D] [--max-lines N] [--format text|json]

The exact call tree of a thread, with durations, values where recorded and awaits in place.

options:
  --process PID  a child process of the trace (default: the root; see recall info)
  --thread ID     the thread (default: main)
  --depth N       show N levels (default: all)
  --min-time D    fold calls shorter than D (e.g. 1ms) into a count
  --max-lines N   text lines at most (default 400)
  --format F      text (default) or json
`;

const OPTIONS = {
  thread: { type: 'string' },
  process: { type: 'string' },
  depth: { type: 'string' },
  'min-time': { type: 'string' },
  'max-lines': { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface TreeJson extends CallJson {
  children: TreeJson[];
  /** A callback root: the call that scheduled it ('(top level)' for module code). */
  scheduledBy?: string;
  /** Calls left out below this one (depth or min-time). */
  omitted: number;
}

function treeJson(trace: Trace, call: Call, depth: number, maxDepth: number, minNs: number): TreeJson {
  const children: TreeJson[] = [];
  let omitted = 0;
  // A call at the depth limit has no nodes below it, only their count.
  if (depth >= maxDepth) omitted = call.descendants;
  for (const child of call.children) {
    const d = durationOf(child);
    if (minNs > 0 && d !== null && d < minNs) omitted += 1 + child.descendants;
    else children.push(treeJson(trace, child, depth + 1, maxDepth, minNs));
  }
  const json: TreeJson = { ...callJson(trace, call), children, omitted };
  if (call.scheduledBy) json.scheduledBy = scheduledByName(call.scheduledBy);
  return json;
}

/**
 * Calls a tree keeps in memory at most (about 500 bytes each, with what the walk reads): past it, a tree whose lines are
 * not yet final (JSON lists every call; text waits, e.g., for an async call still awaiting at
 * the top) is refused rather than run out of memory.
 */
const MAX_NODES = 500_000;

function tooBig(format: string): RecallError {
  const how = format === 'json' ? 'JSON lists every call down to --depth' : 'the first lines wait for calls that are still open';
  return new RecallError('E_TOO_BIG', `tree: more than ${formatCount(MAX_NODES)} calls to hold (${how}): use --depth, --min-time or --thread, or recall export --format parquet for every call`);
}

/** Events lost to a full ring: where (when the whole thread was walked) and what it means for the tree. */
function dropWarning(lost: number, tree: CallTree): string {
  const where = tree.complete ? ` in ${tree.drops.length} gap${tree.drops.length === 1 ? '' : 's'}` : '';
  const forgotten = tree.drops.reduce((sum, d) => sum + d.forgotten, 0);
  const open = tree.complete ? `${formatCount(forgotten)} call${forgotten === 1 ? '' : 's'} open then show 'end lost'` : `calls open then show 'end lost'`;
  return `${formatCount(lost)} events dropped (the ring was full)${where}: the stack is unknown across a gap; ${open}`;
}

/** Calls on a thread, as the summary counts them (from the index). */
function callsOf(q: QueryTrace, threadIndex: number): number {
  let calls = 0;
  for (const stats of q.engine.functionStats(threadIndex)) calls += stats.calls;
  return calls;
}

export function treeCommand(args: string[]): number {
  const { values, positionals } = parse('tree', args, OPTIONS);
  if (values.help) {
    process.stdout.write(TREE_HELP);
    return 0;
  }
  const format = formatOption('tree', values.format);
  const maxDepth = positiveInteger('tree', '--depth', values.depth as string | undefined, Number.MAX_SAFE_INTEGER);
  const minNs = duration('tree', '--min-time', values['min-time'] as string | undefined, 0) * 1e6;
  const maxLines = positiveInteger('tree', '--max-lines', values['max-lines'] as string | undefined, 400);
  const q = openQuery(positionals[0] ?? 'recall-trace', viewProcess('tree', values.process));
  try {
    const trace = q.trace;
    const timed = hasTimes(trace);
    if (!timed && minNs > 0) throw new RecallError('E_USAGE', 'tree: --min-time needs times, and this trace was recorded with --timing none: use --depth or --max-lines');
    const threads = pickThreads('tree', trace, values.thread, 'main');
    if (format === 'json') {
      printJson({
        trace: trace.dir,
        threads: threads.map((thread) => {
          const tree = q.engine.callTree(trace.threads.indexOf(thread), {
            maxDepth,
            enough: (partial) => {
              if (partial.nodes > MAX_NODES) throw tooBig('json');
              return false;
            },
          });
          const spans = tree.spans.map((s) => ({ ...s.body, label: spanLabel(s.body), beginNs: s.ns, endNs: s.endNs, durationNs: s.endNs === null ? null : s.endNs - s.ns, inCall: s.inCall }));
          return { id: thread.info.id, name: thread.info.name, calls: tree.root.children.map((c) => treeJson(trace, c, 1, maxDepth, minNs)), spans, drops: tree.drops };
        }),
      });
      return 0;
    }
    const out: string[] = [];
    let truncated = false;
    for (const thread of threads) {
      if (out.length >= maxLines) {
        truncated = true;
        break;
      }
      const threadIndex = trace.threads.indexOf(thread);
      out.push(`thread ${thread.info.id} ${thread.info.name} · ${formatCount(callsOf(q, threadIndex))} calls${timed ? '' : ' · recorded with --timing none: no times'}`);
      const lost = q.engine.threads[threadIndex]?.index.droppedFromMarkers ?? 0;
      const options = { maxDepth, minNs, timed, limit: maxLines - out.length - (lost > 0 ? 1 : 0), preludeRecords: thread.header?.window?.prelude ?? 0 };
      // Walk until the lines to show (and one more: then more are due) can no longer change.
      const tree = q.engine.callTree(threadIndex, {
        maxDepth,
        enough: (partial) => {
          if (treeText(trace, partial, { ...options, limit: options.limit + 1, finalOnly: true }).lines.length > options.limit) return true;
          if (partial.nodes > MAX_NODES) throw tooBig('text');
          return false;
        },
      });
      if (lost > 0 && out.length < maxLines) out.push(`  WARNING: ${dropWarning(lost, tree)}`);
      const text = treeText(trace, tree, options);
      out.push(...text.lines);
      if (text.truncated) truncated = true;
    }
    if (truncated) out.push(`… (--max-lines ${maxLines} reached; use --depth${timed ? ', --min-time' : ''} or --max-lines)`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    q.close();
  }
}
