// The streaming form of the chunk checksum (lanesInit / per-word lanes / lanesFold, as the trace
// writer runs it while it completes records) gives exactly what checksumWords4 gives over the
// whole payload, however the payload is cut into 4-word pieces.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECKSUM_PRIME, checksumInit, checksumWords4, lanesFold, lanesInit } from './checksum.js';
import { mulberry32 } from './mulberry32.js';

test('lanes fed piece by piece fold to checksumWords4 of the whole payload', () => {
  const next = mulberry32(42);
  for (let round = 0; round < 50; round++) {
    const groups = 1 + Math.floor(next() * 300);
    const words = new Uint32Array(groups * 4);
    for (let i = 0; i < words.length; i++) words[i] = Math.floor(next() * 0x100000000);
    const lanes = new Int32Array(4);
    lanesInit(lanes);
    let at = 0;
    while (at < groups) {
      const piece = Math.min(groups - at, 1 + Math.floor(next() * 40));
      for (let w = at * 4; w < (at + piece) * 4; w++) lanes[w & 3] = Math.imul((lanes[w & 3] as number) ^ (words[w] as number), CHECKSUM_PRIME);
      at += piece;
    }
    const state = round === 0 ? checksumInit() : Math.floor(next() * 0x100000000);
    assert.equal(lanesFold(state, lanes), checksumWords4(state, words), `round ${round}`);
  }
});
