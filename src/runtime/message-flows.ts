// Message flows between threads: every postMessage on a port recall follows records
// EXT_MSG_SEND on the sending thread, and its delivery records EXT_MSG_RECV on the receiving
// thread, right before the program's listeners run; both carry the same message id, so readers
// link them without the message itself being touched.
//
// Linking without changing the message: the messages of one port are delivered in the order
// they were posted, so the n-th message posted on one end of a channel is the n-th delivered at
// the other. Each end counts what it sent and received; a message's id is
//   bit 31: 0 = a worker's own channel (Worker <-> parentPort), 1 = a MessageChannel
//   bits 21-30: the worker's threadId, or the channel's id (allocated from shared memory), mod 1024
//   bit 20: the direction (0: parent -> worker or port1 -> port2; 1: the other way)
//   bits 0-19: the message's sequence number on that end, from 1, mod 2^20
// A send is recorded just before the message leaves; a postMessage that throws (a value that
// cannot be cloned) adds a note {event:'message-send-failed', id} and the id is used again.
// The send's note (always persisted) carries the full sequence number and the receiving thread
// when known, with a bounded, redacted description of the payload. Readers pair sends and receives of one id in
// order, so the wrap-arounds are harmless.
//
// Which ports: a Worker's public port (parent side: found among the Worker's own symbols as
// `kPublicPort`), `parentPort` in a worker, and both ports of every `new MessageChannel()`. A
// MessageChannel port transferred in a followed message is followed on the other side too: the
// sender writes (message id, transfer index) -> (channel, end, counts) into a small table in
// shared memory before posting, and the receiver looks the arriving ports up (Node hands them to
// the dispatch as `Symbol.for('nodejs.internal.kCurrentlyReceivingPorts')`). Ports handed over
// in `workerData` are not followed.
//
// How the hooks stay invisible: sends are seen by wrapping MessagePort.prototype.postMessage
// (Worker#postMessage posts on its public port). Receives are seen in EventTarget's
// `Symbol.for('nodejs.internal.kHybridDispatch')`, through which Node 20's native port
// delivers every message (per_context/messageport.js emitMessage calls it with three arguments,
// the third undefined; NodeEventTarget#emit calls it with two and dispatchEvent with an event,
// so a program's own emit('message') is not counted). No listener is added (listeners ref and
// start ports and would change when the program exits), the program's listeners are not
// wrapped, and the message object is untouched. receiveMessageOnPort is wrapped to count the
// messages it takes. The wrappers' frames are hidden from Error.stack (hideFramesOf).

import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as threads from 'node:worker_threads';
import { EXT_MSG_RECV, EXT_MSG_SEND, EXT_NOTE } from '../format/layout.js';
import { noopProbes, type Probes } from './recorder.js';
import { hideFramesOf } from './stack-traces.js';

type Global = typeof globalThis & { __recall: Probes };
type Fn = (...args: unknown[]) => unknown;

const g = globalThis as Global;

const DISPATCH = Symbol.for('nodejs.internal.kHybridDispatch');
const RECEIVING_PORTS = Symbol.for('nodejs.internal.kCurrentlyReceivingPorts');
/** Environment data: the shared table (main thread creates it) and the creating thread's id. */
const SHARED_KEY = 'recall:message-flows';
const PARENT_KEY = 'recall:parent-thread';

const CHANNEL_BIT = 0x80000000;
const REVERSE_BIT = 1 << 20;
const SEQ_MASK = 0xfffff;

/** Shared table: [0] last channel id, [1] transfer cursor, then TRANSFERS entries of ENTRY words. */
const TRANSFERS = 1024;
const ENTRY = 6; // message id, transfer index, channel, end, sent, received
const TABLE_START = 2;

interface PortState {
  via: 'worker' | 'channel';
  /** The worker's threadId, or the MessageChannel's id. */
  channel: number;
  /** 0: parent side / port1; 1: worker side / port2. */
  end: number;
  sent: number;
  received: number;
  /** The thread at the other end, when this thread knows it. */
  peer: number | null;
}

const ports = new WeakMap<object, PortState>();
let table: Int32Array | null = null;
let parentThread: number | null = null;

function idOf(state: PortState, sending: boolean, seq: number): number {
  const reverse = sending ? state.end === 1 : state.end === 0;
  return ((state.via === 'channel' ? CHANNEL_BIT : 0) | ((state.channel & 0x3ff) << 21) | (reverse ? REVERSE_BIT : 0) | (seq & SEQ_MASK)) >>> 0;
}

/** Follow a Worker's public port (parent side); called by the Worker wrapper. */
export function followWorkerPort(worker: object, workerThreadId: number): void {
  const key = Object.getOwnPropertySymbols(worker).find((symbol) => symbol.description === 'kPublicPort');
  const port = key === undefined ? undefined : (worker as Record<symbol, unknown>)[key];
  if (typeof port !== 'object' || port === null) return;
  ports.set(port, { via: 'worker', channel: workerThreadId, end: 0, sent: 0, received: 0, peer: workerThreadId });
}

/** The MessagePorts among a postMessage's transfer list (an array or `{ transfer }`), in order. */
function transferredPorts(option: unknown): object[] {
  const list = Array.isArray(option) ? option : typeof option === 'object' && option !== null && Array.isArray((option as { transfer?: unknown }).transfer) ? (option as { transfer: unknown[] }).transfer : null;
  if (list === null) return [];
  const found: object[] = [];
  for (const item of list) if (item instanceof threads.MessagePort) found.push(item);
  return found;
}

/** Before a message with followed ports in its transfer list leaves: say where they come from. */
function publishTransfers(id: number, moving: object[]): void {
  if (table === null) return;
  for (let index = 0; index < moving.length; index++) {
    const state = ports.get(moving[index] as object);
    if (state === undefined || state.via !== 'channel') continue;
    const at = TABLE_START + ((Atomics.add(table, 1, 1) >>> 0) % TRANSFERS) * ENTRY;
    Atomics.store(table, at, 0);
    table[at + 1] = index;
    table[at + 2] = state.channel;
    table[at + 3] = state.end;
    table[at + 4] = state.sent;
    table[at + 5] = state.received;
    Atomics.store(table, at, id | 0);
  }
}

/** A message `id` arrived carrying `arrived` ports: follow those the sender followed. */
function adoptTransfers(id: number, arrived: unknown): void {
  if (table === null || !Array.isArray(arrived) || arrived.length === 0) return;
  for (let index = 0; index < arrived.length; index++) {
    const port = arrived[index] as unknown;
    if (typeof port !== 'object' || port === null || ports.has(port)) continue;
    for (let n = 0; n < TRANSFERS; n++) {
      const at = TABLE_START + n * ENTRY;
      if (Atomics.load(table, at) !== (id | 0) || table[at + 1] !== index) continue;
      ports.set(port, { via: 'channel', channel: table[at + 2] as number, end: table[at + 3] as number, sent: table[at + 4] as number, received: table[at + 5] as number, peer: null });
      break;
    }
  }
}

function recordSend(state: PortState, seq: number, summary: unknown, moved: number): void {
  const recorder = g.__recall;
  if (recorder === noopProbes || recorder === undefined) return;
  const id = idOf(state, true, seq);
  // Kept small (it is written for every message): the sender is the thread, the channel kind,
  // its id and the direction are in the id's bits; seq is the full sequence number.
  // Outside a detail window there is no payload summary: the id alone links the flow.
  if (summary === undefined && moved === 0) {
    recorder.ext(EXT_MSG_SEND, id);
    return;
  }
  const body: Record<string, unknown> = { event: 'message-send', seq, to: state.peer };
  if (summary !== undefined) body.summary = summary;
  if (moved > 0) body.ports = moved;
  recorder.extNote(EXT_MSG_SEND, id, body);
}

function received(state: PortState): number {
  const seq = ++state.received;
  const id = idOf(state, false, seq);
  g.__recall.ext(EXT_MSG_RECV, id);
  return id;
}

function lookAlike<T extends Fn>(wrapper: T, original: Fn): T {
  for (const key of ['name', 'length']) {
    const descriptor = Object.getOwnPropertyDescriptor(original, key);
    if (descriptor) Object.defineProperty(wrapper, key, descriptor);
  }
  return wrapper;
}

function wrapPostMessage(): void {
  const proto = threads.MessagePort.prototype as unknown as Record<string, Fn>;
  const original = proto.postMessage;
  if (typeof original !== 'function') return;
  const postMessage = function (this: object, value: unknown, transfer: unknown): unknown {
    const state = ports.get(this);
    if (state === undefined) return Reflect.apply(original, this, arguments);
    const seq = state.sent + 1;
    const recorder = g.__recall;
    const summary = recorder === noopProbes || recorder === undefined ? undefined : recorder.describe(value);
    const moving = arguments.length > 1 ? transferredPorts(transfer) : [];
    if (moving.length > 0) publishTransfers(idOf(state, true, seq), moving);
    // Recorded before the message leaves, so the send precedes its receive in time.
    recordSend(state, seq, summary, moving.length);
    let result: unknown;
    try {
      result = Reflect.apply(original, this, arguments);
    } catch (error) {
      // Not sent (it could not be cloned, ...): the next message takes this sequence number.
      g.__recall.note(EXT_NOTE, { event: 'message-send-failed', id: idOf(state, true, seq) });
      throw error;
    }
    state.sent = seq;
    return result;
  };
  Object.defineProperty(proto, 'postMessage', { ...Object.getOwnPropertyDescriptor(proto, 'postMessage'), value: lookAlike(postMessage, original) });
}

function wrapDispatch(): void {
  // EventTarget.prototype, where Node defines the hybrid dispatch (MessagePort inherits it).
  let owner: object | null = threads.MessagePort.prototype;
  while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, DISPATCH)) owner = Object.getPrototypeOf(owner) as object | null;
  if (owner === null) return;
  const descriptor = Object.getOwnPropertyDescriptor(owner, DISPATCH);
  const original = descriptor?.value as Fn | undefined;
  if (descriptor === undefined || typeof original !== 'function') return;
  const dispatch = {
    [DISPATCH](this: object, _value: unknown, type: unknown, event: unknown): unknown {
      // Three arguments, no event: a message the native port delivers (not emit/dispatchEvent).
      if (arguments.length === 3 && event === undefined && (type === 'message' || type === 'messageerror')) {
        const state = ports.get(this);
        if (state !== undefined) {
          const id = received(state);
          adoptTransfers(id, (this as Record<symbol, unknown>)[RECEIVING_PORTS]);
        }
      }
      return Reflect.apply(original, this, arguments);
    },
  }[DISPATCH] as Fn;
  Object.defineProperty(owner, DISPATCH, { ...descriptor, value: lookAlike(dispatch, original) });
}

function wrapChannelsAndSyncReceive(): void {
  const require = createRequire(import.meta.url);
  const exports = require('node:worker_threads') as Record<string, unknown>;
  const Original = exports.MessageChannel as typeof threads.MessageChannel | undefined;
  if (typeof Original === 'function') {
    const Wrapped = class MessageChannel extends Original {
      constructor() {
        super();
        const id = table === null ? 0 : Atomics.add(table, 0, 1) + 1;
        ports.set(this.port1, { via: 'channel', channel: id, end: 0, sent: 0, received: 0, peer: null });
        ports.set(this.port2, { via: 'channel', channel: id, end: 1, sent: 0, received: 0, peer: null });
      }
    };
    exports.MessageChannel = Wrapped;
    // The global is a lazy accessor that turns itself into a data property on first read: read
    // it (worker_threads is loaded already), then replace the value it became.
    const global = globalThis as unknown as Record<string, unknown>;
    if (global.MessageChannel === Original) {
      const descriptor = Object.getOwnPropertyDescriptor(global, 'MessageChannel');
      if (descriptor && 'value' in descriptor) Object.defineProperty(global, 'MessageChannel', { ...descriptor, value: Wrapped });
    }
  }
  const receive = exports.receiveMessageOnPort as Fn | undefined;
  if (typeof receive === 'function') {
    const receiveMessageOnPort = function (this: unknown, port: unknown): unknown {
      const result = Reflect.apply(receive, this, arguments);
      if (result !== undefined && typeof port === 'object' && port !== null) {
        const state = ports.get(port);
        if (state !== undefined) received(state);
      }
      return result;
    };
    exports.receiveMessageOnPort = lookAlike(receiveMessageOnPort, receive);
  }
  syncBuiltinESMExports();
}

export function installMessageFlows(): void {
  hideFramesOf(import.meta.url);
  if (threads.isMainThread) {
    table = new Int32Array(new SharedArrayBuffer((TABLE_START + TRANSFERS * ENTRY) * 4));
    threads.setEnvironmentData(SHARED_KEY, table.buffer as SharedArrayBuffer);
  } else {
    const shared = threads.getEnvironmentData(SHARED_KEY);
    if (shared instanceof SharedArrayBuffer) table = new Int32Array(shared);
    const parent = threads.getEnvironmentData(PARENT_KEY);
    parentThread = typeof parent === 'number' ? parent : null;
    if (threads.parentPort !== null) {
      ports.set(threads.parentPort, { via: 'worker', channel: threads.threadId, end: 1, sent: 0, received: 0, peer: parentThread });
    }
  }
  // Workers this thread creates learn who their parent is.
  threads.setEnvironmentData(PARENT_KEY, threads.threadId);
  wrapPostMessage();
  wrapDispatch();
  wrapChannelsAndSyncReceive();
}
