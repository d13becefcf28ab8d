// Where a traced tsc's time goes, piece by piece (issue 11). The bench's tsc workload
// (bench/fixtures/tsc-project) runs untraced; then with its _tsc.js instrumented by recall's
// transform but loaded with stand-in probes (no recall process, no preload, no drain): probes
// that do nothing; that count events; that store one word per event in a shared ring without
// any check (from a closure, or from an object's fields as a recorder that can swap its ring
// keeps them); that also publish the head every 64 events; and that are also read by a second
// thread as the drain reads (in 16-byte records, or in 4-byte ones: what a compact encoding
// would move); and with exits that record nothing, each enter carrying its depth (what dropping
// untimed calls' exit records would save), or with an untimed call that has nothing inside it
// in one record (the exit rewrites its enter: a leaf record); and those with the reader doing
// the drain's bulk work, whole records copied into chunks that recall's encoder seals (zstd where
// Node has it). Two runs have no probes: untraced tsc with another thread computing on the other
// core (all the time, or half of it), which is what any busy second thread costs the program on
// a 2-core machine. Then under `recall run` itself. The stand-ins separate what the instrumented
// code costs V8 before anything is recorded (the code's shape), and what a store, its
// publication and a reader on the other core add, from the recorder's logic, the drain's own
// work and the fixed cost of a traced process. Both forms of the exit probe are measured: with
// the detail lane's value branch (the default) and without (--no-detail). The runs alternate,
// many times over: a single change to the probe is worth a few percent, and this 2-core VM's
// speed drifts by ±15% within an hour.
//
// usage: node bench/probe-shapes.mjs [--rounds N] [--only drained,sealed-leaf,...]   (after npm run build, with the bench's tsc
// fixture made: node bench/run.mjs --only tsc --lines 24 makes it once). Prints what it measured.
// Internal: node bench/probe-shapes.mjs --child <probes> <instrumented _tsc.js | plain> <tsc args...>

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PROJECT = join(ROOT, 'bench', 'fixtures', 'tsc-project');
const LIB = join(PROJECT, 'node_modules', 'typescript', 'lib');
const SELF = fileURLToPath(import.meta.url);
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const args = process.argv.slice(2);

/** The stand-ins that store into the shared ring and publish its head. */
const RING_KINDS = new Set(['published', 'drained', 'drained-dense', 'drained-enters', 'drained-leaf', 'sealed', 'sealed-enters', 'sealed-leaf']);

if (args[0] === '--child') await child(args[1], args[2]);
else await main();

/** One measured run of tsc in this process, with the stand-in probes named; its main thread's CPU goes to stderr. */
async function child(kind, file) {
  const { noopProbesWith } = await import(join(ROOT, 'dist', 'src', 'runtime', 'noop-probes.js'));
  let next = 0;
  const probes = noopProbesWith((_file, count) => {
    const base = next;
    next += count;
    return base;
  });
  // Every stand-in keeps the no-op table's keys in the same order (one shape for V8).
  const ring = new Uint32Array(new SharedArrayBuffer(16 << 20));
  const state = { h: 0, depth: 0 };
  if (kind === 'count') {
    probes.en = () => (state.h++, -1);
    probes.ex = () => (state.h++, 0);
  } else if (kind === 'store') {
    // One word per event, a 16-byte record stride as the real ring's, no room or timing check.
    probes.en = (id) => {
      const h = state.h;
      ring[(h & 0xfffff) << 2] = id;
      state.h = h + 1;
      return -1;
    };
    probes.ex = (id) => {
      const h = state.h;
      ring[(h & 0xfffff) << 2] = id | 0x80000000;
      state.h = h + 1;
      return 0;
    };
  } else if (RING_KINDS.has(kind)) {
    // One word per event in 16-byte records (dense: 4-byte records), the head published every 64
    // events with Atomics.store as the recorder does; 'drained*' and 'sealed*': a worker thread
    // takes the records as they are published (startReader).
    const shift = kind === 'drained-dense' ? 0 : 2;
    const control = new Int32Array(new SharedArrayBuffer(64));
    if (kind !== 'published') await startReader(ring, control, shift, kind.startsWith('sealed'));
    probes.en = (id) => {
      const h = state.h;
      ring[(h & 0xfffff) << shift] = id;
      state.h = h + 1;
      if ((h & 63) === 63) Atomics.store(control, 0, h + 1);
      return -1;
    };
    probes.ex = (id) => {
      const h = state.h;
      ring[(h & 0xfffff) << shift] = id | 0x80000000;
      state.h = h + 1;
      if ((h & 63) === 63) Atomics.store(control, 0, h + 1);
      return 0;
    };
    if (kind === 'drained-leaf' || kind === 'sealed-leaf') {
      // A leaf call in one record: the enter returns where it wrote, and an exit that finds its
      // enter still the last record rewrites it as a leaf instead of appending (what the recorder
      // would do for untimed calls with nothing under them). The head published is one short of
      // h, so a record the exit may still rewrite is never the reader's.
      probes.en = (id) => {
        const h = state.h;
        ring[(h & 0xfffff) << shift] = id;
        state.h = h + 1;
        if ((h & 63) === 63) Atomics.store(control, 0, h);
        return -2 - h;
      };
      probes.ex = (id, _threw, enteredAt) => {
        const h = state.h;
        if (h + enteredAt === -1) {
          ring[((h - 1) & 0xfffff) << shift] = id | 0x40000000;
          return 0;
        }
        ring[(h & 0xfffff) << shift] = id | 0x80000000;
        state.h = h + 1;
        if ((h & 63) === 63) Atomics.store(control, 0, h);
        return 0;
      };
    }
    if (kind === 'drained-enters' || kind === 'sealed-enters') {
      // Exits that record nothing: each enter carries its depth instead, which gives the call
      // tree exactly (what untimed calls would need); the exit probe keeps the depth.
      probes.en = (id) => {
        const h = state.h;
        ring[(h & 0xfffff) << shift] = id | (state.depth++ << 24);
        state.h = h + 1;
        if ((h & 63) === 63) Atomics.store(control, 0, h + 1);
        return -1;
      };
      probes.ex = () => {
        state.depth--;
        return 0;
      };
    }
  } else if (kind === 'fields') {
    // The same store, with the ring, its head and mask in an object's fields, as a recorder that can swap its ring keeps them.
    class Fields {
      constructor() {
        this.h = 0;
        this.mask = 0xfffff;
        this.u32 = ring;
      }
      en(id) {
        const h = this.h;
        this.u32[(h & this.mask) << 2] = id;
        this.h = h + 1;
        return -1;
      }
      ex(id) {
        const h = this.h;
        this.u32[(h & this.mask) << 2] = id | 0x80000000;
        this.h = h + 1;
        return 0;
      }
    }
    // The other probes as the no-op table's, on the prototype, as the recorder's methods are.
    for (const [name, fn] of Object.entries(probes)) if (name !== 'en' && name !== 'ex') Fields.prototype[name] = fn;
    const fields = new Fields();
    globalThis.__recall = fields;
    Object.defineProperty(state, 'h', { get: () => fields.h });
  } else if (kind === 'spin' || kind === 'spin-half') {
    // No probes at all: the other core kept busy by a thread that computes and touches no shared
    // memory (all the time, or 5 ms of every 10), to see what any busy second thread costs the
    // program on this machine (V8's own helper threads, for GC and compiling, then wait for a core).
    const { Worker } = await import('node:worker_threads');
    const duty = kind === 'spin' ? 'while (true) burn(1e6);' : 'setInterval(() => { const until = Date.now() + 5; while (Date.now() < until) burn(1e4); }, 10);';
    new Worker(`let x = 0; function burn(n) { for (let i = 0; i < n; i++) x = (x * 31 + i) | 0; } ${duty}`, { eval: true }).unref();
  } else if (kind !== 'noop') {
    throw new Error(`unknown stand-in probes: ${kind}`);
  }
  globalThis.__recall ??= probes;
  process.on('exit', () => {
    const cpu = typeof process.threadCpuUsage === 'function' ? process.threadCpuUsage() : process.cpuUsage();
    process.stderr.write(`\nprobe-shapes ${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, events: state.h })}\n`);
  });
  // tsc reads its arguments from process.argv[2...].
  const script = file === 'plain' ? join(LIB, '_tsc.js') : file;
  process.argv.splice(1, 4, script);
  createRequire(import.meta.url)(script);
}

/**
 * A worker thread that takes the ring's records as they are published. `seal` false: it copies
 * each record's head word, nothing more. `seal` true: as the drain moves them, whole 16-byte
 * records into a chunk, and every 64 K records the chunk sealed by recall's own encoder
 * (columns, then zstd where Node has it). It stops when the process exits.
 */
async function startReader(ring, control, shift, seal) {
  // Loaded here: the other stand-ins (and the untraced run) do not load worker_threads.
  const { Worker } = await import('node:worker_threads');
  const codec = seal ? join(ROOT, 'dist', 'src', 'format', 'codec.js') : null;
  const reader = new Worker(
    `const { workerData } = require('node:worker_threads');
     const { control, shift, codec } = workerData;
     const ring = new Uint32Array(workerData.ring.buffer);
     (codec === null ? Promise.resolve(null) : import(codec)).then((encoding) => {
       const encoder = encoding === null ? null : new encoding.ChunkEncoder();
       const CHUNK = 1 << 16;
       const chunk = new Uint32Array(encoder === null ? CHUNK : CHUNK * 4);
       const bytes = new Uint8Array(chunk.buffer);
       let tail = 0; let filled = 0;
       for (;;) {
         const head = Atomics.load(control, 0);
         if (head === tail) { if (Atomics.load(control, 1) === 1) break; Atomics.wait(control, 0, head, 1); continue; }
         if (encoder === null) {
           for (let at = tail; at !== head; at = (at + 1) | 0) chunk[at & 0xffff] = ring[(at & 0xfffff) << shift];
         } else {
           for (let at = tail; at !== head; at = (at + 1) | 0) {
             const from = (at & 0xfffff) << 2; const to = filled << 2;
             chunk[to] = ring[from]; chunk[to + 1] = ring[from + 1]; chunk[to + 2] = ring[from + 2]; chunk[to + 3] = ring[from + 3];
             if (++filled === CHUNK) { encoder.sealIndex(bytes, CHUNK); filled = 0; }
           }
         }
         tail = head;
       }
     });`,
    { eval: true, workerData: { ring, control, shift, codec } },
  );
  process.on('exit', () => Atomics.store(control, 1, 1));
  reader.unref();
}

async function main() {
  const at = args.indexOf('--rounds');
  const rounds = at >= 0 ? Number(args[at + 1]) : 10;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds takes a positive whole number');
  if (!existsSync(join(LIB, '_tsc.js')) || !existsSync(join(PROJECT, 'src'))) {
    throw new Error(`${PROJECT} is not made yet: node bench/run.mjs --only tsc --lines 24 installs and generates it`);
  }
  const { instrumentSource } = await import(join(ROOT, 'dist', 'src', 'instrument', 'transform.js'));
  const source = readFileSync(join(LIB, '_tsc.js'), 'utf8');
  // The copies must sit beside _tsc.js: tsc finds its lib.*.d.ts files next to the running script.
  const forms = { detail: join(LIB, '_tsc.recall-shapes-detail.js'), lean: join(LIB, '_tsc.recall-shapes-lean.js') };
  for (const [form, path] of Object.entries(forms)) {
    // As the loader instruments it (the map out of line: this module is over 1 MiB).
    const result = instrumentSource(source, { filename: join(LIB, '_tsc.js'), format: 'commonjs', typescript: false, detail: form === 'detail', mapKey: 'probe-shapes' });
    writeFileSync(path, result.code);
  }
  const tscArgs = ['-p', PROJECT];
  const cache = mkdtempSync(join(tmpdir(), 'recall-probe-shapes-'));
  const allVariants = [
    ['untraced', ['--child', 'noop', 'plain', ...tscArgs]],
    ['untraced, another thread computing on the other core all the time', ['--child', 'spin', 'plain', ...tscArgs]],
    ['untraced, another thread computing on the other core 5 ms of every 10', ['--child', 'spin-half', 'plain', ...tscArgs]],
    ['no-op probes, detail form', ['--child', 'noop', forms.detail, ...tscArgs]],
    ['no-op probes, --no-detail form', ['--child', 'noop', forms.lean, ...tscArgs]],
    ['a counter per event, --no-detail form', ['--child', 'count', forms.lean, ...tscArgs]],
    ['one store per event, detail form', ['--child', 'store', forms.detail, ...tscArgs]],
    ['one store per event, --no-detail form', ['--child', 'store', forms.lean, ...tscArgs]],
    ['one store per event through an object\'s fields, --no-detail form', ['--child', 'fields', forms.lean, ...tscArgs]],
    ['one store per event, head published every 64, --no-detail form', ['--child', 'published', forms.lean, ...tscArgs]],
    ['the same, read by another thread, --no-detail form', ['--child', 'drained', forms.lean, ...tscArgs]],
    ['the same in 4-byte records, read by another thread, --no-detail form', ['--child', 'drained-dense', forms.lean, ...tscArgs]],
    ['enters only (with their depth; exits record nothing), read by another thread, --no-detail form', ['--child', 'drained-enters', forms.lean, ...tscArgs]],
    ['a leaf call in one record, read by another thread, --no-detail form', ['--child', 'drained-leaf', forms.lean, ...tscArgs]],
    ['enters and exits, sealed into compressed 64 K-record chunks by another thread, --no-detail form', ['--child', 'sealed', forms.lean, ...tscArgs]],
    ['enters only (with their depth), sealed the same way, --no-detail form', ['--child', 'sealed-enters', forms.lean, ...tscArgs]],
    ['a leaf call in one record, sealed the same way, --no-detail form', ['--child', 'sealed-leaf', forms.lean, ...tscArgs]],
    ['recall run --timing none --no-detail', ['recall', '--timing', 'none', '--no-detail']],
    ['recall run --timing none', ['recall', '--timing', 'none']],
    ['recall run (default: adaptive)', ['recall']],
  ];
  // --only a,b: the variants whose stand-in (or recall's flags) name one of these, beside the untraced run.
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1].split(',') : null;
  const variants = only === null ? allVariants : allVariants.filter(([, spec], i) => i === 0 || only.includes(spec[0] === 'recall' ? ['recall', ...spec.slice(1)].join(' ') : spec[1]));
  const results = variants.map(() => ({ wall: [], cpu: [], events: [] }));
  try {
    process.stderr.write(`probe shapes: tsc on ${PROJECT}, ${rounds} rounds of ${variants.length} variants\n`);
    for (let round = 0; round < rounds + 1; round++) {
      for (let v = 0; v < variants.length; v++) {
        const [, spec] = variants[v];
        const command =
          spec[0] === 'recall'
            ? [CLI, 'run', '--quiet', '--node-modules', ...spec.slice(1), '--out', join(cache, 'trace'), '--', process.execPath, join(LIB, 'tsc.js'), ...tscArgs]
            : [SELF, ...spec];
        const start = performance.now();
        const run = spawnSync(process.execPath, command, { cwd: PROJECT, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RECALL_CACHE_DIR: cache } });
        const wall = performance.now() - start;
        if (run.status !== 0) throw new Error(`${variants[v][0]} exited ${run.status}: ${run.stderr.slice(0, 500)}`);
        if (round === 0) continue; // the warm-up: caches and files
        results[v].wall.push(wall);
        const line = /^probe-shapes (.*)$/m.exec(run.stderr);
        if (line) {
          const seen = JSON.parse(line[1]);
          results[v].cpu.push(seen.cpuMs);
          results[v].events.push(seen.events);
        }
      }
    }
  } finally {
    for (const path of Object.values(forms)) rmSync(path, { force: true });
    rmSync(cache, { recursive: true, force: true });
  }
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const fastHalf = (values) => {
    const sorted = [...values].sort((a, b) => a - b).slice(0, Math.ceil(values.length / 2));
    return sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  };
  const base = median(results[0].wall);
  const baseCpu = results[0].cpu.length > 0 ? median(results[0].cpu) : NaN;
  console.log(`Node ${process.version}, ${rounds} alternating rounds after a warm-up. Wall: the whole process (recall run: both processes); CPU: the main thread of tsc (stand-ins only).\n`);
  console.log('| variant | wall, median | wall, mean of the fastest half | / untraced | main thread CPU, median | / untraced | events the stand-in saw |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (let v = 0; v < variants.length; v++) {
    const { wall, cpu, events } = results[v];
    const cpuText = cpu.length > 0 ? `${(median(cpu) / 1000).toFixed(2)} s | ${(median(cpu) / baseCpu).toFixed(2)}×` : '– | –';
    const eventsText = events.some((n) => n > 0) ? `${(median(events) / 1e6).toFixed(1)} M` : '–';
    console.log(`| ${variants[v][0]} | ${(median(wall) / 1000).toFixed(2)} s | ${(fastHalf(wall) / 1000).toFixed(2)} s | ${(median(wall) / base).toFixed(2)}× | ${cpuText} | ${eventsText} |`);
  }
}
