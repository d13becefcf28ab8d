// The shared memory of one traced process: a single SharedArrayBuffer holding the control block
// (global words, a thread registry of `slots` lanes with their heads, tails and counters, and a
// table of thread names) followed by one index ring per slot, then one detail ring per slot
// (bytes of framed detail records, format/detail.ts). Producers (every traced thread)
// and the consumer (the drain worker) agree on this layout; nothing else crosses threads.
//
//   [header: 256 i32] [slot 0: 64 i32] ... [slot n-1] [names: 256 x 32 i32] [ring 0] ... [ring n-1]
//   [detail ring 0] ... [detail ring n-1]
//
// Each slot keeps producer-written and consumer-written words on separate 64-byte lines so the
// two sides do not false-share. Which words are atomic and what orders what: docs/FORMAT.md,
// "Ring protocol".

import { RECORD_BYTES } from '../format/layout.js';

export const CONTROL_MAGIC = 0x52434c31; // "RCL1"

// Header words (Int32 indexes).
export const H_MAGIC = 0;
export const H_SLOTS = 1;
export const H_RING_RECORDS = 2;
export const H_NEXT_FUNCTION_ID = 3; // Atomics.add: function id bases
export const H_DRAIN_WAKE = 4; // futex the drain sleeps on
export const H_STOPPED = 5; // 1 once recording has stopped: probes turn into no-ops
export const H_FINALIZE = 6; // reason code (>0) asking the drain to finish the trace
export const H_FINAL_DONE = 7; // futex: 1 once the trace is complete on disk
export const H_UNTRACED_THREADS = 8; // threads that found no free slot
export const H_NAME_COUNT = 9; // Atomics.add: entries used in the names table
export const H_EXIT_CODE = 10;
export const H_SIGNAL = 11; // signal number when finishing because of a signal
export const H_DRAIN_READY = 12; // futex: who drains (DRAIN_*); 0 until the drain worker or the exiting main thread claims it
export const H_DETAIL_BYTES = 13; // bytes of each detail ring (a power of two), 0 = no detail lane
export const H_PAUSED = 14; // 1 while recording is paused (recall ctl pause): threads swap to the no-op probes at their next idle tick or slow path
export const H_TRIGGERS_GEN = 16; // Atomics.add after recall ctl set changed the words below: threads apply them at their next idle tick
export const H_SLOW_US = 17; // the slow-call trigger in µs (-1: off)
export const H_TRIGGER_FLAGS = 18; // bit 0: throws open windows; bit 1: marks do
export const TRIGGER_THROW = 1;
export const TRIGGER_MARK = 2;
export const H_SNAPSHOT_REQUEST = 15; // Atomics.add: snapshots asked for (SIGUSR2 in --snapshot mode); the drain writes one per request it sees
export const H_ARMED_BYTES = 19; // bytes of the armed-functions text + 1 (0: recall ctl set never changed capture= or fn=; the start-up lists hold)
export const H_ARMED_TEXT = 64; // words 64-255: the armed-functions text (UTF-8), written under H_TRIGGERS_GEN (odd while it is written)
export const HEADER_WORDS = 256;
export const ARMED_TEXT_MAX_BYTES = (HEADER_WORDS - H_ARMED_TEXT) * 4;

// Who drains (H_DRAIN_READY), claimed once with compareExchange: the drain worker when it has
// booted, or the main thread when the process ends before that (a short program then does not
// wait ~100 ms for a worker to boot only to write a few records: shutdown.ts).
export const DRAIN_UNCLAIMED = 0;
export const DRAIN_BY_WORKER = 1;
export const DRAIN_BY_EXITING_THREAD = 2;

// Finalize reasons (H_FINALIZE).
export const FIN_EXIT = 1;
export const FIN_SIGNAL = 2;
export const FIN_UNCAUGHT = 3;
export const FIN_DURATION = 4;

// Slot words (relative to the slot base).
export const SLOT_WORDS = 64;
export const S_STATE = 0;
export const S_THREAD_ID = 1;
export const S_GENERATION = 2;
export const S_TIME_ORIGIN_F64 = 4; // f64 at words 4-5: epoch ms of the thread's performance.timeOrigin
export const S_HEAD = 16; // producer line: records published in the ring (wraps as int32; Atomics, batched)
export const S_MARKERS = 17; // dropped-marker records put in the ring (Atomics)
export const S_DROPPED_I64 = 18; // int64 at words 18-19 (Atomics on a BigInt64Array): events lost to a full ring
export const S_DETAIL_HEAD = 20; // producer: bytes put in the detail ring (wraps as int32)
export const S_DETAIL_DROPPED = 21; // producer: detail records lost to a full detail ring (Atomics)
export const S_BACKLOG_PEAK = 22; // producer: the most records it had waiting for the drain (ring and spill), seen at its slow path (Atomics)
export const S_TAIL = 32; // consumer line: records taken by the drain
export const S_DETAIL_TAIL = 33; // consumer: detail bytes taken

// Slot states.
export const SLOT_FREE = 0;
export const SLOT_CLAIMING = 1;
export const SLOT_ACTIVE = 2;
export const SLOT_CLOSING = 3; // the thread ended: drain what is left, then free the slot

// Thread names: written by the parent thread when it starts a worker.
export const NAME_ENTRIES = 256;
export const NAME_WORDS = 32; // [threadId, byteLength, 120 bytes of UTF-8]
export const NAME_MAX_BYTES = (NAME_WORDS - 2) * 4;

export interface ControlLayout {
  slots: number;
  ringRecords: number;
  namesBase: number; // word index
  ringsByteOffset: number;
  ringBytes: number;
  detailByteOffset: number;
  detailBytes: number;
  totalBytes: number;
}

export function layoutFor(slots: number, ringRecords: number, detailBytes = 0): ControlLayout {
  const namesBase = HEADER_WORDS + slots * SLOT_WORDS;
  const controlWords = namesBase + NAME_ENTRIES * NAME_WORDS;
  const ringsByteOffset = controlWords * 4; // a multiple of 256: aligned for Float64Array views
  const ringBytes = ringRecords * RECORD_BYTES;
  const detailByteOffset = ringsByteOffset + slots * ringBytes;
  return { slots, ringRecords, namesBase, ringsByteOffset, ringBytes, detailByteOffset, detailBytes, totalBytes: detailByteOffset + slots * detailBytes };
}

export function slotBase(slot: number): number {
  return HEADER_WORDS + slot * SLOT_WORDS;
}

export function createControl(slots: number, ringRecords: number, detailBytes = 0): SharedArrayBuffer {
  if (!Number.isInteger(Math.log2(ringRecords))) throw new RangeError('ringRecords must be a power of two');
  if (detailBytes !== 0 && !Number.isInteger(Math.log2(detailBytes))) throw new RangeError('detailBytes must be a power of two');
  const layout = layoutFor(slots, ringRecords, detailBytes);
  const sab = new SharedArrayBuffer(layout.totalBytes);
  const ctl = new Int32Array(sab);
  ctl[H_MAGIC] = CONTROL_MAGIC;
  ctl[H_SLOTS] = slots;
  ctl[H_RING_RECORDS] = ringRecords;
  ctl[H_NEXT_FUNCTION_ID] = 1; // 0 means "unregistered"
  ctl[H_DETAIL_BYTES] = detailBytes;
  return sab;
}

/** Read the layout back from a control block created by createControl. */
export function layoutOf(sab: SharedArrayBuffer): ControlLayout {
  const ctl = new Int32Array(sab, 0, HEADER_WORDS);
  return layoutFor(ctl[H_SLOTS] as number, ctl[H_RING_RECORDS] as number, ctl[H_DETAIL_BYTES] as number);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Record a thread's display name (called by the thread that creates the worker). */
export function publishThreadName(sab: SharedArrayBuffer, threadId: number, name: string): void {
  const layout = layoutOf(sab);
  const ctl = new Int32Array(sab);
  const entry = Atomics.add(ctl, H_NAME_COUNT, 1);
  if (entry >= NAME_ENTRIES) return;
  const base = layout.namesBase + entry * NAME_WORDS;
  const bytes = new Uint8Array(sab, (base + 2) * 4, NAME_MAX_BYTES);
  const { written } = encoder.encodeInto(name, bytes);
  ctl[base + 1] = written ?? 0;
  Atomics.store(ctl, base, threadId + 1); // +1: 0 marks an entry not yet filled
}

export function lookupThreadName(sab: SharedArrayBuffer, threadId: number): string | null {
  const layout = layoutOf(sab);
  const ctl = new Int32Array(sab);
  const count = Math.min(Atomics.load(ctl, H_NAME_COUNT), NAME_ENTRIES);
  for (let entry = count - 1; entry >= 0; entry--) {
    const base = layout.namesBase + entry * NAME_WORDS;
    if (Atomics.load(ctl, base) !== threadId + 1) continue;
    const length = ctl[base + 1] as number;
    return decoder.decode(new Uint8Array(sab, (base + 2) * 4, length).slice());
  }
  return null;
}

/** Functions armed live (recall ctl set capture= / fn=): their calls' values are captured at exit. */
export interface ArmedLists {
  /** --capture globs: values go to the flight ring (persisted when a window opens around them). */
  capture: string[];
  /** --trigger fn= globs: every call opens (or extends) a detail window. */
  fn: string[];
}

/**
 * Change the trigger words (H_SLOW_US, H_TRIGGER_FLAGS, the armed text) as a seqlock: the
 * generation is odd while they change, so a thread that read it even, then the words, then the
 * same generation again read a consistent set. One writer: the drain.
 */
export function writeTriggerWords(sab: SharedArrayBuffer, slowUs: number, flags: number, armed: ArmedLists | null): void {
  const ctl = new Int32Array(sab);
  Atomics.add(ctl, H_TRIGGERS_GEN, 1);
  Atomics.store(ctl, H_SLOW_US, slowUs);
  Atomics.store(ctl, H_TRIGGER_FLAGS, flags);
  if (armed !== null) {
    const { written } = encoder.encodeInto(armedText(armed), new Uint8Array(sab, H_ARMED_TEXT * 4, ARMED_TEXT_MAX_BYTES));
    Atomics.store(ctl, H_ARMED_BYTES, (written ?? 0) + 1);
  }
  Atomics.add(ctl, H_TRIGGERS_GEN, 1);
}

/** The armed lists as the control block holds them: capture globs, a newline, fn globs (tab-separated). */
export function armedText(armed: ArmedLists): string {
  return `${armed.capture.join('\t')}\n${armed.fn.join('\t')}`;
}

/** The armed lists recall ctl set wrote, or null when it never changed them. Read under the seqlock. */
export function readArmed(sab: SharedArrayBuffer): ArmedLists | null {
  const ctl = new Int32Array(sab);
  const length = Atomics.load(ctl, H_ARMED_BYTES) - 1;
  if (length < 0) return null;
  const text = decoder.decode(new Uint8Array(sab, H_ARMED_TEXT * 4, Math.min(length, ARMED_TEXT_MAX_BYTES)).slice());
  const [capture = '', fn = ''] = text.split('\n');
  const list = (s: string): string[] => (s === '' ? [] : s.split('\t'));
  return { capture: list(capture), fn: list(fn) };
}
