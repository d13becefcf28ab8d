// CommonJS instrumentation: Node 20's module.register hooks do not see require(), so the
// thread that runs the code patches Module.prototype._compile to instrument accepted sources
// (and strip types from .ts/.cts), and registers .ts/.cts with the CommonJS loader.

import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { instrumentLoaded, instrumentUntyped, isLoadingOwn, isTypeScript, loadTypeScript, type LoadSettings } from './loading.js';

interface CompilableModule {
  _compile(content: string, filename: string, ...rest: unknown[]): unknown;
}

/** Where this code runs from (this module, or the preload bundle it is part of): its frames are hidden. */
export const CJS_HOOK_URL = import.meta.url;

export function installCommonJsHook(settings: LoadSettings): void {
  const proto = (Module as unknown as { prototype: CompilableModule }).prototype;
  const original = proto._compile;
  proto._compile = function compile(this: CompilableModule, content: string, filename: string, ...rest: unknown[]): unknown {
    if (typeof content !== 'string' || isLoadingOwn()) return original.call(this, content, filename, ...rest);
    if (isTypeScript(filename)) return original.call(this, loadTypeScript(filename, settings, content).source, filename, ...rest);
    // Node 20.19+ passes the format its loader decided: 'module' for require(esm) of an .mjs or
    // a "type": "module" .js (_compile then hands the source to the ES module loader), nothing
    // for a .js in a package without "type" (Node decides by syntax, as instrumentUntyped does).
    const [format, ...others] = rest;
    if (format === 'module' || format === 'commonjs') return original.call(this, instrumentLoaded(content, filename, format, settings) ?? content, filename, ...rest);
    if (format === undefined && rest.length > 0) {
      const untyped = instrumentUntyped(content, filename, settings);
      if (untyped !== null) return original.call(this, untyped.source, filename, untyped.format, ...others);
      return original.call(this, content, filename, ...rest);
    }
    return original.call(this, instrumentLoaded(content, filename, 'commonjs', settings) ?? content, filename, ...rest);
  };
  const extensions = (Module as unknown as { _extensions: Record<string, (module: CompilableModule, filename: string) => void> })._extensions;
  const compileTypeScript = (module: CompilableModule, filename: string): void => {
    module._compile(readFileSync(filename, 'utf8'), filename);
  };
  if (!extensions['.ts']) extensions['.ts'] = compileTypeScript;
  if (!extensions['.cts']) extensions['.cts'] = compileTypeScript;
}
