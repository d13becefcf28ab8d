// After tsc: make the CLI entry executable (npm links it as `recall`).
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
