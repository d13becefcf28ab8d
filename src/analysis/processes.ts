// Which processes a trace directory holds. processes.jsonl (one line per process, appended by
// each process when it started) is the source of truth; what it lacks (a torn or missing line)
// is filled in from the child manifests (p<pid>.manifest.json), the root manifest
// (manifest.json) and, last, the pids in the thread file names. The root comes first, then the
// rest in the order they started.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  PROCESSES_FILE,
  ROOT_MANIFEST_FILE,
  childManifestPid,
  functionsFileOf,
  manifestFileOf,
  parseProcessesJsonl,
  processEntryOf,
  threadFilePid,
  type ProcessEntry,
} from '../format/processes.js';

export interface ProcessList {
  processes: ProcessEntry[];
  /** The root's pid, or null when nothing says which process it is. */
  rootPid: number | null;
  /** Damaged lines of processes.jsonl. */
  badLines: number;
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function isPid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Everything known about the processes of a trace directory (never throws). */
export function readProcessList(dir: string): ProcessList {
  let parsed = { processes: [] as ProcessEntry[], badLines: 0 };
  try {
    parsed = parseProcessesJsonl(readFileSync(join(dir, PROCESSES_FILE), 'utf8'));
  } catch {
    // a trace written before processes were followed, or the file is gone
  }
  const byPid = new Map(parsed.processes.map((p) => [p.pid, p]));
  const names = listDir(dir);
  let root = [...byPid.values()].find((p) => p.parentPid === null) ?? null;
  if (!root) {
    const m = readJson(join(dir, ROOT_MANIFEST_FILE));
    if (m && typeof m.pid === 'number' && m.pid > 0) {
      root = processEntryOf({ ...m, parentPid: null, manifest: ROOT_MANIFEST_FILE });
      if (root) byPid.set(root.pid, root);
    }
  }
  // Children whose line is missing: from their own manifests.
  for (const name of names) {
    const pid = childManifestPid(name);
    if (pid === null || byPid.has(pid)) continue;
    const m = readJson(join(dir, name)) ?? {};
    const parentPid = isPid(m.parentPid) ? m.parentPid : isPid(m.rootPid) ? m.rootPid : root?.pid;
    const entry = processEntryOf({ ...m, pid, parentPid, manifest: name, functionsFile: m.functionsFile ?? functionsFileOf(pid, false) });
    if (entry) byPid.set(pid, entry);
  }
  // Thread files of processes nothing else names.
  const unnamed = [...new Set(names.map(threadFilePid).filter((pid): pid is number => pid !== null && !byPid.has(pid)))];
  if (!root && unnamed.length === 1) {
    const pid = unnamed[0] as number;
    root = { pid, parentPid: null, command: [], startEpochMs: 0, manifest: ROOT_MANIFEST_FILE, functionsFile: functionsFileOf(pid, true) };
    byPid.set(pid, root);
  } else {
    for (const pid of unnamed) {
      byPid.set(pid, { pid, parentPid: root?.pid ?? null, command: [], startEpochMs: 0, manifest: manifestFileOf(pid, false), functionsFile: functionsFileOf(pid, false) });
    }
  }
  const rootPid = root?.pid ?? null;
  const processes = [...byPid.values()].sort((a, b) => Number(b.pid === rootPid) - Number(a.pid === rootPid) || a.startEpochMs - b.startEpochMs || a.pid - b.pid);
  return { processes, rootPid, badLines: parsed.badLines };
}

/** The processes of a trace directory, root first (from processes.jsonl, then the manifests). */
export function listProcesses(dir: string): ProcessEntry[] {
  return readProcessList(dir).processes;
}

/** Processes in tree order (each followed by its children) with their depth below the root. */
export function processTree<P extends { pid: number; parentPid: number | null }>(processes: readonly P[]): { process: P; depth: number }[] {
  const known = new Set(processes.map((p) => p.pid));
  const children = new Map<number | null, P[]>();
  for (const p of processes) {
    const parent = p.parentPid !== null && known.has(p.parentPid) ? p.parentPid : null;
    const list = children.get(parent) ?? [];
    list.push(p);
    children.set(parent, list);
  }
  const out: { process: P; depth: number }[] = [];
  const seen = new Set<number>();
  const visit = (p: P, depth: number): void => {
    if (seen.has(p.pid)) return;
    seen.add(p.pid);
    out.push({ process: p, depth });
    for (const child of children.get(p.pid) ?? []) visit(child, depth + 1);
  };
  for (const top of children.get(null) ?? []) visit(top, 0);
  for (const p of processes) visit(p, 0); // a cycle of damaged parent links
  return out;
}
