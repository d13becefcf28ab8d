// Unit tests of compile-cache.ts: one directory of recall's cache per form of instrumented code.
// (That a traced run keeps its compiled code there and away from the program's own compile
// cache is tested on real runs in test/integration/loaders.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { compileCacheDirOf } from './compile-cache.js';

test('each form of instrumented code gets its own compile cache directory under the cache', () => {
  const base = join('/cache', 'recall');
  const detail = compileCacheDirOf(base, { detail: true, capture: [] });
  const lean = compileCacheDirOf(base, { detail: false, capture: [] });
  const captured = compileCacheDirOf(base, { detail: true, capture: ['parse*'] });
  const otherCapture = compileCacheDirOf(base, { detail: true, capture: ['parse*', 'emit'] });
  assert.equal(detail, join(base, 'v8', 'detail'));
  assert.equal(lean, join(base, 'v8', 'no-detail'));
  assert.match(captured, /v8[/\\]detail-[0-9a-f]{8}$/);
  assert.equal(new Set([detail, lean, captured, otherCapture]).size, 4);
  assert.equal(compileCacheDirOf(base, { detail: true, capture: ['parse*'] }), captured, 'the same form, the same directory');
});
