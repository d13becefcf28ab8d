// recall's own files: its compiled code and its dependencies. They are never instrumented, and
// the off-thread ES module hooks pass the hooks thread's own imports of them straight through.

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
