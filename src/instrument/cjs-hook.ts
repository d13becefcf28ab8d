// CommonJS instrumentation: Node 20's module.register hooks do not see require(), so the
// thread that runs the code patches Module.prototype._compile to instrument accepted sources
// (and strip types from .ts/.cts), and registers .ts/.cts with the CommonJS loader.

import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { instrumentLoaded, isLoadingOwn, isTypeScript, loadTypeScript, type LoadSettings } from './loading.js';

interface CompilableModule {
  _compile(content: string, filename: string, ...rest: unknown[]): unknown;
}

export function installCommonJsHook(settings: LoadSettings): void {
  const proto = (Module as unknown as { prototype: CompilableModule }).prototype;
  const original = proto._compile;
  proto._compile = function compile(this: CompilableModule, content: string, filename: string, ...rest: unknown[]): unknown {
    let code = content;
    if (typeof content === 'string' && !isLoadingOwn()) {
      code = isTypeScript(filename) ? loadTypeScript(filename, settings, content).source : instrumentLoaded(content, filename, 'commonjs', settings) ?? content;
    }
    return original.call(this, code, filename, ...rest);
  };
  const extensions = (Module as unknown as { _extensions: Record<string, (module: CompilableModule, filename: string) => void> })._extensions;
  const compileTypeScript = (module: CompilableModule, filename: string): void => {
    module._compile(readFileSync(filename, 'utf8'), filename);
  };
  if (!extensions['.ts']) extensions['.ts'] = compileTypeScript;
  if (!extensions['.cts']) extensions['.cts'] = compileTypeScript;
}
