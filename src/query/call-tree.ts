// The exact call tree of one thread, built by the query engine's stack machine (the walk every
// query shares) instead of an object per event: only the calls down to `maxDepth` become
// nodes (the call model's Call, so views render them as before: children in order, awaits,
// values from the detail lane, the call that scheduled a callback's root call, spans); deeper
// calls are only counted into their ancestor at that depth. The sink below hears the machine;
// engine.callTree drives it segment by segment, skips segments that cannot hold a node (see
// canSkip) and stops early when the view has enough. No Node-only imports.

import { newCall, type Call, type Hop } from '../analysis/calls.js';
import { EXT_CALLBACK, EXT_CALLBACK_END, EXT_DETAIL, EXT_SCHEDULE, EXT_SPAN_BEGIN, EXT_SPAN_END } from '../format/layout.js';
import type { DetailValue } from './answers.js';
import { NullSink, OUT_DROPPED, OUT_LOST_EXIT, OUT_RETURN, OUT_THROW, OUT_UNFINISHED, PUSH_ORPHAN, PUSH_RESUME, type MachineSink, type StackMachine } from './machine.js';

/** A runtime span (HTTP, fetch) of the thread, at the call running when it began. */
export interface TreeSpan {
  ns: number;
  /** Position of its begin record, and of its end (null: it did not end in the trace). */
  event: number;
  endEvent: number | null;
  endNs: number | null;
  /** The node running when it began (the root: top-level code; null: a call below the node depth). */
  call: Call | null;
  /** Position of the call running when it began (null: top-level code). */
  inCall: number | null;
  body: Record<string, unknown>;
}

export interface TreeDrop {
  ns: number;
  event: number;
  /** Events lost just before the marker. */
  count: number;
  /** Frames open then, forgotten (their ends are not in the trace). */
  forgotten: number;
}

export interface CallTree {
  /** The thread's top level (depth -1); its children are the root calls. */
  root: Call;
  spans: TreeSpan[];
  drops: TreeDrop[];
  /** Position of each node's await (the suspend record): notes are ordered by position. */
  hopEvents: Map<Hop, number>;
  /** Records read up to this position; the rest was known from the index (or skipped). */
  walkedTo: number;
  /** The walk reached the thread's end (else it stopped early: every node open then was completed from the index). */
  complete: boolean;
  segmentsWalked: number;
  segmentsSkipped: number;
  /** Nodes made. */
  nodes: number;
  /** While the walk is under way (at `enough`): the nodes whose count of calls below may still grow — those a live frame (running or suspended) counts into, and their callers. */
  pending: Set<Call>;
  /** While the walk is under way: when each open node will end (ns, from the index; null: it does not end in the trace). */
  ends: Map<Call, number | null>;
}

export interface CallTreeOptions {
  /** Calls down to this depth become nodes (1: the root calls only); default all. */
  maxDepth?: number;
  /** Asked at segment boundaries after the tree grew: true ends the walk there. */
  enough?: (tree: CallTree) => boolean;
}

const OUTCOMES: Record<number, Call['outcome']> = { [OUT_RETURN]: 'return', [OUT_THROW]: 'throw', [OUT_LOST_EXIT]: 'lost-exit', [OUT_DROPPED]: 'dropped', [OUT_UNFINISHED]: null };

/**
 * Shared by every node until it gets one of its own (most calls have no children, awaits or
 * values: an array each would be most of a node's allocation). Never pushed to: see own().
 */
const NONE: never[] = Object.freeze([]) as unknown as never[];

/** The array `key` of `call`, its own from now on (replacing the shared empty one). */
export function own<K extends 'children' | 'hops' | 'snapshots'>(call: Call, key: K): Call[K] {
  if (call[key] === NONE) call[key] = [] as Call[K];
  return call[key];
}

/** A node: its arrays are the shared empty one until own() gives it its own. */
function newNode(fn: number, name: string, parent: Call | null, ns: number, event: number, frame: number, timed: boolean): Call {
  return newCall(fn, name, parent, ns, event, frame, timed, NONE);
}

/**
 * Frame tags: a node's index in `nodes` (0: the root), or for a frame below the node depth
 * -(1 + the index of its ancestor at that depth), which counts it.
 */
export class TreeSink implements MachineSink {
  readonly nodes: Call[];
  readonly spans: TreeSpan[] = [];
  readonly drops: TreeDrop[] = [];
  readonly hopEvents = new Map<Hop, number>();
  /** Nodes seeded from an index checkpoint, and whether the index says they were timed throughout (the machine cannot know). */
  readonly seededTimed = new Map<number, boolean>();
  /** The call running at each EXT_SCHEDULE, by link id; the callbacks running now. */
  readonly scheduledBy = new Map<number, Call>();
  readonly callbacks: (Call | null)[] = [];
  private readonly openSpans = new Map<number, TreeSpan>();
  /** Stand-ins for deeper calls that scheduled a callback (only their names are shown). */
  private readonly stubs = new Map<number, Call>();
  private lastClosePos = -2;
  private lastCloseTag = 0;
  /** Set when a link is not known (its EXT_SCHEDULE was in a skipped segment): answered by the engine. */
  resolveLink: (link: number) => Call | null = () => null;

  constructor(
    private readonly maxDepth: number,
    private readonly nameOf: (fn: number) => string,
    private readonly ns: (ms: number) => number,
    readonly details: { get(serial: number): DetailValue | undefined },
  ) {
    const root = newNode(0, '(root)', null, 0, -1, 0, false);
    root.depth = -1;
    this.nodes = [root];
  }

  get root(): Call {
    return this.nodes[0] as Call;
  }

  /** The node a frame tag counts into: itself, or its ancestor at the node depth. */
  static owner(tag: number): number {
    return tag >= 0 ? tag : -tag - 1;
  }

  /** Whether the node of `tag` is at the node depth (its callees are only counted). */
  atDepthLimit(tag: number): boolean {
    return tag < 0 || (this.nodes[tag] as Call).depth + 1 >= this.maxDepth;
  }

  private topTag(m: StackMachine): number {
    return m.depth > 0 ? m.tag(m.depth - 1) : 0;
  }

  push(m: StackMachine, level: number, how: number): void {
    if (how === PUSH_RESUME) {
      const tag = m.tag(level);
      if (tag > 0) {
        const hops = (this.nodes[tag] as Call).hops;
        const hop = hops[hops.length - 1];
        if (hop && hop.resumeNs === null) hop.resumeNs = this.ns(m.lastTime);
      }
      return;
    }
    const below = level > 0 ? m.tag(level - 1) : 0;
    if (this.atDepthLimit(below)) {
      const owner = TreeSink.owner(below);
      (this.nodes[owner] as Call).descendants++;
      m.setTag(level, -owner - 1);
      return;
    }
    const parent = this.nodes[below] as Call;
    const fn = m.fn(level);
    const orphan = how === PUSH_ORPHAN;
    const call = newNode(fn, this.nameOf(fn), parent, this.ns(m.lastTime), m.lastPos, m.serial(level), !orphan && m.timed(level));
    if (level === 0 && !orphan && this.callbacks.length > 0) call.scheduledBy = this.callbacks[this.callbacks.length - 1] ?? null;
    own(parent, 'children').push(call);
    m.setTag(level, this.nodes.length);
    this.nodes.push(call);
  }

  suspend(m: StackMachine, level: number): void {
    const tag = m.tag(level);
    if (tag <= 0) return;
    const hop: Hop = { suspendNs: this.ns(m.lastTime), resumeNs: null };
    own(this.nodes[tag] as Call, 'hops').push(hop);
    this.hopEvents.set(hop, m.lastPos);
  }

  close(m: StackMachine, level: number, outcome: number, exitPos: number, exitTime: number): void {
    const tag = m.tag(level);
    this.lastClosePos = exitPos;
    this.lastCloseTag = tag;
    if (tag <= 0) return;
    const seeded = this.seededTimed.get(tag);
    this.finish(tag, outcome, exitPos, this.ns(exitTime), seeded ?? m.timed(level));
  }

  /** A node ends (or is known, from the index, to end): its outcome and times; its caller counts it. */
  finish(tag: number, outcome: number, exitPos: number, exitNs: number, timed: boolean): void {
    const call = this.nodes[tag] as Call;
    if (call.exitEvent !== null || call.outcome !== null) return;
    call.outcome = OUTCOMES[outcome] ?? null;
    if (outcome === OUT_UNFINISHED) call.openUntilNs = exitNs;
    else if (outcome !== OUT_DROPPED) {
      call.exitNs = exitNs;
      call.exitEvent = exitPos;
    }
    call.timed = call.timed && timed;
    if (call.parent) call.parent.descendants += 1 + call.descendants;
  }

  forget(m: StackMachine, level: number): void {
    const tag = m.tag(level);
    if (tag > 0) this.finish(tag, OUT_DROPPED, m.lastPos, NaN, false);
  }

  dropped(_m: StackMachine, count: number, depth: number, pos: number, time: number): void {
    this.drops.push({ ns: this.ns(time), event: pos, count, forgotten: depth });
  }

  /** A call still suspended at the thread's end. */
  suspendedAtEnd(m: StackMachine, slot: number, endNs: number): void {
    const tag = m.suspendedTag(slot);
    if (tag > 0) this.finish(tag, OUT_UNFINISHED, -1, endNs, m.suspendedTimed(slot));
  }

  ext(m: StackMachine, type: number, aux: number, pos: number, time: number): void {
    switch (type) {
      case EXT_DETAIL: {
        const entry = this.details.get(aux);
        if (!entry || entry.body.k === 'uncaught') return;
        // A snapshot right after an exit belongs to the call that ended; otherwise to the running call.
        const tag = this.lastClosePos === pos - 1 ? this.lastCloseTag : this.topTag(m);
        if (tag > 0) own(this.nodes[tag] as Call, 'snapshots').push(entry);
        return;
      }
      case EXT_SCHEDULE:
        this.scheduledBy.set(aux, this.running(m));
        return;
      case EXT_CALLBACK:
        this.callbacks.push(this.scheduledBy.get(aux) ?? this.resolveLink(aux));
        return;
      case EXT_CALLBACK_END:
        this.callbacks.pop();
        return;
      case EXT_SPAN_BEGIN: {
        const tag = this.topTag(m);
        this.beginSpan(aux, pos, time, tag >= 0 ? (this.nodes[tag] as Call) : null, m.depth > 0 ? m.call(m.depth - 1) : null);
        return;
      }
      case EXT_SPAN_END:
        this.endSpan(aux, pos, time);
        return;
      default:
    }
  }

  /** A span record of a skipped segment (from the index): begun by a deeper call, or the end of one. */
  runtimeSpan(type: number, aux: number, pos: number, time: number, inCall: number | null): void {
    if (type === EXT_SPAN_BEGIN) this.beginSpan(aux, pos, time, null, inCall);
    else if (type === EXT_SPAN_END) this.endSpan(aux, pos, time);
  }

  private beginSpan(serial: number, pos: number, time: number, call: Call | null, inCall: number | null): void {
    const span: TreeSpan = { ns: this.ns(time), event: pos, endEvent: null, endNs: null, call, inCall, body: this.details.get(serial)?.body ?? { event: 'span' } };
    this.spans.push(span);
    this.openSpans.set(serial, span);
  }

  private endSpan(serial: number, pos: number, time: number): void {
    const span = this.openSpans.get(serial);
    if (!span) return;
    span.endEvent = pos;
    span.endNs = this.ns(time);
    this.openSpans.delete(serial);
  }

  /** The nodes a live frame of `m` counts into, and their callers (see CallTree.pending). */
  pendingNodes(m: StackMachine): Set<Call> {
    const pending = new Set<Call>();
    const add = (tag: number): void => {
      for (let c: Call | null = this.nodes[TreeSink.owner(tag)] ?? null; c && !pending.has(c); c = c.parent) pending.add(c);
    };
    for (let level = 0; level < m.depth; level++) add(m.tag(level));
    for (const slot of m.suspended.values()) add(m.suspendedTag(slot));
    return pending;
  }

  /** The call running now: its node, a stand-in naming a deeper call, or the root (top-level code). */
  running(m: StackMachine): Call {
    const tag = this.topTag(m);
    if (tag >= 0) return this.nodes[tag] as Call;
    return this.stub(m.fn(m.depth - 1));
  }

  stub(fn: number): Call {
    let stub = this.stubs.get(fn);
    if (!stub) this.stubs.set(fn, (stub = newNode(fn, this.nameOf(fn), this.root, NaN, -1, 0, false)));
    return stub;
  }
}

/** Finds the call running at one scheduling link's EXT_SCHEDULE (for a callback whose link was in a skipped segment). */
export class ScheduleFinder extends NullSink {
  /** The function running then (-1: top-level code), once found. */
  fn = -1;
  found = false;

  constructor(private readonly link: number) {
    super();
  }

  override ext(m: StackMachine, type: number, aux: number): void {
    if (type !== EXT_SCHEDULE || aux !== this.link || this.found) return;
    this.found = true;
    this.fn = m.depth > 0 ? m.fn(m.depth - 1) : -1;
  }
}

/**
 * Collects the serials of the detail snapshots that belong to some calls (by position), by the
 * rule TreeSink follows: a snapshot right after an exit belongs to the call that ended (the one
 * the exit matched), any other to the running call.
 */
export class SnapshotOwner extends NullSink {
  private lastClosePos = -2;
  private lastCloseCall = -1;

  constructor(
    private readonly calls: Set<number>,
    private readonly found: Map<number, number[]>,
  ) {
    super();
  }

  /** Before a walk from a checkpoint: `endedAt`, the record before it when that ended a call (a call none of those asked for), else -2. */
  reset(endedAt: number): void {
    this.lastClosePos = endedAt;
    this.lastCloseCall = -1;
  }

  override close(m: StackMachine, level: number): void {
    this.lastClosePos = m.lastPos;
    this.lastCloseCall = m.call(level);
  }

  override ext(m: StackMachine, type: number, aux: number, pos: number): void {
    if (type !== EXT_DETAIL) return;
    const owner = this.lastClosePos === pos - 1 ? this.lastCloseCall : m.depth > 0 ? m.call(m.depth - 1) : -1;
    if (!this.calls.has(owner)) return;
    let list = this.found.get(owner);
    if (!list) this.found.set(owner, (list = []));
    list.push(aux);
  }
}
