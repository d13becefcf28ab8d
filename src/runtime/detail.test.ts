// The producer side of the detail lane, on a real shared control block: what reaches the shared
// ring (and so the disk) is only what windows cover; pre-roll comes from the flight ring;
// overlapping triggers extend one window; a window ends by time or by captured calls; new
// windows are rate-limited; a full shared ring drops and counts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DT_NOTE, DT_SNAPSHOT, DT_WINDOW, decodeDetailPayload, type DetailRecord } from '../format/detail.js';
import { DEFAULT_SNAPSHOT_LIMITS } from './snapshot.js';
import type { DetailConfig } from './config.js';
import { createControl, layoutOf, S_DETAIL_DROPPED, S_DETAIL_HEAD, slotBase } from './control.js';
import { DetailLane } from './detail.js';

function config(over: Partial<DetailConfig> = {}): DetailConfig {
  return {
    onThrow: true,
    slowMs: 100,
    fn: [],
    args: [],
    onMark: false,
    capture: ['step'],
    preRollMs: 10,
    postRollMs: 5,
    postRollCalls: 3,
    limits: { ...DEFAULT_SNAPSHOT_LIMITS },
    redact: { enabled: true, keys: [] },
    ringBytes: 1 << 16,
    maxWindowsPerSecond: 2,
    ...over,
  };
}

function lane(over: Partial<DetailConfig> = {}, ringBytes = 1 << 16): { lane: DetailLane; committed: () => DetailRecord[]; dropped: () => number } {
  const sab = createControl(1, 16, ringBytes);
  const detail = new DetailLane(sab, config(over), (id) => (id === 1 ? { name: 'step', params: ['i'] } : { name: 'other', params: ['password'] }));
  detail.bind(0);
  const ctl = new Int32Array(sab);
  const layout = layoutOf(sab);
  return {
    lane: detail,
    committed: () => decodeDetailPayload(new Uint8Array(sab, layout.detailByteOffset, Atomics.load(ctl, slotBase(0) + S_DETAIL_HEAD))),
    dropped: () => ctl[slotBase(0) + S_DETAIL_DROPPED] as number,
  };
}

test('nothing is committed without a trigger; a throw commits the pre-roll and opens a window', () => {
  const { lane: d, committed } = lane();
  for (let i = 0; i < 50; i++) d.entry(1, i, undefined, [i]);
  assert.equal(committed().length, 0);
  assert.equal(d.open, 0);
  d.throwExit(2, 100, 52, undefined, ['hunter2']);
  assert.equal(d.open, 1);
  const records = committed();
  const window = records.find((r) => r.type === DT_WINDOW);
  assert.equal(window?.body?.trigger, 'throw');
  const steps = records.filter((r) => r.body?.k === 'entry').map((r) => (r.body?.args as number[])[0]);
  // Pre-roll 10 ms before t=52: the entries at t = 42..49.
  assert.deepEqual(steps, [42, 43, 44, 45, 46, 47, 48, 49]);
  const thrown = records.find((r) => r.body?.k === 'throw');
  assert.deepEqual(thrown?.body?.args, ['[redacted]'], 'a parameter named password is redacted');
});

test('a window ends after its post-roll calls, and overlapping triggers extend it', () => {
  const { lane: d, committed } = lane();
  d.throwExit(1, 10, 1, undefined, [1]);
  d.callExit(1, 2, false, 'r', undefined, [2]);
  d.throwExit(1, 20, 3, undefined, [3]); // a second exception inside the window: extends it
  for (let t = 4; t < 10; t++) d.callExit(1, t, false, t, undefined, [t]);
  assert.equal(d.open, 0);
  const windows = committed().filter((r) => r.type === DT_WINDOW).map((r) => r.body);
  assert.ok(windows.every((w) => w?.id === 1), 'one window');
  assert.equal(windows[windows.length - 1]?.closed, true);
  const calls = committed().filter((r) => r.body?.k === 'call').map((r) => (r.body?.args as number[])[0]);
  // 1 call before the extension, then 3 (postRollCalls) after it.
  assert.deepEqual(calls, [2, 4, 5, 6]);
});

test('a window ends at its post-roll time', () => {
  const { lane: d, committed } = lane();
  d.slowExit(1, 100, 150, 'ret', undefined, [1]);
  assert.equal(d.open, 1);
  assert.equal(d.callExit(1, 103, false, 1, undefined, [2]) > 0, true);
  assert.equal(d.callExit(1, 106, false, 1, undefined, [3]), 0, 'past 100 + 5 ms');
  assert.equal(d.open, 0);
  const slow = committed().find((r) => r.body?.k === 'slow');
  assert.equal(slow?.body?.ms, 150);
  assert.equal(slow?.body?.ret, 'ret');
});

test('with the throw trigger off, an exception after a window has ended opens none, and one inside it is recorded', () => {
  const { lane: d, committed } = lane({ onThrow: false });
  d.slowExit(1, 100, 150, 'ret', undefined, [1]);
  assert.ok(d.caught(1, 10, 102, new Error('inside'), undefined, [2]) > 0, 'inside the window');
  // The probe still believes a window is open (it learns otherwise only at its next detail call).
  assert.equal(d.caught(1, 20, 110, new Error('after'), undefined, [3]), 0);
  assert.equal(d.throwExit(1, 30, 111, undefined, [4]), 0);
  const windows = committed().filter((r) => r.type === DT_WINDOW).map((r) => r.body);
  assert.deepEqual([...new Set(windows.map((w) => w?.trigger))], ['slow']);
  assert.equal(d.suppressed, 0, 'not a rate-limited trigger: no trigger at all');
});

test('new windows are rate-limited, and suppressed triggers are counted', () => {
  const { lane: d, committed } = lane({ postRollMs: 0.001, postRollCalls: 1 });
  let captured = 0;
  for (let k = 0; k < 10; k++) {
    if (d.throwExit(1, k * 100, k, undefined, [k]) !== 0) captured++;
    d.callExit(1, k + 0.5, false, 0, undefined, [k]); // ends each window
  }
  // A burst of 10 within 10 ms: the bucket holds 2.
  assert.equal(captured, 2);
  assert.equal(d.suppressed, 8);
  assert.equal(new Set(committed().filter((r) => r.type === DT_WINDOW).map((r) => r.body?.id)).size, 2);
});

test('notes are always committed; a full shared ring drops and counts', () => {
  const { lane: d, committed, dropped } = lane({}, 1024);
  d.note({ event: 'span', kind: 'http.server' }, 1);
  assert.equal(committed()[0]?.type, DT_NOTE);
  for (let i = 0; i < 50; i++) d.note({ event: 'x', text: 'y'.repeat(100) }, 2 + i);
  assert.ok(dropped() > 0);
  // Whatever was committed is whole and readable.
  assert.ok(committed().every((r) => r.body !== null));
  assert.ok(committed().length < 51);
  assert.ok(committed().every((r) => r.type === DT_NOTE || r.type === DT_SNAPSHOT));
});

test('exception chains: throw exits that follow each other, and the catch, share an id', () => {
  const { lane: d, committed } = lane();
  const error = new Error('boom');
  d.thrownValue(error);
  d.throwExit(1, 10, 1, undefined, [1]);
  d.noteChainEnd(12);
  d.throwExit(2, 12, 1.1, undefined, ['x']);
  d.noteChainEnd(14);
  d.caught(1, 20, 1.2, error, undefined, [5]);
  const bodies = committed().filter((r) => r.type === DT_SNAPSHOT).map((r) => r.body);
  assert.deepEqual(bodies.map((b) => b?.k), ['throw', 'throw', 'catch']);
  assert.deepEqual(new Set(bodies.map((b) => b?.x)).size, 1);
  assert.equal((bodies[0]?.error as { message?: string }).message, 'boom');
  assert.equal(bodies[2]?.error, undefined, 'the same error is not described twice');
});
