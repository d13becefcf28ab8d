// The drain's chunk buffers and the pass that completes the records copied into them. The probes
// write only the head word of an untimed enter, exit or throw (the ring slot still holds an older
// record's aux and time); "settling" gives such a record aux 0 and the time of the record before
// it, as docs/FORMAT.md says, and runs every word through the chunk checksum's four lanes in the
// same pass. It runs in WebAssembly, branch-free (a `select` per word instead of an if): a
// thread's timed and untimed records interleave unpredictably in adaptive mode, and the JS loop's
// branch mispredicts made it 12 ns per record against 3.5 (bench/run.mjs --only drain). The chunk
// buffers live in the module's memory so the pass works in place; the JS loop remains for
// Node started with --jitless, where WebAssembly does not exist.

import { CHECKSUM_PRIME } from '../format/checksum.js';
import { EV_ENTER, EV_THROW, KIND_SHIFT, RECORD_BYTES } from '../format/layout.js';
import { compileModule, instantiate, type WasmFunction, type WasmMemory, type WasmModule } from '../format/wasm.js';

/** The state a lane carries from one settle call to the next: the last time's two words, then the four checksum lanes. */
export const SETTLE_STATE_WORDS = 6;

/** An untimed (bit 31) enter, exit or throw has (head >>> KIND_SHIFT) - UNTIMED_FIRST <= UNTIMED_SPAN (unsigned). */
const UNTIMED_FIRST = 8 + EV_ENTER;
const UNTIMED_SPAN = EV_THROW - EV_ENTER;

const PAGE_BYTES = 65536;
/** Memory below the first block: the state words of the call in progress. */
const STATE_ADDRESS = 0;
const BLOCKS_ADDRESS = PAGE_BYTES;

const stateWord = (i: number, op: 'load' | 'store'): string =>
  op === 'load'
    ? `
    i32.const ${STATE_ADDRESS}
    i32.load offset=${i * 4}
    local.set ${STATE_LOCALS[i]}`
    : `
    i32.const ${STATE_ADDRESS}
    local.get ${STATE_LOCALS[i]}
    i32.store offset=${i * 4}`;
const STATE_LOCALS = ['$lo', '$hi', '$a', '$b', '$c', '$d'];

/** `$lane = ($lane ^ $word) * prime`. */
const fold = (lane: string, word: string): string => `
        local.get ${lane}
        local.get ${word}
        i32.xor
        i32.const ${CHECKSUM_PRIME}
        i32.mul
        local.set ${lane}`;

/** `$word = $u ? $keep : load(offset)`, and store it back at offset. */
const settleWord = (word: string, keep: string, offset: number): string => `
        ${keep}
        local.get $p
        i32.load offset=${offset}
        local.get $u
        select
        local.set ${word}
        local.get $p
        local.get ${word}
        i32.store offset=${offset}`;

/** settle(from, to): the records in [from, to) (byte addresses), with the state at STATE_ADDRESS. */
const SETTLE: WasmFunction = {
  name: 'settle',
  params: [
    ['$p', 'i32'],
    ['$end', 'i32'],
  ],
  result: null,
  locals: [
    ['$head', 'i32'],
    ['$u', 'i32'],
    ['$aux', 'i32'],
    ['$lo', 'i32'],
    ['$hi', 'i32'],
    ['$a', 'i32'],
    ['$b', 'i32'],
    ['$c', 'i32'],
    ['$d', 'i32'],
  ],
  body: `
    ${STATE_LOCALS.map((_, i) => stateWord(i, 'load')).join('\n')}
    block $done
      local.get $p
      local.get $end
      i32.ge_u
      br_if $done
      loop $next
        local.get $p
        i32.load offset=0
        local.set $head
        local.get $head
        i32.const ${KIND_SHIFT}
        i32.shr_u
        i32.const ${UNTIMED_FIRST}
        i32.sub
        i32.const ${UNTIMED_SPAN}
        i32.le_u
        local.set $u
        ${settleWord('$aux', 'i32.const 0', 4)}
        ${settleWord('$lo', 'local.get $lo', 8)}
        ${settleWord('$hi', 'local.get $hi', 12)}
        ${fold('$a', '$head')}
        ${fold('$b', '$aux')}
        ${fold('$c', '$lo')}
        ${fold('$d', '$hi')}
        local.get $p
        i32.const ${RECORD_BYTES}
        i32.add
        local.tee $p
        local.get $end
        i32.lt_u
        br_if $next
      end
    end
    ${STATE_LOCALS.map((_, i) => stateWord(i, 'store')).join('\n')}`,
};

let compiled: WasmModule | null | undefined;

/** The module, compiled once per thread; null without WebAssembly (node --jitless). */
function settleModule(): WasmModule | null {
  if (compiled === undefined) compiled = compileModule([SETTLE]);
  return compiled;
}

/**
 * Fixed-size chunk buffers ("blocks") for the drain's lanes, in one memory that grows by
 * doubling. Growing replaces the memory's ArrayBuffer, so users keep block addresses, never views:
 * `bytes`, `words` and `times` always view the current memory.
 */
export class ChunkArena {
  /** True when settling runs in WebAssembly. */
  readonly wasm: boolean;
  bytes: Uint8Array;
  words: Int32Array;
  times: Float64Array;
  private readonly memory: WasmMemory | null;
  private readonly settleWasm: ((from: number, to: number) => void) | null;
  private capacity: number;
  private used = 0;
  private readonly free: number[] = [];

  constructor(
    readonly blockBytes: number,
    initialBlocks = 2,
    useWasm = true,
  ) {
    if (blockBytes % PAGE_BYTES !== 0) throw new RangeError('blockBytes must be a multiple of 64 KiB');
    this.capacity = initialBlocks;
    const module = useWasm ? settleModule() : null;
    if (module) {
      const { memory, exports } = instantiate<{ settle: (from: number, to: number) => void }>(module, (BLOCKS_ADDRESS + initialBlocks * blockBytes) / PAGE_BYTES);
      this.memory = memory;
      this.settleWasm = exports.settle;
    } else {
      this.memory = null;
      this.settleWasm = null;
    }
    this.wasm = this.memory !== null;
    const buffer = this.memory ? this.memory.buffer : new ArrayBuffer(BLOCKS_ADDRESS + initialBlocks * blockBytes);
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
    this.times = new Float64Array(buffer);
  }

  /** The byte address of a free block. */
  allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.capacity) this.grow();
    return BLOCKS_ADDRESS + this.used++ * this.blockBytes;
  }

  release(address: number): void {
    this.free.push(address);
  }

  private grow(): void {
    const added = this.capacity;
    let buffer: ArrayBuffer;
    if (this.memory) {
      this.memory.grow((added * this.blockBytes) / PAGE_BYTES);
      buffer = this.memory.buffer;
    } else {
      buffer = new ArrayBuffer(this.bytes.byteLength + added * this.blockBytes);
      new Uint8Array(buffer).set(this.bytes);
    }
    this.capacity += added;
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
    this.times = new Float64Array(buffer);
  }

  /**
   * Settle the records at byte addresses [from, to) (record-aligned, inside one block), carrying
   * `state` (SETTLE_STATE_WORDS: last time lo, hi, then the four checksum lanes) in and out.
   */
  settle(from: number, to: number, state: Int32Array): void {
    const words = this.words;
    if (this.settleWasm) {
      const at = STATE_ADDRESS >> 2;
      for (let i = 0; i < SETTLE_STATE_WORDS; i++) words[at + i] = state[i] as number;
      this.settleWasm(from, to);
      for (let i = 0; i < SETTLE_STATE_WORDS; i++) state[i] = words[at + i] as number;
      return;
    }
    settleJs(words, from >> 2, to >> 2, state);
  }
}

/** The same pass in JS. Int32 throughout: uint32 values above 2^31 would make V8 keep the loop's variables as doubles. */
function settleJs(words: Int32Array, from: number, end: number, state: Int32Array): void {
  let lo = state[0] as number;
  let hi = state[1] as number;
  let a = state[2] as number;
  let b = state[3] as number;
  let c = state[4] as number;
  let d = state[5] as number;
  for (let w = from; w < end; w += 4) {
    const head = (words[w] as number) | 0;
    let aux = 0;
    if (((head >>> KIND_SHIFT) - UNTIMED_FIRST) >>> 0 <= UNTIMED_SPAN) {
      words[w + 1] = 0;
      words[w + 2] = lo;
      words[w + 3] = hi;
    } else {
      aux = (words[w + 1] as number) | 0;
      lo = (words[w + 2] as number) | 0;
      hi = (words[w + 3] as number) | 0;
    }
    a = Math.imul(a ^ head, CHECKSUM_PRIME);
    b = Math.imul(b ^ aux, CHECKSUM_PRIME);
    c = Math.imul(c ^ lo, CHECKSUM_PRIME);
    d = Math.imul(d ^ hi, CHECKSUM_PRIME);
  }
  state[0] = lo;
  state[1] = hi;
  state[2] = a;
  state[3] = b;
  state[4] = c;
  state[5] = d;
}
