// The query engine's file I/O: streaming a thread file's valid chunks into an index builder
// (in pieces, never the whole file), reading a range of a thread's records back through the
// index's chunk table, and reading, judging and writing the index file beside the trace.
// Everything else in src/query works on bytes and typed arrays.

import { closeSync, fstatSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecallError } from '../format/errors.js';
import { chunkChecksum, chunkPlausible, decodeFileHeader, scanThreadFile, type FileProblem } from '../format/chunk.js';
import { decodeIndexPayload, visitChunkRecords } from '../format/codec.js';
import { CHUNK_HEADER_BYTES, CHUNK_MAGIC, CH_CHECKSUM, CH_COUNT, CH_ENCODING, CH_LANE, CH_PAYLOAD_BYTES, CH_SEQ, CH_VERSION, LANE_INDEX, RECORD_BYTES } from '../format/layout.js';
import { decodeIndex, decodeIndexHeader, encodeIndex, indexExtent, indexHeaderBytes, type IndexContents, type IndexSource, type StoredFindings } from './index-file.js';
import { chunkOf, type ThreadIndex } from './thread-index.js';

/** Where the chunks and records of a thread file go while it is indexed. */
export interface ChunkConsumer {
  chunk(payloadOffset: number, count: number): void;
  records(u32: Uint32Array, f64: Float64Array, word: number, count: number): void;
}

/** The index file of a process of the trace: the root's, or a child process's. */
export function indexFileName(pid: number | null, root: boolean): string {
  return root || pid === null ? 'index.recall-idx' : `index-p${pid}.recall-idx`;
}

/** A file's size and modification time now (size -1 when it cannot be read). */
export function sourceOf(dir: string, file: string): IndexSource {
  try {
    const stat = statSync(join(dir, file));
    return { file, size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return { file, size: -1, mtimeMs: 0 };
  }
}

/** Whether the index was built from exactly these files as they are now. */
export function sameSources(a: IndexSource[], b: IndexSource[]): boolean {
  return a.length === b.length && a.every((s, i) => s.file === b[i]?.file && s.size === b[i]?.size && s.mtimeMs === b[i]?.mtimeMs);
}

/**
 * The index stored at `path` if it was built from `sources` with `segmentRecords`; null when
 * it is missing, stale, damaged or of another version (the caller rebuilds it). Never throws.
 * Only its header and eager part are read now; its lazy groups on first use (decodeIndex), from
 * the same file as it was then (a group found damaged, or a file changed since, throws
 * E_INDEX_DAMAGED then, and the file is deleted, so the next open builds it again).
 */
export function loadIndex(path: string, sources: IndexSource[], segmentRecords: number): IndexContents | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  let bytes: Uint8Array;
  let size: number;
  let mtimeMs: number;
  try {
    const stat = fstatSync(fd);
    size = stat.size;
    mtimeMs = stat.mtimeMs;
    const preamble = new Uint8Array(16);
    if (readSync(fd, preamble, 0, 16, 0) !== 16) return null;
    const headerBytes = indexHeaderBytes(preamble);
    if (headerBytes === null || headerBytes > size) return null;
    const head = new Uint8Array(headerBytes);
    if (readFully(fd, head, 0) !== headerBytes) return null;
    const header = decodeIndexHeader(head);
    if (header === null || header.segmentRecords !== segmentRecords || !sameSources(header.sources, sources)) return null;
    const extent = indexExtent(head);
    if (extent === null || extent.end !== size) return null;
    bytes = new Uint8Array(extent.eagerEnd);
    if (readFully(fd, bytes, 0) !== extent.eagerEnd) return null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
  const readRange = (at: number, length: number): Uint8Array | null => {
    let rangeFd = -1;
    try {
      rangeFd = openSync(path, 'r');
      const stat = fstatSync(rangeFd);
      if (stat.size !== size || stat.mtimeMs !== mtimeMs) return null; // rebuilt or changed since it was opened
      const range = new Uint8Array(length);
      return readFully(rangeFd, range, at) === length ? range : null;
    } catch {
      return null;
    } finally {
      if (rangeFd >= 0) closeSync(rangeFd);
    }
  };
  const forget = (): void => {
    try {
      const stat = statSync(path);
      if (stat.size === size && stat.mtimeMs === mtimeMs) unlinkSync(path);
    } catch {
      // gone already
    }
  };
  return decodeIndex(bytes, readRange, forget);
}

/** Read all of `into` from `fd` at `at`; the bytes read. */
function readFully(fd: number, into: Uint8Array, at: number): number {
  let done = 0;
  while (done < into.byteLength) {
    const got = readSync(fd, into, done, into.byteLength - done, at + done);
    if (got <= 0) break;
    done += got;
  }
  return done;
}

/** Whether the index at `path` was built from `sources` with `segmentRecords` (its header only: the checksum is checked when it is loaded). */
export function indexCurrent(path: string, sources: IndexSource[], segmentRecords: number): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const preamble = new Uint8Array(16);
    if (readSync(fd, preamble, 0, 16, 0) !== 16) return false;
    const jsonBytes = new DataView(preamble.buffer).getUint32(8, true);
    if (jsonBytes > 64 << 20) return false;
    const bytes = new Uint8Array(16 + jsonBytes);
    bytes.set(preamble);
    if (readSync(fd, bytes, 16, jsonBytes, 16) !== jsonBytes) return false;
    const header = decodeIndexHeader(bytes);
    return header !== null && header.segmentRecords === segmentRecords && sameSources(header.sources, sources);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Write the index beside the trace (through a temporary file and a rename); false when it cannot be written. */
export function saveIndex(path: string, contents: IndexContents): boolean {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, encodeIndex(contents));
    renameSync(temporary, path);
    return true;
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // nothing was written
    }
    return false;
  }
}

const PIECE_BYTES = 8 << 20;
/** Decoded chunks a RecordReader keeps (1 MiB each at most, as the drain writes them). */
const DECODED_KEPT = 4;

/**
 * Stream the thread file at `path` into `consumer()`'s consumer, checksums verified when
 * `verify`. Returns what reading found, with the same problems scanThreadFile reports. On the
 * first sign of damage the file is read whole and scanned the reference way, and a fresh
 * consumer (consumer() is called again) is fed its valid chunks from the start.
 */
export function streamThreadFile(path: string, verify: boolean, consumer: () => ChunkConsumer): StoredFindings {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    return unreadable(error);
  }
  try {
    const streamed = streamOpenFile(fd, verify, consumer());
    if (streamed !== null) return streamed;
  } catch (error) {
    return unreadable(error);
  } finally {
    closeSync(fd);
  }
  return reference(path, verify, consumer());
}

function unreadable(error: unknown): StoredFindings {
  return { header: null, version: 0, lane: 0, problems: [], records: 0, chunks: 0, size: 0, unreadable: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
}

/** The fast path: null as soon as anything is not as a clean file has it. */
function streamOpenFile(fd: number, verify: boolean, into: ChunkConsumer): StoredFindings | null {
  const size = fstatSync(fd).size;
  let buffer = new Uint8Array(Math.min(PIECE_BYTES, Math.max(size, 64)));
  const got = readSync(fd, buffer, 0, Math.min(buffer.byteLength, size), 0);
  const head = decodeFileHeader(buffer.subarray(0, got));
  if (head.problems.length > 0 || head.chunksAt < 0 || head.lane !== LANE_INDEX) return null;
  const problems: FileProblem[] = [];
  const header = new Uint8Array(CHUNK_HEADER_BYTES);
  const headerView = new DataView(header.buffer);
  /** Where an encoded chunk's records are decoded. */
  let decoded = new Uint8Array(0);
  let at = head.chunksAt;
  let records = 0;
  let chunks = 0;
  let expectSeq = 0;
  while (at < size) {
    if (at + CHUNK_HEADER_BYTES > size) return null;
    if (readSync(fd, header, 0, CHUNK_HEADER_BYTES, at) !== CHUNK_HEADER_BYTES) return null;
    const version = headerView.getUint16(CH_VERSION, true);
    const count = headerView.getUint32(CH_COUNT, true);
    const payloadBytes = headerView.getUint32(CH_PAYLOAD_BYTES, true);
    const seq = headerView.getUint32(CH_SEQ, true);
    const encoding = headerView.getUint32(CH_ENCODING, true);
    const plausible =
      headerView.getUint32(0, true) === CHUNK_MAGIC &&
      chunkPlausible(version, headerView.getUint16(CH_LANE, true), LANE_INDEX, count, payloadBytes, encoding) &&
      at + CHUNK_HEADER_BYTES + payloadBytes <= size;
    if (!plausible) return null;
    if (buffer.byteLength < payloadBytes) buffer = new Uint8Array(payloadBytes);
    const payload = buffer.subarray(0, payloadBytes);
    if (readSync(fd, payload, 0, payloadBytes, at + CHUNK_HEADER_BYTES) !== payloadBytes) return null;
    if (verify && chunkChecksum(header, payload) !== headerView.getUint32(CH_CHECKSUM, true)) return null;
    if (seq !== expectSeq) problems.push({ kind: 'sequence-gap', offset: at, message: `chunk sequence jumps from ${expectSeq} to ${seq} at byte ${at}`, recordsLost: 0 });
    expectSeq = seq + 1;
    into.chunk(at + CHUNK_HEADER_BYTES, count);
    if (encoding === 0) {
      into.records(new Uint32Array(buffer.buffer, 0, count * 4), new Float64Array(buffer.buffer, 0, count * 2), 0, count);
    } else {
      if (decoded.byteLength < count * RECORD_BYTES) decoded = new Uint8Array(count * RECORD_BYTES);
      decodeIndexPayload(payload, encoding, count, decoded, 0);
      into.records(new Uint32Array(decoded.buffer, 0, count * 4), new Float64Array(decoded.buffer, 0, count * 2), 0, count);
    }
    records += count;
    chunks++;
    at += CHUNK_HEADER_BYTES + payloadBytes;
  }
  return { header: head.header, version: head.version, lane: head.lane, problems, records, chunks, size };
}

/** The reference way, for damaged files: the whole file, scanned by scanThreadFile. */
function reference(path: string, verify: boolean, into: ChunkConsumer): StoredFindings {
  let bytes: Uint8Array;
  try {
    const buffer = readFileSync(path);
    bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
  } catch (error) {
    return unreadable(error);
  }
  const scan = scanThreadFile(bytes, verify);
  if (scan.lane === LANE_INDEX) {
    visitChunkRecords(bytes, scan, (u32, f64, word, count, chunk) => {
      into.chunk((scan.chunks[chunk] as { payloadOffset: number }).payloadOffset, count);
      into.records(u32, f64, word, count);
    });
  }
  return { header: scan.header, version: scan.version, lane: scan.lane, problems: scan.problems, records: scan.records, chunks: scan.chunks.length, size: bytes.byteLength };
}

/** Records read back: `count` records at word `word` of `u32` (`f64` views the same bytes). */
export interface RecordRange {
  u32: Uint32Array;
  f64: Float64Array;
  word: number;
  count: number;
}

/**
 * Reads ranges of records of a trace's thread files, through their indexes' chunk tables. A
 * range in a compressed chunk (format 2) is read by decoding the whole chunk; the last few
 * decoded chunks are kept, since a question reads neighbouring ranges.
 */
export class RecordReader {
  private readonly fds = new Map<string, number>();
  private buffer = new ArrayBuffer(1 << 20);
  private readonly header = new Uint8Array(CHUNK_HEADER_BYTES);
  private readonly headerView = new DataView(this.header.buffer);
  /** Decoded chunks, most recent last: file, payload offset, plain records. */
  private readonly decoded: { file: string; payloadAt: number; records: Uint8Array | null }[] = [];
  /** Where a compressed chunk's stored bytes are read before they are decoded. */
  private stored = new Uint8Array(0);

  constructor(private readonly dir: string) {}

  private fdOf(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      fd = openSync(join(this.dir, file), 'r');
      this.fds.set(file, fd);
    }
    return fd;
  }

  /** Records [from, to) of the thread (clamped to its records). The range is valid until the next read. */
  read(index: ThreadIndex, from: number, to: number): RecordRange {
    const start = Math.max(0, from);
    const end = Math.min(to, index.records);
    const count = Math.max(0, end - start);
    if (this.buffer.byteLength < count * RECORD_BYTES) this.buffer = new ArrayBuffer(count * RECORD_BYTES);
    const bytes = new Uint8Array(this.buffer);
    const fd = this.fdOf(index.file);
    let pos = start;
    let chunk = chunkOf(index, pos);
    while (pos < end && chunk >= 0 && chunk < index.chunkFirst.length) {
      const first = index.chunkFirst[chunk] as number;
      const chunkEnd = first + (index.chunkCount[chunk] as number);
      const upto = Math.min(end, chunkEnd);
      const length = (upto - pos) * RECORD_BYTES;
      const payloadAt = index.chunkPayload[chunk] as number;
      const offset = (pos - start) * RECORD_BYTES;
      const plain = this.encodedChunk(index.file, fd, payloadAt, index.chunkCount[chunk] as number);
      if (plain !== null) {
        bytes.set(plain.subarray((pos - first) * RECORD_BYTES, (upto - first) * RECORD_BYTES), offset);
      } else {
        this.readFully(index.file, fd, bytes, offset, length, payloadAt + (pos - first) * RECORD_BYTES);
      }
      pos = upto;
      chunk++;
    }
    return { u32: new Uint32Array(this.buffer, 0, count * 4), f64: new Float64Array(this.buffer, 0, count * 2), word: 0, count };
  }

  private readFully(file: string, fd: number, into: Uint8Array, offset: number, length: number, fileAt: number): void {
    if (readFully(fd, into.subarray(offset, offset + length), fileAt) !== length) {
      throw new RecallError('E_TRACE_UNREADABLE', `${file} became shorter while it was read: open the trace again (its index is rebuilt)`);
    }
  }

  /** The plain records of the chunk whose payload is at `payloadAt` when it is encoded; null when it is stored plain (read in place). */
  private encodedChunk(file: string, fd: number, payloadAt: number, count: number): Uint8Array | null {
    const known = this.decoded.find((d) => d.file === file && d.payloadAt === payloadAt);
    if (known) return known.records;
    this.readFully(file, fd, this.header, 0, CHUNK_HEADER_BYTES, payloadAt - CHUNK_HEADER_BYTES);
    const encoding = this.headerView.getUint32(CH_ENCODING, true);
    let records: Uint8Array | null = null;
    // The oldest decoded chunk makes room, and lends its buffer: a fresh 1 MiB per chunk cost
    // more in page faults than the decompression (~1.5 ms a chunk on this machine).
    const evicted = this.decoded.length >= DECODED_KEPT ? this.decoded.shift() : undefined;
    if (encoding !== 0) {
      const storedBytes = this.headerView.getUint32(CH_PAYLOAD_BYTES, true);
      if (this.stored.byteLength < storedBytes) this.stored = new Uint8Array(storedBytes);
      const stored = this.stored.subarray(0, storedBytes);
      this.readFully(file, fd, stored, 0, storedBytes, payloadAt);
      const want = count * RECORD_BYTES;
      const lent = evicted?.records;
      records = lent && lent.buffer.byteLength >= want ? new Uint8Array(lent.buffer, 0, want) : new Uint8Array(want);
      decodeIndexPayload(stored, encoding, count, records, 0);
    }
    this.decoded.push({ file, payloadAt, records });
    return records;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.decoded.length = 0;
  }
}
