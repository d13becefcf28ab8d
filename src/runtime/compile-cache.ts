// V8's compile cache for the traced process's code (module.enableCompileCache, Node 22.1+), in
// a directory of recall's own cache, one for each form the instrumenter gives the code.
//
// Node keys a compile cache entry by the file's path and checks it against the source: an
// instrumented module and the same file untraced share the key and not the source. A program
// that turns the cache on itself with the default directory (TypeScript's tsc.js does, for its
// 6 MB _tsc.js) therefore overwrote its own entry with the instrumented code on every traced
// run, and the untraced run after it compiled from scratch and wrote it back: measured on
// Node 24, `tsc --version` untraced 65 ms → 129 ms after a traced run, and traced 237 ms a run
// instead of 130. With the instrumented code cached in recall's directory the two never meet,
// and a warm traced start compiles from the cache whether the program asked for it or not.
//
// Seen by the program: module.getCompileCacheDir() names recall's directory, and a later
// module.enableCompileCache() of its own returns ALREADY_ENABLED (its code is still cached).
// Left alone: Node 20 (no compile cache), --no-cache (no recall cache), and a process whose
// compile cache is already on (NODE_COMPILE_CACHE) or turned off (NODE_DISABLE_COMPILE_CACHE).

import * as nodeModule from 'node:module';
import { join } from 'node:path';

/** What the instrumenter emits differs with these; each combination gets its own directory. */
export interface CodeForm {
  detail: boolean;
  capture: readonly string[];
}

/** The directory of recall's cache that holds V8's compile cache for code of this form. */
export function compileCacheDirOf(cacheDir: string, form: CodeForm): string {
  let name = form.detail ? 'detail' : 'no-detail';
  if (form.capture.length > 0) name += `-${fnv1a(form.capture.join('\n')).toString(16).padStart(8, '0')}`;
  return join(cacheDir, 'v8', name);
}

type EnableCompileCache = (directory?: string) => { status: number; directory?: string };

/**
 * Turn on V8's compile cache in recall's directory for this form of code, where Node has one and
 * it is not on already. Says whether it is now on there.
 */
export function enableCompileCacheFor(cacheDir: string | null, form: CodeForm): boolean {
  const enable = (nodeModule as unknown as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (cacheDir === null || typeof enable !== 'function') return false;
  const getDir = (nodeModule as unknown as { getCompileCacheDir?: () => string | undefined }).getCompileCacheDir;
  if (typeof getDir === 'function' && getDir() !== undefined) return false; // on already: NODE_COMPILE_CACHE
  const wanted = compileCacheDirOf(cacheDir, form);
  try {
    // A directory that cannot be made comes back as status FAILED; nothing here may stop the program.
    return enable(wanted).directory === wanted;
  } catch {
    return false;
  }
}

/** FNV-1a, 32 bits: names a directory after a list of globs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
