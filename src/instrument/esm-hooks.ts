// ES module customization hooks for module.register (Node 20: they run on Node's hooks
// thread, and the main thread waits for that thread to start). `load` instruments every ES
// module the filter accepts and compiles TypeScript; `resolve` adds the TypeScript naming
// conventions. The instrumenter (oxc, its edit buffer, source maps) is loaded only when the
// transform cache misses, so a warm start does not pay for it. TypeScript that compiles to
// CommonJS is handed to the CommonJS loader, where cjs-hook.ts compiles it.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FilterOptions } from './filter.js';
import { ALREADY_INSTRUMENTED } from './markers.js';
import { isOwnUrl } from './own-files.js';
import type { InstrumentOptions } from './transform.js';
import type { Probes } from '../runtime/recorder.js';
import { noopProbesWith } from '../runtime/noop-probes.js';

// The hooks thread runs no preload, so it has no recorder; but the program's own module.register
// hooks run here too, and their modules were instrumented by these hooks (they cannot tell which
// thread asked). Their probes do nothing: code run on the hooks thread is not recorded.
const hooksThreadProbes: Probes = noopProbesWith(() => 0);
(globalThis as { __recall?: Probes }).__recall ??= hooksThreadProbes;

// module.register() blocks the main thread until this module and initialize() have run, so
// everything else the hooks use (the filter's picomatch, the cache: 25-40 ms) is
// loaded here while the main thread goes on with its start-up; the first resolve or load waits.
// The hooks see this thread's own imports too, so recall's own files pass straight through
// (waiting would be the hooks waiting for themselves); the modules here import only recall's
// files and Node's builtins (picomatch, a dependency, is required, not imported).
const parts = Promise.all([import('./cache.js'), import('./filter.js'), import('./module-format.js'), import('./resolve-typescript.js')]);
let cache: Awaited<typeof parts>[0];
let filters: Awaited<typeof parts>[1];
let moduleFormat: Awaited<typeof parts>[2];
let typescriptResolution: Awaited<typeof parts>[3];
let settings: HookData | null = null;
let ready: Promise<void> | null = null;

/** The hooks' modules, loaded, and the settings applied (once). */
function loaded(): Promise<void> {
  ready ??= parts.then(([c, f, m, r]) => {
    cache = c;
    filters = f;
    moduleFormat = m;
    typescriptResolution = r;
    applyFilter();
  });
  return ready;
}

/** The filter of the settings initialize() got, once the filter module is here. */
function applyFilter(): void {
  if (settings !== null && filters !== undefined) accept = filters.createFilter(settings.filter);
}

export interface HookData {
  filter: FilterOptions;
  cacheDir: string | null;
  capture?: string[];
  detail?: boolean;
}

let accept: (filename: string) => boolean = () => false;
let cacheDir: string | null = null;
let capture: string[] = [];
let detail = true;

export function initialize(data: HookData): void {
  settings = data;
  applyFilter();
  cacheDir = data.cacheDir;
  capture = data.capture ?? [];
  detail = data.detail !== false;
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string; format?: string | null }>;
type NextLoad = (url: string, context: unknown) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }>;

/** The program's entry point: the one module resolved without a parent. */
let entryUrl: string | null = null;

/**
 * Modules imported by recall's own code, here or below: its dependencies, wherever they resolve
 * (hoisted into the program's node_modules, or through a symlink). They are recall's, so they
 * pass through like its own files; with --node-modules they would otherwise be instrumented by
 * the instrumenter whose loading imports them, which waits for itself.
 */
const ownDependencies = new Set<string>();

function isOwn(url: string): boolean {
  return isOwnUrl(url) || ownDependencies.has(url);
}

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: NextResolve): Promise<unknown> {
  if (context.parentURL !== undefined && isOwn(context.parentURL)) {
    const own = await nextResolve(specifier, context);
    if (own.url.startsWith('file:')) ownDependencies.add(own.url);
    return own;
  }
  await loaded();
  let resolved: { url: string };
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    const url = typescriptResolution.isModuleNotFound(error) ? typescriptResolution.resolveTypeScript(specifier, context.parentURL) : null;
    if (url === null) throw error;
    resolved = { url, shortCircuit: true } as { url: string };
  }
  if (context.parentURL === undefined && entryUrl === null) entryUrl = resolved.url;
  return resolved;
}

/**
 * A CommonJS entry point is run the way Node runs it untraced, by the CommonJS loader as the
 * main module (require.main, process.mainModule), from a one-line ES module. Node 20 sends the
 * entry through the ES module loader whenever --import is given (recall's preload is), and its
 * CommonJS translator first scans the file and every file it re-exports for export names: for
 * `module.exports = require('./_tsc.js')` that is a 6 MB scan nobody uses (0.3 s). The entry's
 * stack then ends in this module's frame (node:internal/recall/entry) where Node's own
 * run_main_module frame would be.
 */
function commonJsEntry(url: string, filename: string): { format: 'module'; source: string; shortCircuit: true } | null {
  if (url !== entryUrl) return null;
  entryUrl = null;
  // Named like Node's own frames, so the one frame it adds beneath the program's reads as Node's.
  const source = `import m from 'node:module';m._load(${JSON.stringify(filename)},null,true);\n//# sourceURL=node:internal/recall/entry`;
  return { format: 'module', source, shortCircuit: true };
}

/** Instrumented code for a source: from the cache, or by loading the instrumenter and running it. */
async function instrument(source: string, options: InstrumentOptions): Promise<string> {
  const key = cache.cacheKey(source, options);
  const cached = cache.readCache(cacheDir, key);
  if (cached !== null) return cached;
  const { instrumentSource } = await import('./transform.js');
  const result = instrumentSource(source, cacheDir ? { ...options, mapKey: key } : options);
  if (result.parseError === undefined) cache.writeCache(cacheDir, key, result);
  return result.code;
}

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  if (!url.startsWith('file:') || isOwn(url)) return nextLoad(url, context);
  await loaded();
  const filename = fileURLToPath(url);
  if (filters.TYPESCRIPT_EXTENSIONS.test(filename)) {
    const text = await readFile(filename, 'utf8');
    const format = moduleFormat.typescriptFormat(filename, text);
    // CommonJS TypeScript is compiled by the CommonJS loader (cjs-hook.ts registers .ts there).
    if (format === 'commonjs') return commonJsEntry(url, filename) ?? { format: 'commonjs', shortCircuit: true };
    const source = accept(filename)
      ? await instrument(text, { filename, format, typescript: true, capture, detail })
      : (await import('./transform.js')).stripTypesOnly(text, filename);
    return { format, source, shortCircuit: true };
  }
  const result = await nextLoad(url, context);
  if (result.format === 'commonjs') return commonJsEntry(url, filename) ?? result;
  if (result.format !== 'module' || result.source == null || !accept(filename)) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  // Hooks can be chained twice (e.g. inherited by a worker and registered again): instrument once.
  if (source.includes(ALREADY_INSTRUMENTED)) return result;
  return { ...result, source: await instrument(source, { filename, format: 'module', typescript: false, capture, detail }) };
}
