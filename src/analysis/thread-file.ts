// Reading one index-lane thread file for `recall summary` without holding it in memory: the file
// is read in pieces into one reused buffer, each chunk is verified against its checksum and then
// walked while its bytes are still in cache (with the WebAssembly kernel, a chunk's checksum runs
// inside the walk of the chunk before it, and is judged before that chunk is walked). The result is exactly what scanThreadFile on the
// whole file says (the same problems, chunks and counts): on the first sign of damage — anything
// scanThreadFile would report other than a sequence gap — the whole file is read and scanned
// the reference way, and the walk continues with the chunks after the ones already walked
// (scanThreadFile's decisions about a chunk depend only on the bytes before and in it, so those
// chunks are the same in both).

import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { chunkChecksum, chunkPlausible, decodeFileHeader, scanThreadFile, type FileProblem, type ThreadFileHeader } from '../format/chunk.js';
import { decodeIndexPayload, visitChunkRecords } from '../format/codec.js';
import { CHUNK_HEADER_BYTES, CHUNK_MAGIC, CH_CHECKSUM, CH_COUNT, CH_ENCODING, CH_MAGIC, CH_PAYLOAD_BYTES, CH_SEQ, CH_VERSION, LANE_INDEX, RECORD_BYTES } from '../format/layout.js';
import { Space } from './kernel.js';
import type { ThreadWalker } from './walk.js';

/** What a thread file held, as openTrace's per-file step needs it (see ThreadFileScan). */
export interface ThreadFileOutcome {
  header: ThreadFileHeader | null;
  version: number;
  lane: number;
  problems: FileProblem[];
  /** Records in the valid chunks. */
  records: number;
  /** Valid chunks. */
  chunks: number;
  validBytes: number;
  /** Bytes of the file as read. */
  size: number;
}

/** Default piece size: large enough that syscalls do not matter, small enough to stay cheap. */
export const READ_PIECE_BYTES = 8 << 20;

/** A read-only view of a file through one region of a Space that slides forward. */
class Window {
  /** Byte address of the region in the space, and its size. */
  private base: number;
  private capacity: number;
  /** File offset of the region's first byte (always 8-aligned). */
  start = 0;
  /** Bytes of the file in the region from its first byte. */
  filled = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    pieceBytes: number,
    readonly space: Space,
  ) {
    this.capacity = Math.max(64, Math.min(pieceBytes, size + 8) + 7) & ~7;
    this.base = space.allocate(this.capacity);
  }

  /** Whether `length` bytes fit in the region as it is. */
  fits(length: number): boolean {
    return length <= this.capacity;
  }

  /** Byte address in the space of file offset `at` (which must be in the window). */
  address(at: number): number {
    return this.base + (at - this.start);
  }

  /**
   * Make file bytes [at, at + length) available (`at` 8-aligned); false when the file ends
   * before them. Reads as much as fits, so most calls cost nothing.
   */
  ensure(at: number, length: number): boolean {
    if (at + length <= this.start + this.filled) return true;
    if (at + length > this.size) return false;
    // Slide: keep what is already read from `at` on, at the front of the region.
    const keep = Math.max(0, this.start + this.filled - at);
    const from = this.base + (at - this.start);
    if (length > this.capacity) {
      // A chunk larger than the region: a larger region (the old one is left unused).
      this.capacity = (length + 7) & ~7;
      const base = this.space.allocate(this.capacity);
      if (keep > 0) this.space.u8.copyWithin(base, from, from + keep);
      this.base = base;
    } else if (keep > 0) {
      this.space.u8.copyWithin(this.base, from, from + keep);
    }
    this.start = at;
    this.filled = keep;
    while (this.filled < length) {
      const want = Math.min(this.capacity - this.filled, this.size - (this.start + this.filled));
      if (want <= 0) return false;
      const got = readSync(this.fd, this.space.u8, this.base + this.filled, want, this.start + this.filled);
      if (got <= 0) return false; // the file shrank while being read
      this.filled += got;
    }
    return true;
  }
}

/**
 * Scan (and, when `walker` is given and the file is an index-lane file, walk) the thread file at
 * `path`, verifying checksums when `verify`. Throws only what reading the file throws (ENOENT,
 * EACCES, EISDIR...): the caller reports it like openTrace does.
 */
export function readThreadFile(path: string, verify: boolean, walker: ThreadWalker | null, pieceBytes = READ_PIECE_BYTES): ThreadFileOutcome {
  const fd = openSync(path, 'r');
  try {
    return readOpenFile(path, fd, verify, walker, pieceBytes);
  } finally {
    closeSync(fd);
  }
}

/** A chunk header that looks right (seq, count and payload size in range), or null. */
interface ChunkHead {
  seq: number;
  count: number;
  payloadBytes: number;
  /** The encoding word: 0 = plain records, else decoded (codec.ts) before the walk. */
  encoding: number;
  end: number;
}

/** Read the chunk header at file offset `at` (in the window); null when it is not plausible. */
function chunkHead(win: Window, at: number, lane: number): ChunkHead | null {
  const u32 = win.space.u32;
  const hw = win.address(at) >> 2; // header word in the space
  if (u32[hw + (CH_MAGIC >> 2)] !== CHUNK_MAGIC) return null;
  const versionLane = u32[hw + (CH_VERSION >> 2)] as number; // u16 version, then u16 lane (CH_LANE)
  const version = versionLane & 0xffff;
  const seq = u32[hw + (CH_SEQ >> 2)] as number;
  const count = u32[hw + (CH_COUNT >> 2)] as number;
  const payloadBytes = u32[hw + (CH_PAYLOAD_BYTES >> 2)] as number;
  const encoding = u32[hw + (CH_ENCODING >> 2)] as number;
  const plausible = chunkPlausible(version, versionLane >>> 16, lane, count, payloadBytes, encoding);
  const end = at + CHUNK_HEADER_BYTES + payloadBytes;
  return plausible && end <= win.size ? { seq, count, payloadBytes, encoding, end } : null;
}

function readOpenFile(path: string, fd: number, verify: boolean, walker: ThreadWalker | null, pieceBytes: number): ThreadFileOutcome {
  const size = fstatSync(fd).size;
  const space = walker ? walker.space : new Space(Math.min(pieceBytes, size + 8));
  const win = new Window(fd, size, pieceBytes, space);
  // The header is judged on the first piece; any problem at all sends the file to the reference scan.
  win.ensure(0, Math.min(size, pieceBytes));
  const head = decodeFileHeader(space.u8.subarray(win.address(0), win.address(0) + win.filled));
  if (head.problems.length > 0 || head.chunksAt < 0 || win.filled < size && head.chunksAt > win.filled) {
    return reference(path, verify, walker, 0);
  }
  const walk = walker !== null && head.lane === LANE_INDEX ? walker : null;
  // With the kernel, each chunk's checksum runs during the walk of the chunk before it.
  const pipelined = verify && walk !== null && space.wasm;
  /** File offset of the chunk whose checksum was run during the last walk, and its verdict. */
  let checked = -1;
  let matched = false;
  const problems: FileProblem[] = [];
  let at = head.chunksAt;
  let records = 0;
  let chunks = 0;
  let expectSeq = 0;
  /** Where encoded chunks are decoded in the space (allocated at the first one). */
  let decodedAt = 0;
  let decodedCapacity = 0;
  while (at < size) {
    if (!win.ensure(at, CHUNK_HEADER_BYTES)) return reference(path, verify, walk, at);
    const chunk = chunkHead(win, at, head.lane);
    if (chunk === null) return reference(path, verify, walk, at);
    if (!win.ensure(at, CHUNK_HEADER_BYTES + chunk.payloadBytes)) return reference(path, verify, walk, at);
    if (verify) {
      const address = win.address(at);
      let ok: boolean;
      if (checked === at) {
        ok = matched;
      } else {
        const bytes = space.u8;
        const payloadAt = address + CHUNK_HEADER_BYTES;
        const actual = space.wasm
          ? space.checksum(address, chunk.payloadBytes)
          : chunkChecksum(bytes.subarray(address, payloadAt), bytes.subarray(payloadAt, payloadAt + chunk.payloadBytes));
        ok = actual === space.u32[(address + CH_CHECKSUM) >> 2];
      }
      if (!ok) return reference(path, verify, walk, at);
    }
    if (chunk.seq !== expectSeq) {
      problems.push({ kind: 'sequence-gap', offset: at, message: `chunk sequence jumps from ${expectSeq} to ${chunk.seq} at byte ${at}`, recordsLost: 0 });
    }
    expectSeq = chunk.seq + 1;
    if (walk) {
      const next = pipelined ? armNext(win, at, chunk.end, head.lane) : -1;
      let word = (win.address(at) + CHUNK_HEADER_BYTES) >> 2;
      if (chunk.encoding !== 0) {
        // Decode into a region of the space beside the window, and walk that.
        const want = chunk.count * RECORD_BYTES;
        if (decodedCapacity < want) {
          decodedAt = space.allocate(want + 8); // room for the byte past the records a decoder may check
          decodedCapacity = want;
        }
        const payloadAt = win.address(at) + CHUNK_HEADER_BYTES;
        decodeIndexPayload(space.u8.subarray(payloadAt, payloadAt + chunk.payloadBytes), chunk.encoding, chunk.count, space.u8, decodedAt);
        word = decodedAt >> 2;
      }
      walk.records(space.u32, space.f64, word, chunk.count);
      if (next >= 0) {
        const address = win.address(next);
        checked = next;
        matched = space.checksumFinish(address) === space.u32[(address + CH_CHECKSUM) >> 2];
      }
    }
    records += chunk.count;
    chunks++;
    at = chunk.end;
  }
  return { header: head.header, version: head.version, lane: head.lane, problems: [...head.problems, ...problems], records, chunks, validBytes: at, size };
}

/**
 * Bring the chunk after the one at `at` (which ends at `end`) into the window next to it and
 * arm its checksum for the walk; returns its offset, or -1 when it cannot be (the file ends, it
 * does not look like a chunk, or both do not fit): it is then checked on its own.
 */
function armNext(win: Window, at: number, end: number, lane: number): number {
  if (!win.fits(end + CHUNK_HEADER_BYTES - at) || !win.ensure(at, end + CHUNK_HEADER_BYTES - at)) return -1;
  const next = chunkHead(win, end, lane);
  if (next === null || next.encoding !== 0 || (next.payloadBytes & 15) !== 0 || !win.fits(next.end - at) || !win.ensure(at, next.end - at)) return -1;
  win.space.armChecksum(win.address(end) + CHUNK_HEADER_BYTES, next.payloadBytes);
  return end;
}

/**
 * The reference way, for damaged files: read it whole, scanThreadFile it, and walk the valid
 * chunks from file offset `from` on (those before it were walked already).
 */
function reference(path: string, verify: boolean, walker: ThreadWalker | null, from: number): ThreadFileOutcome {
  const buffer = readFileSync(path);
  const bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
  const scan = scanThreadFile(bytes, verify);
  if (walker && scan.lane === LANE_INDEX) visitChunkRecords(bytes, scan, (u32, f64, word, count) => walker.records(u32, f64, word, count), from);
  return { header: scan.header, version: scan.version, lane: scan.lane, problems: scan.problems, records: scan.records, chunks: scan.chunks.length, validBytes: scan.validBytes, size: bytes.byteLength };
}
