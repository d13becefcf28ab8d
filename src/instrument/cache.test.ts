// The transform cache: a second transform of the same source is a cache hit; any change to the
// source, file name or format is a miss; a broken cache directory falls back to transforming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeFingerprint, FINGERPRINT_FILE, fingerprintFileText, instrumentCached, cacheKey } from './cache.js';
import { instrumentSource } from './transform.js';

const source = 'function add(a, b) { return a + b; }\nconsole.log(add(1, 2));\n';
const options = { filename: '/project/add.js', format: 'commonjs' as const, typescript: false };

test('second transform of the same source comes from the cache, byte-identical', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recall-cache-'));
  const first = instrumentCached(source, options, dir, instrumentSource);
  const second = instrumentCached(source, options, dir, instrumentSource);
  assert.equal(first.fromCache, false);
  assert.equal(second.fromCache, true);
  assert.equal(second.code, first.code);
  assert.match(first.code, /__recall\.en\(/);
});

test('the key changes with the source, the file name and the format', () => {
  const base = cacheKey(source, options);
  assert.notEqual(cacheKey(source + ' ', options), base);
  assert.notEqual(cacheKey(source, { ...options, filename: '/project/other.js' }), base);
  assert.notEqual(cacheKey(source, { ...options, format: 'module' }), base);
  assert.notEqual(cacheKey(source, { ...options, typescript: true }), base);
});

test('an unusable cache directory still transforms', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'recall-cache-')), 'not-a-dir');
  writeFileSync(file, 'x');
  const result = instrumentCached(source, options, file, instrumentSource);
  assert.equal(result.fromCache, false);
  assert.match(result.code, /__recall\.en\(/);
});

test('sources that do not parse are not cached', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recall-cache-'));
  const broken = 'function (';
  assert.equal(instrumentCached(broken, options, dir, instrumentSource).code, broken);
  assert.deepEqual(readdirSync(dir), []);
});

test('the build wrote the fingerprint of the instrumenter files it built, with their stamp', () => {
  const dir = new URL('./', import.meta.url);
  const written = readFileSync(new URL(FINGERPRINT_FILE, dir), 'utf8');
  assert.equal(written, fingerprintFileText(dir));
  assert.match(written, /^[0-9a-f]{16} \d+:[\d.]+ \d+:[\d.]+\n$/);
  assert.equal(written.split(' ')[0], computeFingerprint(dir));
});
