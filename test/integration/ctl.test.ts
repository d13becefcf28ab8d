// Live control of real recordings (recall ctl) and snapshot mode (recall run --snapshot): status
// of a running program by trace directory and by pid, pause and resume (events stop and start
// again, and readers see the gap), bounds changed live, snapshots that are complete traces, an
// owner-only socket that goes away with the recording, and --snapshot writing nothing but the
// manifest until a trigger or SIGUSR2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, FIXTURES, recall, summaryJson, tempDir } from '../helpers.js';
import type { ControlStatus } from '../../src/format/control-protocol.js';
import type { Manifest } from '../../src/format/manifest.js';
import { spoolDirOf } from '../../src/runtime/bounded.js';
import { openQuery } from '../../src/query/open.js';

interface Running {
  dir: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Start `recall run` of a fixture in the background. */
function start(fixture: string, args: string[], flags: string[] = []): Running {
  const dir = join(tempDir(), 'trace');
  const child = spawn(process.execPath, [CLI, 'run', '--quiet', '--out', dir, ...flags, '--', process.execPath, join(FIXTURES, 'bounded', fixture), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { dir, child, exited, stderr: () => stderr };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the recording's control socket is there. */
async function socketOf(dir: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const name = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith('.ctl.sock')) : undefined;
    if (name) return join(dir, name);
    await sleep(25);
  }
  throw new Error(`no control socket appeared in ${dir}`);
}

function status(target: string): ControlStatus {
  const result = recall(['ctl', target, 'status', '--format', 'json']);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as ControlStatus;
}

test('recall ctl: status by directory and pid, pause and resume, an owner-only socket gone with the recording', async () => {
  const stop = join(tempDir(), 'stop');
  const run = start('ticker.cjs', ['60000', stop]);
  const socket = await socketOf(run.dir);
  assert.equal(statSync(socket).mode & 0o777, 0o600, 'the socket is owner-only');
  await sleep(300);
  const first = status(run.dir);
  assert.equal(first.state, 'recording');
  assert.ok(first.written > 0 && first.threads === 1 && first.dropped === 0, JSON.stringify(first));
  assert.deepEqual(first.triggers, ['throw', 'slow=100ms']);
  const text = recall(['ctl', run.dir, 'status']);
  assert.match(text.stdout, /^recording · pid \d+ · up /);
  assert.match(text.stdout, /events\/s +[\d,.]+/);
  // By pid: found through the recording's configuration.
  const byPid = status(String(first.pid));
  assert.equal(byPid.pid, first.pid);

  const paused = recall(['ctl', run.dir, 'pause']);
  assert.equal(paused.status, 0, paused.stderr);
  assert.match(paused.stdout, /^paused/);
  await sleep(300); // every thread reaches an idle tick (50 ms) meanwhile
  const during = status(run.dir).written;
  await sleep(500);
  const after = status(run.dir);
  assert.equal(after.state, 'paused');
  assert.equal(after.written, during, 'nothing is recorded while paused');
  assert.equal(recall(['ctl', run.dir, 'resume']).status, 0);
  await sleep(400);
  assert.ok(status(run.dir).written > during + 1000, 'recording goes on after resume');

  writeFileSync(stop, '');
  assert.equal(await run.exited, 0, run.stderr());
  assert.equal(existsSync(socket), false, 'the socket goes away with the recording');
  const ended = recall(['ctl', run.dir, 'status']);
  assert.notEqual(ended.status, 0);
  assert.match(ended.stderr, /^recall: ctl: the recording of process \d+ in .* has finished \(complete\); nothing to control\n$/);
  // The trace reads, and the pause is a gap its readers know: a marker of 0 events, no drops.
  const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(manifest.totals.dropped, 0);
  const summary = summaryJson(run.dir);
  assert.equal(summary.totals.dropped, 0);
  assert.equal(summary.totals.events, manifest.totals.written);
  assert.equal(recall(['tree', run.dir, '--max-lines', '10']).status, 0);
});

test('recall ctl set changes a bounded recording\'s bounds, refuses an unbounded one, and snapshot writes a complete trace', async () => {
  const stop = join(tempDir(), 'stop');
  const bounded = start('ticker.cjs', ['60000', stop], ['--max-size', '64MiB']);
  await socketOf(bounded.dir);
  await sleep(300);
  const set = recall(['ctl', bounded.dir, 'set', 'max-size=8MiB', 'keep=1m', '--format', 'json']);
  assert.equal(set.status, 0, set.stderr);
  const changed = JSON.parse(set.stdout) as ControlStatus & { message: string };
  assert.equal(changed.maxBytes, 8 << 20);
  assert.equal(changed.keepMs, 60000);
  const wrong = recall(['ctl', bounded.dir, 'set', 'colour=blue']);
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /unknown setting 'colour'; settings: max-size, keep, slow, throw, mark/);
  const snap = recall(['ctl', bounded.dir, 'snapshot', '--format', 'json']);
  assert.equal(snap.status, 0, snap.stderr);
  const { snapshots } = JSON.parse(snap.stdout) as ControlStatus;
  assert.equal(snapshots.length, 1);
  writeFileSync(stop, '');
  assert.equal(await bounded.exited, 0, bounded.stderr());
  const snapshotDir = join(bounded.dir, snapshots[0] as string);
  const summary = summaryJson(snapshotDir);
  assert.equal(summary.status, 'complete');
  assert.ok(summary.functions.some((f) => f.name === 'tick' && f.calls > 0), 'the snapshot holds the calls recorded before it');
  const manifest = JSON.parse(readFileSync(join(snapshotDir, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(manifest.shutdown?.reason, 'snapshot');
  const final = JSON.parse(readFileSync(join(bounded.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.deepEqual(final.snapshots, snapshots, 'the trace lists its snapshots');

  const unbounded = start('ticker.cjs', ['1500']);
  await socketOf(unbounded.dir);
  const refused = recall(['ctl', unbounded.dir, 'set', 'max-size=8MiB']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /this recording is not bounded/);
  assert.equal(await unbounded.exited, 0);
});

test('--snapshot writes nothing but the manifest until a trigger, then the kept window with the exception', async () => {
  const run = start('thrower.cjs', ['1500'], ['--snapshot', '--keep', '2s']);
  const pid = await (async () => {
    await socketOf(run.dir);
    const lines = readFileSync(join(run.dir, 'processes.jsonl'), 'utf8').trim().split('\n');
    return (JSON.parse(lines[0] as string) as { pid: number }).pid;
  })();
  assert.ok(existsSync(spoolDirOf(pid)), 'segments are spooled outside the trace directory');
  assert.deepEqual(readdirSync(run.dir).filter((n) => /\.(idx|det|d?seg)$/.test(n)), [], 'no thread file in the trace directory while recording');
  assert.equal(await run.exited, 0, run.stderr());
  assert.equal(existsSync(spoolDirOf(pid)), false, 'the spool is removed at the end');
  assert.deepEqual(readdirSync(run.dir).filter((n) => /\.(idx|det|d?seg)$/.test(n)), []);
  const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(manifest.options.snapshot, true);
  assert.equal(manifest.snapshots?.length, 1, `one throw, one snapshot: ${JSON.stringify(manifest.snapshots)}`);
  const snapshotDir = join(run.dir, manifest.snapshots?.[0] as string);
  const exceptions = recall(['exceptions', snapshotDir]);
  assert.equal(exceptions.status, 0, exceptions.stderr);
  assert.match(exceptions.stdout, /Error: boom 5[\s\S]*risky\(i=5\)[\s\S]*caught here/);
  const summary = recall(['summary', run.dir]);
  assert.notEqual(summary.status, 0);
  assert.match(summary.stderr, /^recall: .* was recorded with --snapshot: its records are in its 1 snapshot; read one, e\.g\. recall summary .*snapshots\/p\d+-1/);
});

test('recall ctl set changes the triggers of every thread while it runs', async () => {
  const run = start('thrower.cjs', ['2500', '30']);
  await socketOf(run.dir);
  const set = recall(['ctl', run.dir, 'set', 'throw=off', 'slow=5s', '--format', 'json']);
  assert.equal(set.status, 0, set.stderr);
  assert.deepEqual((JSON.parse(set.stdout) as ControlStatus).triggers, ['slow=5000ms']);
  assert.equal(await run.exited, 0, run.stderr());
  const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.deepEqual(manifest.detail?.triggers, ['slow=5000ms'], 'the manifest states the triggers in force at the end');
  assert.deepEqual(manifest.windows, [], 'the throw at 1.5 s opened no window: throws no longer trigger');
  // The throw itself is still in the index lane.
  assert.match(recall(['exceptions', run.dir]).stdout, /^1 exception/);
});

test('--snapshot: SIGUSR2 asks for a snapshot', async () => {
  const run = start('ticker.cjs', ['2000'], ['--snapshot', '--trigger', 'none']);
  await socketOf(run.dir);
  await sleep(300);
  const pid = (JSON.parse(readFileSync(join(run.dir, 'processes.jsonl'), 'utf8').trim().split('\n')[0] as string) as { pid: number }).pid;
  process.kill(pid, 'SIGUSR2');
  assert.equal(await run.exited, 0, run.stderr());
  const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(manifest.snapshots?.length, 1);
  const snapshot = JSON.parse(readFileSync(join(run.dir, manifest.snapshots?.[0] as string, 'manifest.json'), 'utf8')) as Manifest;
  assert.equal(snapshot.shutdown?.signal, 'SIGUSR2');
  assert.ok(summaryJson(join(run.dir, manifest.snapshots?.[0] as string)).totals.events > 0);
});

test('recall ctl set capture= arms functions live: their calls before a trigger give their values (adaptive timing)', async () => {
  const run = start('thrower.cjs', ['2200', '30']); // throws (and catches) at tick 30, ~1.5 s in
  await socketOf(run.dir);
  const set = recall(['ctl', run.dir, 'set', 'capture=work', '--format', 'json']);
  assert.equal(set.status, 0, set.stderr);
  assert.deepEqual((JSON.parse(set.stdout) as ControlStatus).capture, ['work']);
  assert.equal(await run.exited, 0, run.stderr());
  const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8')) as Manifest;
  assert.deepEqual(manifest.detail?.capture, ['work'], 'the manifest states the capture list in force at the end');
  const window = manifest.windows?.find((w) => w.trigger === 'throw');
  assert.ok(window, `a throw window: ${JSON.stringify(manifest.windows)}`);
  // work was not compiled with an entry capture (no --capture at start): armed live, its calls
  // in the throw's pre-roll were captured at their exits, with their arguments and return values.
  const q = openQuery(run.dir);
  try {
    const before = q.engine.calls({ function: 'work', fromNs: window.fromNs, toNs: window.atNs, limit: 500 }).calls;
    assert.ok(before.length > 0, 'calls of work in the pre-roll');
    const valued = before.map((c) => q.engine.call(c.id)).filter((c) => c.values.some((v) => v.body.ret !== undefined && (v.body.args as unknown[] | undefined)?.length === 1));
    assert.ok(valued.length >= before.length / 2, `${valued.length} of the ${before.length} pre-roll calls of work have their argument and return value`);
  } finally {
    q.close();
  }
});

test('recall ctl set fn= arms a trigger live and fn=none disarms it (--timing none)', async () => {
  const stop = join(tempDir(), 'stop');
  const run = start('ticker.cjs', ['60000', stop], ['--timing', 'none', '--trigger', 'none']);
  await socketOf(run.dir);
  await sleep(300);
  assert.equal(recall(['ctl', run.dir, 'set', 'fn=tick']).status, 0);
  await sleep(600);
  const off = recall(['ctl', run.dir, 'set', 'fn=none', '--format', 'json']);
  assert.equal(off.status, 0, off.stderr);
  assert.deepEqual((JSON.parse(off.stdout) as ControlStatus).triggers, []);
  await sleep(1200);
  writeFileSync(stop, '');
  assert.equal(await run.exited, 0, run.stderr());
  const manifest = JSON.parse(readFileSync(join(run.dir, 'manifest.json'), 'utf8')) as Manifest;
  const windows = manifest.windows ?? [];
  assert.ok(windows.length > 0 && windows.every((w) => w.trigger === 'fn'), `windows opened by calls of tick: ${JSON.stringify(windows.slice(0, 3))}`);
  // Windows stopped opening once fn=none reached the thread (its next idle tick): none in the
  // 1.2 s before the stop file (windows' times count from the process's start).
  const endNs = ((manifest.endEpochMs ?? 0) - manifest.startEpochMs) * 1e6;
  const lastAt = Math.max(...windows.map((w) => w.atNs));
  assert.ok(endNs - lastAt > 600e6, `the last window opened ${((endNs - lastAt) / 1e6).toFixed(0)} ms before the end`);
  const q = openQuery(run.dir);
  try {
    const tick = q.engine.calls({ function: 'tick', limit: 5000 }).calls.map((c) => q.engine.call(c.id)).find((c) => c.values.some((v) => v.body.k === 'call'));
    assert.ok(tick, 'a call of tick with its values');
    const body = tick.values.find((v) => v.body.k === 'call')!.body;
    assert.equal((body.args as unknown[]).length, 1, JSON.stringify(body));
    assert.ok(body.ret !== undefined, JSON.stringify(body));
  } finally {
    q.close();
  }
});
