// CommonJS instrumentation: Node 20's module.register hooks do not see require(), so the
// thread that runs the code patches Module.prototype._compile to instrument accepted sources
// (and strip types from .ts/.cts), and registers .ts/.cts with the CommonJS loader.

import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { TYPESCRIPT_EXTENSIONS } from './filter.js';
import { instrumentCached } from './cache.js';
import { stripTypesOnly } from './transform.js';

interface CompilableModule {
  _compile(content: string, filename: string, ...rest: unknown[]): unknown;
}

export function installCommonJsHook(accept: (filename: string) => boolean, cacheDir: string | null): void {
  const proto = (Module as unknown as { prototype: CompilableModule }).prototype;
  const original = proto._compile;
  proto._compile = function compile(this: CompilableModule, content: string, filename: string, ...rest: unknown[]): unknown {
    let code = content;
    if (typeof content === 'string') {
      const typescript = TYPESCRIPT_EXTENSIONS.test(filename);
      if (accept(filename)) code = instrumentCached(content, { filename, format: 'commonjs', typescript }, cacheDir).code;
      else if (typescript) code = stripTypesOnly(content, filename);
    }
    return original.call(this, code, filename, ...rest);
  };
  const extensions = (Module as unknown as { _extensions: Record<string, (module: CompilableModule, filename: string) => void> })._extensions;
  const loadTypeScript = (module: CompilableModule, filename: string): void => {
    module._compile(readFileSync(filename, 'utf8'), filename);
  };
  if (!extensions['.ts']) extensions['.ts'] = loadTypeScript;
  if (!extensions['.cts']) extensions['.cts'] = loadTypeScript;
}
