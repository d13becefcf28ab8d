// What both flavours of module hooks do (the off-thread module.register hooks on Node 20, and
// the in-thread module.registerHooks hooks on Node versions that have them): decide how a
// loaded source is compiled — instrumented, type-stripped, or left alone — and resolve the
// TypeScript naming conventions Node lacks.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instrumentCached } from './cache.js';
import { TYPESCRIPT_EXTENSIONS } from './filter.js';
import { PROBES_GLOBAL } from './markers.js';
import { typescriptFormat } from './module-format.js';
import { stripTypesOnly } from './transform.js';

export interface LoadSettings {
  accept: (filename: string) => boolean;
  cacheDir: string | null;
}

const ALREADY_INSTRUMENTED = `${PROBES_GLOBAL}$B=${PROBES_GLOBAL}.m(`;

/** The instrumented source of a JS module, or null to leave it as loaded. */
export function instrumentLoaded(source: string, filename: string, format: 'module' | 'commonjs', settings: LoadSettings): string | null {
  // Hooks can be chained twice (e.g. inherited by a worker and registered again): instrument once.
  if (!settings.accept(filename) || source.includes(ALREADY_INSTRUMENTED)) return null;
  return instrumentCached(source, { filename, format, typescript: false }, settings.cacheDir).code;
}

export function isTypeScript(filename: string): boolean {
  return TYPESCRIPT_EXTENSIONS.test(filename);
}

/** Compile a TypeScript file: its module format and the JS to run (instrumented when accepted). */
export function loadTypeScript(filename: string, settings: LoadSettings, source = readFileSync(filename, 'utf8')): { format: 'module' | 'commonjs'; source: string } {
  const format = typescriptFormat(filename, source);
  const code = settings.accept(filename)
    ? instrumentCached(source, { filename, format, typescript: true }, settings.cacheDir).code
    : stripTypesOnly(source, filename);
  return { format, source: code };
}

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
