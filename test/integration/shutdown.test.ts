// Every way a traced program can end leaves a readable trace with a complete manifest, and
// `recall run` passes the program's exit code (or 128 + signal) through.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, callsOf, recall, record, summaryJson, tempDir } from '../helpers.js';
import type { Summary } from '../../src/analysis/summary.js';
import type { Manifest } from '../../src/format/manifest.js';

function manifestOf(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

function assertComplete(dir: string, reason: string): Manifest {
  const manifest = manifestOf(dir);
  assert.equal(manifest.status, 'complete');
  assert.equal(manifest.shutdown?.reason, reason);
  assert.ok(manifest.threads.length >= 1);
  for (const t of manifest.threads) assert.equal(t.written + t.dropped, t.produced);
  return manifest;
}

test('normal exit', () => {
  const { dir, result } = record('shutdown.js', { args: ['normal'] });
  assert.equal(result.status, 0);
  assertComplete(dir, 'exit');
  assert.equal(callsOf(summaryJson(dir), 'tick'), 1000);
});

test('process.exit(3) with a pending timer', () => {
  const { dir, result } = record('shutdown.js', { args: ['exit'] });
  assert.equal(result.status, 3);
  assert.equal(assertComplete(dir, 'exit').shutdown?.exitCode, 3);
  assert.equal(callsOf(summaryJson(dir), 'tick'), 1000);
});

test('uncaught exception', () => {
  const { dir, result } = record('shutdown.js', { args: ['uncaught'] });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /Error: deliberate/);
  assertComplete(dir, 'uncaught-exception');
  const summary = summaryJson(dir);
  assert.equal(callsOf(summary, 'tick'), 1001);
  assert.equal(summary.functions.find((fn) => fn.name === 'fail')?.throws, 1);
});

test('a crashing worker: its events are kept and the process ends normally', () => {
  const { dir, result } = record('crash-worker.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /worker failed: worker crash/);
  const manifest = assertComplete(dir, 'exit');
  const worker = manifest.threads.find((t) => t.id !== 0);
  assert.ok(worker, 'the worker has its own thread');
  assert.equal(worker.closed, true);
  assert.equal(callsOf(summaryJson(dir, ['--thread', String(worker.id)]), 'step'), 5000);
});

test('--duration stops recording and the program runs on untraced', () => {
  const { dir, result } = record('shutdown.js', { args: ['busy', '1500'], flags: ['--duration', '0.3'] });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /finished true/);
  const manifest = assertComplete(dir, 'duration');
  const recordedMs = (manifest.endEpochMs ?? 0) - manifest.startEpochMs;
  assert.ok(recordedMs < 1400, `recording stopped early (${recordedMs} ms)`);
  assert.ok(callsOf(summaryJson(dir), 'tick') > 1000);
});

/** Record `shutdown.js wait` and resolve once the program says it is ready. */
async function startWaiting(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'run', '--quiet', '--out', dir, '--', process.execPath, join(FIXTURES, 'shutdown.js'), 'wait'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready')) resolve();
    });
  });
  return child;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} sent to recall reaches the program, which dies of it with a complete trace`, async () => {
    const dir = join(tempDir(), 'trace');
    const child = await startWaiting(dir);
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill(signal);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, signal === 'SIGINT' ? 130 : 143);
    const manifest = assertComplete(dir, 'signal');
    assert.equal(manifest.shutdown?.signal, signal);
    assert.ok(callsOf(summaryJson(dir), 'tick') >= 1000);
  });
}

test('SIGKILL: recall salvages a readable trace from the chunks on disk', async () => {
  const dir = join(tempDir(), 'trace');
  const child = await startWaiting(dir);
  // Let the drain flush the events (it writes partial chunks after 250 ms): wait until the file
  // shows them (a loaded machine may take longer than any fixed wait).
  const deadline = Date.now() + 20000;
  await new Promise((resolve) => setTimeout(resolve, 400));
  for (;;) {
    const seen = recall(['summary', dir, '--format', 'json']);
    if (seen.status === 0 && callsOf(JSON.parse(seen.stdout) as Summary, 'tick') >= 1000) break;
    assert.ok(Date.now() < deadline, 'the drain wrote the events while the program waited');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  process.kill(manifest.pid, 'SIGKILL');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 137);
  const salvaged = manifestOf(dir);
  assert.equal(salvaged.status, 'salvaged');
  assert.equal(salvaged.shutdown?.signal, 'SIGKILL');
  const summary = summaryJson(dir);
  assert.ok(callsOf(summary, 'tick') >= 1000, 'events flushed before the kill are readable');
});
