#!/usr/bin/env node
// What runtime events cost: per scheduled callback (setImmediate, process.nextTick: schedule
// and run, with recall's scheduling wrapper recording schedule/callback/callback-end) and per
// worker message (send with its payload summary note, receive). Each workload runs untraced,
// under `recall run --no-runtime-events` (recorder installed, no wrappers) and under
// `recall run` (the default), with the workload file itself not instrumented (--exclude), so
// the difference between the last two is the wrappers and their records. Prints medians of
// alternating rounds. `node bench/runtime-events.mjs [--rounds N]` (after npm run build).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const SELF = fileURLToPath(import.meta.url);
const N = 100_000;
const MESSAGES = 20_000;

// ---- workloads (run in the measured process; print elapsed ns per item) ----------------------

function immediates() {
  return new Promise((resolve) => {
    let left = N;
    const start = process.hrtime.bigint();
    const step = () => {
      if (--left === 0) resolve(Number(process.hrtime.bigint() - start) / N);
      else setImmediate(step);
    };
    setImmediate(step);
  });
}

function ticks() {
  return new Promise((resolve) => {
    let left = N;
    const start = process.hrtime.bigint();
    const step = () => {
      if (--left === 0) resolve(Number(process.hrtime.bigint() - start) / N);
      else process.nextTick(step);
    };
    process.nextTick(step);
  });
}

/** Batch scheduling: N callbacks queued at once, then run (the schedule cost without the loop turn). */
function tickBatch() {
  return new Promise((resolve) => {
    let left = N;
    const start = process.hrtime.bigint();
    const done = () => {
      if (--left === 0) resolve(Number(process.hrtime.bigint() - start) / N);
    };
    for (let i = 0; i < N; i++) process.nextTick(done);
  });
}

/** Parent posts MESSAGES small objects; the worker counts them and answers once. */
function messages() {
  return new Promise((resolve) => {
    const worker = new Worker(SELF);
    worker.once('message', () => {
      worker.once('message', () => {
        resolve(Number(process.hrtime.bigint() - start) / MESSAGES);
        worker.terminate();
      });
      const start = process.hrtime.bigint();
      for (let i = 0; i < MESSAGES; i++) worker.postMessage({ i, name: 'item', tags: ['a', 'b'] });
    });
  });
}

/** The probe calls behind one message, in the traced process: ns per call. */
const PAYLOAD = { i: 1, name: 'item', tags: ['a', 'b'] };
function probe(call) {
  return () => {
    const recorder = globalThis.__recall;
    const start = process.hrtime.bigint();
    for (let i = 0; i < MESSAGES; i++) call(recorder, i);
    return Number(process.hrtime.bigint() - start) / MESSAGES;
  };
}
const probes = {
  ext: probe((r, i) => r.ext(8, i)),
  describe: probe((r) => r.describe(PAYLOAD)),
  note: probe((r, i) => r.extNote(7, i, { event: 'message-send', seq: i, to: 1, summary: PAYLOAD })),
};

async function workload(name) {
  const run = { immediates, ticks, tickBatch, messages, ...probes }[name];
  await run(); // warm-up
  console.log(String(await run()));
}

// ---- driver ----------------------------------------------------------------------------------

const CLI = join(fileURLToPath(new URL('../', import.meta.url)), 'dist', 'src', 'cli', 'main.js');

function measure(mode, name) {
  const dir = mkdtempSync(join(tmpdir(), 'recall-bench-events-'));
  const node = [process.execPath, SELF, 'workload', name];
  const command =
    mode === 'untraced'
      ? node
      : [process.execPath, CLI, 'run', '--quiet', '--exclude', 'bench/**', '--out', join(dir, 'trace'), ...(mode === 'calls only' ? ['--no-runtime-events'] : []), '--', ...node];
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', cwd: fileURLToPath(new URL('../', import.meta.url)) });
  rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${mode} ${name} failed: ${result.stderr}`);
  return Number(result.stdout.trim().split('\n').pop());
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === 'workload') return workload(args[1]);
  const at = args.indexOf('--rounds');
  const rounds = at >= 0 ? Number(args[at + 1]) : 5;
  const modes = ['untraced', 'calls only', 'runtime events'];
  const names = { immediates: `setImmediate chain (${N})`, ticks: `process.nextTick chain (${N})`, tickBatch: `process.nextTick batch (${N})`, messages: `worker postMessage (${MESSAGES}, parent to worker)` };
  console.log(`| workload | ${modes.join(' | ')} | runtime events cost |`);
  console.log(`| --- | ${modes.map(() => '---').join(' | ')} | --- |`);
  for (const name of Object.keys(names)) {
    if (name in probes) continue;
    const samples = Object.fromEntries(modes.map((m) => [m, []]));
    for (let round = 0; round < rounds; round++) for (const mode of modes) samples[mode].push(measure(mode, name));
    const med = Object.fromEntries(modes.map((m) => [m, median(samples[m])]));
    const unit = name === 'messages' ? 'message' : 'callback';
    console.log(`| ${names[name]} | ${modes.map((m) => `${med[m].toFixed(0)} ns`).join(' | ')} | ${(med['runtime events'] - med['calls only']).toFixed(0)} ns per ${unit} |`);
  }
  // Where a message's cost goes, on the sending thread (probe calls in a traced process).
  const parts = { ext: 'an EXT record (receive side: one clock read + ring store)', describe: 'the payload summary (DetailLane.describe)', note: 'the send record with its note (JSON + detail ring)' };
  for (const [name, what] of Object.entries(parts)) {
    const samples = [];
    for (let round = 0; round < rounds; round++) samples.push(measure('runtime events', name));
    console.log(`| ${what} | | | ${median(samples).toFixed(0)} ns | per call |`);
  }
}

if (isMainThread) await main();
else {
  // The echo worker: answers once ready and once all messages arrived.
  let count = 0;
  parentPort.on('message', () => {
    if (++count === MESSAGES) parentPort.postMessage('done');
  });
  parentPort.postMessage('ready');
}
