// Opening a trace directory: the manifest, every thread file (validated chunk by chunk) and the
// function table. Whatever is readable is read: a truncated or damaged file contributes its
// good chunks and a problem line; a trace whose recorder was killed (manifest still
// "recording") is read from the thread files and functions.jsonl. Only what makes the trace
// unusable as a whole (missing, unreadable, newer format, no trace at all) throws a RecallError.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RecallError } from '../format/errors.js';
import { scanThreadFile, type ThreadFileHeader, type ThreadFileScan } from '../format/chunk.js';
import { parseFunctionsJsonl } from '../format/functions.js';
import { FORMAT_VERSION, LANE_INDEX } from '../format/layout.js';
import { validateManifest, type FunctionEntry, type Manifest, type ManifestThread } from '../format/manifest.js';

export interface TraceThread {
  /** From the manifest when it lists the thread, else derived from the file header. */
  info: ManifestThread;
  header: ThreadFileHeader | null;
  bytes: Uint8Array;
  scan: ThreadFileScan;
}

export interface Trace {
  dir: string;
  manifest: Manifest;
  /** True when manifest.json was missing or unreadable and the manifest here was reconstructed. */
  manifestReconstructed: boolean;
  threads: TraceThread[];
  functions: Map<number, FunctionEntry>;
  /** One line per thing that was lost or damaged. */
  problems: string[];
}

export interface OpenOptions {
  verify?: boolean;
}

/** Accept a trace directory, or a folder of traces that has a `latest` link. */
export function resolveTraceDir(path: string): string {
  const dir = resolve(path);
  if (!existsSync(dir)) {
    throw new RecallError('E_TRACE_NOT_FOUND', `no trace at ${path}: record one with 'recall run -- node app.js' or pass a trace directory`);
  }
  let stat;
  try {
    stat = statSync(dir);
  } catch (error) {
    throw new RecallError('E_TRACE_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
  }
  if (!stat.isDirectory()) throw new RecallError('E_TRACE_UNREADABLE', `${path} is not a trace directory (it is a file); pass the directory recall run wrote`);
  if (!existsSync(join(dir, 'manifest.json')) && existsSync(join(dir, 'latest', 'manifest.json'))) return join(dir, 'latest');
  return dir;
}

function listThreadFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith('.idx')).sort();
  } catch (error) {
    throw new RecallError('E_TRACE_UNREADABLE', `cannot list ${dir}: ${(error as Error).message}`);
  }
}

function emptyManifest(dir: string): Manifest {
  return {
    format: 'recall-trace',
    formatVersion: FORMAT_VERSION,
    recallVersion: 'unknown',
    status: 'recording',
    command: [],
    cwd: dir,
    pid: 0,
    nodeVersion: 'unknown',
    startedAt: '',
    startEpochMs: 0,
    endEpochMs: null,
    clock: { source: 'performance.now', mode: 'exact', resolutionNs: 0, readCostNs: 0, precision: 'unknown (manifest missing)' },
    options: { ringRecords: 0, threadSlots: 0, include: [], exclude: [], nodeModules: false, durationSeconds: null },
    threads: [],
    threadsUntraced: 0,
    functionsFile: 'functions.jsonl',
    functions: [],
    totals: { produced: 0, written: 0, dropped: 0, bytes: 0, chunks: 0 },
    shutdown: null,
    notes: [],
  };
}

function readManifest(dir: string, problems: string[], hasThreadFiles: boolean): { manifest: Manifest; reconstructed: boolean } {
  const path = join(dir, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RecallError('E_TRACE_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
    if (!hasThreadFiles) throw new RecallError('E_TRACE_EMPTY', `${dir} holds no recall trace (no manifest.json, no thread files); record one with 'recall run'`);
    problems.push('manifest.json is missing: thread files were read on their own');
    return { manifest: emptyManifest(dir), reconstructed: true };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    if (!hasThreadFiles) throw new RecallError('E_CORRUPT', `${path} is not valid JSON and there are no thread files to read instead`);
    problems.push('manifest.json is damaged (not valid JSON): thread files were read on their own');
    return { manifest: emptyManifest(dir), reconstructed: true };
  }
  try {
    return { manifest: validateManifest(parsed, path), reconstructed: false };
  } catch (error) {
    // A newer format is a whole-trace failure; a manifest that is JSON but not a usable one is
    // not, when the thread files can be read without it.
    if (!(error instanceof RecallError) || error.code !== 'E_CORRUPT' || !hasThreadFiles) throw error;
    problems.push(`${error.message.replace(path, 'manifest.json')}; thread files were read on their own`);
    return { manifest: emptyManifest(dir), reconstructed: true };
  }
}

function threadFromHeader(file: string, header: ThreadFileHeader | null, scan: ThreadFileScan, size: number): ManifestThread {
  return {
    id: header?.threadId ?? -1,
    name: header?.name ?? file,
    slot: header?.slot ?? -1,
    file,
    timeOriginMs: header?.timeOriginMs ?? 0,
    produced: scan.records,
    written: scan.records,
    dropped: 0,
    bytes: size,
    chunks: scan.chunks.length,
    closed: false,
  };
}

export function openTrace(path: string, options: OpenOptions = {}): Trace {
  const dir = resolveTraceDir(path);
  const problems: string[] = [];
  const files = listThreadFiles(dir);
  const { manifest, reconstructed } = readManifest(dir, problems, files.length > 0);
  if (manifest.status === 'recording' && !reconstructed) {
    problems.push('the recording did not finish (manifest status "recording"): counters come from the thread files');
  }
  const listed = new Map(manifest.threads.map((t) => [t.file, t]));
  const names = manifest.status === 'recording' || reconstructed ? [...new Set([...listed.keys(), ...files])] : [...listed.keys()];
  const threads: TraceThread[] = [];
  /** Thread files in a newer format, and files in a format this recall reads. */
  const newer: string[] = [];
  let readable = 0;
  for (const file of names) {
    let bytes: Uint8Array;
    try {
      const buffer = readFileSync(join(dir, file));
      bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
    } catch (error) {
      problems.push(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); its events are lost`);
      continue;
    }
    let scan = scanThreadFile(bytes, options.verify !== false);
    if (scan.version > FORMAT_VERSION) {
      newer.push(`${file}: written by trace format version ${scan.version}; this recall reads up to ${FORMAT_VERSION}`);
    } else if (scan.version >= 1) {
      readable++;
    }
    // A newer thread file in a trace whose manifest this recall reads is damage (a version field
    // hit by corruption), not a reason to refuse the whole trace.
    const advice =
      scan.version <= FORMAT_VERSION ? '' : reconstructed ? ': upgrade recall to read it' : ` (the manifest says ${manifest.formatVersion}: the file is damaged); its events are lost`;
    for (const problem of scan.problems) problems.push(`${file}: ${problem.message}${advice}`);
    if (scan.lane !== LANE_INDEX && scan.chunks.length > 0) {
      // Only index-lane records can be walked; a .idx file of another lane is not used.
      problems.push(`${file}: is not an index-lane file (lane ${scan.lane}); its chunks are not read`);
      scan = { ...scan, chunks: [], records: 0 };
    }
    const info = listed.get(file) ?? threadFromHeader(file, scan.header, scan, bytes.byteLength);
    threads.push({ info, header: scan.header, bytes, scan });
  }
  if (reconstructed && readable === 0 && newer.length > 0) {
    throw new RecallError('E_FORMAT_VERSION', `${newer[0]}: upgrade recall to read this trace`);
  }
  const functions = new Map<number, FunctionEntry>();
  let table = manifest.functions;
  if (table.length === 0) {
    try {
      const parsed = parseFunctionsJsonl(readFileSync(join(dir, manifest.functionsFile || 'functions.jsonl'), 'utf8'));
      table = parsed.functions;
      if (parsed.badLines > 0) problems.push(`functions.jsonl: ${parsed.badLines} damaged line(s) skipped; their functions show as unknown`);
    } catch {
      // no instrumented module registered, or the file is gone: ids show as unknown
    }
  }
  for (const fn of table) functions.set(fn.id, fn);
  return { dir, manifest, manifestReconstructed: reconstructed, threads, functions, problems };
}
