// Whether this Node can require() an ES module quietly, and the slot through which the --import
// entry (preload-import.ts) hands the instrumenter to the synchronous loaders where it cannot.
// Dependency-free: the --import entry loads only this, not the loaders' module graph.

/**
 * Whether this Node can require() an ES module without a word (then the instrumenter loads when
 * first needed): 20.19+, 22.13+, 23.5+. Node 22.12 and 23.0-23.4 have require(esm) but print an
 * ExperimentalWarning to the program's stderr on its first use.
 */
export const REQUIRE_ESM = (process.features as { require_module?: boolean }).require_module === true && requireEsmIsQuiet(process.versions.node);

function requireEsmIsQuiet(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 20) return minor >= 19;
  if (major === 22) return minor >= 13;
  if (major === 23) return minor >= 5;
  return major >= 24;
}

/**
 * Where the loaded instrumenter (transform.ts's module) is kept: a global, not a module variable,
 * because the preload runs from a bundle (dist/src/runtime/preload.cjs) with its own copy of
 * loading.ts, while the --import entry is an ES module of its own.
 */
export const INSTRUMENTER = Symbol.for('recall:instrumenter');
