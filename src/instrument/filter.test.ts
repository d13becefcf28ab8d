// Which files get instrumented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createFilter } from './filter.js';

const cwd = '/project';

test('JS and TS sources under cwd are instrumented by default; other files are not', () => {
  const accept = createFilter({ cwd, include: [], exclude: [], nodeModules: false });
  for (const file of ['/project/a.js', '/project/src/b.mjs', '/project/c.cjs', '/project/d.ts', '/project/e.mts', '/project/f.cts']) {
    assert.equal(accept(file), true, file);
  }
  for (const file of ['/project/data.json', '/project/addon.node', '/project/style.css']) assert.equal(accept(file), false, file);
});

test('node_modules only with nodeModules: true', () => {
  const file = '/project/node_modules/lib/index.js';
  assert.equal(createFilter({ cwd, include: [], exclude: [], nodeModules: false })(file), false);
  assert.equal(createFilter({ cwd, include: [], exclude: [], nodeModules: true })(file), true);
});

test('include and exclude globs are relative to cwd; absolute globs match absolute paths', () => {
  const accept = createFilter({ cwd, include: ['src/**'], exclude: ['**/*.test.js'], nodeModules: false });
  assert.equal(accept('/project/src/app.js'), true);
  assert.equal(accept('/project/src/app.test.js'), false);
  assert.equal(accept('/project/lib/other.js'), false);
  const absolute = createFilter({ cwd, include: ['/elsewhere/**'], exclude: [], nodeModules: false });
  assert.equal(absolute('/elsewhere/x.js'), true);
  assert.equal(absolute('/project/x.js'), false);
});

test("recall's own files are never instrumented", () => {
  const accept = createFilter({ cwd: '/', include: [], exclude: [], nodeModules: true });
  assert.equal(accept(fileURLToPath(import.meta.url)), false);
});
