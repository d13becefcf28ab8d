// The content hash behind the transform cache's keys. node:crypto takes 6-10 ms to load (Node 24,
// on this machine), paid by every traced process and thread at start-up, to hash sources that
// are mostly a few kilobytes. So text up to SMALL_TEXT characters is hashed here, with
// MurmurHash3 x86_128 over its UTF-16 code units (two per 32-bit word): 128 bits, ample against
// accidental collisions, which is all a cache keyed on the user's own files has to fear. Larger
// text (a bundled dependency of megabytes) goes to node:crypto's SHA-256, loaded then: native,
// it is faster than this loop on such sizes. The prefix tells the two apart.

import type { Hash } from 'node:crypto';

/** Text up to this many characters is hashed with MurmurHash3 here; longer, with SHA-256. */
export const SMALL_TEXT = 1 << 20;

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function hex(h: number): string {
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The code units i and i + 1 of `text` as one word (0 past its end). */
function word(text: string, i: number, n: number): number {
  const low = i < n ? text.charCodeAt(i) : 0;
  const high = i + 1 < n ? text.charCodeAt(i + 1) : 0;
  return low | (high << 16);
}

/** MurmurHash3 x86_128 of `text`'s UTF-16 code units, as 32 hex digits. */
export function murmur128(text: string, seed = 0): string {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const n = text.length;
  const blocks = n - (n & 7);
  let i = 0;
  for (; i < blocks; i += 8) {
    let k1 = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    let k2 = text.charCodeAt(i + 2) | (text.charCodeAt(i + 3) << 16);
    let k3 = text.charCodeAt(i + 4) | (text.charCodeAt(i + 5) << 16);
    let k4 = text.charCodeAt(i + 6) | (text.charCodeAt(i + 7) << 16);
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, C2);
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (Math.imul(h1 + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(k2, C2);
    k2 = (k2 << 16) | (k2 >>> 16);
    h2 ^= Math.imul(k2, C3);
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2 + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(k3, C3);
    k3 = (k3 << 17) | (k3 >>> 15);
    h3 ^= Math.imul(k3, C4);
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (Math.imul(h3 + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(k4, C4);
    k4 = (k4 << 18) | (k4 >>> 14);
    h4 ^= Math.imul(k4, C1);
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (Math.imul(h4 + h1, 5) + 0x32ac3b17) | 0;
  }
  if (i < n) {
    // The tail: up to seven code units, as up to four words, zero-padded.
    let k4 = word(text, i + 6, n);
    let k3 = word(text, i + 4, n);
    let k2 = word(text, i + 2, n);
    let k1 = word(text, i, n);
    if (k4 !== 0) {
      k4 = Math.imul(k4, C4);
      k4 = (k4 << 18) | (k4 >>> 14);
      h4 ^= Math.imul(k4, C1);
    }
    if (k3 !== 0) {
      k3 = Math.imul(k3, C3);
      k3 = (k3 << 17) | (k3 >>> 15);
      h3 ^= Math.imul(k3, C4);
    }
    if (k2 !== 0) {
      k2 = Math.imul(k2, C2);
      k2 = (k2 << 16) | (k2 >>> 16);
      h2 ^= Math.imul(k2, C3);
    }
    k1 = Math.imul(k1, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, C2);
  }
  // The length in bytes, as the algorithm takes it (two per code unit; a tail of zero code
  // units is told apart from a shorter text by this).
  const bytes = n * 2;
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  return hex(h1) + hex(h2) + hex(h3) + hex(h4);
}

let createHash: ((algorithm: string) => Hash) | null = null;

/** SHA-256 of the parts, joined by NUL, in hex (node:crypto, loaded on first use). */
function sha256(parts: readonly string[]): string {
  createHash ??= (process.getBuiltinModule('node:crypto') as typeof import('node:crypto')).createHash;
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/**
 * A hex key for `parts` (small settings, then a source text): MurmurHash3 of each part while
 * the text is small, then 'm'; SHA-256 of them all beyond SMALL_TEXT characters, then 's'.
 */
export function contentKey(parts: readonly string[]): string {
  let size = 0;
  for (const part of parts) size += part.length;
  if (size > SMALL_TEXT) return sha256(parts) + 's';
  let key = '';
  for (const part of parts) key += murmur128(part);
  return key + 'm';
}
