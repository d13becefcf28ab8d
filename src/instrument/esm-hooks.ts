// ES module customization hooks for module.register (Node 20: they run on Node's hooks
// thread). `load` instruments every ES module the filter accepts and compiles TypeScript;
// `resolve` adds the TypeScript naming conventions. TypeScript that compiles to CommonJS is
// handed to the CommonJS loader, where cjs-hook.ts compiles it.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createFilter, type FilterOptions } from './filter.js';
import { instrumentLoaded, isModuleNotFound, isTypeScript, loadTypeScript, resolveTypeScript, type LoadSettings } from './loading.js';
import { typescriptFormat } from './module-format.js';

export interface HookData {
  filter: FilterOptions;
  cacheDir: string | null;
}

let settings: LoadSettings = { accept: () => false, cacheDir: null };

export function initialize(data: HookData): void {
  settings = { accept: createFilter(data.filter), cacheDir: data.cacheDir };
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string; format?: string | null }>;
type NextLoad = (url: string, context: unknown) => Promise<{ format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }>;

export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: NextResolve): Promise<unknown> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const url = isModuleNotFound(error) ? resolveTypeScript(specifier, context.parentURL) : null;
    if (url === null) throw error;
    return { url, shortCircuit: true };
  }
}

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<unknown> {
  if (!url.startsWith('file:')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  if (isTypeScript(filename)) {
    const text = await readFile(filename, 'utf8');
    // CommonJS TypeScript is compiled by the CommonJS loader (cjs-hook.ts registers .ts there).
    if (typescriptFormat(filename, text) === 'commonjs') return { format: 'commonjs', shortCircuit: true };
    return { ...loadTypeScript(filename, settings, text), shortCircuit: true };
  }
  const result = await nextLoad(url, context);
  if (result.format !== 'module' || result.source == null) return result;
  const source = typeof result.source === 'string' ? result.source : Buffer.from(result.source as Uint8Array).toString('utf8');
  const code = instrumentLoaded(source, filename, 'module', settings);
  return code === null ? result : { ...result, source: code };
}
