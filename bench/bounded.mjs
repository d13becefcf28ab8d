// A long-running service recorded as a bounded trace (issue 15's "24-hour service, simulated"):
// test/fixtures/bounded/service.cjs (an HTTP server with a worker thread, under a bounded load
// loop of its own) runs for --seconds (default 60) under `recall run --max-size` (default
// 32MiB). Prints what it measured: the thread files' peak size while recording (sampled every
// 50 ms) against the bound, the service's RSS at 30% of the run and at its end, requests
// served, events produced / kept / discarded / dropped, and how long each view takes on the
// result. Run: node bench/bounded.mjs [--seconds N] [--max-size SIZE] [--node PATH]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
// What --max-size bounds, measured as the bounded tests measure it.
const { threadFileBytes } = await import(join(ROOT, 'dist/src/runtime/bounded.js'));
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
};
const seconds = Number(option('--seconds', '60'));
const maxSize = option('--max-size', '32MiB');
const node = option('--node', process.execPath);

const root = mkdtempSync(join(tmpdir(), 'recall-bounded-'));
const dir = join(root, 'trace');
const rssFile = join(root, 'rss.json');


const started = Date.now();
const child = spawn(node, [CLI, 'run', '--quiet', '--out', dir, '--max-size', maxSize, '--', node, join(ROOT, 'test/fixtures/bounded/service.cjs'), String(seconds * 1000), rssFile], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, threadFileBytes(dir))), 50);
const code = await new Promise((resolve) => child.on('exit', resolve));
clearInterval(sampler);
const ranS = (Date.now() - started) / 1000;
if (code !== 0) throw new Error(`recall run exited ${code}`);

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const rss = JSON.parse(readFileSync(rssFile, 'utf8'));
const MiB = 2 ** 20;
const t = manifest.totals;
console.log(`bounded service: ${seconds} s under recall run --max-size ${maxSize}, Node ${spawnSync(node, ['--version']).stdout.toString().trim()}, ran ${ranS.toFixed(1)} s`);
console.log(`  thread files: peak ${(peak / MiB).toFixed(2)} MiB while recording (bound ${(manifest.options.maxBytes / MiB).toFixed(2)} MiB + one 1 MiB chunk), ${(t.bytes / MiB).toFixed(2)} MiB at the end`);
console.log(`  RSS: ${(rss.early / MiB).toFixed(1)} MiB at 30% of the run, ${(rss.late / MiB).toFixed(1)} MiB at its end; ${rss.requests} requests served`);
console.log(`  events: ${t.produced} produced = ${t.written} kept + ${t.discarded} discarded + ${t.dropped} dropped`);
for (const args of [['summary'], ['info'], ['tree', '--max-lines', '40'], ['exceptions'], ['events'], ['query', dir, 'overview']]) {
  const full = args[0] === 'query' ? args : [args[0], dir, ...args.slice(1)];
  const from = performance.now();
  const result = spawnSync(node, [CLI, ...full], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - from;
  console.log(`  recall ${args[0] === 'query' ? 'query overview' : args.join(' ')}: exit ${result.status}, ${ms.toFixed(0)} ms`);
}
