// Reading damaged traces through the real CLI. One real recording (three bursts of calls, so
// the thread file has several chunks) is copied and damaged per test: truncated, flipped bytes,
// wrong magic, newer versions, missing or broken manifest, empty and missing directories.
// Whatever is readable must be read, with a WARNING naming what was lost; whole-trace failures
// are one line on stderr and a non-zero exit; never a stack trace.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanThreadFile, type ThreadFileScan } from '../../src/format/chunk.js';
import { visitChunkRecords } from '../../src/format/codec.js';
import { EV_ENTER, FN_MASK, FORMAT_VERSION, KIND_MASK, KIND_SHIFT, RECORD_BYTES } from '../../src/format/layout.js';
import type { Manifest } from '../../src/format/manifest.js';
import type { Summary } from '../../src/analysis/summary.js';
import { callsOf, record, recall, tempDir, type Result } from '../helpers.js';

interface Base {
  dir: string;
  manifest: Manifest;
  file: string;
  scan: ThreadFileScan;
  written: number;
}

let base: Base;

function readScan(path: string): ThreadFileScan {
  return scanThreadFile(new Uint8Array(readFileSync(path)));
}

/** A fresh copy of the recorded trace to damage. */
function copyTrace(): { dir: string; idx: string } {
  const dir = join(tempDir('recall-reader-'), 'trace');
  cpSync(base.dir, dir, { recursive: true });
  return { dir, idx: join(dir, base.file) };
}

function assertNoStack(result: Result, label: string): void {
  for (const stream of [result.stdout, result.stderr]) {
    assert.ok(!stream.includes('    at '), `${label}: stack trace printed:\n${stream}`);
    assert.doesNotMatch(stream, /internal error/, `${label}: internal error`);
  }
}

function assertOneLineError(result: Result, pattern: RegExp, label: string): void {
  assertNoStack(result, label);
  assert.notEqual(result.status, 0, `${label}: exit code`);
  assert.equal(result.stdout, '', `${label}: stdout`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${label}: one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^recall: /, label);
  assert.match(lines[0]!, pattern, label);
}

/** Run summary (text and json) and info (text and json) on a trace that must still be readable. */
function readable(dir: string, label: string): { text: string; info: string; summary: Summary } {
  const text = recall(['summary', dir]);
  assertNoStack(text, `${label}: summary`);
  assert.equal(text.status, 0, `${label}: summary exit code; stderr: ${text.stderr}`);
  const json = recall(['summary', dir, '--format', 'json']);
  assertNoStack(json, `${label}: summary --format json`);
  assert.equal(json.status, 0, `${label}: summary json exit code`);
  const info = recall(['info', dir]);
  assertNoStack(info, `${label}: info`);
  assert.equal(info.status, 0, `${label}: info exit code; stderr: ${info.stderr}`);
  const infoJson = recall(['info', dir, '--format', 'json']);
  assertNoStack(infoJson, `${label}: info --format json`);
  assert.equal(infoJson.status, 0, `${label}: info json exit code`);
  JSON.parse(infoJson.stdout);
  return { text: text.stdout, info: info.stdout, summary: JSON.parse(json.stdout) as Summary };
}

/** Both commands must fail with the same kind of one-line error. */
function unreadable(dir: string, pattern: RegExp, label: string): void {
  assertOneLineError(recall(['summary', dir]), pattern, `${label}: summary`);
  assertOneLineError(recall(['info', dir]), pattern, `${label}: info`);
}

/** Enter records of function `name` in the given chunks of the original recording. */
function entersOf(name: string, chunks: ThreadFileScan['chunks']): number {
  const ids = new Set(base.manifest.functions.filter((fn) => fn.name === name).map((fn) => fn.id));
  const bytes = new Uint8Array(readFileSync(join(base.dir, base.file)));
  let n = 0;
  visitChunkRecords(bytes, { ...base.scan, chunks }, (u32, _f64, word, count) => {
    for (let r = 0; r < count; r++) {
      const head = u32[word + r * (RECORD_BYTES >> 2)] as number;
      if (((head >>> KIND_SHIFT) & KIND_MASK) === EV_ENTER && ids.has(head & FN_MASK)) n++;
    }
  });
  return n;
}

function warningLines(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('WARNING'));
}

before(() => {
  const { dir, result } = record('reader/bursts.js');
  assert.equal(result.status, 0, `recording failed: ${result.stderr}`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(manifest.status, 'complete');
  assert.equal(manifest.threads.length, 1);
  const file = manifest.threads[0]!.file;
  const scan = readScan(join(dir, file));
  base = { dir, manifest, file, scan, written: manifest.threads[0]!.written };
});

describe('reading damaged traces', () => {
  test('the recording itself is clean and has at least three chunks', () => {
    assert.deepEqual(base.scan.problems, []);
    assert.ok(base.scan.chunks.length >= 3, `chunks: ${base.scan.chunks.length}`);
    assert.equal(base.scan.records, base.written);
    assert.equal(base.manifest.threads[0]!.dropped, 0);
    const { summary, text } = readable(base.dir, 'clean');
    assert.deepEqual(summary.warnings, []);
    assert.deepEqual(warningLines(text), []);
    assert.equal(summary.totals.events, base.written);
    assert.equal(callsOf(summary, 'leaf'), 6000);
    assert.equal(callsOf(summary, 'burst'), 3);
  });

  test('a thread file cut in the middle of a chunk: the events before it are reported, with a WARNING naming the loss', () => {
    const { dir, idx } = copyTrace();
    const cutChunk = base.scan.chunks[1]!;
    const cut = cutChunk.payloadOffset + Math.floor(cutChunk.payloadBytes / 2) + 5;
    truncateSync(idx, cut);
    const kept = base.scan.chunks[0]!.count;
    const { summary, text } = readable(dir, 'truncated');
    assert.equal(summary.totals.events, kept);
    assert.equal(summary.threads[0]!.events, kept);
    assert.equal(summary.threads[0]!.lost, base.written - kept);
    assert.equal(summary.totals.lost, base.written - kept);
    assert.equal(callsOf(summary, 'leaf'), entersOf('leaf', base.scan.chunks.slice(0, 1)));
    assert.ok(callsOf(summary, 'leaf') < 6000);
    const warnings = warningLines(text);
    assert.ok(
      warnings.some((w) => w.includes(base.file) && /ends inside chunk 1\b.*\(\d+ records lost\)/.test(w)),
      `a truncation warning, got:\n${warnings.join('\n')}`,
    );
    assert.ok(
      warnings.some((w) => w.includes(`${base.written - kept} events the recorder wrote are missing`)),
      `a lost-events warning, got:\n${warnings.join('\n')}`,
    );
  });

  test('a thread file cut inside a chunk header still reads every earlier chunk', () => {
    const { dir, idx } = copyTrace();
    const chunk = base.scan.chunks[2]!;
    truncateSync(idx, chunk.offset + 20);
    const kept = base.scan.chunks[0]!.count + base.scan.chunks[1]!.count;
    const { summary, text } = readable(dir, 'cut header');
    assert.equal(summary.totals.events, kept);
    assert.ok(warningLines(text).some((w) => /ends inside a chunk header.*records lost/.test(w)), text);
  });

  test('flipped bytes in one chunk: a checksum warning for it, the other chunks are read', () => {
    const { dir, idx } = copyTrace();
    const bytes = readFileSync(idx);
    const damaged = base.scan.chunks[1]!;
    // Inside this chunk's payload whatever its size (how many records a chunk holds depends on
    // when the drain ran): a flip past its end would damage the next chunk too.
    assert.ok(damaged.payloadBytes > 12, `chunk 1 holds ${damaged.payloadBytes} bytes`);
    for (const at of [10, 11, Math.min(1000, damaged.payloadBytes - 1)]) bytes[damaged.payloadOffset + at]! ^= 0x5a;
    writeFileSync(idx, bytes);
    const expected = base.written - damaged.count;
    const { summary, text } = readable(dir, 'flipped');
    assert.equal(summary.totals.events, expected);
    assert.equal(summary.threads[0]!.lost, damaged.count);
    const warnings = warningLines(text);
    assert.ok(
      warnings.some((w) => w.includes(`chunk 1 at byte ${damaged.offset} fails its checksum (${damaged.count} records skipped)`)),
      `a checksum warning, got:\n${warnings.join('\n')}`,
    );
    // Every chunk but the damaged one was read.
    assert.equal(callsOf(summary, 'leaf'), entersOf('leaf', base.scan.chunks.filter((c) => c !== damaged)));
  });

  test('manifest.json with formatVersion 99: one line naming the version and saying to upgrade', () => {
    const { dir } = copyTrace();
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, formatVersion: 99, recallVersion: '9.9.9' }));
    unreadable(dir, new RegExp(`trace format 99 by recall 9\\.9\\.9.*reads format ${FORMAT_VERSION}.*upgrade recall`), 'format 99');
  });

  test('a thread file with the wrong magic: a warning, not a crash', () => {
    const { dir, idx } = copyTrace();
    const bytes = readFileSync(idx);
    bytes.write('NOPE', 0, 'latin1');
    writeFileSync(idx, bytes);
    const { summary, text, info } = readable(dir, 'wrong magic');
    assert.equal(summary.totals.events, 0);
    assert.ok(warningLines(text).some((w) => w.includes(`${base.file}: not a recall thread file (wrong magic)`)), text);
    assert.ok(warningLines(text).some((w) => w.includes(`${base.written} events the recorder wrote are missing`)), text);
    assert.ok(warningLines(info).some((w) => /wrong magic/.test(w)), info);
  });

  test('a thread file claiming a newer format inside a trace of this version is damage, not a reason to stop', () => {
    const { dir, idx } = copyTrace();
    const bytes = readFileSync(idx);
    bytes.writeUInt16LE(99, 4);
    writeFileSync(idx, bytes);
    const { summary, text } = readable(dir, 'newer thread file');
    assert.equal(summary.totals.events, 0);
    assert.ok(warningLines(text).some((w) => new RegExp(`version 99.*manifest says ${FORMAT_VERSION}`).test(w)), text);
  });

  test('a newer thread file with no manifest: one line saying to upgrade', () => {
    const { dir, idx } = copyTrace();
    rmSync(join(dir, 'manifest.json'));
    const bytes = readFileSync(idx);
    bytes.writeUInt16LE(FORMAT_VERSION + 1, 4);
    writeFileSync(idx, bytes);
    unreadable(dir, new RegExp(`format version ${FORMAT_VERSION + 1}.*upgrade recall`), 'newer thread file, no manifest');
  });

  test('an empty directory: one clear line, non-zero exit', () => {
    unreadable(tempDir('recall-reader-empty-'), /holds no recall trace/, 'empty directory');
  });

  test('a missing directory: one clear line, non-zero exit', () => {
    unreadable(join(tempDir('recall-reader-'), 'does-not-exist'), /no trace at .*does-not-exist/, 'missing directory');
  });

  test('manifest.json deleted: the thread files and functions.jsonl are read on their own, with a warning', () => {
    const { dir } = copyTrace();
    rmSync(join(dir, 'manifest.json'));
    const { summary, text, info } = readable(dir, 'no manifest');
    assert.equal(summary.totals.events, base.written);
    assert.equal(callsOf(summary, 'leaf'), 6000);
    assert.equal(summary.threads[0]!.id, 0);
    assert.equal(summary.threads[0]!.name, 'main');
    assert.ok(warningLines(text).some((w) => /manifest\.json is missing/.test(w)), text);
    assert.match(info, /manifest missing or damaged/);
  });

  test('manifest.json that is not JSON: the thread files are read, with a warning', () => {
    const { dir } = copyTrace();
    writeFileSync(join(dir, 'manifest.json'), '{"format": "recall-trace", "formatVers');
    const { summary, text } = readable(dir, 'manifest not JSON');
    assert.equal(summary.totals.events, base.written);
    assert.ok(warningLines(text).some((w) => /manifest\.json is damaged \(not valid JSON\)/.test(w)), text);
  });

  test('manifest.json that is not JSON and no thread files: one line, non-zero exit', () => {
    const { dir, idx } = copyTrace();
    writeFileSync(join(dir, 'manifest.json'), '\u0000\u0001garbage');
    rmSync(idx);
    unreadable(dir, /manifest\.json is not valid JSON/, 'manifest not JSON, no threads');
  });

  test('manifest.json that is JSON but not a manifest: the thread files are read, with a warning', () => {
    for (const content of ['[]', 'null', '{}', '{"format":"recall-trace","formatVersion":1}']) {
      const { dir } = copyTrace();
      writeFileSync(join(dir, 'manifest.json'), content);
      const { summary, text } = readable(dir, `manifest ${content}`);
      assert.equal(summary.totals.events, base.written, content);
      assert.ok(warningLines(text).some((w) => /^WARNING: manifest\.json (is not|has no|is missing).*; thread files were read on their own$/.test(w)), `${content}:\n${text}`);
    }
  });

  test('a manifest naming a thread file outside the trace directory is not followed', () => {
    const { dir } = copyTrace();
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    manifest.threads[0]!.file = '../../../../etc/passwd';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const { summary, text } = readable(dir, 'thread file outside');
    assert.ok(warningLines(text).some((w) => /outside the trace directory/.test(w)), text);
    assert.doesNotMatch(text, /passwd.*events/);
    assert.equal(summary.totals.events, base.written); // the .idx file in the directory is read instead
  });

  test('a thread file the manifest lists but that is gone, and an empty thread file', () => {
    const gone = copyTrace();
    rmSync(gone.idx);
    const a = readable(gone.dir, 'thread file gone');
    assert.equal(a.summary.totals.events, 0);
    assert.ok(warningLines(a.text).some((w) => /cannot be read \(ENOENT\).*events are lost/.test(w)), a.text);

    const empty = copyTrace();
    writeFileSync(empty.idx, '');
    const b = readable(empty.dir, 'empty thread file');
    assert.equal(b.summary.totals.events, 0);
    assert.ok(warningLines(b.text).some((w) => /ends inside its preamble/.test(w)), b.text);
  });

  test('a damaged thread header loses only the header: every chunk is still read', () => {
    const { dir, idx } = copyTrace();
    const bytes = readFileSync(idx);
    bytes[20]! ^= 0x01; // inside the JSON header
    writeFileSync(idx, bytes);
    const { summary, text } = readable(dir, 'damaged header');
    assert.equal(summary.totals.events, base.written);
    assert.ok(warningLines(text).some((w) => /header checksum mismatch/.test(w)), text);
  });

  test('garbage appended after the last chunk: every chunk is read, the tail is reported', () => {
    const { dir, idx } = copyTrace();
    writeFileSync(idx, Buffer.concat([readFileSync(idx), Buffer.alloc(100, 0x33)]));
    const { summary, text } = readable(dir, 'garbage tail');
    assert.equal(summary.totals.events, base.written);
    assert.equal(summary.threads[0]!.lost, 0);
    assert.ok(warningLines(text).some((w) => /no chunk magic/.test(w)), text);
  });

  test('a recording whose manifest still says "recording" (killed recorder) is read from the thread files', () => {
    const { dir } = copyTrace();
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, status: 'recording', threads: [], totals: { produced: 0, written: 0, dropped: 0, bytes: 0, chunks: 0 } }));
    const { summary, text } = readable(dir, 'recording');
    assert.equal(summary.totals.events, base.written);
    assert.ok(warningLines(text).some((w) => /did not finish/.test(w)), text);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.idx')),
      [base.file],
    );
  });
});
