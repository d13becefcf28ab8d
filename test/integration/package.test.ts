// The package as a user's project sees it: `import { mark } from 'recall'` and the query library
// (`recall/query`) type-check with the declarations the build ships, misuse is a type error, and
// the query library opens a real recording when imported by its package name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, record, run, tempDir } from '../helpers.js';

const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** A user project with recall installed (a link to this checkout) and strict TypeScript. */
function userProject(): string {
  const dir = tempDir('recall-user-');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'recall'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [], skipLibCheck: false }, include: ['*.ts'] }),
  );
  return dir;
}

test('a TypeScript project type-checks against recall and recall/query, and misuse is a type error', () => {
  const dir = userProject();
  writeFileSync(
    join(dir, 'use.ts'),
    [
      "import { mark } from 'recall';",
      "import { openQuery, type CallAnswer, type StackAnswer } from 'recall/query';",
      "mark('checkpoint', { step: 1 });",
      "const q = openQuery('trace');",
      'const stack: StackAnswer = q.engine.stackAt(0, { position: 0 });',
      "const call: CallAnswer = q.engine.call(q.engine.calls({ function: 'main' }).calls[0]!.id);",
      'console.log(stack.frames.length, call.outcome);',
      'q.close();',
      '',
    ].join('\n'),
  );
  const ok = run(process.execPath, [TSC, '-p', dir]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  writeFileSync(join(dir, 'misuse.ts'), "import { mark } from 'recall';\nimport { openQuery } from 'recall/query';\nmark(42);\nopenQuery('t').engine.nothing();\n");
  const bad = run(process.execPath, [TSC, '-p', dir]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /misuse\.ts\(3,6\): error TS2345/);
  assert.match(bad.stdout, /misuse\.ts\(4,23\): error TS2339: Property 'nothing' does not exist/);
});

test('recall/query imported by package name opens a real recording', () => {
  const { dir: trace } = record('fib.js', { args: ['10'] });
  const dir = userProject();
  writeFileSync(
    join(dir, 'ask.mjs'),
    "import { openQuery } from 'recall/query';\nconst q = openQuery(process.argv[2]);\nconst page = q.engine.calls({ function: 'fib', limit: 1000 });\nconsole.log(page.calls.length);\nq.close();\n",
  );
  const result = run(process.execPath, [join(dir, 'ask.mjs'), trace], { cwd: dir });
  assert.equal(result.status, 0, result.stderr);
  // fib(10): 177 calls.
  assert.equal(result.stdout.trim(), '177');
});
