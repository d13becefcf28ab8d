// The query engine on a big trace (issue 12): index build time, index size / trace size, peak
// RSS, and the latency of stackAt / call / calls / subtree at random positions (p50/p95).
// usage: node bench/query.mjs <trace> [--samples N] [--keep-index]
// Builds the index from scratch (unless --keep-index), then opens the trace again (loading the
// index) and asks each question at N random positions of the largest thread. Prints what it
// measured; run after npm run build.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openQuery } from '../dist/src/query/open.js';
import { mulberry32 } from '../dist/src/format/mulberry32.js';

const args = process.argv.slice(2);
const trace = args[0];
if (!trace) {
  console.error('usage: node bench/query.mjs <trace> [--samples N] [--keep-index]');
  process.exit(2);
}
const samples = Number(args[args.indexOf('--samples') + 1] ?? 50) || 50;
const rebuild = !args.includes('--keep-index');

let peak = 0;
const sample = () => {
  peak = Math.max(peak, process.memoryUsage.rss());
};
const timer = setInterval(sample, 5);
timer.unref();

const bytesOf = (dir) => readdirSync(dir).filter((f) => !f.endsWith('.recall-idx')).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);

// 1. build
let t0 = performance.now();
const built = openQuery(trace, { rebuild });
const buildMs = performance.now() - t0;
sample();
const traceBytes = bytesOf(built.dir);
const indexBytes = statSync(built.index.path).size;
const buildPeak = peak;
built.close();

// 2. load
t0 = performance.now();
const q = openQuery(trace);
const loadMs = performance.now() - t0;
const engine = q.engine;
let thread = 0;
engine.threads.forEach((t, i) => {
  if (t.index.records > engine.threads[thread].index.records) thread = i;
});
const records = engine.threads[thread].index.records;
const next = mulberry32(12);

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
};
const time = (fn) => {
  const start = performance.now();
  const value = fn();
  sample();
  return [performance.now() - start, value];
};

// Random calls: the call open at random positions (the stack's top), so every depth is drawn.
const stackMs = [];
const ids = [];
for (let i = 0; i < samples; i++) {
  const position = Math.floor(next() * records);
  const [ms, answer] = time(() => engine.stackAt(thread, { position }));
  stackMs.push(ms);
  const frames = answer.frames;
  if (frames.length > 0) ids.push(frames[Math.floor(next() * frames.length)].id);
}
const callMs = [];
const subtreeMs = [];
const subtree1Ms = [];
const walkedCall = [];
for (const id of ids) {
  const [ms, answer] = time(() => engine.call(id));
  callMs.push(ms);
  walkedCall.push(answer.walked);
  subtree1Ms.push(time(() => engine.subtree(id, 1))[0]);
  subtreeMs.push(time(() => engine.subtree(id, 3))[0]);
}
// calls(): functions drawn from the index's totals, weighted by nothing (any function), first page of 20, slower than its average.
const fnStats = engine.functionStats(thread).filter((f) => f.calls > 0);
const callsMs = [];
for (let i = 0; i < samples; i++) {
  const f = fnStats[Math.floor(next() * fnStats.length)];
  const filter = { function: f.name, limit: 20 };
  if (i % 2 === 1) filter.slowerThanNs = f.totalNs / f.calls;
  callsMs.push(time(() => engine.calls(filter))[0]);
}
const fmt = (s) => `p50 ${s.p50.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, max ${s.max.toFixed(2)} ms`;
console.log(`trace          ${built.dir}: ${records.toLocaleString()} records on thread ${thread}, ${(traceBytes / 2 ** 20).toFixed(1)} MiB`);
console.log(`index build    ${buildMs.toFixed(0)} ms (${rebuild ? 'rebuilt' : built.index.built ? 'built' : 'loaded'}), peak RSS ${(buildPeak / 2 ** 20).toFixed(0)} MiB`);
console.log(`index size     ${(indexBytes / 2 ** 20).toFixed(2)} MiB = ${((100 * indexBytes) / traceBytes).toFixed(2)}% of the trace`);
console.log(`index load     ${loadMs.toFixed(0)} ms`);
console.log(`stackAt        ${fmt(stats(stackMs))} (${samples} random positions)`);
console.log(`call           ${fmt(stats(callMs))} (${ids.length} calls on those stacks; records walked p50 ${stats(walkedCall).p50}, max ${stats(walkedCall).max})`);
console.log(`subtree d=1    ${fmt(stats(subtree1Ms))}`);
console.log(`subtree d=3    ${fmt(stats(subtreeMs))}`);
console.log(`calls          ${fmt(stats(callsMs))} (${samples} random functions, first 20; half slower than their mean)`);
console.log(`peak RSS       ${(peak / 2 ** 20).toFixed(0)} MiB`);
q.close();
