// Opening a trace for queries: read its manifest and function table as openTrace does (same
// problems, same thread order, complete or salvaged), then load its index from beside it — or,
// when the index is missing, stale (a file it was built from changed), damaged or of another
// version, build it in one streaming pass over the thread files and write it there. Returns
// the engine over the trace and its index. This is the file-system side of the engine.

import { join } from 'node:path';
import { acceptThreadFile, beginOpening, finishOpening, threadFileUnreadable, type Trace, type TraceThread } from '../analysis/trace.js';
import { threadDetailLookup } from '../analysis/detail.js';
import { LANE_INDEX } from '../format/layout.js';
import type { Manifest, ManifestThread } from '../format/manifest.js';
import { ThreadIndexBuilder } from './builder.js';
import { QueryEngine, type DetailValue, type EngineThread } from './engine.js';
import type { IndexContents, IndexSource, StoredThread } from './index-file.js';
import type { ThreadIndex } from './thread-index.js';
import { RecordReader, type RecordRange, indexCurrent, indexFileName, loadIndex, saveIndex, sourceOf, streamThreadFile } from './store.js';

/** Records per segment (checkpoint interval) unless told otherwise: 256 KiB of records. */
export const DEFAULT_SEGMENT_RECORDS = 16384;

export interface OpenQueryOptions {
  /** A child process of the trace (default: the root process). */
  pid?: number;
  /** Verify chunk checksums while building (default true). */
  verify?: boolean;
  segmentRecords?: number;
  /** Build the index even when a good one is stored. */
  rebuild?: boolean;
  /** Write a built index beside the trace (default true). */
  write?: boolean;
}

export interface IndexStatus {
  path: string;
  /** True when it was built now (missing, stale, damaged or rebuild asked for). */
  built: boolean;
  /** True when a built index was written beside the trace. */
  written: boolean;
  /** Time to load or build it (ms). */
  ms: number;
}

export interface QueryTrace {
  dir: string;
  manifest: Manifest;
  engine: QueryEngine;
  /** The threads, in the engine's order (thread index = position here). */
  threads: ManifestThread[];
  /** One line per thing lost or damaged, as openTrace words them. */
  problems: string[];
  /** The trace as the analysis views see it, without its records in memory (bytes empty):
   *  manifest, functions, threads and detail lanes; records are read from the files when a
   *  walk asks for them (threads[i].records, through the engine's reader). */
  trace: Trace;
  index: IndexStatus;
  /** Close the thread files the engine reads from. */
  close(): void;
}

/** The files a trace (one process of it) is read from, with their sizes and times now: what
 *  anything built from the trace (the index, the SQL tables) must be rebuilt after a change of. */
export function traceSources(path: string, options: Pick<OpenQueryOptions, 'pid'> = {}): IndexSource[] {
  const opening = beginOpening(path, options.pid !== undefined ? { pid: options.pid } : {});
  return [sourceOf(opening.dir, opening.target.manifestFile), ...opening.files.map((file) => sourceOf(opening.dir, file))];
}

/** Whether the trace (one process of it) has an index built from its files as they are now. */
export function hasCurrentIndex(path: string, options: Pick<OpenQueryOptions, 'pid' | 'segmentRecords'> = {}): boolean {
  const opening = beginOpening(path, options.pid !== undefined ? { pid: options.pid } : {});
  const { dir, target } = opening;
  const sources: IndexSource[] = [sourceOf(dir, target.manifestFile), ...opening.files.map((file) => sourceOf(dir, file))];
  return indexCurrent(join(dir, indexFileName(target.pid, target.root)), sources, options.segmentRecords ?? DEFAULT_SEGMENT_RECORDS);
}

/** Pieces of records a thread's trace view reads (trace.threads[i].records), through the reader. */
function* piecesOf(reader: RecordReader, index: ThreadIndex): Iterable<RecordRange> {
  for (let pos = 0; pos < index.records; pos += PIECE_RECORDS) {
    const range = reader.read(index, pos, pos + PIECE_RECORDS);
    if (range.count === 0) return;
    yield range;
  }
}

/** Records per piece of those reads. */
const PIECE_RECORDS = 1 << 16;

export function openQuery(path: string, options: OpenQueryOptions = {}): QueryTrace {
  const started = performance.now();
  const segmentRecords = options.segmentRecords ?? DEFAULT_SEGMENT_RECORDS;
  const verify = options.verify !== false;
  const opening = beginOpening(path, options.pid !== undefined ? { pid: options.pid } : {});
  const { dir, target } = opening;
  // The manifest first (its status and thread list change when a recording finishes), then the thread files.
  const sources: IndexSource[] = [sourceOf(dir, target.manifestFile), ...opening.files.map((file) => sourceOf(dir, file))];
  const indexPath = join(dir, indexFileName(target.pid, target.root));
  let contents: IndexContents | null = options.rebuild === true ? null : loadIndex(indexPath, sources, segmentRecords);
  const built = contents === null;
  let written = false;
  if (contents === null) {
    const threads: StoredThread[] = opening.files.map((file) => {
      let builder = new ThreadIndexBuilder(segmentRecords);
      const findings = streamThreadFile(join(dir, file), verify, () => (builder = new ThreadIndexBuilder(segmentRecords)));
      const index = findings.unreadable === undefined ? builder.finish(file, findings.header?.threadId ?? -1, findings.header?.name ?? file, findings.header?.timeOriginMs ?? 0, []) : null;
      return { findings, index };
    });
    contents = { segmentRecords, sources, threads };
    if (options.write !== false) written = saveIndex(indexPath, contents);
  }
  const reader = new RecordReader(dir);
  const engineThreads: EngineThread[] = [];
  const infos: ManifestThread[] = [];
  const traceThreads: TraceThread[] = [];
  opening.files.forEach((file, i) => {
    const stored = contents.threads[i];
    if (!stored || stored.findings.unreadable !== undefined || !stored.index) {
      threadFileUnreadable(opening, file, Object.assign(new Error(stored?.findings.unreadable ?? 'unknown'), { code: stored?.findings.unreadable }));
      return;
    }
    const { findings } = stored;
    const { info, indexLane } = acceptThreadFile(opening, file, findings);
    let index = stored.index;
    if (!indexLane || findings.lane !== LANE_INDEX) index = new ThreadIndexBuilder(segmentRecords).finish(file, info.id, info.name, info.timeOriginMs, []);
    index.threadId = info.id;
    index.name = info.name;
    const origin = findings.header?.timeOriginMs ?? info.timeOriginMs;
    index.timeOriginMs = origin;
    const start = opening.manifest.startEpochMs || origin;
    engineThreads.push({ index, shiftMs: origin - start });
    infos.push(info);
    const scan = { header: findings.header, version: findings.version, lane: findings.lane, chunks: [], problems: [], records: 0, validBytes: 0 };
    traceThreads.push({ info, header: findings.header, bytes: new Uint8Array(0), scan, records: () => piecesOf(reader, index) });
  });
  const functions = finishOpening(opening);
  const trace: Trace = { dir, manifest: opening.manifest, manifestReconstructed: opening.manifestReconstructed, threads: traceThreads, functions, problems: opening.problems };
  const details = (thread: number): { get(serial: number): DetailValue | undefined } => {
    const traceThread = traceThreads[thread];
    return traceThread ? threadDetailLookup(trace, traceThread) : new Map<number, DetailValue>();
  };
  const engine = new QueryEngine(engineThreads, functions, segmentRecords, reader, details, opening.manifest.clock.mode !== 'none');
  return {
    dir,
    manifest: opening.manifest,
    engine,
    threads: infos,
    problems: opening.problems,
    trace,
    index: { path: indexPath, built, written, ms: performance.now() - started },
    close: () => reader.close(),
  };
}
