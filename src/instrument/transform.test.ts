// The instrumenter's parser paths: oxc-parser's raw transfer (Node 22+) must give exactly the
// output of its JSON path, on recall's own test programs and on real-world library code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RAW_TRANSFER, instrumentSource, localNames, type ModuleFormat } from './transform.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

function corpus(): { file: string; format: ModuleFormat }[] {
  const semantics = join(ROOT, 'test', 'fixtures', 'semantics');
  const files = readdirSync(semantics)
    .filter((name) => /\.(c|m)?js$/.test(name))
    .map((name) => ({ file: join(semantics, name), format: (name.endsWith('.mjs') ? 'module' : 'commonjs') as ModuleFormat }));
  // Real library code of several styles: an ES module bundle and CommonJS sources.
  files.push({ file: join(ROOT, 'node_modules', 'magic-string', 'dist', 'index.mjs'), format: 'module' });
  for (const name of ['parse.js', 'scan.js', 'picomatch.js']) files.push({ file: join(ROOT, 'node_modules', 'picomatch', 'lib', name), format: 'commonjs' });
  return files;
}

test('raw transfer is used where this Node supports it (Node 22+ on x64)', () => {
  if (major >= 22 && process.arch === 'x64') assert.equal(RAW_TRANSFER, true);
  if (major < 22) assert.equal(RAW_TRANSFER, false);
});

test('raw transfer and the JSON path instrument every file of the corpus identically', { skip: RAW_TRANSFER ? false : 'no raw transfer on this Node' }, () => {
  const files = corpus();
  assert.ok(files.length >= 10);
  let functions = 0;
  for (const { file, format } of files) {
    const source = readFileSync(file, 'utf8');
    // .js files are decided by syntax, as Node does for a package without "type" (both paths detect).
    const detectModule = file.endsWith('.js');
    const viaRaw = instrumentSource(source, { filename: file, format, typescript: false, detectModule, rawTransfer: true });
    const viaJson = instrumentSource(source, { filename: file, format, typescript: false, detectModule, rawTransfer: false });
    assert.equal(viaRaw.parseError, undefined, file);

    assert.equal(viaRaw.functions, viaJson.functions, file);
    assert.equal(viaRaw.format, viaJson.format, file);
    assert.equal(viaRaw.code, viaJson.code, file);
    functions += viaRaw.functions;
  }
  assert.ok(functions > 300, `only ${functions} functions in the corpus`);
});

test("the probes' local names are short unless the module's text has their prefix anywhere", () => {
  const plain = 'function f(a) { return a + 1 }';
  const clashing = 'var $r_x = 1; function f(a) { return a + $r_x }';
  assert.equal(localNames(plain).threw, '$r_x');
  assert.equal(localNames(clashing).threw, '__recall$x');
  assert.equal(localNames('const s = "$r_";').base, '__recall$B', 'in a string too: the check is on the text');
  const short = instrumentSource(plain, { filename: '/p/short.js', format: 'commonjs', typescript: false }).code;
  const long = instrumentSource(clashing, { filename: '/p/long.js', format: 'commonjs', typescript: false }).code;
  assert.match(short, /var \$r_x=1,\$r_v,\$r_t=__recall\.en\(\$r_B\+0\)/);
  assert.match(long, /var __recall\$x=1,__recall\$v,__recall\$t=__recall\.en\(__recall\$B\+0\)/);
  assert.ok(!long.includes('$r_x=1,'), 'no declaration of a short name where the module uses the prefix');
});

test('the registration is ASCII whatever the names and the path, and gives them back exactly', () => {
  // An ASCII module stays ASCII instrumented (V8 then holds it as a one-byte string): non-ASCII
  // names, and DEL, are written as \u escapes in the function table's literal.
  const registration = (source: string, file: string): { file: string; count: number; names: unknown[] } => {
    const { code } = instrumentSource(source, { filename: file, format: 'commonjs', typescript: false });
    const call = /__recall\.m\(("(?:[^"\\]|\\.)*"),(\d+),("(?:[^"\\]|\\.)*")\)/.exec(code);
    assert.ok(call, 'a registration call');
    const [, fileLiteral = '', count = '', tableLiteral = ''] = call;
    assert.match(fileLiteral + tableLiteral, /^[\x20-\x7e]*$/, 'printable ASCII only');
    const table = JSON.parse(JSON.parse(tableLiteral) as string) as unknown[][];
    return { file: JSON.parse(fileLiteral) as string, count: Number(count), names: table.map((entry) => entry[0]) };
  };
  const mixed = registration('function café(a) { return a }\nconst naïve𝒳 = () => 1;\nfunction plain() {}', '/p/dïr/módule.js');
  assert.deepEqual(mixed, { file: '/p/dïr/módule.js', count: 3, names: ['café', 'naïve𝒳', 'plain'] });
  // DEL alone in an otherwise ASCII table and path (the fast path's byte count does not see it).
  const del = registration('var o = { ["del\\x7f"]: function () {} };', '/p/del\u007f.js');
  assert.deepEqual(del, { file: '/p/del\u007f.js', count: 1, names: ['del\u007f'] });
  // A table with nothing to escape is the JSON text as is.
  const ascii = instrumentSource('function plain() {}', { filename: '/p/a.js', format: 'commonjs', typescript: false }).code;
  assert.ok(ascii.includes(String.raw`__recall.m("/p/a.js",1,"[[\"plain\",1,1,\"function\",[]]]")`), ascii);
});
