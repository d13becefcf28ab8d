// What the synchronous loaders do (the CommonJS hook, and the in-thread module.registerHooks
// hooks on Node versions that have them): decide how a loaded source is compiled —
// instrumented, type-stripped, or left alone. The off-thread ES module hooks do the same
// asynchronously in esm-hooks.ts, loading the instrumenter only when the cache misses.
// Here the loaders are synchronous, so the instrumenter (oxc, its edit buffer, source maps: 40-90 ms
// of start-up per thread) is loaded on the first cache miss with require() of an ES module
// (Node 20.19+, 22.13+, 23.5+: the preload records nothing on older Node, require-esm.ts).

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { instrumentCached, instrumentDetected } from './cache.js';
import { TYPESCRIPT_EXTENSIONS } from './filter.js';
import { ALREADY_INSTRUMENTED } from './markers.js';
import { loadingOwn } from './own-files.js';
import { typescriptFormat } from './module-format.js';
import type { InstrumentOptions } from './transform.js';

type Instrumenter = typeof import('./transform.js');

export { REQUIRE_ESM } from './require-esm.js';

// No top-level await anywhere under the preload: it is require()d (--require).
let instrumenter: Instrumenter | null = null;

function loadInstrumenter(): Instrumenter {
  // '../instrument/': this code also runs from the preload bundle in dist/src/runtime.
  return (instrumenter ??= loadingOwn(() => createRequire(import.meta.url)('../instrument/transform.js') as Instrumenter));
}

const instrumentSource = (source: string, options: InstrumentOptions) => loadInstrumenter().instrumentSource(source, options);

export { isModuleNotFound, resolveTypeScript } from './resolve-typescript.js';
export { isLoadingOwn } from './own-files.js';

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

/**
 * A JS module Node loaded without deciding its format (require() of a .js file in a package
 * with no "type", on Node 22+): its instrumented source and the format detected as Node would
 * (CommonJS unless it only parses as an ES module), or null to leave it as loaded.
 */
export function instrumentUntyped(source: string, filename: string, settings: LoadSettings): { source: string; format: 'module' | 'commonjs' } | null {
  if (!settings.accept(filename) || source.includes(ALREADY_INSTRUMENTED)) return null;
  const result = instrumentDetected(source, { filename, format: 'commonjs', typescript: false, capture: settings.capture, detail: settings.detail }, settings.cacheDir, instrumentSource);
  return { source: result.code, format: result.format };
}

export function isTypeScript(filename: string): boolean {
  return TYPESCRIPT_EXTENSIONS.test(filename);
}

/** Compile a TypeScript file: its module format and the JS to run (instrumented when accepted). */
export function loadTypeScript(filename: string, settings: LoadSettings, source = readFileSync(filename, 'utf8')): { format: 'module' | 'commonjs'; source: string } {
  const format = typescriptFormat(filename, source);
  const code = settings.accept(filename)
    ? instrumentCached(source, { filename, format, typescript: true, capture: settings.capture, detail: settings.detail }, settings.cacheDir, instrumentSource).code
    : loadInstrumenter().stripTypesOnly(source, filename);
  return { format, source: code };
}

