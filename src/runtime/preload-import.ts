// recall's second entry, as `node --import` loads it (preload-require.cts, the first, has loaded
// the preload itself). Where Node cannot require() an ES module quietly, it loads the instrumenter
// up front and hands it to the synchronous loaders: the CommonJS loader's hook cannot import it
// later. Elsewhere it loads nothing more than require-esm.ts.

import { INSTRUMENTER, REQUIRE_ESM } from '../instrument/require-esm.js';

if (!REQUIRE_ESM) {
  const slot = globalThis as { [INSTRUMENTER]?: unknown };
  slot[INSTRUMENTER] ??= await import('../instrument/transform.js');
}
