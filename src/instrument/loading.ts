// What the synchronous loaders do (the CommonJS hook, and the in-thread module.registerHooks
// hooks on Node versions that have them): decide how a loaded source is compiled —
// instrumented, type-stripped, or left alone. The off-thread ES module hooks do the same
// asynchronously in esm-hooks.ts, loading the instrumenter only when the cache misses.
// Here the loaders are synchronous, so the instrumenter (oxc, magic-string, source maps: 40-90 ms
// of start-up per thread) is loaded on the first cache miss with require() of an ES module where
// Node has it quietly (20.19+, 22.13+, 23.5+); on older Node the --import preload loads it up
// front (preload-import.ts).

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { instrumentCached, instrumentDetected } from './cache.js';
import { TYPESCRIPT_EXTENSIONS } from './filter.js';
import { ALREADY_INSTRUMENTED } from './markers.js';
import { loadingOwn } from './own-files.js';
import { typescriptFormat } from './module-format.js';
import type { InstrumentOptions } from './transform.js';

type Instrumenter = typeof import('./transform.js');

/**
 * Whether this Node can require() an ES module without a word (then the instrumenter loads when
 * first needed): 20.19+, 22.13+, 23.5+. Node 22.12 and 23.0-23.4 have require(esm) but print an
 * ExperimentalWarning to the program's stderr on its first use.
 */
export const REQUIRE_ESM = (process.features as { require_module?: boolean }).require_module === true && requireEsmIsQuiet(process.versions.node);

function requireEsmIsQuiet(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 20) return minor >= 19;
  if (major === 22) return minor >= 13;
  if (major === 23) return minor >= 5;
  return major >= 24;
}
// No top-level await anywhere under the preload: it is require()d (--require, require(esm)).
// Where require(esm) is not quiet, the --import entry (preload-import.ts) hands the instrumenter
// in before the program's code loads.
let instrumenter: Instrumenter | null = null;

export function setInstrumenter(loaded: Instrumenter): void {
  instrumenter ??= loaded;
}

function loadInstrumenter(): Instrumenter {
  instrumenter ??= loadingOwn(() => createRequire(import.meta.url)('./transform.js') as Instrumenter);
  return instrumenter;
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

