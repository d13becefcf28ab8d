// Encoding and validating thread files: a preamble + JSON header, then a sequence of chunks
// (48-byte header + records). Works on Uint8Arrays only, so the recorder, the reader and tests
// share it without Node-only imports. Decoding never throws on bad bytes: it returns what it
// could read and a list of problems (truncation, checksum mismatch, bad magic, sequence gaps).

import { checksumInit, checksumWords } from './checksum.js';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_MAGIC,
  CH_CHECKSUM,
  CH_COUNT,
  CH_FIRST_TIME,
  CH_FLAGS,
  CH_LANE,
  CH_LAST_TIME,
  CH_MAGIC,
  CH_PAYLOAD_BYTES,
  CH_RESERVED,
  CH_SEQ,
  CH_VERSION,
  FILE_MAGIC,
  FILE_PREAMBLE_BYTES,
  FORMAT_VERSION,
  RECORD_BYTES,
} from './layout.js';

/** What a thread file says about its thread, in its JSON header. */
export interface ThreadFileHeader {
  formatVersion: number;
  lane: 'index' | 'detail';
  pid: number;
  threadId: number;
  slot: number;
  name: string;
  /** Epoch milliseconds of this thread's performance.timeOrigin: record times are relative to it. */
  timeOriginMs: number;
}

export interface ChunkInfo {
  offset: number; // of the chunk header in the file
  seq: number;
  count: number;
  payloadOffset: number;
  payloadBytes: number;
  firstTime: number;
  lastTime: number;
  flags: number;
}

export type ProblemKind = 'truncated' | 'checksum' | 'bad-magic' | 'sequence-gap' | 'bad-header' | 'newer-version';

export interface FileProblem {
  kind: ProblemKind;
  offset: number;
  message: string;
  /** Records known lost (from a damaged chunk's header, when it could be read). */
  recordsLost: number;
}

export interface ThreadFileScan {
  header: ThreadFileHeader | null;
  chunks: ChunkInfo[];
  problems: FileProblem[];
  /** Records in the valid chunks. */
  records: number;
  /** Bytes of the file covered by the preamble and valid chunks. */
  validBytes: number;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: false });

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes of a thread file's preamble + padded JSON header. */
export function encodeFileHeader(header: ThreadFileHeader, laneCode: number): Uint8Array {
  const json = textEncoder.encode(JSON.stringify(header));
  const padded = align8(json.length);
  const out = new Uint8Array(FILE_PREAMBLE_BYTES + padded);
  out.fill(0x20, FILE_PREAMBLE_BYTES + json.length); // pad with spaces so JSON.parse still works
  out.set(json, FILE_PREAMBLE_BYTES);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, FILE_MAGIC, true);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint16(6, laneCode, true);
  view.setUint32(8, padded, true);
  view.setUint32(12, checksumWords(checksumInit(), wordsOf(out, FILE_PREAMBLE_BYTES, padded)), true);
  return out;
}

function wordsOf(bytes: Uint8Array, offset: number, length: number): Uint32Array {
  const start = bytes.byteOffset + offset;
  if ((start & 3) === 0) return new Uint32Array(bytes.buffer, start, length >>> 2);
  const copy = bytes.slice(offset, offset + length);
  return new Uint32Array(copy.buffer, 0, length >>> 2);
}

/**
 * Write a chunk header for `payload` (whole records) into `header` (48 bytes).
 * The checksum covers the header fields and the payload.
 */
export function encodeChunkHeader(
  header: Uint8Array,
  lane: number,
  seq: number,
  count: number,
  payload: Uint8Array,
  firstTime: number,
  lastTime: number,
  flags: number,
): void {
  const view = new DataView(header.buffer, header.byteOffset, CHUNK_HEADER_BYTES);
  view.setUint32(CH_MAGIC, CHUNK_MAGIC, true);
  view.setUint16(CH_VERSION, FORMAT_VERSION, true);
  view.setUint16(CH_LANE, lane, true);
  view.setUint32(CH_SEQ, seq >>> 0, true);
  view.setUint32(CH_COUNT, count >>> 0, true);
  view.setUint32(CH_PAYLOAD_BYTES, payload.byteLength, true);
  view.setUint32(CH_CHECKSUM, 0, true);
  view.setFloat64(CH_FIRST_TIME, firstTime, true);
  view.setFloat64(CH_LAST_TIME, lastTime, true);
  view.setUint32(CH_FLAGS, flags >>> 0, true);
  view.setUint32(CH_RESERVED, 0, true);
  view.setUint32(CH_CHECKSUM, chunkChecksum(header, payload), true);
}

function chunkChecksum(header: Uint8Array, payload: Uint8Array): number {
  let h = checksumInit();
  h = checksumWords(h, wordsOf(header, 0, CH_CHECKSUM));
  h = checksumWords(h, wordsOf(header, CH_CHECKSUM + 4, CHUNK_HEADER_BYTES - CH_CHECKSUM - 4));
  h = checksumWords(h, wordsOf(payload, 0, payload.byteLength & ~3));
  return h;
}

/** Read the preamble and JSON header. Returns null header with a problem when unreadable. */
export function decodeFileHeader(bytes: Uint8Array): { header: ThreadFileHeader | null; end: number; problem?: FileProblem } {
  if (bytes.byteLength < FILE_PREAMBLE_BYTES) {
    return { header: null, end: 0, problem: { kind: 'truncated', offset: 0, message: 'file ends inside its preamble', recordsLost: 0 } };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== FILE_MAGIC) {
    return { header: null, end: 0, problem: { kind: 'bad-magic', offset: 0, message: 'not a recall thread file (wrong magic)', recordsLost: 0 } };
  }
  const version = view.getUint16(4, true);
  if (version > FORMAT_VERSION) {
    return {
      header: null,
      end: 0,
      problem: { kind: 'newer-version', offset: 4, message: `written by trace format version ${version}; this recall reads up to ${FORMAT_VERSION}`, recordsLost: 0 },
    };
  }
  const jsonBytes = view.getUint32(8, true);
  const end = FILE_PREAMBLE_BYTES + jsonBytes;
  if ((jsonBytes & 7) !== 0 || end > bytes.byteLength) {
    return { header: null, end: 0, problem: { kind: 'truncated', offset: FILE_PREAMBLE_BYTES, message: 'file ends inside its JSON header', recordsLost: 0 } };
  }
  const expected = view.getUint32(12, true);
  if (checksumWords(checksumInit(), wordsOf(bytes, FILE_PREAMBLE_BYTES, jsonBytes)) !== expected) {
    return { header: null, end, problem: { kind: 'checksum', offset: FILE_PREAMBLE_BYTES, message: 'thread header checksum mismatch', recordsLost: 0 } };
  }
  try {
    const parsed = JSON.parse(textDecoder.decode(bytes.subarray(FILE_PREAMBLE_BYTES, end))) as ThreadFileHeader;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.threadId !== 'number' || typeof parsed.timeOriginMs !== 'number') {
      throw new Error('fields');
    }
    return { header: parsed, end };
  } catch {
    return { header: null, end, problem: { kind: 'bad-header', offset: FILE_PREAMBLE_BYTES, message: 'thread header is not valid JSON', recordsLost: 0 } };
  }
}

/** Find the next 8-aligned chunk magic at or after `from`; -1 if none. */
function resync(view: DataView, from: number): number {
  for (let at = align8(from); at + CHUNK_HEADER_BYTES <= view.byteLength; at += 8) {
    if (view.getUint32(at, true) === CHUNK_MAGIC) return at;
  }
  return -1;
}

/**
 * Scan a whole thread file: header, then every chunk, verifying checksums when `verify`.
 * Damaged chunks are skipped (and reported); scanning resumes at the next chunk magic.
 */
export function scanThreadFile(bytes: Uint8Array, verify = true): ThreadFileScan {
  const problems: FileProblem[] = [];
  const chunks: ChunkInfo[] = [];
  const head = decodeFileHeader(bytes);
  if (head.problem) problems.push(head.problem);
  if (!head.header) return { header: null, chunks, problems, records: 0, validBytes: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = head.end;
  let validBytes = head.end;
  let records = 0;
  let expectSeq = 0;
  while (at < bytes.byteLength) {
    if (at + CHUNK_HEADER_BYTES > bytes.byteLength) {
      problems.push({ kind: 'truncated', offset: at, message: `file ends inside a chunk header at byte ${at}`, recordsLost: 0 });
      break;
    }
    if (view.getUint32(at + CH_MAGIC, true) !== CHUNK_MAGIC) {
      const next = resync(view, at + 8);
      problems.push({
        kind: 'bad-magic',
        offset: at,
        message: `no chunk magic at byte ${at}` + (next < 0 ? '; nothing readable after it' : `; resumed at byte ${next}`),
        recordsLost: 0,
      });
      if (next < 0) break;
      at = next;
      continue;
    }
    const version = view.getUint16(at + CH_VERSION, true);
    const count = view.getUint32(at + CH_COUNT, true);
    const payloadBytes = view.getUint32(at + CH_PAYLOAD_BYTES, true);
    const seq = view.getUint32(at + CH_SEQ, true);
    const plausible = payloadBytes === count * RECORD_BYTES || view.getUint16(at + CH_LANE, true) !== 1;
    const payloadOffset = at + CHUNK_HEADER_BYTES;
    if (!plausible || (payloadBytes & 3) !== 0 || version > FORMAT_VERSION) {
      const next = resync(view, at + 8);
      problems.push({
        kind: version > FORMAT_VERSION ? 'newer-version' : 'bad-header',
        offset: at,
        message: `chunk header at byte ${at} is inconsistent` + (next < 0 ? '' : `; resumed at byte ${next}`),
        recordsLost: 0,
      });
      if (next < 0) break;
      at = next;
      continue;
    }
    if (payloadOffset + payloadBytes > bytes.byteLength) {
      problems.push({
        kind: 'truncated',
        offset: at,
        message: `file ends inside chunk ${seq} (${count} records lost)`,
        recordsLost: count,
      });
      break;
    }
    const headerBytes = bytes.subarray(at, payloadOffset);
    const payload = bytes.subarray(payloadOffset, payloadOffset + payloadBytes);
    if (verify && chunkChecksum(headerBytes, payload) !== view.getUint32(at + CH_CHECKSUM, true)) {
      problems.push({ kind: 'checksum', offset: at, message: `chunk ${seq} at byte ${at} fails its checksum (${count} records skipped)`, recordsLost: count });
      at = payloadOffset + payloadBytes;
      expectSeq = seq + 1;
      continue;
    }
    if (seq !== expectSeq) {
      problems.push({ kind: 'sequence-gap', offset: at, message: `chunk sequence jumps from ${expectSeq} to ${seq}`, recordsLost: 0 });
    }
    expectSeq = seq + 1;
    chunks.push({
      offset: at,
      seq,
      count,
      payloadOffset,
      payloadBytes,
      firstTime: view.getFloat64(at + CH_FIRST_TIME, true),
      lastTime: view.getFloat64(at + CH_LAST_TIME, true),
      flags: view.getUint32(at + CH_FLAGS, true),
    });
    records += count;
    at = payloadOffset + payloadBytes;
    validBytes = at;
  }
  return { header: head.header, chunks, problems, records, validBytes };
}
