// validateManifest: what a reader accepts from manifest.json, what it fills in, and what it
// refuses (with which RecallError code).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecallError } from './errors.js';
import { FORMAT_VERSION } from './layout.js';
import { isTraceFileName, validateManifest, type Manifest } from './manifest.js';

const WHERE = '/traces/t1/manifest.json';

/** A manifest as the recorder writes it at shutdown. */
function goodManifest(): Manifest {
  return {
    format: 'recall-trace',
    formatVersion: FORMAT_VERSION,
    recallVersion: '0.1.0',
    status: 'complete',
    command: ['node', 'app.js'],
    cwd: '/work/app',
    pid: 4242,
    nodeVersion: 'v20.11.0',
    startedAt: '2025-01-01T00:00:00.000Z',
    startEpochMs: 1735689600000,
    endEpochMs: 1735689601234,
    clock: { source: 'performance.now', mode: 'exact', resolutionNs: 40, readCostNs: 30, precision: 'exact: every event timestamped' },
    options: { ringRecords: 262144, threadSlots: 64, include: ['src/**'], exclude: [], nodeModules: false, durationSeconds: null, maxBytes: null, keepMs: null, snapshot: false },
    threads: [
      {
        id: 0,
        name: 'main',
        slot: 0,
        file: 'p4242-t0.idx',
        timeOriginMs: 1735689599900.5,
        produced: 120,
        written: 100,
        dropped: 20,
        discarded: 0,
        bytes: 1800,
        chunks: 1,
        closed: true,
        detail: { file: 'p4242-t0.det', records: 3, bytes: 700, chunks: 1, dropped: 0 },
      },
      { id: 1, name: 'worker 1', slot: 1, file: 'p4242-t1.idx', timeOriginMs: 1735689600100.25, produced: 10, written: 10, dropped: 0, discarded: 0, bytes: 296, chunks: 1, closed: true },
    ],
    threadsUntraced: 0,
    functionsFile: 'functions.jsonl',
    functions: [{ id: 1, name: 'main', file: '/work/app/app.js', line: 1, column: 1, kind: 'function' }],
    totals: { produced: 130, written: 110, dropped: 20, discarded: 0, bytes: 2096, chunks: 2 },
    shutdown: { reason: 'exit', exitCode: 0 },
    notes: [],
    detail: {
      triggers: ['throw', 'slow=100ms'],
      capture: [],
      preRollMs: 100,
      postRollMs: 20,
      postRollCalls: 100,
      limits: { depth: 4, keys: 32, items: 32, string: 256, bytes: 4096 },
      redact: { enabled: true, keys: [] },
      maxWindowsPerSecond: 20,
    },
    windows: [{ thread: 0, id: 1, trigger: 'throw', fn: 1, atNs: 5000, fromNs: 0, toNs: 25000, records: 3 }],
    parentPid: null,
    rootPid: 4242,
    processes: [{ pid: 4242, parentPid: null, command: ['node', 'app.js'], startEpochMs: 1735689600000, manifest: 'manifest.json', functionsFile: 'functions.jsonl' }],
    snapshots: [],
  };
}

function rejects(value: unknown, code: string, message?: RegExp): void {
  assert.throws(
    () => validateManifest(value, WHERE),
    (error: unknown) => {
      assert.ok(error instanceof RecallError, `expected a RecallError, got ${String(error)}`);
      assert.equal(error.code, code);
      assert.ok(error.message.includes(WHERE), `message names the file: ${error.message}`);
      if (message) assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    },
  );
}

describe('validateManifest', () => {
  test("a child process's manifest keeps its links; unusable process entries are left out", () => {
    const child = { ...goodManifest(), pid: 4300, parentPid: 4242, rootPid: 4242, functionsFile: 'p4300.functions.jsonl' };
    const m = validateManifest({ ...child, processes: [{ pid: 4300, manifest: 'p4300.manifest.json' }, { pid: 'x' }, { pid: 9, manifest: '../x' }] }, WHERE);
    assert.equal(m.parentPid, 4242);
    assert.equal(m.rootPid, 4242);
    assert.equal(m.functionsFile, 'p4300.functions.jsonl');
    assert.deepEqual(m.processes, [
      { pid: 4300, parentPid: null, command: [], startEpochMs: 0, manifest: 'p4300.manifest.json', functionsFile: 'functions.jsonl' },
    ]);
  });

  test('accepts a good manifest unchanged', () => {
    const manifest = goodManifest();
    assert.deepEqual(validateManifest(JSON.parse(JSON.stringify(manifest)), WHERE), manifest);
  });

  test('accepts salvaged and recording manifests', () => {
    for (const status of ['salvaged', 'recording'] as const) {
      const manifest = { ...goodManifest(), status, endEpochMs: null, shutdown: null };
      assert.deepEqual(validateManifest(manifest, WHERE), manifest);
    }
  });

  test('fills what a minimal manifest leaves out with neutral defaults', () => {
    const m = validateManifest({ format: 'recall-trace', formatVersion: 1, pid: 7, startEpochMs: 1000, threads: [{ id: 0, file: 'p7-t0.idx' }] }, WHERE);
    assert.equal(m.status, 'recording');
    assert.deepEqual(m.command, []);
    assert.deepEqual(m.functions, []);
    assert.deepEqual(m.notes, []);
    assert.equal(m.functionsFile, 'functions.jsonl');
    assert.equal(m.endEpochMs, null);
    assert.equal(m.shutdown, null);
    assert.equal(m.threadsUntraced, 0);
    assert.equal(typeof m.clock.precision, 'string');
    assert.deepEqual(m.options.include, []);
    assert.deepEqual(m.totals, { produced: 0, written: 0, dropped: 0, discarded: 0, bytes: 0, chunks: 0 });
    // A manifest written before child processes were followed is the root's.
    assert.equal(m.parentPid, null);
    assert.equal(m.rootPid, 7);
    assert.deepEqual(m.processes, []);
    assert.deepEqual(m.threads[0], { id: 0, name: 'thread 0', slot: -1, file: 'p7-t0.idx', timeOriginMs: 0, produced: 0, written: 0, dropped: 0, discarded: 0, bytes: 0, chunks: 0, closed: false });
  });

  test('fields of the wrong type become defaults instead of crashing readers later', () => {
    const m = validateManifest(
      {
        ...goodManifest(),
        status: 'exploded',
        command: 'node app.js',
        clock: 5,
        options: null,
        totals: 'many',
        functions: [{ id: 'x' }, null, { id: 3, name: 'f' }],
        notes: ['ok', 7],
        threads: [{ id: 0, file: 'p1-t0.idx', written: 'lots', dropped: 2 }],
      },
      WHERE,
    );
    assert.equal(m.status, 'recording');
    assert.deepEqual(m.command, []);
    assert.equal(m.clock.resolutionNs, 0);
    assert.equal(m.options.threadSlots, 0);
    assert.equal(m.totals.produced, 0);
    assert.deepEqual(m.functions, [{ id: 3, name: 'f', file: '', line: 0, column: 0, kind: 'function' }]);
    assert.deepEqual(m.notes, ['ok']);
    assert.equal(m.threads[0]!.written, 0);
    assert.equal(m.threads[0]!.produced, 2);
  });

  test('rejects non-objects', () => {
    for (const value of [null, undefined, 42, 'manifest', true, [], [goodManifest()]]) {
      rejects(value, 'E_CORRUPT', /expected a JSON object/);
    }
  });

  test('rejects objects that are not recall manifests', () => {
    rejects({}, 'E_CORRUPT', /"format": "recall-trace"/);
    rejects({ ...goodManifest(), format: 'chrome-trace' }, 'E_CORRUPT', /not a recall manifest/);
    rejects({ traceEvents: [] }, 'E_CORRUPT');
  });

  test('rejects a missing or malformed formatVersion', () => {
    for (const formatVersion of [undefined, null, 0, -1, 1.5, '1', NaN]) {
      rejects({ ...goodManifest(), formatVersion }, 'E_CORRUPT', /formatVersion/);
    }
  });

  test('rejects newer format versions with E_FORMAT_VERSION and says to upgrade', () => {
    for (const formatVersion of [FORMAT_VERSION + 1, 99]) {
      rejects({ ...goodManifest(), formatVersion, recallVersion: '9.0.0' }, 'E_FORMAT_VERSION', new RegExp(`format ${formatVersion} by recall 9\\.0\\.0.*reads format ${FORMAT_VERSION}.*upgrade recall`));
    }
    // Even when the rest of it is unreadable: the version is checked first.
    rejects({ format: 'recall-trace', formatVersion: 99 }, 'E_FORMAT_VERSION', /upgrade/);
  });

  test('rejects a manifest without threads, pid or startEpochMs', () => {
    for (const key of ['threads', 'pid', 'startEpochMs'] as const) {
      const manifest: Record<string, unknown> = { ...goodManifest() };
      delete manifest[key];
      rejects(manifest, 'E_CORRUPT', /missing required fields/);
    }
    rejects({ ...goodManifest(), threads: {} }, 'E_CORRUPT');
  });

  test('rejects malformed thread entries', () => {
    for (const thread of [null, 5, 'p1-t0.idx', { id: 0 }, { file: 'p1-t0.idx' }, { id: '0', file: 'p1-t0.idx' }]) {
      rejects({ ...goodManifest(), threads: [thread] }, 'E_CORRUPT', /malformed thread entry/);
    }
  });

  test('rejects thread files that point outside the trace directory', () => {
    for (const file of ['../x', '/etc/passwd', '../../home/user/.ssh/id_rsa', 'a/../../b', 'sub/p1-t0.idx', '..', '.', '', '..\\x', 'p1\0.idx']) {
      rejects({ ...goodManifest(), threads: [{ ...goodManifest().threads[0]!, file }] }, 'E_CORRUPT', /outside the trace directory/);
    }
  });

  test('rejects detail files that point outside the trace directory', () => {
    for (const file of ['../x.det', '/etc/passwd', 'sub/p1-t0.det']) {
      const thread = { ...goodManifest().threads[0]!, detail: { file, records: 1, bytes: 1, chunks: 1, dropped: 0 } };
      rejects({ ...goodManifest(), threads: [thread] }, 'E_CORRUPT', /detail file outside the trace directory/);
    }
  });

  test('rejects a function table outside the trace directory', () => {
    for (const functionsFile of ['../functions.jsonl', '/etc/passwd', '', 7]) {
      rejects({ ...goodManifest(), functionsFile }, 'E_CORRUPT', /function table outside/);
    }
  });
});

describe('isTraceFileName', () => {
  test('plain names only', () => {
    for (const name of ['p1-t0.idx', 'p99999-t12.det', 'functions.jsonl', 'a..b.idx']) assert.equal(isTraceFileName(name), true, name);
    for (const name of ['', '.', '..', '../x', '/abs', 'dir/file', 'dir\\file', 'nul\0', 5, null]) assert.equal(isTraceFileName(name), false, String(name));
  });
});
