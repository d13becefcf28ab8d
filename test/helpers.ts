// Shared helpers for the integration tests: run the real CLI (dist/src/cli/main.js) in a child
// process, record fixtures into temporary trace directories, read summaries back, and write
// hand-made one-thread traces (lost exits, drop markers) that no real run produces on demand.

import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../src/analysis/summary.js';
import { encodeChunkHeader, encodeFileHeader } from '../src/format/chunk.js';
import { EV_DROPPED, KIND_SHIFT, LANE_INDEX, RECORD_BYTES } from '../src/format/layout.js';

/** Repository root (tests run from dist/test/...). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: SpawnSyncOptions = {}): Result {
  // A view of a long recording can print megabytes (spawnSync's default 1 MiB failed a test with ENOBUFS).
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 << 20, ...options });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Run the recall CLI with the given arguments. */
export function recall(args: string[], options: SpawnSyncOptions = {}): Result {
  return run(process.execPath, [CLI, ...args], { cwd: FIXTURES, ...options });
}

export function tempDir(prefix = 'recall-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Recording {
  dir: string;
  result: Result;
}

/** Record `node <fixture> ...args` (fixture relative to test/fixtures) into a fresh directory. */
export function record(fixture: string, options: { args?: string[]; flags?: string[]; spawn?: SpawnSyncOptions } = {}): Recording {
  const dir = join(tempDir(), 'trace');
  const result = recall(['run', '--quiet', '--out', dir, ...(options.flags ?? []), '--', process.execPath, join(FIXTURES, fixture), ...(options.args ?? [])], options.spawn);
  return { dir, result };
}

/** Run a fixture without recall, for comparison. */
export function untraced(fixture: string, args: string[] = [], options: SpawnSyncOptions = {}): Result {
  return run(process.execPath, [join(FIXTURES, fixture), ...args], { cwd: FIXTURES, ...options });
}

export function summaryJson(dir: string, extra: string[] = []): Summary {
  const result = recall(['summary', dir, '--format', 'json', ...extra]);
  if (result.status !== 0) throw new Error(`recall summary failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Summary;
}

/** Calls of the function named `name` in a summary (summed over entries with that name). */
export function callsOf(summary: Summary, name: string): number {
  return summary.functions.filter((fn) => fn.name === name).reduce((sum, fn) => sum + fn.calls, 0);
}

/**
 * Write a complete one-thread trace of made-up [kind, fn, aux, time ms] records, in one chunk,
 * with functions f1..f<functions> (ids 1..). Drop markers' counts are the thread's dropped events.
 */
export function writeTrace(dir: string, records: [number, number, number, number][], functions = 2): void {
  mkdirSync(dir, { recursive: true });
  const file = 'p1-t0.idx';
  const fd = openSync(join(dir, file), 'w');
  writeSync(fd, encodeFileHeader({ formatVersion: 1, lane: 'index', pid: 1, threadId: 0, slot: 0, name: 'main', timeOriginMs: 1000 }, LANE_INDEX));
  const payload = new Uint8Array(records.length * RECORD_BYTES);
  const u32 = new Uint32Array(payload.buffer);
  const f64 = new Float64Array(payload.buffer);
  records.forEach(([kind, fn, aux, time], i) => {
    u32[i * 4] = ((kind << KIND_SHIFT) | fn) >>> 0;
    u32[i * 4 + 1] = aux;
    f64[i * 2 + 1] = time;
  });
  const header = new Uint8Array(48);
  encodeChunkHeader(header, LANE_INDEX, 0, records.length, payload, f64[1]!, f64[(records.length - 1) * 2 + 1]!, 0);
  writeSync(fd, header);
  writeSync(fd, payload);
  closeSync(fd);
  const n = records.length;
  const markers = records.filter(([kind]) => kind === EV_DROPPED);
  const dropped = markers.reduce((sum, [, , aux]) => sum + aux, 0);
  const written = n - markers.length; // a drop marker is not an event of the program
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
      clock: { source: 'performance.now', mode: 'exact', resolutionNs: 0, readCostNs: 0, precision: 'made up' },
      options: { ringRecords: 0, threadSlots: 1, include: [], exclude: [], nodeModules: false, durationSeconds: null },
      threads: [{ id: 0, name: 'main', slot: 0, file, timeOriginMs: 1000, produced: written + dropped, written, dropped, bytes: 0, chunks: 1, closed: true }],
      threadsUntraced: 0,
      functionsFile: 'functions.jsonl',
      functions: Array.from({ length: functions }, (_, k) => k + 1).map((id) => ({ id, name: `f${id}`, file: '/made/up.js', line: id, column: 1, kind: 'function' })),
      totals: { produced: written + dropped, written, dropped, bytes: 0, chunks: 1 },
      shutdown: { reason: 'exit', exitCode: 0 },
      notes: [],
    }),
  );
}

/**
 * An index file's bytes (index-file.ts) with one byte flipped in the first element of one array
 * of its first indexed thread: `array` names it (segTime, read at open; fnMax, a group read on
 * first use; ...). Throws when that array is empty, where a flip would change nothing.
 */
export function flipIndexByte(good: Uint8Array, array: string): Uint8Array {
  const view = new DataView(good.buffer, good.byteOffset, good.byteLength);
  const jsonBytes = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(good.subarray(16, 16 + jsonBytes))) as { threads: { index: { arrays: Record<string, [string, number, number, number]> } | null }[] };
  const spec = header.threads.find((t) => t.index !== null)?.index?.arrays[array];
  if (!spec || spec[2] <= 0) throw new Error(`the index has no elements in ${array}`);
  const at = 16 + jsonBytes + spec[1];
  return Uint8Array.from(good, (b, i) => (i === at ? b ^ 0x10 : b));
}
