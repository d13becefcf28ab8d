// recall's own files: its compiled code and its dependencies. They are never instrumented, and
// the off-thread ES module hooks pass the hooks thread's own imports of them straight through.
// recall's dependencies are not always under its own directory (npm hoists them into the
// program's node_modules; a linked checkout resolves them through a symlink elsewhere), so what
// recall loads lazily in the program's thread (the instrumenter, source map readers) is loaded
// inside loadingOwn(), and the synchronous loaders leave everything loaded meanwhile alone:
// with --node-modules it would otherwise be instrumented, by the instrumenter it is loading.

import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = new URL('../../../', import.meta.url);
const urlPrefixes = [new URL('dist/', root).href, new URL('node_modules/', root).href];
const pathPrefixes = urlPrefixes.map((url) => fileURLToPath(url).replace(/[\\/]$/, sep));

/** Whether an absolute path is one of recall's own files. */
export function isOwnFile(filename: string): boolean {
  for (const prefix of pathPrefixes) if (filename.startsWith(prefix)) return true;
  return false;
}

/** Whether a file: URL is one of recall's own files. */
export function isOwnUrl(url: string): boolean {
  for (const prefix of urlPrefixes) if (url.startsWith(prefix)) return true;
  return false;
}

let ownLoads = 0;

/** Run `load`, which loads recall's own code: modules loaded meanwhile are recall's (see isLoadingOwn). */
export function loadingOwn<T>(load: () => T): T {
  ownLoads++;
  try {
    return load();
  } finally {
    ownLoads--;
  }
}

/** Whether this thread is loading recall's own code right now (synchronously, in loadingOwn). */
export function isLoadingOwn(): boolean {
  return ownLoads > 0;
}
