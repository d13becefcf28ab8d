// Chunk payload encoding (trace format version 2, docs/FORMAT.md section 3): the one place that
// turns a sealed chunk's records into the bytes stored on disk (the drain) and stored bytes back
// into records (every reader). Index-lane records are split into columns (heads, auxes, times)
// and compressed with zstd where node:zlib has it (Node 22.15+, 23.8+) or raw deflate where it
// does not (Node 20); a chunk that does not get smaller is stored plain. Node-only (node:zlib):
// chunk.ts, which frames and validates chunks, stays free of Node imports.

import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { RecallError } from './errors.js';
import type { ChunkInfo, ThreadFileScan } from './chunk.js';
import { CHUNK_HEADER_BYTES, CH_ENCODING, CH_PAYLOAD_BYTES, CODEC_DEFLATE, CODEC_NONE, CODEC_ZSTD, LANE_INDEX, LAYOUT_BYTES, LAYOUT_COLUMNS, LAYOUT_ROWS, RECORD_BYTES } from './layout.js';

type ZstdSync = (buffer: Uint8Array, options?: object) => Buffer;
const zstdCompress = (zlib as unknown as { zstdCompressSync?: ZstdSync }).zstdCompressSync;
const zstdDecompress = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;
const ZSTD_LEVEL_PARAM = (zlib.constants as unknown as Record<string, number>).ZSTD_c_compressionLevel;

/** Whether this Node's zlib has zstd. */
export const HAS_ZSTD = typeof zstdCompress === 'function' && typeof zstdDecompress === 'function';

export type CodecName = 'zstd' | 'deflate' | 'none';

const CODEC_NAMES: Record<number, CodecName> = { [CODEC_NONE]: 'none', [CODEC_ZSTD]: 'zstd', [CODEC_DEFLATE]: 'deflate' };

/** The name of a chunk encoding's codec (for messages and the manifest). */
export function codecName(encoding: number): CodecName {
  return CODEC_NAMES[encoding & 0xff] ?? 'none';
}

/**
 * The codec a writer on this Node uses: zstd where zlib has it, else deflate. RECALL_CODEC
 * (zstd | deflate | none) overrides it, for tests and the bench (zstd where there is none
 * falls back to deflate).
 */
export function writerCodec(requested: string | undefined = process.env.RECALL_CODEC): number {
  if (requested === 'none') return CODEC_NONE;
  if (requested === 'deflate') return CODEC_DEFLATE;
  return HAS_ZSTD ? CODEC_ZSTD : CODEC_DEFLATE;
}

function encodingWord(codec: number, layout: number, pad: number): number {
  return codec | (layout << 8) | (pad << 16);
}

/** The sealed chunk as it is stored: `payload` (a multiple of 8 bytes) and its encoding word. */
export interface SealedPayload {
  payload: Uint8Array;
  encoding: number;
}

/**
 * Turns sealed chunks into stored payloads. One per writer; its buffers are reused, so a
 * payload it returns is valid until the next seal. Allocates nothing per chunk (unless node:zlib's
 * internals are not as NativeStream expects: then what its public calls return).
 */
export class ChunkEncoder {
  private columns = new Uint8Array(0);
  private stored = new Uint8Array(0);
  private readonly result: SealedPayload = { payload: new Uint8Array(0), encoding: 0 };
  private readonly zstdOptions: object;
  private readonly zstd: NativeStream;
  private readonly deflate: NativeStream;

  constructor(readonly codec: number = writerCodec()) {
    this.zstdOptions = { params: { [ZSTD_LEVEL_PARAM ?? 100]: 1 } };
    const options = this.zstdOptions;
    this.zstd = new NativeStream(() => (zlib as unknown as { createZstdCompress: (o: object) => Transform }).createZstdCompress(options), ZSTD_E_END);
    this.deflate = new NativeStream(() => zlib.createDeflateRaw({ level: 1 }), zlib.constants.Z_FINISH);
  }

  /**
   * An index-lane chunk: `records` holds `count` records of 16 bytes (8-aligned in memory).
   * `compress` false stores it plain (a writer that is falling behind).
   */
  sealIndex(records: Uint8Array, count: number, compress = true): SealedPayload {
    if (this.codec === CODEC_NONE || count === 0 || !compress) return this.plain(records);
    if (this.columns.byteLength < records.byteLength) this.columns = new Uint8Array(records.byteLength);
    toColumns(records, count, this.columns);
    return this.compress(this.columns.subarray(0, records.byteLength), records, LAYOUT_COLUMNS);
  }

  /**
   * A detail-lane chunk (framed detail records, a multiple of 8 bytes): compressed whole
   * (LAYOUT_BYTES: its length, four zero bytes, the codec's output), or stored plain when that
   * does not save at least 8 bytes. Snapshots are JSON: ~5-10× smaller.
   */
  sealDetail(payload: Uint8Array): SealedPayload {
    if (this.codec === CODEC_NONE || payload.byteLength < 64) return this.plain(payload);
    const sealed = this.compress(payload, payload, LAYOUT_BYTES, 8);
    if (sealed.encoding !== 0) {
      new DataView(this.stored.buffer, this.stored.byteOffset, 8).setUint32(0, payload.byteLength, true);
      this.stored.fill(0, 4, 8);
    }
    return sealed;
  }

  private plain(records: Uint8Array): SealedPayload {
    this.result.payload = records;
    this.result.encoding = 0;
    return this.result;
  }

  /**
   * `input` (the records, or their columns) through the codec into `stored`, after `prefix`
   * bytes the caller fills in; the records plain when that would not save at least 8 bytes.
   */
  private compress(input: Uint8Array, records: Uint8Array, layout: number, prefix = 0): SealedPayload {
    const codec = this.codec === CODEC_ZSTD && HAS_ZSTD ? CODEC_ZSTD : CODEC_DEFLATE;
    // Worth storing only when it saves at least 8 bytes: room for less than the records.
    const room = records.byteLength - 8 - prefix;
    if (this.stored.byteLength < records.byteLength) this.stored = new Uint8Array(records.byteLength);
    let length = (codec === CODEC_ZSTD ? this.zstd : this.deflate).run(input, this.stored, prefix, room);
    if (length === NATIVE_UNAVAILABLE) {
      const packed = codec === CODEC_ZSTD ? (zstdCompress as ZstdSync)(input, this.zstdOptions) : zlib.deflateRawSync(input, { level: 1 });
      length = packed.byteLength <= room ? packed.byteLength : NATIVE_FULL;
      if (length !== NATIVE_FULL) this.stored.set(packed, prefix);
    }
    if (length === NATIVE_FULL) return this.plain(records);
    const end = prefix + length;
    const padded = (end + 7) & ~7;
    this.stored.fill(0, end, padded);
    this.result.payload = this.stored.subarray(0, padded);
    this.result.encoding = encodingWord(codec, layout, padded - end);
    return this.result;
  }

}

/** Rows of [head, aux, time lo, time hi] to columns: heads, auxes, then times (word pairs). */
function toColumns(records: Uint8Array, count: number, out: Uint8Array): void {
  const rows = new Uint32Array(records.buffer, records.byteOffset, count * 4);
  const cols = new Uint32Array(out.buffer, out.byteOffset, count * 4);
  const times = count * 2;
  for (let i = 0, r = 0; i < count; i++, r += 4) {
    cols[i] = rows[r] as number;
    cols[count + i] = rows[r + 1] as number;
    cols[times + 2 * i] = rows[r + 2] as number;
    cols[times + 2 * i + 1] = rows[r + 3] as number;
  }
}

/** The inverse of toColumns. */
function toRows(columns: Uint8Array, count: number, out: Uint8Array, outOffset: number): void {
  const cols = new Uint32Array(columns.buffer, columns.byteOffset, count * 4);
  const rows = new Uint32Array(out.buffer, out.byteOffset + outOffset, count * 4);
  const times = count * 2;
  for (let i = 0, r = 0; i < count; i++, r += 4) {
    rows[r] = cols[i] as number;
    rows[r + 1] = cols[count + i] as number;
    rows[r + 2] = cols[times + 2 * i] as number;
    rows[r + 3] = cols[times + 2 * i + 1] as number;
  }
}

/** The error of a reader on a Node whose zlib lacks zstd (Node 20, 22 before 22.15). */
export function zstdUnavailable(): RecallError {
  return new RecallError('E_CODEC_UNAVAILABLE', `this trace is compressed with zstd, which Node ${process.version} cannot read: read it with Node 22.15 or later (or 24+)`);
}

/**
 * zlib's sync calls produce output in pieces of `chunkSize` (16 KiB by default) and concatenate
 * them: for a 1 MiB chunk that cost more than the decompression. One piece the size of the
 * records (one byte more, so the end of the stream is seen without a second piece).
 */
function outputChunk(want: number): number {
  return Math.max(64, want + 1);
}

/** A zlib stream with the internals node:zlib's processChunkSync uses. */
type ZlibInternals = Transform & { _handle?: NativeHandle; _writeState?: Uint32Array };

/** The native side of a zlib stream, as node:zlib's own processChunkSync drives it. */
interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOffset: number, inLength: number, output: Uint8Array, outOffset: number, outLength: number): void;
  reset(): void;
}

/** NativeStream.run: this way is not available here (use node:zlib's public sync calls). */
const NATIVE_UNAVAILABLE = -1;
/** NativeStream.run: the output did not fit in the room given. */
const NATIVE_FULL = -2;
/** ZSTD_e_end: finish the frame (zlib.constants names it only where zstd exists). */
const ZSTD_E_END = 2;

/**
 * One zlib context (a compressor or a decompressor) kept for the life of its owner and reused
 * for every chunk, reading and writing the caller's buffers. The public sync calls
 * (zstdDecompressSync, deflateRawSync...) make a new context and new output buffers per call: on
 * the tsc trace's 702 chunks of 1 MiB, decompressing that way took 300–540 ms of allocation, page
 * faults and garbage against 90 ms this way, and compressing 8.4 ns per event against 5.4. It
 * drives the stream's native handle exactly as node:zlib's processChunkSync does (the same on
 * Node 20–26); where that handle is not as expected (or RECALL_ZLIB_DIRECT=0) the callers use
 * the public calls instead.
 */
class NativeStream {
  private stream: ZlibInternals | null = null;

  constructor(
    private readonly create: () => Transform,
    private readonly finish: number,
  ) {}

  /**
   * Run all of `input` through, into out[offset, offset + room): the bytes produced, NATIVE_FULL
   * when they did not fit, NATIVE_UNAVAILABLE when this way is not available. Throws when zlib
   * reports an error (damaged input).
   */
  run(input: Uint8Array, out: Uint8Array, offset: number, room: number): number {
    // Node may close a stream's native handle behind our back (Node 26 does, as a worker's
    // environment begins to end): then start over with a new stream.
    if (this.stream !== null && (this.stream._handle == null || this.stream.destroyed)) this.stream = null;
    if (this.stream === null) {
      if (!nativeStreams) return NATIVE_UNAVAILABLE;
      let stream: ZlibInternals;
      try {
        stream = this.create() as ZlibInternals;
      } catch {
        return NATIVE_UNAVAILABLE; // no such codec on this Node
      }
      stream.on('error', () => {}); // an error is seen through `destroyed` below; never unhandled
      if (typeof stream._handle?.writeSync !== 'function' || typeof stream._handle.reset !== 'function' || !(stream._writeState instanceof Uint32Array)) {
        nativeStreams = false;
        return NATIVE_UNAVAILABLE;
      }
      this.stream = stream;
    }
    const stream = this.stream;
    const handle = stream._handle;
    if (handle == null) {
      this.stream = null;
      return NATIVE_UNAVAILABLE; // closed as it was made: the public calls do this one
    }
    const state = stream._writeState as Uint32Array;
    handle.writeSync(this.finish, input, 0, input.byteLength, out, offset, room);
    if (stream.destroyed) {
      this.stream = null; // the handle reported an error and is closed
      throw new Error('zlib reported an error');
    }
    const outLeft = state[0] as number;
    const inLeft = state[1] as number;
    handle.reset();
    return outLeft === 0 || inLeft !== 0 ? NATIVE_FULL : room - outLeft;
  }
}

/** False once the native handles turned out not to be as NativeStream expects (then never tried again). */
let nativeStreams = process.env.RECALL_ZLIB_DIRECT !== '0';
const zstdDecoder = new NativeStream(() => (zlib as unknown as { createZstdDecompress: () => Transform }).createZstdDecompress(), ZSTD_E_END);
const inflateDecoder = new NativeStream(() => zlib.createInflateRaw(), zlib.constants.Z_FINISH);
/** Where columns are decompressed before they become rows (one more byte than the records). */
let columnScratch = new Uint8Array(0);

/** Decompress `input` into out[offset, offset + want): false when the native way is not available. */
function nativeDecode(codec: number, input: Uint8Array, out: Uint8Array, offset: number, want: number): boolean {
  // One byte more room than the records: a stream that ends exactly there is complete.
  if (out.byteLength < offset + want + 1) return false;
  const produced = (codec === CODEC_ZSTD ? zstdDecoder : inflateDecoder).run(input, out, offset, want + 1);
  if (produced === NATIVE_UNAVAILABLE) return false;
  if (produced !== want) throw new Error(produced === NATIVE_FULL ? 'more bytes than that, or a stream that does not end' : `${produced} bytes`);
  return true;
}

/**
 * Decode a stored payload with encoding word `encoding` (not 0) into `out` at `outOffset`
 * (4-aligned): `count` index-lane records, row after row. Throws a RecallError when this Node
 * cannot decode the codec (zstd on Node 20: E_CODEC_UNAVAILABLE) or the bytes do not decode to
 * exactly the records the header announces (E_CORRUPT: the checksum passed, so only a writer
 * fault or a deliberate edit gets here).
 */
export function decodeIndexPayload(stored: Uint8Array, encoding: number, count: number, out: Uint8Array, outOffset: number): void {
  const codec = encoding & 0xff;
  const layout = (encoding >>> 8) & 0xff;
  const input = stored.subarray(0, stored.byteLength - (encoding >>> 16));
  const want = count * RECORD_BYTES;
  if (codec === CODEC_ZSTD && !HAS_ZSTD) throw zstdUnavailable();
  if (codec !== CODEC_ZSTD && codec !== CODEC_DEFLATE) throw new RecallError('E_CORRUPT', `a chunk has an unknown codec (${codec})`);
  let raw: Uint8Array;
  try {
    if (layout === LAYOUT_COLUMNS) {
      if (columnScratch.byteLength < want + 1) columnScratch = new Uint8Array(want + 1);
      raw = nativeDecode(codec, input, columnScratch, 0, want) ? columnScratch.subarray(0, want) : publicDecode(codec, input, want);
    } else {
      if (nativeDecode(codec, input, out, outOffset, want)) return;
      raw = publicDecode(codec, input, want);
    }
  } catch (error) {
    throw new RecallError('E_CORRUPT', `a ${codecName(encoding)} chunk does not decompress to the ${want} bytes its header announces (${(error as Error).message})`);
  }
  if (raw.byteLength !== want) throw new RecallError('E_CORRUPT', `a ${codecName(encoding)} chunk decompresses to ${raw.byteLength} bytes, not the ${want} its header announces`);
  if (layout === LAYOUT_COLUMNS) {
    toRows((raw.byteOffset & 3) === 0 ? raw : new Uint8Array(raw), count, out, outOffset);
  } else {
    out.set(raw, outOffset);
  }
}

/**
 * A detail-lane chunk's stored payload back as its framed detail records: `stored` itself when
 * plain (encoding 0), else decompressed into a new buffer (LAYOUT_BYTES). Throws as
 * decodeIndexPayload does (E_CODEC_UNAVAILABLE, E_CORRUPT).
 */
export function decodeDetailChunk(stored: Uint8Array, encoding: number): Uint8Array {
  if (encoding === 0) return stored;
  const codec = encoding & 0xff;
  if (codec === CODEC_ZSTD && !HAS_ZSTD) throw zstdUnavailable();
  if ((codec !== CODEC_ZSTD && codec !== CODEC_DEFLATE) || ((encoding >>> 8) & 0xff) !== LAYOUT_BYTES || stored.byteLength < 16) {
    throw new RecallError('E_CORRUPT', `a detail chunk has an unknown encoding (${encoding})`);
  }
  const want = new DataView(stored.buffer, stored.byteOffset, 8).getUint32(0, true);
  const input = stored.subarray(8, stored.byteLength - (encoding >>> 16));
  const out = new Uint8Array(want + 1);
  let raw: Uint8Array;
  try {
    raw = nativeDecode(codec, input, out, 0, want) ? out.subarray(0, want) : publicDecode(codec, input, want);
  } catch (error) {
    throw new RecallError('E_CORRUPT', `a ${codecName(encoding)} detail chunk does not decompress to the ${want} bytes it announces (${(error as Error).message})`);
  }
  if (raw.byteLength !== want) throw new RecallError('E_CORRUPT', `a ${codecName(encoding)} detail chunk decompresses to ${raw.byteLength} bytes, not the ${want} it announces`);
  return (raw.byteOffset & 7) === 0 ? raw : new Uint8Array(raw);
}

/** Decompress through node:zlib's public sync calls (a new context and output buffer each). */
function publicDecode(codec: number, input: Uint8Array, want: number): Uint8Array {
  const options = { maxOutputLength: want, chunkSize: outputChunk(want) };
  return codec === CODEC_ZSTD ? (zstdDecompress as ZstdSync)(input, options) : zlib.inflateRawSync(input, options);
}

/**
 * An index-lane thread file's valid chunks as plain records in memory: `bytes` and `scan`
 * themselves when no chunk is encoded (no copy), else a new image — each valid chunk's header
 * followed by its decoded records — and a scan whose chunks point into it (payloadOffset,
 * payloadBytes = count × 16, encoding 0). Everything else in the scan (problems, validBytes)
 * is the file's. Throws what decodeIndexPayload throws.
 */
export function plainImage(bytes: Uint8Array, scan: ThreadFileScan): { bytes: Uint8Array; scan: ThreadFileScan } {
  if (scan.lane !== LANE_INDEX || scan.chunks.every((chunk) => chunk.encoding === 0)) return { bytes, scan };
  let total = 0;
  for (const chunk of scan.chunks) total += CHUNK_HEADER_BYTES + chunk.count * RECORD_BYTES;
  const image = new Uint8Array(total);
  const chunks: ChunkInfo[] = [];
  let at = 0;
  for (const chunk of scan.chunks) {
    image.set(bytes.subarray(chunk.offset, chunk.payloadOffset), at);
    const payloadOffset = at + CHUNK_HEADER_BYTES;
    const payloadBytes = chunk.count * RECORD_BYTES;
    // The copied header describes the plain payload (its checksum is the file's, over what was stored).
    const view = new DataView(image.buffer, at, CHUNK_HEADER_BYTES);
    view.setUint32(CH_PAYLOAD_BYTES, payloadBytes, true);
    view.setUint32(CH_ENCODING, 0, true);
    if (chunk.encoding === 0) image.set(bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.payloadBytes), payloadOffset);
    else decodeIndexPayload(bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.payloadBytes), chunk.encoding, chunk.count, image, payloadOffset);
    chunks.push({ ...chunk, offset: at, payloadOffset, payloadBytes, encoding: 0 });
    at = payloadOffset + payloadBytes;
  }
  return { bytes: image, scan: { ...scan, chunks } };
}

/** A piece of plain records: `count` records at word `word` of `u32` (`f64` views the same bytes). */
export type RecordsVisitor = (u32: Uint32Array, f64: Float64Array, word: number, count: number, chunk: number) => void;

/**
 * Visit the valid chunks of an index-lane file read whole (`bytes`, as `scan` found them) as
 * plain records, in order: a plain chunk in place, an encoded one decoded into one reused buffer
 * (valid until the visitor returns). `from`: only chunks at or after this file offset. Throws
 * what decodeIndexPayload throws.
 */
export function visitChunkRecords(bytes: Uint8Array, scan: ThreadFileScan, visit: RecordsVisitor, from = 0): void {
  const u32 = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  const f64 = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3);
  let scratch = new Uint8Array(0);
  let s32 = new Uint32Array(0);
  let s64 = new Float64Array(0);
  scan.chunks.forEach((chunk, i) => {
    if (chunk.offset < from) return;
    if (chunk.encoding === 0) {
      visit(u32, f64, chunk.payloadOffset >> 2, chunk.count, i);
      return;
    }
    const want = chunk.count * RECORD_BYTES;
    if (scratch.byteLength < want) {
      scratch = new Uint8Array(want);
      s32 = new Uint32Array(scratch.buffer);
      s64 = new Float64Array(scratch.buffer);
    }
    decodeIndexPayload(bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.payloadBytes), chunk.encoding, chunk.count, scratch, 0);
    visit(s32, s64, 0, chunk.count, i);
  });
}
