// In-thread, synchronous module hooks (module.registerHooks, on Node versions that have it):
// one pair of hooks serves import and require alike, so neither the hooks thread nor the
// CommonJS _compile patch is needed there.

import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { instrumentLoaded, instrumentUntyped, isLoadingOwn, isModuleNotFound, isTypeScript, loadTypeScript, resolveTypeScript, type LoadSettings } from './loading.js';

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | ArrayBufferView | null;
  shortCircuit?: boolean;
}
interface SyncHooks {
  resolve(specifier: string, context: { parentURL?: string }, next: (specifier: string, context?: unknown) => { url: string }): unknown;
  load(url: string, context: unknown, next: (url: string, context?: unknown) => LoadResult): LoadResult;
}
type RegisterHooks = (hooks: SyncHooks) => unknown;

export function syncHooksAvailable(): boolean {
  return typeof (module as unknown as { registerHooks?: unknown }).registerHooks === 'function';
}

function sourceText(source: LoadResult['source']): string | null {
  if (source == null) return null;
  if (typeof source === 'string') return source;
  if (source instanceof ArrayBuffer) return Buffer.from(source).toString('utf8');
  return Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString('utf8');
}

export function installSyncHooks(settings: LoadSettings): void {
  const registerHooks = (module as unknown as { registerHooks: RegisterHooks }).registerHooks;
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (error) {
        const url = isModuleNotFound(error) ? resolveTypeScript(specifier, context.parentURL) : null;
        if (url === null) throw error;
        return { url, shortCircuit: true };
      }
    },
    load(url, context, next) {
      if (!url.startsWith('file:') || isLoadingOwn()) return next(url, context);
      const filename = fileURLToPath(url);
      if (isTypeScript(filename)) return { ...loadTypeScript(filename, settings), shortCircuit: true };
      const result = next(url, context);
      // Node 22+ leaves a require()d .js file in a package with no "type" (most CommonJS code)
      // without a format: its CommonJS loader decides later, by syntax. Decide as it would.
      if (result.format == null) {
        const text = sourceText(result.source);
        const untyped = text === null ? null : instrumentUntyped(text, filename, settings);
        return untyped === null ? result : { ...result, ...untyped };
      }
      const format = result.format === 'module' || result.format === 'commonjs' ? result.format : null;
      const source = format ? sourceText(result.source) : null;
      if (format === null || source === null) return result;
      const code = instrumentLoaded(source, filename, format, settings);
      return code === null ? result : { ...result, source: code };
    },
  });
}
