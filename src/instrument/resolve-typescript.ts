// Resolving the TypeScript naming conventions Node lacks ('./x.js' naming './x.ts', './x'
// naming './x.ts' or './x/index.ts'), for both flavours of module hooks. Light on purpose: the
// ES module hooks thread loads it at start-up.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TS_ALTERNATIVES: [RegExp, string][] = [
  [/\.js$/, '.ts'],
  [/\.mjs$/, '.mts'],
  [/\.cjs$/, '.cts'],
];

/**
 * After Node failed to resolve a relative specifier: the TypeScript file it names by
 * convention ('./x.js' for './x.ts', './x' for './x.ts' or './x/index.ts'), or null.
 */
export function resolveTypeScript(specifier: string, parentURL: string | undefined): string | null {
  const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/');
  if (!relative || !parentURL || !parentURL.startsWith('file:')) return null;
  const candidates: string[] = [];
  for (const [pattern, replacement] of TS_ALTERNATIVES) if (pattern.test(specifier)) candidates.push(specifier.replace(pattern, replacement));
  if (!/\.[a-z]+$/i.test(specifier)) candidates.push(specifier + '.ts', specifier + '/index.ts');
  for (const candidate of candidates) {
    const url = new URL(candidate, parentURL);
    if (existsSync(fileURLToPath(url))) return url.href;
  }
  return null;
}

export function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
