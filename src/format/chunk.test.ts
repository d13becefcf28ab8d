// Thread file encoding and the scanner's robustness: round trips, truncation at every byte,
// damaged bytes, wrong magics, newer versions, and a seeded fuzz of a few thousand mutations.
// scanThreadFile must never throw and must only ever return chunks that are whole, inside the
// buffer, aligned, and that still match their checksums.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checksumInit, checksumWords } from './checksum.js';
import { decodeFileHeader, encodeChunkHeader, encodeFileHeader, scanThreadFile, type ThreadFileHeader, type ThreadFileScan } from './chunk.js';
import {
  CHUNK_HEADER_BYTES,
  CHUNK_MAGIC,
  CH_CHECKSUM,
  CH_COUNT,
  CH_LANE,
  CH_PAYLOAD_BYTES,
  CH_VERSION,
  EV_DROPPED,
  EV_ENTER,
  EV_EXIT,
  EV_RESUME,
  EV_SUSPEND,
  FILE_MAGIC,
  FILE_PREAMBLE_BYTES,
  FORMAT_VERSION,
  KIND_SHIFT,
  LANE_DETAIL,
  LANE_INDEX,
  RECORD_BYTES,
} from './layout.js';
import { mulberry32 } from './mulberry32.js';

// ---- building files ---------------------------------------------------------------------

type Rec = [kind: number, fn: number, aux: number, time: number];

const HEADER: ThreadFileHeader = {
  formatVersion: FORMAT_VERSION,
  lane: 'index',
  pid: 4242,
  threadId: 3,
  slot: 1,
  name: 'worker "fuzz" ✓',
  timeOriginMs: 1_700_000_000_123.25,
};

function payloadOf(records: Rec[]): Uint8Array {
  const out = new Uint8Array(records.length * RECORD_BYTES);
  const view = new DataView(out.buffer);
  records.forEach(([kind, fn, aux, time], i) => {
    view.setUint32(i * RECORD_BYTES, ((kind << KIND_SHIFT) | fn) >>> 0, true);
    view.setUint32(i * RECORD_BYTES + 4, aux >>> 0, true);
    view.setFloat64(i * RECORD_BYTES + 8, time, true);
  });
  return out;
}

function decodeRecords(bytes: Uint8Array, payloadOffset: number, count: number): Rec[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Rec[] = [];
  for (let i = 0; i < count; i++) {
    const at = payloadOffset + i * RECORD_BYTES;
    const head = view.getUint32(at, true);
    out.push([head >>> KIND_SHIFT, head & 0x0fffffff, view.getUint32(at + 4, true), view.getFloat64(at + 8, true)]);
  }
  return out;
}

interface ChunkSpec {
  records: Rec[];
  seq?: number;
  lane?: number;
  flags?: number;
}

interface Built {
  bytes: Uint8Array;
  headerEnd: number;
  /** Offset, end and record count of every chunk, in file order. */
  chunks: { offset: number; end: number; count: number; seq: number; records: Rec[] }[];
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

function buildFile(specs: ChunkSpec[], header: ThreadFileHeader = HEADER, laneCode = LANE_INDEX): Built {
  const fileHeader = encodeFileHeader(header, laneCode);
  const parts: Uint8Array[] = [fileHeader];
  const chunks: Built['chunks'] = [];
  let at = fileHeader.byteLength;
  specs.forEach((spec, index) => {
    const payload = payloadOf(spec.records);
    const chunkHeader = new Uint8Array(CHUNK_HEADER_BYTES);
    const times = spec.records.map((r) => r[3]);
    const seq = spec.seq ?? index;
    encodeChunkHeader(chunkHeader, spec.lane ?? laneCode, seq, spec.records.length, payload, times[0] ?? 0, times[times.length - 1] ?? 0, spec.flags ?? 0);
    parts.push(chunkHeader, payload);
    chunks.push({ offset: at, end: at + CHUNK_HEADER_BYTES + payload.byteLength, count: spec.records.length, seq, records: spec.records });
    at += CHUNK_HEADER_BYTES + payload.byteLength;
  });
  return { bytes: concat(parts), headerEnd: fileHeader.byteLength, chunks };
}

/** Records that look like a real thread: enters and exits of small function ids, rising times. */
function sampleRecords(count: number, startMs: number): Rec[] {
  const out: Rec[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 2 === 0 ? EV_ENTER : EV_EXIT;
    out.push([kind, 1 + (i % 37), 0, startMs + i * 0.0371]);
  }
  return out;
}

/**
 * The checksum recomputed from scratch (independent of chunk.ts and of checksumWords4): h =
 * FNV-1a over the header's LE words minus its checksum field; the payload's words in four FNV-1a
 * lanes (word i in lane i mod 4, lane k from 0x811c9dc5 + k); then FNV-1a from h over the lanes.
 */
function independentChecksum(bytes: Uint8Array, offset: number, payloadBytes: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fnv = (h: number, w: number): number => Math.imul(h ^ w, 0x01000193);
  let h = 0x811c9dc5;
  for (let at = 0; at < CHUNK_HEADER_BYTES; at += 4) if (at !== CH_CHECKSUM) h = fnv(h, view.getUint32(offset + at, true));
  const lanes = [0, 1, 2, 3].map((k) => (0x811c9dc5 + k) | 0);
  for (let at = 0, i = 0; at + 4 <= payloadBytes; at += 4, i++) lanes[i % 4] = fnv(lanes[i % 4] as number, view.getUint32(offset + CHUNK_HEADER_BYTES + at, true));
  let out = h;
  for (const lane of lanes) out = fnv(out, lane);
  return out >>> 0;
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes); // fresh ArrayBuffer, byteOffset 0
}

function seqs(scan: ThreadFileScan): number[] {
  return scan.chunks.map((c) => c.seq);
}

function kinds(scan: ThreadFileScan): string[] {
  return scan.problems.map((p) => p.kind);
}

/** Three chunks of different sizes, distinct times. */
function threeChunks(): Built {
  return buildFile([
    { records: sampleRecords(6, 10) },
    { records: [[EV_ENTER, 5, 0, 20], [EV_SUSPEND, 5, 7, 20.5], [EV_DROPPED, 0, 123, 21], [EV_RESUME, 5, 7, 22], [EV_EXIT, 5, 0, 23]], flags: 1 },
    { records: sampleRecords(4, 30) },
  ]);
}

// ---- round trip -------------------------------------------------------------------------

describe('thread file encoding', () => {
  test('a header and several chunks scan back exactly: header, records, seq, time ranges, offsets', () => {
    const built = threeChunks();
    const scan = scanThreadFile(built.bytes);
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(scan.header, HEADER);
    assert.equal(scan.version, FORMAT_VERSION);
    assert.equal(scan.lane, LANE_INDEX);
    assert.equal(scan.records, 6 + 5 + 4);
    assert.equal(scan.validBytes, built.bytes.byteLength);
    assert.deepEqual(seqs(scan), [0, 1, 2]);
    scan.chunks.forEach((chunk, i) => {
      const expected = built.chunks[i]!;
      assert.equal(chunk.offset, expected.offset);
      assert.equal(chunk.payloadOffset, expected.offset + CHUNK_HEADER_BYTES);
      assert.equal(chunk.count, expected.count);
      assert.equal(chunk.payloadBytes, expected.count * RECORD_BYTES);
      assert.equal(chunk.firstTime, expected.records[0]![3]);
      assert.equal(chunk.lastTime, expected.records[expected.records.length - 1]![3]);
      assert.deepEqual(decodeRecords(built.bytes, chunk.payloadOffset, chunk.count), expected.records);
    });
    assert.deepEqual(
      scan.chunks.map((c) => c.flags),
      [0, 1, 0],
    );
  });

  test('the preamble: magic "RCLT", version, lane, JSON length (8-aligned, space padded), JSON checksum', () => {
    const header = encodeFileHeader(HEADER, LANE_INDEX);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    assert.equal(new TextDecoder().decode(header.subarray(0, 4)), 'RCLT');
    assert.equal(view.getUint32(0, true), FILE_MAGIC);
    assert.equal(view.getUint16(4, true), FORMAT_VERSION);
    assert.equal(view.getUint16(6, true), LANE_INDEX);
    const jsonBytes = view.getUint32(8, true);
    assert.equal(jsonBytes % 8, 0);
    assert.equal(header.byteLength, FILE_PREAMBLE_BYTES + jsonBytes);
    const json = new TextDecoder().decode(header.subarray(FILE_PREAMBLE_BYTES));
    assert.deepEqual(JSON.parse(json), HEADER);
    assert.match(json, /^\{.*\} *$/);
    const words = new Uint32Array(header.buffer.slice(header.byteOffset + FILE_PREAMBLE_BYTES, header.byteOffset + header.byteLength));
    assert.equal(view.getUint32(12, true), checksumWords(checksumInit(), words));
  });

  test('a chunk header: magic "RCCK", version, lane, seq, count, bytes, checksum, times, flags', () => {
    const built = threeChunks();
    const at = built.chunks[1]!.offset;
    const view = new DataView(built.bytes.buffer, built.bytes.byteOffset + at, CHUNK_HEADER_BYTES);
    assert.equal(new TextDecoder().decode(built.bytes.subarray(at, at + 4)), 'RCCK');
    assert.equal(view.getUint32(0, true), CHUNK_MAGIC);
    assert.equal(view.getUint16(4, true), FORMAT_VERSION);
    assert.equal(view.getUint16(6, true), LANE_INDEX);
    assert.equal(view.getUint32(8, true), 1);
    assert.equal(view.getUint32(12, true), 5);
    assert.equal(view.getUint32(16, true), 5 * RECORD_BYTES);
    assert.equal(view.getUint32(20, true), independentChecksum(built.bytes, at, 5 * RECORD_BYTES));
    assert.equal(view.getFloat64(24, true), 20);
    assert.equal(view.getFloat64(32, true), 23);
    assert.equal(view.getUint32(40, true), 1);
    assert.equal(view.getUint32(44, true), 0);
  });

  test('a file that is only a header has no chunks and no problems', () => {
    const scan = scanThreadFile(encodeFileHeader(HEADER, LANE_INDEX));
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(scan.chunks, []);
    assert.equal(scan.records, 0);
    assert.deepEqual(scan.header, HEADER);
  });

  test('bytes at an unaligned offset inside a larger buffer scan the same', () => {
    const built = threeChunks();
    const big = new Uint8Array(built.bytes.byteLength + 3);
    big.set(built.bytes, 1);
    const scan = scanThreadFile(big.subarray(1, 1 + built.bytes.byteLength));
    assert.deepEqual(scan.problems, []);
    assert.deepEqual(seqs(scan), [0, 1, 2]);
    assert.deepEqual(scan.chunks, scanThreadFile(built.bytes).chunks);
  });
});

// ---- damage -----------------------------------------------------------------------------

describe('thread file damage', () => {
  test('truncation at every byte of the last chunk: the earlier chunks plus one truncated problem', () => {
    const built = threeChunks();
    const last = built.chunks[2]!;
    for (let cut = last.offset; cut <= last.end; cut++) {
      const scan = scanThreadFile(copy(built.bytes.subarray(0, cut)));
      if (cut === last.offset || cut === last.end) {
        // A cut at a chunk boundary is indistinguishable from a file that ends there.
        assert.deepEqual(scan.problems, [], `cut ${cut}`);
        assert.deepEqual(seqs(scan), cut === last.end ? [0, 1, 2] : [0, 1]);
        continue;
      }
      assert.deepEqual(seqs(scan), [0, 1], `cut ${cut}`);
      assert.equal(scan.records, 11, `cut ${cut}`);
      assert.deepEqual(kinds(scan), ['truncated'], `cut ${cut}`);
      const problem = scan.problems[0]!;
      assert.equal(problem.offset, last.offset);
      // Once the cut keeps the count field, the problem names the records lost.
      assert.equal(problem.recordsLost, cut >= last.offset + CH_COUNT + 4 ? last.count : 0, `cut ${cut}`);
      assert.equal(scan.validBytes, last.offset);
    }
  });

  test('truncation at every byte of the whole file never throws and keeps exactly the whole chunks', () => {
    const built = threeChunks();
    for (let cut = 0; cut <= built.bytes.byteLength; cut++) {
      const scan = scanThreadFile(copy(built.bytes.subarray(0, cut)));
      if (cut < built.headerEnd) {
        assert.equal(scan.header, null, `cut ${cut}`);
        assert.deepEqual(scan.chunks, []);
        assert.equal(scan.problems.length, 1, `cut ${cut}`);
        assert.equal(scan.problems[0]!.kind, 'truncated', `cut ${cut}`);
        continue;
      }
      const whole = built.chunks.filter((c) => c.end <= cut).map((c) => c.seq);
      assert.deepEqual(seqs(scan), whole, `cut ${cut}`);
      assert.deepEqual(scan.header, HEADER);
      const atBoundary = cut === built.headerEnd || built.chunks.some((c) => c.end === cut);
      assert.deepEqual(kinds(scan), atBoundary ? [] : ['truncated'], `cut ${cut}`);
    }
  });

  test('a flipped byte in a payload fails that chunk only; later chunks are still read', () => {
    const built = threeChunks();
    const middle = built.chunks[1]!;
    const bytes = copy(built.bytes);
    bytes[middle.offset + CHUNK_HEADER_BYTES + 9]! ^= 0x40;
    const scan = scanThreadFile(bytes);
    assert.deepEqual(seqs(scan), [0, 2]);
    assert.equal(scan.records, 6 + 4);
    assert.deepEqual(kinds(scan), ['checksum']);
    assert.equal(scan.problems[0]!.offset, middle.offset);
    assert.equal(scan.problems[0]!.recordsLost, 5);
    assert.match(scan.problems[0]!.message, /chunk 1 .*checksum/);
    // Without verification the damaged chunk is returned as is.
    assert.deepEqual(seqs(scanThreadFile(bytes, false)), [0, 1, 2]);
  });

  test('damage to any single byte of a chunk loses that chunk and no other', () => {
    const built = threeChunks();
    const middle = built.chunks[1]!;
    for (let at = middle.offset; at < middle.end; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bytes = copy(built.bytes);
        bytes[at]! ^= mask;
        const scan = scanThreadFile(bytes);
        assert.deepEqual(seqs(scan), [0, 2], `byte ${at - middle.offset} ^ ${mask}`);
        assert.equal(scan.records, 10);
        assert.ok(scan.problems.length >= 1 && scan.problems[0]!.offset === middle.offset, `byte ${at - middle.offset}: ${JSON.stringify(scan.problems)}`);
      }
    }
  });

  test('wrong file magic: not a thread file, nothing read', () => {
    const bytes = copy(threeChunks().bytes);
    bytes.set([0x7b, 0x22, 0x61, 0x22], 0); // '{"a"'
    const scan = scanThreadFile(bytes);
    assert.equal(scan.header, null);
    assert.deepEqual(scan.chunks, []);
    assert.equal(scan.records, 0);
    assert.deepEqual(kinds(scan), ['bad-magic']);
    assert.equal(scan.problems[0]!.offset, 0);
    assert.match(scan.problems[0]!.message, /wrong magic/);
  });

  test('wrong chunk magic: that chunk is skipped and the scan resyncs at the next chunk', () => {
    const built = threeChunks();
    const bytes = copy(built.bytes);
    const middle = built.chunks[1]!;
    bytes.set([0, 0, 0, 0], middle.offset);
    const scan = scanThreadFile(bytes);
    assert.deepEqual(seqs(scan), [0, 2]);
    assert.equal(scan.records, 10);
    assert.deepEqual(kinds(scan), ['bad-magic', 'sequence-gap']);
    assert.equal(scan.problems[0]!.offset, middle.offset);
    assert.match(scan.problems[0]!.message, new RegExp(`resumed at byte ${built.chunks[2]!.offset}`));
    assert.match(scan.problems[1]!.message, /jumps from 1 to 2/);
  });

  test('garbage between chunks is skipped up to the next chunk magic', () => {
    const built = threeChunks();
    const first = built.chunks[0]!;
    const garbage = new Uint8Array(40).fill(0xab);
    const bytes = concat([built.bytes.subarray(0, first.end), garbage, built.bytes.subarray(first.end)]);
    const scan = scanThreadFile(bytes);
    assert.deepEqual(seqs(scan), [0, 1, 2]);
    assert.deepEqual(kinds(scan), ['bad-magic']);
    assert.equal(scan.problems[0]!.offset, first.end);
  });

  test('a newer format version in the file preamble: nothing read, newer-version reported', () => {
    const bytes = copy(threeChunks().bytes);
    new DataView(bytes.buffer).setUint16(4, FORMAT_VERSION + 1, true);
    const scan = scanThreadFile(bytes);
    assert.equal(scan.header, null);
    assert.equal(scan.version, FORMAT_VERSION + 1);
    assert.deepEqual(scan.chunks, []);
    assert.deepEqual(kinds(scan), ['newer-version']);
    assert.match(scan.problems[0]!.message, new RegExp(`version ${FORMAT_VERSION + 1}.*reads up to ${FORMAT_VERSION}`));
  });

  test('version 0 in the preamble is not a format version: nothing read', () => {
    const bytes = copy(threeChunks().bytes);
    new DataView(bytes.buffer).setUint16(4, 0, true);
    const scan = scanThreadFile(bytes);
    assert.deepEqual(scan.chunks, []);
    assert.deepEqual(kinds(scan), ['bad-header']);
  });

  test('a newer format version in one chunk header: that chunk is skipped, the others are read', () => {
    const built = threeChunks();
    const bytes = copy(built.bytes);
    new DataView(bytes.buffer).setUint16(built.chunks[1]!.offset + CH_VERSION, 7, true);
    const scan = scanThreadFile(bytes);
    assert.deepEqual(seqs(scan), [0, 2]);
    assert.equal(scan.problems[0]!.kind, 'newer-version');
    assert.equal(scan.problems[0]!.offset, built.chunks[1]!.offset);
    assert.match(scan.problems[0]!.message, /version 7/);
  });

  test('empty and tiny inputs: a truncated problem, never a throw', () => {
    for (const length of [0, 1, 3, 4, 15]) {
      const scan = scanThreadFile(new Uint8Array(length));
      assert.equal(scan.header, null);
      assert.deepEqual(scan.chunks, []);
      assert.equal(scan.records, 0);
      assert.equal(scan.validBytes, 0);
      assert.equal(scan.problems.length, 1);
      assert.equal(scan.problems[0]!.kind, length < FILE_PREAMBLE_BYTES ? 'truncated' : 'bad-magic');
    }
    assert.equal(scanThreadFile(new Uint8Array(16)).problems[0]!.kind, 'bad-magic');
  });

  test('a damaged JSON header loses the header but not the chunks', () => {
    const built = threeChunks();
    const bytes = copy(built.bytes);
    bytes[FILE_PREAMBLE_BYTES + 3]! ^= 0x20;
    const scan = scanThreadFile(bytes);
    assert.equal(scan.header, null);
    assert.deepEqual(seqs(scan), [0, 1, 2]);
    assert.deepEqual(kinds(scan), ['checksum']);
    assert.match(scan.problems[0]!.message, /header checksum/);
  });

  test('a header that checksums but is not JSON loses the header but not the chunks', () => {
    const header = encodeFileHeader(HEADER, LANE_INDEX);
    header.fill(0x7b, FILE_PREAMBLE_BYTES); // '{{{{...'
    const words = new Uint32Array(header.buffer.slice(FILE_PREAMBLE_BYTES));
    new DataView(header.buffer).setUint32(12, checksumWords(checksumInit(), words), true);
    const built = threeChunks();
    const bytes = concat([header, built.bytes.subarray(built.headerEnd)]);
    const scan = scanThreadFile(bytes);
    assert.equal(scan.header, null);
    assert.deepEqual(seqs(scan), [0, 1, 2]);
    assert.deepEqual(kinds(scan), ['bad-header']);
  });

  test('a damaged header length is recovered from where the first chunk begins', () => {
    const built = threeChunks();
    for (const bad of [3, 8, 0x7ffffff8, built.headerEnd - FILE_PREAMBLE_BYTES + 8]) {
      const bytes = copy(built.bytes);
      new DataView(bytes.buffer).setUint32(8, bad, true);
      const scan = scanThreadFile(bytes);
      assert.deepEqual(scan.header, HEADER, `length ${bad}`);
      assert.deepEqual(seqs(scan), [0, 1, 2], `length ${bad}`);
      assert.deepEqual(kinds(scan), ['bad-header'], `length ${bad}`);
      assert.match(scan.problems[0]!.message, /header recovered/);
    }
  });

  test('a damaged lane code in the preamble is overruled by the checksummed header', () => {
    for (const lane of [0, LANE_DETAIL, 999]) {
      const bytes = copy(threeChunks().bytes);
      new DataView(bytes.buffer).setUint16(6, lane, true);
      const scan = scanThreadFile(bytes);
      assert.equal(scan.lane, LANE_INDEX);
      assert.deepEqual(seqs(scan), [0, 1, 2]);
      assert.deepEqual(kinds(scan), ['bad-header']);
    }
  });

  test('a chunk of another lane inside an index file is rejected', () => {
    const built = buildFile([{ records: sampleRecords(2, 1) }, { records: sampleRecords(3, 2), lane: LANE_DETAIL }, { records: sampleRecords(2, 3) }]);
    const scan = scanThreadFile(built.bytes);
    assert.deepEqual(seqs(scan), [0, 2]);
    assert.equal(scan.problems[0]!.kind, 'bad-header');
    assert.equal(scan.problems[0]!.offset, built.chunks[1]!.offset);
  });

  test('an index chunk whose byte count disagrees with its record count is rejected, even unverified', () => {
    const built = threeChunks();
    const bytes = copy(built.bytes);
    const view = new DataView(bytes.buffer);
    view.setUint32(built.chunks[0]!.offset + CH_COUNT, 1000, true);
    for (const verify of [true, false]) {
      const scan = scanThreadFile(bytes, verify);
      assert.deepEqual(seqs(scan), [1, 2]);
      assert.equal(scan.problems[0]!.kind, 'bad-header');
    }
  });

  test('a chunk claiming more bytes than the file holds, followed by good chunks, is not mistaken for truncation', () => {
    const built = threeChunks();
    const bytes = copy(built.bytes);
    const view = new DataView(bytes.buffer);
    const at = built.chunks[0]!.offset;
    view.setUint32(at + CH_COUNT, 1 << 20, true);
    view.setUint32(at + CH_PAYLOAD_BYTES, (1 << 20) * RECORD_BYTES, true);
    const scan = scanThreadFile(bytes);
    assert.deepEqual(seqs(scan), [1, 2]);
    assert.deepEqual(kinds(scan), ['bad-header', 'sequence-gap']);
    assert.match(scan.problems[0]!.message, /past the end of the file/);
  });

  test('chunk sequence gaps are reported; the chunks are kept', () => {
    const built = buildFile([{ records: sampleRecords(2, 1), seq: 0 }, { records: sampleRecords(2, 2), seq: 5 }, { records: sampleRecords(2, 3), seq: 6 }]);
    const scan = scanThreadFile(built.bytes);
    assert.deepEqual(seqs(scan), [0, 5, 6]);
    assert.deepEqual(kinds(scan), ['sequence-gap']);
  });

  test('decodeFileHeader reports where chunks begin', () => {
    const built = threeChunks();
    const head = decodeFileHeader(built.bytes);
    assert.equal(head.chunksAt, built.headerEnd);
    assert.deepEqual(head.problems, []);
    assert.equal(decodeFileHeader(new Uint8Array(0)).chunksAt, -1);
  });
});

// ---- fuzz -------------------------------------------------------------------------------

const prng = mulberry32;

const PROBLEM_KINDS = new Set(['truncated', 'checksum', 'bad-magic', 'sequence-gap', 'bad-header', 'newer-version']);

/** What every scan result must satisfy, whatever the input. */
function assertScanInvariants(bytes: Uint8Array, scan: ThreadFileScan, verify: boolean, label: string): void {
  const length = bytes.byteLength;
  assert.equal(scan.records, scan.chunks.reduce((n, c) => n + c.count, 0), label);
  assert.ok(scan.validBytes >= 0 && scan.validBytes <= length, label);
  let previousEnd = FILE_PREAMBLE_BYTES;
  for (const chunk of scan.chunks) {
    assert.equal(chunk.offset % 8, 0, `${label}: chunk at ${chunk.offset} unaligned`);
    assert.ok(chunk.offset >= previousEnd, `${label}: chunks overlap or precede the preamble`);
    assert.equal(chunk.payloadOffset, chunk.offset + CHUNK_HEADER_BYTES, label);
    assert.equal(chunk.payloadBytes, chunk.count * RECORD_BYTES, label);
    assert.ok(chunk.payloadOffset + chunk.payloadBytes <= length, `${label}: chunk at ${chunk.offset} runs past the buffer`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, length);
    assert.equal(view.getUint32(chunk.offset, true), CHUNK_MAGIC, label);
    assert.equal(view.getUint16(chunk.offset + CH_LANE, true), LANE_INDEX, label);
    if (verify) {
      assert.equal(view.getUint32(chunk.offset + CH_CHECKSUM, true), independentChecksum(bytes, chunk.offset, chunk.payloadBytes), `${label}: chunk at ${chunk.offset} does not verify`);
    }
    // What the summary walk does with a chunk must be possible: aligned typed-array views.
    new Float64Array(bytes.buffer, bytes.byteOffset + chunk.payloadOffset, chunk.count * 2);
    previousEnd = chunk.payloadOffset + chunk.payloadBytes;
  }
  for (const problem of scan.problems) {
    assert.ok(PROBLEM_KINDS.has(problem.kind), label);
    assert.ok(problem.offset >= 0 && problem.offset <= length, `${label}: problem offset ${problem.offset}`);
    assert.ok(Number.isFinite(problem.recordsLost) && problem.recordsLost >= 0, label);
    assert.equal(typeof problem.message, 'string');
  }
}

describe('thread file fuzz', () => {
  const base = buildFile([
    { records: sampleRecords(1, 100) },
    { records: sampleRecords(17, 200) },
    { records: sampleRecords(8, 300) },
    { records: [[EV_ENTER, 9, 0, 400], [EV_DROPPED, 0, 77, 401], [EV_EXIT, 9, 0, 402]] },
    { records: sampleRecords(25, 500) },
    { records: sampleRecords(4, 600) },
  ]);
  const original = base.bytes;

  test('the base file is clean and has no chunk magic except at chunk starts', () => {
    const view = new DataView(original.buffer);
    const magics: number[] = [];
    for (let at = 0; at + 4 <= original.byteLength; at += 8) if (view.getUint32(at, true) === CHUNK_MAGIC) magics.push(at);
    assert.deepEqual(magics, base.chunks.map((c) => c.offset));
    assert.deepEqual(scanThreadFile(original).problems, []);
  });

  test('thousands of seeded mutations: never throws; whole, in-bounds, verified chunks only; untouched chunks survive', () => {
    const random = prng(0x5eed_c0de);
    const int = (n: number): number => Math.floor(random() * n);
    const started = Date.now();
    const ITERATIONS = 4000;
    const counts: Record<string, number> = {};
    for (let i = 0; i < ITERATIONS; i++) {
      const op = ['flip', 'overwrite', 'zero', 'truncate', 'insert', 'duplicate', 'several'][int(7)]!;
      counts[op] = (counts[op] ?? 0) + 1;
      let bytes = copy(original);
      /** Byte range [from, to) changed in place, when the mutation keeps every offset. */
      let region: [number, number] | null = null;
      /** Bytes before this offset are unchanged and unshifted. */
      let intactBefore = 0;
      const flip = (): void => {
        const at = int(bytes.byteLength);
        bytes[at]! ^= 1 << int(8);
        region = [at, at + 1];
      };
      const overwrite = (fill: number | null, maxLength: number): void => {
        const at = int(bytes.byteLength);
        const end = Math.min(bytes.byteLength, at + 1 + int(maxLength));
        for (let j = at; j < end; j++) bytes[j] = fill ?? int(256);
        region = [at, end];
      };
      switch (op) {
        case 'flip':
          flip();
          break;
        case 'overwrite':
          overwrite(null, 8);
          break;
        case 'zero':
          overwrite(0, 200);
          break;
        case 'truncate': {
          const cut = int(bytes.byteLength + 1);
          bytes = copy(bytes.subarray(0, cut));
          intactBefore = cut;
          break;
        }
        case 'insert': {
          const at = int(bytes.byteLength + 1);
          const extra = new Uint8Array(1 + int(64)).map(() => int(256));
          bytes = concat([bytes.subarray(0, at), extra, bytes.subarray(at)]);
          intactBefore = at;
          break;
        }
        case 'duplicate': {
          const from = int(bytes.byteLength);
          const to = Math.min(bytes.byteLength, from + 1 + int(300));
          const at = int(bytes.byteLength + 1);
          bytes = concat([bytes.subarray(0, at), bytes.slice(from, to), bytes.subarray(at)]);
          intactBefore = at;
          break;
        }
        default: {
          for (let k = 0; k < 3; k++) {
            if (random() < 0.5) flip();
            else overwrite(null, 16);
          }
          region = null;
          const cut = bytes.byteLength - int(64);
          bytes = copy(bytes.subarray(0, Math.max(0, cut)));
        }
      }
      const label = `iteration ${i} (${op})`;
      let scan: ThreadFileScan;
      try {
        scan = scanThreadFile(bytes);
        assertScanInvariants(bytes, scan, true, label);
        assertScanInvariants(bytes, scanThreadFile(bytes, false), false, `${label}, unverified`);
      } catch (error) {
        throw new Error(`${label}: ${(error as Error).message}`, { cause: error });
      }
      const found = new Set(scan.chunks.map((c) => c.offset));
      let r = region as [number, number] | null;
      if (r) {
        // Narrow the region to the bytes that really changed (an overwrite may write the same value).
        let from = r[0];
        let to = r[1];
        while (from < to && bytes[from] === original[from]) from++;
        while (to > from && bytes[to - 1] === original[to - 1]) to--;
        r = from < to ? [from, to] : [bytes.byteLength, bytes.byteLength];
      }
      if (r && r[0] >= 6) {
        // In-place damage past the magic and version: exactly the chunks it touched are lost.
        const expected = base.chunks.filter((c) => c.end <= r[0] || c.offset >= r[1]).map((c) => c.offset);
        assert.deepEqual([...found].sort((a, b) => a - b), expected, `${label}: damage at [${r[0]}, ${r[1]}): ${JSON.stringify(scan.problems)}`);
      } else if (intactBefore >= base.headerEnd) {
        // Chunks wholly before a cut, insertion or duplicate are still read.
        for (const chunk of base.chunks) {
          if (chunk.end <= intactBefore) assert.ok(found.has(chunk.offset), `${label}: lost intact chunk ${chunk.seq}`);
        }
      }
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `fuzz took ${elapsed} ms`);
    for (const op of ['flip', 'overwrite', 'zero', 'truncate', 'insert', 'duplicate', 'several']) assert.ok((counts[op] ?? 0) > 100, `${op} exercised`);
  });

  test('random bytes after a valid preamble and header never throw', () => {
    const random = prng(42);
    for (let i = 0; i < 300; i++) {
      const tail = new Uint8Array(int(random, 600)).map(() => int(random, 256));
      // Sprinkle chunk magics at aligned and unaligned places so the resync and header checks run.
      const view = new DataView(tail.buffer);
      for (let k = 0; k + 8 <= tail.byteLength; k += 8 + 8 * int(random, 6)) view.setUint32(k + (random() < 0.8 ? 0 : 4), CHUNK_MAGIC, true);
      const bytes = concat([encodeFileHeader(HEADER, LANE_INDEX), tail]);
      assertScanInvariants(bytes, scanThreadFile(bytes), true, `random tail ${i}`);
      assertScanInvariants(bytes, scanThreadFile(bytes, false), false, `random tail ${i}, unverified`);
    }
  });
});

function int(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
