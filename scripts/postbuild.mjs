// After tsc: bundle what runs inside the traced process, make the CLI entry executable (npm
// links it as `recall`), and copy the viewer's page and style sheet beside its compiled app.
//
// The preload (src/runtime/preload.ts and the 30-odd modules it imports) runs at the start of
// every traced process and thread, so its load time is start-up every run pays. As an ES module
// graph, loaded with require(esm), it took about 60 ms on Node 24; bundled into one CommonJS file
// it takes about half that: one file to resolve, read and compile, and Node's built-in modules
// required as CommonJS rather than through ES module facades (the node:fs facade alone loads fs
// streams and fs/promises). preload-require.cts requires the bundle. The drain is bundled the same
// way, for the same reason: the drain worker boots from drain-worker.cjs, and a thread that exits
// before the worker has booted requires drain.cjs to write its trace itself. Everything else
// (the CLI, the ES module hooks, the instrumenter, the tests) runs from tsc's output.
import { chmodSync, copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const dist = new URL('../dist/src/', import.meta.url);
const bundled = ['preload', 'drain', 'drain-worker'];

await build({
  entryPoints: bundled.map((name) => new URL(`runtime/${name}.js`, dist).pathname),
  outdir: new URL('runtime/', dist).pathname,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Modules loaded lazily through createRequire (the instrumenter, trace-mapping, drain.js,
  // picomatch) stay separate files: esbuild leaves such calls alone. Paths built from
  // import.meta.url then resolve from the bundle's own file, which sits in dist/src/runtime like
  // preload.js: the sources write them as '../<folder>/<file>' so both resolve alike.
  define: { 'import.meta.url': '__recallBundleUrl' },
  // Strict, as the ES modules it is built from are (a sloppy wrapper would pass the global object
  // as `this` to the program's callbacks).
  banner: { js: "'use strict';\nconst __recallBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // No source map: with --enable-source-maps Node would read and parse it at every start.
  sourcemap: false,
  logLevel: 'warning',
});

// The instrumenter's fingerprint (cache.ts), hashed once here instead of at every traced start.
const { fingerprintFileText, FINGERPRINT_FILE } = await import(new URL('instrument/cache.js', dist).href);
writeFileSync(new URL(`instrument/${FINGERPRINT_FILE}`, dist), fingerprintFileText(new URL('instrument/', dist)));

chmodSync(new URL('cli/main.js', dist), 0o755);
// The viewer's page and style sheet go beside its compiled app (tsc copies only what it compiles).
mkdirSync(new URL('viewer/app/', dist), { recursive: true });
for (const name of ['index.html', 'app.css']) copyFileSync(new URL(`../../src/viewer/app/${name}`, dist), new URL(`viewer/app/${name}`, dist));
for (const name of bundled) {
  if (statSync(new URL(`runtime/${name}.cjs`, dist)).size < 1000) throw new Error(`postbuild: the ${name} bundle is empty`);
}
