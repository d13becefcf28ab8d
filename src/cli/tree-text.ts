// `recall tree` as text: a thread's call tree (the engine's callTree) as indented lines, in
// order. Awaits (⏸) and runtime spans (⇢, with the calls that ran under them nested beneath)
// show in place among a call's children; runs of the same leaf call fold into `name ×N`, calls
// shorter than --min-time into a count, and a call at --depth says how many calls are below it.
// The same renderer answers, while the engine is still walking, how many of the first lines
// are already final (`finalOnly`): it stops at the first line that what is not walked yet could
// change, so the walk can end as soon as the view has its lines.

import type { Call, Hop } from '../analysis/calls.js';
import { spanLabel } from '../analysis/runtime-events.js';
import type { Trace } from '../analysis/trace.js';
import type { CallTree, TreeSpan } from '../query/engine.js';
import { formatCount, formatNs } from '../text/format.js';
import { callLine, durationOf, whereOf } from './call-text.js';

export interface TreeTextOptions {
  maxDepth: number;
  /** Fold calls shorter than this (ns; 0: none). */
  minNs: number;
  timed: boolean;
  /** Lines at most. */
  limit: number;
  /** Only the lines no later record can change (see the top of the file). */
  finalOnly?: boolean;
  /** A bounded trace's prelude (format/window.ts): calls entered in its first records began before the kept window. */
  preludeRecords?: number;
}

export interface TreeText {
  lines: string[];
  /** More lines were due than `limit` allows. */
  truncated: boolean;
}

type Note = { event: number; hop?: Hop; span?: TreeSpan };

export function scheduledByName(call: Call): string {
  return call.depth < 0 ? '(top level)' : call.name;
}

export function treeText(trace: Trace, tree: CallTree, o: TreeTextOptions): TreeText {
  const out: string[] = [];
  let truncated = false;
  /** finalOnly: a line that may still change was reached; nothing after it is rendered. */
  let halted = false;
  const finalOnly = o.finalOnly === true;
  const halt = (): void => {
    halted = true;
  };
  const emit = (line: string): boolean => {
    if (halted || truncated) return false;
    if (out.length >= o.limit) {
      truncated = true;
      return false;
    }
    out.push(line);
    return true;
  };
  const stopped = (): boolean => halted || truncated;
  /** Not ended where the walk has read (it may gain children, awaits, values). */
  const isOpen = (call: Call): boolean => (call.depth < 0 ? !tree.complete : call.exitEvent === null && call.outcome === null && call.openUntilNs === null);
  /** Ended, and the record after its end (which may hold its values) has been read. */
  const settled = (call: Call): boolean => tree.complete || !isOpen(call) && (call.exitEvent === null || call.exitEvent < tree.walkedTo - 1);
  /** Its count of calls below is known for good. */
  const counted = (call: Call): boolean => !finalOnly || tree.complete || !tree.pending.has(call);
  const spansOf = new Map<Call, TreeSpan[]>();
  for (const span of tree.spans) {
    if (!span.call) continue;
    let list = spansOf.get(span.call);
    if (!list) spansOf.set(span.call, (list = []));
    list.push(span);
  }

  const render = (call: Call, indent: string, depth: number): void => {
    // An open call's own line is final: the index has its end, outcome and awaits in all.
    if (finalOnly && !isOpen(call) && !settled(call)) return halt();
    const scheduled = call.scheduledBy ? `  ⤷ scheduled by ${scheduledByName(call.scheduledBy)}` : '';
    const before = call.enterEvent < (o.preludeRecords ?? 0) ? '  (began before the kept window)' : '';
    if (!emit(`${indent}${callLine(trace, call)}${before}${scheduled}`)) return;
    const inner = indent + '  ';
    if (depth >= o.maxDepth) {
      if (!counted(call)) return halt();
      const n = call.descendants;
      if (n > 0) emit(`${inner}… ${formatCount(n)} calls below (--depth)`);
      return;
    }
    renderChildren(call, inner, depth);
  };

  const renderChildren = (call: Call, indent: string, depth: number): void => {
    const open = finalOnly && isOpen(call);
    // Awaits and spans of this call, in order, shown before the first child that began after them.
    const notes: Note[] = [...call.hops.map((hop) => ({ event: tree.hopEvents.get(hop) ?? -1, hop })), ...(spansOf.get(call) ?? []).map((span) => ({ event: span.event, span }))].sort((a, b) => a.event - b.event);
    // Calls that start while a span of this level is open are shown beneath it (an HTTP
    // request's handler under its span); a span ends its nesting when it ends.
    const spans: TreeSpan[] = [];
    const at = (): string => indent + '  '.repeat(spans.length);
    const closeBefore = (event: number): void => {
      while (spans.length > 0 && (spans[spans.length - 1] as TreeSpan).endEvent !== null && ((spans[spans.length - 1] as TreeSpan).endEvent as number) < event) spans.pop();
    };
    const emitNote = (note: Note): void => {
      closeBefore(note.event);
      if (note.hop) {
        if (open && note.hop.resumeNs === null) return halt();
        emitHop(note.hop, at());
      } else if (note.span) {
        if (finalOnly && note.span.endEvent === null && !tree.complete) return halt();
        emitSpan(note.span, at());
        spans.push(note.span);
      }
    };
    let folded = 0;
    let foldedNs = 0;
    const flushFolded = (): void => {
      if (folded > 0) emit(`${at()}… ${formatCount(folded)} call${folded === 1 ? '' : 's'} under ${formatNs(o.minNs)} (${formatNs(foldedNs)} in all)`);
      folded = 0;
      foldedNs = 0;
    };
    const leaf = (c: Call): boolean => c.children.length === 0 && c.descendants === 0 && c.snapshots.length === 0;
    /** Its count and shape are known for good (finalOnly), else halt. */
    const known = (c: Call): boolean => {
      if (finalOnly && (!settled(c) || !counted(c))) halt();
      return !halted;
    };
    const children = call.children;
    for (let i = 0; i < children.length && !stopped(); i++) {
      const child = children[i] as Call;
      while (notes.length > 0 && (notes[0] as Note).event < child.enterEvent && !stopped()) emitNote(notes.shift() as Note);
      if (stopped()) return;
      closeBefore(child.enterEvent);
      // Still open: whether it stays a leaf (a run's member) is not known yet; how long it runs
      // is (the index has its end), but not its count of calls below, should it be folded.
      const childOpen = finalOnly && isOpen(child);
      if (childOpen && leaf(child)) return halt();
      const end = childOpen ? tree.ends.get(child) : child.exitNs;
      const d = end === null || end === undefined ? null : end - child.enterNs;
      if (o.minNs > 0 && d !== null && d < o.minNs) {
        if (childOpen || !known(child)) return halt();
        folded += 1 + child.descendants;
        foldedNs += d;
        continue;
      }
      flushFolded();
      // Fold a run of the same leaf call without values: "name ×N".
      let run = 1;
      // Whether it is a leaf (a run's member) is known once its count and values are.
      if (child.children.length === 0 && child.snapshots.length === 0 && !known(child)) return;
      if (leaf(child)) {
        for (;;) {
          const next = children[i + run];
          if (next === undefined) {
            if (open) return halt();
            break;
          }
          // A run ends at an await or a span of this call (shown between the calls).
          if (!known(next)) return;
          if (next.fn !== child.fn || !leaf(next) || (notes.length > 0 && (notes[0] as Note).event < next.enterEvent)) break;
          const nd = durationOf(next);
          if (next.outcome !== child.outcome || (o.minNs > 0 && nd !== null && nd < o.minNs)) break;
          run++;
        }
      }
      if (run > 1) {
        let total = 0;
        for (let k = 0; k < run; k++) total += durationOf(children[i + k] as Call) ?? 0;
        if (!emit(`${at()}${child.name} ×${formatCount(run)}  ${o.timed ? `${formatNs(total)} in all  ` : ''}${whereOf(trace, child.fn)}`)) return;
        i += run - 1;
        continue;
      }
      render(child, at(), depth + 1);
    }
    if (stopped()) return;
    if (open && folded > 0) return halt();
    flushFolded();
    for (const note of notes) if (!stopped()) emitNote(note);
    if (open) halt();
  };

  const emitSpan = (span: TreeSpan, indent: string): void => {
    const state = span.endNs === null ? ' (unfinished)' : o.timed ? ` (${formatNs(span.endNs - span.ns)})` : '';
    emit(`${indent}⇢ ${spanLabel(span.body)}${state}`);
  };
  const emitHop = (hop: Hop, indent: string): void => {
    emit(`${indent}⏸ await${hop.resumeNs === null ? ' (never resumed)' : o.timed ? ` ${formatNs(hop.resumeNs - hop.suspendNs)}` : ''}`);
  };
  renderChildren(tree.root, '  ', 0);
  return { lines: out, truncated };
}
