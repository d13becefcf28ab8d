// Function-name globs of the query engine (`calls({ function: 'parse*' })`): `*` matches any
// run of characters (dots and slashes included: names such as `Parser.parseExpression`), `?`
// one character; everything else is literal. No Node-only imports.

export function nameMatcher(glob: string): (name: string) => boolean {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const pattern = new RegExp(`^${source}$`, 's');
  return (name) => pattern.test(name);
}
