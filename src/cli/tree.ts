// `recall tree [trace]`: the exact call tree of a thread, in order, with durations, arguments and
// return values where the detail lane recorded them, and async hops (awaits) in place: an async
// call's work after an await stays under that call. Runs of the same leaf call are folded into
// one line, calls shorter than --min-time into a count, and --depth cuts the tree. Runtime spans
// (HTTP, fetch) show in place as `⇢ kind METHOD path (duration)` lines in the call that was
// running when they began, and a callback's root call says which call scheduled it.

import { hasTimes, type Trace } from '../analysis/trace.js';
import { RecallError } from '../format/errors.js';
import { walkCalls, type Call, type ThreadCalls } from '../analysis/calls.js';
import { spanLabel } from '../analysis/runtime-events.js';
import { duration, parse, positiveInteger } from './args.js';
import { callJson, callLine, durationOf, whereOf, type CallJson } from './call-text.js';
import { formatCount, formatNs } from '../text/format.js';
import { formatOption, openViewTrace, pickThreads, printJson } from './view-common.js';

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

function countCalls(call: Call): number {
  return call.descendants;
}

function treeJson(trace: Trace, call: Call, depth: number, maxDepth: number, minNs: number): TreeJson {
  const children: TreeJson[] = [];
  let omitted = 0;
  for (const child of call.children) {
    const d = durationOf(child);
    if (depth + 1 > maxDepth || (minNs > 0 && d !== null && d < minNs)) omitted += 1 + countCalls(child);
    else children.push(treeJson(trace, child, depth + 1, maxDepth, minNs));
  }
  const json: TreeJson = { ...callJson(trace, call), children, omitted };
  if (call.scheduledBy) json.scheduledBy = scheduledByName(call.scheduledBy);
  return json;
}

function scheduledByName(call: Call): string {
  return call.depth < 0 ? '(top level)' : call.name;
}

type SpanMark = ThreadCalls['marks'][number];

/** Spans by the call running when they began (the root when none). */
function spansByCall(walk: ThreadCalls): Map<Call, SpanMark[]> {
  const map = new Map<Call, SpanMark[]>();
  for (const mark of walk.marks) {
    if (!mark.span) continue;
    let list = map.get(mark.call);
    if (!list) map.set(mark.call, (list = []));
    list.push(mark);
  }
  return map;
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
  const trace = openViewTrace('tree', positionals[0], values.process);
  const timed = hasTimes(trace);
  if (!timed && minNs > 0) throw new RecallError('E_USAGE', 'tree: --min-time needs times, and this trace was recorded with --timing none: use --depth or --max-lines');
  const threads = pickThreads('tree', trace, values.thread, 'main');
  if (format === 'json') {
    printJson({
      trace: trace.dir,
      threads: threads.map((thread) => {
        const walk = walkCalls(trace, thread, { keepChildren: maxDepth });
        const spans = walk.marks
          .filter((m) => m.span)
          .map((m) => ({ ...m.body, label: spanLabel(m.body), beginNs: m.ns, endNs: m.endNs ?? null, durationNs: m.endNs == null ? null : m.endNs - m.ns, inCall: m.call.depth < 0 ? null : m.call.enterEvent }));
        return { id: thread.info.id, name: thread.info.name, calls: walk.root.children.map((c) => treeJson(trace, c, 1, maxDepth, minNs)), spans, drops: walk.drops };
      }),
    });
    return 0;
  }
  const out: string[] = [];
  let truncated = false;
  const emit = (line: string): boolean => {
    if (out.length >= maxLines) {
      truncated = true;
      return false;
    }
    out.push(line);
    return true;
  };
  let spansOf = new Map<Call, SpanMark[]>();
  const render = (call: Call, indent: string, depth: number): void => {
    const scheduled = call.scheduledBy ? `  ⤷ scheduled by ${scheduledByName(call.scheduledBy)}` : '';
    if (!emit(`${indent}${callLine(trace, call)}${scheduled}`)) return;
    const inner = indent + '  ';
    if (depth >= maxDepth) {
      const n = countCalls(call);
      if (n > 0) emit(`${inner}… ${formatCount(n)} calls below (--depth)`);
      return;
    }
    renderChildren(call, inner, depth);
  };
  const renderChildren = (call: Call, indent: string, depth: number): void => {
    // Awaits and spans of this call, in time order, shown before the first child that started after them.
    const notes: { ns: number; hop?: Call['hops'][number]; span?: SpanMark }[] = [
      ...call.hops.map((hop) => ({ ns: hop.suspendNs, hop })),
      ...(spansOf.get(call) ?? []).map((span) => ({ ns: span.ns, span })),
    ].sort((a, b) => a.ns - b.ns);
    // Calls that start while a span of this level is open are shown beneath it (an HTTP
    // request's handler under its span); a span ends its nesting when it ends.
    const open: SpanMark[] = [];
    const at = (): string => indent + '  '.repeat(open.length);
    const closeBefore = (ns: number): void => {
      while (open.length > 0 && (open[open.length - 1] as SpanMark).endNs != null && ((open[open.length - 1] as SpanMark).endNs as number) < ns) open.pop();
    };
    const emitNote = (note: (typeof notes)[number]): void => {
      closeBefore(note.ns);
      if (note.hop) emitHop(note.hop, at());
      else if (note.span) {
        emitSpan(note.span, at());
        open.push(note.span);
      }
    };
    let folded = 0;
    let foldedNs = 0;
    const flushFolded = (): void => {
      if (folded > 0) emit(`${at()}… ${formatCount(folded)} call${folded === 1 ? '' : 's'} under ${formatNs(minNs)} (${formatNs(foldedNs)} in all)`);
      folded = 0;
      foldedNs = 0;
    };
    const children = call.children;
    for (let i = 0; i < children.length; i++) {
      const child = children[i] as Call;
      while (notes.length > 0 && (notes[0] as { ns: number }).ns <= child.enterNs) emitNote(notes.shift()!);
      closeBefore(child.enterNs);
      const d = durationOf(child);
      if (minNs > 0 && d !== null && d < minNs) {
        folded += 1 + countCalls(child);
        foldedNs += d;
        continue;
      }
      flushFolded();
      // Fold a run of the same leaf call without values: "name ×N".
      let run = 1;
      while (
        child.children.length === 0 &&
        child.snapshots.length === 0 &&
        i + run < children.length &&
        (children[i + run] as Call).fn === child.fn &&
        (children[i + run] as Call).children.length === 0 &&
        (children[i + run] as Call).snapshots.length === 0 &&
        (children[i + run] as Call).outcome === child.outcome
      ) {
        run++;
      }
      if (run > 1) {
        let total = 0;
        for (let k = 0; k < run; k++) total += durationOf(children[i + k] as Call) ?? 0;
        if (!emit(`${at()}${child.name} ×${formatCount(run)}  ${timed ? `${formatNs(total)} in all  ` : ''}${whereOf(trace, child.fn)}`)) return;
        i += run - 1;
        continue;
      }
      render(child, at(), depth + 1);
      if (truncated) return;
    }
    flushFolded();
    for (const note of notes) emitNote(note);
  };
  const emitSpan = (span: SpanMark, indent: string): void => {
    const state = span.endNs == null ? ' (unfinished)' : timed ? ` (${formatNs(span.endNs - span.ns)})` : '';
    emit(`${indent}⇢ ${spanLabel(span.body)}${state}`);
  };
  const emitHop = (hop: { suspendNs: number; resumeNs: number | null }, indent: string): void => {
    emit(`${indent}⏸ await${hop.resumeNs === null ? ' (never resumed)' : timed ? ` ${formatNs(hop.resumeNs - hop.suspendNs)}` : ''}`);
  };
  for (const thread of threads) {
    const walk = walkCalls(trace, thread, { keepChildren: maxDepth });
    spansOf = spansByCall(walk);
    emit(`thread ${thread.info.id} ${thread.info.name} · ${formatCount(countCalls(walk.root))} calls${timed ? '' : ' · recorded with --timing none: no times'}`);
    if (walk.drops.length > 0) {
      const lost = walk.drops.reduce((sum, d) => sum + d.count, 0);
      const forgotten = walk.drops.reduce((sum, d) => sum + d.forgotten, 0);
      emit(`  WARNING: ${formatCount(lost)} events dropped (the ring was full) in ${walk.drops.length} gap${walk.drops.length === 1 ? '' : 's'}: the stack is unknown across a gap; ${formatCount(forgotten)} call${forgotten === 1 ? '' : 's'} open then show 'end lost'`);
    }
    renderChildren(walk.root, '  ', 0);
  }
  if (truncated) out.push(`… (--max-lines ${maxLines} reached; use --depth${timed ? ', --min-time' : ''} or --max-lines)`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
