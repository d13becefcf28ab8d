#!/usr/bin/env node
// The architecture, checked: which folder of src/ may import from which (dependencies point
// inward, to src/format), and which files may use Node's own modules (in src/format only its
// codec, node:zlib: the trace format is readable anywhere; in src/query only the file I/O).
// Prints each breach and exits 1; the test suite runs it (test/integration/layers.test.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// The tree to check: src/, or a directory given (the test checks that breaches are caught).
const SRC = process.argv[2] ?? fileURLToPath(new URL('../src/', import.meta.url));

/** Folder -> the folders it may import from (besides itself). */
const ALLOWED = {
  format: [],
  analysis: ['format'],
  query: ['format', 'analysis'],
  instrument: ['format', 'runtime'],
  runtime: ['format', 'instrument'],
  text: ['format', 'analysis'],
  tools: ['format', 'analysis', 'query', 'text', 'runtime'],
  mcp: ['format', 'tools'],
  export: ['format', 'analysis', 'query', 'text'],
  viewer: ['format', 'analysis', 'query', 'text', 'tools'],
  cli: ['format', 'analysis', 'query', 'text', 'tools', 'mcp', 'export', 'runtime', 'instrument', 'viewer'],
};
/**
 * Files allowed Node's modules where their folder is not. src/format/codec.ts: chunk compression
 * is node:zlib's (the rest of the format reads plain chunks anywhere).
 */
const NODE_ALLOWED = { format: ['codec.ts'], query: ['open.ts', 'store.ts'] };

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (/\.(c|m)?ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) yield path;
  }
}

const breaches = [];
for (const file of files(SRC)) {
  const rel = relative(SRC, file);
  const folder = rel.split('/')[0];
  if (!rel.includes('/')) continue; // src/index.ts: the package entry
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
    const spec = match[1];
    if (spec.startsWith('node:')) {
      const allowed = NODE_ALLOWED[folder];
      if (allowed && !allowed.includes(rel.slice(folder.length + 1))) breaches.push(`${rel}: imports ${spec} (src/${folder} has no Node-only imports)`);
      continue;
    }
    if (!spec.startsWith('.')) continue;
    const target = relative(SRC, join(file, '..', spec)).split('/')[0];
    if (target === folder || target.startsWith('..')) continue;
    if (!(ALLOWED[folder] ?? []).includes(target)) breaches.push(`${rel}: imports src/${target} (${spec}); src/${folder} may import ${ALLOWED[folder]?.join(', ') || 'nothing of ours'}`);
  }
  if (!(folder in ALLOWED)) breaches.push(`${rel}: src/${folder} is not a known layer (add it to scripts/check-layers.mjs)`);
}
for (const line of breaches) process.stderr.write(`check-layers: ${line}\n`);
process.exitCode = breaches.length > 0 ? 1 : 0;
