// Child processes are followed into the same trace: spawn, fork and execFileSync with an
// explicit env that has no NODE_OPTIONS; chains of children; --no-follow; a child killed with
// SIGKILL; a child that outlives the root; and children behave exactly as untraced.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, callsOf, record, recall, summaryJson, tempDir, untraced } from '../helpers.js';
import { openTrace } from '../../src/analysis/trace.js';
import { threadEvents } from '../../src/analysis/events.js';
import type { Manifest } from '../../src/format/manifest.js';
import type { ProcessOverview } from '../../src/analysis/process-overview.js';
import type { AllProcessesSummary } from '../../src/analysis/summary-all.js';

const CALLS = 1234;

interface Info {
  pid: number;
  parentPid: number | null;
  processes: ProcessOverview[];
}

function infoJson(dir: string): Info {
  const result = recall(['info', dir, '--format', 'json']);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Info;
}

function manifestFile(dir: string, name: string): Manifest {
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as Manifest;
}

/** Pids of the spawn runtime events recorded in one process's threads. */
function spawnEvents(dir: string, pid?: number): number[] {
  const trace = openTrace(dir, pid === undefined ? {} : { pid });
  const pids: number[] = [];
  for (const thread of trace.threads) {
    for (const event of threadEvents(trace, thread)) if (event.kind === 'spawn') pids.push(event.aux);
  }
  return pids;
}

/** The one child of `parent` among the trace's processes. */
function childOf(info: Info, parent: number): ProcessOverview {
  const children = info.processes.filter((p) => p.parentPid === parent);
  assert.equal(children.length, 1, `one child of ${parent}: ${JSON.stringify(info.processes)}`);
  return children[0] as ProcessOverview;
}

for (const mode of ['spawn', 'fork', 'execFileSync'] as const) {
  test(`${mode}: the child is traced into the same trace with exact counts, its parent linked`, () => {
    const args = [mode, 'child.js', String(CALLS)];
    const { dir, result } = record('follow/launch.js', { args });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, untraced('follow/launch.js', args).stdout);
    assert.match(result.stdout, /^child 1234: 7404$/m);

    const info = infoJson(dir);
    assert.equal(info.processes.length, 2, JSON.stringify(info.processes));
    const root = info.processes[0];
    assert.equal(root?.pid, info.pid);
    assert.equal(root?.parentPid, null);
    const child = childOf(info, info.pid);
    assert.equal(child.status, 'complete');

    // The child's own summary has exactly its calls; the root's has none of them.
    assert.equal(callsOf(summaryJson(dir, ['--process', String(child.pid)]), 'work'), CALLS);
    assert.equal(callsOf(summaryJson(dir), 'work'), 0);

    const childManifest = manifestFile(dir, `p${child.pid}.manifest.json`);
    assert.equal(childManifest.status, 'complete');
    assert.equal(childManifest.pid, child.pid);
    assert.equal(childManifest.parentPid, info.pid);
    assert.equal(childManifest.rootPid, info.pid);
    assert.equal(childManifest.functionsFile, `p${child.pid}.functions.jsonl`);
    assert.ok(childManifest.threads.every((t) => t.file.startsWith(`p${child.pid}-t`)));
    const rootManifest = manifestFile(dir, 'manifest.json');
    assert.equal(rootManifest.parentPid, null);
    assert.deepEqual(
      rootManifest.processes?.map((p) => p.pid),
      [info.pid, child.pid],
    );

    // The parent recorded the start of the child, with its pid.
    assert.deepEqual(spawnEvents(dir), [child.pid]);
  });
}

test('a chain of children (spawn → fork → exec through the shell → node) is traced with correct parent links', () => {
  const args = ['spawn', 'launch.js', 'fork', 'launch.js', 'exec', 'child.js', '77'];
  const { dir, result } = record('follow/launch.js', { args });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('follow/launch.js', args).stdout);
  const info = infoJson(dir);
  assert.equal(info.processes.length, 4, JSON.stringify(info.processes));
  const first = childOf(info, info.pid);
  const second = childOf(info, first.pid);
  const third = childOf(info, second.pid);
  for (const p of info.processes) assert.equal(p.status, 'complete', `process ${p.pid}`);
  for (const p of [first, second, third]) assert.equal(manifestFile(dir, `p${p.pid}.manifest.json`).rootPid, info.pid);
  assert.equal(callsOf(summaryJson(dir, ['--process', String(third.pid)]), 'work'), 77);
  assert.deepEqual(spawnEvents(dir), [first.pid]);
  assert.deepEqual(spawnEvents(dir, first.pid), [second.pid]);
  assert.equal(spawnEvents(dir, second.pid).length, 1); // the shell's pid (which may exec node in place)

  // --process all: every process side by side, each function row with its pid.
  const all = summaryJson(dir, ['--process', 'all']) as unknown as AllProcessesSummary;
  assert.equal(all.processes.length, 4);
  assert.equal(all.totals.processes, 4);
  const work = all.functions.filter((fn) => fn.name === 'work');
  assert.deepEqual(
    work.map((fn) => [fn.pid, fn.calls]),
    [[third.pid, 77]],
  );
  const starts = all.functions.filter((fn) => fn.name === 'start');
  assert.deepEqual(starts.map((fn) => fn.pid).sort(), [info.pid, first.pid, second.pid].sort(), 'the same function in three processes is three rows');
  assert.equal(all.totals.events, info.processes.reduce((sum, p) => sum + p.events, 0));

  // The text views show the tree.
  const text = recall(['info', dir]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /4 processes/);
  assert.match(text.stdout, new RegExp(`^      ${third.pid} +${second.pid} +complete`, 'm'));
  const summaryText = recall(['summary', dir, '--process', 'all']);
  assert.equal(summaryText.status, 0, summaryText.stderr);
  assert.match(summaryText.stdout, /complete · 4 processes · 4 threads/);
  assert.match(recall(['summary', dir]).stdout, /the trace holds 3 more processes/);
  const both = recall(['summary', dir, '--process', 'all', '--thread', '0']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /^recall: summary: --thread needs one process/);
  const csv = recall(['summary', dir, '--process', 'all', '--format', 'csv']);
  assert.equal(csv.status, 0, csv.stderr);
  assert.match(csv.stdout, new RegExp(`^pid,name,file,`));
  assert.match(csv.stdout, new RegExp(`^${third.pid},work,[^\\n]*,77,`, 'm'));
});

test('--no-follow: the child runs untraced and behaves the same', () => {
  const args = ['spawn', 'child.js', String(CALLS)];
  const { dir, result } = record('follow/launch.js', { args, flags: ['--no-follow'] });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('follow/launch.js', args).stdout);
  const pid = Number(/launch spawn pid (\d+)/.exec(result.stderr)?.[1]);
  assert.ok(pid > 0, result.stderr);
  assert.deepEqual(
    readdirSync(dir).filter((name) => name.startsWith(`p${pid}`)),
    [],
  );
  const info = infoJson(dir);
  assert.deepEqual(
    info.processes.map((p) => p.pid),
    [info.pid],
  );
  assert.deepEqual(spawnEvents(dir), [], 'no spawn events when not following');
  const missing = recall(['summary', dir, '--process', String(pid)]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, new RegExp(`^recall: no process ${pid} in this trace; processes: ${info.pid}\\n$`));
});

test('a child killed with SIGKILL mid-run is salvaged from its chunks on disk', () => {
  const { dir, result } = record('follow/launch.js', { args: ['spawn', 'killed.js', String(CALLS)] });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stdout, /ended: signal SIGKILL/);
  const info = infoJson(dir);
  const child = childOf(info, info.pid);
  assert.equal(child.status, 'salvaged');
  const manifest = manifestFile(dir, `p${child.pid}.manifest.json`);
  assert.equal(manifest.status, 'salvaged');
  assert.equal(manifest.shutdown?.reason, 'killed');
  assert.equal(manifest.parentPid, info.pid);
  // The events were flushed while the child waited before it was killed: all are readable.
  assert.equal(callsOf(summaryJson(dir, ['--process', String(child.pid)]), 'work'), CALLS);
  assert.equal(manifestFile(dir, 'manifest.json').status, 'complete');
});

test('semantic equivalence: the child output and exit codes are the same traced and untraced', () => {
  for (const mode of ['spawn', 'fork', 'exec', 'execFileSync', 'spawnSync']) {
    const args = [mode, 'child.js', '300', '3'];
    const traced = record('follow/launch.js', { args });
    const plain = untraced('follow/launch.js', args);
    assert.equal(traced.result.stdout, plain.stdout, mode);
    assert.equal(traced.result.status, plain.status, mode);
    assert.equal(plain.status, 3, mode);
    assert.match(plain.stdout, /^child 300: \d+$/m, mode);
    const info = infoJson(traced.dir);
    assert.equal(info.processes.length, 2, `${mode}: ${JSON.stringify(info.processes)}`);
    const child = childOf(info, info.pid);
    assert.equal(manifestFile(traced.dir, `p${child.pid}.manifest.json`).shutdown?.exitCode, 3, mode);
  }
});

test('a child that outlives the root keeps recording and finishes its own manifest', async () => {
  const dir = join(tempDir(), 'trace');
  const result = recall(['run', '--out', dir, '--', process.execPath, join(FIXTURES, 'follow', 'launch.js'), 'orphan', 'late.js', '500']);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'launch orphan late.js started\n');
  // The child announced itself before its first line, so recall run knew it was still running.
  assert.match(result.stderr, /from 1 thread in 2 processes \(1 still running: their events are not counted here\)/);
  const pid = Number(/launch orphan pid (\d+)/.exec(result.stderr)?.[1]);
  const file = join(dir, `p${pid}.manifest.json`);
  const deadline = Date.now() + 30_000;
  while (manifestFile(dir, `p${pid}.manifest.json`).status === 'recording' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(manifestFile(dir, `p${pid}.manifest.json`).status, 'complete', file);
  assert.equal(callsOf(summaryJson(dir, ['--process', String(pid)]), 'work'), 500);
  assert.deepEqual(
    infoJson(dir).processes.map((p) => [p.pid === pid, p.status]),
    [
      [false, 'complete'],
      [true, 'complete'],
    ],
  );
});

test('a worker thread that starts a child records the spawn in its own lane', () => {
  const { dir, result } = record('follow/worker-launch.js');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('follow/worker-launch.js').stdout);
  const info = infoJson(dir);
  const child = childOf(info, info.pid);
  assert.equal(callsOf(summaryJson(dir, ['--process', String(child.pid)]), 'work'), 21);
  const trace = openTrace(dir);
  const worker = trace.threads.find((t) => t.info.id !== 0);
  assert.ok(worker, 'the worker has its own thread');
  assert.deepEqual(
    [...threadEvents(trace, worker)].filter((e) => e.kind === 'spawn').map((e) => e.aux),
    [child.pid],
  );
});

test('a child that starts after the recording ended runs untraced and sees no worker of recall', () => {
  // The session a followed child inherits (RECALL_CONFIG and NODE_OPTIONS), as recall run gives
  // it, with the recording's --duration deadline already past when the child starts.
  const dir = join(tempDir(), 'trace');
  const shown = recall(['run', '--quiet', '--out', dir, '--', 'sh', '-c', 'printf %s "$RECALL_CONFIG"; printf "\\n%s" "$NODE_OPTIONS"']);
  assert.equal(shown.status, 0, shown.stderr);
  const [config, nodeOptions] = shown.stdout.split('\n') as [string, string];
  const late = { ...JSON.parse(config), parentPid: process.pid, deadlineEpochMs: Date.now() - 1000 };
  // Its preload starts the drain worker before it reads the session (preload-require.cts), then
  // ends it: the child's async hooks, worker_threads channel and 'worker' listeners see only the
  // worker it starts itself, as untraced.
  const fixture = 'semantics/process-events.cjs';
  const result = untraced(fixture, [], { env: { ...process.env, RECALL_CONFIG: JSON.stringify(late), NODE_OPTIONS: nodeOptions } });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced(fixture).stdout);
  assert.match(result.stdout, /^worker events: mine$/m);
  assert.match(result.stdout, /^worker_threads channel: 1$/m);
  assert.deepEqual(readdirSync(dir), [], 'the late child wrote nothing into the trace');
});
