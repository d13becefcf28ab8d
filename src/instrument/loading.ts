// What the synchronous loaders do (the CommonJS hook, and the in-thread module.registerHooks
// hooks on Node versions that have them): decide how a loaded source is compiled —
// instrumented, type-stripped, or left alone. The off-thread ES module hooks do the same
// asynchronously in esm-hooks.ts, loading the instrumenter only when the cache misses.

import { readFileSync } from 'node:fs';
import { instrumentCached } from './cache.js';
import { TYPESCRIPT_EXTENSIONS } from './filter.js';
import { ALREADY_INSTRUMENTED } from './markers.js';
import { typescriptFormat } from './module-format.js';
import { instrumentSource, stripTypesOnly } from './transform.js';

export { isModuleNotFound, resolveTypeScript } from './resolve-typescript.js';

export interface LoadSettings {
  accept: (filename: string) => boolean;
  cacheDir: string | null;
  /** Function-name globs whose arguments are captured on entry (InstrumentOptions.capture). */
  capture?: readonly string[];
  /** Emit the detail lane's value probes (false with --no-detail). */
  detail?: boolean;
}

/** The instrumented source of a JS module, or null to leave it as loaded. */
export function instrumentLoaded(source: string, filename: string, format: 'module' | 'commonjs', settings: LoadSettings): string | null {
  // Hooks can be chained twice (e.g. inherited by a worker and registered again): instrument once.
  if (!settings.accept(filename) || source.includes(ALREADY_INSTRUMENTED)) return null;
  return instrumentCached(source, { filename, format, typescript: false, capture: settings.capture, detail: settings.detail }, settings.cacheDir, instrumentSource).code;
}

export function isTypeScript(filename: string): boolean {
  return TYPESCRIPT_EXTENSIONS.test(filename);
}

/** Compile a TypeScript file: its module format and the JS to run (instrumented when accepted). */
export function loadTypeScript(filename: string, settings: LoadSettings, source = readFileSync(filename, 'utf8')): { format: 'module' | 'commonjs'; source: string } {
  const format = typescriptFormat(filename, source);
  const code = settings.accept(filename)
    ? instrumentCached(source, { filename, format, typescript: true, capture: settings.capture, detail: settings.detail }, settings.cacheDir, instrumentSource).code
    : stripTypesOnly(source, filename);
  return { format, source: code };
}

