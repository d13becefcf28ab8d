// recall's preload as `node --require` loads it, its only entry. Node runs every --require
// preload before any --import one: recall run puts this first in NODE_OPTIONS, so the program's
// own --require and --import preloads are instrumented too. There is no --import entry: with
// one, Node runs a CommonJS main module through its ES module loader (the program's async_hooks
// see its promises). It loads the preload (preload.ts) from its CommonJS bundle, preload.cjs
// (scripts/postbuild.mjs): one file, and Node's built-in modules as CommonJS, loads in about
// half the time of the ES module graph it is built from.

/**
 * Node's module hooks thread (module.register) runs the --require preloads too. It is Node's
 * thread, not the program's, and the only one without a parentPort: recall stays out of it.
 */
function isHooksThread(): boolean {
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  return !threads.isMainThread && threads.parentPort === null;
}

if (!isHooksThread()) require('./preload.cjs');
