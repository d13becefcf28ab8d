// The layer rules of scripts/check-layers.mjs hold for src/, and the script does catch a
// breach (an inner layer importing an outer one; Node's modules in src/format).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, run, tempDir } from '../helpers.js';

const SCRIPT = join(ROOT, 'scripts', 'check-layers.mjs');

test('src/ keeps its layers', () => {
  const result = run(process.execPath, [SCRIPT]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '');
});

test('a breach is reported with the file and the rule', () => {
  const src = tempDir('recall-layers-');
  for (const dir of ['format', 'tools', 'cli']) mkdirSync(join(src, dir));
  writeFileSync(join(src, 'cli', 'x.ts'), "export const x = 1;\n");
  writeFileSync(join(src, 'tools', 'y.ts'), "import { x } from '../cli/x.js';\nexport const y = x;\n");
  writeFileSync(join(src, 'format', 'z.ts'), "import { readFileSync } from 'node:fs';\nexport const z = readFileSync;\n");
  const result = run(process.execPath, [SCRIPT, src]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /tools\/y\.ts: imports src\/cli \(\.\.\/cli\/x\.js\); src\/tools may import format, analysis, query, text, runtime/);
  assert.match(result.stderr, /format\/z\.ts: imports node:fs \(src\/format has no Node-only imports\)/);
});
