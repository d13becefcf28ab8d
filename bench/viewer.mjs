// recall view on a big trace (issue 14's targets): time from starting `recall view` to its URL
// line (serving: the index, if built, is loaded; a big thread is laid out), to the page's ready
// signal in headless Debian chromium, then per zoom and pan the server's answer and the
// drawing of it (the app's User Timing measures recall:answer and recall:draw), and the page's
// JS heap and the tab's memory (its renderer process: resident, and proportional, which shares
// the browser's libraries out among its processes) at the end. usage: node bench/viewer.mjs <trace> [--steps N] [--json]
// Needs `npm run build` and /usr/bin/chromium. Prints what it measured.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const trace = args[0];
if (!trace || !existsSync('/usr/bin/chromium')) {
  console.error(trace ? 'bench/viewer.mjs needs /usr/bin/chromium (apt-get install chromium)' : 'usage: node bench/viewer.mjs <trace> [--steps N] [--json]');
  process.exit(2);
}
const steps = Number(args[args.indexOf('--steps') + 1] ?? 20) || 20;
/** The renderer processes under a process (this one: it launched the browser), each with its resident and proportional set sizes (bytes). */
function renderers(ancestor) {
  const parentOf = new Map();
  const renderer = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('--type=renderer')) renderer.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  const under = (pid) => {
    for (let p = pid; p > 1; p = parentOf.get(p) ?? 0) if (p === ancestor) return true;
    return false;
  };
  return renderer.filter(under).map((pid) => {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
    return { pid, rss: kb('Rss'), pss: kb('Pss') };
  });
}
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

const t0 = performance.now();
const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'view', trace, '--no-open', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
const url = await new Promise((resolve, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /http\S+/.exec(out);
    if (m) resolve(m[0]);
  });
  child.on('exit', (code) => reject(new Error(`recall view exited (${code})`)));
});
const servedMs = performance.now() - t0;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  const t1 = performance.now();
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', undefined, { timeout: 120_000 });
  const readyMs = performance.now() - t1;
  const count = () => page.evaluate(() => performance.getEntriesByName('recall:draw').length);
  // Zoom in, pan both ways, zoom out: each step redraws every track once its answer is in.
  const keys = ['+', '+', '+', 'ArrowRight', 'ArrowLeft', '+', 'ArrowRight', '-', '-', '-'];
  for (let i = 0; i < steps; i++) {
    const before = await count();
    await page.keyboard.press(keys[i % keys.length]);
    await page.waitForFunction((n) => performance.getEntriesByName('recall:draw').length > n, before, { timeout: 60_000 });
  }
  const read = (name) => page.evaluate((n) => performance.getEntriesByName(n).map((e) => e.duration), name);
  const answers = (await read('recall:answer')).slice(1);
  const draws = (await read('recall:draw')).slice(1);
  const heap = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize : 0));
  // The tab: the largest renderer (a spare one may be waiting beside it).
  const tab = renderers(process.pid).sort((a, b) => b.rss - a.rss)[0] ?? { rss: 0, pss: 0 };
  const report = { servedMs, readyMs, steps, answerP95: pct(answers, 0.95), answerMax: Math.max(...answers), drawP95: pct(draws, 0.95), drawMax: Math.max(...draws), heapMiB: heap / 2 ** 20, tabRssMiB: tab.rss / 2 ** 20, tabPssMiB: tab.pss / 2 ** 20 };
  if (args.includes('--json')) console.log(JSON.stringify(report));
  else {
    console.log(`served (URL printed) in ${(servedMs / 1000).toFixed(2)} s; ready in ${(readyMs / 1000).toFixed(2)} s`);
    console.log(`${steps} zooms and pans: server answer p95 ${report.answerP95.toFixed(0)} ms (max ${report.answerMax.toFixed(0)}), drawing p95 ${report.drawP95.toFixed(1)} ms (max ${report.drawMax.toFixed(1)})`);
    console.log(`page JS heap ${report.heapMiB.toFixed(1)} MiB; the tab's renderer process ${report.tabRssMiB.toFixed(0)} MiB resident (${report.tabPssMiB.toFixed(0)} MiB proportional)`);
  }
} finally {
  await browser.close();
  child.kill();
}
