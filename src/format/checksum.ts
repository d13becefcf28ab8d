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
