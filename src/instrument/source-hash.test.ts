// The transform cache's content hash: deterministic, sensitive to every code unit and to the
// length (a tail of NULs), spread over its 128 bits, and switching to SHA-256 for large text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { contentKey, murmur128, SMALL_TEXT } from './source-hash.js';

test('murmur128 is deterministic, 32 hex digits, and changes with every code unit at every position of the tail', () => {
  const text = 'function f(a) { return a + 1; }\n// é ✓ 𝒳';
  assert.match(murmur128(text), /^[0-9a-f]{32}$/);
  assert.equal(murmur128(text), murmur128(text.slice(0, 10) + text.slice(10)));
  const seen = new Set<string>();
  // Every prefix length covers each tail size (0-7 code units) several times.
  for (let n = 0; n <= text.length; n++) seen.add(murmur128(text.slice(0, n)));
  assert.equal(seen.size, text.length + 1);
  for (let i = 0; i < text.length; i++) {
    const changed = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
    assert.notEqual(murmur128(changed), murmur128(text), `a flipped bit at ${i}`);
  }
  assert.notEqual(murmur128('ab'), murmur128('ab\0'), 'a trailing NUL');
  assert.notEqual(murmur128(''), murmur128('\0\0\0\0\0\0\0\0'), 'a block of NULs');
  assert.notEqual(murmur128(text, 1), murmur128(text));
});

test('murmur128 spreads: near-identical sources differ in every 32-bit quarter, and set bits are balanced', () => {
  // Deterministic inputs: 2,000 values per 32-bit quarter collide by chance with p = 0.05%.
  const quarters = [new Set<string>(), new Set<string>(), new Set<string>(), new Set<string>()];
  const ones = new Array<number>(128).fill(0);
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const h = murmur128(`module.exports = ${i};\n`);
    for (let q = 0; q < 4; q++) quarters[q]!.add(h.slice(q * 8, q * 8 + 8));
    for (let b = 0; b < 128; b++) if ((parseInt(h[b >> 2]!, 16) >> (3 - (b & 3))) & 1) ones[b]!++;
  }
  for (const quarter of quarters) assert.equal(quarter.size, n);
  // Each output bit is set in about half the hashes (binomial: 1000 ± 5 sigma = ±112).
  for (let b = 0; b < 128; b++) assert.ok(Math.abs(ones[b]! - n / 2) < 112, `bit ${b} set ${ones[b]} times of ${n}`);
});

test('contentKey: MurmurHash3 per part for small text, SHA-256 beyond SMALL_TEXT, told apart by the last letter', () => {
  const small = contentKey(['settings', 'source']);
  assert.equal(small, murmur128('settings') + murmur128('source') + 'm');
  assert.notEqual(contentKey(['settings', 'source2']), small);
  assert.notEqual(contentKey(['settings2', 'source']), small);
  const large = 'x'.repeat(SMALL_TEXT + 1);
  const expected = createHash('sha256').update('settings').update('\0').update(large).update('\0').digest('hex') + 's';
  assert.equal(contentKey(['settings', large]), expected);
});
