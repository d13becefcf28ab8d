// `recall view` (issue 14) on real recordings: the server (one URL line on stdout, 127.0.0.1,
// 401 without the token, only the app's files and the API), the level-of-detail timeline against
// a walk of the whole thread (windows seeked through small index segments must give the same
// spans), stepping answers against the engine, and the web app in headless Chromium through
// playwright-core (Debian's chromium package; .ci/run installs it): the ready signal, a search
// whose clicked result shows a call's recorded arguments, stepping by keyboard, a #call= deep
// link, and no page errors; a program that spawns a child Node process, shown whole: both
// processes' tracks on one time axis, the child's calls found, stepped through and deep-linked
// (ids qualified by pid). The browser tests skip, saying why, only when no chromium is found.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { openQuery, type QueryTrace } from '../../src/query/open.js';
import { LEVEL_CELLS, prepareTimelines, timeline, TimelineBuilder, type TimelineSpan } from '../../src/viewer/timeline.js';
import { jump, step } from '../../src/viewer/navigation.js';
import { exceptions, hotspots, rangeSummary } from '../../src/viewer/panels.js';
import { search } from '../../src/viewer/search.js';
import { runtimeTracks } from '../../src/viewer/runtime.js';
import { runtimeEvents } from '../../src/analysis/runtime-events.js';
import { mergeByFunction } from '../../src/query/merge.js';
import { argsOf } from '../../src/tools/calls.js';
import { answer, answerReopening } from '../../src/viewer/api.js';
import { ViewerTrace } from '../../src/viewer/viewer-trace.js';
import { CLI, FIXTURES, flipIndexByte, recall, record } from '../helpers.js';

interface Served {
  child: ChildProcess;
  url: string;
  base: string;
  token: string;
  stdout: string[];
  serveMs: number;
}

async function serve(dir: string, extra: string[] = []): Promise<Served> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'view', dir, '--no-open', '--port', '0', ...extra], { cwd: FIXTURES, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DISPLAY: '' } });
  const stdout: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      stdout.push(...lines);
      if (stdout.length > 0) resolve(stdout[0]!);
    });
    child.on('exit', (code) => reject(new Error(`recall view exited (${code}) before printing its URL: ${stderr}`)));
    setTimeout(() => reject(new Error(`recall view printed no URL in 60 s: ${stderr}`)), 60_000).unref();
  });
  const serveMs = performance.now() - started;
  const match = /^http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{64})$/.exec(url);
  assert.ok(match, `one URL line, http://127.0.0.1:PORT/?token=TOKEN, not ${JSON.stringify(url)}`);
  return { child, url, base: `http://127.0.0.1:${match[1]}`, token: match[2]!, stdout, serveMs };
}

async function stop(served: Served): Promise<number | null> {
  if (served.child.exitCode !== null) return served.child.exitCode;
  const exited = new Promise<number | null>((resolve) => served.child.once('exit', (code) => resolve(code)));
  served.child.kill('SIGTERM');
  return exited;
}

/** A raw GET (no URL normalisation: the path goes out as written). */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

let badValue: string;
let shapes: string;
let asyncThrow: string;
let untimed: string;
let messages: string;
let http: string;
/** launch.js spawning child.js (a child Node process that calls work() 1234 times). */
let spawned: string;
let served: Served;

before(async () => {
  const bad = record('bugs/bad-value.js');
  assert.ok(bad.result.status === 0, bad.result.stderr);
  badValue = bad.dir;
  const shaped = record('query/shapes.js');
  assert.equal(shaped.result.status, 0, shaped.result.stderr);
  shapes = shaped.dir;
  const async = record('bugs/async-throw.js');
  assert.equal(async.result.status, 1, async.result.stderr);
  asyncThrow = async.dir;
  const none = record('query/shapes.js', { flags: ['--timing', 'none'] });
  assert.equal(none.result.status, 0, none.result.stderr);
  untimed = none.dir;
  const messaged = record('events/messages.mjs');
  assert.equal(messaged.result.status, 0, messaged.result.stderr);
  messages = messaged.dir;
  const served_ = record('events/http.mjs');
  assert.equal(served_.result.status, 0, served_.result.stderr);
  http = served_.dir;
  const follow = record('follow/launch.js', { args: ['spawn', 'child.js', '1234'] });
  assert.equal(follow.result.status, 0, follow.result.stderr);
  spawned = follow.dir;
  served = await serve(badValue);
});

after(async () => {
  if (served) await stop(served);
});

test('serves on 127.0.0.1, one URL line; without the token 401; only the app and the API', async () => {
  const { base, token } = served;
  assert.equal((await get(base, '/')).status, 401);
  assert.equal((await get(base, '/api/overview')).status, 401);
  assert.equal((await get(base, `/?token=${'0'.repeat(64)}`)).status, 401);
  assert.equal((await get(base, `/api/overview?token=${token.slice(0, 10)}`)).status, 401);
  // Another site's name resolved to 127.0.0.1 (DNS rebinding) is refused even with the token.
  assert.equal((await get(base, `/?token=${token}`, { host: 'evil.example:80' })).status, 401);
  const page = await get(base, `/?token=${token}`);
  assert.equal(page.status, 200);
  assert.match(page.body, /aria-label="Search"/);
  const cookie = String(page.headers['set-cookie']).split(';')[0]!;
  assert.equal(cookie, `recall_token=${token}`);
  assert.match(String(page.headers['set-cookie']), /HttpOnly/);
  // The page's own requests carry the cookie.
  const overview = await get(base, '/api/overview', { cookie });
  assert.equal(overview.status, 200);
  assert.equal((JSON.parse(overview.body) as { threads: unknown[] }).threads.length, 1);
  for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/app/../../manifest.json', '/manifest.json', '/api.js', '/server.js', '//etc/passwd']) {
    const res = await get(base, `${path}?token=${token}`);
    assert.equal(res.status, 404, `${path}: ${res.status}`);
  }
  assert.equal((await get(base, `/main.js?token=${token}`)).status, 200);
  const bad = await get(base, `/api/call?id=nope&token=${token}`);
  assert.equal(bad.status, 400);
  assert.match((JSON.parse(bad.body) as { error: string }).error, /not a call id/);
  assert.equal(served.child.exitCode, null);
  assert.equal(served.stdout.length, 1, 'exactly one line on stdout');
});

test('a bad --port or --host is one line and a non-zero exit', () => {
  for (const args of [['--port', 'x'], ['--host', '0.0.0.0'], ['--bogus']]) {
    const result = spawnSync(process.execPath, [CLI, 'view', badValue, '--no-open', ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(result.status, 0, args.join(' '));
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^recall: .+\n$/, args.join(' '));
  }
  const missing = spawnSync(process.execPath, [CLI, 'view', join(badValue, 'nope'), '--no-open'], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /^recall: .+\n$/);
});

/** The timeline as a walk of the whole thread lays it out (the reference for the seeking walk). */
function wholeWalk(q: QueryTrace, thread: number, fromNs: number, toNs: number, width: number): unknown {
  const builder = new TimelineBuilder(fromNs, toNs, (toNs - fromNs) / width);
  q.engine.walkActivations(thread, builder);
  return builder.finish();
}

test('the level-of-detail timeline: seeking by small index segments gives the spans of a whole walk', () => {
  const small = openQuery(shapes, { segmentRecords: 32, write: false });
  const odd = openQuery(shapes, { segmentRecords: 97, write: false });
  try {
    const ix = small.engine.threads[0]!;
    const first = Math.round((ix.shiftMs + (ix.index.segTime[0] as number)) * 1e6);
    const last = Math.round((ix.shiftMs + ix.index.lastTime) * 1e6);
    const span = last - first;
    let buckets = 0;
    let walkedLess = 0;
    for (const [a, b] of [[0, 1], [0, 0.1], [0.3, 0.35], [0.5, 0.9], [0.95, 1.2], [0.001, 0.002]] as const) {
      const from = Math.round(first + span * a);
      const to = Math.round(first + span * b);
      for (const width of [40, 1200]) {
        const expected = wholeWalk(small, 0, from, to, width);
        for (const q of [small, odd]) {
          const answer = timeline(q, 0, from, to, width);
          assert.deepEqual(answer.spans, expected, `window ${a}-${b} width ${width} segments ${q.engine.segmentRecords}`);
          if (answer.walked < ix.index.records) walkedLess++;
          buckets += answer.spans.filter((s) => s[5] > 1).length;
          // Within a depth, spans and buckets are in order and do not overlap.
          for (let i = 1; i < answer.spans.length; i++) {
            const [p, s] = [answer.spans[i - 1]!, answer.spans[i]!];
            if (p[0] === s[0]) assert.ok(s[1] >= p[2], `overlap at depth ${s[0]}: ${p} / ${s}`);
          }
        }
      }
    }
    assert.ok(buckets > 0, 'narrow calls merged into buckets at some width');
    assert.ok(walkedLess > 0, 'some windows were answered without walking the whole thread');
  } finally {
    small.close();
    odd.close();
  }
});

test('an overview level answers wide windows: the same calls at least a pixel wide, the same calls counted per depth', () => {
  // 2048 cells: one level; LEVEL_CELLS * 16: a fine level and the coarser ones merged from it (a wide window reads the coarsest fine enough).
  for (const cells of [2048, LEVEL_CELLS * 16]) {
    const exact = openQuery(shapes, { segmentRecords: 32, write: false });
    const leveled = openQuery(shapes, { segmentRecords: 32, write: false });
    try {
      assert.deepEqual(prepareTimelines(leveled, { minRecords: 0, windowRecords: 0, cells }), [0]);
      const t = exact.engine.threads[0]!;
      const from = Math.round((t.shiftMs + (t.index.segTime[0] as number)) * 1e6);
      const to = Math.round((t.shiftMs + t.index.lastTime) * 1e6);
      const counts = (spans: TimelineSpan[]): number[] => spans.reduce<number[]>((c, s) => ((c[s[0]] = (c[s[0]] ?? 0) + s[5]), c), []);
      const singles = (spans: TimelineSpan[]): TimelineSpan[] => spans.filter((s) => s[5] === 1 && s[2] - s[1] >= (to - from) / 2048);
      const wide = (spans: TimelineSpan[], a: number, b: number, width: number): TimelineSpan[] => spans.filter((s) => s[5] === 1 && s[2] - s[1] >= (b - a) / width);
      for (const width of [8192, 2048, 300, 37]) {
        const walked = timeline(exact, 0, from, to, width);
        const merged = timeline(leveled, 0, from, to, width);
        assert.equal(walked.lod, 'walk');
        assert.equal(merged.lod, width <= cells ? 'level' : 'walk', `width ${width}, ${cells} cells`);
        if (width === cells) assert.deepEqual(merged.spans, walked.spans);
        assert.deepEqual(counts(merged.spans), counts(walked.spans), `calls per depth at width ${width}, ${cells} cells`);
        assert.deepEqual(wide(merged.spans, from, to, width), wide(walked.spans, from, to, width), `calls a pixel wide at width ${width}, ${cells} cells`);
        assert.ok(singles(walked.spans).length > 0);
      }
      // A window inside: ordered and without overlaps per depth, and the calls a pixel wide in it as a walk has them.
      const [a, b] = [Math.round(from + (to - from) / 3), Math.round(from + (to - from) / 2)];
      const inner = timeline(leveled, 0, a, b, 500);
      for (let i = 1; i < inner.spans.length; i++) {
        const [p, s] = [inner.spans[i - 1]!, inner.spans[i]!];
        if (p[0] === s[0]) assert.ok(s[1] >= p[2], `overlap at depth ${s[0]}`);
      }
      if (inner.lod === 'level') assert.deepEqual(wide(inner.spans, a, b, 500), wide(timeline(exact, 0, a, b, 500).spans, a, b, 500));
    } finally {
      exact.close();
      leveled.close();
    }
  }
});

test('stepping: next and previous calls of the function, parent and first child, as the engine has them', () => {
  const q = openQuery(shapes, { segmentRecords: 32, write: false });
  try {
    const calls = q.engine.calls({ function: 'parse', limit: 1000 }).calls.filter((c) => c.name === 'parse');
    assert.ok(calls.length >= 10);
    for (let i = 0; i < calls.length; i++) {
      assert.deepEqual(step(q, calls[i]!.id, 'next'), { from: calls[i]!.id, to: calls[i + 1]?.id ?? null });
      assert.deepEqual(step(q, calls[i]!.id, 'prev'), { from: calls[i]!.id, to: calls[i - 1]?.id ?? null });
    }
    const parent = (step(q, calls[3]!.id, 'parent') as { to: string }).to;
    assert.equal(q.engine.call(parent).name, 'parseAll');
    assert.equal((step(q, parent, 'child') as { to: string }).to, q.engine.call(parent).children.length > 0 ? calls[0]!.id : null);
    assert.equal((step(q, calls[0]!.id, 'child') as { to: string | null }).to, null);
  } finally {
    q.close();
  }
});


test('side panels: hotspots, exceptions and a range summary as the engine has them', () => {
  const q = openQuery(badValue, { write: false });
  try {
    const engine = q.engine;
    const stats = mergeByFunction(engine.threads.map((_, i) => engine.functionStats(i))).filter((s) => s.calls > 0);
    const hot = hotspots(q);
    assert.equal(hot.by, 'self');
    assert.equal(hot.total, stats.length);
    assert.deepEqual(hot.functions.map((f) => f.name), [...stats].sort((a, b) => b.selfNs - a.selfNs || b.calls - a.calls || a.name.localeCompare(b.name)).map((s) => s.name));
    assert.equal(hot.functions.find((f) => f.name === 'checkQuantity')!.calls, 4);
    // The one exception: thrown by the call of checkQuantity that threw, caught in handleOrder.
    const thrown = engine.calls({ function: 'checkQuantity', threw: true }).calls;
    assert.equal(thrown.length, 1);
    const x = exceptions(q);
    assert.equal(x.total, 1);
    assert.deepEqual(x.partial, []);
    const [only] = x.exceptions;
    assert.equal(only!.call, thrown[0]!.id);
    assert.equal(only!.name, 'checkQuantity');
    assert.equal(only!.error, 'RangeError: quantity must be positive, got -3');
    assert.equal(only!.outcome, 'caught');
    assert.equal(only!.caughtIn, 'handleOrder');
    const call = engine.call(thrown[0]!.id);
    assert.ok(only!.thrownNs! >= call.enterNs && only!.thrownNs! <= call.exitNs!, 'thrown while the throwing call ran');
    // A range: the engine's range walk's numbers, the exception in it or not.
    const t = engine.threads[0]!;
    const first = Math.round((t.shiftMs + (t.index.segTime[0] as number)) * 1e6);
    const last = Math.round((t.shiftMs + t.index.lastTime) * 1e6);
    for (const [from, to] of [[first, last], [first, only!.thrownNs! - 1], [only!.thrownNs! - 1000, last]] as const) {
      const range = rangeSummary(q, from, to) as { calls: number; functions: { name: string; calls: number }[]; exceptions: unknown[] };
      const expected = engine.rangeStats(0, from, to).functions;
      assert.equal(range.calls, expected.reduce((n, f) => n + f.calls, 0));
      assert.equal(range.exceptions.length, only!.thrownNs! >= from && only!.thrownNs! <= to ? 1 : 0, `exceptions in ${from}-${to}`);
      for (const f of range.functions) assert.equal(f.calls, expected.find((e) => e.name === f.name)!.calls);
    }
    assert.throws(() => rangeSummary(q, last, first), /must be after/);
  } finally {
    q.close();
  }
});

test('navigation: first and slowest call of a function, back along the async cause', () => {
  const q = openQuery(shapes, { write: false });
  try {
    const calls = q.engine.calls({ function: 'parse', limit: 10_000 }).calls.filter((c) => c.name === 'parse');
    const fn = calls[0]!.fn;
    assert.deepEqual(jump(q, fn, 'first'), { fn, to: calls[0]!.id });
    const slowest = calls.reduce((a, b) => ((b.durationNs ?? -1) > (a.durationNs ?? -1) ? b : a));
    assert.equal(q.engine.call(jump(q, fn, 'slowest').to!).durationNs, slowest.durationNs);
    assert.throws(() => jump(q, fn, 'sideways'), /first or slowest/);
  } finally {
    q.close();
  }
  const a = openQuery(asyncThrow, { write: false });
  try {
    const loads = a.engine.calls({ function: 'loadUser' }).calls;
    assert.equal(loads.length, 3);
    // The first loadUser runs under greetAll's first run: a synchronous chain, no async cause.
    assert.equal((step(a, loads[0]!.id, 'cause') as { to: string | null }).to, null);
    // The second runs under greetAll resumed after an await: its cause is the call that started greetAll (main).
    for (const load of loads.slice(1)) {
      const cause = (step(a, load.id, 'cause') as { to: string | null }).to;
      const ref = /^c(\d+)\.(\d+)$/.exec(load.id)!;
      const frames = a.engine.logicalStackAt(Number(ref[1]), { position: Number(ref[2]) }).frames;
      assert.equal(frames[1]!.name, 'greetAll');
      assert.equal(frames[1]!.resumed, true);
      assert.equal(cause, frames[2]!.id);
      assert.equal(a.engine.call(cause!).name, 'main');
    }
  } finally {
    a.close();
  }
});

test('search by argument predicate: the calls whose recorded arguments match, over the whole trace', () => {
  const q = openQuery(badValue, { write: false });
  try {
    const all = q.engine.calls({ function: 'checkQuantity' }).calls;
    const recorded = all.map((c) => ({ id: c.id, args: argsOf(q.engine.call(c.id).values) }));
    const expected = (test: (n: number) => boolean): string[] => recorded.filter((c) => c.args !== null && typeof c.args[0] === 'number' && test(c.args[0])).map((c) => c.id);
    const ids = (text: string): string[] => (search(q, text) as { calls: { id: string }[] }).calls.map((c) => c.id);
    assert.deepEqual(ids('checkQuantity(quantity<0)'), expected((n) => n < 0));
    assert.equal(ids('checkQuantity(quantity<0)').length, 1);
    assert.deepEqual(ids('checkQuantity(0=-3)'), expected((n) => n === -3));
    assert.deepEqual(ids('checkQuantity(arg0>1)'), expected((n) => n > 1));
    assert.deepEqual(ids('check*:0<0'), expected((n) => n < 0));
    assert.equal((search(q, 'lineTotal(price=9)') as { calls: { args: string }[] }).calls[0]!.args, 'price=9, quantity=-3');
    assert.throws(() => search(q, 'checkQuantity(nope=1)'), /no function matching checkQuantity has a parameter nope/);
    assert.throws(() => search(q, 'checkQuantity('), /argument predicate/);
    // A name is still a name search.
    assert.equal((search(q, 'checkQ') as { functions: { name: string }[] }).functions[0]!.name, 'checkQuantity');
  } finally {
    q.close();
  }
});

test('an index part damaged where it is read on first use: the viewer opens the trace again and answers', () => {
  const { dir, result } = record('bugs/bad-value.js');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(recall(['index', dir]).status, 0);
  const v0 = ViewerTrace.open(dir);
  const fn = String(ask(v0, 'search', { q: 'checkQuantity' }).functions[0].fn);
  const slowest = ask(v0, 'jump', { fn, to: 'slowest' });
  const calls = ask(v0, 'calls', { fn });
  v0.close();
  // The function rows (a group the open does not read) damaged: the first request that needs
  // them finds it (and the file is deleted); the server's way of answering opens the trace
  // again, which rebuilds the index, and answers as the undamaged index did.
  const path = join(dir, 'index.recall-idx');
  const good = readFileSync(path);
  writeFileSync(path, flipIndexByte(good, 'fnMax'));
  const v = ViewerTrace.open(dir);
  try {
    assert.throws(() => ask(v, 'jump', { fn, to: 'slowest' }), (error: Error & { code?: string }) => error.code === 'E_INDEX_DAMAGED');
    writeFileSync(path, flipIndexByte(good, 'fnMax'));
    const v2 = ViewerTrace.open(dir);
    try {
      const params = new URLSearchParams({ fn, to: 'slowest' });
      assert.deepEqual(answerReopening(v2, 'jump', params), slowest);
      assert.deepEqual(readFileSync(path), good, 'the same index was written again');
      assert.deepEqual(answerReopening(v2, 'calls', new URLSearchParams({ fn })), calls);
    } finally {
      v2.close();
    }
  } finally {
    v.close();
  }
});

test('source excerpts: only files the function table names; a path outside is refused', async () => {
  const { base, token } = served;
  const q = openQuery(badValue, { write: false });
  const file = [...q.engine.functions.values()].find((f) => f.name === 'checkQuantity')!.file;
  q.close();
  const ok = await get(base, `/api/source?file=${encodeURIComponent(file)}&line=3&token=${token}`);
  assert.equal(ok.status, 200);
  const excerpt = JSON.parse(ok.body) as { from: number; lines: string[] };
  assert.equal(excerpt.lines[3 - excerpt.from], 'function checkQuantity(quantity) {');
  for (const outside of ['/etc/passwd', join(badValue, 'manifest.json'), `${file}/../../../../package.json`, file.replace('bad-value.js', 'slow.js'), 'package.json']) {
    const res = await get(base, `/api/source?file=${encodeURIComponent(outside)}&line=1&token=${token}`);
    assert.equal(res.status, 403, `${outside}: ${res.status}`);
    assert.doesNotMatch(res.body, /root:|"name"/);
  }
  assert.equal((await get(base, `/api/source?file=${encodeURIComponent(file)}&line=1`)).status, 401);
});


test('the sequential layout: calls by record position, seeking like a whole walk, also without times', () => {
  for (const dir of [untimed, shapes]) {
    const small = openQuery(dir, { segmentRecords: 32, write: false });
    try {
      const records = small.engine.threads[0]!.index.records;
      if (dir === untimed) {
        assert.equal(small.engine.times, false);
        assert.throws(() => timeline(small, 0, 0, records, 100), /axis 'events'/);
      }
      const whole = (from: number, to: number, width: number): TimelineSpan[] => {
        const builder = new TimelineBuilder(from, to, (to - from) / width);
        small.engine.walkActivations(0, builder, 'events');
        return builder.finish();
      };
      for (const [a, b] of [[0, 1], [0, 0.1], [0.3, 0.35], [0.5, 0.9], [0.95, 1.2]] as const) {
        const from = Math.round(records * a);
        const to = Math.round(records * b);
        for (const width of [40, 1200]) {
          const answer = timeline(small, 0, from, to, width, 'events');
          assert.equal(answer.lod, 'walk');
          assert.deepEqual(answer.spans, whole(from, to, width), `${dir === untimed ? 'untimed' : 'timed'} window ${a}-${b} width ${width}`);
        }
      }
      // Calls in order: at full width every call is a span of its own, from its enter record to its exit record.
      const full = timeline(small, 0, 0, records, Math.min(8192, records), 'events');
      const parse = small.engine.calls({ function: 'parse', limit: 5 }).calls;
      for (const c of parse) {
        const position = Number(c.id.slice(c.id.indexOf('.') + 1));
        const span = full.spans.find((s) => s[4] === position && s[5] === 1);
        assert.ok(span, `${c.id} has a span`);
        assert.equal(span[1], position);
        assert.ok(span[2] > span[1]);
      }
    } finally {
      small.close();
    }
  }
  // A level on the events axis for a trace without times (what recall view prepares for it).
  const leveled = openQuery(untimed, { segmentRecords: 32, write: false });
  const exact = openQuery(untimed, { segmentRecords: 32, write: false });
  try {
    assert.deepEqual(prepareTimelines(leveled, { minRecords: 0, windowRecords: 0, cells: 2048 }), [0]);
    const records = exact.engine.threads[0]!.index.records;
    const counts = (spans: TimelineSpan[]): number[] => spans.reduce<number[]>((c, s) => ((c[s[0]] = (c[s[0]] ?? 0) + s[5]), c), []);
    for (const width of [2048, 300]) {
      const merged = timeline(leveled, 0, 0, records, width, 'events');
      const walked = timeline(exact, 0, 0, records, width, 'events');
      assert.equal(merged.lod, 'level');
      assert.deepEqual(counts(merged.spans), counts(walked.spans), `calls per depth at width ${width}`);
    }
  } finally {
    leveled.close();
    exact.close();
  }
});


test('runtime-event tracks: messages between threads with both ends, spans, workers, as the runtime-event view has them', () => {
  const q = openQuery(messages, { write: false });
  try {
    const r = runtimeTracks(q);
    const view = runtimeEvents(q.trace);
    const paired = view.messages.filter((m) => m.send && m.receive);
    assert.ok(paired.length >= 8, `messages both ways (${paired.length})`);
    assert.equal(r.messages.length, paired.length);
    assert.equal(r.unpaired, view.messages.length - paired.length);
    assert.equal(r.counts.workers, 1);
    const index = new Map(q.threads.map((t, i) => [t.id, i]));
    for (const m of paired) assert.ok(r.messages.some(([ft, fns, tt, tns]) => ft === index.get(m.send!.thread) && fns === m.send!.ns && tt === index.get(m.receive!.thread) && tns === m.receive!.ns));
    assert.ok(r.messages.some(([ft, , tt]) => ft === 0 && tt !== 0) && r.messages.some(([ft, , tt]) => ft !== 0 && tt === 0), 'arrows both ways');
    // On the engine's time axis: the worker's answers are sent while onJob runs on the worker.
    const jobs = q.engine.calls({ function: 'onJob' }).calls;
    assert.equal(jobs.length, 3);
    for (const job of jobs) {
      const end = job.enterNs + job.durationNs!;
      const thread = Number(job.id.slice(1, job.id.indexOf('.')));
      assert.ok(r.messages.some(([ft, fns]) => ft === thread && fns >= job.enterNs && fns <= end), `a send inside ${job.id}`);
    }
    const main = r.threads.find((t) => t.thread === 0)!;
    assert.deepEqual(main.instants.map((i) => i[1]).filter((k) => k.startsWith('worker')), ['worker-start', 'worker-exit']);
  } finally {
    q.close();
  }
  const h = openQuery(http, { write: false });
  try {
    const r = runtimeTracks(h);
    const labels = r.threads.flatMap((t) => t.spans.map((s) => s.label)).join('\n');
    assert.equal(r.counts.spans, runtimeEvents(h.trace).spans.length);
    assert.match(labels, /GET \S*\/users\?id=1/);
    assert.match(labels, /POST \S*\/users\?id=2/);
    for (const t of r.threads) for (const s of t.spans) assert.ok(s.endNs !== null && s.endNs >= s.beginNs);
  } finally {
    h.close();
  }
});

// ---- the browser

function findChromium(): string | null {
  const candidates = [process.env.RECALL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  for (const path of candidates) if (path && existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  const found = which.stdout.trim().split('\n')[0];
  return found ? found : null;
}

// Predicates run in the page as functions: the page's content security policy forbids eval,
// which playwright would use for a string predicate. (The tests compile without DOM types.)
const ready = (): boolean => (globalThis as any).document.documentElement.dataset.ready === 'true';

/**
 * A new page of the viewer at `url`, ready (its first view drawn): 1400x800, 15 s for each wait,
 * and its page errors and console errors collected into `errors` (`label` says which page).
 */
async function openPage(browser: import('playwright-core').Browser, url: string, errors: string[], label = ''): Promise<import('playwright-core').Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  page.setDefaultTimeout(15_000);
  const tag = label ? ` (${label})` : '';
  page.on('pageerror', (error) => errors.push(`pageerror${tag}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console${tag}: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForFunction(ready, undefined, { timeout: 20_000 });
  return page;
}

test('the web app in headless Chromium: ready, search, details with arguments, stepping, deep link, no page errors', async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    t.skip('no chromium found (/usr/bin/chromium; apt-get install -y chromium, or set RECALL_CHROMIUM): the browser tests did not run');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const q = openQuery(badValue, { write: false });
  const thrown = q.engine.calls({ function: 'checkQuantity', threw: true }).calls[0]!;
  const all = q.engine.calls({ function: 'checkQuantity' }).calls;
  const before = all[all.findIndex((c) => c.id === thrown.id) - 1]!;
  const caller = q.engine.call(thrown.id).parents.at(-1)!;
  q.close();
  const errors: string[] = [];
  try {
    const opened = performance.now();
    const page = await openPage(browser, served.url, errors);
    const readyMs = performance.now() - opened;
    t.diagnostic(`served in ${served.serveMs.toFixed(0)} ms, page ready in ${readyMs.toFixed(0)} ms`);
    // Something was drawn on the thread's track.
    const painted = await page.evaluate(`(() => { const c = document.querySelector('canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return n; })()`);
    assert.ok((painted as number) > 100, `the track is drawn (${String(painted)} pixels)`);

    const details = page.getByRole('region', { name: 'Details' });
    const results = page.getByRole('region', { name: 'Search results' });
    await page.getByRole('searchbox', { name: 'Search' }).fill('checkQuant');
    const hit = results.getByRole('listitem').filter({ hasText: 'checkQuantity' }).first();
    await hit.click();
    await details.getByText(all[0]!.id, { exact: false }).waitFor();
    // The call that threw, from the listed calls: its recorded argument and error.
    await results.getByRole('listitem').filter({ hasText: thrown.id }).click();
    await details.getByText(thrown.id).waitFor();
    const text = await details.innerText();
    assert.match(text, /checkQuantity/);
    assert.match(text, /quantity\s+-3/);
    assert.match(text, /RangeError: quantity must be positive, got -3/);
    assert.match(text, /bad-value\.js:3/);
    assert.match(text, /lineTotal/, 'its callers');
    assert.equal(new URL(page.url()).hash, `#call=${thrown.id}`);

    // Stepping: previous call of the function, next, parent, first child.
    await page.locator('body').click({ position: { x: 5, y: 790 } });
    await page.keyboard.press('p');
    await page.waitForFunction((hash) => (globalThis as any).location.hash === hash, `#call=${before.id}`);
    await details.getByText(before.id).waitFor();
    await page.keyboard.press('n');
    await details.getByText(thrown.id).waitFor();
    await page.keyboard.press('u');
    await details.getByText(caller).waitFor();
    assert.match(await details.innerText(), /lineTotal[\s\S]*price\s+9[\s\S]*quantity\s+-3/);
    await page.keyboard.press('d');
    await details.getByText(thrown.id).waitFor();

    // A deep link opens at the call.
    const linked = await openPage(browser, `${served.url}#call=${caller}`, errors, 'deep link');
    const linkedText = await linked.getByRole('region', { name: 'Details' }).innerText();
    assert.match(linkedText, new RegExp(`lineTotal[\\s\\S]*${caller.replace('.', '\\.')}`));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the web app in headless Chromium: side panels, range summary, jumps, help, source, predicate search, async cause', async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    t.skip('no chromium found (/usr/bin/chromium; apt-get install -y chromium, or set RECALL_CHROMIUM): the browser tests did not run');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const q = openQuery(badValue, { write: false });
  const all = q.engine.calls({ function: 'checkQuantity' }).calls;
  const thrown = all.find((c) => c.outcome === 'throw')!;
  const slowest = all.reduce((a, b) => ((b.durationNs ?? -1) > (a.durationNs ?? -1) ? b : a));
  const lineTotal = q.engine.calls({ function: 'lineTotal' }).calls;
  const slowestLine = lineTotal.reduce((a, b) => ((b.durationNs ?? -1) > (a.durationNs ?? -1) ? b : a));
  const engine = q.engine;
  const errors: string[] = [];
  let asyncServed: Served | null = null;
  try {
    const page = await openPage(browser, served.url, errors);
    await page.waitForFunction(() => (globalThis as any).document.documentElement.dataset.panels === 'true', undefined, { timeout: 20_000 });
    const details = page.getByRole('region', { name: 'Details' });
    // Selected: in the URL and shown in Details (keys act on the call Details shows).
    const hashIs = async (id: string): Promise<void> => {
      await page.waitForFunction((hash) => (globalThis as any).location.hash === hash, `#call=${id}`);
      await details.getByText(`${id} (thread`).waitFor();
    };

    // Hotspots: by self time, with call counts; a click selects the function's slowest call.
    const hot = page.getByRole('region', { name: 'Hotspots' });
    const hotItems = await hot.getByRole('listitem').allInnerTexts();
    const expectedOrder = hotspots(openQueryOnce()).functions.map((f) => f.name);
    assert.deepEqual(hotItems.map((text) => text.split(/\s+/)[0]), expectedOrder);
    assert.match(hotItems.find((text) => text.startsWith('checkQuantity'))!, /×4/);
    await hot.getByRole('listitem').filter({ hasText: 'lineTotal' }).click();
    await hashIs(slowestLine.id);
    await details.getByText(slowestLine.id).waitFor();

    // Exceptions: the throw with its error and function; a click selects the throwing call.
    const xs = page.getByRole('region', { name: 'Exceptions' });
    const xText = await xs.innerText();
    assert.match(xText, /x1\s+RangeError: quantity must be positive, got -3\s+in checkQuantity · caught in handleOrder/);
    await xs.getByRole('listitem').first().click();
    await hashIs(thrown.id);
    await details.getByText(thrown.id).waitFor();
    // Its source excerpt: the lines around the function's line, that line marked.
    const source = details.getByRole('region', { name: 'Source' });
    await source.getByText('function checkQuantity(quantity) {').waitFor();
    assert.match(await source.locator('.here').innerText(), /^\s*3\s+function checkQuantity\(quantity\) \{/);

    // Keys: f first call, s slowest call of the selected function, x / X exceptions' throws.
    await page.locator('body').click({ position: { x: 5, y: 790 } });
    await page.keyboard.press('f');
    await hashIs(all[0]!.id);
    await page.keyboard.press('s');
    await hashIs(slowest.id);
    await page.keyboard.press('f');
    await hashIs(all[0]!.id);
    await page.keyboard.press('x');
    await hashIs(thrown.id);
    await page.keyboard.press('x');
    await page.getByRole('status').getByText('no exception after this call').waitFor();
    // ? shows every key; Escape closes it.
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    const helpText = await help.innerText();
    for (const key of ['n / p', 'u', 'd', 'a', 'f / s', 'x / X', 'shift-drag', '?']) assert.ok(helpText.includes(key), `help lists ${key}`);
    assert.match(helpText, /async cause/);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });

    // A shift-drag over the track selects a range: its summary is the engine's.
    await page.keyboard.press('0');
    const rangeBox = page.getByRole('region', { name: 'Range summary' });
    const selectRange = async (a: number, b: number): Promise<void> => {
      const box = (await page.locator('canvas').first().boundingBox())!;
      await page.keyboard.down('Shift');
      await page.mouse.move(box.x + box.width * a, box.y + 10);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * ((a + b) / 2), box.y + 10, { steps: 5 });
      await page.mouse.move(box.x + box.width * b, box.y + 10, { steps: 5 });
      await page.mouse.up();
      await page.keyboard.up('Shift');
      await page.waitForFunction(() => (globalThis as any).document.getElementById('range-summary').dataset.loaded === 'true', undefined, { timeout: 20_000 });
    };
    await selectRange(0.02, 0.98);
    const from = Number(await rangeBox.getAttribute('data-from'));
    const to = Number(await rangeBox.getAttribute('data-to'));
    const stats = engine.rangeStats(0, from, to).functions;
    const calls = stats.reduce((n, f) => n + f.calls, 0);
    const top = [...stats].filter((f) => f.calls > 0 || f.selfNs > 0).sort((a, b) => b.selfNs - a.selfNs || b.calls - a.calls)[0]!;
    const rangeText = await rangeBox.innerText();
    assert.ok(calls > 0);
    assert.match(rangeText, new RegExp(`${calls} calls? began in it`));
    assert.ok(rangeText.includes(top.name), `the range's top function ${top.name}: ${rangeText}`);
    const thrownAt = engine.call(thrown.id);
    if (thrownAt.enterNs >= from && thrownAt.exitNs! <= to) {
      assert.match(rangeText, /1 exception\b/);
      assert.match(rangeText, /RangeError: quantity must be positive/);
    }
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => (globalThis as any).document.getElementById('range-summary').dataset.from === undefined);

    // Search by argument predicate: the call with quantity -3.
    const results = page.getByRole('region', { name: 'Search results' });
    await page.getByRole('searchbox', { name: 'Search' }).fill('checkQuantity(quantity<0)');
    await results.getByText('1 call where checkQuantity(quantity < 0)').waitFor();
    const predicateHit = results.getByRole('listitem').filter({ hasText: thrown.id });
    assert.match(await predicateHit.innerText(), /quantity=-3/);
    // The throwing call's values are recorded by its own trigger (other calls' values depend on
    // how much of the post-roll a loaded machine records).
    await page.getByRole('searchbox', { name: 'Search' }).fill('lineTotal(price=9)');
    await results.getByRole('listitem').filter({ hasText: 'price=9, quantity=-3' }).click();
    // That call is the throwing call's caller. Wait for its id, not for the name: the panel
    // still showing checkQuantity names lineTotal among its callers.
    await details.getByText(engine.call(thrown.id).parents.at(-1)!).first().waitFor();
    assert.match(await details.innerText(), /price\s+9[\s\S]*quantity\s+-3/);

    // Back along the async cause, on an async trace: a is main, the call that started greetAll.
    asyncServed = await serve(asyncThrow);
    const a = openQuery(asyncThrow, { write: false });
    const loads = a.engine.calls({ function: 'loadUser' }).calls;
    const cause = (step(a, loads[1]!.id, 'cause') as { to: string }).to;
    a.close();
    const asyncPage = await openPage(browser, `${asyncServed.url}#call=${loads[1]!.id}`, errors, 'async');
    await asyncPage.getByRole('region', { name: 'Details' }).getByText(/↺ greetAll/).first().waitFor();
    await asyncPage.locator('body').click({ position: { x: 5, y: 790 } });
    await asyncPage.keyboard.press('a');
    await asyncPage.waitForFunction((hash) => (globalThis as any).location.hash === hash, `#call=${cause}`);
    await asyncPage.getByRole('region', { name: 'Details' }).getByRole('heading', { name: 'main' }).waitFor();
    await asyncPage.keyboard.press('a');
    await asyncPage.getByRole('status').getByText(/no async cause/).waitFor();
    if (process.env.RECALL_VIEWER_SCREENSHOT) {
      await page.getByRole('searchbox', { name: 'Search' }).fill('checkQuantity(quantity<0)');
      await results.getByRole('listitem').filter({ hasText: thrown.id }).click();
      await details.getByRole('region', { name: 'Source' }).getByText('function checkQuantity(quantity) {').waitFor();
      await page.locator('body').click({ position: { x: 5, y: 790 } });
      await page.keyboard.press('0');
      await selectRange(0.02, 0.98);
      await page.screenshot({ path: process.env.RECALL_VIEWER_SCREENSHOT });
    }
    assert.deepEqual(errors, []);
  } finally {
    q.close();
    if (asyncServed) await stop(asyncServed);
    await browser.close();
  }
});

let onceQuery: QueryTrace | null = null;
/** The bad-value trace opened once for comparisons (closed at the end). */
function openQueryOnce(): QueryTrace {
  onceQuery ??= openQuery(badValue, { write: false });
  return onceQuery;
}
after(() => onceQuery?.close());

/** The first painted pixel of a canvas's top row of calls (depth 0, below its runtime lane when it has one), in page coordinates. */
async function paintedPoint(page: import('playwright-core').Page, selector = 'canvas'): Promise<{ x: number; y: number }> {
  const canvas = page.locator(selector).first();
  const box = (await canvas.boundingBox())!;
  const lane = Number((await canvas.getAttribute('data-lane')) ?? 0);
  const x = (await page.evaluate(`(() => { const c = document.querySelector('${selector}'); const dpr = c.width / c.clientWidth; const y = Math.round(${lane + 9} * dpr); const d = c.getContext('2d').getImageData(0, y, c.width, 1).data; for (let i = 0; i < c.width; i++) if (d[i * 4 + 3] !== 0 && (i + 3) < c.width && d[(i + 3) * 4 + 3] !== 0) return (i + 2) / dpr; return -1; })()`)) as number;
  assert.ok(x >= 0, 'a call is drawn on the top row');
  return { x: box.x + x, y: box.y + lane + 9 };
}

test('the web app in headless Chromium: the sequential layout (default for --timing none; l toggles it)', async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    t.skip('no chromium found (/usr/bin/chromium; apt-get install -y chromium, or set RECALL_CHROMIUM): the browser tests did not run');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const errors: string[] = [];
  const noneServed = await serve(untimed);
  try {
    const page = await openPage(browser, noneServed.url, errors);
    const layout = page.getByRole('button', { name: 'Sequential' });
    assert.equal(await layout.getAttribute('aria-pressed'), 'true', 'sequential by default without times');
    // The outermost call drawn, clicked: its details.
    const q = openQuery(untimed, { write: false });
    const roots = q.engine.stackAt(0, { position: 0 }).frames;
    q.close();
    const at = await paintedPoint(page);
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction(() => /^#call=c0\.\d+$/.test((globalThis as any).location.hash));
    const id = new URL(page.url()).hash.slice('#call='.length);
    await page.getByRole('region', { name: 'Details' }).getByText(`${id} (thread`).waitFor();
    if (roots[0]) assert.equal(id, roots[0].id, 'the first call drawn on the top row is the first root call');
    // l on a trace without times stays sequential.
    await page.keyboard.press('l');
    assert.equal(await layout.getAttribute('aria-pressed'), 'true');

    // A timed trace: time by default; l switches to the sequential layout and back.
    const timed = await openPage(browser, served.url, errors, 'timed');
    const timedLayout = timed.getByRole('button', { name: 'Sequential' });
    assert.equal(await timedLayout.getAttribute('aria-pressed'), 'false');
    await timed.locator('body').click({ position: { x: 5, y: 790 } });
    await timed.keyboard.press('l');
    assert.equal(await timedLayout.getAttribute('aria-pressed'), 'true');
    await timed.waitForFunction(() => /^events 0 – \d/.test((globalThis as any).document.getElementById('range').textContent));
    const point = await paintedPoint(timed);
    await timed.mouse.click(point.x, point.y);
    await timed.waitForFunction(() => /^#call=c0\.\d+$/.test((globalThis as any).location.hash));
    // The hash changes as the call is selected; its details arrive with the server's answer.
    await timed.getByRole('region', { name: 'Details' }).getByText(/handleOrder/).first().waitFor();
    await timed.keyboard.press('l');
    assert.equal(await timedLayout.getAttribute('aria-pressed'), 'false');
    assert.deepEqual(errors, []);
  } finally {
    await stop(noneServed);
    await browser.close();
  }
});

test('the web app in headless Chromium: runtime-event lanes and messages between threads as arrows', async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    t.skip('no chromium found (/usr/bin/chromium; apt-get install -y chromium, or set RECALL_CHROMIUM): the browser tests did not run');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const errors: string[] = [];
  const msgServed = await serve(messages);
  const q = openQuery(messages, { write: false });
  const r = runtimeTracks(q);
  q.close();
  try {
    const page = await openPage(browser, msgServed.url, errors);
    const legend = await page.getByRole('region', { name: 'Runtime events' }).innerText();
    assert.match(legend, new RegExp(`1 worker · ${r.counts.messages} messages between threads \\(${r.messages.length} drawn as arrows`));
    // Every message of the whole run is drawn, on an overlay with painted pixels.
    const arrows = (await page.evaluate(`(() => { const c = document.querySelector('canvas.arrows'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return { drawn: Number(c.dataset.arrows), painted: n }; })()`)) as { drawn: number; painted: number };
    assert.equal(arrows.drawn, r.messages.length);
    assert.ok(arrows.painted > 50, `arrows painted (${arrows.painted} pixels)`);
    // The main thread's lane holds the worker's start: a click there names it.
    const lanes = page.locator('canvas:not(.arrows)');
    assert.equal(await lanes.count(), 2);
    const main = r.threads.find((x) => x.thread === 0)!;
    const start = main.instants.find((i) => i[1] === 'worker-start')!;
    const box = (await lanes.first().boundingBox())!;
    const view = (await page.evaluate(`(() => document.getElementById('range').textContent)()`)) as string;
    assert.ok(view.length > 0);
    const overview = JSON.parse((await get(msgServed.base, `/api/overview?token=${msgServed.token}`)).body) as { startNs: number; endNs: number };
    const x = box.x + ((start[0] - overview.startNs) / (overview.endNs - overview.startNs)) * box.width;
    await page.mouse.click(x, box.y + 6);
    await page.getByRole('status').getByText(/worker-start/).waitFor();
    // The sequential layout has no lanes and no arrows; back on the time axis they return.
    await page.keyboard.press('l');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('canvas.arrows').dataset.arrows === '0');
    await page.keyboard.press('l');
    await page.waitForFunction((n) => (globalThis as any).document.querySelector('canvas.arrows').dataset.arrows === String(n), r.messages.length);
    assert.deepEqual(errors, []);
  } finally {
    await stop(msgServed);
    await browser.close();
  }
});

/** The viewer's API answered in-process (as the server answers it). */
function ask(v: ViewerTrace, path: string, params: Record<string, string | number> = {}): any {
  return answer(v, path, new URLSearchParams(Object.entries(params).map(([k, x]) => [k, String(x)] as [string, string])));
}

/** The root and the child process of the spawn trace, each opened on its own, and the child's pid. */
function spawnedProcesses(): { root: QueryTrace; child: QueryTrace; pid: number; offsetNs: number } {
  const root = openQuery(spawned, { write: false });
  const children = root.manifest.processes?.filter((p) => p.parentPid === root.manifest.pid) ?? [];
  assert.equal(children.length, 1, `one child process: ${JSON.stringify(root.manifest.processes)}`);
  const pid = children[0]!.pid;
  const child = openQuery(spawned, { pid, write: false });
  return { root, child, pid, offsetNs: Math.round((child.manifest.startEpochMs - root.manifest.startEpochMs) * 1e6) };
}

test('every process: the overview lists both in tree order; the child is answered by its own engine, on the root\'s time axis, its ids qualified by pid', () => {
  const { root, child, pid, offsetNs } = spawnedProcesses();
  const v = ViewerTrace.open(spawned);
  try {
    const o = ask(v, 'overview');
    assert.deepEqual(o.processes.map((p: any) => [p.pid, p.parentPid, p.depth, p.threads]), [[root.manifest.pid, null, 0, [0]], [pid, root.manifest.pid, 1, [1]]]);
    assert.match(o.processes[1].command.join(' '), /child\.js 1234$/);
    assert.deepEqual(o.threads.map((t: any) => [t.index, t.pid, t.local]), [[0, root.manifest.pid, 0], [1, pid, 0]]);
    assert.equal(o.threads[1].events, child.engine.threads[0]!.index.records);
    // The child ran between its spawn (on the root's main thread) and the root's call that ran when it exited.
    const r = ask(v, 'runtime');
    assert.equal(r.spawns.length, 1);
    const [fromThread, spawnNs, spawnPid, childThread] = r.spawns[0];
    assert.deepEqual([fromThread, spawnPid, childThread], [0, pid, 1]);
    const ended = root.engine.calls({ function: 'ended' }).calls[0]!;
    assert.ok(spawnNs < o.threads[1].startNs, `spawned at ${spawnNs} before the child's first record at ${o.threads[1].startNs}`);
    assert.ok(o.threads[1].endNs < ended.enterNs, `the child's last record ${o.threads[1].endNs} before the root heard of its exit ${ended.enterNs}`);
    assert.equal(o.endNs, Math.max(o.threads[0].endNs, o.threads[1].endNs));

    // The child's timeline is its own engine's answer, shifted by the difference of the starts.
    const width = 900;
    // (the whole run, and the first third of the child's run() call: a child's first record can come long before its code runs)
    const run = child.engine.calls({ function: 'run' }).calls[0]!;
    const runFrom = run.enterNs + offsetNs;
    for (const [from, to] of [[o.startNs, o.endNs], [runFrom, runFrom + run.durationNs! / 3]] as [number, number][]) {
      const viewed = ask(v, 'timeline', { thread: 1, from: Math.floor(from), to: Math.ceil(to), width });
      const own = timeline(child, 0, Math.floor(from) - offsetNs, Math.ceil(to) - offsetNs, width);
      assert.ok(own.spans.length > 0);
      assert.deepEqual(viewed.spans, own.spans.map((s) => [s[0], s[1] + offsetNs, s[2] + offsetNs, s[3], s[4], s[5], s[6]]));
      assert.equal(viewed.thread, 1);
    }
    // The root's answers are its own engine's, unshifted and unqualified.
    const rootTimeline = ask(v, 'timeline', { thread: 0, from: o.startNs, to: o.endNs, width });
    assert.deepEqual(rootTimeline.spans, timeline(root, 0, o.startNs, o.endNs, width).spans);

    // Search finds work(), which only the child runs; its calls and details are the child engine's.
    const found = ask(v, 'search', { q: 'work' });
    assert.deepEqual(found.functions.map((f: any) => [f.name, f.process, f.calls]), [['work', pid, 1234]]);
    const works = child.engine.calls({ function: 'work', limit: 3 }).calls;
    const page = ask(v, 'calls', { fn: found.functions[0].fn, process: pid, limit: 3 });
    assert.deepEqual(page.calls.map((c: any) => c.id), works.map((c) => `${c.id}@${pid}`));
    assert.deepEqual(page.calls.map((c: any) => c.enterNs), works.map((c) => c.enterNs + offsetNs));
    const details = ask(v, 'call', { id: `${works[0]!.id}@${pid}` });
    assert.equal(details.thread, 1);
    assert.equal(details.name, 'work');
    assert.deepEqual(details.process.pid, pid);
    assert.equal(details.enterNs, works[0]!.enterNs + offsetNs);
    assert.deepEqual(details.callers.map((f: any) => f.id), child.engine.call(works[0]!.id).parents.map((id) => `${id}@${pid}`).reverse());
    assert.deepEqual(ask(v, 'step', { id: `${works[0]!.id}@${pid}`, to: 'next' }), { from: `${works[0]!.id}@${pid}`, to: `${works[1]!.id}@${pid}` });
    // Function ids are per process: work's id in the root is another function, or none.
    const slowest = ask(v, 'jump', { fn: found.functions[0].fn, process: pid, to: 'slowest' });
    assert.match(slowest.to, new RegExp(`^c0\\.\\d+@${pid}$`));
    assert.equal(ask(v, 'call', { id: slowest.to }).name, 'work');
    // Hotspots and range merge both processes, each row naming its process.
    const hot = ask(v, 'hotspots');
    assert.deepEqual(new Set(hot.functions.map((f: any) => f.process)), new Set([root.manifest.pid, pid]));
    const range = ask(v, 'range', { from: o.threads[1].startNs, to: o.threads[1].endNs });
    assert.ok(range.functions.some((f: any) => f.name === 'work' && f.process === pid && f.calls === 1234), JSON.stringify(range.functions));
    assert.equal(ask(v, 'source', { file: details.file, line: details.line, process: pid }).lines.some((l: string) => /function work/.test(l)), true);
    assert.throws(() => ask(v, 'call', { id: 'c0.1@1' }), /no process 1 /);
  } finally {
    v.close();
    root.close();
    child.close();
  }
  // --process PID: that process alone, as before (its ids unqualified, its start as 0).
  const one = ViewerTrace.open(spawned, { pid: (ViewerTrace.open(spawned).processes[1]!).pid });
  try {
    const o = ask(one, 'overview');
    assert.equal(o.processes.length, 1);
    assert.match(ask(one, 'calls', { fn: ask(one, 'search', { q: 'work' }).functions[0].fn, limit: 1 }).calls[0].id, /^c0\.\d+$/);
  } finally {
    one.close();
  }
});

test('the web app in headless Chromium: a child process\'s tracks under its header, its calls searched, stepped and deep-linked, the spawn drawn', async (t) => {
  const executablePath = findChromium();
  if (!executablePath) {
    t.skip('no chromium found (/usr/bin/chromium; apt-get install -y chromium, or set RECALL_CHROMIUM): the browser tests did not run');
    return;
  }
  const { root, child, pid } = spawnedProcesses();
  const works = child.engine.calls({ function: 'work', limit: 3 }).calls.map((c) => `${c.id}@${pid}`);
  const runCall = `${child.engine.calls({ function: 'run' }).calls[0]!.id}@${pid}`;
  const rootPid = root.manifest.pid;
  root.close();
  child.close();
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const errors: string[] = [];
  const spawnServed = await serve(spawned);
  try {
    const page = await openPage(browser, spawnServed.url, errors);
    // A header per process, root first, each holding its threads' tracks.
    const groups = page.locator('section.process-group');
    assert.equal(await groups.count(), 2);
    assert.match(await groups.nth(0).locator('h2.process').innerText(), new RegExp(`^process ${rootPid} · .*launch\\.js spawn child\\.js 1234$`));
    assert.match(await groups.nth(1).locator('h2.process').innerText(), new RegExp(`^process ${pid} \\(started by ${rootPid}\\) · .*child\\.js 1234$`));
    const childCanvas = groups.nth(1).locator('canvas');
    assert.equal(await childCanvas.count(), 1);
    assert.equal(await childCanvas.getAttribute('aria-label'), `Timeline of thread 0 main of process ${pid}`);
    // The child's track is drawn (narrow in the whole run: the child ran ~1% of it).
    const childPainted = async (): Promise<number> => (await page.evaluate(`(() => { const c = document.querySelector('section.process-group[data-pid="${pid}"] canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return n; })()`)) as number;
    const painted = await childPainted();
    assert.ok(painted > 20, `the child's track is drawn (${painted} pixels)`);
    // The spawn, in the whole run: one dashed arrow from the root's lane to the child's track.
    await page.waitForFunction(() => (globalThis as any).document.querySelector('canvas.arrows')?.dataset.spawns === '1');
    assert.match(await page.getByRole('region', { name: 'Runtime events' }).innerText(), /1 child process started/);
    // Zoomed in where the child ran (the wheel zooms about the pointer), its track fills with its
    // calls; a click on its outermost call selects it: run(), by its id qualified by the child's pid.
    const overview = JSON.parse((await get(spawnServed.base, `/api/overview?token=${spawnServed.token}`)).body) as { startNs: number; endNs: number };
    const run = JSON.parse((await get(spawnServed.base, `/api/call?id=${encodeURIComponent(runCall)}&token=${spawnServed.token}`)).body) as { enterNs: number; exitNs: number };
    const mid = (run.enterNs + run.exitNs) / 2;
    // Enough wheel steps (each zooms e times, main.ts) for the window to shrink to half of run()
    // or less: zoomed about `mid`, which stays under the pointer, the whole window then lies
    // within run(), so its top row is painted across the track wherever `mid` sits in it (the
    // child runs at the end of the run, so `mid` is near the right edge). run()'s share of the
    // run depends on the machine (a cold transform cache makes the root process start slower).
    const whole = overview.endNs - overview.startNs;
    const steps = Math.min(24, Math.max(6, Math.ceil(Math.log((2 * whole) / Math.max(1, run.exitNs - run.enterNs)))));
    t.diagnostic(`run() spans ${(((run.exitNs - run.enterNs) / whole) * 100).toFixed(2)}% of the run: ${steps} wheel steps`);
    // The app's window, exact (on the tracks' element; the toolbar's text is rounded).
    const windowOf = async (): Promise<{ from: number; to: number }> => page.evaluate(() => {
      const d = (globalThis as any).document.getElementById('tracks').dataset;
      return { from: Number(d.from), to: Number(d.to) };
    });
    for (let i = 0; i < steps; i++) {
      // Aimed at `mid` in the window as it is now, on the track where it is now (panels still
      // filling can move it, or push it below the fold, where the mouse cannot reach it). The
      // pointer lands on whole pixels: aimed once by `mid`'s fraction of the whole run, it missed
      // by up to half a pixel of the whole run (0.06%, where run() is 0.2-1.4%), which the zoom
      // kept; aimed again at every step, the miss shrinks with the window.
      await childCanvas.scrollIntoViewIfNeeded();
      const box = (await childCanvas.boundingBox())!;
      const now = await windowOf();
      await page.mouse.move(box.x + ((mid - now.from) / (now.to - now.from)) * box.width, box.y + 9);
      await page.mouse.wheel(0, -500);
      await page.waitForFunction((expected) => {
        const d = (globalThis as any).document.getElementById('tracks').dataset;
        return Math.abs(Number(d.to) - Number(d.from) - expected) <= expected * 1e-6;
      }, (now.to - now.from) * Math.exp(-1));
    }
    // The window the steps aimed at: within run(), about its middle.
    const zoomed = await windowOf();
    assert.ok(zoomed.from <= mid && mid <= zoomed.to && zoomed.from >= run.enterNs && zoomed.to <= run.exitNs, `the window ${zoomed.from}–${zoomed.to} lies within run() ${run.enterNs}–${run.exitNs}, about its middle ${mid}`);
    // Then its top row of calls (below the runtime lane when it has one) is painted across the
    // track, once the server's answer for the window is drawn.
    // (the width painted, when over `over` pixels; a function, as the page's CSP needs)
    const topRowOver = (a: { selector: string; over: number }): number | false => {
      const c = (globalThis as any).document.querySelector(a.selector);
      const dpr = c.width / c.clientWidth;
      const d = c.getContext('2d').getImageData(0, Math.round((Number(c.dataset.lane ?? 0) + 9) * dpr), c.width, 1).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n / dpr > a.over ? n / dpr : false;
    };
    const childSelector = `section.process-group[data-pid="${pid}"] canvas`;
    await page.waitForFunction(topRowOver, { selector: childSelector, over: 200 }).catch(async (error: Error) => {
      const painted = await page.evaluate(topRowOver, { selector: childSelector, over: -1 });
      const status = await page.evaluate(() => (globalThis as any).document.getElementById('status').textContent as string);
      throw new Error(`the child's top row was not painted in the window ${JSON.stringify(await windowOf())}: ${painted} px, status "${status}" (${error.message})`);
    });
    const at = await paintedPoint(page, childSelector);
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction((hash) => (globalThis as any).location.hash === hash, `#call=${runCall}`);
    await page.getByRole('region', { name: 'Details' }).getByText(`${runCall} (thread`).waitFor();

    // Search: work() runs only in the child; clicked, its first call's details name the process.
    const details = page.getByRole('region', { name: 'Details' });
    const results = page.getByRole('region', { name: 'Search results' });
    await page.getByRole('searchbox', { name: 'Search' }).fill('work');
    const hit = results.getByRole('listitem').filter({ hasText: `[pid ${pid}]` }).first();
    assert.match(await hit.innerText(), /^work\s+×1234\s+.*child\.js:4/);
    await hit.click();
    await page.waitForFunction((hash) => (globalThis as any).location.hash === hash, `#call=${works[0]}`);
    await details.getByText(`${works[0]} (thread`).waitFor();
    const text = await details.innerText();
    assert.match(text, /^work/);
    assert.match(text, new RegExp(`process\\s+${pid} · .*child\\.js 1234`));
    assert.match(text, /child\.js:4/);
    assert.match(text, /run\s+test\/fixtures\/follow\/child\.js:8|run\s+.*child\.js:8/, 'its caller');
    await details.getByRole('region', { name: 'Source' }).getByText(/function work\(i\)/).waitFor();

    // Stepping within the child: next call of work, then the caller.
    await page.locator('body').click({ position: { x: 5, y: 790 } });
    await page.keyboard.press('n');
    await page.waitForFunction((hash) => (globalThis as any).location.hash === hash, `#call=${works[1]}`);
    await details.getByText(`${works[1]} (thread`).waitFor();
    await page.keyboard.press('n');
    await details.getByText(`${works[2]} (thread`).waitFor();
    await page.keyboard.press('u');
    await details.getByText(`${runCall} (thread`).waitFor();

    // A deep link to a call of the child opens at it.
    const linked = await openPage(browser, `${spawnServed.url}#call=${works[1]}`, errors, 'deep link');
    const linkedText = await linked.getByRole('region', { name: 'Details' }).innerText();
    assert.match(linkedText, new RegExp(`^work[\\s\\S]*${works[1]!.replace('.', '\\.')} \\(thread 0\\)[\\s\\S]*process\\s+${pid}`));
    assert.deepEqual(errors, []);
  } finally {
    await stop(spawnServed);
    await browser.close();
  }
});

test('every process: an exception thrown in a child process is listed with an id qualified by its pid, and leads to its call', () => {
  const recorded = record('follow/launch.js', { args: ['spawn', 'throwing-child.js'] });
  assert.equal(recorded.result.status, 0, recorded.result.stderr);
  const v = ViewerTrace.open(recorded.dir);
  try {
    const pid = v.processes[1]?.pid;
    assert.ok(pid !== undefined, 'a child process');
    const x = ask(v, 'exceptions');
    const thrown = x.exceptions.filter((e: any) => e.process === pid);
    assert.equal(thrown.length, 1, JSON.stringify(x.exceptions));
    const e = thrown[0];
    assert.equal(e.id, `x1@${pid}`);
    assert.match(e.error, /cannot parse bad/);
    assert.equal(e.name, 'parse');
    assert.equal(e.outcome, 'caught');
    assert.match(e.call, new RegExp(`^c0\\.\\d+@${pid}$`));
    // The throw is on the root's time axis: after the spawn, within the child's thread.
    const o = ask(v, 'overview');
    assert.ok(e.thrownNs >= o.threads[1].startNs && e.thrownNs <= o.threads[1].endNs, `thrown at ${e.thrownNs}, the child ran ${o.threads[1].startNs}-${o.threads[1].endNs}`);
    // Its call is the child's parse('bad'), called by run().
    const call = ask(v, 'call', { id: e.call });
    assert.equal(call.name, 'parse');
    assert.equal(call.outcome, 'throw');
    assert.equal(call.process.pid, pid);
    assert.deepEqual(call.callers.map((f: any) => f.name).slice(-1), ['run']);
  } finally {
    v.close();
  }
});
