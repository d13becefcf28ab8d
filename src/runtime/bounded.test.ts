// The bounded store on its own: the drain's frame tracking follows the stack rules, the oldest
// segment of the thread holding the most bytes goes first and a thread's current segment never
// does, and the joined file reads as an ordinary thread file (prelude re-opening the open frames,
// kept chunks renumbered, checksums intact).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeChunkHeader, scanThreadFile, decodeFileHeader, type ThreadFileHeader } from '../format/chunk.js';
import { CHUNK_HEADER_BYTES, EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EV_RESUME, EV_SUSPEND, EV_THROW, EXT_WINDOW_START, FN_MASK, KIND_SHIFT, LANE_INDEX, RECORD_BYTES } from '../format/layout.js';
import { BoundedStore, SegmentedLane, joinLeftSegments, joinSegments, threadFileBytes } from './bounded.js';

const header = (threadId: number): ThreadFileHeader => ({ formatVersion: 1, lane: 'index', pid: 77, threadId, slot: threadId, name: `t${threadId}`, timeOriginMs: 1000 });

/** Records [kind, fn, aux] as the chunk buffer holds them (times ms = index). */
function words(records: [number, number, number][]): Int32Array {
  const out = new Int32Array(records.length * 4);
  const f64 = new Float64Array(out.buffer);
  records.forEach(([kind, fn, aux], i) => {
    out[i * 4] = (kind << KIND_SHIFT) | fn;
    out[i * 4 + 1] = aux;
    f64[i * 2 + 1] = i;
  });
  return out;
}

function chunkOf(records: [number, number, number][], firstTime: number): { header: Uint8Array; payload: Uint8Array } {
  const payload = new Uint8Array(words(records).buffer);
  const f64 = new Float64Array(payload.buffer);
  for (let i = 0; i < records.length; i++) f64[i * 2 + 1] = firstTime + i;
  const chunkHeader = new Uint8Array(CHUNK_HEADER_BYTES);
  encodeChunkHeader(chunkHeader, LANE_INDEX, 99, records.length, payload, firstTime, firstTime + records.length - 1, 0);
  return { header: chunkHeader, payload };
}

/** One full chunk's records (64 Ki: 1 MiB): enter/exit pairs of f1. */
function fullChunkRecords(): [number, number, number][] {
  const records: [number, number, number][] = [];
  for (let i = 0; i < 65536 / 2; i++) records.push([EV_ENTER, 1, 0], [EV_EXIT, 1, 0]);
  return records;
}

/**
 * A bounded store of one thread (--max-size `maxBytes`) that wrote `chunks` full chunks of
 * enter/exit pairs, inside f5 all along, the bound enforced after each, and was never joined.
 */
function recordedLane(maxBytes: number, chunks: number): { dir: string; lane: SegmentedLane; records: [number, number, number][] } {
  const dir = mkdtempSync(join(tmpdir(), 'recall-bounded-'));
  const store = new BoundedStore(dir, { maxBytes, keepMs: null });
  const lane = store.open(header(0));
  const records = fullChunkRecords();
  for (let n = 0; n < chunks; n++) {
    const c = chunkOf(records, n * 100000);
    store.wrote(lane.write(c.header, c.payload, records.length, 1000 + n, 1001 + n, new Int32Array([5, 0])));
    store.enforce(0);
  }
  return { dir, lane, records };
}

describe('SegmentedLane.track', () => {
  test('follows enters, exits, throws, suspends, resumes and drop markers as every reader does', () => {
    const lane = new SegmentedLane(tmpdir(), header(0), 1 << 30, 1e9);
    lane.track(words([[EV_ENTER, 1, 0], [EV_ENTER, 2, 0], [EV_ENTER, 3, 7], [EV_SUSPEND, 3, 7], [EV_ENTER, 4, 0]]), 0, 5);
    assert.deepEqual(Array.from(lane.snapshotFrames()), [1, 0, 2, 0, 4, 0]);
    // An exit of 2 closes 4 too (its exit was lost); a resume re-opens 3 with its serial.
    lane.track(words([[EV_EXIT, 2, 0], [EV_RESUME, 3, 7], [EV_EXIT, 9, 0]]), 0, 3);
    assert.deepEqual(Array.from(lane.snapshotFrames()), [1, 0, 3, 7], 'an exit of a function with no open frame changes nothing');
    lane.track(words([[EV_THROW, 3, 0]]), 0, 1);
    assert.deepEqual(Array.from(lane.snapshotFrames()), [1, 0]);
    lane.track(words([[EV_ENTER, 5, 0], [EV_DROPPED, 0, 12]]), 0, 2);
    assert.deepEqual(Array.from(lane.snapshotFrames()), [], 'the stack is unknown across a drop');
    // Deep stacks grow the frame table.
    const deep: [number, number, number][] = [];
    for (let i = 0; i < 1000; i++) deep.push([EV_ENTER, (i % 50) + 1, 0]);
    lane.track(words(deep), 0, deep.length);
    assert.equal(lane.snapshotFrames().length, 2000);
  });
});

describe('BoundedStore', () => {
  test('deletes the oldest segment of the thread holding the most, never a current segment, and joins what is kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recall-bounded-'));
    const store = new BoundedStore(dir, { maxBytes: 4 << 20, keepMs: null });
    const busy = store.open(header(0));
    const quiet = store.open(header(1));
    // One chunk per segment at this bound; each chunk is 64 Ki records (1 MiB).
    const big = fullChunkRecords();
    const quietChunk = chunkOf([[EV_ENTER, 2, 0], [EV_EXIT, 2, 0]], 0);
    store.wrote(quiet.write(quietChunk.header, quietChunk.payload, 2, 1000, 1001, new Int32Array(0)));
    // The busy thread is inside f3 (opened before its first chunk) when its chunks are written.
    busy.track(words([[EV_ENTER, 3, 0]]), 0, 1);
    for (let n = 0; n < 8; n++) {
      const c = chunkOf(big, n * 100000);
      store.wrote(busy.write(c.header, c.payload, big.length, 1000 + n, 1001 + n, busy.snapshotFrames()));
      store.enforce(0);
      assert.ok(store.bytes <= (4 << 20) + (1 << 20) + 4096, `within the bound after chunk ${n}: ${store.bytes}`);
    }
    assert.equal(quiet.discardedChunks, 0, 'the quiet thread keeps its only (current) segment');
    assert.ok(busy.discardedChunks >= 4, `the busy thread's oldest went: ${busy.discardedChunks}`);
    const segments = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    assert.equal(segments.length, 8 - busy.discardedChunks + 1);

    const joined = busy.join();
    const bytes = new Uint8Array(readFileSync(join(dir, joined.file)));
    const scan = scanThreadFile(bytes);
    assert.deepEqual(scan.problems, [], 'checksums and sequence numbers are whole');
    assert.deepEqual(scan.chunks.map((c) => c.seq), Array.from({ length: scan.chunks.length }, (_, i) => i));
    const head = decodeFileHeader(bytes).header;
    assert.equal(head?.window?.discardedChunks, busy.discardedChunks);
    assert.equal(head?.window?.discardedRecords, busy.discardedChunks * big.length);
    assert.equal(head?.window?.prelude, 2);
    assert.equal(head?.segment, undefined, 'the joined header is an ordinary one');
    // The prelude: window-start (1 frame), then an enter of f3 at the first kept record's time.
    const prelude = scan.chunks[0]!;
    const view = new DataView(bytes.buffer, prelude.payloadOffset, prelude.payloadBytes);
    assert.equal(view.getUint32(0, true), ((EV_EXT << KIND_SHIFT) | EXT_WINDOW_START) >>> 0);
    assert.equal(view.getUint32(4, true), 1);
    assert.equal(view.getUint32(RECORD_BYTES, true) & FN_MASK, 3);
    assert.equal(view.getUint32(RECORD_BYTES, true) >>> KIND_SHIFT, EV_ENTER);
    assert.equal(view.getFloat64(RECORD_BYTES + 8, true), scan.chunks[1]!.firstTime);
    assert.equal(joined.records, (8 - busy.discardedChunks) * big.length);
    assert.equal(readdirSync(dir).filter((n) => n.startsWith('p77-t0.')).join(), 'p77-t0.idx', 'the segments are gone');
  });

  test('the size bound is the whole trace\'s: two processes writing to one directory share it, the larger thread giving way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recall-bounded-'));
    const bound = 4 << 20;
    const chunk = (1 << 20) + CHUNK_HEADER_BYTES;
    // Two processes' drains, as `recall run` starts one per traced process, both in the trace directory.
    const stores = [77, 78].map((pid) => new BoundedStore(dir, { maxBytes: bound, keepMs: null }, pid));
    const lanes = stores.map((store, i) => store.open({ ...header(0), pid: 77 + i }));
    const big = fullChunkRecords();
    let now = 1_000_000;
    for (let n = 0; n < 12; n++) {
      for (let i = 0; i < 2; i++) {
        const c = chunkOf(big, n * 100000);
        stores[i]!.wrote(lanes[i]!.write(c.header, c.payload, big.length, now, now + 1, new Int32Array(0)));
        now += 150; // each listing of the other's files is fresh
        stores[i]!.enforce(now);
        const onDisk = threadFileBytes(dir);
        // (the other process's drain deletes for the chunk this one just wrote at its own next chunk)
        assert.ok(onDisk <= bound + chunk + 4096, `after chunk ${n} of process ${77 + i}: ${onDisk} bytes on disk, bound ${bound} + one chunk`);
      }
    }
    const kept = lanes.map((lane) => lane.bytes);
    assert.ok(kept.every((b) => b >= chunk), `each process keeps its most recent data: ${kept.join(', ')}`);
    assert.ok(Math.abs(kept[0]! - kept[1]!) <= chunk + 4096, `fairly: ${kept.join(', ')}`);
    assert.ok(lanes.every((lane) => lane.discardedChunks > 0), 'both gave up their oldest');
    // A process alone (the other's files joined and final) keeps what the other's files leave.
    lanes[1]!.join();
    for (let n = 0; n < 4; n++) {
      const c = chunkOf(big, n * 100000);
      stores[0]!.wrote(lanes[0]!.write(c.header, c.payload, big.length, now, now + 1, new Int32Array(0)));
      now += 150;
      stores[0]!.enforce(now);
    }
    assert.ok(threadFileBytes(dir) <= bound + chunk + 4096, `with the other's joined file counted: ${threadFileBytes(dir)}`);
  });

  test('joinLeftSegments joins a killed process\'s segments, counting what was deleted from the first kept header', () => {
    const { dir, lane } = recordedLane(4 << 20, 7);
    // No join: as if the process died here.
    assert.deepEqual(joinLeftSegments(dir, (pid) => pid !== 77), [], 'a live process is left alone');
    assert.deepEqual(joinLeftSegments(dir, () => true), ['p77-t0.idx']);
    const bytes = new Uint8Array(readFileSync(join(dir, 'p77-t0.idx')));
    assert.deepEqual(scanThreadFile(bytes).problems, []);
    const window = decodeFileHeader(bytes).header?.window;
    assert.equal(window?.discardedChunks, lane.discardedChunks);
    assert.equal(window?.discardedRecords, lane.discardedRecords);
    assert.equal(window?.prelude, 2, 'f5 was open at every segment start');
  });

  test('a join killed half-way is resumed by joinLeftSegments: the chunks already joined are kept, the half-written one is cut, the rest appended', () => {
    const { dir, lane, records } = recordedLane(6 << 20, 9);
    const names = readdirSync(dir).filter((n) => n.endsWith('.seg')).sort((a, b) => Number(/s(\d+)/.exec(a)![1]) - Number(/s(\d+)/.exec(b)![1]));
    assert.ok(names.length >= 4, `segments kept: ${names.join(', ')}`);
    const discarded = { discardedChunks: lane.discardedChunks, discardedRecords: lane.discardedRecords, discardedBytes: lane.discardedBytes };
    // The process joined its first three segments (deleting them) and was killed writing the third's chunk.
    joinSegments(dir, 'p77-t0.idx', LANE_INDEX, names.slice(0, 3), discarded);
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.seg')), names.slice(3), 'each segment goes once it is read');
    const path = join(dir, 'p77-t0.idx');
    truncateSync(path, statSync(path).size - 1000);

    assert.deepEqual(joinLeftSegments(dir, () => true), ['p77-t0.idx']);
    const bytes = new Uint8Array(readFileSync(path));
    const scan = scanThreadFile(bytes);
    assert.deepEqual(scan.problems, [], 'the cut chunk is gone, the sequence continues');
    assert.deepEqual(scan.chunks.map((c) => c.seq), Array.from({ length: scan.chunks.length }, (_, i) => i));
    const window = decodeFileHeader(bytes).header?.window;
    assert.equal(window?.discardedChunks, lane.discardedChunks, 'the header written by the killed join stays');
    assert.equal(window?.prelude, 2);
    // Prelude, the two whole segments joined before the kill, then the segments left.
    assert.equal(scan.chunks.length, 1 + 2 + (names.length - 3));
    assert.equal(scan.records, 2 + (names.length - 1) * records.length);
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.seg')), []);
  });
});
