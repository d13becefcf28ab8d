// The drain: the consumer side of every lane. It visits all active slots round-robin, copies
// what each ring holds into that thread's chunk buffer, advances the ring tail, and writes full
// (or idle) chunks to the thread's file in the trace directory. It sleeps on a futex when every
// ring is empty. On a finalize request it drains all lanes one last time, closes every file and
// writes the complete manifest of its process (the root's also lists the trace's processes, from
// processes.jsonl), then signals the waiting main thread.

import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, statSync, writeSync, writevSync } from 'node:fs';
import { writeManifestFile } from './manifest-file.js';
import { isatty } from 'node:tty';
import { join } from 'node:path';
import { CHUNK_HEADER_BYTES, FORMAT_VERSION, LANE_DETAIL, LANE_INDEX, RECORD_BYTES } from '../format/layout.js';
import { ChunkEncoder, codecName } from '../format/codec.js';
import { DETAIL_HEADER_BYTES, DT_WINDOW, decodeDetailHeader, type WindowBody } from '../format/detail.js';
import { encodeChunkHeader, encodeFileHeader } from '../format/chunk.js';
import { lanesInit } from '../format/checksum.js';
import { parseFunctionsJsonl } from '../format/functions.js';
import { parseProcessesJsonl, PROCESSES_FILE, type ProcessEntry } from '../format/processes.js';
import { sumCounters, type ClockInfo, type Manifest, type ManifestThread, type ManifestWindow, type ShutdownInfo } from '../format/manifest.js';
import {
  FIN_DURATION,
  FIN_SIGNAL,
  FIN_UNCAUGHT,
  DRAIN_UNCLAIMED,
  H_DRAIN_READY,
  H_DRAIN_WAKE,
  H_EXIT_CODE,
  H_FINALIZE,
  H_FINAL_DONE,
  H_PAUSED,
  H_SNAPSHOT_REQUEST,
  H_STOPPED,
  ARMED_TEXT_MAX_BYTES,
  armedText,
  writeTriggerWords,
  type ArmedLists,
  TRIGGER_MARK,
  TRIGGER_THROW,
  H_SIGNAL,
  H_UNTRACED_THREADS,
  S_BACKLOG_PEAK,
  S_DETAIL_DROPPED,
  S_DETAIL_HEAD,
  S_DETAIL_TAIL,
  S_DROPPED_I64,
  S_GENERATION,
  S_HEAD,
  S_MARKERS,
  S_STATE,
  S_TAIL,
  S_THREAD_ID,
  S_TIME_ORIGIN_F64,
  SLOT_ACTIVE,
  SLOT_CLOSING,
  SLOT_FREE,
  layoutOf,
  lookupThreadName,
  slotBase,
  type ControlLayout,
} from './control.js';
import { detailSettings, type RecordConfig } from './config.js';
import { signalName } from './signals.js';
import { ClockMeter, clockInfo } from './clock.js';
import { ChunkArena, SETTLE_STATE_WORDS } from './settle.js';
import type { ControlRequest, ControlResponse, ControlStatus } from '../format/control-protocol.js';
import { durationMs, globList, sizeBytes } from '../format/units.js';
import { BoundedStore, prepareSpool, removeSpool, type SegmentedLane } from './bounded.js';

/** Records per chunk: 64 Ki records = 1 MiB of payload. */
export const CHUNK_RECORDS = 1 << 16;
/**
 * Clock reads the drain worker measures the clock with (clock.ts), a slice at a time when idle. A thread
 * draining as it exits measures nothing (0): its loop would run cold and overstate the read cost
 * tenfold.
 */
const CLOCK_READS = 20000;
const CLOCK_SLICE_READS = 1000;
export const CLOCK_READS_AT_EXIT = 0;
/** functions.jsonl up to this size (some 2,000-4,000 functions) is also copied into the manifest. */
export const MANIFEST_FUNCTIONS_MAX_BYTES = 128 * 1024;
/** Bytes of a detail chunk buffer (records are far smaller: snapshots are bounded). */
const DETAIL_CHUNK_BYTES = 1 << 18;
/** A partial chunk is written once it is this old, so a killed process loses little. */
const FLUSH_AFTER_MS = 250;
const IDLE_WAIT_MS = 1;
/** A pass that moved fewer records than this sleeps IDLE_WAIT_MS before the next. */
const BATCH_RECORDS = 8192;
const STATUS_EVERY_MS = 500;
/** runServing yields to the event loop at least this often while busy. */
const BUSY_YIELD_MS = 20;
/** How often the events/s `recall ctl status` reports is measured. */
const RATE_EVERY_MS = 1000;
/** --snapshot: a trigger's snapshot waits this long past the window's post-roll, for its records to reach the drain. */
const SNAPSHOT_SETTLE_MS = 150;
/** --snapshot: automatic snapshots (triggers) are at least this far apart; more triggers meanwhile join the next. */
const SNAPSHOT_MIN_INTERVAL_MS = 1000;
const STEP_BUSY = 0;
const STEP_IDLE = 1;
const STEP_DONE = 2;

/** Atomics.waitAsync (ES2024; in every supported Node): typed here, as the ES2022 lib lacks it. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeout: number): { async: boolean; value: Promise<string> | string } }).waitAsync.bind(Atomics);
/** Turns each sealed chunk into the bytes written (codec.ts: zstd, or deflate without it). */
const encoder = new ChunkEncoder();
/** CPU time of the calling thread in ms (process.threadCpuUsage: Node 22.19+, 23.9+); null without it. */
function threadCpuMs(): number | null {
  const usage = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof usage !== 'function') return null;
  const { user, system } = usage.call(process);
  return (user + system) / 1000;
}

class LaneFile {
  readonly fd: number;
  readonly file: string;
  /** Byte address of this lane's chunk buffer in the drain's ChunkArena. */
  readonly block: number;
  readonly header = new Uint8Array(CHUNK_HEADER_BYTES);
  /** What settling carries between calls: the last record time's two words, then the chunk checksum's lanes. */
  readonly state = new Int32Array(SETTLE_STATE_WORDS);
  /** The checksum lanes of the chunk being filled (a view of state). */
  readonly lanes = this.state.subarray(2);
  filled = 0;
  seq = 0;
  /** Records taken from the ring (events + dropped markers). */
  records = 0;
  bytes = 0;
  firstFillAt = 0;
  tail = 0;
  detailTail = 0;
  detail: DetailFile | null = null;
  /** A bounded trace: the thread's segment files (bounded.ts) instead of one file (fd is then -1). */
  readonly segments: SegmentedLane | null;
  /** A bounded trace: the frames open when the chunk being filled began. */
  private framesAtChunkStart: Int32Array = new Int32Array(0);
  /** More than 3/4 of the ring was waiting when this pass began: chunks are stored plain until it catches up. */
  behind = false;

  constructor(
    readonly arena: ChunkArena,
    readonly dir: string,
    readonly slot: number,
    readonly generation: number,
    readonly threadId: number,
    readonly name: string,
    readonly timeOriginMs: number,
    pid: number,
    private readonly store: BoundedStore | null,
  ) {
    this.file = `p${pid}-t${threadId}.idx`;
    const fileHeader = { formatVersion: FORMAT_VERSION, lane: 'index' as const, pid, threadId, slot, name, timeOriginMs };
    if (store) {
      this.fd = -1;
      this.segments = store.open(fileHeader);
    } else {
      this.segments = null;
      this.fd = openSync(join(dir, this.file), 'w');
      const header = encodeFileHeader(fileHeader, LANE_INDEX);
      writeSync(this.fd, header);
      this.bytes = header.byteLength;
    }
    this.block = arena.allocate();
    lanesInit(this.lanes);
  }

  /** Append records from the ring (whole records, at most the room left in the chunk) and settle them (settle.ts). */
  append(records: Uint8Array): void {
    const at = this.block + this.filled * RECORD_BYTES;
    this.arena.bytes.set(records, at);
    this.arena.settle(at, at + records.byteLength, this.state);
    if (this.segments !== null) {
      if (this.filled === 0) this.framesAtChunkStart = this.segments.snapshotFrames();
      this.segments.track(this.arena.words, at >> 2, records.byteLength / RECORD_BYTES);
    }
    this.filled += records.byteLength / RECORD_BYTES;
  }

  flush(): void {
    if (this.filled === 0) return;
    const payload = this.arena.bytes.subarray(this.block, this.block + this.filled * RECORD_BYTES);
    const times = this.arena.times;
    const first = times[(this.block >> 3) + 1] as number;
    const last = times[((this.block + (this.filled - 1) * RECORD_BYTES) >> 3) + 1] as number;
    const sealed = encoder.sealIndex(payload, this.filled, !this.behind);
    // Settling ran the plain records' checksum lanes; a compressed payload is summed as stored.
    encodeChunkHeader(this.header, LANE_INDEX, this.seq, this.filled, sealed.payload, first, last, 0, sealed.encoding === 0 ? this.lanes : null, sealed.encoding);
    lanesInit(this.lanes);
    if (this.segments !== null && this.store !== null) {
      const origin = this.timeOriginMs;
      const written = this.segments.write(this.header, sealed.payload, this.filled, origin + first, origin + last, this.framesAtChunkStart);
      this.store.wrote(written);
      this.store.enforce(Date.now());
    } else {
      writevSync(this.fd, [this.header, sealed.payload]);
      this.bytes += CHUNK_HEADER_BYTES + sealed.payload.byteLength;
    }
    this.seq++;
    this.filled = 0;
  }

  /** The thread's index lane is complete: close its file (a bounded trace joins its segments at the end). */
  close(): void {
    this.flush();
    if (this.segments !== null) this.segments.close();
    else closeSync(this.fd);
  }
}

/** The detail-lane file of one thread: created when its first committed record arrives. */
class DetailFile {
  readonly fd: number;
  readonly file: string;
  readonly buffer = new Uint8Array(DETAIL_CHUNK_BYTES);
  readonly view = new DataView(this.buffer.buffer);
  readonly header = new Uint8Array(CHUNK_HEADER_BYTES);
  filled = 0;
  count = 0;
  firstTime = 0;
  lastTime = 0;
  seq = 0;
  records = 0;
  bytes = 0;
  firstFillAt = 0;
  /** The last record of each window id. */
  readonly windows = new Map<number, WindowBody>();
  /** Told of each window when its first record arrives (--snapshot: a trigger fired). */
  onWindow: ((window: WindowBody) => void) | null = null;

  /** A bounded trace: the thread's detail segments (bounded.ts) instead of one file (fd is then -1). */
  readonly segments: SegmentedLane | null;
  private readonly timeOriginMs: number;

  constructor(
    dir: string,
    lane: LaneFile,
    pid: number,
    private readonly store: BoundedStore | null,
  ) {
    this.file = `p${pid}-t${lane.threadId}.det`;
    this.timeOriginMs = lane.timeOriginMs;
    const fileHeader = { formatVersion: FORMAT_VERSION, lane: 'detail' as const, pid, threadId: lane.threadId, slot: lane.slot, name: lane.name, timeOriginMs: lane.timeOriginMs };
    if (store) {
      this.fd = -1;
      this.segments = store.open(fileHeader, LANE_DETAIL);
    } else {
      this.segments = null;
      this.fd = openSync(join(dir, this.file), 'w');
      const header = encodeFileHeader(fileHeader, LANE_DETAIL);
      writeSync(this.fd, header);
      this.bytes = header.byteLength;
    }
  }

  /** Append whole records (already framed); flushes first when they do not fit. */
  append(records: Uint8Array): void {
    if (this.filled + records.byteLength > this.buffer.length) this.flush();
    if (records.byteLength > this.buffer.length) return; // cannot happen: records are bounded
    if (this.filled === 0) this.firstFillAt = Date.now();
    this.buffer.set(records, this.filled);
    const view = new DataView(records.buffer, records.byteOffset, records.byteLength);
    let at = 0;
    while (at + DETAIL_HEADER_BYTES <= records.byteLength) {
      const header = decodeDetailHeader(view, at);
      if (header.length < DETAIL_HEADER_BYTES || at + header.length > records.byteLength) break;
      if (this.count === 0) this.firstTime = header.time;
      this.lastTime = header.time;
      this.count++;
      if (header.type === DT_WINDOW) {
        try {
          const window = JSON.parse(textDecoder.decode(records.subarray(at + DETAIL_HEADER_BYTES, at + header.length))) as WindowBody;
          const first = !this.windows.has(window.id);
          this.windows.set(window.id, window);
          if (first) this.onWindow?.(window);
        } catch {
          // a damaged window record only costs the manifest its entry
        }
      }
      at += header.length;
    }
    this.filled += records.byteLength;
  }

  flush(): void {
    if (this.filled === 0) return;
    // Compressed whole (format 3): snapshots are JSON text.
    const sealed = encoder.sealDetail(this.buffer.subarray(0, this.filled));
    const payload = sealed.payload;
    encodeChunkHeader(this.header, LANE_DETAIL, this.seq, this.count, payload, this.firstTime, this.lastTime, 0, null, sealed.encoding);
    if (this.segments !== null && this.store !== null) {
      const origin = this.timeOriginMs;
      this.store.wrote(this.segments.write(this.header, payload, this.count, origin + this.firstTime, origin + this.lastTime, NO_FRAMES));
      this.store.enforce(Date.now());
    } else {
      writevSync(this.fd, [this.header, payload]);
      this.bytes += CHUNK_HEADER_BYTES + payload.byteLength;
    }
    this.records += this.count;
    this.seq++;
    this.filled = 0;
    this.count = 0;
  }
}

const textDecoder = new TextDecoder();
/** A detail segment's frames (none: the detail lane has no stack). */
const NO_FRAMES = new Int32Array(0);

export class Drain {
  private readonly ctl: Int32Array;
  private readonly ctlF64: Float64Array;
  /** The control block as 64-bit words: the producers' dropped counters (Atomics). */
  private readonly ctlI64: BigInt64Array;
  private readonly ring: Uint8Array;
  private readonly layout: ControlLayout;
  private readonly lanes: (LaneFile | null)[];
  private readonly finished: ManifestThread[] = [];
  /** A bounded trace (--max-size / --keep): every thread's segments; null when unbounded. */
  private readonly store: BoundedStore | null;
  /** A bounded trace: each finished thread's manifest entry and its segments, joined at the end. */
  private readonly segmented: { entry: ManifestThread; segments: SegmentedLane; detail: SegmentedLane | null }[] = [];
  private readonly windows: ManifestWindow[] = [];
  private readonly detailRing: Uint8Array;
  /** The chunk buffers of all lanes, where their records are settled (settle.ts). */
  private readonly arena = new ChunkArena(CHUNK_RECORDS * RECORD_BYTES);
  private detailScratch = new Uint8Array(0);
  private lastStatusAt = 0;
  private lastStatusRecords = 0;
  private recordsTotal = 0;
  private readonly showStatus: boolean;

  /** Events/s over the last RATE_EVERY_MS (recall ctl status). */
  private rate = 0;
  private rateAt = 0;
  private rateRecords = 0;
  private readonly startedAt = Date.now();
  /** Snapshots written (directories relative to the trace directory). */
  private readonly snapshots: string[] = [];
  /** Snapshot requests (H_SNAPSHOT_REQUEST) already answered. */
  private snapshotRequestsSeen = 0;
  /** --snapshot: when the snapshot a trigger asked for is due (0: none is). */
  private snapshotDueAt = 0;
  private lastAutoSnapshotAt = 0;
  /** --snapshot: nothing reaches the trace directory but the manifest and the snapshots. */
  private readonly snapshotMode: boolean;
  /** Called once the trace is complete, before the waiting thread is told (the control socket goes away). */
  onFinish: (() => void) | null = null;

  /** The manifest's clock section: measured a slice at a time when the drain is idle (clockReads reads; 0: never). */
  private clock: ClockInfo;
  private readonly clockMeter: ClockMeter | null;
  /** This thread's CPU time when the drain began (threadCpuMs), for the manifest's writer.cpuMs. */
  private readonly cpuAtStart = threadCpuMs();

  constructor(
    private readonly sab: SharedArrayBuffer,
    private readonly config: RecordConfig,
    private readonly manifest: Manifest,
    clockReads = CLOCK_READS,
  ) {
    this.clock = clockInfo(manifest.clock.mode, null);
    this.clockMeter = clockReads > 0 ? new ClockMeter(clockReads) : null;
    this.ctl = new Int32Array(sab);
    this.ctlF64 = new Float64Array(sab, 0, this.ctl.length >> 1);
    this.ctlI64 = new BigInt64Array(sab, 0, this.ctl.length >> 1);
    this.layout = layoutOf(sab);
    this.ring = new Uint8Array(sab, this.layout.ringsByteOffset, this.layout.slots * this.layout.ringBytes);
    this.lanes = new Array<LaneFile | null>(this.layout.slots).fill(null);
    this.detailRing = new Uint8Array(sab, this.layout.detailByteOffset, this.layout.slots * this.layout.detailBytes);
    this.showStatus = config.status && isatty(2);
    const maxBytes = config.maxBytes ?? null;
    const keepMs = config.keepMs ?? null;
    this.snapshotMode = config.snapshot === true;
    const storeDir = this.snapshotMode ? prepareSpool(manifest.pid) : config.traceDir;
    this.store = maxBytes !== null || keepMs !== null || this.snapshotMode ? new BoundedStore(storeDir, { maxBytes, keepMs }, this.snapshotMode ? null : manifest.pid) : null;
  }

  /**
   * Take the drain's part for `who` (DRAIN_BY_WORKER or DRAIN_BY_EXITING_THREAD): true when no
   * one had it yet, and then only this caller may construct and run a Drain on `sab`.
   */
  static claim(sab: SharedArrayBuffer, who: number): boolean {
    const ctl = new Int32Array(sab);
    if (Atomics.compareExchange(ctl, H_DRAIN_READY, DRAIN_UNCLAIMED, who) !== DRAIN_UNCLAIMED) return false;
    Atomics.notify(ctl, H_DRAIN_READY);
    return true;
  }

  /** Run until finalized, blocking this thread between passes. The caller has claimed the drain (Drain.claim). */
  run(): void {
    try {
      for (;;) {
        const step = this.step();
        if (step === STEP_DONE) return;
        if (step === STEP_IDLE) Atomics.wait(this.ctl, H_DRAIN_WAKE, 0, IDLE_WAIT_MS);
      }
    } finally {
      this.done();
    }
  }

  /**
   * Run until finalized, giving this thread's event loop a turn between passes, so the drain
   * worker also serves the control socket (recall ctl): it waits with Atomics.waitAsync when
   * idle, and yields at least every BUSY_YIELD_MS while busy.
   */
  async runServing(): Promise<void> {
    let yieldedAt = Date.now();
    // A pending Atomics.waitAsync does not keep a thread's event loop alive: this does (the
    // worker is unref'd, so it does not keep the process alive).
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      for (;;) {
        const step = this.step();
        if (step === STEP_DONE) return;
        if (step === STEP_IDLE) {
          const wait = waitAsync(this.ctl, H_DRAIN_WAKE, 0, IDLE_WAIT_MS);
          if (wait.async) await wait.value;
          yieldedAt = Date.now();
        } else if (Date.now() - yieldedAt >= BUSY_YIELD_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          yieldedAt = Date.now();
        }
      }
    } finally {
      clearInterval(keepAlive);
      this.done();
    }
  }

  /** One pass over the lanes and what is due; STEP_IDLE when there was little to do. */
  private step(): number {
    const reason = Atomics.load(this.ctl, H_FINALIZE);
    if (reason !== 0) {
      this.finish(reason);
      return STEP_DONE;
    }
    const moved = this.pass(CHUNK_RECORDS);
    const now = Date.now();
    let idle = false;
    if (moved < BATCH_RECORDS) {
      // Little to do: sleep rather than spin on the heads (a spinning drain takes a core
      // from the program). A producer wakes it early when its ring is a quarter full.
      this.flushStale(now);
      if (this.clockMeter !== null && !this.clockMeter.done) this.measureClockSlice(this.clockMeter);
      idle = true;
    }
    if (this.showStatus && now - this.lastStatusAt >= STATUS_EVERY_MS) this.status(now);
    if (now - this.rateAt >= RATE_EVERY_MS) {
      this.rate = this.rateAt === 0 ? 0 : ((this.recordsTotal - this.rateRecords) * 1000) / (now - this.rateAt);
      this.rateAt = now;
      this.rateRecords = this.recordsTotal;
    }
    this.snapshotsDue(now);
    return idle ? STEP_IDLE : STEP_BUSY;
  }

  /** The trace is complete (or the drain failed): tell the thread waiting for it. */
  private done(): void {
    try {
      this.onFinish?.();
    } catch {
      // the control socket could not be removed: the trace is complete all the same
    }
    Atomics.store(this.ctl, H_FINAL_DONE, 1);
    Atomics.notify(this.ctl, H_FINAL_DONE);
  }

  /** A slice of the clock measurement: 1,000 reads, well under a millisecond once warm. */
  private measureClockSlice(meter: ClockMeter): void {
    meter.step(CLOCK_SLICE_READS);
    if (meter.done) this.clock = clockInfo(this.manifest.clock.mode, meter.result());
  }

  /** One round over every slot, taking at most `limit` records from each. Returns records moved. */
  pass(limit: number): number {
    let moved = 0;
    for (let slot = 0; slot < this.layout.slots; slot++) {
      const base = slotBase(slot);
      const state = Atomics.load(this.ctl, base + S_STATE);
      if (state !== SLOT_ACTIVE && state !== SLOT_CLOSING) continue;
      const lane = this.laneFor(slot, base);
      // The records up to this head were stored before the producer's seq-cst store of it:
      // copy reads them only after this load (docs/FORMAT.md, "Ring protocol").
      const head = Atomics.load(this.ctl, base + S_HEAD);
      const available = (head - lane.tail) | 0;
      const take = available < limit ? available : limit;
      // Compression costs the drain ~5-7 ns an event: where a producer risks drops, skip it.
      lane.behind = available > this.layout.ringRecords - (this.layout.ringRecords >> 2);
      if (take > 0) {
        this.copy(lane, slot, take);
        moved += take;
      }
      if (this.layout.detailBytes > 0) {
        const detailHead = Atomics.load(this.ctl, base + S_DETAIL_HEAD);
        if (detailHead !== lane.detailTail) {
          this.copyDetail(lane, slot, detailHead);
        }
      }
      if (state === SLOT_CLOSING && take === available) this.closeLane(slot, true);
    }
    this.recordsTotal += moved;
    return moved;
  }

  private laneFor(slot: number, base: number): LaneFile {
    const generation = Atomics.load(this.ctl, base + S_GENERATION);
    let lane = this.lanes[slot];
    if (lane && lane.generation === generation) return lane;
    if (lane) this.closeLane(slot, false);
    const threadId = this.ctl[base + S_THREAD_ID] as number;
    const name = threadId === 0 ? 'main' : lookupThreadName(this.sab, threadId) ?? `worker ${threadId}`;
    const timeOrigin = this.ctlF64[(base + S_TIME_ORIGIN_F64) >> 1] as number;
    lane = new LaneFile(this.arena, this.config.traceDir, slot, generation, threadId, name, timeOrigin, this.manifest.pid, this.store);
    this.lanes[slot] = lane;
    return lane;
  }

  private copy(lane: LaneFile, slot: number, count: number): void {
    const mask = this.layout.ringRecords - 1;
    const ringStart = slot * this.layout.ringBytes;
    let remaining = count;
    let tail = lane.tail;
    if (lane.filled === 0) lane.firstFillAt = Date.now();
    while (remaining > 0) {
      const index = tail & mask;
      const contiguous = Math.min(remaining, this.layout.ringRecords - index, CHUNK_RECORDS - lane.filled);
      const from = ringStart + index * RECORD_BYTES;
      lane.append(this.ring.subarray(from, from + contiguous * RECORD_BYTES));
      tail = (tail + contiguous) | 0;
      remaining -= contiguous;
      if (lane.filled === CHUNK_RECORDS) {
        lane.flush();
        lane.firstFillAt = Date.now();
      }
    }
    lane.records += count;
    lane.tail = tail;
    Atomics.store(this.ctl, slotBase(slot) + S_TAIL, tail);
  }

  /** Move the committed detail records of a slot into its detail file. */
  private copyDetail(lane: LaneFile, slot: number, head: number): void {
    const size = this.layout.detailBytes;
    const bytes = (head - lane.detailTail) | 0;
    if (bytes <= 0 || bytes > size) return;
    if (this.detailScratch.length < bytes) this.detailScratch = new Uint8Array(size);
    const start = slot * size;
    const at = lane.detailTail & (size - 1);
    const first = Math.min(bytes, size - at);
    this.detailScratch.set(this.detailRing.subarray(start + at, start + at + first), 0);
    if (first < bytes) this.detailScratch.set(this.detailRing.subarray(start, start + bytes - first), first);
    if (lane.detail === null) {
      lane.detail = new DetailFile(this.config.traceDir, lane, this.manifest.pid, this.store);
      if (this.snapshotMode) lane.detail.onWindow = (window) => this.windowSeen(window);
    }
    // Append in pieces that fit a chunk, on record boundaries.
    const view = new DataView(this.detailScratch.buffer, 0, bytes);
    let from = 0;
    let at2 = 0;
    while (at2 + DETAIL_HEADER_BYTES <= bytes) {
      const length = view.getUint32(at2, true);
      if (length < DETAIL_HEADER_BYTES || at2 + length > bytes) break;
      if (at2 + length - from > DETAIL_CHUNK_BYTES >> 1) {
        if (at2 > from) lane.detail.append(this.detailScratch.subarray(from, at2));
        from = at2;
      }
      at2 += length;
    }
    if (at2 > from) lane.detail.append(this.detailScratch.subarray(from, at2));
    lane.detailTail = head;
    Atomics.store(this.ctl, slotBase(slot) + S_DETAIL_TAIL, head);
  }

  /** Events a slot's producer lost to a full ring (a 64-bit word it stores with Atomics). */
  private droppedOf(base: number): number {
    return Number(Atomics.load(this.ctlI64, (base + S_DROPPED_I64) >> 1));
  }

  private flushStale(now: number): void {
    for (const lane of this.lanes) {
      if (lane && lane.filled > 0 && now - lane.firstFillAt >= FLUSH_AFTER_MS) lane.flush();
      if (lane?.detail && lane.detail.filled > 0 && now - lane.detail.firstFillAt >= FLUSH_AFTER_MS) lane.detail.flush();
    }
    this.store?.enforce(now);
  }

  private closeLane(slot: number, release: boolean): void {
    const lane = this.lanes[slot];
    if (!lane) return;
    const base = slotBase(slot);
    lane.close();
    this.arena.release(lane.block);
    const detail = lane.detail;
    if (detail) {
      detail.flush();
      if (detail.segments !== null) detail.segments.close();
      else closeSync(detail.fd);
      this.windows.push(...this.windowsOf(lane));
    }
    const entry = this.threadEntry(slot, lane, release);
    this.finished.push(entry);
    if (lane.segments !== null) this.segmented.push({ entry, segments: lane.segments, detail: detail?.segments ?? null });
    this.lanes[slot] = null;
    if (release) {
      Atomics.store(this.ctl, base + S_HEAD, 0);
      Atomics.store(this.ctl, base + S_TAIL, 0);
      Atomics.store(this.ctl, base + S_STATE, SLOT_FREE);
    }
  }

  private finish(reason: number): void {
    // Threads still running keep producing until they notice the stop; take what reached the
    // rings by now, in a bounded number of rounds.
    for (let round = 0; round < 64; round++) {
      if (this.pass(Number.MAX_SAFE_INTEGER) === 0) break;
    }
    for (let slot = 0; slot < this.layout.slots; slot++) {
      if (this.lanes[slot]) this.closeLane(slot, true);
    }
    if (this.showStatus) writeSync(2, '\r\x1b[2K');
    // --snapshot: the spool goes; what it held reached disk only in snapshots.
    if (this.snapshotMode) removeSpool(this.manifest.pid);
    else this.joinSegments();
    this.writeManifest(reason);
  }


  // ---- live control and snapshots (recall ctl, --snapshot) ---------------------------------

  /** Answer a control request (control-server.ts calls it on this thread, between passes). */
  control(request: ControlRequest): ControlResponse {
    let message: string | undefined;
    switch (request.op) {
      case 'status':
        break;
      case 'pause':
        Atomics.store(this.ctl, H_PAUSED, 1);
        message = 'paused: every thread stops recording at its next idle tick or ring check';
        break;
      case 'resume':
        Atomics.store(this.ctl, H_PAUSED, 0);
        message = 'resumed: every thread records again at its next idle tick';
        break;
      case 'snapshot': {
        const written = this.writeSnapshot('ctl');
        message = `snapshot written: ${written}`;
        break;
      }
      case 'set': {
        const applied = this.applySettings(request.settings ?? {});
        if (typeof applied === 'object') return applied;
        message = applied;
        break;
      }
      default:
        return { ok: false, code: 'E_USAGE', message: `unknown control operation '${String((request as { op: unknown }).op)}'` };
    }
    return { ok: true, ...(message !== undefined ? { message } : {}), ...this.controlStatus() };
  }

  private controlStatus(): ControlStatus {
    let dropped = 0;
    let threads = 0;
    for (let slot = 0; slot < this.layout.slots; slot++) {
      dropped += this.droppedOf(slotBase(slot));
      if (this.lanes[slot]) threads++;
    }
    for (const t of this.finished) dropped += t.dropped;
    let bytes = 0;
    if (this.store) bytes = this.store.bytes;
    else {
      for (const t of this.finished) bytes += t.bytes + (t.detail?.bytes ?? 0);
      for (const lane of this.lanes) if (lane) bytes += lane.bytes + (lane.detail?.bytes ?? 0);
    }
    const settings = this.manifest.detail;
    const stopped = Atomics.load(this.ctl, H_STOPPED) === 1;
    return {
      pid: this.manifest.pid,
      state: stopped ? 'stopped' : Atomics.load(this.ctl, H_PAUSED) === 1 ? 'paused' : 'recording',
      eventsPerSecond: Math.round(this.rate),
      written: this.recordsTotal,
      dropped,
      discarded: this.store?.discardedRecords ?? 0,
      bytes,
      threads,
      triggers: settings?.triggers ?? [],
      capture: settings?.capture ?? [],
      maxBytes: this.store?.bounds.maxBytes ?? null,
      keepMs: this.store?.bounds.keepMs ?? null,
      snapshotMode: this.snapshotMode,
      snapshots: [...this.snapshots],
      uptimeMs: Date.now() - this.startedAt,
    };
  }

  /** recall ctl set: change the bounds of a bounded recording; returns what changed, or an error. */
  private applySettings(settings: Record<string, string>): string | ControlResponse {
    const changed: string[] = [];
    const fail = (message: string): ControlResponse => ({ ok: false, code: 'E_USAGE', message });
    for (const [key, value] of Object.entries(settings)) {
      if (key === 'max-size' || key === 'keep') {
        if (this.store === null) return fail(`set ${key}: this recording is not bounded (start it with --max-size or --keep to change its bounds live)`);
        const none = value === 'none' || value === 'off';
        const parsed = none ? null : key === 'max-size' ? sizeBytes(value) : durationMs(value);
        if (!none && (parsed === null || parsed <= 0)) return fail(`set ${key}: '${value}' is not a ${key === 'max-size' ? 'size like 64MiB' : 'duration like 30s or 10m'} (or none)`);
        if (key === 'max-size') this.store.setBounds({ maxBytes: parsed });
        else this.store.setBounds({ keepMs: parsed });
        changed.push(`${key}=${none ? 'none' : value}`);
      } else if (key === 'slow' || key === 'throw' || key === 'mark' || key === 'capture' || key === 'fn') {
        const detail = this.config.detail;
        if (detail === null) return fail(`set ${key}: this recording has no detail lane (--no-detail)`);
        const off = value === 'off' || value === 'none' || value === 'no';
        const on = value === 'on' || value === 'yes';
        let armed: ArmedLists | null = null;
        if (key === 'slow') {
          const ms = off ? null : durationMs(value);
          if (!off && (ms === null || ms <= 0)) return fail(`set slow: '${value}' is not a duration like 50ms (or off)`);
          detail.slowMs = ms;
        } else if (key === 'capture' || key === 'fn') {
          // Globs, comma-separated (none: no function). Threads arm the matching functions at their next idle tick.
          const globs = off ? [] : globList(value);
          if (!off && globs.length === 0) return fail(`set ${key}: function-name globs, comma-separated (or none), not '${value}'`);
          if (key === 'capture') detail.capture = globs;
          else detail.fn = globs;
          armed = { capture: detail.capture, fn: detail.fn };
          const bytes = Buffer.byteLength(armedText(armed));
          if (bytes > ARMED_TEXT_MAX_BYTES) return fail(`set ${key}: the capture and fn globs take ${bytes} bytes; at most ${ARMED_TEXT_MAX_BYTES} fit (name fewer or broader globs)`);
        } else {
          if (!on && !off) return fail(`set ${key}: on or off, not '${value}'`);
          if (key === 'throw') detail.onThrow = on;
          else detail.onMark = on;
        }
        // Threads take the new triggers at their next idle tick (Recorder.applyTriggers).
        writeTriggerWords(this.sab, detail.slowMs === null ? -1 : Math.round(detail.slowMs * 1000), (detail.onThrow ? TRIGGER_THROW : 0) | (detail.onMark ? TRIGGER_MARK : 0), armed);
        this.manifest.detail = detailSettings(detail);
        changed.push(`${key}=${value}`);
      } else {
        return fail(`set: unknown setting '${key}'; settings: max-size, keep, slow, throw, mark, capture, fn`);
      }
    }
    this.store?.enforce(Date.now());
    return `set ${changed.join(' ')}`;
  }

  /** --snapshot: a detail window opened: write a snapshot once its post-roll is over. */
  private windowSeen(window: WindowBody): void {
    const now = Date.now();
    const postRoll = this.manifest.detail?.postRollMs ?? 0;
    const due = now + (window.closed ? 0 : postRoll) + SNAPSHOT_SETTLE_MS;
    const earliest = this.lastAutoSnapshotAt + SNAPSHOT_MIN_INTERVAL_MS;
    const at = Math.max(due, earliest);
    if (this.snapshotDueAt === 0 || at < this.snapshotDueAt) this.snapshotDueAt = at;
  }

  /** Write the snapshots asked for: by SIGUSR2 (H_SNAPSHOT_REQUEST) or by a trigger that is due. */
  private snapshotsDue(now: number): void {
    const requested = Atomics.load(this.ctl, H_SNAPSHOT_REQUEST);
    if (requested !== this.snapshotRequestsSeen) {
      this.snapshotRequestsSeen = requested;
      this.writeSnapshot('signal');
    }
    if (this.snapshotDueAt !== 0 && now >= this.snapshotDueAt) {
      this.snapshotDueAt = 0;
      this.lastAutoSnapshotAt = now;
      this.writeSnapshot('trigger');
    }
  }

  /**
   * Write what the process's threads hold now as a complete trace of its own, in
   * snapshots/p<pid>-<n> under the trace directory: each thread's kept records joined (bounded
   * and --snapshot recordings) or its files copied, the function table, and a manifest whose
   * shutdown reason is "snapshot". Returns the directory, relative to the trace directory.
   */
  private writeSnapshot(trigger: string): string {
    this.pass(Number.MAX_SAFE_INTEGER);
    for (const lane of this.lanes) {
      if (!lane) continue;
      lane.flush();
      lane.detail?.flush();
    }
    const traceDir = this.config.traceDir;
    const name = join('snapshots', `p${this.manifest.pid}-${this.snapshots.length + 1}`);
    const dir = join(traceDir, name);
    mkdirSync(dir, { recursive: true });
    const threads: ManifestThread[] = [];
    const copy = (segments: SegmentedLane | null, file: string): { bytes: number; chunks: number; records: number; discarded: number } | null => {
      if (segments !== null) {
        const joined = segments.copyTo(dir);
        if (joined.bytes === 0) return null; // nothing of the thread is kept any more
        return { bytes: joined.bytes, chunks: joined.chunks, records: joined.records, discarded: segments.discardedRecords };
      }
      copyFileSync(join(traceDir, file), join(dir, file));
      return { bytes: statSync(join(dir, file)).size, chunks: -1, records: -1, discarded: 0 };
    };
    const add = (entry: ManifestThread, segments: SegmentedLane | null, detail: SegmentedLane | null, detailFile: string | null): void => {
      const index = copy(segments, entry.file);
      if (index === null) return;
      const thread: ManifestThread = { ...entry, closed: true, bytes: index.bytes, discarded: index.discarded };
      if (index.records >= 0) {
        // Events taken less those deleted (entry.written already leaves out drop and pause markers).
        thread.chunks = index.chunks;
        thread.written = Math.max(0, entry.written - index.discarded);
        thread.produced = thread.written + thread.dropped + thread.discarded;
      }
      if (detailFile !== null && entry.detail) {
        const kept = copy(detail, detailFile);
        thread.detail = kept === null ? null : { ...entry.detail, bytes: kept.bytes, ...(kept.records >= 0 ? { records: kept.records, chunks: kept.chunks } : {}) };
      } else thread.detail = null;
      threads.push(thread);
    };
    for (const { entry, segments, detail } of this.segmented) add(entry, segments, detail, entry.detail?.file ?? null);
    if (this.store === null) for (const entry of this.finished) add(entry, null, null, entry.detail?.file ?? null);
    for (let slot = 0; slot < this.layout.slots; slot++) {
      const lane = this.lanes[slot];
      if (!lane) continue;
      add(this.threadEntry(slot, lane, false), lane.segments, lane.detail?.segments ?? null, lane.detail?.file ?? null);
    }
    threads.sort((a, b) => a.id - b.id || a.slot - b.slot);
    try {
      copyFileSync(join(traceDir, this.manifest.functionsFile), join(dir, 'functions.jsonl'));
    } catch {
      // no instrumented module was loaded yet
    }
    const manifest: Manifest = {
      ...this.manifest,
      clock: this.clock,
      status: 'complete',
      endEpochMs: Date.now(),
      threads,
      threadsUntraced: Atomics.load(this.ctl, H_UNTRACED_THREADS),
      functionsFile: 'functions.jsonl',
      functions: [],
      totals: sumCounters(threads),
      shutdown: { reason: 'snapshot', exitCode: null, signal: trigger === 'signal' ? 'SIGUSR2' : null },
      notes: [`a snapshot of a running recording (${trigger === 'ctl' ? 'recall ctl snapshot' : trigger === 'signal' ? 'SIGUSR2' : 'a trigger fired'}): calls still running then show as unfinished`],
      windows: this.windows.concat(this.liveWindows()).sort((a, b) => a.atNs - b.atNs),
      parentPid: null,
      rootPid: this.manifest.pid,
      processes: [],
      snapshots: [],
    };
    writeManifestFile(dir, manifest, 'manifest.json');
    this.snapshots.push(name);
    return name;
  }

  /** The windows of threads still running, as the manifest lists them. */
  private liveWindows(): ManifestWindow[] {
    return this.lanes.flatMap((lane) => (lane ? this.windowsOf(lane) : []));
  }

  /** A lane's detail windows as the manifest lists them: times in ns from the process's start. */
  private windowsOf(lane: LaneFile): ManifestWindow[] {
    if (!lane.detail) return [];
    const start = this.manifest.startEpochMs;
    const ns = (ms: number): number => Math.round((lane.timeOriginMs + ms - start) * 1e6);
    return [...lane.detail.windows.values()].map((w) => ({ thread: lane.threadId, id: w.id, trigger: w.trigger, fn: w.fn, atNs: ns(w.at), fromNs: ns(w.from), toNs: ns(w.to), records: w.records }));
  }

  /** A lane's manifest entry now: its counters (markers are not events), file and detail lane. */
  private threadEntry(slot: number, lane: LaneFile, closed: boolean): ManifestThread {
    const base = slotBase(slot);
    const dropped = this.droppedOf(base);
    const written = lane.records - Atomics.load(this.ctl, base + S_MARKERS);
    const detail = lane.detail;
    return {
      id: lane.threadId,
      name: lane.name,
      slot,
      file: lane.file,
      timeOriginMs: lane.timeOriginMs,
      produced: written + dropped,
      written,
      dropped,
      discarded: 0,
      bytes: lane.bytes,
      chunks: lane.seq,
      closed,
      backlogPeak: Atomics.load(this.ctl, base + S_BACKLOG_PEAK),
      detail: detail ? { file: detail.file, records: detail.records, bytes: detail.bytes, chunks: detail.seq, dropped: Atomics.load(this.ctl, base + S_DETAIL_DROPPED) } : null,
    };
  }

  /** A bounded trace: join each thread's kept segments into its thread file, and count what was discarded. */
  private joinSegments(): void {
    const keptFrom = new Map<number, number>();
    for (const { entry, segments, detail } of this.segmented) {
      const joined = segments.join();
      const discarded = segments.discardedRecords;
      entry.bytes = joined.bytes;
      entry.chunks = joined.chunks;
      entry.written = Math.max(0, entry.written - discarded);
      entry.discarded = discarded;
      entry.produced = entry.written + entry.dropped + discarded;
      if (detail !== null && entry.detail) {
        const kept = detail.join();
        entry.detail.records = Math.max(0, entry.detail.records - detail.discardedRecords);
        entry.detail.bytes = kept.bytes;
        entry.detail.chunks = kept.chunks;
        if (detail.discardedChunks > 0 && kept.firstEpochMs !== null) keptFrom.set(entry.id, kept.firstEpochMs);
      }
    }
    // Windows whose values were deleted with the oldest detail segments are not listed.
    if (keptFrom.size > 0) {
      const start = this.manifest.startEpochMs;
      const kept = this.windows.filter((w) => {
        const from = keptFrom.get(w.thread);
        return from === undefined || start + w.toNs / 1e6 >= from;
      });
      this.windows.length = 0;
      this.windows.push(...kept);
    }
  }

  private status(now: number): void {
    if (this.lastStatusAt === 0) {
      // First call: only set the baseline for the rate.
      this.lastStatusAt = now;
      this.lastStatusRecords = this.recordsTotal;
      return;
    }
    const rate = (this.recordsTotal - this.lastStatusRecords) / ((now - this.lastStatusAt) / 1000);
    let bytes = 0;
    let dropped = 0;
    if (this.store) bytes = this.store.bytes;
    else for (const t of this.finished) bytes += t.bytes;
    for (let slot = 0; slot < this.layout.slots; slot++) {
      const lane = this.lanes[slot];
      if (lane && !this.store) bytes += lane.bytes;
      dropped += this.droppedOf(slotBase(slot));
    }
    const line = `recall: ${formatCount(rate)} events/s · ${(bytes / 1048576).toFixed(1)} MB · ${formatCount(dropped)} dropped`;
    writeSync(2, `\r\x1b[2K${line}`);
    this.lastStatusAt = now;
    this.lastStatusRecords = this.recordsTotal;
  }

  private writeManifest(reason: number): void {
    const dir = this.config.traceDir;
    // A large table stays only in its file, where readers find it (FORMAT.md section 5): on
    // tsc (10,885 functions, 742 KB) the copy cost ~0.15 s at exit, here and in recall run.
    const functionsPath = join(dir, this.manifest.functionsFile);
    let functionsText = '';
    try {
      if (statSync(functionsPath).size <= MANIFEST_FUNCTIONS_MAX_BYTES) functionsText = readFileSync(functionsPath, 'utf8');
    } catch {
      // no instrumented module was loaded
    }
    const recorded = [...this.finished].sort((a, b) => a.id - b.id || a.slot - b.slot);
    // --snapshot: no thread file is in the trace directory; every event went only to snapshots.
    const threads = this.snapshotMode ? [] : recorded;
    const totals = sumCounters(recorded);
    if (this.snapshotMode) {
      totals.discarded = totals.produced - totals.dropped;
      totals.written = 0;
      totals.bytes = 0;
      totals.chunks = 0;
    }
    const exitCode = this.ctl[H_EXIT_CODE] as number;
    const signal = this.ctl[H_SIGNAL] as number;
    const shutdown: ShutdownInfo =
      reason === FIN_SIGNAL
        ? { reason: 'signal', signal: signalName(signal), exitCode: null }
        : reason === FIN_UNCAUGHT
          ? { reason: 'uncaught-exception', exitCode }
          : reason === FIN_DURATION
            ? { reason: 'duration', exitCode: null }
            : { reason: 'exit', exitCode };
    const manifest: Manifest = {
      ...this.manifest,
      clock: this.clock,
      status: 'complete',
      endEpochMs: Date.now(),
      threads,
      threadsUntraced: Atomics.load(this.ctl, H_UNTRACED_THREADS),
      functions: parseFunctionsJsonl(functionsText).functions,
      totals,
      shutdown,
      windows: this.windows.sort((a, b) => a.atNs - b.atNs),
      processes: this.manifest.parentPid === null ? readProcesses(dir) : [],
      snapshots: [...this.snapshots],
      writer: { codec: codecName(encoder.codec), cpuMs: this.cpuAtStart === null ? null : (threadCpuMs() as number) - this.cpuAtStart },
    };
    writeManifestFile(dir, manifest);
  }
}

/** The root's snapshot of processes.jsonl (children may still be starting; the file stays the full list). */
function readProcesses(dir: string): ProcessEntry[] {
  try {
    return parseProcessesJsonl(readFileSync(join(dir, PROCESSES_FILE), 'utf8')).processes;
  } catch {
    return [];
  }
}

function formatCount(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n));
}
