// Runs the test suite on the Node that runs this script: every compiled *.test.js under dist/,
// named one by one (Node 22+ no longer runs a directory given to --test, and Node 20 has no
// glob there). Extra arguments go to node --test (e.g. --test-name-pattern=fib).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function testFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'fixtures' && entry.name !== 'node_modules') found.push(...testFiles(path));
    } else if (entry.name.endsWith('.test.js')) {
      found.push(relative(root, path));
    }
  }
  return found.sort();
}

const files = testFiles(join(root, 'dist'));
if (files.length === 0) {
  console.error('scripts/test.mjs: no compiled tests under dist/; run npm run build first');
  process.exit(1);
}
console.error(`node ${process.version}: ${files.length} test files`);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), ...files], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
