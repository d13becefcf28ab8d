// recall's preload as `node --require` loads it. Node runs every --require preload before any
// --import one, so the program's own --require preloads ran before recall's --import preload and
// were not instrumented. recall run puts this first in NODE_OPTIONS: where Node can require() an
// ES module without a warning (20.19+, 22.13+, 23.5+), it loads the preload (preload.ts) before
// anything else; elsewhere it does nothing and preload-import.ts (--import) loads it.

function requireEsmIsQuiet(): boolean {
  if ((process.features as { require_module?: boolean }).require_module !== true) return false;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major === 20) return minor >= 19;
  if (major === 22) return minor >= 13;
  if (major === 23) return minor >= 5;
  return major >= 24;
}

/**
 * Node's module hooks thread (module.register) runs the --require preloads too, but cannot
 * require() an ES module there (Node 22: ERR_METHOD_NOT_IMPLEMENTED, resolveSync). It is Node's
 * thread, not the program's, and the only one without a parentPort: recall stays out of it.
 */
function isHooksThread(): boolean {
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  return !threads.isMainThread && threads.parentPort === null;
}

if (requireEsmIsQuiet() && !isHooksThread()) require('./preload.js');
