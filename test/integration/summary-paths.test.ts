// recall summary has several ways to the same answer: thread files streamed and walked in this
// thread or in worker threads (RECALL_SUMMARY_WORKERS), by the WebAssembly kernel or the
// JavaScript loop (RECALL_SUMMARY_KERNEL=js), and openTrace + summarize (whole files in memory,
// as summary --process all and salvage do). On a real multi-thread recording, on damaged copies
// of it, and on made-up traces whose estimates depend on the threads before them, every way must
// print the same JSON — numbers, threads, warnings and their order.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, readdirSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunkHeader, encodeFileHeader, scanThreadFile } from '../../src/format/chunk.js';
import { EV_ENTER, EV_EXIT, KIND_SHIFT, LANE_INDEX, RECORD_BYTES, UNTIMED_FLAG } from '../../src/format/layout.js';
import { summarize } from '../../src/analysis/summary.js';
import { summarizeTrace } from '../../src/analysis/summary-trace.js';
import { openTrace } from '../../src/analysis/trace.js';
import { record, recall, tempDir } from '../helpers.js';

let recorded = '';

/** The CLI's JSON summary with these environment settings. */
function cli(dir: string, env: Record<string, string>, extra: string[] = []): string {
  const result = recall(['summary', dir, '--format', 'json', ...extra], { env: { ...process.env, ...env } });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** Every way to summarize `dir` gives the same JSON; returns it. */
async function allTheSame(dir: string, extra: string[] = []): Promise<string> {
  const reference = cli(dir, { RECALL_SUMMARY_WORKERS: '0' }, extra);
  const settings: Record<string, string>[] = [{ RECALL_SUMMARY_WORKERS: '2' }, { RECALL_SUMMARY_WORKERS: '1' }, { RECALL_SUMMARY_WORKERS: '0', RECALL_SUMMARY_KERNEL: 'js' }, { RECALL_SUMMARY_WORKERS: '3', RECALL_SUMMARY_KERNEL: 'js' }];
  for (const env of settings) {
    assert.equal(cli(dir, env, extra), reference, `summary with ${JSON.stringify(env)} differs`);
  }
  // In process: the library, both paths, and openTrace + summarize.
  const thread = extra[0] === '--thread' ? Number(extra[1]) : undefined;
  const json = (value: unknown): string => JSON.stringify(value, null, 1) + '\n';
  for (const workers of [0, 2]) {
    assert.equal(json((await summarizeTrace(dir, { workers, thread })).summary), reference, `summarizeTrace workers ${workers}`);
  }
  assert.equal(json(summarize(openTrace(dir), { thread })), reference, 'openTrace + summarize');
  return reference;
}

// Recorded with compressed chunks (the default: zstd, or deflate on a Node without it) and with
// plain ones (RECALL_CODEC=none, as format 1 stored every chunk), which the kernel checks while
// it walks the chunk before.
for (const codec of ['default', 'none']) describe(`every way to summarize gives the same answer (chunks: ${codec})`, () => {
  before(() => {
    const env = codec === 'default' ? process.env : { ...process.env, RECALL_CODEC: codec };
    const { dir, result } = record('workers.mjs', { spawn: { env } });
    assert.equal(result.status, 0, result.stderr);
    recorded = dir;
  });

  test('a real recording of four threads (adaptive timing: timed and estimated calls)', async () => {
    const summary = JSON.parse(await allTheSame(recorded)) as { threads: { id: number }[]; functions: { name: string; calls: number; untimedCalls: number }[] };
    assert.equal(summary.threads.length, 4);
    assert.equal(summary.functions.find((f) => f.name === 'work')?.calls, 600000);
    await allTheSame(recorded, ['--thread', String(summary.threads[2]!.id)]);
  });

  test('a truncated thread file and a flipped byte in another: the same warnings, in the same order', async () => {
    const dir = join(tempDir('recall-paths-'), 'trace');
    cpSync(recorded, dir, { recursive: true });
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.idx'))
      .sort();
    assert.ok(files.length >= 3, `thread files: ${files.join(', ')}`);
    const scans = files.map((f) => scanThreadFile(new Uint8Array(readFileSync(join(dir, f)))));
    // Cut the largest file inside its last chunk; flip a byte inside another's first chunk
    // (checked on its own) and one in a third's middle chunk (checked during the walk of the
    // chunk before it, with the kernel).
    // The three largest files (the main thread's may be a few records in one or two small chunks).
    const bySize = scans.map((scan, index) => index).sort((a, b) => scans[b]!.validBytes - scans[a]!.validBytes);
    const [cut, firstFlipped, middleFlipped] = bySize as [number, number, number];
    const last = scans[cut]!.chunks.at(-1)!;
    truncateSync(join(dir, files[cut]!), last.payloadOffset + Math.floor(last.payloadBytes / 2));
    const flipByte = (file: number, chunk: number, at: number): void => {
      const path = join(dir, files[file]!);
      const bytes = readFileSync(path);
      bytes[scans[file]!.chunks[chunk]!.payloadOffset + at]! ^= 0x40;
      writeFileSync(path, bytes);
    };
    flipByte(firstFlipped, 0, 100);
    const middle = scans[middleFlipped]!.chunks.length >> 1;
    const middleBytes = scans[middleFlipped]!.chunks[middle]!.payloadBytes;
    assert.ok(middle > 0 && middleBytes > 200, 'a thread file with more than one chunk');
    flipByte(middleFlipped, middle, Math.min(5000, middleBytes >> 1));
    const summary = JSON.parse(await allTheSame(dir)) as { warnings: string[] };
    assert.equal(summary.warnings.filter((w) => w.includes('fails its checksum')).length, 2, summary.warnings.join('\n'));
    assert.ok(summary.warnings.some((w) => w.includes('file ends inside chunk')), summary.warnings.join('\n'));
  });

  test('untimed calls estimated from the threads before them: the parallel walk redoes them', async () => {
    // Thread 0 times fn 1 (1/64 ms twice, and once 10 ms); threads 1 and 2 call fn 1
    // untimed only, under a timed fn 2, so their estimates (and fn 2's self time) rest on
    // thread 0's calls.
    const dir = join(tempDir('recall-paths-'), 'trace');
    mkdirSync(dir, { recursive: true });
    const at = (kind: number, fn: number, untimed = false): number => (((kind << KIND_SHIFT) | fn) | (untimed ? UNTIMED_FLAG : 0)) >>> 0;
    const threads: [number, number][][] = [
      [
        [at(EV_ENTER, 1), 0],
        [at(EV_EXIT, 1), 1 / 64],
        [at(EV_ENTER, 1), 1],
        [at(EV_EXIT, 1), 1 + 1 / 64],
        [at(EV_ENTER, 1), 2],
        [at(EV_EXIT, 1), 12],
      ],
      [
        [at(EV_ENTER, 2), 0],
        [at(EV_ENTER, 1, true), 0],
        [at(EV_EXIT, 1, true), 0],
        [at(EV_ENTER, 1, true), 0],
        [at(EV_EXIT, 1, true), 0],
        [at(EV_EXIT, 2), 50],
      ],
      [
        [at(EV_ENTER, 2), 5],
        [at(EV_ENTER, 1, true), 5],
        [at(EV_EXIT, 1, true), 5],
        [at(EV_EXIT, 2), 30],
      ],
    ];
    writeTrace(dir, threads);
    const summary = JSON.parse(await allTheSame(dir)) as { functions: { name: string; selfNs: number; estimatedNs: number; untimedCalls: number }[] };
    const fn1 = summary.functions.find((f) => f.name === 'f1')!;
    const fn2 = summary.functions.find((f) => f.name === 'f2')!;
    assert.equal(fn1.untimedCalls, 3);
    // Each untimed call of f1 is estimated at its mean timed self time, each timed call counted
    // at most 1/64 ms (the 10 ms one was held, as far as an estimate can tell): 1/64 ms.
    assert.equal(fn1.estimatedNs, 3 * 15625);
    assert.equal(fn2.selfNs, (50 - 2 / 64 + 25 - 1 / 64) * 1e6);
    // f1's own measured time is not capped.
    assert.equal(fn1.selfNs, (2 / 64 + 10 + 3 / 64) * 1e6);
  });
});

/** A complete trace of made-up threads: [head, time ms] records, one chunk per thread. */
function writeTrace(dir: string, threads: [number, number][][]): void {
  const manifestThreads = threads.map((records, thread) => {
    const file = `p1-t${thread}.idx`;
    const fd = openSync(join(dir, file), 'w');
    writeSync(fd, encodeFileHeader({ formatVersion: 1, lane: 'index', pid: 1, threadId: thread, slot: thread, name: `t${thread}`, timeOriginMs: 1000 }, LANE_INDEX));
    const payload = new Uint8Array(records.length * RECORD_BYTES);
    const u32 = new Uint32Array(payload.buffer);
    const f64 = new Float64Array(payload.buffer);
    records.forEach(([head, time], i) => {
      u32[i * 4] = head;
      f64[i * 2 + 1] = time;
    });
    const header = new Uint8Array(48);
    encodeChunkHeader(header, LANE_INDEX, 0, records.length, payload, f64[1]!, f64[(records.length - 1) * 2 + 1]!, 0);
    writeSync(fd, header);
    writeSync(fd, payload);
    closeSync(fd);
    const n = records.length;
    return { id: thread, name: `t${thread}`, slot: thread, file, timeOriginMs: 1000, produced: n, written: n, dropped: 0, bytes: 0, chunks: 1, closed: true };
  });
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      format: 'recall-trace',
      formatVersion: 1,
      recallVersion: 'test',
      status: 'complete',
      command: ['made-up'],
      cwd: dir,
      pid: 1,
      nodeVersion: process.version,
      startedAt: new Date(0).toISOString(),
      startEpochMs: 1000,
      endEpochMs: 2000,
      clock: { source: 'performance.now', mode: 'adaptive', resolutionNs: 0, readCostNs: 0, precision: 'made up' },
      options: { ringRecords: 0, threadSlots: threads.length, include: [], exclude: [], nodeModules: false, durationSeconds: null },
      threads: manifestThreads,
      threadsUntraced: 0,
      functionsFile: 'functions.jsonl',
      functions: [1, 2].map((id) => ({ id, name: `f${id}`, file: '/made/up.js', line: id, column: 1, kind: 'function' })),
      totals: { produced: 0, written: 0, dropped: 0, bytes: 0, chunks: 0 },
      shutdown: { reason: 'exit', exitCode: 0 },
      notes: [],
    }),
  );
}
