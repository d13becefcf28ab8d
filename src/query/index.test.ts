// The index file beside the trace: built once and loaded after; rebuilt when a file it was
// built from changes (stale) or when it is damaged, truncated or garbage — never a crash; a
// salvaged trace (no manifest, a cut thread file) is indexed from what is readable. And a
// hand-made trace with a lost exit and a drop marker, where the engine must agree with the
// summary (issue 12 item 5).

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, flipIndexByte, recall, record, summaryJson, tempDir, writeTrace } from '../../test/helpers.js';
import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EXT_GC } from '../format/layout.js';
import { openQuery } from './open.js';

let recorded = '';

/** A fresh copy of the recorded fib(15) trace. */
function copy(): string {
  const dir = join(tempDir('recall-query-'), 'trace');
  cpSync(recorded, dir, { recursive: true });
  return dir;
}

/** Open, count fib's calls through the engine, close; with how the index was come by. */
function fibCalls(dir: string): { calls: number; built: boolean; written: boolean; problems: string[] } {
  const q = openQuery(dir);
  try {
    let calls = 0;
    let cursor: string | undefined;
    do {
      const page = q.engine.calls({ function: 'fib', limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
      calls += page.calls.length;
      cursor = page.cursor ?? undefined;
    } while (cursor !== undefined);
    return { calls, built: q.index.built, written: q.index.written, problems: q.problems };
  } finally {
    q.close();
  }
}

describe('the index file', () => {
  before(() => {
    const recording = record('fib.js', { args: ['15'] });
    assert.equal(recording.result.status, 0, recording.result.stderr);
    recorded = recording.dir;
  });

  test('built and written once, loaded after; at most a tenth of the trace', () => {
    const dir = copy();
    assert.deepEqual(fibCalls(dir), { calls: 1973, built: true, written: true, problems: [] });
    assert.deepEqual(fibCalls(dir), { calls: 1973, built: false, written: false, problems: [] });
    const sizes = readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).byteLength] as const);
    const index = sizes.find(([f]) => f === 'index.recall-idx')?.[1] ?? 0;
    const trace = sizes.filter(([f]) => f.endsWith('.idx')).reduce((sum, [, size]) => sum + size, 0);
    assert.ok(index > 0 && trace > 0, `index ${index}, thread files ${trace}`);
    // A small trace is mostly the index's fixed part; the tsc trace measures 2.8% (bench/query.mjs).
    assert.ok(index < trace, `index ${index} bytes, thread files ${trace}`);
  });

  test('stale: a thread file touched, or cut short, is indexed again', () => {
    const dir = copy();
    assert.equal(fibCalls(dir).built, true);
    const file = readdirSync(dir).find((f) => f.endsWith('.idx'))!;
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(dir, file), later, later);
    assert.deepEqual(fibCalls(dir), { calls: 1973, built: true, written: true, problems: [] });
    assert.equal(fibCalls(dir).built, false);
    // Cut inside the last chunk: the records before it are read, the loss reported as openTrace does.
    const size = readFileSync(join(dir, file)).byteLength;
    truncateSync(join(dir, file), size - 100);
    const cut = fibCalls(dir);
    assert.equal(cut.built, true);
    assert.ok(cut.calls < 1973, `${cut.calls} calls after the cut`);
    assert.ok(cut.problems.some((p) => p.includes('file ends inside chunk')), cut.problems.join('\n'));
  });

  test('garbage, truncated, empty or flipped index files are rebuilt, never a crash', () => {
    const dir = copy();
    assert.equal(fibCalls(dir).built, true);
    const path = join(dir, 'index.recall-idx');
    const good = readFileSync(path);
    const variants: [string, Uint8Array][] = [
      ['garbage', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)],
      ['truncated', good.subarray(0, good.byteLength >> 1)],
      ['empty', new Uint8Array(0)],
      ['a flipped byte in the eager arrays', flipIndexByte(good, 'segTime')],
      ['a flipped byte in the header', Uint8Array.from(good, (b, i) => (i === 40 ? b ^ 0x01 : b))],
    ];
    for (const [what, bytes] of variants) {
      writeFileSync(path, bytes);
      assert.deepEqual(fibCalls(dir), { calls: 1973, built: true, written: true, problems: [] }, what);
      assert.deepEqual(readFileSync(path), good, `${what}: the same index is written again`);
    }
  });

  test('a lazy group is read on first use: damage there is found then, the file deleted, and the next open rebuilds it', () => {
    const dir = copy();
    assert.equal(fibCalls(dir).built, true);
    const path = join(dir, 'index.recall-idx');
    const good = readFileSync(path);
    writeFileSync(path, flipIndexByte(good, 'fnMax'));
    const q = openQuery(dir);
    try {
      assert.equal(q.index.built, false, 'opening reads the header and the eager part only');
      assert.ok(q.engine.stackAt(0, { position: 100 }).frames.length > 0, 'questions that do not read the group are answered');
      assert.throws(() => q.engine.calls({ function: 'fib', limit: 5 }), { code: 'E_INDEX_DAMAGED' }, 'a question that reads it is told');
      assert.equal(existsSync(path), false, 'the damaged index is deleted');
    } finally {
      q.close();
    }
    assert.deepEqual(fibCalls(dir), { calls: 1973, built: true, written: true, problems: [] });
    assert.deepEqual(readFileSync(path), good, 'the same index is written again');
  });

  test('salvaged: no manifest (a killed recorder) is indexed from the thread files and functions.jsonl', () => {
    const dir = copy();
    assert.equal(fibCalls(dir).built, true);
    rmSync(join(dir, 'manifest.json'));
    const salvaged = fibCalls(dir);
    assert.equal(salvaged.calls, 1973);
    assert.equal(salvaged.built, true);
    assert.ok(salvaged.problems.some((p) => p.includes('manifest.json is missing')), salvaged.problems.join('\n'));
  });

  test('recall run into the same directory removes the previous trace\'s index', () => {
    const dir = copy();
    assert.equal(fibCalls(dir).built, true);
    assert.ok(existsSync(join(dir, 'index.recall-idx')));
    const again = recall(['run', '--quiet', '--out', dir, '--', process.execPath, join(FIXTURES, 'fib.js'), '10']);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(!existsSync(join(dir, 'index.recall-idx')));
    assert.equal(fibCalls(dir).calls, 177);
  });

  test('a directory the index cannot be written to still answers (the index kept in memory)', () => {
    const dir = copy();
    mkdirSync(join(dir, 'index.recall-idx')); // a directory where the file should go
    const q = openQuery(dir);
    try {
      assert.equal(q.index.built, true);
      assert.equal(q.index.written, false);
      assert.equal(q.engine.functionStats(0).find((f) => f.name === 'fib')?.calls, 1973);
    } finally {
      q.close();
    }
  });
});

describe('a lost exit and a drop marker: the engine agrees with the summary', () => {
  const dir = join(tempDir('recall-query-'), 'trace');
  before(() => {
    writeTrace(dir, [
      [EV_ENTER, 1, 0, 0], // e0: f1
      [EV_ENTER, 2, 0, 1], // e1: f2, whose exit is lost
      [EV_EXIT, 1, 0, 10], // e2: f1 returns: f2 ends with it (lost exit), 9 ms
      [EV_ENTER, 2, 0, 11], // e3: f2
      [EV_DROPPED, 0, 3, 12], // e4: 3 events lost: the stack is unknown, f2 forgotten
      [EV_EXIT, 2, 0, 13], // e5: an exit whose frame was forgotten: changes nothing
      [EV_ENTER, 2, 0, 20], // e6: f2, 1 ms
      [EV_EXIT, 2, 0, 21], // e7
      [EV_ENTER, 1, 0, 30], // e8: f1, still running at the end
      [EV_EXT, EXT_GC, 5, 40], // e9: the thread's last event
    ]);
  });

  for (const segmentRecords of [2, 3, 1000]) {
    test(`segments of ${segmentRecords} records`, () => {
      const summary = summaryJson(dir);
      const q = openQuery(dir, { segmentRecords, write: false });
      try {
        const e = q.engine;
        for (const fn of summary.functions) {
          const stats = e.functionStats(0).find((s) => s.name === fn.name)!;
          assert.deepEqual(
            { calls: stats.calls, totalNs: stats.totalNs, selfNs: stats.selfNs, unfinished: stats.unfinished },
            { calls: fn.calls, totalNs: fn.totalNs, selfNs: fn.selfNs, unfinished: fn.unfinished },
            fn.name,
          );
        }
        assert.deepEqual(
          summary.functions.map((f) => [f.name, f.calls, f.totalNs]).sort(),
          [
            ['f1', 2, 20e6],
            ['f2', 3, 10e6],
          ],
        );
        const lost = e.call('c0.1');
        assert.deepEqual([lost.outcome, lost.durationNs, lost.parents], ['lost-exit', 9e6, ['c0.0']]);
        assert.deepEqual(e.call('c0.0').children.map((c) => [c.name, c.calls, c.totalNs]), [['f2', 1, 9e6]]);
        const dropped = e.call('c0.3');
        assert.deepEqual([dropped.outcome, dropped.durationNs, dropped.exitNs], ['dropped', null, null]);
        assert.deepEqual(e.stackAt(0, { position: 3 }).frames.map((f) => f.id), ['c0.3']);
        assert.deepEqual(e.stackAt(0, { position: 4 }).frames, []);
        assert.deepEqual(e.stackAt(0, { position: 5 }).frames, []);
        const last = e.call('c0.8');
        assert.deepEqual([last.outcome, last.durationNs, last.exitNs], ['unfinished', 10e6, null]);
        assert.deepEqual(
          e.calls({ function: 'f2' }).calls.map((c) => [c.id, c.outcome, c.durationNs]),
          [
            ['c0.1', 'lost-exit', 9e6],
            ['c0.3', 'dropped', null],
            ['c0.6', 'return', 1e6],
          ],
        );
        assert.throws(() => e.call('c0.2'), { code: 'E_NO_MATCH' });
      } finally {
        q.close();
      }
    });
  }
});

describe('adaptive timing: the engine gives untimed calls the summary\'s estimates', () => {
  // loop() calls leaf() 300,000 times: leaf is demoted to untimed after its first timed calls
  // (then sampled), and the summary gives each untimed call leaf's mean timed self time; the
  // index's totals (hotspots, the MCP overview) must say the same, and a range over the whole
  // recording nearly the same.
  let dir = '';
  before(() => {
    const recorded = record('counted.js', { args: ['300000'] });
    assert.equal(recorded.result.status, 0, recorded.result.stderr);
    dir = recorded.dir;
  });

  test('the index totals are the summary\'s, estimates included', () => {
    const summary = summaryJson(dir);
    const leaf = summary.functions.find((f) => f.name === 'leaf')!;
    assert.ok(leaf.untimedCalls > leaf.calls / 2 && leaf.estimatedNs > 0, `most calls of leaf are untimed and estimated: ${JSON.stringify(leaf)}`);
    const q = openQuery(dir, { write: false });
    try {
      for (const fn of summary.functions) {
        const stats = q.engine.functionStats(0).find((s) => s.name === fn.name)!;
        assert.equal(stats.calls, fn.calls, fn.name);
        assert.ok(Math.abs(stats.selfNs - fn.selfNs) <= 1 && Math.abs(stats.totalNs - fn.totalNs) <= 1, `${fn.name}: engine self ${stats.selfNs} total ${stats.totalNs}, summary self ${fn.selfNs} total ${fn.totalNs}`);
      }
    } finally {
      q.close();
    }
  });

  test('a range over the whole recording is close to the summary, estimates included', () => {
    const leaf = summaryJson(dir).functions.find((f) => f.name === 'leaf')!;
    const result = recall(['summary', dir, '--format', 'json', '--from', '0ms']);
    assert.equal(result.status, 0, result.stderr);
    const range = (JSON.parse(result.stdout) as { functions: { name: string; calls: number; selfNs: number }[] }).functions.find((f) => f.name === 'leaf')!;
    assert.equal(range.calls, leaf.calls);
    // Without estimates the range gave leaf's untimed calls no time at all (it went to loop, the timed frame around them).
    // The range uses the thread's final estimate of a call, the summary the mean so far at each
    // call (higher early on, when only warm-up calls were timed): close, not equal.
    assert.ok(range.selfNs >= leaf.selfNs / 2 && range.selfNs <= leaf.selfNs * 1.5, `leaf self in the range ${range.selfNs} ns, in the summary ${leaf.selfNs} ns`);
  });
});
