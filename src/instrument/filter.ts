// Which files get instrumented: JS/TS sources, not recall's own files, not node_modules unless
// asked (--node-modules), and then the user's --include / --exclude globs, matched against the
// path relative to the working directory (or the absolute path for absolute globs).

import picomatch from 'picomatch';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FilterOptions {
  cwd: string;
  include: string[];
  exclude: string[];
  nodeModules: boolean;
}

const SOURCE_EXTENSIONS = /\.(?:[cm]?js|[cm]?ts)$/;
export const TYPESCRIPT_EXTENSIONS = /\.[cm]?ts$/;

/** recall's own compiled code and dependencies: never instrumented. */
const ownRoot = fileURLToPath(new URL('../../../', import.meta.url));
const ownPrefixes = [ownRoot + 'dist' + sep, ownRoot + 'node_modules' + sep];

function compile(globs: string[]): ((path: string) => boolean) | null {
  if (globs.length === 0) return null;
  return picomatch(globs, { dot: true });
}

export function createFilter(options: FilterOptions): (filename: string) => boolean {
  const include = compile(options.include);
  const exclude = compile(options.exclude);
  const absoluteInclude = options.include.some((g) => g.startsWith('/'));
  const absoluteExclude = options.exclude.some((g) => g.startsWith('/'));
  return (filename: string): boolean => {
    if (!SOURCE_EXTENSIONS.test(filename)) return false;
    for (const prefix of ownPrefixes) if (filename.startsWith(prefix)) return false;
    if (!options.nodeModules && filename.includes(`${sep}node_modules${sep}`)) return false;
    const rel = relative(options.cwd, filename).split(sep).join('/');
    if (include && !include(rel) && !(absoluteInclude && include(filename))) return false;
    if (exclude && (exclude(rel) || (absoluteExclude && exclude(filename)))) return false;
    return true;
  };
}
