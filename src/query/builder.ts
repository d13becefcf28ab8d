// Building one thread's index (thread-index.ts) in one streaming pass: feed it the thread's
// valid chunks in file order and it runs the stack machine over them once, taking a checkpoint
// every `segmentRecords` records, counting each segment's calls per function, filling the
// crossing table as the calls that cross segments end, and summing per-function totals by the
// summary's rules (inclusive time once per outermost activation). Typed arrays that grow by
// doubling; no object per event. No Node-only imports.

import { ANCESTRY, OUT_DROPPED, OUT_THROW, OUT_UNFINISHED, PUSH_ENTER, PUSH_ORPHAN, Estimates, StackMachine, type MachineSink } from './machine.js';
import { FLAG_ORPHAN, FLAG_TIMED, NO_PARENT, type FunctionTotals, type SchedulingTally, type ThreadIndex } from './thread-index.js';
import { EXT_CALLBACK, EXT_CALLBACK_END, EXT_DETAIL, EXT_SCHEDULE } from '../format/layout.js';

/** Trie nodes at most (keys stay exact doubles below 2^53); past it the index keeps no folds. */
const MAX_NODES = 1 << 24;

/** Tags (StackMachine.tag) of frames without a crossing row: -1, or ORPHAN for a call begun at a resume. */
const ORPHAN = -2;

type Store = Float64Array | Uint32Array | Uint8Array;
const F64 = (n: number): Store => new Float64Array(n);
const U32 = (n: number): Store => new Uint32Array(n);
const U8 = (n: number): Store => new Uint8Array(n);

/** A growable typed array (doubles unless told: u32 columns stored as u32 halve the build's memory). */
class Grow {
  data: Store;
  length = 0;
  constructor(private readonly make: (n: number) => Store = F64) {
    this.data = make(64);
  }
  push(value: number): number {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length] = value;
    return this.length++;
  }
  f64(): Float64Array {
    return Float64Array.from(this.data.subarray(0, this.length));
  }
  u32(): Uint32Array {
    return Uint32Array.from(this.data.subarray(0, this.length));
  }
  u8(): Uint8Array {
    return Uint8Array.from(this.data.subarray(0, this.length));
  }
}

/** Per-function columns indexed by function id, grown to the largest id seen. */
class PerFunction {
  data: Float64Array;
  constructor(
    private readonly columns: number,
    capacity = 1024,
  ) {
    this.data = new Float64Array(capacity * columns);
  }
  /** Row offset of `fn`, growing as needed. */
  row(fn: number): number {
    const need = (fn + 1) * this.columns;
    if (need > this.data.length) {
      let size = this.data.length * 2;
      while (size < need) size *= 2;
      const next = new Float64Array(size);
      next.set(this.data);
      this.data = next;
    }
    return fn * this.columns;
  }
  get size(): number {
    return this.data.length / this.columns;
  }
}

// Per-function totals columns.
const T_CALLS = 0;
const T_TOTAL = 1;
const T_SELF = 2;
const T_THROWS = 3;
const T_UNFINISHED = 4;
const T_ACTIVE = 5;
const T_SEEN = 6;
/** Self time estimated for untimed activations (adaptive timing), ms. */
const T_ESTIMATED = 7;
const T_COLUMNS = 8;
// Per-function columns of the current segment.
const G_ENTERS = 0;
const G_THROWS = 1;
const G_MAX = 2;
const G_COLUMNS = 3;

export class ThreadIndexBuilder implements MachineSink {
  private readonly machine: StackMachine;
  private pos = 0;
  private segment = -1;
  private untilCheckpoint = 0;
  private firstTime = Infinity;
  private lastTime = -Infinity;
  private droppedFromMarkers = 0;
  // Chunks.
  private readonly chunkPayload = new Grow();
  private readonly chunkCount = new Grow(U32);
  private readonly chunkFirst = new Grow();
  // Segments and checkpoints.
  private readonly segTime = new Grow();
  private readonly cpStart = new Grow(U32);
  private readonly cpDepth = new Grow(U32);
  private readonly cpRows = new Grow(U32);
  private readonly cpFn = new Grow(U32);
  private readonly fnStart = new Grow(U32);
  private readonly fnId = new Grow(U32);
  private readonly fnEnters = new Grow(U32);
  private readonly fnThrows = new Grow(U32);
  private readonly fnMax = new Grow();
  private readonly seg = new PerFunction(G_COLUMNS);
  private touched: number[] = [];
  // The crossing table.
  private readonly xCall = new Grow();
  private readonly xFn = new Grow(U32);
  private readonly xSerial = new Grow(U32);
  private readonly xEnterTime = new Grow();
  private readonly xExitPos = new Grow();
  private readonly xExitTime = new Grow();
  private readonly xTotal = new Grow();
  private readonly xSelf = new Grow();
  private readonly xOutcome = new Grow(U8);
  private readonly xFlags = new Grow(U8);
  private readonly xHops = new Grow(U32);
  private readonly totals = new PerFunction(T_COLUMNS);
  /** Adaptive timing's estimates, learnt from the thread's start as the summary learns them. */
  private readonly estimates = new Estimates();
  // Callees of rows' calls folded by function path, ANCESTRY levels deep: a trie per row.
  private readonly topKey = new Map<number, number>(); // row * 2^28 + fn -> node
  private readonly childKey = new Map<number, number>(); // node * 2^28 + fn -> node
  private readonly kRow = new Grow(U32);
  private readonly kParent = new Grow();
  private readonly kFn = new Grow(U32);
  private readonly kCalls = new Grow(U32);
  private readonly kTotal = new Grow();
  private readonly kSelf = new Grow();
  private readonly kThrows = new Grow(U32);
  private readonly evPos = new Grow();
  private readonly evType = new Grow(U8);
  private readonly evAux = new Grow(U32);
  private readonly evTime = new Grow();
  private readonly scheduling: SchedulingTally = { scheduled: 0, runs: 0, neverRan: 0, unmatched: 0, unfinished: 0 };
  /** Scheduling link id -> runs so far. */
  private readonly links = new Map<number, number>();
  private running = 0;
  /** False once the trie outgrew MAX_NODES (the engine then walks instead). */
  private folds = true;
  private readonly found = new Int32Array(ANCESTRY);
  /** Position of the current segment's first record. */
  private segStart = 0;

  constructor(private readonly segmentRecords: number) {
    this.machine = new StackMachine(this, this.estimates);
  }

  /** A valid chunk, in file order: its payload's file offset and record count. */
  chunk(payloadOffset: number, count: number): void {
    if (count === 0) return;
    this.chunkPayload.push(payloadOffset);
    this.chunkCount.push(count);
    this.chunkFirst.push(this.pos);
  }

  /** That chunk's records (`count` records at word `word` of `u32`; `f64` views the same bytes). */
  records(u32: Uint32Array, f64: Float64Array, word: number, count: number): void {
    if (count <= 0) return;
    const first = f64[(word >> 1) + 1] as number;
    const last = f64[(word >> 1) + (count - 1) * 2 + 1] as number;
    if (first < this.firstTime) this.firstTime = first;
    if (last > this.lastTime) this.lastTime = last;
    const machine = this.machine;
    for (let r = 0; r < count; r++) {
      const w = word + r * 4;
      if (this.untilCheckpoint === 0) this.checkpoint(f64[(w >> 1) + 1] as number);
      this.untilCheckpoint--;
      if (((u32[w] as number) >>> 28) === 6) this.droppedFromMarkers += u32[w + 1] as number;
      machine.step(u32, f64, w, this.pos);
      this.pos++;
    }
  }

  /** Rows in the crossing table for every live call that has none yet (sorted by position). */
  private rowsForLive(): void {
    const m = this.machine;
    const fresh: number[] = []; // [call, level or -1 - slot, serial] triples
    for (let level = 0; level < m.depth; level++) if (m.tag(level) < 0) fresh.push(m.call(level), level, m.serial(level));
    for (const [serial, slot] of m.suspended) if (m.suspendedTag(slot) < 0) fresh.push(m.suspendedCall(slot), -1 - slot, serial);
    const order: number[] = [];
    for (let i = 0; i < fresh.length; i += 3) order.push(i);
    order.sort((a, b) => (fresh[a] as number) - (fresh[b] as number));
    for (const i of order) {
      const where = fresh[i + 1] as number;
      const row = this.xCall.push(fresh[i] as number);
      this.xSerial.push(fresh[i + 2] as number);
      if (where >= 0) {
        this.xFn.push(m.fn(where));
        this.xEnterTime.push(m.enterTime(where));
        this.xFlags.push((m.timed(where) ? FLAG_TIMED : 0) | (m.tag(where) === ORPHAN ? FLAG_ORPHAN : 0));
        m.setTag(where, row);
      } else {
        const slot = -1 - where;
        this.xFn.push(m.suspendedFn(slot));
        this.xEnterTime.push(m.suspendedEnterTime(slot));
        this.xFlags.push((m.suspendedTimed(slot) ? FLAG_TIMED : 0) | (m.suspendedTag(slot) === ORPHAN ? FLAG_ORPHAN : 0));
        m.setSuspendedTag(slot, row);
      }
      this.xHops.push(where >= 0 ? m.hops(where) : m.suspendedHops(-1 - where));
      this.xExitPos.push(-1);
      this.xExitTime.push(NaN);
      this.xTotal.push(NaN);
      this.xSelf.push(NaN);
      this.xOutcome.push(OUT_UNFINISHED);
    }
  }

  /** The function rows of the segment that ends. */
  private flushSegment(): void {
    const touched = this.touched.sort((a, b) => a - b);
    const data = this.seg.data;
    for (const fn of touched) {
      const g = fn * G_COLUMNS;
      this.fnId.push(fn);
      this.fnEnters.push(data[g + G_ENTERS] as number);
      this.fnThrows.push(data[g + G_THROWS] as number);
      this.fnMax.push(data[g + G_MAX] as number);
      data[g + G_ENTERS] = 0;
      data[g + G_THROWS] = 0;
      data[g + G_MAX] = -1;
    }
    this.touched = [];
  }

  /** Before the first record of a new segment (its time `t`). */
  private checkpoint(t: number): void {
    if (this.segment >= 0) this.flushSegment();
    this.segment++;
    this.untilCheckpoint = this.segmentRecords;
    this.segStart = this.pos;
    this.rowsForLive();
    const m = this.machine;
    this.segTime.push(t);
    this.fnStart.push(this.fnId.length);
    this.cpStart.push(this.cpRows.length);
    this.cpDepth.push(m.depth);
    for (let level = 0; level < m.depth; level++) {
      this.cpRows.push(m.tag(level));
      this.cpFn.push(m.fn(level));
    }
    for (const slot of m.suspended.values()) {
      this.cpRows.push(m.suspendedTag(slot));
      this.cpFn.push(m.suspendedFn(slot));
    }
  }

  /**
   * The row of the caller at `parent` (a position) when it has one and is still live; -1
   * otherwise. A caller that began in the current segment has no row yet: its callees so far
   * are found by walking that segment.
   */
  private liveRow(parent: number): number {
    if (parent < 0 || parent >= this.segStart) return -1;
    const calls = this.xCall.data;
    let lo = 0;
    let hi = this.xCall.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((calls[mid] as number) < parent) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.xCall.length && calls[lo] === parent && this.xExitPos.data[lo] === -1 ? lo : -1;
  }

  private node(row: number, parent: number, fn: number): number {
    const map = parent < 0 ? this.topKey : this.childKey;
    const key = (parent < 0 ? row : parent) * 0x10000000 + fn;
    let node = map.get(key);
    if (node === undefined) {
      node = this.kRow.push(row);
      this.kParent.push(parent);
      this.kFn.push(fn);
      this.kCalls.push(0);
      this.kTotal.push(0);
      this.kSelf.push(0);
      this.kThrows.push(0);
      map.set(key, node);
      if (node >= MAX_NODES) this.folds = false;
    }
    return node;
  }

  /**
   * The trie nodes of the frame at `level` under each of its callers (up to ANCESTRY levels
   * up) that has a row and is live, into this.found; returns how many.
   */
  private nodesOf(m: StackMachine, level: number): number {
    if (!this.folds) return 0;
    let count = 0;
    for (let k = 0; k < ANCESTRY; k++) {
      const caller = m.ancestor(level, k);
      if (caller < 0) break;
      const row = this.liveRow(caller);
      if (row < 0) continue;
      let node = -1;
      for (let j = k - 1; j >= 0; j--) node = this.node(row, node, m.ancestorFn(level, j));
      this.found[count++] = this.node(row, node, m.fn(level));
    }
    return count;
  }

  // ---- the sink ----

  push(m: StackMachine, level: number, how: number): void {
    const fn = m.fn(level);
    const t = this.totals.row(fn);
    const totals = this.totals.data;
    totals[t + T_ACTIVE] = (totals[t + T_ACTIVE] as number) + 1;
    totals[t + T_SEEN] = 1;
    if (how === PUSH_ORPHAN) m.setTag(level, ORPHAN);
    if (how !== PUSH_ENTER) return;
    for (let i = this.nodesOf(m, level) - 1; i >= 0; i--) {
      const e = this.found[i] as number;
      this.kCalls.data[e] = (this.kCalls.data[e] as number) + 1;
    }
    totals[t + T_CALLS] = (totals[t + T_CALLS] as number) + 1;
    const g = this.seg.row(fn);
    const seg = this.seg.data;
    if (seg[g + G_ENTERS] === 0) {
      this.touched.push(fn);
      seg[g + G_MAX] = -1;
      seg[g + G_THROWS] = 0;
    }
    seg[g + G_ENTERS] = (seg[g + G_ENTERS] as number) + 1;
  }

  suspend(m: StackMachine, level: number): void {
    const t = this.totals.row(m.fn(level));
    const totals = this.totals.data;
    totals[t + T_SELF] = (totals[t + T_SELF] as number) + m.lastSelf;
    totals[t + T_ESTIMATED] = (totals[t + T_ESTIMATED] as number) + m.lastEstimated;
    totals[t + T_ACTIVE] = (totals[t + T_ACTIVE] as number) - 1;
  }

  close(m: StackMachine, level: number, outcome: number, exitPos: number, exitTime: number, total: number, self: number): void {
    const fn = m.fn(level);
    const t = this.totals.row(fn);
    const totals = this.totals.data;
    totals[t + T_SELF] = (totals[t + T_SELF] as number) + m.lastSelf;
    totals[t + T_ESTIMATED] = (totals[t + T_ESTIMATED] as number) + m.lastEstimated;
    const active = (totals[t + T_ACTIVE] as number) - 1;
    totals[t + T_ACTIVE] = active;
    if (active === 0) totals[t + T_TOTAL] = (totals[t + T_TOTAL] as number) + total;
    if (outcome === OUT_THROW) totals[t + T_THROWS] = (totals[t + T_THROWS] as number) + 1;
    if (outcome === OUT_UNFINISHED) totals[t + T_UNFINISHED] = (totals[t + T_UNFINISHED] as number) + 1;
    for (let i = this.nodesOf(m, level) - 1; i >= 0; i--) {
      const e = this.found[i] as number;
      this.kTotal.data[e] = (this.kTotal.data[e] as number) + total;
      this.kSelf.data[e] = (this.kSelf.data[e] as number) + self;
      if (outcome === OUT_THROW) this.kThrows.data[e] = (this.kThrows.data[e] as number) + 1;
    }
    const row = m.tag(level);
    if (row >= 0) {
      this.xExitPos.data[row] = exitPos;
      this.xExitTime.data[row] = exitTime;
      this.xTotal.data[row] = total;
      this.xSelf.data[row] = self;
      this.xOutcome.data[row] = outcome;
      this.xHops.data[row] = m.hops(level);
      if (!m.timed(level)) this.xFlags.data[row] = (this.xFlags.data[row] as number) & ~FLAG_TIMED;
      return;
    }
    if (row === ORPHAN) return;
    // A call without a row began and ended in this segment. (The maximum and throws are
    // hints for skipping segments: an orphan counted in them only makes a segment walked.)
    const g = this.seg.row(fn);
    const seg = this.seg.data;
    if (seg[g + G_ENTERS] === 0) return;
    if (outcome === OUT_THROW) seg[g + G_THROWS] = (seg[g + G_THROWS] as number) + 1;
    if (total > (seg[g + G_MAX] as number)) seg[g + G_MAX] = total;
  }

  forget(m: StackMachine, level: number): void {
    const t = this.totals.row(m.fn(level));
    const totals = this.totals.data;
    totals[t + T_ACTIVE] = (totals[t + T_ACTIVE] as number) - 1;
    const row = m.tag(level);
    if (row >= 0) {
      this.xExitPos.data[row] = m.lastPos;
      this.xExitTime.data[row] = m.lastTime;
      this.xOutcome.data[row] = OUT_DROPPED;
      this.xHops.data[row] = m.hops(level);
    }
  }

  ext(_m: StackMachine, type: number, aux: number, pos: number, time: number): void {
    switch (type) {
      case EXT_DETAIL:
        return;
      case EXT_SCHEDULE:
        this.scheduling.scheduled++;
        this.links.set(aux, 0);
        return;
      case EXT_CALLBACK: {
        this.scheduling.runs++;
        this.running++;
        const runs = this.links.get(aux);
        if (runs === undefined) this.scheduling.unmatched++;
        else this.links.set(aux, runs + 1);
        return;
      }
      case EXT_CALLBACK_END:
        this.running = Math.max(0, this.running - 1);
        return;
      default:
        this.evPos.push(pos);
        this.evType.push(type);
        this.evAux.push(aux);
        this.evTime.push(time);
    }
  }

  /** After the last chunk: the thread's index. */
  finish(file: string, threadId: number, name: string, timeOriginMs: number, problems: string[]): ThreadIndex {
    const m = this.machine;
    // The end is a last checkpoint: every call still live gets a row, then ends unfinished.
    this.rowsForLive();
    const lastTime = Number.isFinite(this.lastTime) ? this.lastTime : 0;
    m.end(lastTime, this.pos, (slot) => {
      const fn = m.suspendedFn(slot);
      const t = this.totals.row(fn);
      const totals = this.totals.data;
      totals[t + T_UNFINISHED] = (totals[t + T_UNFINISHED] as number) + 1;
      if (totals[t + T_ACTIVE] === 0) totals[t + T_TOTAL] = (totals[t + T_TOTAL] as number) + m.suspendedCarried(slot);
      const row = m.suspendedTag(slot);
      if (row >= 0) {
        this.xExitPos.data[row] = this.pos;
        this.xExitTime.data[row] = lastTime;
        this.xTotal.data[row] = m.suspendedCarried(slot);
        this.xSelf.data[row] = m.suspendedSelf(slot);
        this.xOutcome.data[row] = OUT_UNFINISHED;
        this.xHops.data[row] = m.suspendedHops(slot);
      }
    });
    if (this.segment >= 0) this.flushSegment();
    this.cpStart.push(this.cpRows.length);
    this.fnStart.push(this.fnId.length);
    return {
      file,
      threadId,
      name,
      timeOriginMs,
      records: this.pos,
      firstTime: Number.isFinite(this.firstTime) ? this.firstTime : 0,
      lastTime,
      maxDepth: m.maxDepth,
      droppedFromMarkers: this.droppedFromMarkers,
      problems,
      chunkPayload: this.chunkPayload.f64(),
      chunkCount: this.chunkCount.u32(),
      chunkFirst: this.chunkFirst.f64(),
      segTime: this.segTime.f64(),
      cpStart: this.cpStart.u32(),
      cpDepth: this.cpDepth.u32(),
      cpRows: this.cpRows.u32(),
      cpFn: this.cpFn.u32(),
      fnStart: this.fnStart.u32(),
      fnId: this.fnId.u32(),
      fnEnters: this.fnEnters.u32(),
      fnThrows: this.fnThrows.u32(),
      fnMax: this.fnMax.f64(),
      xCall: this.xCall.f64(),
      xFn: this.xFn.u32(),
      xSerial: this.xSerial.u32(),
      xEnterTime: this.xEnterTime.f64(),
      xExitPos: this.xExitPos.f64(),
      xExitTime: this.xExitTime.f64(),
      xTotal: this.xTotal.f64(),
      xSelf: this.xSelf.f64(),
      xOutcome: this.xOutcome.u8(),
      xHops: this.xHops.u32(),
      xFlags: this.xFlags.u8(),
      ...this.folded(),
      totals: this.functionTotals(),
      evPos: this.evPos.f64(),
      evType: this.evType.u8(),
      evAux: this.evAux.u32(),
      evTime: this.evTime.f64(),
      scheduling: this.tally(),
    };
  }

  private tally(): SchedulingTally {
    let neverRan = 0;
    for (const runs of this.links.values()) if (runs === 0) neverRan++;
    this.links.clear();
    return { ...this.scheduling, neverRan, unfinished: this.running };
  }

  /** The tries, grouped by row (each row's nodes in the order they were made: parents first). */
  private folded(): Pick<ThreadIndex, 'folds' | 'kStart' | 'kParent' | 'kFn' | 'kCalls' | 'kTotal' | 'kSelf' | 'kThrows'> {
    const n = this.folds ? this.kRow.length : 0;
    const rows = this.kRow.data;
    // Typed arrays throughout: the tries of a big trace have ~10^6 nodes.
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => (rows[a] as number) - (rows[b] as number) || a - b);
    const at = new Uint32Array(n);
    for (let i = 0; i < n; i++) at[order[i] as number] = i;
    const kStart = new Uint32Array(this.xCall.length + 1);
    for (let i = 0; i < n; i++) {
      const r = (rows[i] as number) + 1;
      kStart[r] = (kStart[r] as number) + 1;
    }
    for (let r = 0; r < this.xCall.length; r++) kStart[r + 1] = (kStart[r + 1] as number) + (kStart[r] as number);
    const kParent = new Uint32Array(n);
    const kFn = new Uint32Array(n);
    const kCalls = new Uint32Array(n);
    const kTotal = new Float64Array(n);
    const kSelf = new Float64Array(n);
    const kThrows = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const from = order[i] as number;
      const parent = this.kParent.data[from] as number;
      kParent[i] = parent < 0 ? NO_PARENT : (at[parent] as number);
      kFn[i] = this.kFn.data[from] as number;
      kCalls[i] = this.kCalls.data[from] as number;
      kTotal[i] = this.kTotal.data[from] as number;
      kSelf[i] = this.kSelf.data[from] as number;
      kThrows[i] = this.kThrows.data[from] as number;
    }
    this.topKey.clear();
    this.childKey.clear();
    return { folds: this.folds, kStart, kParent, kFn, kCalls, kTotal, kSelf, kThrows };
  }

  private functionTotals(): FunctionTotals {
    const data = this.totals.data;
    const ids: number[] = [];
    for (let fn = 0; fn < this.totals.size; fn++) if (data[fn * T_COLUMNS + T_SEEN] === 1) ids.push(fn);
    const column = (c: number): Float64Array => Float64Array.from(ids, (fn) => data[fn * T_COLUMNS + c] as number);
    return {
      fn: Uint32Array.from(ids),
      calls: column(T_CALLS),
      total: column(T_TOTAL),
      self: column(T_SELF),
      throws: column(T_THROWS),
      unfinished: column(T_UNFINISHED),
      estimated: column(T_ESTIMATED),
      estimate: Float64Array.from(ids, (fn) => this.estimates.estimate(fn)),
    };
  }
}
