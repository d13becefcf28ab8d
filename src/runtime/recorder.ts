// The probes: what instrumented code calls on every function entry and exit. One Recorder per
// thread, installed as globalThis.__recall. The hot path (put) is a few typed-array stores into
// this thread's lane of the shared ring plus one clock read; it never allocates, never blocks
// and never throws. A full ring drops the event and counts it exactly; when room returns, a
// DROPPED marker record carrying the count is written in-band so readers know where the gap is.
// When recording stops (duration reached, process finishing, no free slot) the thread's
// __recall is swapped for a shared no-op object of the same shape, so "off" costs nothing.

import { ADAPTIVE_DEMOTE_BELOW_MS, ADAPTIVE_SAMPLE_BURST, ADAPTIVE_SAMPLE_EVERY, ADAPTIVE_WINDOW_CALLS } from './clock.js';
import { openSync, writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import {
  EXT_CATCH,
  EXT_DETAIL,
  EXT_MARK,
  EV_DROPPED,
  EV_ENTER,
  EV_EXIT,
  EV_EXT,
  EV_RESUME,
  EV_SUSPEND,
  EV_THROW,
  KIND_SHIFT,
  RECORD_WORDS,
  UNTIMED_FLAG,
} from '../format/layout.js';
import type { TimingMode } from '../format/manifest.js';
import { noteExternalMap } from './stack-traces.js';
import { noopProbesWith } from './noop-probes.js';
import { entryCaptureGlobs, type DetailConfig } from './config.js';
import { DetailLane, type FunctionFacts } from './detail.js';
import picomatch from 'picomatch';
import {
  H_DRAIN_READY,
  H_FINALIZE,
  H_DRAIN_WAKE,
  H_NEXT_FUNCTION_ID,
  H_STOPPED,
  H_PAUSED,
  H_SLOW_US,
  H_TRIGGER_FLAGS,
  H_TRIGGERS_GEN,
  TRIGGER_MARK,
  TRIGGER_THROW,
  H_UNTRACED_THREADS,
  S_BACKLOG_PEAK,
  S_DROPPED_I64,
  S_GENERATION,
  S_HEAD,
  S_MARKERS,
  S_STATE,
  S_TAIL,
  S_THREAD_ID,
  S_TIME_ORIGIN_F64,
  SLOT_ACTIVE,
  SLOT_CLAIMING,
  SLOT_CLOSING,
  SLOT_FREE,
  layoutOf,
  readArmed,
  slotBase,
  type ArmedLists,
} from './control.js';

const ENTER = EV_ENTER << KIND_SHIFT;
const EXIT = EV_EXIT << KIND_SHIFT;
const THROW = EV_THROW << KIND_SHIFT;
const SUSPEND = EV_SUSPEND << KIND_SHIFT;
const RESUME = EV_RESUME << KIND_SHIFT;
const DROPPED = EV_DROPPED << KIND_SHIFT;
const EXT = EV_EXT << KIND_SHIFT;
const ENTER_UNTIMED = ENTER | UNTIMED_FLAG;
const EXIT_UNTIMED = EXIT | UNTIMED_FLAG;

/** Why an exit probe asked for values (Recorder.why). */
const WHY_WINDOW = 0;
const WHY_SLOW = 1;
/** The function was armed live (recall ctl set capture= / fn=): its values are taken at exit. */
const WHY_ARMED = 2;
/**
 * timed[id] of a function armed live: its calls leave en's fast path (they are timed where
 * there is a clock) and their exits reach exArmed, which asks for the values. Arming costs the
 * armed functions only; every other call runs the code it ran before.
 */
const ARMED = 2;
/** Start times of async frames, by frame serial modulo this (a power of two). */
const ASYNC_STARTS = 1 << 14;
/** How long a thread that stops recording waits for the drain to take its spilled records. */
const SPILL_FLUSH_TIMEOUT_MS = 10000;
/**
 * The head is published (Atomics.store) at least every this many records, and at every slow
 * path, stop and close (docs/FORMAT.md, "Ring protocol"). A seq-cst store on every record cost
 * 3.9 -> 11.6-15.6 ns per untimed event on Node 24 (bench --only hot); batched through the
 * limit the hot path already tests, it costs nothing measurable.
 */
export const PUBLISH_EVERY = 64;
/**
 * A thread that goes idle (waits for I/O, a timer, a message) may hold up to PUBLISH_EVERY - 1
 * unpublished records: an unref'd timer publishes them this often, so a thread killed or
 * terminated while idle (SIGKILL, worker.terminate, the process exiting around an idle worker)
 * loses none of them. It uses the timers as they were before scheduling.ts wraps them, so the
 * program's scheduling links do not see it, and it is created when the preload installs the
 * thread's recorder (startIdlePublisher), before the program's code: an async_hooks init hook
 * of the program never sees it (its before/after hooks do see it fire), and, unref'd, it is not
 * among process.getActiveResourcesInfo() and keeps no process alive.
 */
export const PUBLISH_IDLE_MS = 50;
const originalSetInterval = globalThis.setInterval;
const originalClearInterval = globalThis.clearInterval;
/** How long a full ring waits for a drain worker that has not started yet. */
const DRAIN_START_TIMEOUT_MS = 5000;

/** The detail lane with every trigger off (--no-detail): notes and marks still work. */
export const DETAIL_OFF: DetailConfig = {
  onThrow: false,
  slowMs: null,
  fn: [],
  args: [],
  onMark: false,
  capture: [],
  preRollMs: 0,
  postRollMs: 0,
  postRollCalls: 0,
  limits: { depth: 4, keys: 32, items: 32, string: 256, bytes: 4096 },
  redact: { enabled: true, keys: [] },
  ringBytes: 0,
  maxWindowsPerSecond: 0,
};

/** sampleIn outside adaptive timing: the largest small integer (a V8 Smi), so the field stays one. */
const NEVER_SAMPLE = 0x3fffffff;

const perf = performance;

/** The probe surface emitted code calls. Both the recorder and the no-op implement it. */
export interface Probes {
  m(file: string, count: number, table: string, mapKey?: string): number;
  /** Enter; returns the enter time, or -1 when this call is not timed. */
  en(id: number): number;
  /** Exit; returns 1 when the runtime wants this call's values (then the code calls dv). */
  ex(id: number, threw: number, enteredAt: number): number;
  /** Exit of an async function (frame > 0) or generator (frame 0) frame; returns like ex. */
  xa(id: number, threw: number, frame?: number): number;
  /** The values of the call that just ended (how 0: returned `value`, 1: threw) or caught `value` (how 2). */
  dv(id: number, how: number, value: unknown, self: unknown, args: ArrayLike<unknown>): void;
  /** A catch clause of `id` began; returns 1 when the runtime wants the values (then dv with how 2). */
  ca(id: number, error: unknown): number;
  /** `throw X`: returns X. */
  th<T>(value: T): T;
  /** Entry of an armed function: capture its arguments. */
  de(id: number, self: unknown, args: ArrayLike<unknown>): void;
  /** recall.mark(label, data). */
  mk(label: string, data?: unknown): void;
  /** A runtime event (EXT_* type) described by a detail note (always persisted); returns its serial. */
  note(type: number, body: Record<string, unknown>): number;
  ea(id: number): number;
  sp<T>(id: number, frame: number, value: T, _flag?: unknown): T;
  rs<T>(id: number, frame: number, value: T, _flag?: unknown): T;
  rr(id: number, frame: number, _flag?: unknown): void;
  /** A runtime event (EXT_* type from format/layout) with its argument, timed. */
  ext(type: number, aux: number): void;
  /** The same without a clock read of its own: untimed, at the thread's last clock read. */
  eu(type: number, aux: number): void;
  /**
   * A runtime event with its own argument (a message id, a pid, a span's serial) and a detail
   * note describing it (always persisted). `body` (a fresh object) gets `ext: type, aux`: readers
   * pair the n-th such note of a thread with the n-th event of that type and aux.
   */
  extNote(type: number, aux: number, body: Record<string, unknown>): void;
  /** Inside a detail window, a small bounded, redacted description of a value (never runs user code); else undefined. */
  describe(value: unknown): unknown;
}

/** The shared no-op: installed when this thread is not (or no longer) recorded. */
export const noopProbes: Probes = noopProbesWith((file, _count, _table, mapKey) => {
  // Stack traces still need the maps of modules loaded after recording stopped.
  if (mapKey !== undefined) noteExternalMap(file, mapKey);
  return 0;
});

export interface RecorderOptions {
  sab: SharedArrayBuffer;
  functionsFile: string;
  timing: TimingMode;
  detail: DetailConfig | null;
  /** Records of the private spill ring (a power of two; 0: a full ring drops at once). */
  spillRecords?: number;
}

type Global = typeof globalThis & { __recall?: Probes };

/** A spill ring's memory, or null when the process cannot have that much address space (a full ring then drops). */
function spillBuffer(records: number): ArrayBuffer | null {
  try {
    return new ArrayBuffer(records * RECORD_WORDS * 4);
  } catch {
    return null;
  }
}

export class Recorder implements Probes {
  private readonly sab: SharedArrayBuffer;
  private readonly ctl: Int32Array;
  private readonly ctlF64: Float64Array;
  /** The control block as 64-bit words: the dropped counter, written with Atomics. */
  private readonly ctlI64: BigInt64Array;
  private u32: Uint32Array;
  private f64: Float64Array;
  private mask: number;
  private readonly capacity: number;
  /** Records put in this lane (a JS number: never wraps; stored to the ring head as int32). */
  private h = 0;
  /**
   * put() takes the fast path while h < lim. lim is the lower of `room` and the next
   * publication point (PUBLISH_EVERY records after the last one): reaching it publishes h.
   */
  private lim = -1;
  /** The end of the room makeRoom found: past it, makeRoom runs again. */
  private room = -1;
  private slot = -1;
  private headIndex = 0;
  private tailIndex = 0;
  private dropped = 0;
  /** The idle publication timer (PUBLISH_IDLE_MS), while this thread records. */
  private idleTimer: ReturnType<typeof setInterval> | null = null;
  /** Until the drain worker has run once: a full ring waits for it (awaitDrainStart). */
  private drainStarting = true;
  /**
   * Spilling: while the drain cannot keep up (no CPU for it), records go on into a private
   * ring of this thread (allocated on first need) instead of being dropped, and move into the
   * shared ring, in order, as the drain makes room. The hot path is the same code: u32, f64,
   * mask and h then point at the spill ring (h counting its records; nothing publishes it), and
   * makeRoom, reached every capacity/8 records, does the moving and publishes the shared head.
   */
  private spilling = false;
  private spillRecords: number;
  private spillU32: Uint32Array | null = null;
  private spillF64: Float64Array | null = null;
  /** Spill ring: its oldest record not yet moved (every spill starts at the ring's start: endSpill). */
  private spillTail = 0;
  /** The shared ring while spilling: its views, and the records put in it (its head). */
  private sharedU32: Uint32Array = new Uint32Array(0);
  private sharedF64: Float64Array = new Float64Array(0);
  private sharedH = 0;
  /** Added to h for the thread's position in its index lane (records put): nonzero while spilling. */
  private hOffset = 0;
  private pendingDrops = 0;
  /** The most records this thread had waiting for the drain (S_BACKLOG_PEAK), as makeRoom saw it. */
  private backlogPeak = 0;
  /** Recording resumes after a pause (recall ctl): the next record is a gap marker (a dropped marker of 0 events). */
  private pendingGap = false;
  /** Recording is paused (recall ctl pause): the probes are the no-op until it resumes. */
  private paused = false;
  private markers = 0;
  private serial = 0;
  private functionsFd = -1;
  private readonly functionsFile: string;
  /** Timing: per function id of this thread, 1 = calls are timestamped, ARMED = and their values taken at exit. */
  private timed: Uint8Array = new Uint8Array(0);
  /** Adaptive timing: timed calls and their summed duration (ms) in the current window. */
  private samples: Uint8Array = new Uint8Array(0);
  private sums: Float64Array = new Float64Array(0);
  private readonly adaptive: boolean;
  private readonly clock: boolean;
  /** The thread's last clock read: the time untimed records written by put carry. */
  private last = 0;
  /** Adaptive timing: untimed calls left until the next sample burst, and entries left in the burst. */
  private sampleIn = ADAPTIVE_SAMPLE_EVERY;
  private burst = 0;
  /** Detail lane: 1 while a window is open (mirrors detail.open), the slow threshold, throws wanted. */
  private win = 0;
  private slowMs: number;
  private onThrow: number;
  /** The trigger settings generation applied (H_TRIGGERS_GEN; recall ctl set). */
  private triggersGen = 0;
  private why = WHY_WINDOW;
  private slowBy = 0;
  private readonly asyncStarts = new Float64Array(ASYNC_STARTS);
  readonly detail: DetailLane;
  /** Functions armed live (recall ctl set capture= / fn=) that are not compiled with an entry capture; null: none. */
  private armedMatch: ((name: string) => boolean) | null = null;
  /** Function tables of the modules this thread registered, for the detail lane's parameter names. */
  private readonly modules: { base: number; count: number; table: string; fns: unknown[] | null }[] = [];

  constructor(options: RecorderOptions) {
    this.sab = options.sab;
    this.functionsFile = options.functionsFile;
    this.adaptive = options.timing === 'adaptive';
    this.clock = options.timing !== 'none';
    if (!this.adaptive) this.sampleIn = NEVER_SAMPLE;
    this.ctl = new Int32Array(this.sab);
    this.ctlF64 = new Float64Array(this.sab, 0, this.ctl.length >> 1);
    this.ctlI64 = new BigInt64Array(this.sab, 0, this.ctl.length >> 1);
    const layout = layoutOf(this.sab);
    this.capacity = layout.ringRecords;
    this.mask = layout.ringRecords - 1;
    this.u32 = new Uint32Array(0);
    this.f64 = new Float64Array(0);
    const detail = options.detail ?? DETAIL_OFF;
    this.detail = new DetailLane(this.sab, detail, (id) => this.functionFacts(id));
    this.slowMs = detail.slowMs ?? Infinity;
    this.onThrow = detail.onThrow ? 1 : 0;
    this.spillRecords = options.spillRecords ?? 0;
  }

  // ---- hot path -------------------------------------------------------------------------

  private put(head: number, aux: number, time: number): void {
    if (this.h >= this.lim && !this.reachedLimit()) return;
    const h = this.h;
    const i = (h & this.mask) * RECORD_WORDS;
    this.u32[i] = head;
    this.u32[i + 1] = aux;
    this.f64[(i >> 1) + 1] = time;
    this.h = h + 1;
  }

  /**
   * h reached lim: publish the head, then go on to the next publication point, or (the room is
   * used up) to makeRoom. False when the record cannot be put.
   */
  private reachedLimit(): boolean {
    this.publish();
    if (this.h < this.room) {
      this.lim = Math.min(this.room, this.h + PUBLISH_EVERY);
      return true;
    }
    return this.makeRoom();
  }

  /**
   * Publish the records put so far: a seq-cst store of the head, after their stores, so a drain
   * that loads this head (Atomics.load) sees them. While spilling the shared head is moveSpill's.
   */
  private publish(): void {
    if (this.slot >= 0 && !this.spilling) Atomics.store(this.ctl, this.headIndex, this.h);
  }

  /** Set the room makeRoom found, and lim: the room's end or the next publication point. */
  private setRoom(room: number): void {
    this.room = room;
    this.lim = Math.min(room, this.h + PUBLISH_EVERY);
  }

  /** A clock read (or, with --timing none, the last one: 0). */
  private now(): number {
    if (!this.clock) return this.last;
    const t = perf.now();
    this.last = t;
    return t;
  }

  /**
   * A call begins. The untimed record is written here, in as little code as can be: en and ex
   * are inlined into every instrumented function, and their size counts against TurboFan's
   * inlining budget for the program's own functions (tsc on Node 24: this form ran 4-6%
   * faster than en calling putHead). Everything else is enSlow's.
   */
  en(id: number): number {
    const h = this.h;
    if (h < this.lim && this.timed[id] === 0 && --this.sampleIn !== 0) {
      this.u32[(h & this.mask) * RECORD_WORDS] = ENTER_UNTIMED | id;
      this.h = h + 1;
      return -1;
    }
    return this.enSlow(id);
  }

  /** en's other cases: a timed function or a sample (the ring had room), or the ring's slow path. */
  private enSlow(id: number): number {
    // With room, en stopped at the timed check or at the sample countdown (already counted
    // down), or at an id past this thread's table (untimed, below).
    if (this.h < this.lim && ((this.timed[id] as number) > 0 || this.sampleIn === 0)) return this.enTimed(id);
    if ((this.timed[id] as number) > 0 || --this.sampleIn === 0) return this.enTimed(id);
    if (!this.putHead(ENTER_UNTIMED | id)) this.put(ENTER_UNTIMED | id, 0, this.last);
    return -1;
  }

  /**
   * An untimed enter or exit: the head word alone, one store (published in batches). The
   * drain gives the record aux 0 and the time of the record before it as it copies the ring
   * (LaneFile.settle). False, writing nothing, when the ring needs put's slow path.
   */
  private putHead(head: number): boolean {
    const h = this.h;
    if (h >= this.lim) return false;
    this.u32[(h & this.mask) * RECORD_WORDS] = head;
    this.h = h + 1;
    return true;
  }

  /** A timed entry: a timed function's, or (adaptive) one of a sample burst. */
  private enTimed(id: number): number {
    if (!this.clock) {
      // --timing none: only an armed function comes here (and sample countdowns, which never end).
      this.put(ENTER_UNTIMED | id, 0, this.last);
      return this.timed[id] === ARMED ? 0 : -1;
    }
    if (this.sampleIn <= 0) {
      if (!this.adaptive) {
        this.sampleIn = NEVER_SAMPLE;
        this.put(ENTER_UNTIMED | id, 0, this.last);
        return -1;
      }
      // A burst: the next entries come back here (sampleIn 1 -> 0) until it is over.
      if (this.burst === 0) this.burst = ADAPTIVE_SAMPLE_BURST;
      this.sampleIn = --this.burst === 0 ? ADAPTIVE_SAMPLE_EVERY : 1;
    }
    const t = perf.now();
    this.last = t;
    this.put(ENTER | id, 0, t);
    return t;
  }

  /** The frame of `id` ended: normally, or (threw = 1) by an exception. Returns 1 to ask for its values. */
  ex(id: number, threw: number, enteredAt: number): number {
    const h = this.h;
    if (enteredAt < 0 && threw === 0 && h < this.lim) {
      this.u32[(h & this.mask) * RECORD_WORDS] = EXIT_UNTIMED | id;
      this.h = h + 1;
      if (this.win === 0) return 0;
      this.why = WHY_WINDOW;
      return 1;
    }
    return this.exOther(id, threw, enteredAt);
  }

  /** A timed exit, a throw, or an exit that needs the slow path of put. */
  private exOther(id: number, threw: number, enteredAt: number): number {
    if (this.timed[id] === ARMED) return this.exArmed(id, threw, enteredAt);
    if (enteredAt >= 0 && this.clock) {
      const t = perf.now();
      this.last = t;
      this.put(threw === 0 ? EXIT | id : THROW | id, 0, t);
      const duration = t - enteredAt;
      if (this.adaptive) this.learn(id, duration);
      if (threw !== 0) return this.onThrow | this.win;
      if (duration > this.slowMs) {
        this.why = WHY_SLOW;
        this.slowBy = duration;
        return 1;
      }
    } else {
      this.put((threw === 0 ? EXIT : THROW) | UNTIMED_FLAG | id, 0, this.last);
      if (threw !== 0) return this.onThrow | this.win;
    }
    if (this.win === 0) return 0;
    this.why = WHY_WINDOW;
    return 1;
  }

  /** The exit of a function armed live: a window's or a slow call's values as usual, else the armed capture. */
  private exArmed(id: number, threw: number, enteredAt: number): number {
    if (enteredAt >= 0 && this.clock) {
      const t = perf.now();
      this.last = t;
      this.put(threw === 0 ? EXIT | id : THROW | id, 0, t);
      if (threw === 0 && t - enteredAt > this.slowMs) {
        this.why = WHY_SLOW;
        this.slowBy = t - enteredAt;
        return 1;
      }
    } else {
      this.put((threw === 0 ? EXIT : THROW) | UNTIMED_FLAG | id, 0, this.last);
    }
    if (threw !== 0 && (this.onThrow | this.win) !== 0) {
      this.why = WHY_WINDOW;
      return 1;
    }
    this.why = WHY_ARMED;
    return 1;
  }

  xa(id: number, threw: number, frame = 0): number {
    const t = this.now();
    this.put(threw === 0 ? EXIT | id : THROW | id, 0, t);
    if (threw !== 0) {
      if ((this.onThrow | this.win) !== 0) {
        this.why = WHY_WINDOW;
        return 1;
      }
      if (this.timed[id] !== ARMED) return 0;
      this.why = WHY_ARMED;
      return 1;
    }
    if (frame > 0 && this.clock) {
      const duration = t - (this.asyncStarts[frame & (ASYNC_STARTS - 1)] as number);
      if (duration > this.slowMs) {
        this.why = WHY_SLOW;
        this.slowBy = duration;
        return 1;
      }
    }
    if (this.timed[id] === ARMED) {
      this.why = WHY_ARMED;
      return 1;
    }
    if (this.win === 0) return 0;
    this.why = WHY_WINDOW;
    return 1;
  }

  ea(id: number): number {
    const frame = ++this.serial;
    const t = this.now();
    this.put(ENTER | id, frame, t);
    this.asyncStarts[frame & (ASYNC_STARTS - 1)] = t;
    return frame;
  }

  // ---- detail lane (slow paths: run only when a probe above asked) ------------------------

  dv(id: number, how: number, value: unknown, self: unknown, args: ArrayLike<unknown>): void {
    const detail = this.detail;
    if (detail.busy) {
      this.why = WHY_WINDOW; // a snapshot reached traced code: never recurse
      return;
    }
    detail.busy = true;
    try {
      const time = perf.now();
      let serial: number;
      if (how === 2) serial = detail.caught(id, this.h + this.hOffset - 1, time, value, self, args);
      else if (this.why === WHY_ARMED) serial = detail.armedExit(id, time, how === 1, value, self, args);
      else if (how === 1) serial = this.onThrow === 1 ? detail.throwExit(id, this.h + this.hOffset - 1, time, self, args) : detail.callExit(id, time, true, undefined, self, args);
      else if (this.why === WHY_SLOW) serial = detail.slowExit(id, time, this.slowBy, value, self, args);
      else serial = detail.callExit(id, time, false, value, self, args);
      this.why = WHY_WINDOW;
      if (serial !== 0) {
        this.put(EXT | EXT_DETAIL, serial, time);
        if (how !== 0) detail.noteChainEnd(this.h + this.hOffset);
      }
      this.win = detail.open;
    } finally {
      detail.busy = false;
    }
  }

  ca(id: number, _error: unknown): number {
    this.put(EXT | EXT_CATCH, id, this.now());
    return this.onThrow | this.win;
  }

  th<T>(value: T): T {
    this.detail.thrownValue(value);
    return value;
  }

  de(id: number, self: unknown, args: ArrayLike<unknown>): void {
    const detail = this.detail;
    if (detail.busy) return;
    detail.busy = true;
    try {
      const time = perf.now();
      const serial = detail.entry(id, time, self, args);
      if (serial !== 0) this.put(EXT | EXT_DETAIL, serial, time);
      this.win = detail.open;
    } finally {
      detail.busy = false;
    }
  }

  mk(label: string, data?: unknown): void {
    const time = perf.now();
    const serial = this.detail.mark(label, data, time);
    this.put(EXT | EXT_MARK, serial, time);
    this.win = this.detail.open;
  }

  note(type: number, body: Record<string, unknown>): number {
    const time = perf.now();
    const serial = this.detail.note(body, time);
    this.put(EXT | type, serial, time);
    return serial;
  }

  /** An uncaught exception is ending the process (called by the shutdown path before the final drain). */
  uncaught(error: unknown): void {
    if (this.slot < 0) return;
    const time = perf.now();
    const serial = this.detail.uncaught(error, time);
    this.put(EXT | EXT_DETAIL, serial, time);
  }

  /** Name and parameter names of a function this thread registered. */
  private functionFacts(id: number): FunctionFacts | null {
    for (const module of this.modules) {
      if (id < module.base || id >= module.base + module.count) continue;
      const entry = functionsOf(module)[id - module.base];
      if (!Array.isArray(entry)) return null;
      const params = Array.isArray(entry[4]) ? (entry[4] as unknown[]).map(String) : [];
      return { name: String(entry[0]), params };
    }
    return null;
  }

  sp<T>(id: number, frame: number, value: T): T {
    this.put(SUSPEND | id, frame, this.now());
    return value;
  }

  rs<T>(id: number, frame: number, value: T): T {
    this.put(RESUME | id, frame, this.now());
    return value;
  }

  rr(id: number, frame: number): void {
    this.put(RESUME | id, frame, this.now());
  }

  ext(type: number, aux: number): void {
    this.put(EXT | type, aux >>> 0, this.now());
  }

  eu(type: number, aux: number): void {
    this.put(EXT | UNTIMED_FLAG | type, aux >>> 0, this.last);
  }

  extNote(type: number, aux: number, body: Record<string, unknown>): void {
    const time = this.now();
    this.put(EXT | type, aux >>> 0, time);
    body.ext = type;
    body.aux = aux >>> 0;
    this.detail.note(body, time);
  }

  describe(value: unknown): unknown {
    const detail = this.detail;
    // Values are detail: outside a window a runtime event records no payload (a message costs an index record).
    if (this.win === 0) return undefined;
    if (detail.busy) return { $: 'elided' };
    detail.busy = true;
    try {
      return detail.describe(value);
    } catch {
      return { $: 'unserializable' };
    } finally {
      detail.busy = false;
    }
  }

  /**
   * Adaptive timing: demote a function whose timed calls are consistently tiny. Demotion is
   * final (a recursive function's sampled calls vary too much to judge it on them again).
   */
  private learn(id: number, duration: number): void {
    const n = (this.samples[id] as number) + 1;
    const sum = (this.sums[id] as number) + duration;
    if (n < ADAPTIVE_WINDOW_CALLS) {
      this.samples[id] = n;
      this.sums[id] = sum;
      return;
    }
    if (sum < ADAPTIVE_WINDOW_CALLS * ADAPTIVE_DEMOTE_BELOW_MS && this.timed[id] === 1) this.timed[id] = 0;
    this.samples[id] = 0;
    this.sums[id] = 0;
  }

  // ---- slow path ------------------------------------------------------------------------

  /** Called when the cached room is used up: claim a slot, re-read the tail, or drop. */
  private makeRoom(): boolean {
    const ctl = this.ctl;
    if (this.slot < 0) {
      if (!this.claim()) return false;
    }
    if (Atomics.load(ctl, 0 + H_STOPPED) === 1) {
      this.stop();
      return false;
    }
    if (Atomics.load(ctl, H_PAUSED) === 1) {
      this.pause();
      return false;
    }
    // recall ctl set: a thread busy in one long synchronous stretch has no idle tick; take the triggers here.
    const gen = Atomics.load(ctl, H_TRIGGERS_GEN);
    if (gen !== this.triggersGen && (gen & 1) === 0) this.applyTriggers(gen);
    if (this.spilling) return this.makeRoomSpilling();
    let tail = Atomics.load(ctl, this.tailIndex);
    if (this.capacity - (((this.h | 0) - tail) | 0) < 2 && this.drainStarting) tail = this.awaitDrainStart(tail);
    const used = ((this.h | 0) - tail) | 0;
    let free = this.capacity - used;
    if (used >= this.capacity >> 2) Atomics.notify(ctl, H_DRAIN_WAKE);
    if (used > this.backlogPeak) this.noteBacklog(used);
    if (this.pendingDrops > 0 || this.pendingGap) {
      if (free < 2) return this.drop();
      // Room again: write the marker that says how many events were lost here (0: a pause).
      const h = this.h;
      const i = (h & this.mask) * RECORD_WORDS;
      this.u32[i] = DROPPED;
      this.u32[i + 1] = this.pendingDrops;
      this.f64[(i >> 1) + 1] = this.last;
      this.h = h + 1;
      this.markers++;
      Atomics.store(ctl, slotBase(this.slot) + S_MARKERS, this.markers);
      this.publish();
      this.pendingDrops = 0;
      this.pendingGap = false;
      free--;
    }
    if (free < 1) return this.spillRecords > 0 ? this.startSpill() : this.drop();
    // Come back here after an eighth of the ring at most, to wake the drain early if it is behind.
    this.setRoom(this.h + Math.min(free, Math.max(1, this.capacity >> 3)));
    return true;
  }

  /** A new high of records waiting for the drain: published for the manifest (how close the thread came to dropping). */
  private noteBacklog(records: number): void {
    this.backlogPeak = records;
    if (this.slot >= 0) Atomics.store(this.ctl, slotBase(this.slot) + S_BACKLOG_PEAK, records);
  }

  /** The shared ring is full: go on in the spill ring. */
  private startSpill(): boolean {
    if (this.spillU32 === null) {
      const buffer = spillBuffer(this.spillRecords);
      if (buffer === null) {
        this.spillRecords = 0; // no memory for it: drop from now on, as with --spill-size 0
        return this.drop();
      }
      this.spillU32 = new Uint32Array(buffer);
      this.spillF64 = new Float64Array(buffer);
    }
    this.sharedU32 = this.u32;
    this.sharedF64 = this.f64;
    this.sharedH = this.h;
    this.h = 0;
    this.spillTail = 0;
    this.hOffset = this.sharedH;
    this.u32 = this.spillU32;
    this.f64 = this.spillF64 as Float64Array;
    this.mask = this.spillRecords - 1;
    this.spilling = true;
    Atomics.notify(this.ctl, H_DRAIN_WAKE);
    // Empty, so the first records go in; makeRoomSpilling comes after an eighth of the shared ring.
    this.setRoom(this.h + Math.min(this.spillRecords, Math.max(1, this.capacity >> 3)));
    return true;
  }

  /** makeRoom while spilling: move what the shared ring has room for; back to it once the spill is empty. */
  private makeRoomSpilling(): boolean {
    this.moveSpill();
    if (this.spillTail === this.h) {
      this.endSpill();
      return this.makeRoom();
    }
    const ctl = this.ctl;
    Atomics.notify(ctl, H_DRAIN_WAKE);
    const spilled = this.h - this.spillTail;
    const backlog = spilled + (((this.sharedH | 0) - Atomics.load(ctl, this.tailIndex)) | 0);
    if (backlog > this.backlogPeak) this.noteBacklog(backlog);
    let free = this.spillRecords - spilled;
    if (this.pendingDrops > 0 || this.pendingGap) {
      if (free < 2) return this.drop();
      const h = this.h;
      const i = (h & this.mask) * RECORD_WORDS;
      this.u32[i] = DROPPED;
      this.u32[i + 1] = this.pendingDrops;
      this.f64[(i >> 1) + 1] = this.last;
      this.h = h + 1;
      this.markers++;
      Atomics.store(ctl, slotBase(this.slot) + S_MARKERS, this.markers);
      this.pendingDrops = 0;
      this.pendingGap = false;
      free--;
    }
    if (free < 1) return this.drop();
    // Come back after an eighth of the shared ring at most, to move records as the drain frees room.
    this.setRoom(this.h + Math.min(free, Math.max(1, this.capacity >> 3)));
    return true;
  }

  /** Move the oldest spilled records into the shared ring, as many as it has room for, and publish them. */
  private moveSpill(): void {
    const spill = this.spillU32 as Uint32Array;
    const tail = Atomics.load(this.ctl, this.tailIndex);
    let n = Math.min(this.capacity - (((this.sharedH | 0) - tail) | 0), this.h - this.spillTail);
    if (n <= 0) return;
    const sharedMask = this.capacity - 1;
    while (n > 0) {
      const from = this.spillTail & this.mask;
      const to = this.sharedH & sharedMask;
      const k = Math.min(n, this.spillRecords - from, this.capacity - to);
      this.sharedU32.set(spill.subarray(from * RECORD_WORDS, (from + k) * RECORD_WORDS), to * RECORD_WORDS);
      this.spillTail += k;
      this.sharedH += k;
      n -= k;
    }
    Atomics.store(this.ctl, slotBase(this.slot) + S_HEAD, this.sharedH);
  }

  /**
   * The spill ring is empty: the probes write to the shared ring again. The next spill starts at
   * the ring's start, so the memory a spill ring holds (committed by the OS page by page as it is
   * first written) is the deepest backlog's, not the whole ring's.
   */
  private endSpill(): void {
    this.h = this.sharedH;
    this.hOffset = 0;
    this.u32 = this.sharedU32;
    this.f64 = this.sharedF64;
    this.mask = this.capacity - 1;
    this.spilling = false;
  }

  /**
   * The thread stops recording: wait (bounded) for the drain to take what is still spilled. What
   * cannot be moved in time is counted as dropped, so produced = written + dropped still holds.
   */
  private flushSpill(timeoutMs: number): void {
    if (!this.spilling) return;
    const ctl = this.ctl;
    const until = perf.now() + timeoutMs;
    for (;;) {
      this.moveSpill();
      if (this.spillTail === this.h) break;
      if (perf.now() > until) {
        this.dropped += this.h - this.spillTail;
        this.publishDropped();
        break;
      }
      Atomics.notify(ctl, H_DRAIN_WAKE);
      Atomics.wait(ctl, this.tailIndex, Atomics.load(ctl, this.tailIndex), 1);
    }
    this.endSpill();
  }

  /**
   * The ring filled before the drain worker ran (it boots in ~100 ms while the program starts at
   * once): wait for it, the one place a probe waits, instead of dropping the program's first
   * events. Bounded: a drain that never comes (DRAIN_START_TIMEOUT_MS) is not waited for again.
   * Returns the tail then.
   */
  private awaitDrainStart(tail: number): number {
    const ctl = this.ctl;
    if (Atomics.load(ctl, H_DRAIN_READY) === 0 && Atomics.wait(ctl, H_DRAIN_READY, 0, DRAIN_START_TIMEOUT_MS) === 'timed-out') {
      this.drainStarting = false;
      return tail;
    }
    this.drainStarting = false;
    // Ready: let its first pass make room (a few ms at most), still bounded.
    const until = perf.now() + DRAIN_START_TIMEOUT_MS;
    let now = tail;
    while (now === tail && perf.now() < until) {
      Atomics.notify(ctl, H_DRAIN_WAKE);
      Atomics.wait(ctl, this.tailIndex, tail, 1);
      now = Atomics.load(ctl, this.tailIndex);
    }
    return now;
  }

  private drop(): boolean {
    this.dropped++;
    this.pendingDrops++;
    this.publishDropped();
    // keep taking the slow path until the drain makes room
    this.lim = this.h;
    this.room = this.h;
    return false;
  }

  /** The dropped counter, a 64-bit word the drain reads with Atomics.load. */
  private publishDropped(): void {
    Atomics.store(this.ctlI64, (slotBase(this.slot) + S_DROPPED_I64) >> 1, BigInt(this.dropped));
  }

  private claim(): boolean {
    const ctl = this.ctl;
    const slots = ctl[1] as number;
    for (let slot = 0; slot < slots; slot++) {
      const base = slotBase(slot);
      if (Atomics.compareExchange(ctl, base + S_STATE, SLOT_FREE, SLOT_CLAIMING) !== SLOT_FREE) continue;
      // Plain stores, ordered before the drain's reads by the seq-cst store of SLOT_ACTIVE below.
      ctl[base + S_THREAD_ID] = threadId;
      this.ctlF64[(base + S_TIME_ORIGIN_F64) >> 1] = perf.timeOrigin;
      Atomics.store(this.ctlI64, (base + S_DROPPED_I64) >> 1, 0n);
      Atomics.store(ctl, base + S_MARKERS, 0);
      Atomics.store(ctl, base + S_BACKLOG_PEAK, 0);
      this.backlogPeak = 0;
      Atomics.store(ctl, base + S_HEAD, 0);
      Atomics.store(ctl, base + S_TAIL, 0);
      Atomics.add(ctl, base + S_GENERATION, 1);
      const layout = layoutOf(this.sab);
      const offset = layout.ringsByteOffset + slot * layout.ringBytes;
      this.u32 = new Uint32Array(this.sab, offset, layout.ringRecords * RECORD_WORDS);
      this.f64 = new Float64Array(this.sab, offset, layout.ringRecords * (RECORD_WORDS >> 1));
      this.slot = slot;
      this.detail.bind(slot);
      this.headIndex = base + S_HEAD;
      this.tailIndex = base + S_TAIL;
      this.h = 0;
      Atomics.store(ctl, base + S_STATE, SLOT_ACTIVE);
      Atomics.notify(ctl, H_DRAIN_WAKE);
      return true;
    }
    Atomics.add(ctl, H_UNTRACED_THREADS, 1);
    this.stop();
    return false;
  }

  /** Stop recording in this thread: from now on every probe is the shared no-op. */
  stop(): void {
    // Recording stopped everywhere (--duration, the process finishing): the drain is finishing
    // the trace, so what is still spilled is not waited for; it stays out, as events put after
    // the drain's last pass do.
    if (this.slot >= 0 && this.spilling) {
      if (Atomics.load(this.ctl, H_FINALIZE) === 0) this.flushSpill(SPILL_FLUSH_TIMEOUT_MS);
      else this.endSpill();
    }
    // What the thread put since its last publication reaches the drain's final pass.
    this.publish();
    this.stopIdleTimer();
    this.lim = -1;
    this.room = -1;
    this.slot = this.slot < 0 ? -2 : this.slot; // -2: never claim again
    (globalThis as Global).__recall = noopProbes;
  }

  /** Start the idle publication timer (PUBLISH_IDLE_MS): the preload calls it before the program's code runs. */
  startIdlePublisher(): void {
    if (this.idleTimer !== null || this.slot === -2) return;
    this.idleTimer = originalSetInterval(() => this.idle(), PUBLISH_IDLE_MS);
    this.idleTimer.unref();
  }

  /** The idle tick: publish, and follow a pause or resume asked for (recall ctl). */
  private idle(): void {
    this.publish();
    const gen = Atomics.load(this.ctl, H_TRIGGERS_GEN);
    // Odd: recall ctl set is changing the words (control.ts writeTriggerWords); take them next tick.
    if (gen !== this.triggersGen && (gen & 1) === 0) this.applyTriggers(gen);
    const paused = Atomics.load(this.ctl, H_PAUSED) === 1;
    if (paused !== this.paused && this.slot >= 0) {
      if (paused) this.pause();
      else this.resume();
    }
  }

  /** Take the triggers recall ctl set changed (only where this thread has a detail lane). */
  private applyTriggers(gen: number): void {
    const config = this.detail.config;
    if (config === DETAIL_OFF) {
      this.triggersGen = gen;
      return;
    }
    const slowUs = Atomics.load(this.ctl, H_SLOW_US);
    const flags = Atomics.load(this.ctl, H_TRIGGER_FLAGS);
    const armed = readArmed(this.sab);
    if (Atomics.load(this.ctl, H_TRIGGERS_GEN) !== gen) return; // changed while read: the next tick takes it
    this.triggersGen = gen;
    if (armed !== null) this.arm(armed);
    config.slowMs = slowUs < 0 ? null : slowUs / 1000;
    config.onThrow = (flags & TRIGGER_THROW) !== 0;
    config.onMark = (flags & TRIGGER_MARK) !== 0;
    this.slowMs = config.slowMs ?? Infinity;
    this.onThrow = config.onThrow ? 1 : 0;
  }

  /**
   * recall ctl set capture= / fn=: the detail lane matches the new lists, and this thread's
   * functions that match and were not compiled with an entry capture are armed (timed[id] =
   * ARMED: their exits take their values); functions armed before and no longer matching go back.
   */
  private arm(armed: ArmedLists): void {
    this.detail.setArmed(armed.capture, armed.fn);
    const globs = [...armed.capture, ...armed.fn];
    const compiled = entryCaptureGlobs(this.detail.startConfig);
    const live = globs.length > 0 ? picomatch(globs) : null;
    const atEntry = compiled.length > 0 ? picomatch(compiled) : null;
    this.armedMatch = live === null ? null : (name) => live(name) && (atEntry === null || !atEntry(name));
    for (const module of this.modules) this.armModule(module);
  }

  /** Arm (or disarm) one module's functions by armedMatch. */
  private armModule(module: { base: number; count: number; table: string; fns: unknown[] | null }): void {
    const match = this.armedMatch;
    const timed = this.timed;
    if (match === null) {
      for (let id = module.base; id < module.base + module.count; id++) if (timed[id] === ARMED) timed[id] = this.clock ? 1 : 0;
      return;
    }
    const fns = functionsOf(module);
    for (let i = 0; i < module.count; i++) {
      const entry = fns[i];
      const name = Array.isArray(entry) ? String(entry[0]) : '';
      const short = name.slice(name.lastIndexOf('.') + 1);
      const id = module.base + i;
      if (name !== '' && (match(name) || match(short))) timed[id] = ARMED;
      else if (timed[id] === ARMED) timed[id] = this.clock ? 1 : 0;
    }
  }

  /** Stop recording until resume(): the probes become the shared no-op; the slot and timers stay. */
  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.publish();
    this.lim = -1;
    this.room = -1;
    (globalThis as Global).__recall = noopProbes;
  }

  /** Record again after a pause. The first record is a gap marker: readers forget the stack across it. */
  private resume(): void {
    if (!this.paused || this.slot < 0) return;
    this.paused = false;
    this.pendingGap = true;
    // Take the slow path at the next event, which writes the marker first.
    this.lim = this.h;
    this.room = this.h;
    (globalThis as Global).__recall = this;
  }

  private stopIdleTimer(): void {
    if (this.idleTimer === null) return;
    originalClearInterval(this.idleTimer);
    this.idleTimer = null;
  }

  /** The thread is ending: let the drain finish this lane and free the slot. */
  close(): void {
    if (this.slot < 0) return;
    this.flushSpill(SPILL_FLUSH_TIMEOUT_MS);
    // Publish before SLOT_CLOSING: the drain closes the lane once it took everything up to the head.
    this.publish();
    this.stopIdleTimer();
    const base = slotBase(this.slot);
    Atomics.compareExchange(this.ctl, base + S_STATE, SLOT_ACTIVE, SLOT_CLOSING);
    Atomics.notify(this.ctl, H_DRAIN_WAKE);
    this.slot = -2;
    this.lim = -1;
    this.room = -1;
    (globalThis as Global).__recall = noopProbes;
  }

  /** Make room in the per-function timing arrays for ids below `size`; new functions start timed. */
  private growTiming(size: number): void {
    const old = this.timed.length;
    if (size <= old) return;
    const capacity = Math.max(1024, 1 << Math.ceil(Math.log2(size)));
    const timed = new Uint8Array(capacity);
    timed.set(this.timed);
    if (this.clock) timed.fill(1, old);
    this.timed = timed;
    const samples = new Uint8Array(capacity);
    samples.set(this.samples);
    this.samples = samples;
    const sums = new Float64Array(capacity);
    sums.set(this.sums);
    this.sums = sums;
  }

  // ---- module registration ----------------------------------------------------------------

  /**
   * Register an instrumented module's function table; returns the base of its function ids.
   * The table is appended to functions.jsonl synchronously, so it is on disk before any event
   * that uses it (a SIGKILLed trace still has names).
   */
  m(file: string, count: number, table: string, mapKey?: string): number {
    if (mapKey !== undefined) noteExternalMap(file, mapKey);
    if (this.slot === -2) return 0;
    if (this.slot < 0 && !this.claim()) return 0;
    const base = Atomics.add(this.ctl, H_NEXT_FUNCTION_ID, count);
    this.growTiming(base + count);
    const module = { base, count, table, fns: null };
    this.modules.push(module);
    if (this.armedMatch !== null) this.armModule(module);
    const path = file.startsWith('file:') ? fileURLToPath(file) : file;
    if (this.functionsFd < 0) this.functionsFd = openSync(this.functionsFile, 'a');
    writeSync(this.functionsFd, `{"base":${base},"thread":${threadId},"file":${JSON.stringify(path)},"fns":${table}}\n`);
    return base;
  }
}

/** A registered module's function table ([name, line, column, kind, params] per function), parsed on first use. */
function functionsOf(module: { table: string; fns: unknown[] | null }): unknown[] {
  if (module.fns === null) {
    try {
      module.fns = JSON.parse(module.table) as unknown[];
    } catch {
      module.fns = [];
    }
  }
  return module.fns;
}
