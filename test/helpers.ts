// Shared helpers for the integration tests: run the real CLI (dist/src/cli/main.js) in a child
// process, record fixtures into temporary trace directories, read summaries back.

import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../src/analysis/summary.js';

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
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
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
