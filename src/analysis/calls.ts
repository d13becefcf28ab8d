// The logical call model of one thread, rebuilt from its index lane and joined with its detail
// lane: every call with its caller, times, outcome, awaits (async hops) and the value snapshots
// that belong to it; every exception with the frames it went through and where it was caught.
// A resumed async frame continues the call that started it, so a throw on a later tick sits
// under the caller that awaited it. Scheduling links (EXT_SCHEDULE/CALLBACK) say which call
// scheduled a callback's root calls; spans are kept with their end. The views (tree, stack,
// exceptions) are built on this. The stack is rebuilt by the rules every stack machine of recall
// follows (stack-rules.ts), so these views agree with the summary: an exit or throw closes the
// innermost open frame of its function (frames above it lost their exits and end with it; with
// none open it changes nothing), a suspend applies only to its function's frame on top, and a
// drop marker forgets every open frame (its end is not in the trace).

import type { ValueDesc } from '../format/values.js';
import { threadDetail, type DetailEntry } from './detail.js';
import { threadEvents } from './events.js';
import { exitLevel, suspendApplies } from './stack-rules.js';
import type { Trace, TraceThread } from './trace.js';

export interface Hop {
  suspendNs: number;
  resumeNs: number | null;
}

export interface Call {
  fn: number;
  name: string;
  parent: Call | null;
  children: Call[];
  /** Calls made beneath this one (all depths), counted as they end. */
  descendants: number;
  depth: number;
  enterNs: number;
  exitNs: number | null;
  /** Both ends carry clock reads of their own (adaptive timing may leave tiny calls untimed). */
  timed: boolean;
  /**
   * How it ended: returned, threw; lost-exit: its exit record was lost, it ended when a caller's
   * exit came; dropped: forgotten at a drop marker, its end is not in the trace; null: still
   * running (or suspended) when the thread's recording ended.
   */
  outcome: 'return' | 'throw' | 'lost-exit' | 'dropped' | null;
  /** Still running or suspended at the end (outcome null): the thread's last event, where its time on record ends. */
  openUntilNs: number | null;
  /** Async/generator frame serial (0: a plain call). */
  frame: number;
  hops: Hop[];
  /** Awaits in all, when `hops` lists only the first of them (a tree walk that ended early knows the rest from the index). */
  awaits?: number;
  snapshots: DetailEntry[];
  /** Event index of the enter record (per thread, counting every record). */
  enterEvent: number;
  exitEvent: number | null;
  /** Catch clauses that ran in this call. */
  catches: { ns: number; event: number; exception: Exception | null }[];
  /** An exception a child threw that this call has not dealt with yet. */
  pending: Exception | null;
  /** The exception this call ended by. */
  raised: Exception | null;
  /** A root call that ran inside a scheduled callback (timer, immediate, nextTick, microtask):
   *  the call that was running when the callback was scheduled (the root: top-level code). */
  scheduledBy: Call | null;
}

export interface Exception {
  id: number;
  thread: number;
  /** The frame that threw first, then every frame the exception went through, innermost first;
   *  empty when the catching call's own code (or untraced code it called) threw it. */
  frames: Call[];
  thrownNs: number;
  thrownEvent: number;
  caughtBy: Call | null;
  caughtNs: number | null;
  /** caught: a catch clause of traced code; uncaught: it ended the process or thread;
   *  handled: a traced caller went on without a catch (a promise handler, or ignored);
   *  escaped: it left traced code at the top of a stack (top-level code, an event-loop callback
   *  or a promise) and did not end the process; unknown: the trace ends before it was dealt with. */
  outcome: 'caught' | 'uncaught' | 'handled' | 'escaped' | 'unknown';
  error: ValueDesc | null;
  snapshots: DetailEntry[];
}

export interface ThreadCalls {
  thread: TraceThread;
  root: Call;
  exceptions: Exception[];
  /** Events walked. */
  events: number;
  /** The running call at the moment WalkOptions named (else at the end; the root when none), and the async frames awaiting then. */
  top: Call;
  awaiting: Call[];
  /** The last event at or before that moment, and its time. */
  lastEvent: number;
  lastNs: number;
  /** Marks, runtime notes and spans (at their begin; endNs once their span-end is seen, else null): (ns, detail body) in order. */
  marks: { ns: number; event: number; call: Call; body: Record<string, unknown>; span?: boolean; endNs?: number | null }[];
  /** Drop markers: where the ring was full and how many events were lost just before; every frame open then was forgotten. */
  drops: { ns: number; event: number; count: number; forgotten: number }[];
  problems: string[];
}

export interface WalkOptions {
  /**
   * Note the running call and the awaiting ones (ThreadCalls.top/awaiting/lastEvent/lastNs) after
   * this event index, or before the first event later than this time (ns since the trace's
   * start). The walk goes on to the end, so values recorded later (at exits) still attach.
   */
  atEvent?: number;
  atNs?: number;
  /** Keep children arrays (the tree view) down to this depth (true: all); stack and exceptions need none. */
  keepChildren?: boolean | number;
}

/**
 * A call (depth: its parent's + 1, 0 without one). `shared`, when given, is an empty array the
 * call's arrays start as, shared by many calls (the caller replaces it before writing to it),
 * else each gets its own.
 */
export function newCall(fn: number, name: string, parent: Call | null, ns: number, event: number, frame: number, timed: boolean, shared?: never[]): Call {
  return {
    fn,
    name,
    parent,
    children: shared ?? [],
    descendants: 0,
    depth: parent ? parent.depth + 1 : 0,
    enterNs: ns,
    exitNs: null,
    timed,
    outcome: null,
    openUntilNs: null,
    frame,
    hops: shared ?? [],
    snapshots: shared ?? [],
    enterEvent: event,
    exitEvent: null,
    catches: shared ?? [],
    pending: null,
    raised: null,
    scheduledBy: null,
  };
}

export function walkCalls(trace: Trace, thread: TraceThread, options: WalkOptions = {}): ThreadCalls {
  const detail = threadDetail(trace, thread);
  const root = newCall(0, '(root)', null, 0, -1, 0, false);
  root.depth = -1;
  const stack: Call[] = [root];
  /** The function of each open frame (stack[1..]), as stack-rules.ts reads them. */
  const fns: number[] = [];
  const push = (call: Call): void => {
    stack.push(call);
    fns.push(call.fn);
  };
  const pop = (): Call => {
    fns.pop();
    return stack.pop() as Call;
  };
  const drops: ThreadCalls['drops'] = [];
  const suspended = new Map<number, Call>();
  const exceptions: Exception[] = [];
  const marks: ThreadCalls['marks'] = [];
  const keepDepth = options.keepChildren === true ? Infinity : typeof options.keepChildren === 'number' ? options.keepChildren : -1;
  let event = -1;
  let lastEnded: Call | null = null;
  let lastKind = '';
  let lastNs = 0;
  const atEvent = options.atEvent ?? Infinity;
  const atNs = options.atNs ?? Infinity;
  let moment: { top: Call; awaiting: Call[]; event: number; ns: number } | null = null;
  /** Scheduling links: the call running at each EXT_SCHEDULE, by link id; the callbacks running now. */
  const scheduledBy = new Map<number, Call>();
  const callbacks: (Call | null)[] = [];
  const openSpans = new Map<number, ThreadCalls['marks'][number]>();

  /** Exceptions by the detail lane's chain number (snapshot body.x): one chain is one exception. */
  const chains = new Map<number, Exception>();

  /**
   * The runtime says (same chain) that `fresh`, which the index lane saw begin at `call` with no
   * traced thrower, is `known` arriving here: a rejection that travelled through promises the
   * walk cannot follow (a caller that returned the promise without awaiting it, an async
   * generator driven by for-await). Fold `fresh` into `known`: one rejection, one exception.
   */
  const merge = (known: Exception, fresh: Exception, call: Call, kind: 'throw' | 'catch'): Exception => {
    if (kind === 'catch') {
      const last = call.catches[call.catches.length - 1];
      if (last) last.exception = known;
      known.caughtBy = fresh.caughtBy;
      known.caughtNs = fresh.caughtNs;
      known.outcome = 'caught';
    } else {
      known.frames.push(call);
      call.raised = known;
      known.caughtBy = null;
      known.caughtNs = null;
      known.outcome = 'unknown';
      const parent = call.parent ?? root;
      if (parent.pending === fresh) parent.pending = known;
    }
    for (const c of [...stack, ...suspended.values()]) if (c.pending === fresh) c.pending = known;
    known.snapshots.push(...fresh.snapshots);
    if (known.error === null) known.error = fresh.error;
    const at = exceptions.indexOf(fresh);
    if (at >= 0) exceptions.splice(at, 1);
    return known;
  };

  const attach = (call: Call, entry: DetailEntry): void => {
    call.snapshots.push(entry);
    const body = entry.body;
    let exception = body.k === 'throw' ? call.raised : body.k === 'catch' ? (call.catches[call.catches.length - 1]?.exception ?? null) : null;
    if (exception && typeof body.x === 'number') {
      const known = chains.get(body.x);
      const began = body.k === 'catch' ? exception.frames.length === 0 : exception.frames.length === 1 && exception.frames[0] === call;
      if (known === undefined) chains.set(body.x, exception);
      else if (known !== exception && began && known.outcome !== 'caught' && known.outcome !== 'uncaught') {
        exception = merge(known, exception, call, body.k as 'throw' | 'catch');
      }
    }
    if (exception) {
      exception.snapshots.push(entry);
      if (exception.error === null && body.error !== undefined) exception.error = body.error as ValueDesc;
    }
  };

  for (const ev of threadEvents(trace, thread)) {
    event++;
    if (moment === null && (event > atEvent || ev.ns > atNs)) {
      moment = { top: stack[stack.length - 1] as Call, awaiting: [...suspended.values()], event: event - 1, ns: lastNs };
    }
    lastNs = ev.ns;
    const top = stack[stack.length - 1] as Call;
    switch (ev.kind) {
      case 'enter': {
        const call = newCall(ev.fn, ev.name, top, ev.ns, event, ev.aux, !ev.untimed);
        if (stack.length === 1 && callbacks.length > 0) call.scheduledBy = callbacks[callbacks.length - 1] ?? null;
        if (call.depth < keepDepth) top.children.push(call);
        push(call);
        break;
      }
      case 'exit':
      case 'throw': {
        // The innermost open frame of the function; none (its enter was lost or came before recording): nothing changes.
        const level = exitLevel(fns, 1, 0, fns.length, ev.fn);
        if (level < 0) break;
        // Frames above it lost their exit records: they end now, as returned.
        while (fns.length > level + 1) {
          const lost = pop();
          lost.exitNs = ev.ns;
          lost.exitEvent = event;
          lost.timed = lost.timed && !ev.untimed;
          lost.outcome = 'lost-exit';
          if (lost.parent) lost.parent.descendants += 1 + lost.descendants;
          if (lost.frame !== 0) suspended.delete(lost.frame);
          if (lost.pending) {
            lost.pending.outcome = 'handled';
            lost.pending = null;
          }
        }
        const top = pop();
        top.exitNs = ev.ns;
        top.exitEvent = event;
        top.timed = top.timed && !ev.untimed;
        top.outcome = ev.kind === 'throw' ? 'throw' : 'return';
        if (top.parent) top.parent.descendants += 1 + top.descendants;
        if (top.frame !== 0) suspended.delete(top.frame);
        if (ev.kind === 'throw') {
          let exception = top.pending;
          if (exception) exception.frames.push(top);
          else {
            exception = {
              id: exceptions.length + 1,
              thread: thread.info.id,
              frames: [top],
              thrownNs: ev.ns,
              thrownEvent: event,
              caughtBy: null,
              caughtNs: null,
              outcome: 'unknown',
              error: null,
              snapshots: [],
            };
            exceptions.push(exception);
          }
          top.pending = null;
          top.raised = exception;
          // The logical caller (for an async frame, the call that started it) receives it; at the
          // top, the top-level code (a catch there has function id 0) or nobody. A caller that
          // has already ended returned without awaiting this frame (`return inner()`): its
          // promise took on the rejection, so its own caller receives it, and so on up.
          let parent = top.parent ?? root;
          while (parent !== root && parent.exitNs !== null) parent = parent.parent ?? root;
          parent.pending = exception;
        } else if (top.pending) {
          top.pending.outcome = 'handled';
          top.pending = null;
        }
        lastEnded = top;
        break;
      }
      case 'suspend': {
        if (!suspendApplies(fns, 1, 0, fns.length, ev.fn)) break;
        pop();
        top.hops.push({ suspendNs: ev.ns, resumeNs: null });
        suspended.set(ev.aux, top);
        break;
      }
      case 'resume': {
        const call = suspended.get(ev.aux);
        if (call) {
          suspended.delete(ev.aux);
          const hop = call.hops[call.hops.length - 1];
          if (hop && hop.resumeNs === null) hop.resumeNs = ev.ns;
          push(call);
        } else {
          // Resumed without a recorded start (recording began mid-flight): a call of its own.
          const orphan = newCall(ev.fn, ev.name, top, ev.ns, event, ev.aux, false);
          if (orphan.depth < keepDepth) top.children.push(orphan);
          push(orphan);
        }
        break;
      }
      case 'catch': {
        // No traced frame threw it: it came from this call's own code or from untraced code it called.
        const exception: Exception = top.pending ?? {
          id: exceptions.length + 1,
          thread: thread.info.id,
          frames: [],
          thrownNs: ev.ns,
          thrownEvent: event,
          caughtBy: null,
          caughtNs: null,
          outcome: 'caught',
          error: null,
          snapshots: [],
        };
        if (!top.pending) exceptions.push(exception);
        top.catches.push({ ns: ev.ns, event, exception });
        exception.caughtBy = top;
        exception.caughtNs = ev.ns;
        exception.outcome = 'caught';
        top.pending = null;
        break;
      }
      case 'detail': {
        const entry = detail.records.get(ev.aux);
        if (!entry) break;
        // A snapshot right after an exit belongs to the call that ended; otherwise to the running call.
        const owner = (lastKind === 'exit' || lastKind === 'throw') && lastEnded ? lastEnded : top;
        if (entry.body.k === 'uncaught') {
          const last = (typeof entry.body.x === 'number' ? chains.get(entry.body.x) : undefined) ?? exceptions[exceptions.length - 1];
          if (last) {
            last.outcome = 'uncaught';
            if (entry.body.error !== undefined) last.error = entry.body.error as ValueDesc;
            last.snapshots.push(entry);
          }
        } else attach(owner, entry);
        break;
      }
      case 'mark':
      case 'note': {
        const entry = detail.records.get(ev.aux);
        if (entry) marks.push({ ns: ev.ns, event, call: top, body: entry.body });
        break;
      }
      case 'span-begin': {
        const entry = detail.records.get(ev.aux);
        const mark: ThreadCalls['marks'][number] = { ns: ev.ns, event, call: top, body: entry?.body ?? { event: 'span' }, span: true, endNs: null };
        marks.push(mark);
        openSpans.set(ev.aux, mark);
        break;
      }
      case 'span-end': {
        const mark = openSpans.get(ev.aux);
        if (mark) mark.endNs = ev.ns;
        openSpans.delete(ev.aux);
        break;
      }
      case 'dropped': {
        // The stack is unknown across the gap: every open frame is forgotten (suspended ones are kept).
        const forgotten = fns.length;
        while (fns.length > 0) {
          const gone = pop();
          gone.outcome = 'dropped';
          if (gone.parent) gone.parent.descendants += 1 + gone.descendants;
        }
        drops.push({ ns: ev.ns, event, count: ev.aux, forgotten });
        break;
      }
      case 'schedule':
        scheduledBy.set(ev.aux, top);
        break;
      case 'callback':
        callbacks.push(scheduledBy.get(ev.aux) ?? null);
        break;
      case 'callback-end':
        callbacks.pop();
        break;
      default:
        break;
    }
    lastKind = ev.kind;
    // Whatever reached the top and was not caught there by the next event escaped traced code.
    if (root.pending && ev.kind !== 'throw' && ev.kind !== 'catch' && ev.kind !== 'detail') {
      if (root.pending.outcome === 'unknown') root.pending.outcome = 'escaped';
      root.pending = null;
    }
  }
  if (root.pending && root.pending.outcome === 'unknown') root.pending.outcome = 'escaped';
  exceptions.forEach((exception, index) => {
    exception.id = index + 1;
  });
  // Calls still open (or suspended) at the end: count them into their callers too.
  for (const open of [...stack.slice(1), ...suspended.values()]) open.openUntilNs = lastNs;
  for (const open of [...stack.slice(1).reverse(), ...suspended.values()]) {
    if (open.parent && open.exitNs === null) open.parent.descendants += 1 + open.descendants;
  }
  return {
    thread,
    root,
    exceptions,
    events: event + 1,
    top: moment?.top ?? (stack[stack.length - 1] as Call),
    awaiting: moment?.awaiting ?? [...suspended.values()],
    lastEvent: moment?.event ?? event,
    lastNs: moment?.ns ?? lastNs,
    marks,
    drops,
    problems: detail.problems,
  };
}

/** The logical stack of a call, innermost first (the root excluded). */
export function logicalStack(call: Call): Call[] {
  const frames: Call[] = [];
  for (let c: Call | null = call; c && c.depth >= 0; c = c.parent) frames.push(c);
  return frames;
}

/** The snapshot with a call's arguments, preferring the one taken closest to its start. */
export function argumentsOf(call: Call): DetailEntry | null {
  const order = ['entry', 'throw', 'catch', 'slow', 'call'];
  for (const k of order) {
    const found = call.snapshots.find((s) => s.body.k === k && Array.isArray(s.body.args));
    if (found) return found;
  }
  return null;
}

/** The return value snapshot of a call, when one was taken. */
export function returnOf(call: Call): ValueDesc | undefined {
  for (const s of call.snapshots) if ((s.body.k === 'call' || s.body.k === 'slow') && 'ret' in s.body) return s.body.ret as ValueDesc;
  return undefined;
}
