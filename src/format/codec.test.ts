// Compressed chunks (format 2, codec.ts): what the drain seals reads back as the same records
// through every decode path; damage to a compressed chunk is caught by its checksum before it is
// decompressed and costs that chunk only; a cut file keeps its whole chunks; version-1 files
// still read; a Node without zstd writes deflate and refuses zstd chunks with one clear error.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeChunkHeader, encodeFileHeader, scanThreadFile, type ThreadFileHeader } from './chunk.js';
import { ChunkEncoder, HAS_ZSTD, codecName, plainImage, visitChunkRecords, writerCodec } from './codec.js';
import { CHUNK_HEADER_BYTES, CH_ENCODING, CODEC_DEFLATE, CODEC_NONE, CODEC_ZSTD, EV_ENTER, EV_EXIT, KIND_SHIFT, LANE_INDEX, RECORD_BYTES, UNTIMED_FLAG } from './layout.js';
import { mulberry32 } from './mulberry32.js';

const HEADER: ThreadFileHeader = { formatVersion: 2, lane: 'index', pid: 7, threadId: 0, slot: 0, name: 'main', timeOriginMs: 1_700_000_000_000 };

/** Records like a real thread's: nested enters and exits, some untimed (time repeated), rising times. */
function records(count: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const out = new Uint8Array(count * RECORD_BYTES);
  const u32 = new Uint32Array(out.buffer);
  const f64 = new Float64Array(out.buffer);
  let time = 1000 * random();
  let depth = 0;
  for (let i = 0; i < count; i++) {
    const enter = depth === 0 || (depth < 20 && random() < 0.5);
    const untimed = random() < 0.3;
    if (!untimed) time += random() * 0.01;
    u32[i * 4] = (((enter ? EV_ENTER : EV_EXIT) << KIND_SHIFT) | (1 + Math.floor(random() * 300)) | (untimed ? UNTIMED_FLAG : 0)) >>> 0;
    u32[i * 4 + 1] = random() < 0.05 ? Math.floor(random() * 1e6) : 0;
    f64[i * 2 + 1] = time;
    depth += enter ? 1 : -1;
  }
  return out;
}

interface Built {
  bytes: Uint8Array;
  chunks: { offset: number; payloadOffset: number; payloadBytes: number; records: Uint8Array; encoding: number }[];
}

/** A thread file of `sizes` chunks sealed by `encoder` (version: 1 writes a format-1 file, plain). */
function build(sizes: number[], encoder: ChunkEncoder, version = 2): Built {
  const parts: Uint8Array[] = [encodeFileHeader({ ...HEADER, formatVersion: version }, LANE_INDEX, version)];
  let at = parts[0]!.byteLength;
  const chunks: Built['chunks'] = [];
  sizes.forEach((count, seq) => {
    const plain = records(count, 17 + seq);
    const f64 = new Float64Array(plain.buffer);
    const sealed = version === 1 ? { payload: plain, encoding: 0 } : encoder.sealIndex(plain, count);
    const payload = sealed.payload.slice();
    const header = new Uint8Array(CHUNK_HEADER_BYTES);
    encodeChunkHeader(header, LANE_INDEX, seq, count, payload, f64[1]!, f64[count * 2 - 1]!, 0, null, sealed.encoding, version);
    parts.push(header, payload);
    chunks.push({ offset: at, payloadOffset: at + CHUNK_HEADER_BYTES, payloadBytes: payload.byteLength, records: plain, encoding: sealed.encoding });
    at += CHUNK_HEADER_BYTES + payload.byteLength;
  });
  const bytes = new Uint8Array(at);
  let o = 0;
  for (const part of parts) {
    bytes.set(part, o);
    o += part.byteLength;
  }
  return { bytes, chunks };
}

/** Every record of the valid chunks, decoded through visitChunkRecords and through plainImage. */
function readBack(bytes: Uint8Array): { visited: Uint8Array[]; imaged: Uint8Array[] } {
  const scan = scanThreadFile(bytes);
  const visited: Uint8Array[] = [];
  visitChunkRecords(bytes, scan, (u32, _f64, word, count) => visited.push(new Uint8Array(u32.buffer, u32.byteOffset + word * 4, count * RECORD_BYTES).slice()));
  const image = plainImage(bytes, scan);
  const imaged = image.scan.chunks.map((c) => image.bytes.slice(c.payloadOffset, c.payloadOffset + c.count * RECORD_BYTES));
  return { visited, imaged };
}

const codecs = [CODEC_DEFLATE, CODEC_NONE, ...(HAS_ZSTD ? [CODEC_ZSTD] : [])];

describe('compressed chunks', () => {
  for (const codec of codecs) {
    test(`round trip, ${codecName(codec)}: the same records through every decode path, and fewer bytes`, () => {
      const encoder = new ChunkEncoder(codec);
      const built = build([65536, 3, 1000, 1], encoder);
      const scan = scanThreadFile(built.bytes);
      assert.deepEqual(scan.problems, []);
      assert.equal(scan.chunks.length, 4);
      for (const [i, chunk] of scan.chunks.entries()) {
        assert.equal(chunk.payloadBytes % 8, 0);
        assert.equal(chunk.encoding, built.chunks[i]!.encoding);
        if (codec === CODEC_NONE) assert.equal(chunk.encoding, 0);
      }
      if (codec !== CODEC_NONE) {
        assert.equal(scan.chunks[0]!.encoding & 0xff, codec);
        assert.ok(scan.chunks[0]!.payloadBytes < (65536 * RECORD_BYTES) / 2, `${scan.chunks[0]!.payloadBytes} bytes stored`);
      }
      const { visited, imaged } = readBack(built.bytes);
      assert.deepEqual(visited, built.chunks.map((c) => c.records));
      assert.deepEqual(imaged, built.chunks.map((c) => c.records));
    });
  }

  test('a damaged compressed chunk fails its checksum before it is decompressed; the chunks around it are read', () => {
    const built = build([5000, 5000, 5000], new ChunkEncoder(writerCodec()));
    const middle = built.chunks[1]!;
    assert.notEqual(middle.encoding, 0);
    for (const at of [0, 7, middle.payloadBytes >> 1, middle.payloadBytes - 1]) {
      const bytes = built.bytes.slice();
      bytes[middle.payloadOffset + at]! ^= 0x20;
      const scan = scanThreadFile(bytes);
      assert.deepEqual(scan.problems.map((p) => p.kind), ['checksum'], `flip at ${at}`);
      assert.equal(scan.problems[0]!.recordsLost, 5000);
      assert.deepEqual(readBack(bytes).visited, [built.chunks[0]!.records, built.chunks[2]!.records]);
    }
    // The encoding word is covered too: a flipped codec is a checksum failure, not a decode error.
    const bytes = built.bytes.slice();
    bytes[middle.offset + CH_ENCODING]! ^= 0x03;
    assert.deepEqual(scanThreadFile(bytes).problems.map((p) => p.kind), ['checksum']);
  });

  test('a file cut anywhere keeps every whole chunk before the cut (salvage of a killed recording)', () => {
    const built = build([2000, 2000, 2000], new ChunkEncoder(writerCodec()));
    const end = built.bytes.byteLength;
    for (let cut = built.chunks[0]!.offset; cut < end; cut += 13) {
      const scan = scanThreadFile(built.bytes.slice(0, cut));
      const whole = built.chunks.filter((c) => c.payloadOffset + c.payloadBytes <= cut);
      assert.equal(scan.chunks.length, whole.length, `cut at ${cut}`);
      assert.deepEqual(readBack(built.bytes.slice(0, cut)).visited, whole.map((c) => c.records), `cut at ${cut}`);
    }
  });

  test('a version-1 file (plain chunks, version 1 headers) still reads; a version-1 chunk claiming an encoding does not', () => {
    const built = build([3000, 10], new ChunkEncoder(writerCodec()), 1);
    const scan = scanThreadFile(built.bytes);
    assert.equal(scan.version, 1);
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(readBack(built.bytes).visited, built.chunks.map((c) => c.records));
    const image = plainImage(built.bytes, scan);
    assert.equal(image.bytes, built.bytes, 'a plain file is read in place');
    // An encoding word in a version-1 chunk is a header that does not fit (with a matching checksum).
    const bytes = built.bytes.slice();
    const chunk = built.chunks[0]!;
    const header = bytes.subarray(chunk.offset, chunk.payloadOffset);
    const payload = bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.payloadBytes);
    const f64 = new Float64Array(chunk.records.buffer);
    encodeChunkHeader(header, LANE_INDEX, 0, 3000, payload, f64[1]!, f64[5999]!, 0, null, CODEC_DEFLATE | (1 << 8), 1);
    assert.deepEqual(scanThreadFile(bytes).problems.map((p) => p.kind), ['bad-header', 'sequence-gap']);
  });

  test('a writer that is behind stores a chunk plain (sealIndex with compress false)', () => {
    const plain = records(1000, 4);
    const sealed = new ChunkEncoder(writerCodec()).sealIndex(plain, 1000, false);
    assert.equal(sealed.encoding, 0);
    assert.equal(sealed.payload, plain);
  });

  test('a chunk that does not get smaller is stored plain', () => {
    const random = mulberry32(5);
    const noise = new Uint8Array(4096 * RECORD_BYTES).map(() => Math.floor(random() * 256));
    const sealed = new ChunkEncoder(CODEC_DEFLATE).sealIndex(noise, 4096);
    assert.equal(sealed.encoding, 0);
    assert.equal(sealed.payload, noise);
  });

  test('the codec of this Node: zstd where zlib has it, deflate where it does not (Node 20); RECALL_CODEC overrides', () => {
    assert.equal(writerCodec(undefined), HAS_ZSTD ? CODEC_ZSTD : CODEC_DEFLATE);
    assert.equal(writerCodec('deflate'), CODEC_DEFLATE);
    assert.equal(writerCodec('none'), CODEC_NONE);
    assert.equal(writerCodec('zstd'), HAS_ZSTD ? CODEC_ZSTD : CODEC_DEFLATE);
    // An encoder asked for zstd on a Node without it writes deflate.
    const sealed = new ChunkEncoder(CODEC_ZSTD).sealIndex(records(1000, 3), 1000);
    assert.equal(sealed.encoding & 0xff, HAS_ZSTD ? CODEC_ZSTD : CODEC_DEFLATE);
  });

  test('without the native zlib handles (RECALL_ZLIB_DIRECT=0) the public calls write and read the same chunks', () => {
    const script = `
      const { ChunkEncoder, plainImage, HAS_ZSTD } = await import(${JSON.stringify(fileURLToPath(new URL('./codec.js', import.meta.url)))});
      const { scanThreadFile } = await import(${JSON.stringify(fileURLToPath(new URL('./chunk.js', import.meta.url)))});
      const { encodeChunkHeader, encodeFileHeader } = await import(${JSON.stringify(fileURLToPath(new URL('./chunk.js', import.meta.url)))});
      const records = Buffer.from(${JSON.stringify(Buffer.from(records(2000, 9)).toString('base64'))}, 'base64');
      const plain = new Uint8Array(records.byteLength); plain.set(records);
      for (const codec of HAS_ZSTD ? [1, 2] : [2]) {
        const sealed = new ChunkEncoder(codec).sealIndex(plain, 2000);
        if ((sealed.encoding & 0xff) !== codec) throw new Error('not compressed: ' + sealed.encoding);
        const file = encodeFileHeader(${JSON.stringify(HEADER)}, 1);
        const header = new Uint8Array(48);
        encodeChunkHeader(header, 1, 0, 2000, sealed.payload, 0, 0, 0, null, sealed.encoding);
        const bytes = new Uint8Array(file.byteLength + 48 + sealed.payload.byteLength);
        bytes.set(file); bytes.set(header, file.byteLength); bytes.set(sealed.payload, file.byteLength + 48);
        const image = plainImage(bytes, scanThreadFile(bytes));
        const chunk = image.scan.chunks[0];
        if (Buffer.compare(image.bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + 32000), plain) !== 0) throw new Error('codec ' + codec + ' read back different records');
      }
      console.log('same');`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, RECALL_ZLIB_DIRECT: '0' } });
    assert.equal(result.stdout.trim(), 'same', result.stderr);
  });

  test('a zstd chunk on a Node without zstd: E_CODEC_UNAVAILABLE, saying which Node reads it', { skip: !HAS_ZSTD && 'this Node cannot write zstd' }, () => {
    const built = build([100], new ChunkEncoder(CODEC_ZSTD));
    // A child process whose zlib has no zstd (as on Node 20) decodes the chunk.
    const codec = fileURLToPath(new URL('./codec.js', import.meta.url));
    const chunk = fileURLToPath(new URL('./chunk.js', import.meta.url));
    const script = `
      import zlib from 'node:zlib';
      delete zlib.zstdDecompressSync; delete zlib.zstdCompressSync;
      const { plainImage, HAS_ZSTD } = await import(${JSON.stringify(codec)});
      const { scanThreadFile } = await import(${JSON.stringify(chunk)});
      const bytes = Buffer.from(${JSON.stringify(Buffer.from(built.bytes).toString('base64'))}, 'base64');
      try { plainImage(bytes, scanThreadFile(new Uint8Array(bytes))); console.log('read'); }
      catch (error) { console.log(HAS_ZSTD, error.name, error.code, error.message); }`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^false RecallError E_CODEC_UNAVAILABLE .*zstd.*Node 22\.15 or later/);
  });
});
