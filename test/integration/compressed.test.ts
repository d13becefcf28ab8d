// Trace format 2 end to end: a real recording read through every reader (summary's streaming
// walk, openTrace, the query engine's index and record reads, the CLI views) gives the same
// answers whether its chunks are compressed or plain, and whether the plain trace is format 2 or
// format 1 (rewritten here from the recording, as an older recall wrote it); a recording made
// with compression counts the same calls as one made without; a Node without zstd refuses a
// zstd trace with one line.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunkHeader, scanThreadFile } from '../../src/format/chunk.js';
import { ChunkEncoder, HAS_ZSTD, visitChunkRecords, writerCodec } from '../../src/format/codec.js';
import { CHUNK_HEADER_BYTES, CODEC_ZSTD, FILE_PREAMBLE_BYTES, FORMAT_VERSION, LANE_DETAIL, LANE_INDEX, LAYOUT_BYTES } from '../../src/format/layout.js';
import { checksumInit, checksumWords } from '../../src/format/checksum.js';
import type { Summary } from '../../src/analysis/summary.js';
import { callsOf, record, recall, summaryJson, tempDir } from '../helpers.js';

/**
 * Rewrite every index-lane file of `dir` chunk by chunk: each chunk's records sealed by
 * `encoder` (null: plain), written as `version` (1: a format-1 file, as an older recall wrote it).
 */
function rewrite(dir: string, encoder: ChunkEncoder | null, version: number): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.idx'))) {
    const bytes = new Uint8Array(readFileSync(join(dir, file)));
    const scan = scanThreadFile(bytes);
    assert.deepEqual(scan.problems, [], file);
    const head = scan.chunks[0]?.offset ?? bytes.byteLength;
    const preamble = bytes.slice(0, head);
    const view = new DataView(preamble.buffer);
    view.setUint16(4, version, true);
    // The JSON header's formatVersion too (same length: one digit), and its checksum.
    const jsonBytes = view.getUint32(8, true);
    const json = new TextDecoder().decode(preamble.subarray(FILE_PREAMBLE_BYTES, FILE_PREAMBLE_BYTES + jsonBytes)).replace(/"formatVersion":\d/, `"formatVersion":${version}`);
    preamble.set(new TextEncoder().encode(json), FILE_PREAMBLE_BYTES);
    view.setUint32(12, checksumWords(checksumInit(), new Uint32Array(preamble.buffer, FILE_PREAMBLE_BYTES, jsonBytes >>> 2)), true);
    const parts: Uint8Array[] = [preamble];
    visitChunkRecords(bytes, scan, (u32, _f64, word, count, index) => {
      const chunk = scan.chunks[index]!;
      const records = new Uint8Array(u32.buffer, u32.byteOffset + word * 4, count * 16).slice();
      const sealed = encoder ? encoder.sealIndex(records, count) : { payload: records, encoding: 0 };
      const payload = sealed.payload.slice();
      const header = new Uint8Array(CHUNK_HEADER_BYTES);
      encodeChunkHeader(header, LANE_INDEX, chunk.seq, count, payload, chunk.firstTime, chunk.lastTime, chunk.flags, null, sealed.encoding, version);
      parts.push(header, payload);
    });
    writeFileSync(join(dir, file), Buffer.concat(parts));
  }
  if (version === 1) {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete manifest.writer;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, formatVersion: 1 }));
  }
}

/** A copy of the trace at `from`. */
function copy(from: string): string {
  const dir = join(tempDir('recall-compressed-'), 'trace');
  cpSync(from, dir, { recursive: true });
  return dir;
}

/** What the readers say of a trace: summary JSON and text, the views, query answers. */
function answers(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const run = (label: string, args: string[], env: Record<string, string> = {}): void => {
    const result = recall(args, { env: { ...process.env, ...env } });
    assert.equal(result.status, 0, `${label}: ${result.stderr}`);
    out[label] = result.stdout.split(dir).join('<trace>');
  };
  run('summary json', ['summary', dir, '--format', 'json']);
  run('summary json, in this thread', ['summary', dir, '--format', 'json'], { RECALL_SUMMARY_WORKERS: '0' });
  run('summary json, the JavaScript walk', ['summary', dir, '--format', 'json'], { RECALL_SUMMARY_KERNEL: 'js' });
  run('tree', ['tree', dir]);
  run('events', ['events', dir]);
  run('query hotspots', ['query', dir, 'hotspots', '--format', 'json']);
  run('query find_calls', ['query', dir, 'find_calls', 'function=leaf', '--format', 'json']);
  run('query tree', ['query', dir, 'tree', 'function=burst', '--format', 'json']);
  return out;
}

let plain = '';

describe('compressed chunks, end to end', () => {
  before(() => {
    const { dir, result } = record('reader/bursts.js', { spawn: { env: { ...process.env, RECALL_CODEC: 'none' } } });
    assert.equal(result.status, 0, result.stderr);
    plain = dir;
  });

  test('the same trace, compressed (zstd or deflate) or plain, format 2 or format 1: the same answers from every reader', () => {
    const manifest = JSON.parse(readFileSync(join(plain, 'manifest.json'), 'utf8')) as { writer?: { codec: string }; formatVersion: number };
    assert.equal(manifest.writer?.codec, 'none');
    const expected = answers(plain);
    assert.ok(JSON.parse(expected['summary json']!).totals.calls > 6000);
    const variants: [string, ChunkEncoder | null, number][] = [
      ['deflate', new ChunkEncoder(writerCodec('deflate')), 2],
      ['format 1', null, 1],
    ];
    if (HAS_ZSTD) variants.push(['zstd', new ChunkEncoder(CODEC_ZSTD), 2]);
    for (const [label, encoder, version] of variants) {
      const dir = copy(plain);
      rewrite(dir, encoder, version);
      const scan = scanThreadFile(new Uint8Array(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.idx'))!))));
      assert.equal(scan.version, version, label);
      if (encoder) assert.ok(scan.chunks.some((c) => c.encoding !== 0), `${label}: some chunk compressed`);
      const got = answers(dir);
      for (const key of Object.keys(expected)) {
        // recall info-like fields aside, nothing differs (the summary has no format field).
        assert.equal(got[key], expected[key], `${label}: ${key}`);
      }
      if (version === 1) {
        const info = recall(['info', dir]);
        assert.equal(info.status, 0, info.stderr);
        assert.match(info.stdout, /recall-trace version 1\b/);
      }
    }
  });

  test('a program recorded with compression counts the same calls as recorded without', () => {
    const { dir, result } = record('reader/bursts.js');
    assert.equal(result.status, 0, result.stderr);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { writer: { codec: string; cpuMs: number | null }; formatVersion: number; totals: { dropped: number } };
    assert.equal(manifest.writer.codec, HAS_ZSTD ? 'zstd' : 'deflate');
    assert.equal(manifest.formatVersion, FORMAT_VERSION);
    assert.equal(manifest.totals.dropped, 0);
    const compressed = summaryJson(dir);
    const uncompressed = summaryJson(plain);
    const calls = (s: Summary): Record<string, number> => Object.fromEntries(s.functions.map((f) => [`${f.name} ${f.file}:${f.line}`, f.calls]));
    assert.deepEqual(calls(compressed), calls(uncompressed));
    assert.equal(callsOf(compressed, 'leaf'), 6000);
    assert.equal(compressed.totals.calls, uncompressed.totals.calls);
    assert.equal(compressed.totals.dropped, 0);
    assert.deepEqual(compressed.warnings, []);
    // Fewer bytes: the index-lane files are a fraction of the plain ones.
    const idxBytes = (d: string): number => readdirSync(d).filter((f) => f.endsWith('.idx')).reduce((sum, f) => sum + readFileSync(join(d, f)).byteLength, 0);
    assert.ok(idxBytes(dir) * 4 < idxBytes(plain), `${idxBytes(dir)} bytes compressed, ${idxBytes(plain)} plain`);
  });

  test('detail chunks (format 3) are compressed whole, and read back to the same values', () => {
    // Every call of step captured into the flight ring; the throw's window persists the last 100 ms of them.
    const flags = ['--capture', 'step', '--post-calls', '1000'];
    const compressed = record('detail/long-run.js', { flags });
    const stored = record('detail/long-run.js', { flags, spawn: { env: { ...process.env, RECALL_CODEC: 'none' } } });
    assert.equal(compressed.result.status, 0, compressed.result.stderr);
    assert.equal(stored.result.status, 0, stored.result.stderr);
    const detailFile = (d: string): Uint8Array => {
      const name = readdirSync(d).find((f) => f.endsWith('.det'));
      assert.ok(name, `a detail file in ${d}`);
      const buffer = readFileSync(join(d, name));
      return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
    };
    const scan = scanThreadFile(detailFile(compressed.dir));
    assert.equal(scan.lane, LANE_DETAIL);
    assert.deepEqual(scan.problems, []);
    assert.ok(scan.chunks.length > 0 && scan.chunks.every((c) => c.encoding !== 0 && ((c.encoding >>> 8) & 0xff) === LAYOUT_BYTES), 'every detail chunk is compressed whole');
    // Each compressed payload starts with the length of the records it holds (LAYOUT_BYTES).
    const bytes = detailFile(compressed.dir);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const storedBytes = scan.chunks.reduce((sum, c) => sum + c.payloadBytes, 0);
    const recordBytes = scan.chunks.reduce((sum, c) => sum + view.getUint32(c.payloadOffset, true), 0);
    assert.ok(storedBytes * 3 < recordBytes, `${storedBytes} bytes stored for ${recordBytes} bytes of detail records`);
    // The recorded values read back the same: the throw's arguments, and a post-roll call's.
    const values = (d: string): unknown => {
      const result = recall(['exceptions', d, '--format', 'json']);
      assert.equal(result.status, 0, result.stderr);
      const list = (JSON.parse(result.stdout) as { exceptions: { thrownIn: { args: unknown } | null; error: unknown }[] }).exceptions;
      assert.equal(list.length, 1);
      return list.map((x) => [x.thrownIn?.args, x.error]);
    };
    const recorded = values(compressed.dir);
    assert.deepEqual(recorded, values(stored.dir));
    assert.match(JSON.stringify(recorded), /10000/, 'the throwing call\'s argument i=10000 is there');
  });

  test('a zstd trace read where zlib has no zstd: one line naming the Node to use, exit 1, no stack', { skip: !HAS_ZSTD && 'this Node cannot write zstd' }, () => {
    const dir = copy(plain);
    rewrite(dir, new ChunkEncoder(CODEC_ZSTD), 2);
    // NODE_OPTIONS splits at spaces: the module's text is URL-encoded.
    const withoutZstd = `data:text/javascript,${encodeURIComponent('import zlib from "node:zlib"; delete zlib.zstdDecompressSync; delete zlib.zstdCompressSync;')}`;
    for (const args of [['summary', dir], ['summary', dir, '--format', 'json'], ['tree', dir], ['query', dir, 'hotspots']]) {
      const result = recall(args, { env: { ...process.env, NODE_OPTIONS: `--import=${withoutZstd}`, RECALL_SUMMARY_WORKERS: '0' } });
      assert.equal(result.status, 1, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, '', args.join(' '));
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(lines[0]!, /^recall: this trace is compressed with zstd, which Node v[\d.]+ cannot read: read it with Node 22\.15 or later/);
    }
  });
});
