// The command line: help, formats, and bad input — one clear line, non-zero exit, never a
// stack trace of recall's own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { record, recall, tempDir } from '../helpers.js';
import { FORMAT_VERSION } from '../../src/format/layout.js';

function assertOneLineError(result: { status: number | null; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.notEqual(result.status, 0);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${result.stderr}`);
  assert.match(lines[0] ?? '', /^recall: /);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

test('unknown command', () => {
  assertOneLineError(recall(['frobnicate']), /unknown command 'frobnicate'/);
});

test('unknown flag', () => {
  assertOneLineError(recall(['summary', '--colour']), /--colour/);
  assertOneLineError(recall(['run', '--bogus', '--', 'node', 'x.js']), /--bogus/);
});

test('bad flag values', () => {
  assertOneLineError(recall(['run', '--ring-size', '1000', '--', 'node', 'fib.js']), /power of two/);
  assertOneLineError(recall(['run', '--duration', 'soon', '--', 'node', 'fib.js']), /--duration/);
  assertOneLineError(recall(['summary', '.', '--format', 'xml']), /--format/);
  assertOneLineError(recall(['summary', '.', '--top', '0']), /--top/);
});

test('run without a command, and a command that does not exist', () => {
  assertOneLineError(recall(['run']), /no command given/);
  const dir = join(tempDir(), 'trace');
  assertOneLineError(recall(['run', '--out', dir, '--', 'no-such-program-xyz']), /cannot start 'no-such-program-xyz': command not found/);
});

test('missing trace, a file instead of a trace, an empty directory', () => {
  assertOneLineError(recall(['summary', '/nonexistent/trace']), /no trace at \/nonexistent\/trace/);
  assertOneLineError(recall(['info', '/etc/hostname']), /not a trace directory/);
  const empty = tempDir();
  assertOneLineError(recall(['summary', empty]), /holds no recall trace/);
});

test('--out refuses a non-empty directory that is not a trace', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'something'));
  assertOneLineError(recall(['run', '--out', dir, '--', process.execPath, 'fib.js']), /non-empty directory/);
});

test('summary: text fits 80 columns; json has the documented fields; csv has a header; unknown --thread is an error', () => {
  const { dir } = record('workers.mjs');
  const text = recall(['summary', dir]);
  assert.equal(text.status, 0);
  for (const line of text.stdout.split('\n')) {
    if (line.startsWith('recall summary') || line.startsWith('timing:') || line.startsWith('WARNING')) continue;
    assert.ok(line.length <= 80, `line longer than 80 columns: ${line}`);
  }
  assert.match(text.stdout, /function\s+location\s+calls\s+total\s+self\s+avg/);
  const json = JSON.parse(recall(['summary', dir, '--format', 'json']).stdout) as Record<string, unknown>;
  const threads = json.threads as Record<string, unknown>[];
  const functions = json.functions as Record<string, unknown>[];
  const totals = json.totals as Record<string, unknown>;
  for (const key of ['id', 'name', 'events', 'dropped']) assert.ok(key in (threads[0] ?? {}), `threads[].${key}`);
  for (const key of ['name', 'file', 'line', 'calls', 'totalNs', 'selfNs']) assert.ok(key in (functions[0] ?? {}), `functions[].${key}`);
  for (const key of ['events', 'dropped', 'durationNs']) assert.ok(key in totals, `totals.${key}`);
  const csv = recall(['summary', dir, '--format', 'csv']).stdout.split('\n');
  assert.equal(csv[0], 'name,file,line,column,calls,totalNs,selfNs,avgNs,throws,untimedCalls,estimatedNs');
  assert.match(csv.find((line) => line.startsWith('work,')) ?? '', /^work,.*workers\.mjs,5,1,600000,/);
  const top = JSON.parse(recall(['summary', dir, '--format', 'json', '--top', '1']).stdout) as { functions: unknown[] };
  assert.equal(top.functions.length, 1);
  assertOneLineError(recall(['summary', dir, '--thread', '77']), /no thread 77 in this trace/);
});

test('info shows versions, counters and the clock precision', () => {
  const { dir } = record('fib.js', { args: ['10'], flags: ['--no-runtime-events'] });
  const info = recall(['info', dir]);
  assert.equal(info.status, 0);
  assert.match(info.stdout, new RegExp(`recall-trace version ${FORMAT_VERSION}\\b`));
  assert.match(info.stdout, /status\s+complete/);
  assert.match(info.stdout, /adaptive: every event timestamped/);
  assert.match(info.stdout, /354 produced = 354 written \+ 0 dropped/);
  const json = JSON.parse(recall(['info', dir, '--format', 'json']).stdout) as { formatVersion: number; functionCount: number };
  assert.equal(json.formatVersion, FORMAT_VERSION);
  assert.equal(json.functionCount, 1);
});

test('recall run passes stdin, stdout, stderr and the exit code through', () => {
  const dir = join(tempDir(), 'trace');
  const script = "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{process.stdout.write(s.toUpperCase());process.stderr.write('err');process.exitCode=7})";
  const result = recall(['run', '--quiet', '--out', dir, '--', process.execPath, '-e', script], { input: 'hello' });
  assert.equal(result.stdout, 'HELLO');
  assert.equal(result.stderr, 'err');
  assert.equal(result.status, 7);
});
