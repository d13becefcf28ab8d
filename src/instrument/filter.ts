// Which files get instrumented: JS/TS sources, not recall's own files, not node_modules unless
// asked (--node-modules), and then the user's --include / --exclude globs, matched against the
// path relative to the working directory (or the absolute path for absolute globs).

import { createRequire } from 'node:module';
import { relative, sep } from 'node:path';
import { isOwnFile } from './own-files.js';

type Picomatch = typeof import('picomatch');

/**
 * Required, not imported: on Node 20's hooks thread an import of picomatch would pass through
 * recall's own hooks while they wait for this module (see esm-hooks.ts). And only when there
 * are globs: loading it is a few milliseconds of every traced thread's start-up (and of
 * `recall run`'s, before the program starts).
 */
export function loadPicomatch(): Picomatch {
  return createRequire(import.meta.url)('picomatch') as Picomatch;
}

export interface FilterOptions {
  cwd: string;
  include: string[];
  exclude: string[];
  nodeModules: boolean;
}

const SOURCE_EXTENSIONS = /\.(?:[cm]?js|[cm]?ts)$/;
export const TYPESCRIPT_EXTENSIONS = /\.[cm]?ts$/;

function compile(globs: string[]): ((path: string) => boolean) | null {
  if (globs.length === 0) return null;
  return loadPicomatch()(globs, { dot: true });
}

export function createFilter(options: FilterOptions): (filename: string) => boolean {
  const include = compile(options.include);
  const exclude = compile(options.exclude);
  const absoluteInclude = options.include.some((g) => g.startsWith('/'));
  const absoluteExclude = options.exclude.some((g) => g.startsWith('/'));
  return (filename: string): boolean => {
    if (!SOURCE_EXTENSIONS.test(filename)) return false;
    if (isOwnFile(filename)) return false;
    if (!options.nodeModules && filename.includes(`${sep}node_modules${sep}`)) return false;
    const rel = relative(options.cwd, filename).split(sep).join('/');
    if (include && !include(rel) && !(absoluteInclude && include(filename))) return false;
    if (exclude && (exclude(rel) || (absoluteExclude && exclude(filename)))) return false;
    return true;
  };
}
