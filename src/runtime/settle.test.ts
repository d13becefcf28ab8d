// The drain's settle pass (settle.ts): in WebAssembly and in JS it gives untimed enters, exits
// and throws aux 0 and the previous record's time, leaves every other record as it was, and
// leaves lanes that fold to checksumWords4 of the settled payload, however the records are cut
// into calls. Blocks keep their bytes when the arena grows, and released blocks are reused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksumInit, checksumWords4, lanesFold, lanesInit } from '../format/checksum.js';
import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EV_RESUME, EV_SUSPEND, EV_THROW, KIND_SHIFT, RECORD_BYTES, UNTIMED_FLAG } from '../format/layout.js';
import { mulberry32 } from '../format/mulberry32.js';
import { ChunkArena, SETTLE_STATE_WORDS } from './settle.js';

const BLOCK = 1 << 16;
const KINDS = [EV_ENTER, EV_EXIT, EV_THROW, EV_SUSPEND, EV_RESUME, EV_DROPPED, EV_EXT];

/** Ring-like records: random kinds, half of enters/exits/throws untimed with stale aux and time words. */
function records(next: () => number, count: number): Int32Array {
  const words = new Int32Array(count * 4);
  for (let i = 0; i < count; i++) {
    const kind = KINDS[Math.floor(next() * KINDS.length)] as number;
    const untimed = kind <= EV_THROW && next() < 0.5;
    words[i * 4] = ((kind << KIND_SHIFT) | (untimed ? UNTIMED_FLAG : 0) | Math.floor(next() * 5000)) | 0;
    for (let w = 1; w < 4; w++) words[i * 4 + w] = Math.floor(next() * 0x100000000) | 0;
  }
  return words;
}

/** What the format says the settled records are. */
function expected(input: Int32Array): { words: Int32Array; lo: number; hi: number } {
  const out = input.slice();
  let lo = 0;
  let hi = 0;
  for (let w = 0; w < out.length; w += 4) {
    const head = out[w] as number;
    const kind = (head >>> KIND_SHIFT) & 7;
    if ((head & UNTIMED_FLAG) !== 0 && kind >= EV_ENTER && kind <= EV_THROW) {
      out[w + 1] = 0;
      out[w + 2] = lo;
      out[w + 3] = hi;
    } else {
      lo = out[w + 2] as number;
      hi = out[w + 3] as number;
    }
  }
  return { words: out, lo, hi };
}

function settleInPieces(arena: ChunkArena, input: Int32Array, next: () => number): { words: Int32Array; state: Int32Array } {
  const block = arena.allocate();
  const state = new Int32Array(SETTLE_STATE_WORDS);
  lanesInit(state.subarray(2));
  const count = input.length / 4;
  let at = 0;
  while (at < count) {
    const piece = Math.min(count - at, 1 + Math.floor(next() * 700));
    const from = block + at * RECORD_BYTES;
    arena.bytes.set(new Uint8Array(input.buffer, at * RECORD_BYTES, piece * RECORD_BYTES), from);
    arena.settle(from, from + piece * RECORD_BYTES, state);
    at += piece;
  }
  const words = new Int32Array(arena.bytes.buffer, block, count * 4).slice();
  arena.release(block);
  return { words, state };
}

test('WebAssembly is available here (else only the JS loop would be checked)', () => {
  assert.equal(new ChunkArena(BLOCK).wasm, true);
  assert.equal(new ChunkArena(BLOCK, 2, false).wasm, false);
});

test('settled records and checksum lanes match the format, in WebAssembly and in JS, however cut', () => {
  const next = mulberry32(7);
  const wasm = new ChunkArena(BLOCK);
  const js = new ChunkArena(BLOCK, 2, false);
  for (let round = 0; round < 20; round++) {
    const input = records(next, 1 + Math.floor(next() * 4000));
    const want = expected(input);
    const seed = Math.floor(next() * 1e9);
    for (const arena of [wasm, js]) {
      const { words, state } = settleInPieces(arena, input, mulberry32(seed));
      const what = `round ${round}, ${arena.wasm ? 'WebAssembly' : 'JS'}`;
      assert.deepEqual(words, want.words, what);
      const u32 = new Uint32Array(words.buffer);
      assert.equal(lanesFold(checksumInit(), state.subarray(2)), checksumWords4(checksumInit(), u32), what);
      // The time carried to the next call: that of the last record with a time of its own.
      assert.deepEqual([state[0], state[1]], [want.lo, want.hi], what);
    }
  }
});

test('blocks keep their bytes when the arena grows; released blocks are reused', () => {
  for (const useWasm of [true, false]) {
    const arena = new ChunkArena(BLOCK, 1, useWasm);
    const blocks = [arena.allocate(), arena.allocate(), arena.allocate(), arena.allocate(), arena.allocate()];
    assert.equal(new Set(blocks).size, 5);
    blocks.forEach((b, i) => arena.bytes.fill(i + 1, b, b + BLOCK));
    arena.allocate(); // grows again (capacity 4 -> 8 happened at the fifth; this one fits)
    for (let i = 0; i < 12; i++) arena.allocate(); // and again
    blocks.forEach((b, i) => {
      assert.equal(arena.bytes[b], i + 1);
      assert.equal(arena.bytes[b + BLOCK - 1], i + 1);
    });
    arena.release(blocks[2] as number);
    assert.equal(arena.allocate(), blocks[2]);
  }
});
