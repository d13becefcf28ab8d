// Encoding and validating thread files: a preamble + JSON header, then a sequence of chunks
// (48-byte header + records). Works on Uint8Arrays only, so the recorder, the reader and tests
// share it without Node-only imports. Decoding never throws on bad bytes: it returns what it
// could read and a list of problems (truncation, checksum mismatch, bad magic, sequence gaps).

import { checksumInit, checksumWords, checksumWords4, lanesFold } from './checksum.js';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_MAGIC,
  CODEC_DEFLATE,
  CODEC_ZSTD,
  CH_CHECKSUM,
  CH_COUNT,
  CH_ENCODING,
  CH_FIRST_TIME,
  CH_FLAGS,
  CH_LANE,
  CH_LAST_TIME,
  CH_MAGIC,
  CH_PAYLOAD_BYTES,
  CH_SEQ,
  CH_VERSION,
  FILE_MAGIC,
  FILE_PREAMBLE_BYTES,
  FORMAT_VERSION,
  LANE_DETAIL,
  LANE_INDEX,
  LAYOUT_BYTES,
  LAYOUT_COLUMNS,
  LAYOUT_ROWS,
  RECORD_BYTES,
} from './layout.js';
import type { ThreadWindow } from './window.js';

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
  /** A joined file of a bounded trace whose beginning was discarded (window.ts). */
  window?: ThreadWindow;
  /** A segment file of a bounded trace being recorded: its number, and the frames open at its start ([fn, serial] pairs). */
  segment?: number;
  openAtStart?: number[];
  /** A segment file: the thread's chunks, records and bytes written before it (deleted segments included). */
  before?: { chunks: number; records: number; bytes: number };
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
  /** The encoding word (CH_ENCODING): 0 = plain records; else codec.ts decodes the payload. */
  encoding: number;
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
  /** Format version from the file preamble (0 when the preamble is unreadable). */
  version: number;
  /** Lane code the chunks were read as (LANE_INDEX or LANE_DETAIL; 0 when unknown). */
  lane: number;
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

/** Bytes of a thread file's preamble + padded JSON header (`version`: tests write older files). */
export function encodeFileHeader(header: ThreadFileHeader, laneCode: number, version = FORMAT_VERSION): Uint8Array {
  const json = textEncoder.encode(JSON.stringify(header));
  const padded = align8(json.length);
  const out = new Uint8Array(FILE_PREAMBLE_BYTES + padded);
  out.fill(0x20, FILE_PREAMBLE_BYTES + json.length); // pad with spaces so JSON.parse still works
  out.set(json, FILE_PREAMBLE_BYTES);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, FILE_MAGIC, true);
  view.setUint16(4, version, true);
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
 * Write a chunk header for `payload` (as stored: whole records, or what codec.ts encoded with
 * `encoding`) into `header` (48 bytes). The checksum covers the header fields and the stored
 * payload. `version`: tests write older chunks.
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
  payloadLanes: Int32Array | null = null,
  encoding = 0,
  version = FORMAT_VERSION,
): void {
  const view = new DataView(header.buffer, header.byteOffset, CHUNK_HEADER_BYTES);
  view.setUint32(CH_MAGIC, CHUNK_MAGIC, true);
  view.setUint16(CH_VERSION, version, true);
  view.setUint16(CH_LANE, lane, true);
  view.setUint32(CH_SEQ, seq >>> 0, true);
  view.setUint32(CH_COUNT, count >>> 0, true);
  view.setUint32(CH_PAYLOAD_BYTES, payload.byteLength, true);
  view.setUint32(CH_CHECKSUM, 0, true);
  view.setFloat64(CH_FIRST_TIME, firstTime, true);
  view.setFloat64(CH_LAST_TIME, lastTime, true);
  view.setUint32(CH_FLAGS, flags >>> 0, true);
  view.setUint32(CH_ENCODING, encoding >>> 0, true);
  view.setUint32(CH_CHECKSUM, chunkChecksum(header, payload, payloadLanes), true);
}

/**
 * The checksum a chunk header must carry for these header bytes (48) and this payload. A writer
 * that already ran the payload's checksum lanes (lanesInit/lanesFold) passes them instead of
 * having the payload read again.
 */
export function chunkChecksum(header: Uint8Array, payload: Uint8Array, payloadLanes: Int32Array | null = null): number {
  let h = checksumInit();
  h = checksumWords(h, wordsOf(header, 0, CH_CHECKSUM));
  h = checksumWords(h, wordsOf(header, CH_CHECKSUM + 4, CHUNK_HEADER_BYTES - CH_CHECKSUM - 4));
  h = payloadLanes !== null ? lanesFold(h, payloadLanes) : checksumWords4(h, wordsOf(payload, 0, payload.byteLength & ~3));
  return h;
}

/**
 * Whether a chunk header's fields fit together (every reader asks this before it trusts a
 * chunk): a known version, the file's lane, a payload a multiple of 8; plain index-lane
 * records exactly `count × 16` bytes; an encoded payload (version 2, index lane only) with a
 * known codec and layout, its padding inside it, and no larger than its records are plain.
 */
export function chunkPlausible(version: number, lane: number, fileLane: number, count: number, payloadBytes: number, encoding: number): boolean {
  if (version < 1 || version > FORMAT_VERSION || lane !== fileLane || (payloadBytes & 7) !== 0) return false;
  if (encoding === 0) return lane !== LANE_INDEX || payloadBytes === count * RECORD_BYTES;
  const codec = encoding & 0xff;
  const layout = (encoding >>> 8) & 0xff;
  const pad = encoding >>> 16;
  if (version < 2 || (codec !== CODEC_ZSTD && codec !== CODEC_DEFLATE) || pad > 7 || pad >= payloadBytes) return false;
  // Version 3 compresses detail chunks whole (their length first); version 2, index chunks only.
  if (lane === LANE_DETAIL) return version >= 3 && layout === LAYOUT_BYTES && count > 0 && payloadBytes >= 16;
  return lane === LANE_INDEX && (layout === LAYOUT_ROWS || layout === LAYOUT_COLUMNS) && count > 0 && payloadBytes <= count * RECORD_BYTES;
}

/** What the preamble and JSON header of a thread file say, and where its chunks begin. */
export interface FileHeaderDecode {
  /** The JSON header; null when it is missing, damaged or fails its checksum. */
  header: ThreadFileHeader | null;
  /** Format version from the preamble (0 when the preamble is unreadable). */
  version: number;
  /** Lane code the chunks are read as (LANE_INDEX or LANE_DETAIL); 0 when unknown. */
  lane: number;
  /** Offset where chunks begin (8-aligned); -1 when the chunks must not be read. */
  chunksAt: number;
  problems: FileProblem[];
}

function isLaneCode(code: number): boolean {
  return code === LANE_INDEX || code === LANE_DETAIL;
}

function laneCodeOf(name: unknown): number {
  return name === 'index' ? LANE_INDEX : name === 'detail' ? LANE_DETAIL : 0;
}

function parseHeaderJson(bytes: Uint8Array, length: number, expected: number): ThreadFileHeader | 'checksum' | 'invalid' {
  if (checksumWords(checksumInit(), wordsOf(bytes, FILE_PREAMBLE_BYTES, length)) !== expected) return 'checksum';
  try {
    const parsed = JSON.parse(textDecoder.decode(bytes.subarray(FILE_PREAMBLE_BYTES, FILE_PREAMBLE_BYTES + length))) as ThreadFileHeader;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.threadId !== 'number' || typeof parsed.timeOriginMs !== 'number') return 'invalid';
    return parsed;
  } catch {
    return 'invalid';
  }
}

/**
 * Read the preamble and JSON header. A wrong magic, an unknown (older or newer) version or a
 * file too short for its preamble makes the whole file unreadable (chunksAt -1). A damaged JSON
 * header only loses the header: the chunks are self-describing and are still read.
 */
export function decodeFileHeader(bytes: Uint8Array): FileHeaderDecode {
  const problems: FileProblem[] = [];
  const unreadable = (problem: FileProblem, version = 0): FileHeaderDecode => ({ header: null, version, lane: 0, chunksAt: -1, problems: [problem] });
  if (bytes.byteLength < FILE_PREAMBLE_BYTES) {
    return unreadable({ kind: 'truncated', offset: 0, message: 'file ends inside its preamble', recordsLost: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== FILE_MAGIC) {
    return unreadable({ kind: 'bad-magic', offset: 0, message: 'not a recall thread file (wrong magic)', recordsLost: 0 });
  }
  const version = view.getUint16(4, true);
  if (version > FORMAT_VERSION) {
    return unreadable(
      { kind: 'newer-version', offset: 4, message: `written by trace format version ${version}; this recall reads up to ${FORMAT_VERSION}`, recordsLost: 0 },
      version,
    );
  }
  if (version < 1) {
    return unreadable({ kind: 'bad-header', offset: 4, message: `thread file preamble has no valid format version (${version})`, recordsLost: 0 }, version);
  }
  const preambleLane = view.getUint16(6, true);
  const expected = view.getUint32(12, true);
  const jsonBytes = view.getUint32(8, true);
  const stated = (jsonBytes & 7) === 0 && FILE_PREAMBLE_BYTES + jsonBytes <= bytes.byteLength;
  let header: ThreadFileHeader | null = null;
  const statedEnd = stated ? FILE_PREAMBLE_BYTES + jsonBytes : -1;
  let chunksAt = statedEnd;
  let failure: 'checksum' | 'invalid' | null = null;
  if (stated) {
    const parsed = parseHeaderJson(bytes, jsonBytes, expected);
    if (typeof parsed === 'object') header = parsed;
    else failure = parsed;
  }
  if (!header) {
    // The length field may be damaged: the header ends where the first chunk begins, so try
    // that length against the checksum.
    const first = resync(view, FILE_PREAMBLE_BYTES);
    if (first >= 0 && first !== statedEnd) {
      const parsed = parseHeaderJson(bytes, first - FILE_PREAMBLE_BYTES, expected);
      if (typeof parsed === 'object') {
        header = parsed;
        chunksAt = first;
        problems.push({ kind: 'bad-header', offset: 8, message: `thread file preamble has a wrong header length (${jsonBytes}); header recovered`, recordsLost: 0 });
      }
    }
    // Header lost: read chunks from where they should begin, or from the first chunk magic if
    // that comes earlier (a scan from the stated end reports a damaged first chunk).
    if (!header && first >= 0 && (chunksAt < 0 || first < chunksAt)) chunksAt = first;
    if (!header) {
      if (chunksAt < 0) {
        return unreadable({ kind: 'truncated', offset: FILE_PREAMBLE_BYTES, message: 'file ends inside its JSON header', recordsLost: 0 }, version);
      }
      problems.push(
        failure === 'invalid'
          ? { kind: 'bad-header', offset: FILE_PREAMBLE_BYTES, message: 'thread header is not valid JSON (header ignored; chunks still read)', recordsLost: 0 }
          : failure === 'checksum'
            ? { kind: 'checksum', offset: FILE_PREAMBLE_BYTES, message: 'thread header checksum mismatch (header ignored; chunks still read)', recordsLost: 0 }
            : { kind: 'bad-header', offset: 8, message: `thread file preamble has a bad header length (${jsonBytes}); header lost, chunks read from byte ${chunksAt}`, recordsLost: 0 },
      );
    }
  }
  // The lane: the checksummed JSON header is trusted over the preamble's bare lane code; with
  // neither, the first chunk header says (chunk headers are checksummed too).
  let lane = laneCodeOf(header?.lane);
  let source = 'its header says';
  if (lane === 0 && isLaneCode(preambleLane)) lane = preambleLane;
  if (lane === 0 && chunksAt >= 0) {
    const first = resync(view, chunksAt);
    const firstLane = first < 0 ? 0 : view.getUint16(first + CH_LANE, true);
    if (isLaneCode(firstLane)) {
      lane = firstLane;
      source = 'its first chunk says';
    }
  }
  if (lane !== preambleLane) {
    problems.push({
      kind: 'bad-header',
      offset: 6,
      message: `thread file preamble has lane code ${preambleLane}` + (lane === 0 ? '; the chunks cannot be read' : `; read as lane ${lane} as ${source}`),
      recordsLost: 0,
    });
    if (lane === 0) chunksAt = -1;
  }
  return { header, version, lane, chunksAt, problems };
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
 * Never throws. Damaged chunks are skipped (and reported); scanning resumes at the next chunk
 * magic. Every chunk returned lies inside `bytes`, starts 8-aligned, belongs to the file's lane
 * (index lane: payloadBytes = count * 16) and, when `verify`, matches its checksum.
 */
export function scanThreadFile(bytes: Uint8Array, verify = true): ThreadFileScan {
  const chunks: ChunkInfo[] = [];
  const head = decodeFileHeader(bytes);
  const problems: FileProblem[] = head.problems;
  const base = { header: head.header, version: head.version, lane: head.lane };
  if (head.chunksAt < 0) return { ...base, chunks, problems, records: 0, validBytes: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.byteLength;
  let at = head.chunksAt;
  let validBytes = head.chunksAt;
  let records = 0;
  let expectSeq = 0;
  /** Skip a damaged chunk header: resume at the next chunk magic, or stop. */
  const skip = (kind: ProblemKind, message: string, recordsLost: number): boolean => {
    const next = resync(view, at + 8);
    problems.push({ kind, offset: at, message: message + (next < 0 ? '; nothing readable after it' : `; resumed at byte ${next}`), recordsLost });
    if (next < 0) return false;
    at = next;
    return true;
  };
  while (at < length) {
    if (at + CHUNK_HEADER_BYTES > length) {
      // Name the records lost when the cut header still shows them.
      let lost = 0;
      if (at + CH_COUNT + 4 <= length && view.getUint32(at + CH_MAGIC, true) === CHUNK_MAGIC) lost = view.getUint32(at + CH_COUNT, true);
      problems.push({
        kind: 'truncated',
        offset: at,
        message: `file ends inside a chunk header at byte ${at}` + (lost > 0 ? ` (${lost} records lost)` : ''),
        recordsLost: lost,
      });
      break;
    }
    if (view.getUint32(at + CH_MAGIC, true) !== CHUNK_MAGIC) {
      if (!skip('bad-magic', `no chunk magic at byte ${at}`, 0)) break;
      continue;
    }
    const version = view.getUint16(at + CH_VERSION, true);
    const lane = view.getUint16(at + CH_LANE, true);
    const seq = view.getUint32(at + CH_SEQ, true);
    const count = view.getUint32(at + CH_COUNT, true);
    const payloadBytes = view.getUint32(at + CH_PAYLOAD_BYTES, true);
    const encoding = view.getUint32(at + CH_ENCODING, true);
    const payloadOffset = at + CHUNK_HEADER_BYTES;
    if (version > FORMAT_VERSION) {
      if (!skip('newer-version', `chunk at byte ${at} is in trace format version ${version}; this recall reads up to ${FORMAT_VERSION}`, 0)) break;
      continue;
    }
    if (!chunkPlausible(version, lane, head.lane, count, payloadBytes, encoding)) {
      if (!skip('bad-header', `chunk header at byte ${at} is inconsistent`, 0)) break;
      continue;
    }
    const end = payloadOffset + payloadBytes;
    if (end > length) {
      // A cut file, unless a chunk follows (then the length fields were damaged).
      if (resync(view, at + 8) < 0) {
        problems.push({ kind: 'truncated', offset: at, message: `file ends inside chunk ${seq} at byte ${at} (${count} records lost)`, recordsLost: count });
        break;
      }
      if (!skip('bad-header', `chunk header at byte ${at} claims ${payloadBytes} bytes, past the end of the file`, 0)) break;
      continue;
    }
    if (verify && chunkChecksum(bytes.subarray(at, payloadOffset), bytes.subarray(payloadOffset, end)) !== view.getUint32(at + CH_CHECKSUM, true)) {
      expectSeq = seq + 1;
      // Trust the damaged chunk's length only when it leads to the end or to another chunk.
      if (end === length || (end + 4 <= length && view.getUint32(end, true) === CHUNK_MAGIC)) {
        problems.push({ kind: 'checksum', offset: at, message: `chunk ${seq} at byte ${at} fails its checksum (${count} records skipped)`, recordsLost: count });
        at = end;
        continue;
      }
      if (!skip('checksum', `chunk ${seq} at byte ${at} fails its checksum (${count} records skipped)`, count)) break;
      continue;
    }
    if (seq !== expectSeq) {
      problems.push({ kind: 'sequence-gap', offset: at, message: `chunk sequence jumps from ${expectSeq} to ${seq} at byte ${at}`, recordsLost: 0 });
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
      encoding,
    });
    records += count;
    at = end;
    validBytes = at;
  }
  return { ...base, chunks, problems, records, validBytes };
}
