// Writing manifest.json atomically (temp file + rename), so a reader never sees half of one.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../format/manifest.js';

export function writeManifestFile(dir: string, manifest: Manifest): void {
  const tmp = join(dir, `.manifest.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest, null, 1) + '\n');
  renameSync(tmp, join(dir, 'manifest.json'));
}
