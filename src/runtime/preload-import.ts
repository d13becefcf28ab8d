// recall's preload as `node --import` loads it: the preload itself (preload.ts, already loaded
// by preload-require.cts where Node can require() an ES module quietly), and, where Node cannot,
// the instrumenter up front: the CommonJS loader's hook is synchronous and cannot import it later.

import './preload.js';
import { REQUIRE_ESM, setInstrumenter } from '../instrument/loading.js';

if (!REQUIRE_ESM) setInstrumenter(await import('../instrument/transform.js'));
