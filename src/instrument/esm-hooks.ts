// ES module customization hooks (module.register; they run on Node's hooks thread). `load`
// instruments every ES module the filter accepts and strips types from TypeScript; `resolve`
// adds the TypeScript conventions Node 20 lacks ('./x.js' naming './x.ts', extensionless
// './x' naming './x.ts'). TypeScript that compiles to CommonJS is handed to the CommonJS
// loader, where cjs-hook.ts compiles it.

import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFilter, TYPESCRIPT_EXTENSIONS, type FilterOptions } from './filter.js';
import { instrumentCached } from './cache.js';
import { stripTypesOnly } from './transform.js';
import { typescriptFormat } from './module-format.js';

export interface HookData {
  filter: FilterOptions;
  cacheDir: string | null;
}

let accept: (filename: string) => boolean = () => false;
let cacheDir: string | null = null;

export function initialize(data: HookData): void {
  accept = createFilter(data.filter);
  cacheDir = data.cacheDir;
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string; format?: string | null }>;
type NextLoad = (url: string, context: unknown) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }>;

const TS_ALTERNATIVES: [RegExp, string][] = [
  [/\.js$/, '.ts'],
  [/\.mjs$/, '.mts'],
  [/\.cjs$/, '.cts'],
];

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: NextResolve): Promise<unknown> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/');
    if (!relative || !context.parentURL || (error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    const candidates: string[] = [];
    for (const [pattern, replacement] of TS_ALTERNATIVES) if (pattern.test(specifier)) candidates.push(specifier.replace(pattern, replacement));
    if (!/\.[a-z]+$/i.test(specifier)) candidates.push(specifier + '.ts', specifier + '/index.ts');
    for (const candidate of candidates) {
      const url = new URL(candidate, context.parentURL);
      if (existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
    }
    throw error;
  }
}

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  if (!url.startsWith('file:')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  if (TYPESCRIPT_EXTENSIONS.test(filename)) {
    const source = await readFile(filename, 'utf8');
    const format = typescriptFormat(filename, source);
    // CommonJS TypeScript is compiled by the CommonJS loader (cjs-hook.ts registers .ts there).
    if (format === 'commonjs') return { format: 'commonjs', shortCircuit: true };
    const code = accept(filename)
      ? instrumentCached(source, { filename, format, typescript: true }, cacheDir).code
      : stripTypesOnly(source, filename);
    return { format: 'module', source: code, shortCircuit: true };
  }
  const result = await nextLoad(url, context);
  if (result.format !== 'module' || result.source == null || !accept(filename)) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  return { ...result, source: instrumentCached(source, { filename, format: 'module', typescript: false }, cacheDir).code };
}

