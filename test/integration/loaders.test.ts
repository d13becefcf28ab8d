// Every loader path recall instruments, on the Node that runs the suite: .js/.cjs/.mjs/.ts/
// .mts/.cts; package "type" module, commonjs and absent (syntax detection); require, static
// import, dynamic import(), require(esm); node_modules with and without --node-modules; worker
// threads (file and eval) and child processes; the program's own --require/--import preloads (command line and
// NODE_OPTIONS); a tsc-style launcher that turns on the compile cache; the program's own module
// hooks chained with recall's. Each checks exact per-function call counts and the same stdout
// traced and untraced. Paths a Node line does not have are skipped with the reason.
// Fixtures: test/fixtures/loaders/ (its README says how they are laid out).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import type { SpawnSyncOptions } from 'node:child_process';
import { FIXTURES, callsOf, recall, run, summaryJson, tempDir, type Result } from '../helpers.js';
// Whether require(esm) works without a warning: then recall's preload loads by --require.
import { REQUIRE_ESM as QUIET_REQUIRE_ESM } from '../../src/instrument/loading.js';

const LOADERS = join(FIXTURES, 'loaders');
const features = process.features as { require_module?: boolean; typescript?: string | false };
const REQUIRE_ESM = features.require_module === true;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const NO_REQUIRE_ESM = REQUIRE_ESM ? false : `require(esm) needs Node 20.19+/22.12+; this is ${process.version}`;
const REGISTER_HOOKS = typeof (module as unknown as { registerHooks?: unknown }).registerHooks === 'function';
const COMPILE_CACHE = typeof (module as unknown as { enableCompileCache?: unknown }).enableCompileCache === 'function';
/** Whether this Node runs TypeScript by itself (then the TypeScript program can run untraced). */
const NATIVE_TYPESCRIPT = typeof features.typescript === 'string';

/** One transform cache for this file's recordings, so the first recording of each file is cold. */
const CACHE_DIR = tempDir('recall-loaders-cache-');

interface Run {
  dir: string;
  result: Result;
}

/** `recall run [flags] -- node [nodeArgs...]` from test/fixtures, into a fresh trace directory. */
function recordNode(nodeArgs: string[], flags: string[] = [], env: NodeJS.ProcessEnv = {}): Run {
  const dir = join(tempDir(), 'trace');
  const options: SpawnSyncOptions = { env: { ...process.env, RECALL_CACHE_DIR: CACHE_DIR, ...env } };
  const result = recall(['run', '--quiet', '--out', dir, ...flags, '--', process.execPath, ...nodeArgs], options);
  assert.equal(result.status, 0, `recall run ${nodeArgs.join(' ')} failed: ${result.stderr}`);
  return { dir, result };
}

/** The program run untraced from test/fixtures, with the same environment additions. */
function plain(nodeArgs: string[], env: NodeJS.ProcessEnv = {}): Result {
  const result = run(process.execPath, nodeArgs, { cwd: FIXTURES, env: { ...process.env, ...env } });
  assert.equal(result.status, 0, `node ${nodeArgs.join(' ')} failed untraced: ${result.stderr}`);
  return result;
}

/** Every file under `dir` (relative path → its bytes, base64), or none when it does not exist. */
function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return files;
  }
  for (const name of names.sort()) {
    try {
      files.set(name, readFileSync(join(dir, name)).toString('base64'));
    } catch {
      // a directory
    }
  }
  return files;
}

/** Calls per function name over every process and thread of the trace, for the names asked. */
function counts(dir: string, names: string[]): Record<string, number> {
  const summary = summaryJson(dir, ['--process', 'all']);
  return Object.fromEntries(names.map((name) => [name, callsOf(summary, name)]));
}

function assertCounts(dir: string, expected: Record<string, number>): void {
  assert.deepEqual(counts(dir, Object.keys(expected)), expected);
}

/** A recording made once, on first use, shared by the tests that look at it. */
function once<T>(make: () => T): () => T {
  let value: { v: T } | null = null;
  return () => (value ??= { v: make() }).v;
}

const cjsEntry = once(() => recordNode([join(LOADERS, 'main.cjs')], ['--node-modules']));

test('CommonJS entry: require of .js/.cjs in "type" commonjs, module and absent packages, dynamic import(), node_modules with --node-modules', () => {
  const { dir, result } = cjsEntry();
  assert.equal(result.stdout, plain(['./loaders/main.cjs']).stdout);
  assert.match(result.stdout, /^main\.cjs: 3 6 10 15 21 28 36 45/m);
  assertCounts(dir, {
    commonjsJs: 2,
    moduleCjs: 3,
    untypedCjsRequired: 4,
    depCjs: 5,
    depEsm: 6,
    commonjsMjs: 7,
    untypedEsmDynamic: 8,
    moduleDynamic: 9,
    times: REQUIRE_ESM ? 11 : 8,
    main: 1,
  });
});

test('require(esm): .mjs, "type": "module" .js and an ES module syntax .js in a package without "type"', { skip: NO_REQUIRE_ESM }, () => {
  const { dir, result } = cjsEntry();
  assert.match(result.stdout, /^main\.cjs: 3 6 10 15 21 28 36 45 55 66 78$/m);
  assertCounts(dir, { requiredMjs: 10, moduleRequired: 11, untypedEsmRequired: 12 });
});

test('require(esm): the static imports of a require()d ES module', { skip: !REQUIRE_ESM ? NO_REQUIRE_ESM : NODE_MAJOR === 20 ? 'Node 20 loads the imports of a require()d ES module with its default loader, past module.register hooks (no hook sees them): known limit' : false }, () => {
  assertCounts(cjsEntry().dir, { requiredLeaf: 11 });
});

test('without --node-modules, code in node_modules runs but is not instrumented', () => {
  const { dir, result } = recordNode([join(LOADERS, 'main.cjs')]);
  assert.equal(result.stdout, cjsEntry().result.stdout);
  assertCounts(dir, { depCjs: 0, depEsm: 0, commonjsJs: 2, untypedEsmDynamic: 8, main: 1 });
});

test('ES module entry: static import of .mjs, "type" module .js, CommonJS .js, ambiguous .js of both syntaxes, an ES module package; dynamic import()', () => {
  const { dir, result } = recordNode([join(LOADERS, 'main.mjs')], ['--node-modules']);
  assert.equal(result.stdout, plain(['./loaders/main.mjs']).stdout);
  assert.equal(result.stdout, 'main.mjs: 91 105 120 136 153 171 190\n');
  assertCounts(dir, { staticMjs: 13, moduleJs: 14, commonjsImported: 15, untypedEsmImported: 16, untypedCjsImported: 17, depEsm: 18, moduleDynamic: 19, times: 7 });
});

test('TypeScript: a .ts entry importing .ts and .mts, requiring .cts and a CommonJS .ts, a .ts of a "type": "module" package', () => {
  const { dir, result } = recordNode([join(LOADERS, 'typescript', 'main.ts')]);
  assert.equal(result.stdout, 'main.ts: 3 6 10 15 21\n');
  // Node 20 runs no TypeScript by itself: there the expected text above is the comparison.
  if (NATIVE_TYPESCRIPT) assert.equal(result.stdout, plain(['./loaders/typescript/main.ts']).stdout);
  assertCounts(dir, { tsEsm: 2, tsMts: 3, tsCts: 4, tsCjs: 5, tsModulePkg: 6, times: 5 });
});

const workers = once(() => recordNode([join(LOADERS, 'workers.mjs')]));

test('worker threads on .js and .mjs files, child processes by fork and by spawn of process.execPath', () => {
  const { dir, result } = workers();
  const expected = plain(['./loaders/workers.mjs']).stdout;
  assert.equal(result.stdout, expected);
  assert.match(expected, /eval: 3\n[^]*child spawn: 21/);
  assertCounts(dir, { workerJs: 3, workerMjs: 4, forkedChild: 5, spawnedChild: 6, worker: 3, ended: 2 });
});

test('an eval worker: the modules it requires are instrumented (recall is preloaded with --require, which eval workers run)', { skip: QUIET_REQUIRE_ESM ? false : `recall's preload loads by --require only where require(esm) is quiet (20.19+, 22.13+, 23.5+); this is ${process.version}, where eval workers run untraced` }, () => {
  assertCounts(workers().dir, { evalRequired: 2 });
});

const PRE_CJS = join(LOADERS, 'preload', 'pre.cjs');
const PRE_MJS = join(LOADERS, 'preload', 'pre.mjs');
const APP = join(LOADERS, 'preload', 'app.cjs');

test("the program's own --require and --import preloads on the node command line are instrumented", () => {
  const args = ['--require', PRE_CJS, '--import', PRE_MJS, APP];
  const { dir, result } = recordNode(args);
  assert.equal(result.stdout, plain(args).stdout);
  assert.match(result.stdout, /^preloads: 6 10/m);
  assertCounts(dir, { preRequired: 3, preImported: 4, appMain: 1 });
});

test("the program's own --require and --import preloads in NODE_OPTIONS are instrumented, and the program sees its NODE_OPTIONS as given", () => {
  const env = { NODE_OPTIONS: `--require=${PRE_CJS} --import=${PRE_MJS} --no-warnings` };
  const { dir, result } = recordNode([APP, 'env'], [], env);
  assert.equal(result.stdout, plain(['./loaders/preload/app.cjs', 'env'], env).stdout);
  assert.match(result.stdout, /^preloads: 6 10\nNODE_OPTIONS: --require=/m);
  assertCounts(dir, { preRequired: 3, preImported: 4, appMain: 1 });
});

test(`a tsc-style launcher that calls module.enableCompileCache() first: exact counts cold and with the compile cache warm${COMPILE_CACHE ? '' : ` (${process.version} has no compile cache: the launcher runs without)`}`, () => {
  const compileCache = tempDir('recall-compile-cache-');
  const env = { NODE_COMPILE_CACHE: compileCache };
  const expected = { toolMain: 1, toolStep: 7, helperStep: 8 };
  const launcher = join(LOADERS, 'compile-cache', 'bin.cjs');
  const first = recordNode([launcher], [], env);
  assert.equal(first.result.stdout, 'tool: 249\n');
  assertCounts(first.dir, expected);
  // The second run finds the compiled code of the first in Node's cache (and recall's transforms in its own).
  if (COMPILE_CACHE) assert.ok(readdirSync(compileCache).length > 0, 'the first run filled the compile cache');
  const second = recordNode([launcher], [], env);
  assert.equal(second.result.stdout, 'tool: 249\n');
  assertCounts(second.dir, expected);
  assert.equal(plain(['./loaders/compile-cache/bin.cjs'], env).stdout, 'tool: 249\n');
});

test(`recall keeps the instrumented code in a compile cache of its own: the program's cache (its default directory) is left as it was, and a warm traced run compiles from recall's${COMPILE_CACHE ? '' : ` (${process.version} has no compile cache)`}`, { skip: COMPILE_CACHE ? false : `${process.version} has no compile cache` }, () => {
  // The launcher's enableCompileCache() takes $TMPDIR/node-compile-cache; Node keys an entry by
  // the file's path, so instrumented code written there would replace the program's own.
  const tmp = tempDir('recall-compile-tmp-');
  const recallCache = tempDir('recall-compile-recall-cache-');
  const env = { TMPDIR: tmp, NODE_COMPILE_CACHE: undefined, RECALL_CACHE_DIR: recallCache };
  const launcher = './loaders/compile-cache/bin.cjs';
  assert.equal(plain([launcher], env).stdout, 'tool: 249\n');
  const programCache = join(tmp, 'node-compile-cache');
  const before = filesUnder(programCache);
  assert.ok(before.size > 0, 'the untraced run filled its compile cache');
  const first = recordNode([join(LOADERS, 'compile-cache', 'bin.cjs')], [], env);
  assertCounts(first.dir, { toolMain: 1, toolStep: 7, helperStep: 8 });
  assert.deepEqual(filesUnder(programCache), before, "the traced run left the program's compile cache as it was");
  assert.ok(filesUnder(join(recallCache, 'v8')).size > 0, "the traced run filled recall's compile cache");
  const second = recordNode([join(LOADERS, 'compile-cache', 'bin.cjs')], [], { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
  assertCounts(second.dir, { toolMain: 1, toolStep: 7, helperStep: 8 });
  assert.match(second.result.stderr, /compile-cache\/lib\/tool\.js was accepted/, 'the warm traced run compiled the instrumented tool.js from the cache');
  assert.ok(second.result.stderr.includes(`reading cache from ${join(recallCache, 'v8')}`), "from recall's directory");
});

test("the program's own module.registerHooks hooks chain with recall's: both the program's source rewrite and the instrumentation take effect", { skip: REGISTER_HOOKS ? false : `module.registerHooks needs Node 22.15+/23.5+; this is ${process.version}` }, () => {
  const { dir, result } = recordNode([join(LOADERS, 'hooks', 'sync-app.cjs')]);
  assert.equal(result.stdout, 'sync hooks: 129 174\n');
  assert.equal(result.stdout, plain(['./loaders/hooks/sync-app.cjs']).stdout);
  assertCounts(dir, { hookedRequired: 3, hookedImported: 4, replaceToken: 2, times: 2 });
});

test("the program's own module.register hooks chain with recall's: both the program's source rewrite and the instrumentation take effect", () => {
  const { dir, result } = recordNode([join(LOADERS, 'hooks', 'async-app.mjs')]);
  assert.equal(result.stdout, 'async hooks: 220\n');
  assert.equal(result.stdout, plain(['./loaders/hooks/async-app.mjs']).stdout);
  assertCounts(dir, { hookedAsync: 5 });
});
