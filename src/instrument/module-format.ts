// Deciding whether a TypeScript file is an ES module or CommonJS, as Node would for the
// JavaScript it compiles to: .mts is ESM, .cts is CommonJS, .ts follows the nearest
// package.json "type", and a .ts file with import/export syntax in a CommonJS package is ESM
// (the way Node's own syntax detection treats ambiguous files).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const packageTypeCache = new Map<string, 'module' | 'commonjs'>();

function packageType(dir: string): 'module' | 'commonjs' {
  const cached = packageTypeCache.get(dir);
  if (cached) return cached;
  let result: 'module' | 'commonjs' = 'commonjs';
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string };
    result = pkg.type === 'module' ? 'module' : 'commonjs';
  } catch {
    const parent = dirname(dir);
    result = parent === dir ? 'commonjs' : packageType(parent);
  }
  packageTypeCache.set(dir, result);
  return result;
}

const MODULE_SYNTAX = /^\s*(?:import\s*[\w{*'"]|export\s+(?:\{|\*|default|const|let|var|function|class|async|type|interface|enum|abstract|declare))/m;

export function typescriptFormat(filename: string, source: string): 'module' | 'commonjs' {
  if (filename.endsWith('.mts')) return 'module';
  if (filename.endsWith('.cts')) return 'commonjs';
  if (packageType(dirname(filename)) === 'module') return 'module';
  return MODULE_SYNTAX.test(source) ? 'module' : 'commonjs';
}
