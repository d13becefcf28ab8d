// The chunk checksum: FNV-1a over 32-bit little-endian words (docs/FORMAT.md). Chosen because it
// runs at memory speed in plain JS (one xor and one Math.imul per word) and any change to a single
// word always changes the result (both steps are bijections of the running state).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Continue a checksum over `words`. Start with `checksumInit()`. */
export function checksumWords(state: number, words: Uint32Array): number {
  let h = state | 0;
  const n = words.length;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ (words[i] as number), FNV_PRIME);
  }
  return h >>> 0;
}

export function checksumInit(): number {
  return FNV_OFFSET;
}

/**
 * Continue a checksum over a payload in four interleaved FNV-1a lanes (word i goes to lane
 * i mod 4, lane k starting at FNV_OFFSET + k), then fold the four lane values into `state`
 * with FNV-1a. Four independent multiply chains run about four times faster than one. A change
 * to any single word changes exactly one input of the fold (`state` or one lane), and every
 * step is a bijection, so it always changes the result.
 */
export function checksumWords4(state: number, words: Uint32Array): number {
  let a = FNV_OFFSET | 0;
  let b = (FNV_OFFSET + 1) | 0;
  let c = (FNV_OFFSET + 2) | 0;
  let d = (FNV_OFFSET + 3) | 0;
  const n = words.length;
  const whole = n & ~3;
  let i = 0;
  for (; i < whole; i += 4) {
    a = Math.imul(a ^ (words[i] as number), FNV_PRIME);
    b = Math.imul(b ^ (words[i + 1] as number), FNV_PRIME);
    c = Math.imul(c ^ (words[i + 2] as number), FNV_PRIME);
    d = Math.imul(d ^ (words[i + 3] as number), FNV_PRIME);
  }
  if (i < n) a = Math.imul(a ^ (words[i] as number), FNV_PRIME);
  if (i + 1 < n) b = Math.imul(b ^ (words[i + 1] as number), FNV_PRIME);
  if (i + 2 < n) c = Math.imul(c ^ (words[i + 2] as number), FNV_PRIME);
  let h = state | 0;
  h = Math.imul(h ^ a, FNV_PRIME);
  h = Math.imul(h ^ b, FNV_PRIME);
  h = Math.imul(h ^ c, FNV_PRIME);
  h = Math.imul(h ^ d, FNV_PRIME);
  return h >>> 0;
}

/**
 * The four lanes of checksumWords4 for a payload that arrives in pieces (each a whole number of
 * 4-word groups): start with `lanesInit`, run each word i of the payload through lane i mod 4
 * (`lane = Math.imul(lane ^ word, CHECKSUM_PRIME)`, in the caller's own loop: the trace writer
 * does it while it completes records), then `lanesFold` gives what checksumWords4 gives over
 * the whole payload.
 */
export function lanesInit(lanes: Int32Array): void {
  lanes[0] = FNV_OFFSET | 0;
  lanes[1] = (FNV_OFFSET + 1) | 0;
  lanes[2] = (FNV_OFFSET + 2) | 0;
  lanes[3] = (FNV_OFFSET + 3) | 0;
}

export function lanesFold(state: number, lanes: Int32Array): number {
  let h = state | 0;
  h = Math.imul(h ^ (lanes[0] as number), FNV_PRIME);
  h = Math.imul(h ^ (lanes[1] as number), FNV_PRIME);
  h = Math.imul(h ^ (lanes[2] as number), FNV_PRIME);
  h = Math.imul(h ^ (lanes[3] as number), FNV_PRIME);
  return h >>> 0;
}

export { FNV_PRIME as CHECKSUM_PRIME };

// Run both loops once, tails included, when the module loads. V8 compiles a long-running loop
// while it runs (on-stack replacement); code after the loop that never ran before has no type
// feedback, and the compiled loop then deoptimizes there on every call — measured at 2× the
// cost of checksumWords4 over a 1 GiB trace. (V8 collects feedback only from a function's
// ninth call or so on, hence the repeats.)
for (let i = 0; i < 16; i++) checksumWords4(checksumWords(checksumInit(), new Uint32Array(3)), new Uint32Array(7));
