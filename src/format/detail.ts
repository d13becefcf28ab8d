// Detail-lane records (docs/FORMAT.md section 7): the framing shared by the recorder's detail
// ring, the drain and the reader. A record is a 24-byte header and a UTF-8 JSON body padded
// with spaces to a multiple of 8 bytes; records sit back to back in a ring and in the payload
// of a detail-lane chunk. Pure: no Node-only imports.

import type { ValueDesc } from './values.js';

export const DETAIL_HEADER_BYTES = 24;
export const DR_LENGTH = 0; // u32: whole record in bytes (header + body + padding), a multiple of 8
export const DR_TYPE = 4; // u16: DT_* below
export const DR_FLAGS = 6; // u16: 0
export const DR_SERIAL = 8; // u32: per-thread serial; index-lane EXT_DETAIL/EXT_MARK/EXT_NOTE/EXT_SPAN_* aux refers to it
export const DR_RESERVED = 12; // u32: 0
export const DR_TIME = 16; // f64: ms on the thread's clock (same origin as its index lane)

/** Record types. */
export const DT_SNAPSHOT = 1; // values of one call or moment: body.k = entry | call | slow | throw | catch | uncaught | mark
export const DT_WINDOW = 2; // a window opened, grew or closed: body.k = "window"; the last record of an id wins
export const DT_NOTE = 3; // a runtime event described (span name, message summary, ...): body.k = "note"

export interface DetailRecordHeader {
  length: number;
  type: number;
  serial: number;
  time: number;
}

/** Window record body. Times are ms on the thread's clock. */
export interface WindowBody {
  k: 'window';
  id: number;
  /** throw | slow | fn | mark | uncaught */
  trigger: string;
  /** Function id of the triggering call (0 for marks and uncaught errors). */
  fn: number;
  /** When the trigger fired. */
  at: number;
  /** Pre-roll start: snapshots from here on were persisted. */
  from: number;
  /** Planned end (post-roll), or the actual end when `closed`. */
  to: number;
  /** Serial of the snapshot that fired the trigger. */
  serial: number;
  closed?: boolean;
  /** Snapshots persisted in this window so far. */
  records: number;
}

/** Snapshot record body (type DT_SNAPSHOT). */
export interface SnapshotBody {
  k: 'entry' | 'call' | 'slow' | 'throw' | 'catch' | 'uncaught' | 'mark';
  /** Function id (0 for uncaught/mark). */
  fn: number;
  /** Parameters in the order of the function table's params list. */
  args?: ValueDesc[];
  this?: ValueDesc;
  /** Return value (call, slow), when the call returned. */
  ret?: ValueDesc;
  /** The exception (throw: when known at the throw; catch; uncaught). */
  error?: ValueDesc;
  /** Exception chain id: throw exits, the catch and an uncaught record of one exception share it. */
  x?: number;
  /** slow: the call's duration in ms. */
  ms?: number;
  /** mark: label and data. */
  label?: string;
  data?: ValueDesc;
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Write a record header at `at` of `view`. */
export function encodeDetailHeader(view: DataView, at: number, length: number, type: number, serial: number, time: number): void {
  view.setUint32(at + DR_LENGTH, length, true);
  view.setUint16(at + DR_TYPE, type, true);
  view.setUint16(at + DR_FLAGS, 0, true);
  view.setUint32(at + DR_SERIAL, serial >>> 0, true);
  view.setUint32(at + DR_RESERVED, 0, true);
  view.setFloat64(at + DR_TIME, time, true);
}

export function decodeDetailHeader(view: DataView, at: number): DetailRecordHeader {
  return {
    length: view.getUint32(at + DR_LENGTH, true),
    type: view.getUint16(at + DR_TYPE, true),
    serial: view.getUint32(at + DR_SERIAL, true),
    time: view.getFloat64(at + DR_TIME, true),
  };
}

export interface DetailRecord extends DetailRecordHeader {
  /** The parsed JSON body, or null when it did not parse (a damaged record). */
  body: Record<string, unknown> | null;
}

const decoder = new TextDecoder();

/**
 * The records of one detail chunk payload. Stops at the first record whose length is not
 * plausible (not a multiple of 8, shorter than a header, past the payload): never throws.
 */
export function decodeDetailPayload(payload: Uint8Array): DetailRecord[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const records: DetailRecord[] = [];
  let at = 0;
  while (at + DETAIL_HEADER_BYTES <= payload.byteLength) {
    const header = decodeDetailHeader(view, at);
    if (header.length < DETAIL_HEADER_BYTES || (header.length & 7) !== 0 || at + header.length > payload.byteLength) break;
    let body: Record<string, unknown> | null = null;
    try {
      const parsed: unknown = JSON.parse(decoder.decode(payload.subarray(at + DETAIL_HEADER_BYTES, at + header.length)));
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = null;
    }
    records.push({ ...header, body });
    at += header.length;
  }
  return records;
}
