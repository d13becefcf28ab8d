// The viewer's navigation between calls: the next or previous call of the same function, the
// caller, the first callee, back along the async cause (the call that started the frame the
// call's caller resumed after an await), and the first or slowest call of a function; answered
// from the engine's pages of calls, its index (the longest call) and its (logical) stacks.

import { RecallError } from '../format/errors.js';
import type { CallBrief } from '../query/answers.js';
import { callId, cursorOf, parseCallId } from '../query/ids.js';
import type { QueryTrace } from '../query/open.js';
import { exactGlob } from './search.js';

/** The first call of `fn` on `thread` that began at `position` or later. */
function nextCallOf(q: QueryTrace, fn: number, thread: number, position: number): CallBrief | null {
  const name = q.engine.nameOf(fn);
  let cursor: string | null = cursorOf(thread, position);
  while (cursor !== null) {
    const page = q.engine.calls({ function: exactGlob(name), thread, cursor, limit: 64 });
    const found = page.calls.find((c) => c.fn === fn);
    if (found) return found;
    cursor = page.cursor;
  }
  return null;
}

/**
 * The last call of `fn` on `thread` that began before `position`: the calls in a stretch of
 * segments before it, the stretch doubling backwards until one is found. With times, calls
 * that began after the current one are not even looked at (the engine skips their segments).
 */
function prevCallOf(q: QueryTrace, fn: number, thread: number, position: number, beforeNs: number | null): CallBrief | null {
  const { engine } = q;
  const name = engine.nameOf(fn);
  const per = engine.segmentRecords;
  let end = position; // exclusive
  for (let stretch = 1; end > 0; stretch *= 2) {
    const start = Math.max(0, (Math.floor((end - 1) / per) - stretch + 1) * per);
    let best: CallBrief | null = null;
    let cursor: string | null = cursorOf(thread, start);
    while (cursor !== null) {
      const page = engine.calls({ function: exactGlob(name), thread, cursor, limit: 512, ...(beforeNs !== null ? { toNs: beforeNs } : {}) });
      let past = false;
      for (const c of page.calls) {
        if (parseCallId(c.id).position >= end) {
          past = true;
          break;
        }
        if (c.fn === fn) best = c;
      }
      cursor = past ? null : page.cursor;
    }
    if (best) return best;
    end = start;
  }
  return null;
}

export function step(q: QueryTrace, id: string, to: string): unknown {
  const { engine } = q;
  const ref = parseCallId(id);
  let target: string | null = null;
  switch (to) {
    case 'next':
    case 'prev': {
      const c = engine.call(id);
      const found = to === 'next' ? nextCallOf(q, c.fn, ref.thread, ref.position + 1) : prevCallOf(q, c.fn, ref.thread, ref.position, engine.times ? c.enterNs : null);
      target = found?.id ?? null;
      break;
    }
    case 'parent': {
      const stack = engine.stackAt(ref.thread, { position: ref.position });
      const frames = stack.frames;
      const at = frames.findIndex((f) => f.id === id);
      target = at > 0 ? frames[at - 1]!.id : null;
      break;
    }
    case 'child':
      target = firstChild(q, ref.thread, ref.position);
      break;
    case 'cause':
      target = asyncCause(q, ref.thread, ref.position);
      break;
    default:
      throw new RecallError('E_USAGE', `step: 'to' must be next, prev, parent, child or cause, not '${to}'`);
  }
  return { from: callId(ref.thread, ref.position), to: target };
}

/** Records looked at, after a call's enter, for its first callee. */
const CHILD_LOOKAHEAD = 32;

/** The first call made by the call that began at `position`: the frame above it at the first record where there is one. */
function firstChild(q: QueryTrace, thread: number, position: number): string | null {
  const { engine } = q;
  const base = engine.stackAt(thread, { position });
  const depth = base.frames.length;
  const records = engine.threads[thread]!.index.records;
  for (let p = position + 1; p < Math.min(records, position + 1 + CHILD_LOOKAHEAD); p++) {
    const frames = engine.stackAt(thread, { position: p }).frames;
    if (frames.length < depth || frames[depth - 1]?.id !== base.frames[depth - 1]?.id) return null; // it ended (or suspended)
    if (frames.length > depth) return frames[depth]!.id;
  }
  return null;
}

/**
 * Back along the async cause: on the call's logical stack (innermost first), the first frame
 * that runs again after an await; the frame after it is the call that started it, no longer
 * under it on the thread. Null when every caller is on the thread's stack (a synchronous chain).
 */
function asyncCause(q: QueryTrace, thread: number, position: number): string | null {
  const frames = q.engine.logicalStackAt(thread, { position }).frames;
  const resumed = frames.findIndex((f) => f.resumed);
  return resumed >= 0 ? (frames[resumed + 1]?.id ?? null) : null;
}

/** The first call of function `fn` (over every thread: the earliest, by time when there are times). */
function firstCallOf(q: QueryTrace, fn: number): CallBrief | null {
  let best: CallBrief | null = null;
  q.engine.threads.forEach((_, thread) => {
    const found = nextCallOf(q, fn, thread, 0);
    if (found && (best === null || (q.engine.times && found.enterNs < best.enterNs))) best = found;
  });
  return best;
}

/** The slowest finished call of `fn`: the index's longest call of its name, then the call that long (the engine skips every other segment). */
function slowestCallOf(q: QueryTrace, fn: number): CallBrief | null {
  const { engine } = q;
  if (!engine.times) return null;
  const name = exactGlob(engine.nameOf(fn));
  const longest = engine.longestNs({ function: name });
  if (longest === null) return null;
  let cursor: string | null | undefined;
  let best: CallBrief | null = null;
  // A function of the same name may hold the longest: then the slowest of this one is among the
  // calls just under it, looked for page by page down from there.
  for (let floor = Math.max(0, longest - 1); best === null; floor = Math.floor(floor / 2)) {
    cursor = undefined;
    do {
      const page = engine.calls({ function: name, slowerThanNs: floor, limit: 256, ...(cursor ? { cursor } : {}) });
      for (const c of page.calls) if (c.fn === fn && c.durationNs !== null && (best === null || c.durationNs > (best.durationNs ?? -1))) best = c;
      cursor = page.cursor;
    } while (cursor);
    if (floor === 0) break;
  }
  return best;
}

/** The first or slowest call of function `fn` (null: none; slowest: none finished, or no times). */
export function jump(q: QueryTrace, fn: number, to: string): { fn: number; to: string | null } {
  if (!q.engine.functions.has(fn)) throw new RecallError('E_USAGE', `no function #${fn} in this trace`);
  let found: CallBrief | null;
  if (to === 'first') found = firstCallOf(q, fn);
  else if (to === 'slowest') found = slowestCallOf(q, fn);
  else throw new RecallError('E_USAGE', `jump: 'to' must be first or slowest, not '${to}'`);
  return { fn, to: found?.id ?? null };
}
