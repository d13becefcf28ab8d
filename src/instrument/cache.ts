// The content-hash transform cache: instrumented output keyed by recall version, transform
// revision, file name, module format and source text, so a second run of the same code reads
// one small file instead of parsing and rewriting. Writes are atomic (temp file + rename);
// any cache failure falls back to transforming, never to an error.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RECALL_VERSION } from '../format/version.js';
import { instrumentSource, type InstrumentOptions } from './transform.js';

/**
 * Fingerprint of the instrumenter itself (its compiled files), so that any change to what it
 * emits invalidates old cache entries without anyone having to remember to bump a number.
 */
const TRANSFORM_FINGERPRINT = (() => {
  const hash = createHash('sha256');
  for (const file of ['transform.js', 'markers.js']) {
    try {
      hash.update(readFileSync(new URL(`./${file}`, import.meta.url)));
    } catch {
      hash.update(file);
    }
  }
  return hash.digest('hex').slice(0, 16);
})();

export interface CachedTransform {
  code: string;
  fromCache: boolean;
}

export function cacheKey(source: string, options: InstrumentOptions): string {
  return createHash('sha256')
    .update(`${RECALL_VERSION}\0${TRANSFORM_FINGERPRINT}\0${options.filename}\0${options.format}\0${options.typescript}\0`)
    .update(source)
    .digest('hex');
}

export function instrumentCached(source: string, options: InstrumentOptions, cacheDir: string | null): CachedTransform {
  if (!cacheDir) return { code: instrumentSource(source, options).code, fromCache: false };
  const key = cacheKey(source, options);
  const dir = join(cacheDir, key.slice(0, 2));
  const file = join(dir, key.slice(2) + '.js');
  try {
    return { code: readFileSync(file, 'utf8'), fromCache: true };
  } catch {
    // miss
  }
  const result = instrumentSource(source, options);
  if (result.parseError === undefined) {
    try {
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      writeFileSync(tmp, result.code);
      renameSync(tmp, file);
    } catch {
      // a read-only or full disk only costs the next run a transform
    }
  }
  return { code: result.code, fromCache: false };
}
