// Stack traces in traced code show the same frames (file:line:column) as untraced, for
// CommonJS, ES modules and TypeScript (where "untraced" means the positions in the .ts source).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, record, recall, run, tempDir, untraced } from '../helpers.js';
import { INLINE_MAP_LIMIT } from '../../src/instrument/transform.js';

for (const fixture of ['stack.cjs', 'stack.mjs']) {
  test(`Error.stack of ${fixture} is identical traced and untraced`, () => {
    const plain = untraced(fixture);
    const { result } = record(fixture);
    assert.equal(result.status, 0, result.stderr);
    assert.match(plain.stdout, /at /);
    assert.equal(result.stdout, plain.stdout);
  });
}

test("Error.stack at a CommonJS module's top level shows no recall frame (the entry point and a required module)", () => {
  const dir = tempDir();
  // Node's own frames (node:internal/...) beneath the program differ by how the entry is loaded.
  const program = "module.exports = () => new Error('x').stack.split('\\n').filter((line) => !/\\(?node:/.test(line)).join('\\n');\n";
  writeFileSync(join(dir, 'required.cjs'), `${program}module.exports.top = module.exports();\n`);
  writeFileSync(join(dir, 'main.cjs'), `${program}console.log(module.exports());\nconsole.log(require('./required.cjs').top);\n`);
  const plain = run(process.execPath, [join(dir, 'main.cjs')]);
  assert.match(plain.stdout, /at Object\.<anonymous> \(.*required\.cjs:2:/);
  const traced = recall(['run', '--quiet', '--out', join(dir, 'trace'), '--', process.execPath, join(dir, 'main.cjs')]);
  assert.equal(traced.status, 0, traced.stderr);
  assert.equal(traced.stdout, plain.stdout);
});

test('Error.stack of a TypeScript module points at the .ts source', () => {
  const source = readFileSync(join(FIXTURES, 'stack.ts'), 'utf8').split('\n');
  const position = (needle: string): string => {
    const index = source.findIndex((line) => line.includes(needle));
    assert.ok(index >= 0, needle);
    return `${index + 1}:${(source[index] as string).indexOf(needle) + 1}`;
  };
  const { result } = record('stack.ts');
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines[0], 'Error: item 2 has no name');
  assert.match(lines[1] ?? '', new RegExp(`at requireName \\(.*stack\\.ts:${position('new Error')}\\)$`));
  assert.match(lines[2] ?? '', new RegExp(`stack\\.ts:${position('requireName(item))')}\\)?$`));
});

test('an uncaught error prints the original source line, as untraced', () => {
  const { result } = record('shutdown.js', { args: ['uncaught'] });
  const plain = untraced('shutdown.js', ['uncaught']);
  assert.equal(result.status, plain.status);
  // Node's source-map printer names the file by path (not file: URL), puts the caret under the
  // error's first stack frame and adds a blank line; the place and the code line are as untraced.
  const firstLines = (text: string): string => text.replace(/^file:\/\//, '').split('\n').slice(0, 2).join('\n');
  assert.equal(firstLines(result.stderr), firstLines(plain.stderr));
  assert.doesNotMatch(result.stderr, /__recall/);
});

test('a large module keeps its source map out of line in the cache, and Error.stack still matches', () => {
  const dir = tempDir();
  const lines = ["'use strict';", 'const pad = ['];
  for (let i = 0; i < 60000; i++) lines.push(`  "${'x'.repeat(12)}${i}",`);
  lines.push('];');
  lines.push('function inner(v) { if (v > 1) { throw new RangeError("big " + v); } return v; }');
  lines.push('function outer(list) { return list.map((v) => inner(v)); }');
  lines.push('try { outer([1, 2]); } catch (e) { console.log(e.stack.split("\\n").slice(0, 5).join("\\n")); }');
  // The module's own map comment, as bundled packages ship them (this map describes big.cjs, not
  // its instrumented code): Node must not load it for the instrumented module.
  lines.push('//# sourceMappingURL=big.cjs.map');
  const file = join(dir, 'big.cjs');
  writeFileSync(file, lines.join('\n'));
  writeFileSync(join(dir, 'big.cjs.map'), JSON.stringify({ version: 3, sources: ['elsewhere.ts'], names: [], mappings: 'AAAA;AACA' }));
  assert.ok(statSync(file).size > INLINE_MAP_LIMIT);
  const cache = join(dir, 'cache');
  const plain = run(process.execPath, [file]);
  assert.match(plain.stdout, /at inner \(.*big\.cjs:60004:40\)/);
  // `map` in `return list.map(`: five columns into a piece of original text that begins after
  // inserted code (the out-of-line map has a segment where each piece begins, not per word).
  assert.match(plain.stdout, /at outer \(.*big\.cjs:60005:36\)/);
  for (const pass of ['cold', 'warm']) {
    const traced = recall(['run', '--quiet', '--out', join(dir, 'trace'), '--', process.execPath, file], { env: { ...process.env, RECALL_CACHE_DIR: cache } });
    assert.equal(traced.stdout, plain.stdout, pass);
  }
  const cached = readdirSync(cache, { recursive: true }).map(String);
  const code = cached.find((name) => name.endsWith('.js'));
  assert.ok(code && cached.some((name) => name.endsWith('.map')), `code and map in the cache: ${cached.join(', ')}`);
  const instrumented = readFileSync(join(cache, code), 'utf8');
  assert.doesNotMatch(instrumented, /sourceMappingURL=data:/);
  assert.doesNotMatch(instrumented, /\/\/# sourceMappingURL=/, 'the module\'s own map comment is neutralized');
  assert.match(instrumented, /\/\/# recall-original-sourceMappingURL=big\.cjs\.map/);
});
