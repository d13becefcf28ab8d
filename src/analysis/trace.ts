// Opening a trace directory: the manifest, every thread file (validated chunk by chunk) and the
// function table. Whatever is readable is read: a truncated or damaged file contributes its
// good chunks and a problem line; a trace whose recorder was killed (manifest still
// "recording") is read from the thread files and functions.jsonl. Only what makes the trace
// unusable as a whole (missing, unreadable, newer format, no trace at all) throws a RecallError.
// A trace directory holds one or more processes (the root and the child processes it started):
// openTrace opens one of them, the root unless a pid is given.

import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RecallError } from '../format/errors.js';
import { plainImage, zstdUnavailable } from '../format/codec.js';
import { scanThreadFile, type FileProblem, type ThreadFileHeader, type ThreadFileScan } from '../format/chunk.js';
import { parseFunctionsJsonl } from '../format/functions.js';
import { FORMAT_VERSION, LANE_INDEX } from '../format/layout.js';
import { validateManifest, type FunctionEntry, type Manifest, type ManifestThread } from '../format/manifest.js';
import { ROOT_FUNCTIONS_FILE, ROOT_MANIFEST_FILE, threadFilePid, type ProcessEntry } from '../format/processes.js';
import { readProcessList } from './processes.js';

export interface TraceThread {
  /** From the manifest when it lists the thread, else derived from the file header. */
  info: ManifestThread;
  header: ThreadFileHeader | null;
  bytes: Uint8Array;
  scan: ThreadFileScan;
  /**
   * The thread's records piece by piece, read from its file when asked (a trace opened for
   * queries holds no `bytes`): `count` records at word `word` of `u32` (`f64` views the same
   * bytes), each piece valid until the next is asked for.
   */
  records?: () => Iterable<{ u32: Uint32Array; f64: Float64Array; word: number; count: number }>;
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
  /** The process to open (default: the root process). */
  pid?: number;
  /**
   * False: the caller reads no records (recall info: headers, chunk headers and counters only),
   * so compressed chunks are not decoded — each thread's bytes and scan stay the file's, which
   * only the chunk headers of may be read. Default true.
   */
  records?: boolean;
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

function emptyManifest(dir: string, target: Target): Manifest {
  return {
    format: 'recall-trace',
    formatVersion: FORMAT_VERSION,
    recallVersion: 'unknown',
    status: 'recording',
    command: [],
    cwd: dir,
    pid: target.pid ?? 0,
    nodeVersion: 'unknown',
    startedAt: '',
    startEpochMs: 0,
    endEpochMs: null,
    clock: { source: 'performance.now', mode: 'exact', resolutionNs: 0, readCostNs: 0, precision: 'unknown (manifest missing)' },
    options: { ringRecords: 0, threadSlots: 0, include: [], exclude: [], nodeModules: false, durationSeconds: null },
    threads: [],
    threadsUntraced: 0,
    functionsFile: target.functionsFile,
    functions: [],
    totals: { produced: 0, written: 0, dropped: 0, discarded: 0, bytes: 0, chunks: 0 },
    shutdown: null,
    notes: [],
    parentPid: target.entry?.parentPid ?? null,
    rootPid: target.rootPid ?? target.pid ?? 0,
    processes: [],
    ...(target.entry ? { command: target.entry.command, startEpochMs: target.entry.startEpochMs } : {}),
  };
}

/** The process openTrace reads: its manifest and function table, and which thread files are its. */
export interface Target {
  /** Null: the root, whose pid nothing says (every thread file is read). */
  pid: number | null;
  rootPid: number | null;
  root: boolean;
  manifestFile: string;
  functionsFile: string;
  entry: ProcessEntry | null;
}

function targetOf(dir: string, pid: number | undefined): Target {
  const list = readProcessList(dir);
  const rootPid = list.rootPid;
  if (pid === undefined || pid === rootPid) {
    const entry = list.processes.find((p) => p.pid === rootPid) ?? null;
    return { pid: rootPid, rootPid, root: true, manifestFile: ROOT_MANIFEST_FILE, functionsFile: entry?.functionsFile ?? ROOT_FUNCTIONS_FILE, entry };
  }
  const entry = list.processes.find((p) => p.pid === pid);
  if (!entry) {
    const known = list.processes.map((p) => String(p.pid)).join(', ');
    throw new RecallError('E_NO_MATCH', `no process ${pid} in this trace; processes: ${known || 'none'}`);
  }
  return { pid, rootPid, root: false, manifestFile: entry.manifest, functionsFile: entry.functionsFile, entry };
}

/** Whether a bounded recording's segment files (format/window.ts) are in the directory. */
function hasSegments(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => /\.d?seg$/.test(name));
  } catch {
    return false;
  }
}

/** The thread files of the target: p<pid>-t*.idx, plus files named otherwise for the root. */
function threadFilesOf(files: string[], target: Target): string[] {
  if (target.pid === null) return files;
  return files.filter((name) => {
    const pid = threadFilePid(name);
    return pid === target.pid || (pid === null && target.root);
  });
}

function readManifest(dir: string, target: Target, problems: string[], hasThreadFiles: boolean): { manifest: Manifest; reconstructed: boolean } {
  const name = target.manifestFile;
  const path = join(dir, name);
  const reconstruct = (): { manifest: Manifest; reconstructed: true } => ({ manifest: emptyManifest(dir, target), reconstructed: true });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RecallError('E_TRACE_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`);
    if (!hasThreadFiles) {
      if (!target.root) throw new RecallError('E_TRACE_EMPTY', `process ${target.pid} left no trace in ${dir} (no ${name}, no thread files)`);
      throw new RecallError('E_TRACE_EMPTY', `${dir} holds no recall trace (no manifest.json, no thread files); record one with 'recall run'`);
    }
    problems.push(`${name} is missing: thread files were read on their own`);
    return reconstruct();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    if (!hasThreadFiles) throw new RecallError('E_CORRUPT', `${path} is not valid JSON and there are no thread files to read instead`);
    problems.push(`${name} is damaged (not valid JSON): thread files were read on their own`);
    return reconstruct();
  }
  try {
    return { manifest: validateManifest(parsed, path), reconstructed: false };
  } catch (error) {
    // A newer format is a whole-trace failure; a manifest that is JSON but not a usable one is
    // not, when the thread files can be read without it.
    if (!(error instanceof RecallError) || error.code !== 'E_CORRUPT' || !hasThreadFiles) throw error;
    problems.push(`${error.message.replace(path, name)}; thread files were read on their own`);
    return reconstruct();
  }
}

function threadFromHeader(file: string, header: ThreadFileHeader | null, records: number, chunks: number, size: number): ManifestThread {
  return {
    id: header?.threadId ?? -1,
    name: header?.name ?? file,
    slot: header?.slot ?? -1,
    file,
    timeOriginMs: header?.timeOriginMs ?? 0,
    produced: records,
    written: records,
    dropped: 0,
    discarded: header?.window?.discardedRecords ?? 0,
    bytes: size,
    chunks,
    closed: false,
  };
}

/**
 * An opening in progress: the manifest is read and the thread files to read are named; each is
 * then read (by openTrace, or streamed by the summary) and handed to acceptThreadFile in order,
 * and finishOpening reads the function table. The steps keep problems in openTrace's order.
 */
export interface TraceOpening {
  dir: string;
  target: Target;
  manifest: Manifest;
  manifestReconstructed: boolean;
  listed: Map<string, ManifestThread>;
  /** The thread files to read, in order. */
  files: string[];
  problems: string[];
  /** Thread files in a newer format. */
  newer: string[];
  /** Thread files in a format this recall reads. */
  readable: number;
}

/** What reading one thread file found (a ThreadFileScan, or the same counted without the chunks). */
export interface ThreadFileFindings {
  header: ThreadFileHeader | null;
  version: number;
  lane: number;
  problems: FileProblem[];
  records: number;
  chunks: number;
  /** Bytes of the file as read. */
  size: number;
}

export function beginOpening(path: string, options: OpenOptions = {}): TraceOpening {
  const dir = resolveTraceDir(path);
  const problems: string[] = [];
  const target = targetOf(dir, options.pid);
  const threadFiles = threadFilesOf(listThreadFiles(dir), target);
  const { manifest, reconstructed } = readManifest(dir, target, problems, threadFiles.length > 0);
  if (manifest.status === 'recording' && !reconstructed) {
    problems.push('the recording did not finish (manifest status "recording"): counters come from the thread files');
  }
  const listed = new Map(manifest.threads.map((t) => [t.file, t]));
  const files = manifest.status === 'recording' || reconstructed ? [...new Set([...listed.keys(), ...threadFiles])] : [...listed.keys()];
  if (files.length === 0 && manifest.options.snapshot === true && !reconstructed) {
    const snapshots = manifest.snapshots ?? [];
    throw new RecallError(
      'E_TRACE_EMPTY',
      snapshots.length > 0
        ? `${dir} was recorded with --snapshot: its records are in its ${snapshots.length} snapshot${snapshots.length === 1 ? '' : 's'}; read one, e.g. recall summary ${join(dir, snapshots[snapshots.length - 1] as string)} (${snapshots.join(', ')})`
        : `${dir} was recorded with --snapshot and no snapshot was taken (no trigger fired${manifest.status === 'recording' ? ' yet' : ''}): only its manifest is on disk`,
    );
  }
  if (manifest.status === 'recording' && files.length === 0 && hasSegments(dir)) {
    problems.push('a bounded recording is still running: its threads are segment files until it ends (recall ctl snapshot writes a readable copy now)');
  }
  return { dir, target, manifest, manifestReconstructed: reconstructed, listed, files, problems, newer: [], readable: 0 };
}

/** A thread file that could not be read at all: its events are lost. */
export function threadFileUnreadable(opening: TraceOpening, file: string, error: unknown): void {
  // Not damage but this Node: every compressed file would be lost, so stop with one line.
  if ((error as NodeJS.ErrnoException).code === 'E_CODEC_UNAVAILABLE') throw zstdUnavailable();
  opening.problems.push(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); its events are lost`);
}

/**
 * Record what reading a thread file found. Returns the thread's info (from the manifest when it
 * lists the file) and whether its chunks are read (only index-lane chunks can be walked).
 */
export function acceptThreadFile(opening: TraceOpening, file: string, found: ThreadFileFindings): { info: ManifestThread; indexLane: boolean } {
  const { problems, manifest } = opening;
  if (found.version > FORMAT_VERSION) {
    opening.newer.push(`${file}: written by trace format version ${found.version}; this recall reads up to ${FORMAT_VERSION}`);
  } else if (found.version >= 1) {
    opening.readable++;
  }
  // A newer thread file in a trace whose manifest this recall reads is damage (a version field
  // hit by corruption), not a reason to refuse the whole trace.
  const advice =
    found.version <= FORMAT_VERSION
      ? ''
      : opening.manifestReconstructed
        ? ': upgrade recall to read it'
        : ` (the manifest says ${manifest.formatVersion}: the file is damaged); its events are lost`;
  for (const problem of found.problems) problems.push(`${file}: ${problem.message}${advice}`);
  let { records, chunks } = found;
  let indexLane = true;
  if (found.lane !== LANE_INDEX && chunks > 0) {
    // Only index-lane records can be walked; a .idx file of another lane is not used.
    problems.push(`${file}: is not an index-lane file (lane ${found.lane}); its chunks are not read`);
    records = 0;
    chunks = 0;
    indexLane = false;
  }
  const info = opening.listed.get(file) ?? threadFromHeader(file, found.header, records, chunks, found.size);
  return { info, indexLane };
}

/** The function table of the opened process, and the problem reading it found (reported last). */
export interface FunctionTable {
  functions: Map<number, FunctionEntry>;
  problem: string | null;
}

/** Read the function table: the manifest's copy, else the process's functions.jsonl. */
export function readFunctionTable(opening: TraceOpening): FunctionTable {
  const { manifest, target, dir } = opening;
  const functions = new Map<number, FunctionEntry>();
  let problem: string | null = null;
  let table = manifest.functions;
  if (table.length === 0) {
    try {
      const functionsFile = manifest.functionsFile || target.functionsFile;
      const parsed = parseFunctionsJsonl(readFileSync(join(dir, functionsFile), 'utf8'));
      table = parsed.functions;
      if (parsed.badLines > 0) problem = `${functionsFile}: ${parsed.badLines} damaged line(s) skipped; their functions show as unknown`;
    } catch {
      // no instrumented module registered, or the file is gone: ids show as unknown
    }
  }
  for (const fn of table) functions.set(fn.id, fn);
  return { functions, problem };
}

/**
 * After the thread files: refuse a trace that is all newer format, and report the function
 * table's problem (after the thread files' problems).
 */
export function finishOpening(opening: TraceOpening, table: FunctionTable = readFunctionTable(opening)): Map<number, FunctionEntry> {
  if (opening.manifestReconstructed && opening.readable === 0 && opening.newer.length > 0) {
    throw new RecallError('E_FORMAT_VERSION', `${opening.newer[0]}: upgrade recall to read this trace`);
  }
  if (table.problem !== null) opening.problems.push(table.problem);
  return table.functions;
}

/** Whether the trace's events carry times: false for --timing none (calls, structure and order only). */
export function hasTimes(trace: Trace): boolean {
  return trace.manifest.clock.mode !== 'none';
}

export function openTrace(path: string, options: OpenOptions = {}): Trace {
  const opening = beginOpening(path, options);
  const threads: TraceThread[] = [];
  for (const file of opening.files) {
    let bytes: Uint8Array;
    try {
      const buffer = readFileSync(join(opening.dir, file));
      bytes = (buffer.byteOffset & 7) === 0 ? buffer : new Uint8Array(buffer);
    } catch (error) {
      threadFileUnreadable(opening, file, error);
      continue;
    }
    let scan = scanThreadFile(bytes, options.verify !== false);
    // Compressed chunks (format 2) are decoded here, so every in-memory reader sees plain records.
    let plain: { bytes: Uint8Array; scan: ThreadFileScan };
    try {
      plain = options.records === false ? { bytes, scan } : plainImage(bytes, scan);
    } catch (error) {
      threadFileUnreadable(opening, file, error);
      continue;
    }
    const { info, indexLane } = acceptThreadFile(opening, file, { ...scan, chunks: scan.chunks.length, size: bytes.byteLength });
    if (!indexLane) scan = plain.scan = { ...scan, chunks: [], records: 0 };
    threads.push({ info, header: scan.header, bytes: plain.bytes, scan: plain.scan });
  }
  const functions = finishOpening(opening);
  return { dir: opening.dir, manifest: opening.manifest, manifestReconstructed: opening.manifestReconstructed, threads, functions, problems: opening.problems };
}
