// Chunk payload encoding (trace format version 2, docs/FORMAT.md section 3): the one place that
// turns a sealed chunk's records into the bytes stored on disk (the drain) and stored bytes back
// into records (every reader). Index-lane records are split into columns (heads, auxes, times)
// and compressed with zstd where node:zlib has it (Node 22.15+, 23.8+) or raw deflate where it
// does not (Node 20); a chunk that does not get smaller is stored plain. Node-only (node:zlib):
// chunk.ts, which frames and validates chunks, stays free of Node imports.

import zlib from 'node:zlib';
import { RecallError } from './errors.js';
import type { ChunkInfo, ThreadFileScan } from './chunk.js';
import { CHUNK_HEADER_BYTES, CH_ENCODING, CH_PAYLOAD_BYTES, CODEC_DEFLATE, CODEC_NONE, CODEC_ZSTD, LANE_INDEX, LAYOUT_COLUMNS, LAYOUT_ROWS, RECORD_BYTES } from './layout.js';

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
 * payload it returns is valid until the next seal. Allocates only what zlib returns per chunk.
 */
export class ChunkEncoder {
  private columns = new Uint8Array(0);
  private stored = new Uint8Array(0);
  private readonly result: SealedPayload = { payload: new Uint8Array(0), encoding: 0 };
  private readonly zstdOptions: object;

  constructor(readonly codec: number = writerCodec()) {
    this.zstdOptions = { params: { [ZSTD_LEVEL_PARAM ?? 100]: 1 } };
  }

  /** An index-lane chunk: `records` holds `count` records of 16 bytes (8-aligned in memory). */
  sealIndex(records: Uint8Array, count: number): SealedPayload {
    if (this.codec === CODEC_NONE || count === 0) return this.plain(records);
    if (this.columns.byteLength < records.byteLength) this.columns = new Uint8Array(records.byteLength);
    toColumns(records, count, this.columns);
    return this.compress(this.columns.subarray(0, records.byteLength), records, LAYOUT_COLUMNS);
  }

  /** A detail-lane chunk (its records are stored as they are: they are few and mostly JSON). */
  sealDetail(records: Uint8Array): SealedPayload {
    return this.plain(records);
  }

  private plain(records: Uint8Array): SealedPayload {
    this.result.payload = records;
    this.result.encoding = 0;
    return this.result;
  }

  private compress(input: Uint8Array, records: Uint8Array, layout: number): SealedPayload {
    const packed = this.codec === CODEC_ZSTD && HAS_ZSTD ? (zstdCompress as ZstdSync)(input, this.zstdOptions) : zlib.deflateRawSync(input, { level: 1 });
    const codec = this.codec === CODEC_ZSTD && HAS_ZSTD ? CODEC_ZSTD : CODEC_DEFLATE;
    const padded = (packed.byteLength + 7) & ~7;
    if (padded >= records.byteLength) return this.plain(records);
    if (this.stored.byteLength < padded) this.stored = new Uint8Array(Math.max(padded, this.stored.byteLength * 2));
    this.stored.set(packed, 0);
    this.stored.fill(0, packed.byteLength, padded);
    this.result.payload = this.stored.subarray(0, padded);
    this.result.encoding = encodingWord(codec, layout, padded - packed.byteLength);
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
  let raw: Uint8Array;
  try {
    if (codec === CODEC_ZSTD) {
      if (!HAS_ZSTD) throw zstdUnavailable();
      raw = (zstdDecompress as ZstdSync)(input, { maxOutputLength: want, chunkSize: outputChunk(want) });
    } else if (codec === CODEC_DEFLATE) {
      raw = zlib.inflateRawSync(input, { maxOutputLength: want, chunkSize: outputChunk(want) });
    } else {
      throw new RecallError('E_CORRUPT', `a chunk has an unknown codec (${codec})`);
    }
  } catch (error) {
    if (error instanceof RecallError) throw error;
    throw new RecallError('E_CORRUPT', `a ${codecName(encoding)} chunk does not decompress (${(error as Error).message})`);
  }
  if (raw.byteLength !== want) throw new RecallError('E_CORRUPT', `a ${codecName(encoding)} chunk decompresses to ${raw.byteLength} bytes, not the ${want} its header announces`);
  if (layout === LAYOUT_COLUMNS) {
    const aligned = (raw.byteOffset & 3) === 0 ? raw : new Uint8Array(raw);
    toRows(aligned, count, out, outOffset);
  } else {
    out.set(raw, outOffset);
  }
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
