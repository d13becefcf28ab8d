// The processes of one trace directory. `recall run` follows the child Node processes of the
// program into the same directory: the root process keeps manifest.json and functions.jsonl, a
// child writes p<pid>.manifest.json and p<pid>.functions.jsonl, thread files are
// p<pid>-t<threadId>.idx for everyone, and each process appends one line about itself to
// processes.jsonl when it starts. This file holds those names and the parsing of
// processes.jsonl (docs/FORMAT.md section 1). Pure: no Node-only imports.

export const ROOT_MANIFEST_FILE = 'manifest.json';
export const ROOT_FUNCTIONS_FILE = 'functions.jsonl';
export const PROCESSES_FILE = 'processes.jsonl';

/** One line of processes.jsonl: a traced process, written by itself when it starts. */
export interface ProcessEntry {
  pid: number;
  /** The traced process that started it; null for the root (the process `recall run` started). */
  parentPid: number | null;
  command: string[];
  startEpochMs: number;
  /** Its manifest and function table, plain file names in the trace directory. */
  manifest: string;
  functionsFile: string;
}

export function manifestFileOf(pid: number, root: boolean): string {
  return root ? ROOT_MANIFEST_FILE : `p${pid}.manifest.json`;
}

export function functionsFileOf(pid: number, root: boolean): string {
  return root ? ROOT_FUNCTIONS_FILE : `p${pid}.functions.jsonl`;
}

/** The pid a thread file (p<pid>-t<threadId>.idx / .det) belongs to, or null for another name. */
export function threadFilePid(name: string): number | null {
  const match = /^p(\d+)-t\d+\.(?:idx|det)$/.exec(name);
  return match ? Number(match[1]) : null;
}

/** The pid of a child manifest file name (p<pid>.manifest.json), or null. */
export function childManifestPid(name: string): number | null {
  const match = /^p(\d+)\.manifest\.json$/.exec(name);
  return match ? Number(match[1]) : null;
}

function plainName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value !== '.' && value !== '..' && !/[/\\\0]/.test(value);
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** A process entry from parsed JSON, or null when it is not a usable one. */
export function processEntryOf(value: unknown): ProcessEntry | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (!isPid(v.pid)) return null;
  // A file name that leaves the trace directory makes the entry unusable.
  if ((v.manifest !== undefined && !plainName(v.manifest)) || (v.functionsFile !== undefined && !plainName(v.functionsFile))) return null;
  const parentPid = isPid(v.parentPid) ? v.parentPid : null;
  const root = parentPid === null;
  return {
    pid: v.pid,
    parentPid,
    command: Array.isArray(v.command) ? v.command.filter((c): c is string => typeof c === 'string') : [],
    startEpochMs: typeof v.startEpochMs === 'number' && Number.isFinite(v.startEpochMs) ? v.startEpochMs : 0,
    manifest: plainName(v.manifest) ? v.manifest : manifestFileOf(v.pid, root),
    functionsFile: plainName(v.functionsFile) ? v.functionsFile : functionsFileOf(v.pid, root),
  };
}

export interface ProcessesParse {
  processes: ProcessEntry[];
  badLines: number;
}

/** Parse processes.jsonl: one entry per pid (the first line wins), damaged lines counted. */
export function parseProcessesJsonl(text: string): ProcessesParse {
  const processes: ProcessEntry[] = [];
  const seen = new Set<number>();
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let entry: ProcessEntry | null = null;
    try {
      entry = processEntryOf(JSON.parse(line));
    } catch {
      // a torn line (a process killed mid-append) or damage
    }
    if (!entry) {
      badLines++;
      continue;
    }
    if (seen.has(entry.pid)) continue;
    seen.add(entry.pid);
    processes.push(entry);
  }
  return { processes, badLines };
}
