// Event-level access to a trace: decode each thread's records in order, with function names
// resolved and times converted to nanoseconds since the trace started. For views that need
// individual events (call trees, tests); summary walks the typed arrays directly instead.

import { EV_DROPPED, EV_EXT, EXT_CATCH, EXT_NAMES, FN_MASK, KIND_MASK, KIND_NAMES, KIND_SHIFT, RECORD_WORDS } from '../format/layout.js';
import type { Trace, TraceThread } from './trace.js';

export interface TraceEvent {
  /** enter | exit | throw | suspend | resume | dropped, or a runtime event's name (EXT_NAMES: catch, spawn, ...). */
  kind: string;
  /** The function; for 'catch' the function whose catch clause ran; 0 for other runtime events. */
  fn: number;
  name: string;
  /** Frame serial for async/generator events; count for 'dropped'; a runtime event's argument. */
  aux: number;
  /** The raw EXT_* type of a runtime event, else 0. */
  ext: number;
  /** Nanoseconds since the trace's start (for untimed events: of the thread's last clock read). */
  ns: number;
  /** The time is not a clock read of this event's own (adaptive or count-only timing). */
  untimed: boolean;
}

export function* threadEvents(trace: Trace, thread: TraceThread): Generator<TraceEvent> {
  const origin = thread.header?.timeOriginMs ?? thread.info.timeOriginMs;
  const start = trace.manifest.startEpochMs || origin;
  // Subtract the epoch times first: added to a thread time, an epoch (~1.8e12 ms) would round it to 244 ns.
  const shift = origin - start;
  for (const piece of recordPieces(thread)) {
    const { u32, f64, word } = piece;
    for (let r = 0; r < piece.count; r++) {
      const w = word + r * RECORD_WORDS;
      const head = u32[w] as number;
      const kindCode = (head >>> KIND_SHIFT) & KIND_MASK;
      const aux = u32[w + 1] as number;
      const ext = kindCode === EV_EXT ? head & FN_MASK : 0;
      const fn = kindCode === EV_DROPPED ? 0 : ext === 0 ? head & FN_MASK : ext === EXT_CATCH ? aux : 0;
      yield {
        kind: ext !== 0 ? EXT_NAMES[ext] ?? `ext${ext}` : KIND_NAMES[kindCode] ?? `kind${kindCode}`,
        fn,
        name: fn === 0 ? (ext === EXT_CATCH ? '(module)' : '') : trace.functions.get(fn)?.name ?? `#${fn}`,
        aux,
        ext,
        ns: Math.round((shift + (f64[(w >> 1) + 1] as number)) * 1e6),
        untimed: head >>> 31 === 1,
      };
    }
  }
}

/** A thread's records in pieces: read from its file when it has a reader, else its valid chunks in memory. */
function* recordPieces(thread: TraceThread): Iterable<{ u32: Uint32Array; f64: Float64Array; word: number; count: number }> {
  if (thread.records) {
    yield* thread.records();
    return;
  }
  for (const chunk of thread.scan.chunks) {
    const offset = thread.bytes.byteOffset + chunk.payloadOffset;
    yield { u32: new Uint32Array(thread.bytes.buffer, offset, chunk.count * RECORD_WORDS), f64: new Float64Array(thread.bytes.buffer, offset, chunk.count * (RECORD_WORDS >> 1)), word: 0, count: chunk.count };
  }
}

export interface CallNode {
  name: string;
  children: CallNode[];
  threw: boolean;
  /** Async/generator frames: how many times the frame suspended. */
  suspends: number;
}

/**
 * Rebuild the logical call tree of one thread: a resumed async/generator frame continues the
 * node of the call that started it (matched by frame serial), so awaits do not split calls.
 */
export function callTree(trace: Trace, thread: TraceThread): CallNode {
  const root: CallNode = { name: '(root)', children: [], threw: false, suspends: 0 };
  const stack: CallNode[] = [root];
  const suspended = new Map<number, CallNode>();
  const serials = new Map<CallNode, number>();
  for (const event of threadEvents(trace, thread)) {
    const top = stack[stack.length - 1] as CallNode;
    switch (event.kind) {
      case 'enter': {
        const node: CallNode = { name: event.name, children: [], threw: false, suspends: 0 };
        top.children.push(node);
        stack.push(node);
        if (event.aux !== 0) serials.set(node, event.aux);
        break;
      }
      case 'exit':
      case 'throw':
        if (stack.length > 1) {
          if (event.kind === 'throw') top.threw = true;
          stack.pop();
        }
        break;
      case 'suspend':
        if (stack.length > 1) {
          top.suspends++;
          suspended.set(event.aux, top);
          stack.pop();
        }
        break;
      case 'resume': {
        const node = suspended.get(event.aux);
        if (node) {
          suspended.delete(event.aux);
          stack.push(node);
        } else {
          const orphan: CallNode = { name: event.name, children: [], threw: false, suspends: 0 };
          top.children.push(orphan);
          stack.push(orphan);
        }
        break;
      }
      default:
        break;
    }
  }
  return root;
}

/** Compact text form of a call tree, e.g. "main(a(b) c)"; "!" marks a throw, "~" a suspension. */
export function treeShape(node: CallNode): string {
  const mark = (node.threw ? '!' : '') + (node.suspends > 0 ? '~'.repeat(node.suspends) : '');
  if (node.children.length === 0) return node.name + mark;
  return `${node.name}${mark}(${node.children.map(treeShape).join(' ')})`;
}
