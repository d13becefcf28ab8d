// Durations, sizes and glob lists as people type them on the command line and to `recall ctl
// set` (50ms, 1.5s, 10m, 2h; 512MiB, 32MB, 1GiB; handle*,parse{Url,Body}): parsed in one place
// for the CLI and the runtime.
// No Node-only imports.

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** A duration like 50ms, 1.5s, 200us or a bare number of milliseconds, in ms; null when it is not one. */
export function durationMs(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s|m|h)?\s*$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] as number);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20, g: 1e9, gb: 1e9, gib: 1 << 30 };

/** A size like 512MiB, 32MB, 1.5GiB or a bare number of bytes, in bytes; null when it is not one. */
export function sizeBytes(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return null;
  const unit = SIZE_UNITS[(match[2] ?? '').toLowerCase()];
  return unit === undefined ? null : Math.floor(Number(match[1]) * unit);
}

/** Comma-separated globs (commas inside {braces} belong to the glob), trimmed, empty ones left out. */
export function globList(text: string): string[] {
  const globs: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') depth = Math.max(0, depth - 1);
    else if (i === text.length || (c === ',' && depth === 0)) {
      const glob = text.slice(start, i).trim();
      if (glob !== '') globs.push(glob);
      start = i + 1;
    }
  }
  return globs;
}
