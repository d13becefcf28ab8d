// The drain's side of a bounded trace (`recall run --max-size SIZE --keep DURATION`): each
// thread's index lane is written as a run of segment files (window.ts names them), and whenever
// the trace's segments exceed the size bound, or hold records older than the kept duration,
// the oldest segment of the thread holding the most bytes is deleted (so every thread keeps its
// most recent data, and a busy thread cannot push a quiet one out). The size bound is the whole
// trace's: the other processes of the recording write their segments beside this one's, and
// each drain counts theirs too (a listing of the directory, at most every OTHERS_SCAN_MS) and
// deletes its own oldest segment only while its thread holds the most; so the threads of every
// process share the bound as the threads of one do. Each segment's header records
// the frames open when it began, which the drain follows by walking every record it copies with
// the stack rules (analysis/stack-rules.ts, the same rules every reader applies). When the
// recording ends, the kept segments of each thread are joined into its ordinary thread file
// (format/window.ts), which readers read like any other.

import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync, truncateSync, unlinkSync, fstatSync, writeSync, writevSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFileHeader, encodeFileHeader, scanThreadFile, type ChunkInfo, type ThreadFileHeader } from '../format/chunk.js';
import { CHUNK_HEADER_BYTES, EV_DROPPED, EV_ENTER, EV_EXIT, EV_RESUME, EV_SUSPEND, EV_THROW, FN_MASK, KIND_MASK, KIND_SHIFT, LANE_DETAIL, LANE_INDEX } from '../format/layout.js';
import { parseSegmentFileName, preludeChunk, renumberChunk, segmentFileName, type ThreadWindow } from '../format/window.js';

/** The bounds of a bounded trace (null: not bounded that way): the size is the whole trace's, over every process; the duration, every thread's. */
export interface Bounds {
  maxBytes: number | null;
  keepMs: number | null;
}

/** How often, at most, a drain lists the directory for the other processes' thread files (ms). */
const OTHERS_SCAN_MS = 100;

/** A segment never holds more than this share of --max-size (so deleting one frees little more than needed). */
const SEGMENT_SHARE = 16;
/** A segment spans at most this share of --keep (so the kept window is close to the duration asked). */
const KEEP_SHARE = 8;
/** Smallest segment: one full chunk (1 MiB of records) and its header. */
const MIN_SEGMENT_BYTES = (1 << 20) + CHUNK_HEADER_BYTES;

interface Segment {
  readonly file: string;
  bytes: number;
  chunks: number;
  records: number;
  /** Epoch ms of the segment's first and last record. */
  firstEpochMs: number;
  lastEpochMs: number;
}

/** The segments of one lane of one thread, and (index lane) the frames open at the end of what was written. */
export class SegmentedLane {
  private readonly segments: Segment[] = [];
  private fd = -1;
  private next = 0;
  /** Chunks, records and bytes written to this lane's segments so far (deleted ones included). */
  private writtenChunks = 0;
  private writtenRecords = 0;
  private writtenBytes = 0;
  discardedChunks = 0;
  discardedRecords = 0;
  discardedBytes = 0;
  /** Open frames as [functionId, serial] pairs, outermost first. */
  private frames = new Int32Array(256);
  private depth = 0;
  closed = false;

  constructor(
    private readonly dir: string,
    private readonly header: ThreadFileHeader,
    private readonly segmentBytes: number,
    private readonly segmentSpanMs: number,
    readonly lane: number = LANE_INDEX,
  ) {}

  get file(): string {
    return `p${this.header.pid}-t${this.header.threadId}.${this.lane === LANE_DETAIL ? 'det' : 'idx'}`;
  }

  /** Bytes of this lane's segments on disk. */
  get bytes(): number {
    let sum = 0;
    for (const s of this.segments) sum += s.bytes;
    return sum;
  }

  /** Segments that may be deleted: all but the one being written (all, once the thread ended). */
  get deletable(): number {
    return this.closed ? this.segments.length : Math.max(0, this.segments.length - 1);
  }

  /** Epoch ms of the oldest segment's last record (Infinity when none may be deleted). */
  get oldestLastEpochMs(): number {
    return this.deletable > 0 ? (this.segments[0] as Segment).lastEpochMs : Infinity;
  }

  /**
   * Follow the open frames through records just copied (`words`: the chunk buffer as 32-bit
   * words; `from`: the first record's word index), by the stack rules every reader applies.
   */
  track(words: Int32Array, from: number, count: number): void {
    let depth = this.depth;
    let frames = this.frames;
    for (let i = 0, w = from; i < count; i++, w += 4) {
      const head = words[w] as number;
      const kind = (head >>> KIND_SHIFT) & KIND_MASK;
      if (kind === EV_ENTER || kind === EV_RESUME) {
        if ((depth + 1) * 2 > frames.length) {
          const grown = new Int32Array(frames.length * 2);
          grown.set(frames);
          frames = this.frames = grown;
        }
        frames[depth * 2] = head & FN_MASK;
        frames[depth * 2 + 1] = words[w + 1] as number;
        depth++;
      } else if (kind === EV_EXIT || kind === EV_THROW) {
        const fn = head & FN_MASK;
        let level = depth - 1;
        while (level >= 0 && frames[level * 2] !== fn) level--;
        if (level >= 0) depth = level;
      } else if (kind === EV_SUSPEND) {
        if (depth > 0 && frames[(depth - 1) * 2] === (head & FN_MASK)) depth--;
      } else if (kind === EV_DROPPED) {
        depth = 0;
      }
    }
    this.depth = depth;
  }

  /**
   * Write one sealed chunk (header and payload as stored). Starts a new segment first when the
   * current one is full or spans too long. Returns the bytes written (a new segment's header included).
   */
  write(header: Uint8Array, payload: Uint8Array, records: number, firstEpochMs: number, lastEpochMs: number, framesAtStart: Int32Array): number {
    let current = this.segments[this.segments.length - 1];
    const size = header.byteLength + payload.byteLength;
    let added = size;
    if (
      current === undefined ||
      this.fd < 0 ||
      (current.chunks > 0 && (current.bytes + size > this.segmentBytes || lastEpochMs - current.firstEpochMs > this.segmentSpanMs))
    ) {
      current = this.open(firstEpochMs, framesAtStart);
      added += current.bytes;
    }
    writevSync(this.fd, [header, payload]);
    this.writtenChunks++;
    this.writtenRecords += records;
    this.writtenBytes += added;
    current.bytes += size;
    current.chunks++;
    current.records += records;
    current.lastEpochMs = lastEpochMs;
    return added;
  }

  /** The open frames now, as [functionId, serial] pairs (a copy). */
  snapshotFrames(): Int32Array {
    return this.frames.slice(0, this.depth * 2);
  }

  private open(firstEpochMs: number, framesAtStart: Int32Array): Segment {
    if (this.fd >= 0) closeSync(this.fd);
    const file = segmentFileName(this.header.pid, this.header.threadId, this.next++, this.lane);
    this.fd = openSync(join(this.dir, file), 'w');
    // What came before this segment, so that what was deleted is known even if the process is
    // killed before it can join its segments (joinLeftSegments).
    const before = { chunks: this.writtenChunks, records: this.writtenRecords, bytes: this.writtenBytes };
    const bytes = encodeFileHeader({ ...this.header, segment: this.next - 1, openAtStart: Array.from(framesAtStart), before }, this.lane);
    writeSync(this.fd, bytes);
    const segment: Segment = { file, bytes: bytes.byteLength, chunks: 0, records: 0, firstEpochMs, lastEpochMs: firstEpochMs };
    this.segments.push(segment);
    return segment;
  }

  /** Delete the oldest segment (the caller checked `deletable`). Returns the bytes freed. */
  deleteOldest(): number {
    const oldest = this.segments.shift();
    if (!oldest) return 0;
    if (this.segments.length === 0 && this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
    try {
      unlinkSync(join(this.dir, oldest.file));
    } catch {
      // already gone: the bytes are free either way
    }
    this.discardedChunks += oldest.chunks;
    this.discardedRecords += oldest.records;
    this.discardedBytes += oldest.bytes;
    return oldest.bytes;
  }

  /** The thread ended: its last segment is complete and may be deleted like the others. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.closed = true;
  }

  /** Join the kept segments into the thread's file; returns what the manifest says of it. */
  join(): JoinedThread {
    this.close();
    return joinSegments(this.dir, this.file, this.lane, this.segments.map((s) => s.file), this.discarded());
  }

  /** Write what the segments hold now, joined, into `dir` (a snapshot); the segments stay. */
  copyTo(dir: string): JoinedThread {
    return joinSegments(this.dir, this.file, this.lane, this.segments.map((s) => s.file), this.discarded(), this.discardedChunks > 0, dir);
  }

  private discarded(): { discardedChunks: number; discardedRecords: number; discardedBytes: number } {
    return { discardedChunks: this.discardedChunks, discardedRecords: this.discardedRecords, discardedBytes: this.discardedBytes };
  }
}

export interface JoinedThread {
  file: string;
  bytes: number;
  chunks: number;
  /** Records in the kept chunks (the prelude's not counted). */
  records: number;
  window: ThreadWindow | null;
  /** Epoch ms of the first kept record (null: none kept). */
  firstEpochMs: number | null;
}

/**
 * Join segment files (oldest first) into `file`. `discarded` says what was deleted before the
 * first of them; `beginningLost` whether anything was (then an index-lane file starts with a
 * prelude). A damaged or cut segment contributes its valid chunks (a killed process's last one is
 * cut). One segment is in memory at a time, and each is deleted as soon as it has been read, so
 * the directory never holds more than the bound plus one segment while it joins (a join that
 * copied everything before deleting anything held twice the bound at the end of every run).
 * `resume`: a join killed half-way left `file` with some chunks; keep them and append the rest.
 */
export function joinSegments(
  dir: string,
  file: string,
  lane: number,
  segments: string[],
  discarded: { discardedChunks: number; discardedRecords: number; discardedBytes: number },
  beginningLost = discarded.discardedChunks > 0,
  /** Write the joined file here and keep the segments (a snapshot); default: in `dir`, deleting them. */
  copyTo: string | null = null,
  resume = false,
): JoinedThread {
  const path = join(copyTo ?? dir, file);
  const joined: JoinedThread = { file, bytes: 0, chunks: 0, records: 0, window: null, firstEpochMs: null };
  let fd = -1;
  let seq = 0;
  /** The first segment's header (the thread's), once read; its frames open the prelude. */
  let header: ThreadFileHeader | null = null;
  const partial = resume && copyTo === null ? readWhole(path) : null;
  if (partial !== null) {
    const scan = scanThreadFile(partial);
    if (scan.header !== null && scan.chunks.length > 0) {
      // Its header is already the joined one: keep the valid chunks, cut what was half-written.
      header = scan.header;
      truncateSync(path, scan.validBytes);
      fd = openSync(path, 'a');
      seq = scan.chunks.length;
      joined.bytes = scan.validBytes;
      joined.chunks = seq;
      joined.window = scan.header.window ?? null;
      const first = scan.chunks[joined.window !== null && joined.window.prelude > 0 ? 1 : 0];
      if (first) joined.firstEpochMs = scan.header.timeOriginMs + first.firstTime;
      for (const chunk of scan.chunks) joined.records += chunk.count;
      joined.records -= joined.window?.prelude ?? 0;
    }
  }
  /** Segments read whose header could not be written yet (no header, or no chunk, seen so far). */
  const waiting: { bytes: Uint8Array; chunks: ChunkInfo[] }[] = [];
  const append = (bytes: Uint8Array, chunks: ChunkInfo[]): void => {
    for (const chunk of chunks) {
      const chunkHeader = bytes.slice(chunk.offset, chunk.offset + CHUNK_HEADER_BYTES);
      const payload = bytes.subarray(chunk.payloadOffset, chunk.payloadOffset + chunk.payloadBytes);
      renumberChunk(chunkHeader, payload, seq++);
      writevSync(fd, [chunkHeader, payload]);
      joined.bytes += chunkHeader.byteLength + payload.byteLength;
      joined.chunks++;
      joined.records += chunk.count;
    }
  };
  /** Write the joined file's header and prelude (the first kept record at `firstTime`), then what waited. */
  const begin = (head: ThreadFileHeader, frames: number[], firstTime: number | null): void => {
    const { segment: _segment, openAtStart: _open, before: _before, ...plain } = head;
    const prelude = beginningLost && lane === LANE_INDEX ? preludeChunk(frames, firstTime ?? 0) : null;
    joined.window = beginningLost ? { ...discarded, prelude: prelude ? prelude.records : 0 } : null;
    if (firstTime !== null) joined.firstEpochMs = head.timeOriginMs + firstTime;
    const fileHeader = encodeFileHeader(joined.window ? { ...plain, window: joined.window } : plain, lane);
    fd = openSync(path, 'w');
    writeSync(fd, fileHeader);
    joined.bytes += fileHeader.byteLength;
    if (prelude) {
      writevSync(fd, [prelude.header, prelude.payload]);
      joined.bytes += prelude.header.byteLength + prelude.payload.byteLength;
      joined.chunks++;
      seq++;
    }
    for (const part of waiting) append(part.bytes, part.chunks);
    waiting.length = 0;
  };
  let frames: number[] = [];
  try {
    for (const name of segments) {
      const bytes = readWhole(join(dir, name));
      if (bytes === null) continue;
      if (copyTo === null) tryUnlink(join(dir, name));
      const scan = scanThreadFile(bytes);
      if (header === null && scan.header !== null) {
        header = scan.header;
        frames = Array.isArray(scan.header.openAtStart) ? scan.header.openAtStart : [];
      }
      if (fd >= 0) append(bytes, scan.chunks);
      else {
        waiting.push({ bytes, chunks: scan.chunks });
        const first = waiting.find((part) => part.chunks.length > 0)?.chunks[0];
        if (header !== null && first !== undefined) begin(header, frames, first.firstTime);
      }
    }
    // Every segment read and none held a chunk: the file still says what the thread was.
    if (fd < 0 && header !== null) begin(header, frames, null);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return joined;
}

function readWhole(path: string): Uint8Array | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n <= 0) break;
      at += n;
    }
    return at === size ? bytes : bytes.subarray(0, at);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/**
 * The bounded store of one process: every thread's segments, and the rule that keeps them within
 * the bounds. The drain calls `enforce` after each chunk it writes and when idle.
 */
export class BoundedStore {
  readonly lanes: SegmentedLane[] = [];
  private total = 0;
  readonly segmentBytes: number;
  readonly segmentSpanMs: number;

  /** Bytes of the other processes' thread files (segments and joined files), at the last listing. */
  private othersBytes = 0;
  /** Bytes of the other processes' largest lane that has a segment to delete, at the last listing. */
  private othersLargest = 0;
  private othersListedAt = -Infinity;

  /**
   * `pid`: this process, when `dir` is the trace directory its other processes write to as well
   * (the size bound is then shared with them); omitted for a directory of its own (a snapshot spool).
   */
  constructor(
    readonly dir: string,
    readonly bounds: Bounds,
    private readonly pid: number | null = null,
  ) {
    this.segmentBytes = bounds.maxBytes !== null ? Math.max(MIN_SEGMENT_BYTES, Math.floor(bounds.maxBytes / SEGMENT_SHARE)) : Number.MAX_SAFE_INTEGER;
    this.segmentSpanMs = bounds.keepMs !== null ? Math.max(50, bounds.keepMs / KEEP_SHARE) : Number.MAX_SAFE_INTEGER;
  }

  open(header: ThreadFileHeader, laneCode: number = LANE_INDEX): SegmentedLane {
    const lane = new SegmentedLane(this.dir, header, this.segmentBytes, this.segmentSpanMs, laneCode);
    this.lanes.push(lane);
    return lane;
  }

  /** Count bytes just written. */
  wrote(bytes: number): void {
    this.total += bytes;
  }

  /** Bytes of every segment on disk now. */
  get bytes(): number {
    return this.total;
  }

  /** Records deleted so far, over every lane. */
  get discardedRecords(): number {
    let sum = 0;
    for (const lane of this.lanes) if (lane.lane === LANE_INDEX) sum += lane.discardedRecords;
    return sum;
  }

  /** Change the bounds of a running recording (recall ctl set); they apply from the next chunk. */
  setBounds(bounds: Partial<Bounds>): void {
    if (bounds.maxBytes !== undefined) this.bounds.maxBytes = bounds.maxBytes;
    if (bounds.keepMs !== undefined) this.bounds.keepMs = bounds.keepMs;
  }

  /** Delete oldest segments until the bounds hold (as far as deletable segments allow). */
  enforce(nowEpochMs: number): void {
    const { maxBytes, keepMs } = this.bounds;
    if (keepMs !== null) {
      const before = nowEpochMs - keepMs;
      for (const lane of this.lanes) {
        while (lane.oldestLastEpochMs < before) this.total -= lane.deleteOldest();
      }
    }
    if (maxBytes !== null) {
      if (this.pid !== null) this.listOthers(nowEpochMs);
      while (this.total + this.othersBytes > maxBytes) {
        let largest: SegmentedLane | null = null;
        let largestBytes = -1;
        for (const lane of this.lanes) {
          if (lane.deletable === 0) continue;
          const bytes = lane.bytes;
          if (bytes > largestBytes) {
            largest = lane;
            largestBytes = bytes;
          }
        }
        // Another process's thread holds more: its drain deletes (it lists this one's too).
        if (largest === null || largestBytes < this.othersLargest) break;
        this.total -= largest.deleteOldest();
      }
    }
  }

  /** Count the other processes' thread files: all of their bytes, and their largest lane with a segment to spare. */
  private listOthers(nowEpochMs: number): void {
    if (nowEpochMs - this.othersListedAt < OTHERS_SCAN_MS && nowEpochMs >= this.othersListedAt) return;
    this.othersListedAt = nowEpochMs;
    const own = `p${this.pid}-`;
    let bytes = 0;
    const lanes = new Map<string, { bytes: number; segments: number }>();
    for (const { name, size } of threadFileSizes(this.dir, (n) => n.startsWith(own))) {
      bytes += size;
      const segment = parseSegmentFileName(name);
      if (!segment) continue;
      const key = `${segment.pid}-${segment.threadId}-${segment.lane}`;
      const lane = lanes.get(key) ?? { bytes: 0, segments: 0 };
      lane.bytes += size;
      lane.segments++;
      lanes.set(key, lane);
    }
    let largest = 0;
    // (a lane's current segment is never deleted: one with a single segment has none to spare)
    for (const lane of lanes.values()) if (lane.segments > 1 && lane.bytes > largest) largest = lane.bytes;
    this.othersBytes = bytes;
    this.othersLargest = largest;
  }
}

/**
 * Join the segment files a bounded recording left behind when its process was killed before it
 * could join them itself (`recall run` calls this before salvaging). What the deleted segments
 * held is unknown by then; a prelude still re-opens the frames open where the kept ones begin.
 * A join the kill interrupted is resumed: the chunks it had written stay, the rest follow.
 * Only segments of processes that `ended` says are over are touched. Returns the thread files written.
 */
export function joinLeftSegments(dir: string, ended: (pid: number) => boolean): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const byThread = new Map<string, { segment: number; name: string; lane: number }[]>();
  for (const name of names) {
    const parsed = parseSegmentFileName(name);
    if (!parsed || !ended(parsed.pid)) continue;
    const list = byThread.get(parsed.threadFile) ?? [];
    list.push({ segment: parsed.segment, name, lane: parsed.lane });
    byThread.set(parsed.threadFile, list);
  }
  const joined: string[] = [];
  for (const [file, list] of byThread) {
    list.sort((a, b) => a.segment - b.segment);
    const first = list[0] as { segment: number; name: string; lane: number };
    const head = readWhole(join(dir, first.name));
    const before = head ? decodeFileHeader(head).header?.before : undefined;
    const discarded = { discardedChunks: before?.chunks ?? 0, discardedRecords: before?.records ?? 0, discardedBytes: before?.bytes ?? 0 };
    joinSegments(dir, file, first.lane, list.map((s) => s.name), discarded, first.segment > 0, null, true);
    joined.push(file);
  }
  return joined;
}

/**
 * Where a --snapshot recording of process `pid` keeps its segments until a trigger writes them
 * out: memory-backed /dev/shm when the machine has it, else the temporary directory. Known from
 * the pid alone, so `recall run` can remove what a killed process left.
 */
export function spoolDirOf(pid: number): string {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  return join(base, `recall-spool-${pid}`);
}

/** Make the spool directory (owner-only), emptied of a previous run's. */
export function prepareSpool(pid: number): string {
  const dir = spoolDirOf(pid);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Remove a spool directory and what it holds. */
export function removeSpool(pid: number): void {
  rmSync(spoolDirOf(pid), { recursive: true, force: true });
}

/**
 * The thread files in `dir` now, both lanes, with their sizes: segments while a bounded
 * recording runs, the joined files after. What --max-size bounds (`skip`: names to leave out).
 */
function threadFileSizes(dir: string, skip: (name: string) => boolean = () => false): { name: string; size: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const files: { name: string; size: number }[] = [];
  for (const name of names) {
    if (skip(name) || !/\.(seg|dseg|idx|det)$/.test(name)) continue;
    try {
      files.push({ name, size: statSync(join(dir, name)).size });
    } catch {
      // deleted between the listing and the stat: it holds nothing now
    }
  }
  return files;
}

/**
 * Bytes of the thread files in `dir` now (threadFileSizes): what --max-size bounds; the bounded
 * tests and bench/bounded.mjs sample it while a recording runs.
 */
export function threadFileBytes(dir: string): number {
  let sum = 0;
  for (const file of threadFileSizes(dir)) sum += file.size;
  return sum;
}
