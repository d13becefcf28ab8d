// The producer side of one thread's detail lane. Snapshots (a call's arguments, `this`, return
// value, thrown error; marks) are taken only on the probes' slow path, when the runtime asked for
// them: a throw, a slow call, an armed function, or any exit while a window is open. They go to
// a small per-thread flight ring in the thread's own memory, which overwrites its oldest entries.
// A trigger opens a window: what the flight ring holds from the pre-roll on is committed to the
// thread's detail ring in shared memory, and so is every snapshot until the post-roll ends (time
// or captured calls, whichever first); overlapping triggers extend the window. The drain writes
// only what was committed, so outside windows the detail lane costs no disk. Notes (runtime
// events that name a span or summarise a message) are committed always.

import picomatch from 'picomatch';
import { DETAIL_HEADER_BYTES, DT_NOTE, DT_SNAPSHOT, DT_WINDOW, align8, encodeDetailHeader, type SnapshotBody, type WindowBody } from '../format/detail.js';
import type { ValueDesc } from '../format/values.js';
import type { DetailConfig } from './config.js';
import { S_DETAIL_DROPPED, S_DETAIL_HEAD, S_DETAIL_TAIL, layoutOf, slotBase } from './control.js';
import { Snapshotter } from './snapshot.js';
import { argTestFor, type ArgTest } from './predicates.js';

/** Flight ring: at most this many snapshots... */
const FLIGHT_ENTRIES = 256;
/** ...and about this many bytes of JSON. */
const FLIGHT_BYTES = 1 << 19;
/** Bounds of a runtime event's payload summary. */
const SUMMARY_LIMITS = { depth: 2, keys: 8, items: 8, string: 64, bytes: 512 };
/** A window that keeps being extended still ends after this many snapshots. */
const WINDOW_RECORD_CAP = 2000;

/** What the probes know about a function, from its module's function table. */
export interface FunctionFacts {
  name: string;
  params: string[];
}

const NO_PARAMS: string[] = [];

/** What the lane decided about a function, once. */
interface Facts {
  params: string[];
  /** --trigger fn= matched: every call opens a window. */
  trigger: boolean;
  /** --capture matched: every call's arguments go to the flight ring. */
  capture: boolean;
  /** --trigger arg= predicates for it. */
  test: ArgTest | null;
}
const NONE = Symbol('none');

const encoder = new TextEncoder();

export class DetailLane {
  /** 1 while a window is open: every exit then asks for its values. */
  open = 0;
  private readonly snap: Snapshotter;
  /** Runtime events' payload summaries (a message's data): small, they are taken on every message. */
  private readonly snapSummary: Snapshotter;
  /** For an uncaught error: its stack is about to be printed by Node anyway, so reading it changes nothing. */
  private readonly snapWithStacks: Snapshotter;
  private readonly ctl: Int32Array;
  private readonly sab: SharedArrayBuffer;
  private ring: Uint8Array = new Uint8Array(0);
  private ringMask = 0;
  private headIndex = -1;
  private tailIndex = -1;
  private droppedIndex = -1;
  private head = 0;
  private scratch = new Uint8Array(8192);
  private serial = 0;
  // flight ring
  private readonly flightJson: (string | null)[] = new Array<string | null>(FLIGHT_ENTRIES).fill(null);
  private readonly flightTime = new Float64Array(FLIGHT_ENTRIES);
  private readonly flightSerial = new Uint32Array(FLIGHT_ENTRIES);
  private flightNext = 0;
  private flightCount = 0;
  private flightBytes = 0;
  // window
  private windowId = 0;
  private window: WindowBody | null = null;
  private callsLeft = 0;
  private tokens: number;
  private tokensAt = 0;
  /** Triggers that found no token (rate limit) since the start. */
  suppressed = 0;
  // exceptions
  private chains = 0;
  private chain = 0;
  /** Index-lane position just after the last exception snapshot's link record. */
  private chainEnd = -10;
  private chainError: unknown = NONE;
  private chainHasError = false;
  private thrown: unknown = NONE;
  private fnTrigger: ((name: string) => boolean) | null;
  private captureMatch: ((name: string) => boolean) | null;
  /** The settings the thread started with (recall ctl set changes config; the compiled code follows these). */
  readonly startConfig: DetailConfig;
  private readonly facts = new Map<number, Facts>();

  constructor(
    sab: SharedArrayBuffer,
    readonly config: DetailConfig,
    private readonly lookup: (id: number) => FunctionFacts | null,
  ) {
    this.sab = sab;
    this.ctl = new Int32Array(sab);
    this.snap = new Snapshotter(config.limits, config.redact);
    this.snapWithStacks = new Snapshotter(config.limits, config.redact, { errorStacks: true });
    this.snapSummary = new Snapshotter(SUMMARY_LIMITS, config.redact);
    this.tokens = config.maxWindowsPerSecond;
    this.fnTrigger = config.fn.length > 0 ? picomatch(config.fn) : null;
    this.captureMatch = config.capture.length > 0 ? picomatch(config.capture) : null;
    this.startConfig = { ...config };
  }

  /** recall ctl set capture= / fn=: match calls against these lists from now on. */
  setArmed(capture: string[], fn: string[]): void {
    this.config.capture = capture;
    this.config.fn = fn;
    this.fnTrigger = fn.length > 0 ? picomatch(fn) : null;
    this.captureMatch = capture.length > 0 ? picomatch(capture) : null;
    this.facts.clear();
  }

  /** The thread claimed `slot`: write into its detail ring from now on. */
  bind(slot: number): void {
    const layout = layoutOf(this.sab);
    if (layout.detailBytes === 0) return;
    this.ring = new Uint8Array(this.sab, layout.detailByteOffset + slot * layout.detailBytes, layout.detailBytes);
    this.ringMask = layout.detailBytes - 1;
    const base = slotBase(slot);
    this.headIndex = base + S_DETAIL_HEAD;
    this.tailIndex = base + S_DETAIL_TAIL;
    this.droppedIndex = base + S_DETAIL_DROPPED;
    this.head = 0;
    Atomics.store(this.ctl, this.headIndex, 0);
    Atomics.store(this.ctl, this.tailIndex, 0);
    Atomics.store(this.ctl, this.droppedIndex, 0);
  }

  private factsOf(id: number): Facts {
    let facts = this.facts.get(id);
    if (facts === undefined) {
      const found = this.lookup(id);
      const name = found?.name ?? '';
      const short = name.slice(name.lastIndexOf('.') + 1);
      const matches = (m: ((n: string) => boolean) | null): boolean => found !== null && m !== null && (m(name) || m(short));
      facts = {
        params: found?.params ?? NO_PARAMS,
        trigger: matches(this.fnTrigger),
        capture: matches(this.captureMatch),
        test: found !== null && (this.config.args ?? []).length > 0 ? argTestFor(name, this.config.args) : null,
      };
      this.facts.set(id, facts);
    }
    return facts;
  }

  // ---- snapshots (called from the Recorder's slow paths) ----------------------------------

  /** `throw X` in instrumented code: remember X for the throw exits it causes. */
  thrownValue(value: unknown): void {
    this.thrown = value;
  }

  /**
   * A frame ended by an exception. `at` is the index-lane position of its THROW record. Returns
   * the snapshot's serial, or 0 when nothing was captured (rate limit).
   */
  throwExit(id: number, at: number, time: number, self: unknown, args: ArrayLike<unknown>): number {
    const continues = at === this.chainEnd;
    let error: unknown = NONE;
    if (!continues) {
      const serial = this.serial + 1;
      if (!this.trigger('throw', id, time, serial)) {
        this.thrown = NONE;
        return 0;
      }
      this.chain = ++this.chains;
      this.chainError = this.thrown;
      this.chainHasError = this.thrown !== NONE;
      error = this.thrown;
      this.thrown = NONE;
    }
    const body: SnapshotBody = { k: 'throw', fn: id, x: this.chain, args: this.args(id, args), this: this.self(self) };
    if (error !== NONE) body.error = this.snap.value(error);
    return this.snapshot(body, time);
  }

  /** A catch clause of function `id` began with `error`; `at` = index position of its CATCH record. */
  caught(id: number, at: number, time: number, error: unknown, self: unknown, args: ArrayLike<unknown>): number {
    const continues = at === this.chainEnd || (this.chainError !== NONE && error === this.chainError);
    this.thrown = NONE;
    if (!continues) {
      if (!this.trigger('throw', id, time, this.serial + 1)) return 0;
      this.chain = ++this.chains;
      this.chainHasError = false;
    }
    const body: SnapshotBody = { k: 'catch', fn: id, x: this.chain, args: this.args(id, args), this: this.self(self) };
    if (!this.chainHasError || error !== this.chainError) body.error = this.snap.value(error);
    this.chainError = NONE;
    this.chainHasError = false;
    return this.snapshot(body, time);
  }

  /** The index position right after an exception snapshot's link: the next frame's throw or catch continues it. */
  noteChainEnd(position: number): void {
    this.chainEnd = position;
  }

  /** An uncaught exception is ending the process. */
  uncaught(error: unknown, time: number): number {
    const same = this.chainError !== NONE && error === this.chainError;
    const body: SnapshotBody = { k: 'uncaught', fn: 0, error: this.snapWithStacks.value(error) };
    if (same) body.x = this.chain;
    const serial = this.serial + 1;
    this.openWindow('uncaught', 0, time, serial, true);
    return this.snapshot(body, time);
  }

  /** A call ended normally and was slower than the threshold. */
  slowExit(id: number, time: number, ms: number, ret: unknown, self: unknown, args: ArrayLike<unknown>): number {
    if (!this.trigger('slow', id, time, this.serial + 1)) return 0;
    return this.snapshot({ k: 'slow', fn: id, ms, ret: this.snap.value(ret), args: this.args(id, args), this: this.self(self) }, time);
  }

  /** Any exit while a window is open (post-roll). */
  callExit(id: number, time: number, threw: boolean, ret: unknown, self: unknown, args: ArrayLike<unknown>): number {
    if (!this.stillOpen(time)) return 0;
    const serial = this.snapshot(this.callBody(id, threw, ret, self, args), time);
    if (--this.callsLeft <= 0) this.closeWindow(time);
    return serial;
  }

  /**
   * The exit of a function armed live (recall ctl set capture= / fn=): a fn trigger opens or
   * extends a window; a captured call's values go to the flight ring (or the open window).
   */
  armedExit(id: number, time: number, threw: boolean, ret: unknown, self: unknown, args: ArrayLike<unknown>): number {
    const facts = this.factsOf(id);
    if (facts.trigger) this.trigger('fn', id, time, this.serial + 1);
    else if (!this.stillOpen(time) && !facts.capture) return 0;
    return this.snapshot(this.callBody(id, threw, ret, self, args), time);
  }

  /** A call's values at its exit: arguments, `this`, and what it returned unless it threw. */
  private callBody(id: number, threw: boolean, ret: unknown, self: unknown, args: ArrayLike<unknown>): SnapshotBody {
    const body: SnapshotBody = { k: 'call', fn: id, args: this.args(id, args), this: this.self(self) };
    if (!threw) body.ret = this.snap.value(ret);
    return body;
  }

  /** Entry of a function armed by --capture, --trigger fn= or --trigger arg=. */
  entry(id: number, time: number, self: unknown, args: ArrayLike<unknown>): number {
    const facts = this.factsOf(id);
    if (facts.test !== null && facts.test(args)) this.trigger('arg', id, time, this.serial + 1);
    else if (facts.trigger) this.trigger('fn', id, time, this.serial + 1);
    else if (!this.stillOpen(time) && !facts.capture) return 0; // armed by a predicate that did not hold
    return this.snapshot({ k: 'entry', fn: id, args: this.args(id, args), this: this.self(self) }, time);
  }

  /** recall.mark(label, data): always persisted; opens a window when marks are triggers. */
  mark(label: string, data: unknown, time: number): number {
    const serial = this.serial + 1;
    if (this.config.onMark) this.openWindow('mark', 0, time, serial, false);
    const body: SnapshotBody = { k: 'mark', fn: 0, label: String(label).slice(0, 200) };
    if (data !== undefined) body.data = this.snap.value(data);
    this.serial = serial;
    this.commit(DT_SNAPSHOT, serial, time, JSON.stringify(body));
    return serial;
  }

  /** A runtime event's description (span name, message summary, ...): always persisted. */
  note(body: Record<string, unknown>, time: number): number {
    const serial = ++this.serial;
    let json: string;
    try {
      json = JSON.stringify({ k: 'note', ...body });
    } catch {
      json = '{"k":"note","error":"unserializable"}';
    }
    this.commit(DT_NOTE, serial, time, json);
    return serial;
  }

  /** A small value summary for callers outside the probes (runtime events: a message's payload). */
  describe(value: unknown): ValueDesc {
    return this.snapSummary.value(value);
  }

  // ---- windows ----------------------------------------------------------------------------

  private stillOpen(time: number): boolean {
    const window = this.window;
    if (window === null) return false;
    if (time > window.to) {
      this.closeWindow(window.to);
      return false;
    }
    return true;
  }

  /** Open (or extend) a window for a trigger; false when the rate limit says no. */
  private trigger(kind: string, fn: number, time: number, serial: number): boolean {
    if (this.stillOpen(time)) {
      this.extend(time);
      return true;
    }
    // With the throw trigger off, an exception is recorded only inside a window some other
    // trigger opened: the probe's view of "a window is open" can outlive the window's post-roll.
    if (kind === 'throw' && !this.config.onThrow) return false;
    // Token bucket: maxWindowsPerSecond new windows per second, bursts up to the same number.
    const rate = this.config.maxWindowsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((time - this.tokensAt) * rate) / 1000);
    this.tokensAt = time;
    if (this.tokens < 1) {
      this.suppressed++;
      return false;
    }
    this.tokens -= 1;
    this.openWindow(kind, fn, time, serial, false);
    return true;
  }

  private openWindow(kind: string, fn: number, time: number, serial: number, force: boolean): void {
    if (this.stillOpen(time)) {
      this.extend(time);
      return;
    }
    void force;
    const from = time - this.config.preRollMs;
    this.window = { k: 'window', id: ++this.windowId, trigger: kind, fn, at: time, from, to: time + this.config.postRollMs, serial, records: 0 };
    this.callsLeft = this.config.postRollCalls;
    this.open = 1;
    this.writeWindow(time);
    this.commitFlight(from);
  }

  private extend(time: number): void {
    const window = this.window;
    if (window === null) return;
    if (window.records >= WINDOW_RECORD_CAP) {
      this.closeWindow(time);
      return;
    }
    window.to = Math.max(window.to, time + this.config.postRollMs);
    this.callsLeft = this.config.postRollCalls;
    this.writeWindow(time);
  }

  private closeWindow(time: number): void {
    const window = this.window;
    if (window === null) return;
    window.to = Math.min(window.to, time);
    window.closed = true;
    this.writeWindow(time);
    this.window = null;
    this.open = 0;
  }

  private writeWindow(time: number): void {
    const window = this.window;
    if (window !== null) this.commit(DT_WINDOW, window.serial, time, JSON.stringify(window));
  }

  /** Commit what the flight ring holds from `from` on, oldest first. */
  private commitFlight(from: number): void {
    let index = (this.flightNext - this.flightCount + FLIGHT_ENTRIES) % FLIGHT_ENTRIES;
    for (let n = this.flightCount; n > 0; n--) {
      const json = this.flightJson[index];
      if (json !== null && json !== undefined && (this.flightTime[index] as number) >= from) {
        this.commit(DT_SNAPSHOT, this.flightSerial[index] as number, this.flightTime[index] as number, json);
        if (this.window) this.window.records++;
      }
      this.flightJson[index] = null;
      index = (index + 1) % FLIGHT_ENTRIES;
    }
    this.flightCount = 0;
    this.flightBytes = 0;
  }

  // ---- records ----------------------------------------------------------------------------

  private args(id: number, args: ArrayLike<unknown>): ValueDesc[] {
    return this.snap.args(this.factsOf(id).params, args);
  }

  private self(self: unknown): ValueDesc | undefined {
    if (self === undefined || self === globalThis) return undefined;
    return this.snap.value(self, 1);
  }

  /** True while a snapshot is being taken: anything it reaches that is traced must not snapshot again. */
  busy = false;

  /** A snapshot: committed inside a window, else kept in the flight ring. Returns its serial. */
  private snapshot(body: SnapshotBody, time: number): number {
    const serial = ++this.serial;
    let json: string;
    try {
      json = JSON.stringify(body);
    } catch {
      json = `{"k":${JSON.stringify(body.k)},"fn":${body.fn},"error":{"$":"unserializable"}}`;
    }
    if (this.window !== null) {
      this.window.records++;
      this.commit(DT_SNAPSHOT, serial, time, json);
      return serial;
    }
    const index = this.flightNext;
    const old = this.flightJson[index];
    if (old !== null && old !== undefined) this.flightBytes -= old.length;
    this.flightJson[index] = json;
    this.flightTime[index] = time;
    this.flightSerial[index] = serial;
    this.flightNext = (index + 1) % FLIGHT_ENTRIES;
    this.flightCount = Math.min(FLIGHT_ENTRIES, this.flightCount + 1);
    this.flightBytes += json.length;
    // Over the byte budget: forget the oldest.
    while (this.flightBytes > FLIGHT_BYTES && this.flightCount > 1) {
      const oldest = (this.flightNext - this.flightCount + FLIGHT_ENTRIES) % FLIGHT_ENTRIES;
      this.flightBytes -= this.flightJson[oldest]?.length ?? 0;
      this.flightJson[oldest] = null;
      this.flightCount--;
    }
    return serial;
  }

  /** Append one framed record to the shared detail ring; a full ring drops it (counted). */
  private commit(type: number, serial: number, time: number, json: string): void {
    if (this.headIndex < 0) return;
    if (this.scratch.length < DETAIL_HEADER_BYTES + json.length * 3 + 8) {
      this.scratch = new Uint8Array(align8(DETAIL_HEADER_BYTES + json.length * 3 + 8));
    }
    const written = encoder.encodeInto(json, this.scratch.subarray(DETAIL_HEADER_BYTES)).written ?? 0;
    const length = align8(DETAIL_HEADER_BYTES + written);
    this.scratch.fill(0x20, DETAIL_HEADER_BYTES + written, length);
    encodeDetailHeader(new DataView(this.scratch.buffer), 0, length, type, serial, time);
    const size = this.ring.length;
    const tail = Atomics.load(this.ctl, this.tailIndex);
    if (length > size - ((this.head - tail) | 0)) {
      Atomics.add(this.ctl, this.droppedIndex, 1);
      return;
    }
    const at = this.head & this.ringMask;
    const first = Math.min(length, size - at);
    this.ring.set(this.scratch.subarray(0, first), at);
    if (first < length) this.ring.set(this.scratch.subarray(first, length), 0);
    this.head = (this.head + length) | 0;
    Atomics.store(this.ctl, this.headIndex, this.head);
  }
}
