// Writing a process's manifest atomically (temp file + rename), so a reader never sees half of
// one: manifest.json for the root process, p<pid>.manifest.json for a followed child.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../format/manifest.js';
import { manifestFileOf } from '../format/processes.js';

export function writeManifestFile(dir: string, manifest: Manifest, name = manifestFileOf(manifest.pid, (manifest.parentPid ?? null) === null)): void {
  const tmp = join(dir, `.manifest.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(manifest, null, 1) + '\n');
  renameSync(tmp, join(dir, name));
}
