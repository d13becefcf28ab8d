// Reading a thread's detail lane: the snapshots and windows its .det file holds, by serial,
// with times in nanoseconds since the trace's start (the index lane's time base). A missing
// file means no window persisted values on that thread; a damaged one yields what is readable
// and a problem line.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanThreadFile, type ChunkInfo } from '../format/chunk.js';
import { decodeDetailChunk } from '../format/codec.js';
import { DETAIL_HEADER_BYTES, DT_WINDOW, decodeDetailHeader, decodeDetailPayload, type DetailRecord } from '../format/detail.js';
import { LANE_DETAIL } from '../format/layout.js';
import type { Trace, TraceThread } from './trace.js';

export interface DetailEntry {
  serial: number;
  type: number;
  ns: number;
  body: Record<string, unknown>;
}

export interface ThreadDetail {
  /** Snapshot and note records by serial (a window record's serial is its trigger's). */
  records: Map<number, DetailEntry>;
  /** The last record of each window id. */
  windows: Map<number, DetailEntry>;
  problems: string[];
}

const cache = new WeakMap<TraceThread, ThreadDetail>();

/** The detail file name of a thread: from the manifest, else beside its index file. */
function detailFileOf(thread: TraceThread): string {
  return thread.info.detail?.file ?? thread.info.file.replace(/\.idx$/, '.det');
}

export function threadDetail(trace: Trace, thread: TraceThread): ThreadDetail {
  const known = cache.get(thread);
  if (known) return known;
  const result: ThreadDetail = { records: new Map(), windows: new Map(), problems: [] };
  cache.set(thread, result);
  const file = detailFileOf(thread);
  let bytes: Uint8Array;
  try {
    const buffer = readFileSync(join(trace.dir, file));
    bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
  } catch {
    return result; // no window persisted values on this thread
  }
  const scan = scanThreadFile(bytes);
  for (const problem of scan.problems) result.problems.push(`${file}: ${problem.message}`);
  if (scan.lane !== LANE_DETAIL) {
    if (scan.chunks.length > 0) result.problems.push(`${file}: is not a detail-lane file`);
    return result;
  }
  const origin = scan.header?.timeOriginMs ?? thread.info.timeOriginMs;
  const start = trace.manifest.startEpochMs || origin;
  for (const chunk of scan.chunks) {
    const payload = detailChunkPayload(bytes, chunk, file, result.problems);
    if (payload === null) continue;
    const records: DetailRecord[] = decodeDetailPayload(payload);
    for (const record of records) {
      if (record.body === null) {
        result.problems.push(`${file}: a damaged detail record (serial ${record.serial}) was skipped`);
        continue;
      }
      const entry: DetailEntry = { serial: record.serial, type: record.type, ns: Math.round((origin - start + record.time) * 1e6), body: record.body };
      if (record.type === DT_WINDOW) result.windows.set(Number(record.body.id), entry);
      else result.records.set(record.serial, entry);
    }
  }
  return result;
}

/** A thread's detail records found by serial, each decoded only when asked for. */
export interface DetailLookup {
  get(serial: number): DetailEntry | undefined;
}

const lookups = new WeakMap<TraceThread, DetailLookup>();

/**
 * The query engine's view of a thread's detail lane: record headers are read once, bodies
 * (JSON) parsed when a call's values are asked for. A trace's detail files can hold hundreds
 * of thousands of snapshots; a question needs a handful.
 */
export function threadDetailLookup(trace: Trace, thread: TraceThread): DetailLookup {
  const known = lookups.get(thread);
  if (known) return known;
  const empty: DetailLookup = { get: () => undefined };
  let bytes: Uint8Array;
  try {
    const buffer = readFileSync(join(trace.dir, detailFileOf(thread)));
    bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
  } catch {
    lookups.set(thread, empty);
    return empty;
  }
  const scan = scanThreadFile(bytes);
  if (scan.lane !== LANE_DETAIL) {
    lookups.set(thread, empty);
    return empty;
  }
  const origin = scan.header?.timeOriginMs ?? thread.info.timeOriginMs;
  const start = trace.manifest.startEpochMs || origin;
  // Each chunk's records (compressed chunks decoded once, here), and serial -> where its record
  // is: payload index × 2^32 + byte offset (the last one wins, as in threadDetail).
  const payloads: { bytes: Uint8Array; view: DataView }[] = [];
  const at = new Map<number, number>();
  for (const chunk of scan.chunks) {
    const payload = detailChunkPayload(bytes, chunk, detailFileOf(thread), []);
    if (payload === null) continue;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const index = payloads.push({ bytes: payload, view }) - 1;
    let offset = 0;
    const end = payload.byteLength;
    while (offset + DETAIL_HEADER_BYTES <= end) {
      const header = decodeDetailHeader(view, offset);
      if (header.length < DETAIL_HEADER_BYTES || (header.length & 7) !== 0 || offset + header.length > end) break;
      if (header.type !== DT_WINDOW) at.set(header.serial, index * 2 ** 32 + offset);
      offset += header.length;
    }
  }
  const decoder = new TextDecoder();
  const lookup: DetailLookup = {
    get(serial) {
      const where = at.get(serial);
      if (where === undefined) return undefined;
      const { bytes: payload, view } = payloads[Math.floor(where / 2 ** 32)]!;
      const offset = where % 2 ** 32;
      const header = decodeDetailHeader(view, offset);
      try {
        const body: unknown = JSON.parse(decoder.decode(payload.subarray(offset + DETAIL_HEADER_BYTES, offset + header.length)));
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
        return { serial, type: header.type, ns: Math.round((origin - start + header.time) * 1e6), body: body as Record<string, unknown> };
      } catch {
        return undefined;
      }
    },
  };
  lookups.set(thread, lookup);
  return lookup;
}

/**
 * A detail chunk's framed records: the stored payload itself, or decompressed (format 3). A
 * chunk that does not decode is a problem line and null; a Node that cannot read the codec
 * (zstd on Node 20) is an error, as for the index lane.
 */
function detailChunkPayload(bytes: Uint8Array, chunk: ChunkInfo, file: string, problems: string[]): Uint8Array | null {
  const stored = bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.payloadBytes);
  try {
    return decodeDetailChunk(stored, chunk.encoding);
  } catch (error) {
    if ((error as { code?: string }).code === 'E_CODEC_UNAVAILABLE') throw error;
    problems.push(`${file}: a detail chunk (seq ${chunk.seq}) does not decode (${(error as Error).message}); its values are lost`);
    return null;
  }
}
