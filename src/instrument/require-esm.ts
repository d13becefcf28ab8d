// Whether this Node can require() an ES module quietly: the synchronous loaders load the
// instrumenter (an ES module graph: oxc-parser, oxc-transform) with require() on a cache miss, so
// recall records a process only on a Node that can (the preload checks).

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


/** What a process on a Node that cannot says on stderr, once, before running untraced. */
export function requireEsmMissing(version: string): string {
  return `recall: Node ${version} cannot require() an ES module quietly (recall needs 20.19+, 22.13+ or 23.5+): this process runs untraced\n`;
}
