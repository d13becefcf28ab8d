// The kept window of a bounded trace (`recall run --max-size / --keep`, docs/FORMAT.md section 10).
// While recording, a thread's index lane is written as numbered segment files; the oldest
// segments are deleted to stay within the bound. When the recording ends, the segments kept are
// joined into the thread's ordinary file: a header that says what was discarded, a prelude chunk
// that re-opens the frames open at the kept window's start (so readers show them as calls whose
// beginning is gone, with their function known, instead of exits without enters), then the kept
// chunks, renumbered from 1 so a joined file reads like any other. This file holds the pure parts:
// names, the header's `window` field, the prelude's records and the renumbering. No Node-only imports.

import { chunkChecksum, encodeChunkHeader } from './chunk.js';
import { CHUNK_HEADER_BYTES, CH_CHECKSUM, CH_SEQ, EV_ENTER, EV_EXT, EXT_WINDOW_START, KIND_SHIFT, LANE_DETAIL, LANE_INDEX, RECORD_BYTES } from './layout.js';

/** What a joined thread file's JSON header says about what came before its kept window. */
export interface ThreadWindow {
  /** Chunks and records (events and dropped markers) deleted from the thread's beginning. */
  discardedChunks: number;
  discardedRecords: number;
  /** Bytes of the deleted chunks as they were on disk. */
  discardedBytes: number;
  /** Records of the prelude chunk (seq 0): the window-start record and one enter per open frame (0: none; a detail file has none). */
  prelude: number;
}

/**
 * A segment file of a thread being recorded in a bounded trace: p<pid>-t<tid>.s<n>.seg for its
 * index lane, .dseg for its detail lane.
 */
export function segmentFileName(pid: number, threadId: number, segment: number, lane: number): string {
  return `p${pid}-t${threadId}.s${segment}.${lane === LANE_DETAIL ? 'dseg' : 'seg'}`;
}

/** The thread file, lane and segment number a segment file name stands for, or null. */
export function parseSegmentFileName(name: string): { threadFile: string; lane: number; pid: number; threadId: number; segment: number } | null {
  const match = /^p(\d+)-t(\d+)\.s(\d+)\.(seg|dseg)$/.exec(name);
  if (!match) return null;
  const pid = Number(match[1]);
  const threadId = Number(match[2]);
  const detail = match[4] === 'dseg';
  return { threadFile: `p${pid}-t${threadId}.${detail ? 'det' : 'idx'}`, lane: detail ? LANE_DETAIL : LANE_INDEX, pid, threadId, segment: Number(match[3]) };
}

/**
 * The prelude chunk (header and payload) of a joined file: a window-start record (aux: the
 * number of frames) then an enter record per frame open when the window began, outermost first,
 * all at `time` (the first kept record's). `frames` holds [functionId, serial] pairs.
 */
export function preludeChunk(frames: ArrayLike<number>, time: number): { header: Uint8Array; payload: Uint8Array; records: number } {
  const open = frames.length >> 1;
  const records = 1 + open;
  const payload = new Uint8Array(records * RECORD_BYTES);
  const view = new DataView(payload.buffer);
  const put = (at: number, head: number, aux: number): void => {
    view.setUint32(at * RECORD_BYTES, head >>> 0, true);
    view.setUint32(at * RECORD_BYTES + 4, aux >>> 0, true);
    view.setFloat64(at * RECORD_BYTES + 8, time, true);
  };
  put(0, (EV_EXT << KIND_SHIFT) | EXT_WINDOW_START, open);
  for (let i = 0; i < open; i++) put(1 + i, (EV_ENTER << KIND_SHIFT) | (frames[2 * i] as number), frames[2 * i + 1] as number);
  const header = new Uint8Array(CHUNK_HEADER_BYTES);
  encodeChunkHeader(header, LANE_INDEX, 0, records, payload, time, time, 0);
  return { header, payload, records };
}

/** Give a chunk (its 48-byte header, changed in place, and its payload as stored) sequence number `seq`. */
export function renumberChunk(header: Uint8Array, payload: Uint8Array, seq: number): void {
  const view = new DataView(header.buffer, header.byteOffset, CHUNK_HEADER_BYTES);
  view.setUint32(CH_SEQ, seq >>> 0, true);
  view.setUint32(CH_CHECKSUM, chunkChecksum(header, payload), true);
}
