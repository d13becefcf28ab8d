// The drain: the consumer side of every lane. It visits all active slots round-robin, copies
// what each ring holds into that thread's chunk buffer, advances the ring tail, and writes full
// (or idle) chunks to the thread's file in the trace directory. It sleeps on a futex when every
// ring is empty. On a finalize request it drains all lanes one last time, closes every file and
// writes the complete manifest of its process (the root's also lists the trace's processes, from
// processes.jsonl), then signals the waiting main thread.

import { closeSync, openSync, readFileSync, statSync, writeSync, writevSync } from 'node:fs';
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
  H_SIGNAL,
  H_UNTRACED_THREADS,
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
import type { RecordConfig } from './config.js';
import { signalName } from './signals.js';
import { ClockMeter, clockInfo } from './clock.js';
import { ChunkArena, SETTLE_STATE_WORDS } from './settle.js';

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
  ) {
    this.file = `p${pid}-t${threadId}.idx`;
    this.fd = openSync(join(dir, this.file), 'w');
    const header = encodeFileHeader({ formatVersion: FORMAT_VERSION, lane: 'index', pid, threadId, slot, name, timeOriginMs }, LANE_INDEX);
    writeSync(this.fd, header);
    this.bytes = header.byteLength;
    this.block = arena.allocate();
    lanesInit(this.lanes);
  }

  /** Append records from the ring (whole records, at most the room left in the chunk) and settle them (settle.ts). */
  append(records: Uint8Array): void {
    const at = this.block + this.filled * RECORD_BYTES;
    this.arena.bytes.set(records, at);
    this.arena.settle(at, at + records.byteLength, this.state);
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
    writevSync(this.fd, [this.header, sealed.payload]);
    this.bytes += CHUNK_HEADER_BYTES + sealed.payload.byteLength;
    this.seq++;
    this.filled = 0;
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

  constructor(dir: string, lane: LaneFile, pid: number) {
    this.file = `p${pid}-t${lane.threadId}.det`;
    this.fd = openSync(join(dir, this.file), 'w');
    const header = encodeFileHeader({ formatVersion: FORMAT_VERSION, lane: 'detail', pid, threadId: lane.threadId, slot: lane.slot, name: lane.name, timeOriginMs: lane.timeOriginMs }, LANE_DETAIL);
    writeSync(this.fd, header);
    this.bytes = header.byteLength;
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
          this.windows.set(window.id, window);
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
    const payload = this.buffer.subarray(0, this.filled);
    encodeChunkHeader(this.header, LANE_DETAIL, this.seq, this.count, payload, this.firstTime, this.lastTime, 0);
    writevSync(this.fd, [this.header, payload]);
    this.bytes += CHUNK_HEADER_BYTES + payload.byteLength;
    this.records += this.count;
    this.seq++;
    this.filled = 0;
    this.count = 0;
  }
}

const textDecoder = new TextDecoder();

export class Drain {
  private readonly ctl: Int32Array;
  private readonly ctlF64: Float64Array;
  /** The control block as 64-bit words: the producers' dropped counters (Atomics). */
  private readonly ctlI64: BigInt64Array;
  private readonly ring: Uint8Array;
  private readonly layout: ControlLayout;
  private readonly lanes: (LaneFile | null)[];
  private readonly finished: ManifestThread[] = [];
  private readonly windows: ManifestWindow[] = [];
  private readonly detailRing: Uint8Array;
  /** The chunk buffers of all lanes, where their records are settled (settle.ts). */
  private readonly arena = new ChunkArena(CHUNK_RECORDS * RECORD_BYTES);
  private detailScratch = new Uint8Array(0);
  private lastStatusAt = 0;
  private lastStatusRecords = 0;
  private recordsTotal = 0;
  private readonly showStatus: boolean;

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

  /** Run until finalized. The caller has claimed the drain (Drain.claim). */
  run(): void {
    try {
      for (;;) {
        const reason = Atomics.load(this.ctl, H_FINALIZE);
        if (reason !== 0) {
          this.finish(reason);
          return;
        }
        const moved = this.pass(CHUNK_RECORDS);
        const now = Date.now();
        if (moved < BATCH_RECORDS) {
          // Little to do: sleep rather than spin on the heads (a spinning drain takes a core
          // from the program). A producer wakes it early when its ring is a quarter full.
          this.flushStale(now);
          if (this.clockMeter !== null && !this.clockMeter.done) this.measureClockSlice(this.clockMeter);
          Atomics.wait(this.ctl, H_DRAIN_WAKE, 0, IDLE_WAIT_MS);
        }
        if (this.showStatus && now - this.lastStatusAt >= STATUS_EVERY_MS) this.status(now);
      }
    } finally {
      Atomics.store(this.ctl, H_FINAL_DONE, 1);
      Atomics.notify(this.ctl, H_FINAL_DONE);
    }
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
    lane = new LaneFile(this.arena, this.config.traceDir, slot, generation, threadId, name, timeOrigin, this.manifest.pid);
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
    lane.detail ??= new DetailFile(this.config.traceDir, lane, this.manifest.pid);
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
  }

  private closeLane(slot: number, release: boolean): void {
    const lane = this.lanes[slot];
    if (!lane) return;
    const base = slotBase(slot);
    lane.flush();
    closeSync(lane.fd);
    this.arena.release(lane.block);
    const markers = Atomics.load(this.ctl, base + S_MARKERS);
    const dropped = this.droppedOf(base);
    const written = lane.records - markers;
    const detail = lane.detail;
    if (detail) {
      detail.flush();
      closeSync(detail.fd);
      const origin = lane.timeOriginMs;
      const start = this.manifest.startEpochMs;
      const ns = (ms: number): number => Math.round((origin + ms - start) * 1e6);
      for (const w of detail.windows.values()) {
        this.windows.push({ thread: lane.threadId, id: w.id, trigger: w.trigger, fn: w.fn, atNs: ns(w.at), fromNs: ns(w.from), toNs: ns(w.to), records: w.records });
      }
    }
    this.finished.push({
      id: lane.threadId,
      name: lane.name,
      slot,
      file: lane.file,
      timeOriginMs: lane.timeOriginMs,
      produced: written + dropped,
      written,
      dropped,
      bytes: lane.bytes,
      chunks: lane.seq,
      closed: release,
      detail: detail
        ? { file: detail.file, records: detail.records, bytes: detail.bytes, chunks: detail.seq, dropped: Atomics.load(this.ctl, base + S_DETAIL_DROPPED) }
        : null,
    });
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
    this.writeManifest(reason);
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
    for (const t of this.finished) bytes += t.bytes;
    for (let slot = 0; slot < this.layout.slots; slot++) {
      const lane = this.lanes[slot];
      if (lane) bytes += lane.bytes;
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
    const threads = [...this.finished].sort((a, b) => a.id - b.id || a.slot - b.slot);
    const totals = sumCounters(threads);
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
