// The MCP/query tools on a big trace (issue 12 targets): the first answer (which may build the
// index), then each tool's latency over N varied questions (p50/p95, index loaded, in one
// process as the MCP server runs them), every answer's tokens against its budget, peak RSS,
// and the CLI tree view's answers on the same engine.
// usage: node bench/tools.mjs <trace> [--samples N] [--keep-index] [--child-build] [--skip exceptions,events] [--json]
// Run after npm run build. Prints what it measured (--json: one JSON object, for bench/run.mjs).
import { rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TraceStore } from '../dist/src/tools/traces.js';
import { answer, toolNamed } from '../dist/src/tools/registry.js';
import { mulberry32 } from '../dist/src/format/mulberry32.js';

const args = process.argv.slice(2);
const trace = args[0];
if (!trace) {
  console.error('usage: node bench/tools.mjs <trace> [--samples N] [--keep-index] [--skip tool,tool]');
  process.exit(2);
}
const samples = Number(args[args.indexOf('--samples') + 1] ?? 20) || 20;
const json = args.includes('--json');
const log = json ? () => {} : (line) => console.log(line);
const report = { firstMs: 0, firstPeakMiB: 0, records: 0, tools: {}, overBudget: 0, answers: 0, peakMiB: 0 };
const skip = new Set(args.includes('--skip') ? (args[args.indexOf('--skip') + 1] ?? '').split(',') : []);
if (!args.includes('--keep-index')) for (const f of readdirSync(trace)) if (f.endsWith('.recall-idx')) rmSync(join(trace, f));

let peak = 0;
const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()));
setInterval(sample, 5).unref();

// --child-build: index as the MCP server does, in a child process (`recall index`).
const store = new TraceStore('/', { buildInChild: args.includes('--child-build') });
const ask = async (tool, input) => {
  const t0 = performance.now();
  const result = await answer({ store }, toolNamed(tool), { trace, ...input });
  const ms = performance.now() - t0;
  const budget = input.budget ?? 2000;
  report.answers++;
  if (result.structured.tokens > budget) report.overBudget++;
  return { ms, result };
};

const first = await ask('overview', {});
sample();
report.firstMs = first.ms;
report.firstPeakMiB = peak / 2 ** 20;
log(`first answer (overview${args.includes('--keep-index') ? '' : ', building the index'}): ${(first.ms / 1000).toFixed(2)} s, ${first.result.structured.tokens} tokens, peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
const q = store.query(store.resolve(trace));
const random = mulberry32(12);
const threads = q.threads.length;
const biggest = q.threads.reduce((best, t, i) => (q.engine.threads[i].index.records > q.engine.threads[best].index.records ? i : best), 0);
const records = q.engine.threads[biggest].index.records;
const fns = q.engine.functionStats(biggest).filter((f) => f.calls > 0);
const pickFn = () => fns[Math.floor(random() * fns.length)].name;
const someCall = () => q.engine.calls({ function: pickFn(), limit: 1 }).calls[0]?.id;

const questions = {
  overview: () => ({}),
  hotspots: () => ({ by: ['self', 'total', 'calls'][Math.floor(random() * 3)] }),
  find_calls: () => ({ function: pickFn(), budget: 500 + Math.floor(random() * 2000) }),
  call: () => ({ call: someCall() }),
  tree: () => ({ call: someCall(), depth: 3 }),
  stack: () => ({ at: `e${Math.floor(random() * records)}`, thread: biggest }),
  exceptions: () => ({}),
  events: () => ({}),
};
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
report.records = records;
log(`trace: ${trace}, ${threads} threads, biggest ${records.toLocaleString('en-US')} records; ${samples} questions per tool`);
for (const [tool, make] of Object.entries(questions)) {
  if (skip.has(tool)) {
    log(`${tool.padEnd(11)} skipped`);
    continue;
  }
  const times = [];
  let tokens = 0;
  for (let i = 0; i < samples; i++) {
    const { ms, result } = await ask(tool, make());
    times.push(ms);
    tokens = Math.max(tokens, result.structured.tokens);
  }
  report.tools[tool] = { first: times[0], p50: pct(times, 0.5), p95: pct(times, 0.95), maxTokens: tokens };
  sample();
  log(`[rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)}] ${tool.padEnd(11)} first ${times[0].toFixed(0).padStart(6)} ms  p50 ${pct(times, 0.5).toFixed(1).padStart(7)} ms  p95 ${pct(times, 0.95).toFixed(1).padStart(7)} ms  max tokens ${tokens}`);
}
sample();
// The server's peak: the tools only (the views below are not the server's).
report.peakMiB = peak / 2 ** 20;
// The CLI views on the same engine, in this process (what `recall tree` does once the trace is
// open): the default text tree (400 lines), --depth 3, --min-time 1ms.
const { treeText } = await import('../dist/src/cli/tree-text.js');
report.views = {};
for (const [name, maxDepth, minNs] of [['tree', Infinity, 0], ['tree --depth 3', 3, 0], ['tree --min-time 1ms', Infinity, 1e6]]) {
  const times = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const options = { maxDepth, minNs, timed: q.engine.times, limit: 400 };
    const tree = q.engine.callTree(biggest, { maxDepth, enough: (partial) => treeText(q.trace, partial, { ...options, limit: 401, finalOnly: true }).lines.length > 400 });
    treeText(q.trace, tree, options);
    times.push(performance.now() - t0);
  }
  report.views[name] = { first: times[0], p50: pct(times, 0.5), p95: pct(times, 0.95) };
  sample();
  log(`[rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)}] view: ${name.padEnd(20)} first ${times[0].toFixed(0).padStart(6)} ms  p50 ${pct(times, 0.5).toFixed(1).padStart(7)} ms  p95 ${pct(times, 0.95).toFixed(1).padStart(7)} ms`);
}
sample();
report.viewsPeakMiB = peak / 2 ** 20;
{ const m = process.memoryUsage(); log(`end: rss ${(m.rss / 2 ** 20).toFixed(0)} heapTotal ${(m.heapTotal / 2 ** 20).toFixed(0)} heapUsed ${(m.heapUsed / 2 ** 20).toFixed(0)} external ${(m.external / 2 ** 20).toFixed(0)} arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)}`); }
log(`peak RSS ${report.peakMiB.toFixed(0)} MiB (tools), ${(peak / 2 ** 20).toFixed(0)} MiB (with the views); answers over budget: ${report.overBudget} of ${report.answers}`);
if (json) console.log(JSON.stringify(report));
store.close();
