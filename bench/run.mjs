#!/usr/bin/env node
// `npm run bench`: measures recall against the bar in ../shared/PRODUCT.md, as ratios taken
// side by side in one run, and prints one table (also written to bench/RESULTS.md). Never part
// of the test suite: machines are noisy, so tests assert behaviour and this measures.
//
// Which Node: every section runs on each line named by --lines (default 24,20): Node 24, the
// brief's primary line, first, then Node 20. A line that is not the running node's is fetched
// once from the npm registry into a cache (scripts/node-lines.mjs). This script then runs
// itself with that line's binary (--as-line, internal), so the in-process sections, recall
// itself and the traced programs all run on the line measured; its directory leads PATH, so
// a `node` looked up on PATH is that line too, and each trace's manifest is checked for it.
// Lines run one after the other; within a line, the variants alternate round by round. The
// table has one column per line; the bar and the verdict are the primary (first) line's.
//
// Rows: two call-dense real workloads with all of their code instrumented — tsc compiling a
// fixed project and prettier formatting a fixed corpus — untraced, in each timing mode, and
// under the peers a user would otherwise pick (node --cpu-prof; istanbul's counters, as nyc
// applies them); the probe hot path against a bare typed-array store loop; drain throughput
// with 2 producer threads (flat out, and paced to the bar's rate); `recall summary` on a ~1 GiB
// trace against reading the files; instrumenter throughput cold and start-up with a warm cache;
// peak RSS; the query tools (recall mcp / recall query) on the tsc trace: the first answer,
// which builds the index, each tool's p95 with the index built, peak RSS, answers over budget,
// the CLI views in-process and as processes; `recall view` of that trace in headless chromium
// (bench/viewer.mjs: served, ready, drawing per zoom and pan, JS heap); and `recall export` of
// that trace to Perfetto protobuf, speedscope, Chrome JSON (events/s), Parquet and OTLP; the
// tsc trace on disk (bytes per event, compressed chunks against plain ones), the drain's CPU
// per event either way, recall summary of it and the decoding rate.
// Every traced row says how many events were dropped, over every run of it.
//
// Options: --lines 24,20 (Node lines, primary first; `--lines 24` for a one-line run),
// --quick (fewer rounds, smaller trace), --rounds N (rounds on the primary line; default 5,
// 3 with --quick), --other-rounds N (rounds on the other lines, at most --rounds; default 3,
// 2 with --quick: what keeps the full run within ~15 minutes on 2 cores), --only SECTION (one
// of hot, drain, summary, instrumenter, tsc, prettier, query, disk; RESULTS.md is then not written; nor with
// --quick), --summary-trace DIR (generate the summary section's trace into DIR, or reuse it
// when DIR already holds one, and keep it: for profiling `recall summary` on the same bytes
// again and again; without it the trace is generated once and shared by the lines).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync, readdirSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem, release } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TSC_PROJECT = join(ROOT, 'bench', 'fixtures', 'tsc-project');
const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  if (at + 1 >= args.length) throw new Error(`${name} needs a value`);
  return args[at + 1];
};
const count = (name, fallback) => {
  const text = option(name);
  if (text === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(text)) throw new Error(`${name} takes a positive whole number, not '${text}'`);
  return Number(text);
};
const quick = args.includes('--quick');
const ROUNDS = count('--rounds', quick ? 3 : 5);
const OTHER_ROUNDS = Math.min(ROUNDS, count('--other-rounds', quick ? 2 : 3));
const LINES = (option('--lines') ?? '24,20').split(',').map((line) => line.trim()).filter((line) => line !== '');
if (LINES.length === 0 || LINES.some((line) => !/^\d+$/.test(line)) || new Set(LINES).size !== LINES.length) {
  throw new Error(`--lines takes distinct Node major versions, primary first (e.g. 24,20), not '${option('--lines')}'`);
}
// Internal: set when this script runs as one line's measurement (see the top).
const AS_LINE = option('--as-line');
const ROWS_OUT = option('--rows-out');
const TRACE_BYTES = quick ? 256 * 1024 * 1024 : 1024 * 1024 * 1024;
const hasGnuTime = existsSync('/usr/bin/time');
const ONLY = option('--only') ?? null;
const SECTIONS = ['hot', 'drain', 'summary', 'instrumenter', 'tsc', 'prettier', 'query', 'disk'];
if (ONLY !== null && !SECTIONS.includes(ONLY)) throw new Error(`--only takes one of ${SECTIONS.join(', ')}`);
const SUMMARY_TRACE = option('--summary-trace') ?? null;
const runs = (name) => ONLY === null || ONLY === name;

const rows = [];
function row(what, measured, bar, verdict) {
  rows.push({ what, measured, bar, verdict });
  process.stderr.write(`  ${what}: ${measured}${bar ? `  (bar ${bar}: ${verdict})` : ''}\n`);
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (n, digits = 2) => n.toFixed(digits);
/** An event count, short: 82 K, 2.9 M. */
const fmtCount = (n) => (n < 1e3 ? String(n) : n < 999.5e3 ? `${fmt(n / 1e3, n < 9.95e3 ? 1 : 0)} K` : `${fmt(n / 1e6, n < 9.95e6 ? 1 : 0)} M`);

/**
 * The manifests of one traced run: the root's and every child process's (p<pid>.manifest.json,
 * docs/FORMAT.md). Also checks that the traced program ran on the line measured, i.e. this
 * process's Node.
 */
function traceManifests(dir) {
  return readdirSync(dir)
    .filter((f) => f === 'manifest.json' || /^p\d+\.manifest\.json$/.test(f))
    .map((file) => {
      const manifest = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      if (manifest.nodeVersion !== process.version) {
        throw new Error(`${join(dir, file)}: the traced program ran on Node ${manifest.nodeVersion}, not the line measured (${process.version})`);
      }
      return manifest;
    });
}

/** Events dropped in a run, given its manifests: their `totals.dropped`. */
function droppedIn(manifests) {
  return manifests.reduce((sum, manifest) => sum + manifest.totals.dropped, 0);
}

/** Events dropped in one traced run (checked to have run on the line measured: traceManifests). */
function traceDrops(dir) {
  return droppedIn(traceManifests(dir));
}

/**
 * The most events any thread of a run had waiting for its writer at once, and the room its ring
 * and spill ring had (the manifests' backlogPeak and options): how close the run came to dropping.
 */
function backlogIn(manifests) {
  let peak = 0;
  let room = 0;
  for (const manifest of manifests) {
    for (const thread of manifest.threads) peak = Math.max(peak, thread.backlogPeak ?? 0);
    room = Math.max(room, manifest.options.ringRecords + (manifest.options.spillRecords ?? 0));
  }
  return { peak, room };
}

/** What a traced row says of its drops, over every measured run (the worst, not one). */
function dropsText(perRun, warmup = 0) {
  const hit = perRun.filter((d) => d > 0);
  let text = hit.length === 0 ? `0 dropped in ${perRun.length} of ${perRun.length} runs` : `dropped in ${hit.length} of ${perRun.length} runs (max ${fmtCount(Math.max(...hit))})`;
  if (warmup > 0) text += `; the warm-up run dropped ${fmtCount(warmup)}`;
  return text;
}

/**
 * The verdict on a bar with a target in the issue and, where stricter, one in the brief:
 * met when within the issue's target and nothing was dropped in any run; says so when the
 * brief's bar is still ahead.
 */
function verdict(ok, dropped, briefOk = true, brief = '') {
  if (ok && !dropped) return briefOk ? 'met' : `met (brief's ${brief}: not yet)`;
  return ok ? 'MISSED (events dropped)' : dropped ? 'MISSED (and events dropped)' : 'MISSED';
}

/** Run a command; returns wall ms and, with GNU time, peak RSS in KB of the process tree's largest. */
function timed(command, commandArgs, options = {}) {
  const wrapped = hasGnuTime ? ['/usr/bin/time', ['-f', '%M', command, ...commandArgs]] : [command, commandArgs];
  const start = process.hrtime.bigint();
  const result = spawnSync(wrapped[0], wrapped[1], { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  const rssLine = hasGnuTime ? result.stderr.trim().split('\n').pop() : '';
  return { ms, status: result.status, rssKB: Number(rssLine) || 0, stdout: result.stdout, stderr: result.stderr };
}

function recall(commandArgs, options) {
  return timed(process.execPath, [CLI, ...commandArgs], options);
}

// ---- 1. real workloads: tsc and prettier ---------------------------------------------------

const PRETTIER_PROJECT = join(ROOT, 'bench', 'fixtures', 'prettier-project');
const ISTANBUL = join(ROOT, 'bench', 'fixtures', 'istanbul');

function npmInstall(dir) {
  if (existsSync(join(dir, 'node_modules'))) return;
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  if (install.status !== 0) throw new Error(`npm install in ${dir} failed`);
}

function generate(dir) {
  const result = spawnSync(process.execPath, [join(dir, 'generate.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${dir}/generate.mjs failed`);
}

/** istanbul-instrumented copies of both workloads (the counter peer), made once and kept (babel on the 6 MB _tsc.js: ~20 s with a 128 MB young generation, 2.5 min without). */
function istanbulCopies() {
  npmInstall(ISTANBUL);
  const result = spawnSync(process.execPath, ['--max-old-space-size=8192', '--max-semi-space-size=128', join(ISTANBUL, 'instrument.mjs'), TSC_PROJECT, PRETTIER_PROJECT], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('istanbul instrumentation of the workloads failed');
}

const WORKLOADS = {
  tsc: {
    title: 'tsc on bench/fixtures/tsc-project (all of TypeScript instrumented)',
    label: 'tsc',
    project: TSC_PROJECT,
    script: join(TSC_PROJECT, 'node_modules', 'typescript', 'lib', 'tsc.js'),
    istanbulScript: join(ISTANBUL, 'out', 'typescript-lib', 'tsc.js'),
    args: ['-p', TSC_PROJECT],
    // The default mode with the detail lane off too: what the default triggers cost.
    noDetail: true,
  },
  prettier: {
    title: 'prettier formatting bench/fixtures/prettier-project/corpus (all of prettier instrumented)',
    label: 'prettier',
    project: PRETTIER_PROJECT,
    script: join(PRETTIER_PROJECT, 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    istanbulScript: join(ISTANBUL, 'out', 'prettier', 'bin', 'prettier.cjs'),
    // corpus/ is in the fixture's .gitignore, which prettier honours by default: point it elsewhere.
    args: ['--ignore-path', '.prettierignore', 'corpus'],
    noDetail: false,
  },
};

function benchWorkload(workload) {
  process.stderr.write(`${workload.title}\n`);
  const out = mkdtempSync(join(tmpdir(), `recall-bench-${workload.label}-`));
  const env = { ...process.env, RECALL_CACHE_DIR: join(out, 'cache') };
  // The programs' own output (prettier prints what it formatted) is not what is measured.
  const options = { cwd: workload.project, stdio: ['ignore', 'ignore', 'pipe'] };
  const program = [workload.script, ...workload.args];
  // Each variant: how to run it and, when traced, the trace it writes (its drops are read after every run).
  const variants = {
    untraced: { run: () => timed(process.execPath, program, options) },
    'cpu-prof': { run: () => timed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${join(out, 'prof')}`, ...program], options) },
    istanbul: { run: () => timed(process.execPath, [workload.istanbulScript, ...workload.args], options) },
  };
  const traced = (name, flags) => {
    const trace = join(out, `trace-${name}`);
    variants[name] = { trace, run: () => recall(['run', '--quiet', '--node-modules', ...flags, '--out', trace, '--', process.execPath, ...program], { ...options, env }) };
  };
  for (const mode of ['exact', 'adaptive', 'none']) traced(mode, ['--timing', mode]);
  // The default mode with the detail lane off too: what the default triggers cost.
  if (workload.noDetail) traced('no-detail', ['--no-detail']);
  const names = Object.keys(variants);
  const check = (name, r) => {
    if (r.status !== 0) throw new Error(`${workload.label} ${name} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  };
  // Warm the transform cache (and the OS file cache) once; not counted, but its drops are.
  const warmupDrops = {};
  // The deepest backlog of any run of each traced variant, warm-up included, and the room it had.
  const backlog = {};
  /** A traced run's drops; its backlog goes to `backlog`. Its manifests are read once for both. */
  const outcome = (name) => {
    const manifests = traceManifests(variants[name].trace);
    const seen = backlogIn(manifests);
    backlog[name] = { peak: Math.max(backlog[name]?.peak ?? 0, seen.peak), room: seen.room };
    return droppedIn(manifests);
  };
  for (const name of names) {
    check(name, variants[name].run());
    if (variants[name].trace) warmupDrops[name] = outcome(name);
  }
  const samples = Object.fromEntries(names.map((k) => [k, []]));
  const drops = Object.fromEntries(names.map((k) => [k, []]));
  const rss = Object.fromEntries(names.map((k) => [k, 0]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const r = variants[name].run();
      check(name, r);
      samples[name].push(r.ms);
      rss[name] = Math.max(rss[name], r.rssKB);
      if (variants[name].trace) drops[name].push(outcome(name));
    }
  }
  const anyDropped = (name) => warmupDrops[name] > 0 || drops[name].some((d) => d > 0);
  const dropped = (name) => `${dropsText(drops[name], warmupDrops[name])}; backlog at most ${fmtCount(backlog[name].peak)} of ${fmtCount(backlog[name].room)}`;
  const base = median(samples.untraced);
  const manifest = JSON.parse(readFileSync(join(out, 'trace-adaptive', 'manifest.json'), 'utf8'));
  const name = workload.label;
  row(`${name} untraced, median wall`, `${fmt(base / 1000)} s`);
  // [the issue's target, the brief's bar] (issue 11; /work/shared/PRODUCT.md, "The bar").
  const bars = { adaptive: [1.8, 1.5], exact: [3, 3], none: [1.5, 1.1] };
  for (const mode of ['adaptive', 'exact', 'none']) {
    const ratio = median(samples[mode]) / base;
    const [target, brief] = bars[mode];
    const bar = target === brief ? `≤ ${target}×, 0 dropped` : `≤ ${target}× (issue target; brief ≤ ${brief}×), 0 dropped`;
    row(
      `${name} --timing ${mode} / untraced`,
      `${fmt(ratio)}× (${fmt(median(samples[mode]) / 1000)} s), ${dropped(mode)}`,
      bar,
      verdict(ratio <= target, anyDropped(mode), ratio <= brief, `≤ ${brief}×`),
    );
  }
  if (workload.noDetail) {
    const windows = manifest.windows?.length ?? 0;
    row(
      `${name} default triggers on / detail lane off (adaptive)`,
      `${fmt(median(samples.adaptive) / median(samples['no-detail']))}× (${fmt(median(samples['no-detail']) / 1000)} s off; ${windows} window${windows === 1 ? '' : 's'} persisted), lane off: ${dropped('no-detail')}`,
    );
  }
  row(`${name} node --cpu-prof / untraced (peer: sampling profiler)`, `${fmt(median(samples['cpu-prof']) / base)}×`);
  row(`${name} istanbul counters / untraced (peer: nyc-style coverage counting)`, `${fmt(median(samples.istanbul) / base)}×`);
  row(`${name} events recorded (adaptive, last run)`, `${(manifest.totals.written / 1e6).toFixed(1)} M`);
  if (hasGnuTime) row(`${name} peak RSS untraced → adaptive`, `${Math.round(rss.untraced / 1024)} MB → ${Math.round(rss.adaptive / 1024)} MB`);
  rmSync(out, { recursive: true, force: true });
}

/** What the sections need on disk, made once by the orchestrating process (npm runs on its own Node, not on a line measured). */
function prepareFixtures() {
  const workloads = runs('tsc') || runs('prettier');
  if (workloads || runs('instrumenter') || runs('disk')) npmInstall(TSC_PROJECT);
  if (runs('disk') && !workloads) generate(TSC_PROJECT);
  if (!workloads) return;
  npmInstall(PRETTIER_PROJECT);
  generate(TSC_PROJECT);
  generate(PRETTIER_PROJECT);
  istanbulCopies();
}

// ---- 2. hot path --------------------------------------------------------------------------

async function benchHotPath() {
  process.stderr.write('probe hot path\n');
  const { createControl } = await import(join(ROOT, 'dist/src/runtime/control.js'));
  const { Recorder } = await import(join(ROOT, 'dist/src/runtime/recorder.js'));
  const control = await import(join(ROOT, 'dist/src/runtime/control.js'));
  const dir = mkdtempSync(join(tmpdir(), 'recall-bench-hot-'));
  const RING = 1 << 16;
  const N = 20_000_000;
  const sab = createControl(1, RING);
  const ctl = new Int32Array(sab);
  const tailIndex = control.slotBase(0) + control.S_TAIL;
  const measure = (timing) => {
    const recorder = new Recorder({ sab, functionsFile: join(dir, `functions-${timing}.jsonl`), timing });
    globalThis.__recall = recorder;
    const base = recorder.m('/bench/hot.js', 1, '[["f",1,1,"function"]]');
    const run = () => {
      const start = performance.now();
      for (let i = 0; i < N; i += 2) {
        const t = recorder.en(base);
        recorder.ex(base, 0, t);
        // Play the consumer: keep the ring empty so only the producer is measured.
        if ((i & 0x3fff) === 0) Atomics.store(ctl, tailIndex, Atomics.load(ctl, control.slotBase(0) + control.S_HEAD));
      }
      return ((performance.now() - start) * 1e6) / N;
    };
    run();
    const ns = median([run(), run(), run()]);
    recorder.close();
    // free the slot again for the next measurement
    ctl[control.slotBase(0) + control.S_STATE] = control.SLOT_FREE;
    ctl[control.slotBase(0) + control.S_HEAD] = 0;
    ctl[tailIndex] = 0;
    return ns;
  };
  // The bare loop: the same stores into a power-of-two ring, no probe, no clock.
  const bare = () => {
    const u32 = new Uint32Array(RING * 4);
    const f64 = new Float64Array(u32.buffer);
    const mask = RING - 1;
    let h = 0;
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      const at = (h & mask) * 4;
      u32[at] = 0x10000001;
      u32[at + 1] = 0;
      f64[(at >> 1) + 1] = i;
      h++;
    }
    const ns = ((performance.now() - start) * 1e6) / N;
    if (u32[0] === 42) console.log('unreachable');
    return ns;
  };
  bare();
  const bareNs = median([bare(), bare(), bare()]);
  const clock = () => {
    let x = 0;
    const start = performance.now();
    for (let i = 0; i < N / 4; i++) x += performance.now();
    const ns = ((performance.now() - start) * 1e6) / (N / 4);
    if (x === 42) console.log('unreachable');
    return ns;
  };
  clock();
  const clockNs = median([clock(), clock(), clock()]);
  const untimed = measure('none');
  const timedNs = measure('exact');
  row('bare typed-array store loop, per event', `${fmt(bareNs)} ns`);
  row('probe per event, untimed (adaptive-demoted / none)', `${fmt(untimed)} ns = ${fmt(untimed / bareNs, 1)}× bare`, '≤ 3× bare', untimed / bareNs <= 3 ? 'met' : 'MISSED');
  row('probe per event, timestamped (exact)', `${fmt(timedNs)} ns = ${fmt(timedNs / bareNs, 1)}× bare`);
  row('performance.now() per read', `${fmt(clockNs)} ns`);
  rmSync(dir, { recursive: true, force: true });
}

// ---- 3. drain throughput ------------------------------------------------------------------

function benchDrain() {
  process.stderr.write('drain throughput, 2 producer threads\n');
  const dir = mkdtempSync(join(tmpdir(), 'recall-bench-drain-'));
  const CALLS = quick ? 5_000_000 : 15_000_000;
  // Each worker makes CALLS calls of a tiny function (2 events each), flat out or paced to
  // `perSecond` events: batches of 5000 calls, sleeping (Atomics.wait) while ahead of schedule.
  const program = (perSecond) => {
    const file = join(dir, `producers-${perSecond}.mjs`);
    writeFileSync(
      file,
      `import { Worker, isMainThread } from 'node:worker_threads';
function tiny(i) { return i & 1; }
if (isMainThread) { for (let k = 0; k < 2; k++) new Worker(new URL(import.meta.url)); }
else {
  const pace = ${perSecond}, sleeper = new Int32Array(new SharedArrayBuffer(4)), start = performance.now();
  let s = 0;
  for (let i = 0; i < ${CALLS}; i++) {
    s += tiny(i);
    if (pace > 0 && i % 5000 === 4999) { const ahead = ((i + 1) * 2 * 1000) / pace - (performance.now() - start); if (ahead > 0) Atomics.wait(sleeper, 0, 0, ahead); }
  }
  if (s < 0) console.log(s);
  console.log('span', performance.timeOrigin + start, performance.timeOrigin + performance.now());
}
`,
    );
    return file;
  };
  const measure = (perSecond) => {
    const out = join(dir, `trace-${perSecond}`);
    const r = recall(['run', '--quiet', '--timing', 'none', '--out', out, '--', process.execPath, program(perSecond)], { cwd: dir });
    if (r.status !== 0) throw new Error(`drain bench failed: ${r.stderr}`);
    traceDrops(out); // checks that the producers ran on the line measured
    const summary = JSON.parse(recall(['summary', out, '--format', 'json']).stdout);
    const workers = summary.threads.filter((t) => t.id !== 0);
    const events = workers.reduce((sum, t) => sum + t.events, 0);
    const dropped = workers.reduce((sum, t) => sum + t.dropped, 0);
    // With --timing none the events carry no time: rates are over the time the workers were
    // making calls, as they report it (first start to last end, epoch ms).
    const spans = r.stdout.split('\n').filter((line) => line.startsWith('span ')).map((line) => line.split(' ').slice(1).map(Number));
    if (spans.length !== 2) throw new Error(`drain bench: expected 2 worker spans, got ${JSON.stringify(r.stdout.slice(0, 200))}`);
    const seconds = (Math.max(...spans.map((x) => x[1])) - Math.min(...spans.map((x) => x[0]))) / 1000;
    return { events, dropped, produced: events + dropped, seconds };
  };
  const full = measure(0);
  row(
    'drain, 2 producers flat out (a tiny call in a loop)',
    `${fmt(full.produced / full.seconds / 1e6, 1)} M events/s produced, ${fmt(full.events / full.seconds / 1e6, 1)} M/s written, ${fmtCount(full.dropped)} dropped of ${fmtCount(full.produced)} (1 run)`,
  );
  // Paced a little above the bar: sleeping in 5000-call batches lands slightly under the target.
  const paced = measure(22_000_000 / 2);
  row(
    'drain, 2 producers paced to 22 M events/s together',
    `${fmt(paced.events / paced.seconds / 1e6, 1)} M events/s written, ${fmtCount(paced.dropped)} dropped of ${fmtCount(paced.produced)} (1 run)`,
    '≥ 20 M/s, 0 drops',
    paced.dropped === 0 && paced.events / paced.seconds >= 20e6 ? 'met' : 'MISSED',
  );
  rmSync(dir, { recursive: true, force: true });
}

// ---- 4. summary on a large trace ------------------------------------------------------------

/** Write the summary section's trace into `dir`: 2 thread files of fixed-shape call trees. */
async function generateSummaryTrace(dir, threads, recordsPerThread) {
  const { encodeChunkHeader, encodeFileHeader } = await import(join(ROOT, 'dist/src/format/chunk.js'));
  const layout = await import(join(ROOT, 'dist/src/format/layout.js'));
  const CHUNK = 1 << 16;
  const payload = new Uint8Array(CHUNK * layout.RECORD_BYTES);
  const u32 = new Uint32Array(payload.buffer);
  const f64 = new Float64Array(payload.buffer);
  const header = new Uint8Array(layout.CHUNK_HEADER_BYTES);
  const functions = [];
  for (let id = 1; id <= 64; id++) functions.push({ id, name: `fn${id}`, file: '/bench/generated.js', line: id, column: 1, kind: 'function' });
  const manifestThreads = [];
  let t = 0;
  for (let thread = 0; thread < threads; thread++) {
    const file = `p1-t${thread}.idx`;
    const fd = openSync(join(dir, file), 'w');
    writeSync(fd, encodeFileHeader({ formatVersion: 1, lane: 'index', pid: 1, threadId: thread, slot: thread, name: `t${thread}`, timeOriginMs: 0 }, layout.LANE_INDEX));
    // A call tree 8 deep: enter 1..8, exit 8..1, repeated, functions varying by round.
    let depth = 0;
    let round = 0;
    let bytes = 0;
    for (let chunk = 0; chunk < recordsPerThread / CHUNK; chunk++) {
      for (let r = 0; r < CHUNK; r++) {
        const entering = depth < 8 && (round & 1) === 0;
        const fn = 1 + ((depth + round * 3) & 63);
        u32[r * 4] = ((entering ? layout.EV_ENTER : layout.EV_EXIT) << layout.KIND_SHIFT) | (entering ? fn : 1 + ((depth - 1 + (round - 1) * 3) & 63));
        u32[r * 4 + 1] = 0;
        f64[r * 2 + 1] = t;
        t += 0.0001;
        if (entering) {
          depth++;
          if (depth === 8) round++;
        } else {
          depth--;
          if (depth === 0) round++;
        }
      }
      encodeChunkHeader(header, layout.LANE_INDEX, chunk, CHUNK, payload, f64[1], f64[(CHUNK - 1) * 2 + 1], 0);
      writeSync(fd, header);
      writeSync(fd, payload);
      bytes += header.byteLength + payload.byteLength;
    }
    closeSync(fd);
    manifestThreads.push({ id: thread, name: `t${thread}`, slot: thread, file, timeOriginMs: 0, produced: recordsPerThread, written: recordsPerThread, dropped: 0, bytes, chunks: recordsPerThread / CHUNK, closed: true });
  }
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      format: 'recall-trace',
      formatVersion: 1,
      recallVersion: 'bench',
      status: 'complete',
      command: ['generated'],
      cwd: dir,
      pid: 1,
      nodeVersion: process.version,
      startedAt: new Date().toISOString(),
      startEpochMs: 0,
      endEpochMs: 1,
      clock: { source: 'performance.now', mode: 'exact', resolutionNs: 0, readCostNs: 0, precision: 'generated' },
      options: { ringRecords: 0, threadSlots: 2, include: [], exclude: [], nodeModules: false, durationSeconds: null },
      threads: manifestThreads,
      threadsUntraced: 0,
      functionsFile: 'functions.jsonl',
      functions,
      totals: { produced: 0, written: 0, dropped: 0, bytes: 0, chunks: 0 },
      shutdown: { reason: 'exit', exitCode: 0 },
      notes: [],
    }),
  );
}

async function benchSummary() {
  process.stderr.write(`recall summary on a generated ${TRACE_BYTES >> 20} MiB trace\n`);
  const layout = await import(join(ROOT, 'dist/src/format/layout.js'));
  const CHUNK = 1 << 16;
  const threads = 2;
  const recordsPerThread = Math.floor(TRACE_BYTES / threads / layout.RECORD_BYTES / CHUNK) * CHUNK;
  const dir = SUMMARY_TRACE ?? mkdtempSync(join(tmpdir(), 'recall-bench-summary-'));
  if (SUMMARY_TRACE === null || !existsSync(join(dir, 'manifest.json'))) {
    mkdirSync(dir, { recursive: true });
    await generateSummaryTrace(dir, threads, recordsPerThread);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.idx')).map((f) => join(dir, f));
  const totalBytes = files.reduce((sum, f) => sum + readFileSync(f).byteLength, 0);
  const cat = () => timed('sh', ['-c', `cat ${files.join(' ')} > /dev/null`]).ms;
  const summary = () => {
    const r = recall(['summary', dir, '--format', 'json', '--top', '5']);
    if (r.status !== 0) throw new Error(`summary failed: ${r.stderr}`);
    return r.ms;
  };
  cat();
  summary();
  const catMs = median([cat(), cat(), cat()]);
  const summaryMs = median([summary(), summary(), summary()]);
  const gib = totalBytes / (1 << 30);
  row(
    `recall summary on ${fmt(gib)} GiB (${((threads * recordsPerThread) / 1e6).toFixed(0)} M events)`,
    `${fmt(summaryMs / 1000)} s = ${fmt(gib / (summaryMs / 1000))} GiB/s; ${fmt(summaryMs / catMs, 1)}× reading the files to /dev/null (${fmt(catMs / 1000)} s)`,
    '≤ 0.5 s/GiB and ≤ 3× /dev/null',
    summaryMs / 1000 / gib <= 0.5 && summaryMs / catMs <= 3 ? 'met' : 'MISSED',
  );
  if (SUMMARY_TRACE === null) rmSync(dir, { recursive: true, force: true });
}

// ---- 5. instrumenter ------------------------------------------------------------------------

async function benchInstrumenter() {
  process.stderr.write('instrumenter\n');
  const { instrumentSource } = await import(join(ROOT, 'dist/src/instrument/transform.js'));
  const file = join(TSC_PROJECT, 'node_modules', 'typescript', 'lib', 'typescript.js');
  const source = readFileSync(file, 'utf8');
  // As the loader does with its cache (the default): a module this large gets its source map
  // out of line (mapKey); and with the map inline, as with --no-cache.
  const once = (mapKey) => {
    const start = performance.now();
    instrumentSource(source, { filename: file, format: 'commonjs', typescript: false, ...(mapKey ? { mapKey } : {}) });
    return performance.now() - start;
  };
  once('bench');
  const ms = median([once('bench'), once('bench'), once('bench')]);
  const inlineMs = median([once(null), once(null), once(null)]);
  const mb = Buffer.byteLength(source) / 1e6;
  row(`instrument typescript.js (${fmt(mb, 1)} MB), in process, as the loader does (map out of line)`, `${fmt(mb / (ms / 1000), 1)} MB/s`, '≥ 20 MB/s', mb / (ms / 1000) >= 20 ? 'met' : 'MISSED');
  row(`instrument typescript.js, map inline (--no-cache)`, `${fmt(mb / (inlineMs / 1000), 1)} MB/s`, '', '');

  const dir = mkdtempSync(join(tmpdir(), 'recall-bench-start-'));
  const hello = join(dir, 'hello.js');
  // Its first line reports when it ran, in ms since its process began: the child's share of start-up.
  writeFileSync(hello, "const firstLineMs = performance.now();\nfunction greet(name) { return 'hello ' + name; }\nconsole.log(greet('bench'), firstLineMs);\n");
  const env = { ...process.env, RECALL_CACHE_DIR: join(dir, 'cache') };
  const firstLine = (result) => Number(result.stdout.trim().split(' ').pop());
  const untraced = () => timed(process.execPath, [hello]);
  const trace = join(dir, 'trace');
  const traced = () => {
    const r = recall(['run', '--quiet', '--out', trace, '--', process.execPath, hello], { env });
    if (r.status !== 0) throw new Error(`start-up: traced hello.js exited ${r.status}: ${r.stderr.slice(0, 500)}`);
    return r;
  };
  traced();
  const warmupDrops = traceDrops(trace);
  const u = [];
  const w = [];
  const uFirst = [];
  const wFirst = [];
  const drops = [];
  for (let i = 0; i < ROUNDS; i++) {
    const plain = untraced();
    const recorded = traced();
    drops.push(traceDrops(trace));
    u.push(plain.ms);
    w.push(recorded.ms);
    uFirst.push(firstLine(plain));
    wFirst.push(firstLine(recorded));
  }
  const added = median(w) - median(u);
  row(
    'start-up, tiny program, warm cache: traced vs untraced',
    `${fmt(median(w), 0)} ms vs ${fmt(median(u), 0)} ms (+${fmt(added, 0)} ms), ${dropsText(drops, warmupDrops)}`,
    '≤ untraced + 150 ms, 0 dropped',
    verdict(added <= 150, warmupDrops > 0 || drops.some((d) => d > 0)),
  );
  row('  of which: the program\'s first line, ms after its process began (traced: the child)', `${fmt(median(wFirst), 0)} ms vs ${fmt(median(uFirst), 0)} ms (+${fmt(median(wFirst) - median(uFirst), 0)} ms)`, '', '');
  rmSync(dir, { recursive: true, force: true });
}

// ---- the query tools on the tsc trace (issue 12) ---------------------------------------------

async function benchQuery() {
  const { SERVER_NODE_FLAGS } = await import('../dist/src/mcp/flags.js');
  process.stderr.write('query tools on the tsc trace\n');
  const dir = mkdtempSync(join(tmpdir(), 'recall-bench-query-'));
  try {
    const trace = join(dir, 'trace');
    const workload = WORKLOADS.tsc;
    const recorded = recall(['run', '--quiet', '--node-modules', '--out', trace, '--', process.execPath, workload.script, ...workload.args], { cwd: workload.project, stdio: ['ignore', 'ignore', 'pipe'] });
    if (recorded.status !== 0) throw new Error(`recording tsc for the query bench failed (exit ${recorded.status}): ${recorded.stderr}`);
    const events = JSON.parse(readFileSync(join(trace, 'manifest.json'), 'utf8')).totals.written;
    const tools = (extra) => {
      // With the Node flags recall mcp gives its server.
      const ran = timed(process.execPath, [...SERVER_NODE_FLAGS, join(ROOT, 'bench', 'tools.mjs'), trace, '--json', '--samples', quick ? '20' : '40', ...extra]);
      if (ran.status !== 0) throw new Error(`bench/tools.mjs failed (exit ${ran.status}): ${ran.stderr}`);
      return JSON.parse(ran.stdout.trim().split('\n').pop());
    };
    // The index built by `recall index` alone (its time and peak); then a server's first
    // answer on the unindexed trace (it builds the index in a child process, as recall mcp
    // does); then a server on the indexed trace asks every tool.
    const index = recall(['index', trace, '--rebuild']);
    if (index.status !== 0) throw new Error(`recall index failed (exit ${index.status}): ${index.stderr}`);
    const building = tools(['--samples', '1', '--child-build']);
    const loaded = tools(['--keep-index']);
    row(`query: index build (recall index) on the tsc trace (${fmtCount(events)} events)`, `${fmt(index.ms / 1000, 1)} s, peak RSS ${fmt(index.rssKB / 1024, 0)} MiB`, '', '');
    row('query: first answer, the index built then (in a child process)', `${fmt(building.firstMs / 1000, 1)} s, server peak RSS ${fmt(building.peakMiB, 0)} MiB`, '≤ 10 s', verdict(building.firstMs <= 10000, false));
    const slowest = Object.entries(loaded.tools).sort((a, b) => b[1].p95 - a[1].p95);
    const each = slowest.map(([name, t]) => `${name} ${fmt(t.p95, 0)}`).join(', ');
    row('query: p95 per tool, index built (ms)', each, '≤ 100 ms each', verdict(slowest.every(([, t]) => t.p95 <= 100), false));
    const views = Object.entries(loaded.views ?? {}).map(([name, t]) => `${name} ${fmt(t.p95, 0)}`).join(', ');
    row('query: p95 per CLI view in-process, index built (ms)', views, '≤ 100 ms each', verdict(Object.values(loaded.views ?? {}).every((t) => t.p95 <= 100), false));
    // The same as processes: Node's start, opening the trace (reading its index: the machine's
    // memory bandwidth bounds it) and the answer; medians of 3.
    for (const view of [['tree'], ['tree', '--depth', '3'], ['stack', '--at', 'e20000000'], ['exceptions'], ['events']]) {
      const walls = [0, 1, 2].map(() => recall([view[0], trace, ...view.slice(1)], { stdio: ['ignore', 'ignore', 'pipe'] }).ms).sort((a, b) => a - b);
      row(`query: recall ${view.join(' ')} as a process (median of 3)`, `${fmt(walls[1], 0)} ms`, '', '');
    }
    // recall view on the same trace (index built), in headless Debian chromium (issue 14).
    if (existsSync('/usr/bin/chromium')) {
      const viewed = timed(process.execPath, [join(ROOT, 'bench', 'viewer.mjs'), trace, '--json', '--steps', quick ? '10' : '20']);
      if (viewed.status !== 0) throw new Error(`bench/viewer.mjs failed (exit ${viewed.status}): ${viewed.stderr}`);
      const v = JSON.parse(viewed.stdout.trim().split('\n').pop());
      row('view: served (index built) / page ready', `${fmt(v.servedMs / 1000, 1)} s / ${fmt(v.readyMs / 1000, 2)} s`, '≤ 15 s / ≤ 3 s', verdict(v.servedMs <= 15000 && v.readyMs <= 3000, false));
      row(`view: ${v.steps} zooms and pans, drawn after the server's answer (p95; the answer's p95)`, `${fmt(v.drawP95, 0)} ms (${fmt(v.answerP95, 0)} ms)`, '≤ 100 ms', verdict(v.drawP95 <= 100, false));
      row("view: the tab's memory: its renderer process resident (proportional); the page's JS heap", `${fmt(v.tabRssMiB, 0)} MiB (${fmt(v.tabPssMiB, 0)} MiB); ${fmt(v.heapMiB, 0)} MiB`, '< 300 MB', verdict(v.tabRssMiB > 0 && v.tabRssMiB * 1.048576 < 300, false));
    } else {
      row('view: recall view in headless chromium', 'not measured: /usr/bin/chromium is missing (apt-get install chromium)', '', '');
    }
    const serverPeak = Math.max(building.peakMiB, loaded.peakMiB);
    row('query: peak RSS of the server (building in a child, then every tool)', `${fmt(building.peakMiB, 0)} / ${fmt(loaded.peakMiB, 0)} MiB`, '< 300 MB', verdict(serverPeak * 1.048576 < 300, false));
    // Exports of the same trace (streamed to a pipe this process discards): events per second.
    for (const format of ['perfetto', 'speedscope', 'chrome']) {
      const exported = recall(['export', trace, '--format', format, '--out', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (exported.status !== 0) throw new Error(`recall export --format ${format} failed (exit ${exported.status}): ${exported.stderr}`);
      const match = /([\d,]+) events from .*\(([\d.]+ [KMG]?i?B)/.exec(exported.stderr);
      const count = match ? Number(match[1].replace(/,/g, '')) : 0;
      row(`export: ${format} of the tsc trace`, `${fmt(exported.ms / 1000, 1)} s, ${fmtCount(count / (exported.ms / 1000))} events/s, ${match?.[2] ?? '?'}, peak RSS ${fmt(exported.rssKB / 1024, 0)} MiB`, '', '');
    }
    const parquet = recall(['export', trace, '--format', 'parquet', '--out', join(dir, 'parquet')], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (parquet.status !== 0) throw new Error(`recall export --format parquet failed (exit ${parquet.status}): ${parquet.stderr}`);
    const parquetBytes = readdirSync(join(dir, 'parquet')).reduce((n, f) => n + statSync(join(dir, 'parquet', f)).size, 0);
    row('export: parquet of the tsc trace', `${fmt(parquet.ms / 1000, 1)} s, ${fmtCount(events / 2 / (parquet.ms / 1000))} calls/s, ${fmt(parquetBytes / 2 ** 20, 0)} MiB, peak RSS ${fmt(parquet.rssKB / 1024, 0)} MiB`, '', '');
    // OTLP (its request bodies to the pipe): spans are async calls and calls of 1 ms or more, so
    // events/s here is the trace's events over the time to find and write them.
    {
      const exported = recall(['export', trace, '--format', 'otlp', '--out', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (exported.status !== 0) throw new Error(`recall export --format otlp failed (exit ${exported.status}): ${exported.stderr}`);
      const match = /([\d,]+) spans .*\(([\d.]+ [KMG]?i?B)/.exec(exported.stderr);
      row('export: otlp of the tsc trace (default --min-duration 1ms)', `${fmt(exported.ms / 1000, 1)} s, ${fmtCount(events / (exported.ms / 1000))} events/s, ${match?.[1] ?? '?'} spans, ${match?.[2] ?? '?'}, peak RSS ${fmt(exported.rssKB / 1024, 0)} MiB`, '', '');
    }
    const over = building.overBudget + loaded.overBudget;
    row('query: answers over their token budget', `${over} of ${building.answers + loaded.answers}`, '0', verdict(over === 0, false));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 8. bytes on disk and the drain's CPU (issue 15 part 4) ----------------------------------

/** Bytes of the files in `dir` whose names pass `keep`. */
function dirBytes(dir, keep = () => true) {
  return readdirSync(dir).filter(keep).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

async function benchDisk() {
  process.stderr.write('the tsc trace on disk: compressed chunks (this line\'s codec) against plain ones (RECALL_CODEC=none, as format 1 stored them)\n');
  const out = mkdtempSync(join(tmpdir(), 'recall-bench-disk-'));
  const env = { ...process.env, RECALL_CACHE_DIR: join(out, 'cache') };
  const program = [WORKLOADS.tsc.script, ...WORKLOADS.tsc.args];
  const options = { cwd: TSC_PROJECT, stdio: ['ignore', 'ignore', 'pipe'] };
  const kinds = { compressed: {}, plain: { RECALL_CODEC: 'none' } };
  const results = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  const trace = (kind) => join(out, `trace-${kind}`);
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [kind, extra] of Object.entries(kinds)) {
        rmSync(trace(kind), { recursive: true, force: true });
        const r = recall(['run', '--quiet', '--node-modules', '--out', trace(kind), '--', process.execPath, ...program], { ...options, env: { ...env, ...extra } });
        if (r.status !== 0) throw new Error(`tsc (${kind}) exited ${r.status}: ${r.stderr.slice(0, 500)}`);
        const dropped = traceDrops(trace(kind));
        if (round === 0) continue; // the transform cache's warm-up
        const manifest = JSON.parse(readFileSync(join(trace(kind), 'manifest.json'), 'utf8'));
        const events = manifest.totals.written;
        results[kind].push({
          events,
          dropped,
          codec: manifest.writer?.codec ?? '?',
          idx: dirBytes(trace(kind), (f) => f.endsWith('.idx')) / events,
          all: dirBytes(trace(kind)) / events,
          drainNs: typeof manifest.writer?.cpuMs === 'number' ? (manifest.writer.cpuMs * 1e6) / events : null,
        });
      }
    }
    const med = (kind, key) => median(results[kind].map((r) => r[key]));
    const drops = (kind) => dropsText(results[kind].map((r) => r.dropped));
    const codec = results.compressed[0].codec;
    const perEvent = med('compressed', 'idx');
    row(
      `tsc trace on disk, bytes per event (${codec}; index lane, whole directory)`,
      `${fmt(perEvent, 3)} B (${fmt(med('compressed', 'all'), 3)} B) against ${fmt(med('plain', 'idx'), 1)} B plain, ${fmtCount(med('compressed', 'events'))} events; ${drops('compressed')}`,
      '≤ 4 B, 0 dropped',
      verdict(perEvent <= 4, results.compressed.some((r) => r.dropped > 0)),
    );
    const drain = (kind) => (results[kind].some((r) => r.drainNs === null) ? null : med(kind, 'drainNs'));
    row(
      `tsc trace: the drain's CPU per event, ${codec} / plain`,
      drain('compressed') === null ? 'not measurable on this line (no process.threadCpuUsage)' : `${fmt(drain('compressed'), 1)} ns / ${fmt(drain('plain'), 1)} ns (median of ${results.compressed.length}); plain: ${drops('plain')}`,
    );
    // recall summary of each, alternating; then the decoding alone, in this process.
    const summaryMs = { compressed: [], plain: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of Object.keys(kinds)) {
        const r = recall(['summary', trace(kind), '--format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (r.status !== 0) throw new Error(`recall summary (${kind}) failed: ${r.stderr}`);
        summaryMs[kind].push(r.ms);
      }
    }
    const summary = median(summaryMs.compressed) / 1000;
    row(`tsc trace: recall summary, ${codec} / plain`, `${fmt(summary)} s / ${fmt(median(summaryMs.plain) / 1000)} s`, '≤ 1 s', verdict(summary <= 1, false));
    const { scanThreadFile } = await import(join(ROOT, 'dist/src/format/chunk.js'));
    const { visitChunkRecords } = await import(join(ROOT, 'dist/src/format/codec.js'));
    const files = readdirSync(trace('compressed')).filter((f) => f.endsWith('.idx'));
    const rates = [];
    for (let round = 0; round < ROUNDS; round++) {
      let plainBytes = 0;
      const start = performance.now();
      for (const file of files) {
        const buffer = readFileSync(join(trace('compressed'), file));
        const bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
        visitChunkRecords(bytes, scanThreadFile(bytes), (_u32, _f64, _word, count) => (plainBytes += count * 16));
      }
      rates.push(plainBytes / ((performance.now() - start) / 1000) / 2 ** 30);
    }
    const rate = median(rates);
    row(`tsc trace: read, verified and decoded (uncompressed-equivalent)`, `${fmt(rate)} GiB/s`, '≥ 1 GiB/s', verdict(rate >= 1, false));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// ---- one line: every section on this process's Node ----------------------------------------

async function measureLine() {
  const major = process.versions.node.split('.')[0];
  if (major !== AS_LINE) throw new Error(`--as-line ${AS_LINE}, but this is Node ${process.version}`);
  const started = Date.now();
  if (runs('hot')) await benchHotPath();
  if (runs('drain')) benchDrain();
  if (runs('summary')) await benchSummary();
  if (runs('instrumenter')) await benchInstrumenter();
  for (const name of ['tsc', 'prettier'].filter(runs)) benchWorkload(WORKLOADS[name]);
  if (runs('query')) await benchQuery();
  if (runs('disk')) await benchDisk();
  writeFileSync(ROWS_OUT, JSON.stringify({ line: AS_LINE, version: process.version, rounds: ROUNDS, seconds: (Date.now() - started) / 1000, rows }));
}

// ---- report: the lines one after the other, one column each ----------------------------------

/** The `node` of a Node line: the running one if it is that line, else fetched once into the cache. */
function nodeOf(line) {
  if (process.versions.node.split('.')[0] === line) return process.execPath;
  const fetched = spawnSync(process.execPath, [join(ROOT, 'scripts', 'node-lines.mjs'), line], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const bin = fetched.stdout?.trim().split('\n').pop();
  if (fetched.status !== 0 || !bin || !existsSync(bin)) throw new Error(`could not fetch Node ${line} (scripts/node-lines.mjs ${line} exited ${fetched.status})`);
  return bin;
}

async function main() {
  if (!existsSync(CLI)) throw new Error('build first: npm run build');
  const started = Date.now();
  const lines = LINES.map((line, i) => ({ line, bin: nodeOf(line), rounds: i === 0 ? ROUNDS : OTHER_ROUNDS }));
  prepareFixtures();
  // The summary section's trace: generated by the first line, read by every line.
  const summaryTrace = runs('summary') ? (SUMMARY_TRACE ?? mkdtempSync(join(tmpdir(), 'recall-bench-summary-'))) : null;
  const scratch = mkdtempSync(join(tmpdir(), 'recall-bench-lines-'));
  const results = [];
  try {
    for (const { line, bin, rounds } of lines) {
      const rowsOut = join(scratch, `rows-${line}.json`);
      const childArgs = [SELF, '--as-line', line, '--rows-out', rowsOut, '--rounds', String(rounds)];
      if (quick) childArgs.push('--quick');
      if (ONLY !== null) childArgs.push('--only', ONLY);
      if (summaryTrace !== null) childArgs.push('--summary-trace', summaryTrace);
      process.stderr.write(`\n== Node ${line} (${bin}), ${rounds} round${rounds === 1 ? '' : 's'} ==\n`);
      // The line's directory first on PATH: whatever looks up `node` (recall run spawns what it is given) gets this line.
      const env = { ...process.env, PATH: `${dirname(bin)}${delimiter}${process.env.PATH ?? ''}` };
      const child = spawnSync(bin, childArgs, { stdio: ['ignore', 2, 2], env });
      if (child.error) throw child.error;
      if (child.status !== 0) throw new Error(`the Node ${line} run failed (exit ${child.status ?? child.signal})`);
      results.push(JSON.parse(readFileSync(rowsOut, 'utf8')));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (summaryTrace !== null && SUMMARY_TRACE === null) rmSync(summaryTrace, { recursive: true, force: true });
  }

  // One row per measure, in the order measured (a row only some line has goes after the rows before it).
  const order = [];
  for (const result of results) {
    let at = 0;
    for (const r of result.rows) {
      const found = order.indexOf(r.what);
      if (found >= 0) at = found + 1;
      else order.splice(at++, 0, r.what);
    }
  }
  const cell = (result, what) => result.rows.find((r) => r.what === what);
  const primary = results[0];
  const seconds = Math.round((Date.now() - started) / 1000);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const lineText = results
    .map((r, i) => `Node ${r.line}: ${r.version}${i === 0 ? ' (primary: bar and verdict)' : ''}, ${r.rounds} round${r.rounds === 1 ? '' : 's'}, ${Math.round(r.seconds)} s`)
    .join('; ');
  const fewer = results.some((r) => r.rounds < primary.rounds)
    ? ` Fewer rounds on ${results.filter((r) => r.rounds < primary.rounds).map((r) => `Node ${r.line}`).join(', ')} than on Node ${primary.line}, to keep the whole run within ~15 minutes.`
    : '';
  const text = [
    '# recall benchmark results',
    '',
    `Machine: ${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}.`,
    `Run: ${new Date(started).toISOString()}, ${seconds} s in all${quick ? ' (--quick)' : ''}${ONLY !== null ? ` (--only ${ONLY})` : ''}. ${lineText}.`,
    `Medians of runs alternating within each line; the lines one after the other.${fewer}`,
    '',
    `| what | ${results.map((r) => `Node ${r.line}`).join(' | ')} | bar | verdict (Node ${primary.line}) |`,
    `| --- | ${results.map(() => '---').join(' | ')} | --- | --- |`,
    ...order.map((what) => {
      const first = results.map((r) => cell(r, what)).find(Boolean);
      const judged = cell(primary, what) ?? first;
      return `| ${what} | ${results.map((r) => cell(r, what)?.measured ?? '–').join(' | ')} | ${judged.bar ?? ''} | ${cell(primary, what)?.verdict ?? ''} |`;
    }),
    '',
  ].join('\n');
  process.stdout.write(text);
  if (!quick && ONLY === null) writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), text);
}

(AS_LINE !== undefined ? measureLine() : main()).catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
