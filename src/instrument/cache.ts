// The content-hash transform cache: instrumented output keyed by recall version, transform
// revision, file name, module format and source text, so a second run of the same code reads
// one small file instead of parsing and rewriting. Writes are atomic (temp file + rename);
// any cache failure falls back to transforming, never to an error. It does not load the
// instrumenter itself (the parser is tens of milliseconds of start-up): callers hand it in,
// and the ES module hooks load it only on a cache miss.

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RECALL_VERSION } from '../format/version.js';
import { contentKey, murmur128 } from './source-hash.js';
import type { InstrumentOptions, InstrumentResult, ModuleFormat } from './transform.js';

/** The instrumenter's compiled files, whose text is its fingerprint. */
const FINGERPRINTED_FILES = ['transform.js', 'markers.js'];

/** Where `npm run build` (scripts/postbuild.mjs) writes the fingerprint, beside those files. */
export const FINGERPRINT_FILE = 'transform.fingerprint';

/** The fingerprint of the instrumenter's files as they are now (hashing ~40 KB: ~2 ms before the JIT warms up). */
export function computeFingerprint(dir: URL): string {
  let text = '';
  for (const file of FINGERPRINTED_FILES) {
    try {
      text += readFileSync(new URL(file, dir), 'utf8');
    } catch {
      text += file;
    }
    text += '\0';
  }
  return murmur128(text).slice(0, 16);
}

/** The files' sizes and modification times: whether they are still the files the build hashed. */
function filesStamp(dir: URL): string {
  return FINGERPRINTED_FILES.map((file) => {
    const stat = statSync(new URL(file, dir));
    return `${stat.size}:${stat.mtimeMs}`;
  }).join(' ');
}

/** The fingerprint file's text: the fingerprint, then the stamp of the files it hashed. */
export function fingerprintFileText(dir: URL): string {
  return `${computeFingerprint(dir)} ${filesStamp(dir)}\n`;
}

/**
 * Fingerprint of the instrumenter itself (its compiled files), so that any change to what it
 * emits invalidates old cache entries without anyone having to remember to bump a number.
 * Computed at build time and read here, as long as the files are the ones it hashed (a `tsc`
 * without the rest of the build changes them): every traced process's start-up needs it.
 */
const TRANSFORM_FINGERPRINT = (() => {
  // '../instrument/': this code also runs from the preload bundle in dist/src/runtime.
  const dir = new URL('../instrument/', import.meta.url);
  try {
    const [fingerprint, ...stamp] = readFileSync(new URL(FINGERPRINT_FILE, dir), 'utf8').trim().split(' ');
    if (fingerprint && /^[0-9a-f]{16}$/.test(fingerprint) && stamp.join(' ') === filesStamp(dir)) return fingerprint;
  } catch {
    // not built by npm run build: hash the files now
  }
  return computeFingerprint(dir);
})();

export interface CachedTransform {
  code: string;
  fromCache: boolean;
}

/** The cache key of `source` instrumented with `options` (source-hash.ts: no node:crypto for small sources). */
export function cacheKey(source: string, options: InstrumentOptions): string {
  const settings = `${RECALL_VERSION}\0${TRANSFORM_FINGERPRINT}\0${options.filename}\0${options.format}\0${options.typescript}\0${(options.capture ?? []).join('\n')}\0${options.detail !== false}`;
  return contentKey([settings, source]);
}

function entryPath(cacheDir: string, key: string): string {
  return join(cacheDir, key.slice(0, 2), key.slice(2) + '.js');
}

/** The cached instrumented code for `key`, or null. */
export function readCache(cacheDir: string | null, key: string): string | null {
  if (!cacheDir) return null;
  try {
    return readFileSync(entryPath(cacheDir, key), 'utf8');
  } catch {
    return null;
  }
}

/** Where a module's out-of-line source map is kept (see InstrumentOptions.mapKey). */
export function mapPath(cacheDir: string, key: string): string {
  return join(cacheDir, key.slice(0, 2), key.slice(2) + '.map');
}

function writeAtomically(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Keep an instrumented result; its out-of-line map first, so code never names a missing map.
 * `mapKey` is the key the code names its map by, when that is not its own (see instrumentDetected).
 */
export function writeCache(cacheDir: string | null, key: string, result: InstrumentResult, mapKey = key): void {
  if (!cacheDir) return;
  try {
    if (result.map !== undefined) writeAtomically(mapPath(cacheDir, mapKey), result.map);
    writeAtomically(entryPath(cacheDir, key), result.code);
  } catch {
    // a read-only or full disk only costs the next run a transform
  }
}

export type Instrument = (source: string, options: InstrumentOptions) => InstrumentResult;

export function instrumentCached(source: string, options: InstrumentOptions, cacheDir: string | null, instrument: Instrument): CachedTransform {
  const key = cacheKey(source, options);
  const cached = readCache(cacheDir, key);
  if (cached !== null) return { code: cached, fromCache: true };
  // Out-of-line maps live in the cache, so they are only asked for when there is one.
  const result = instrument(source, cacheDir ? { ...options, mapKey: key } : options);
  // Sources that do not parse are not cached: Node reports their syntax error each time.
  if (result.parseError === undefined) writeCache(cacheDir, key, result);
  return { code: result.code, fromCache: false };
}

/**
 * Instrument a file whose format Node leaves to syntax detection (a .js file in a package with
 * no "type"): instrumented as CommonJS unless it only parses as an ES module. A warm start finds
 * it under either format's key without loading the parser; a miss parses once for CommonJS
 * sources (the common case) and twice for ES module ones.
 */
export function instrumentDetected(source: string, options: InstrumentOptions, cacheDir: string | null, instrument: Instrument): CachedTransform & { format: ModuleFormat } {
  const keys = { commonjs: cacheKey(source, { ...options, format: 'commonjs' }), module: '' };
  const asCommonJs = readCache(cacheDir, keys.commonjs);
  if (asCommonJs !== null) return { code: asCommonJs, fromCache: true, format: 'commonjs' };
  keys.module = cacheKey(source, { ...options, format: 'module' });
  const asModule = readCache(cacheDir, keys.module);
  if (asModule !== null) return { code: asModule, fromCache: true, format: 'module' };
  const result = instrument(source, { ...options, format: 'commonjs', detectModule: true, ...(cacheDir ? { mapKey: keys.commonjs } : {}) });
  const format = result.format ?? 'commonjs';
  if (result.parseError === undefined) writeCache(cacheDir, keys[format], result, keys.commonjs);
  return { code: result.code, fromCache: false, format };
}
