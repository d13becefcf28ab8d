// The summary's inner loops in WebAssembly: the chunk checksum (FORMAT.md section 4) and the
// walk (walk.ts) of every record but lost exits and drop markers: enters, exits that match the
// top frame, runtime events, and suspend/resume through a table of suspended frames.
// In V8's JavaScript every typed-array access reloads the array's data pointer and length and
// checks bounds; measured on the 1 GiB bench trace the JavaScript loop ran 15-40 ns a record.
// Here a record is a few dozen instructions. Both produce exactly the same numbers: the same
// IEEE double operations in the same order (walk.ts's fast() and step() are its JavaScript
// twins, and walk.test.ts checks both against the walk as it was before). While it walks one chunk,
// $walk can also run the next chunk's checksum (Space.armChecksum): the two are independent
// dependency chains, so the CPU overlaps them (measured: 20-25% less than one after the other).
//
// A Space is one WebAssembly memory (or, without WebAssembly, one ArrayBuffer) holding a
// thread file's input window and, when it walks, the walker's state: a bump allocator hands
// out regions, and views are re-made when the memory grows.

import { compileModule, instantiate, type WasmFunction, type WasmMemory, type WasmModule } from '../format/wasm.js';

// The state block at address 0 (i32 each): what $walk reads on entry and writes on return.
export const S_DEPTH = 0;
export const S_MAX_DEPTH = 4;
export const S_SIZE = 8;
// 12: unused (every record $walk goes past is an event: the caller counts them)
export const S_ACC = 16; // byte address of the accumulator rows
export const S_FRAMES = 20; // byte address of the stack
export const S_CAPACITY = 24; // frames the stack has room for
export const S_PRIORS = 28; // byte address of the priors' rows, 0 for none
// The next chunk's checksum, run by $walk alongside (see Space.armChecksum): its payload's next
// and end byte address, and the four FNV lanes so far.
const S_LANE_AT = 32;
const S_LANE_END = 36;
const S_LANES = 40; // 4 × i32
// The table of suspended frames (walk.ts keeps a Map when it walks without the kernel).
export const S_TABLE = 56; // byte address
export const S_TABLE_MASK = 60; // entries - 1 (a power of two)
export const S_TABLE_SHIFT = 64; // 32 - log2(entries): the hash is the top bits of serial × HASH_MULTIPLIER
export const S_TABLE_USED = 68; // live entries
export const S_TABLE_SEQ = 72; // f64: the next insertion's order
export const HASH_MULTIPLIER = 0x9e3779b1 | 0;
export const TABLE_ENTRY_BYTES = 32;
const STATE_BYTES = 128;

// Layout shared with walk.ts (in bytes here, in f64 slots there).
const ROW = 96; // ACC_STRIDE (12) * 8
const FRAME_SHIFT = 6; // frames are 64 bytes (8 slots)

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a step on local $h with the word at `address` + offset. */
function fnv(h: string, address: string, offset: number): string {
  return `
    local.get ${h}
    local.get ${address}
    i32.load offset=${offset}
    i32.xor
    i32.const ${FNV_PRIME}
    i32.mul
    local.set ${h}`;
}

/** f64 at `address` + offset += value left by `value` (instructions). */
/**
 * What one fully timed call adds to the basis of its function's estimate (A_TIMED_SUM) at most,
 * in ms: 1/64 ms (15.6 µs, exact in binary, so sums do not depend on their order), about 16
 * times the mean under which adaptive timing demotes a function. Only demoted
 * functions are estimated, from their warm-up and sampled calls; one of those calls that a
 * collection, a deoptimization or the scheduler held for milliseconds would otherwise set the
 * estimate of every untimed call (measured: an 8 ms sample among 733 of ~200 ns made a getter
 * ~11 µs a call). The function's own measured self time is not capped.
 */
export const ESTIMATE_SAMPLE_CAP_MS = 1 / 64;

function addF64(address: string, offset: number, value: string): string {
  return `
    local.get ${address}
    local.get ${address}
    f64.load offset=${offset}
    ${value}
    f64.add
    f64.store offset=${offset}`;
}

/** h = FNV-1a from the offset basis over the chunk header at $at, without its checksum field. */
const HEADER_HASH = `
    i32.const ${FNV_OFFSET}
    local.set $h
    ${[0, 4, 8, 12, 16, 24, 28, 32, 36, 40, 44].map((offset) => fnv('$h', '$at', offset)).join('\n')}`;

/** Fold the four lanes into $h, lane a first; leaves h on the stack. */
const FOLD = `
    ${['$a', '$b', '$c', '$d']
      .map(
        (lane) => `
    local.get $h
    local.get ${lane}
    i32.xor
    i32.const ${FNV_PRIME}
    i32.mul
    local.set $h`,
      )
      .join('\n')}
    local.get $h`;

/** Four lane steps over the 16 bytes at $p, then $p += 16. */
const LANES16 = `
    ${fnv('$a', '$p', 0)}
    ${fnv('$b', '$p', 4)}
    ${fnv('$c', '$p', 8)}
    ${fnv('$d', '$p', 12)}
    local.get $p
    i32.const 16
    i32.add
    local.set $p`;

const CHECKSUM: WasmFunction = {
  name: 'checksum',
  params: [
    ['$at', 'i32'],
    ['$payloadBytes', 'i32'],
  ],
  result: 'i32',
  locals: [
    ['$h', 'i32'],
    ['$a', 'i32'],
    ['$b', 'i32'],
    ['$c', 'i32'],
    ['$d', 'i32'],
    ['$p', 'i32'],
    ['$end', 'i32'],
    ['$words', 'i32'],
  ],
  body: `
    ;; the chunk header's words at 0..16 and 24..44 (not the checksum field at 20)
    ${HEADER_HASH}
    ;; the payload in four lanes
    i32.const ${FNV_OFFSET}
    local.set $a
    i32.const ${(FNV_OFFSET + 1) | 0}
    local.set $b
    i32.const ${(FNV_OFFSET + 2) | 0}
    local.set $c
    i32.const ${(FNV_OFFSET + 3) | 0}
    local.set $d
    local.get $at
    i32.const 48
    i32.add
    local.set $p
    local.get $payloadBytes
    i32.const 2
    i32.shr_u
    local.set $words
    ;; 8 words a turn
    local.get $p
    local.get $words
    i32.const -8
    i32.and
    i32.const 2
    i32.shl
    i32.add
    local.set $end
    block $done8
      loop $eight
        local.get $p
        local.get $end
        i32.ge_u
        br_if $done8
        ${fnv('$a', '$p', 0)}
        ${fnv('$b', '$p', 4)}
        ${fnv('$c', '$p', 8)}
        ${fnv('$d', '$p', 12)}
        ${fnv('$a', '$p', 16)}
        ${fnv('$b', '$p', 20)}
        ${fnv('$c', '$p', 24)}
        ${fnv('$d', '$p', 28)}
        local.get $p
        i32.const 32
        i32.add
        local.set $p
        br $eight
      end
    end
    ;; then 4, then 1-3
    local.get $words
    i32.const 4
    i32.and
    if
      ${fnv('$a', '$p', 0)}
      ${fnv('$b', '$p', 4)}
      ${fnv('$c', '$p', 8)}
      ${fnv('$d', '$p', 12)}
      local.get $p
      i32.const 16
      i32.add
      local.set $p
    end
    local.get $words
    i32.const 3
    i32.and
    i32.const 1
    i32.ge_u
    if
      ${fnv('$a', '$p', 0)}
    end
    local.get $words
    i32.const 3
    i32.and
    i32.const 2
    i32.ge_u
    if
      ${fnv('$b', '$p', 4)}
    end
    local.get $words
    i32.const 3
    i32.and
    i32.const 3
    i32.ge_u
    if
      ${fnv('$c', '$p', 8)}
    end
    ;; fold the lanes into h
    ${FOLD}`,
};

/**
 * The end of a checksum that $walk ran alongside: the lanes from the state block, the payload
 * words they have not taken yet (whole 16-byte groups), the header at $at, the fold. Disarms.
 */
const CHECKSUM_FINISH: WasmFunction = {
  name: 'checksumFinish',
  params: [['$at', 'i32']],
  result: 'i32',
  locals: [
    ['$h', 'i32'],
    ['$a', 'i32'],
    ['$b', 'i32'],
    ['$c', 'i32'],
    ['$d', 'i32'],
    ['$p', 'i32'],
    ['$end', 'i32'],
  ],
  body: `
    ${['$p', '$end', '$a', '$b', '$c', '$d']
      .map(
        (local, i) => `
    i32.const 0
    i32.load offset=${S_LANE_AT + 4 * i}
    local.set ${local}`,
      )
      .join('\n')}
    block $done
      loop $more
        local.get $p
        local.get $end
        i32.ge_u
        br_if $done
        ${LANES16}
        br $more
      end
    end
    i32.const 0
    i32.const 0
    i32.store offset=${S_LANE_AT}
    i32.const 0
    i32.const 0
    i32.store offset=${S_LANE_END}
    ${HEADER_HASH}
    ${FOLD}`,
};

/**
 * Pop the top frame ($f, $depth; $known and $a for its function) at the record's time: its self
 * time, its time on the stack ($frameTotal) and its parent's time in callees. `credit`: also
 * count the frame's time once per outermost activation (recursion counts once); a suspend does not.
 */
function pop(credit: boolean): string {
  return `
            local.get $depth
            i32.const 1
            i32.sub
            local.set $depth
            local.get $f
            f64.load offset=8
            local.set $start
            local.get $f
            f64.load offset=16
            local.set $child
            local.get $start
            local.get $start
            f64.eq
            local.tee $timed
            if
              local.get $p
              f64.load offset=8
              local.get $start
              f64.sub
              local.tee $segment
              local.get $child
              f64.sub
              local.set $self
            else
              local.get $known
              if
                ;; the estimate: mean self time of the function's fully timed calls
                local.get $a
                f64.const 1
                f64.store offset=80
                i32.const 0
                i32.load offset=${S_PRIORS}
                local.tee $pa
                if
                  local.get $pa
                  local.get $fn
                  i32.const ${ROW}
                  i32.mul
                  i32.add
                  local.tee $pa
                  f64.load offset=56
                  local.get $a
                  f64.load offset=56
                  f64.add
                  local.set $samples
                  local.get $pa
                  f64.load offset=64
                  local.get $a
                  f64.load offset=64
                  f64.add
                  local.set $sum
                else
                  f64.const 0
                  local.get $a
                  f64.load offset=56
                  f64.add
                  local.set $samples
                  f64.const 0
                  local.get $a
                  f64.load offset=64
                  f64.add
                  local.set $sum
                end
                local.get $samples
                f64.const 0
                f64.gt
                if
                  f64.const 0
                  local.get $sum
                  local.get $samples
                  f64.div
                  f64.max
                  local.set $self
                else
                  f64.const 0
                  local.set $self
                end
                local.get $child
                local.get $self
                f64.add
                local.set $segment
                ${addF64('$a', 48, 'local.get $self')}
              else
                f64.const 0
                local.set $self
                local.get $child
                f64.const 0
                f64.add
                local.set $segment
              end
            end
            local.get $f
            f64.load offset=24
            local.get $segment
            f64.add
            local.set $frameTotal
            local.get $f
            f64.load offset=40
            local.set $est
            local.get $known
            if
              ${addF64('$a', 16, 'local.get $self')}
              local.get $a
              local.get $a
              f64.load offset=72
              f64.const 1
              f64.sub
              local.tee $open
              f64.store offset=72
              local.get $timed
              local.get $est
              f64.const 0
              f64.eq
              i32.and
              if
                ${addF64('$a', 56, 'f64.const 1')}
                ${addF64('$a', 64, `local.get $self
                f64.const ${ESTIMATE_SAMPLE_CAP_MS}
                f64.min`)}
              end
${credit ? CREDIT : ''}            end
            local.get $depth
            if
              local.get $f
              i32.const ${1 << FRAME_SHIFT}
              i32.sub
              local.set $f
              ${addF64('$f', 16, 'local.get $segment')}
              local.get $timed
              i32.eqz
              local.get $est
              f64.const 1
              f64.eq
              i32.or
              if
                local.get $f
                f64.const 1
                f64.store offset=40
              end
            end
`;
}

const CREDIT = `
              local.get $open
              f64.const 0
              f64.eq
              if
                ${addF64('$a', 8, 'local.get $frameTotal')}
              end
`;

/** $known, and the function's row $a when it is known. */
const KNOWN = `
            local.get $fn
            local.get $size
            i32.lt_u
            local.tee $known
            if
              local.get $acc
              local.get $fn
              i32.const ${ROW}
              i32.mul
              i32.add
              local.set $a
            end
`;

/** $slot = the home slot of the serial on the stack (the top bits of serial × HASH_MULTIPLIER). */
const HOME = `
            i32.const ${HASH_MULTIPLIER}
            i32.mul
            i32.const 0
            i32.load offset=${S_TABLE_SHIFT}
            i32.shr_u`;

/**
 * $e = the address of the suspended-frames table's entry for $serial, or of the empty entry
 * that ends its probe; $slot its index. Entries are 32 bytes: serial u32, live u32 (1, or 0 for
 * empty), fn u32, pad, time on the stack f64, insertion order f64. Linear probing from the
 * serial's home slot; deletion shifts entries back (no tombstones), so probes stay short however
 * often a frame is suspended and resumed.
 */
const FIND = `
            i32.const 0
            i32.load offset=${S_TABLE_MASK}
            local.set $mask
            local.get $serial
            ${HOME}
            local.set $slot
            block $found
              loop $probe
                i32.const 0
                i32.load offset=${S_TABLE}
                local.get $slot
                i32.const 5
                i32.shl
                i32.add
                local.tee $e
                i32.load offset=4
                i32.eqz
                br_if $found
                local.get $e
                i32.load offset=0
                local.get $serial
                i32.eq
                br_if $found
                local.get $slot
                i32.const 1
                i32.add
                local.get $mask
                i32.and
                local.set $slot
                br $probe
              end
            end`;

/**
 * Delete the live entry $e (slot $slot): later entries of the cluster whose home is not between
 * the hole and them move back into it, then the last hole is emptied.
 */
const DELETE = `
            local.get $slot
            local.set $hole
            block $shifted
              loop $shift
                local.get $slot
                i32.const 1
                i32.add
                local.get $mask
                i32.and
                local.tee $slot
                i32.const 5
                i32.shl
                i32.const 0
                i32.load offset=${S_TABLE}
                i32.add
                local.tee $pa
                i32.load offset=4
                i32.eqz
                br_if $shifted
                ;; stays where it is when its home is cyclically in (hole, slot]
                local.get $pa
                i32.load offset=0
                ${HOME}
                local.set $home
                local.get $hole
                local.get $slot
                i32.le_u
                if
                  local.get $hole
                  local.get $home
                  i32.lt_u
                  local.get $home
                  local.get $slot
                  i32.le_u
                  i32.and
                  br_if $shift
                else
                  local.get $hole
                  local.get $home
                  i32.lt_u
                  local.get $home
                  local.get $slot
                  i32.le_u
                  i32.or
                  br_if $shift
                end
                ;; move it into the hole
                i32.const 0
                i32.load offset=${S_TABLE}
                local.get $hole
                i32.const 5
                i32.shl
                i32.add
                local.tee $e
                local.get $pa
                i32.load offset=0
                i32.store offset=0
                local.get $e
                local.get $pa
                i32.load offset=8
                i32.store offset=8
                local.get $e
                local.get $pa
                f64.load offset=16
                f64.store offset=16
                local.get $e
                local.get $pa
                f64.load offset=24
                f64.store offset=24
                local.get $slot
                local.set $hole
                br $shift
              end
            end
            i32.const 0
            i32.load offset=${S_TABLE}
            local.get $hole
            i32.const 5
            i32.shl
            i32.add
            i32.const 0
            i32.store offset=4
            i32.const 0
            i32.const 0
            i32.load offset=${S_TABLE_USED}
            i32.const 1
            i32.sub
            i32.store offset=${S_TABLE_USED}`;

const WALK: WasmFunction = {
  name: 'walk',
  params: [
    ['$p', 'i32'],
    ['$end', 'i32'],
  ],
  result: 'i32',
  locals: [
    ['$depth', 'i32'],
    ['$maxDepth', 'i32'],
    ['$size', 'i32'],
    ['$capacity', 'i32'],
    ['$acc', 'i32'],
    ['$frames', 'i32'],
    ['$pa', 'i32'],
    ['$head', 'i32'],
    ['$kind', 'i32'],
    ['$fn', 'i32'],
    ['$known', 'i32'],
    ['$a', 'i32'],
    ['$f', 'i32'],
    ['$timed', 'i32'],
    ['$start', 'f64'],
    ['$child', 'f64'],
    ['$segment', 'f64'],
    ['$self', 'f64'],
    ['$samples', 'f64'],
    ['$sum', 'f64'],
    ['$frameTotal', 'f64'],
    ['$est', 'f64'],
    ['$open', 'f64'],
    ['$q', 'i32'],
    ['$qEnd', 'i32'],
    ['$la', 'i32'],
    ['$lb', 'i32'],
    ['$lc', 'i32'],
    ['$ld', 'i32'],
    ['$serial', 'i32'],
    ['$e', 'i32'],
    ['$mask', 'i32'],
    ['$slot', 'i32'],
    ['$hole', 'i32'],
    ['$home', 'i32'],
  ],
  body: `
    ${['$q', '$qEnd', '$la', '$lb', '$lc', '$ld']
      .map(
        (local, i) => `
    i32.const 0
    i32.load offset=${S_LANE_AT + 4 * i}
    local.set ${local}`,
      )
      .join('\n')}
    i32.const 0
    i32.load offset=${S_DEPTH}
    local.set $depth
    i32.const 0
    i32.load offset=${S_MAX_DEPTH}
    local.set $maxDepth
    i32.const 0
    i32.load offset=${S_SIZE}
    local.set $size
    i32.const 0
    i32.load offset=${S_ACC}
    local.set $acc
    i32.const 0
    i32.load offset=${S_FRAMES}
    local.set $frames
    i32.const 0
    i32.load offset=${S_CAPACITY}
    local.set $capacity
    block $out
      loop $next
        local.get $p
        local.get $end
        i32.ge_u
        br_if $out
        local.get $p
        i32.load
        local.tee $head
        i32.const 0x0fffffff
        i32.and
        local.set $fn
        local.get $head
        i32.const 28
        i32.shr_u
        i32.const 7
        i32.and
        local.set $kind
        ;; 16 bytes of the next chunk's checksum for each record walked (the two are
        ;; independent chains: the CPU overlaps them)
        local.get $q
        local.get $qEnd
        i32.lt_u
        if
          ${fnv('$la', '$q', 0)}
          ${fnv('$lb', '$q', 4)}
          ${fnv('$lc', '$q', 8)}
          ${fnv('$ld', '$q', 12)}
          local.get $q
          i32.const 16
          i32.add
          local.set $q
        end
        block $handled
          ;; ---- enter
          local.get $kind
          i32.const 1
          i32.eq
          if
            local.get $depth
            local.get $capacity
            i32.ge_u
            br_if $out ;; no room: step() grows the stack
            local.get $fn
            local.get $size
            i32.lt_u
            if
              ;; the function's row
              local.get $acc
              local.get $fn
              i32.const ${ROW}
              i32.mul
              i32.add
              local.set $a
              ${addF64('$a', 0, 'f64.const 1')}
              local.get $head
              i32.const 0
              i32.lt_s ;; the untimed bit
              if
                ${addF64('$a', 40, 'f64.const 1')}
              end
              ${addF64('$a', 72, 'f64.const 1')}
            end
            local.get $frames
            local.get $depth
            i32.const ${FRAME_SHIFT}
            i32.shl
            i32.add
            local.tee $f
            local.get $fn
            f64.convert_i32_u
            f64.store offset=0
            local.get $f
            f64.const nan
            local.get $p
            f64.load offset=8
            local.get $head
            i32.const 0
            i32.lt_s
            select
            f64.store offset=8
            local.get $f
            f64.const 0
            f64.store offset=16
            local.get $f
            f64.const 0
            f64.store offset=24
            local.get $f
            local.get $p
            i32.load offset=4
            f64.convert_i32_u
            f64.store offset=32
            local.get $f
            f64.const 0
            f64.store offset=40
            local.get $depth
            i32.const 1
            i32.add
            local.tee $depth
            local.get $maxDepth
            i32.gt_u
            if
              local.get $depth
              local.set $maxDepth
            end
            br $handled
          end
          ;; ---- exit or throw
          local.get $kind
          i32.const 2
          i32.eq
          local.get $kind
          i32.const 3
          i32.eq
          i32.or
          if
            local.get $depth
            if
              local.get $frames
              local.get $depth
              i32.const 1
              i32.sub
              i32.const ${FRAME_SHIFT}
              i32.shl
              i32.add
              local.tee $f
              f64.load offset=0
              local.get $fn
              f64.convert_i32_u
              f64.ne
              br_if $out ;; exits were lost: step() unwinds
            end
            local.get $fn
            local.get $size
            i32.lt_u
            local.tee $known
            if
              local.get $acc
              local.get $fn
              i32.const ${ROW}
              i32.mul
              i32.add
              local.set $a
            end
            local.get $kind
            i32.const 3
            i32.eq
            local.get $known
            i32.and
            if
              ${addF64('$a', 24, 'f64.const 1')}
            end
            local.get $depth
            i32.eqz
            br_if $handled ;; its enter was lost or happened before recording
            ${pop(true)}
            br $handled
          end
          ;; ---- suspend: the top frame leaves the stack until its resume (by frame serial)
          local.get $kind
          i32.const 4
          i32.eq
          if
            local.get $depth
            i32.eqz
            br_if $handled
            local.get $frames
            local.get $depth
            i32.const 1
            i32.sub
            i32.const ${FRAME_SHIFT}
            i32.shl
            i32.add
            local.tee $f
            f64.load offset=0
            local.get $fn
            f64.convert_i32_u
            f64.ne
            br_if $handled ;; not the top frame's: nothing to do
            ;; room in the table first (nothing is changed before a bail-out): at most half full
            i32.const 0
            i32.load offset=${S_TABLE_USED}
            i32.const 1
            i32.shl
            i32.const 0
            i32.load offset=${S_TABLE_MASK}
            i32.ge_u
            br_if $out ;; the table is half full: the caller grows it
            local.get $f
            f64.load offset=32
            i32.trunc_f64_u
            local.set $serial
${KNOWN}
            ${pop(false)}
            ;; suspended[serial] = { fn, acc: frameTotal }: in place if present, else appended
            ${FIND}
            local.get $e
            i32.load offset=4
            i32.const 1
            i32.ne
            if
              ;; a new entry, in the empty one that ended the probe
              i32.const 0
              i32.const 0
              i32.load offset=${S_TABLE_USED}
              i32.const 1
              i32.add
              i32.store offset=${S_TABLE_USED}
              local.get $e
              local.get $serial
              i32.store offset=0
              local.get $e
              i32.const 1
              i32.store offset=4
              local.get $e
              i32.const 0
              f64.load offset=${S_TABLE_SEQ}
              f64.store offset=24
              i32.const 0
              i32.const 0
              f64.load offset=${S_TABLE_SEQ}
              f64.const 1
              f64.add
              f64.store offset=${S_TABLE_SEQ}
            end
            local.get $e
            local.get $fn
            i32.store offset=8
            local.get $e
            local.get $frameTotal
            f64.store offset=16
            br $handled
          end
          ;; ---- resume: the frame comes back with the time it had on the stack
          local.get $kind
          i32.const 5
          i32.eq
          if
            local.get $depth
            local.get $capacity
            i32.ge_u
            br_if $out ;; no room: the caller grows the stack
            local.get $p
            i32.load offset=4
            local.set $serial
            ${FIND}
            f64.const 0
            local.set $frameTotal
            local.get $e
            i32.load offset=4
            i32.const 1
            i32.eq
            if
              local.get $e
              f64.load offset=16
              local.set $frameTotal
              ${DELETE}
            end
            local.get $fn
            local.get $size
            i32.lt_u
            if
              local.get $acc
              local.get $fn
              i32.const ${ROW}
              i32.mul
              i32.add
              local.set $a
              ${addF64('$a', 72, 'f64.const 1')}
            end
            local.get $frames
            local.get $depth
            i32.const ${FRAME_SHIFT}
            i32.shl
            i32.add
            local.tee $f
            local.get $fn
            f64.convert_i32_u
            f64.store offset=0
            local.get $f
            local.get $p
            f64.load offset=8
            f64.store offset=8
            local.get $f
            f64.const 0
            f64.store offset=16
            local.get $f
            local.get $frameTotal
            f64.store offset=24
            local.get $f
            local.get $serial
            f64.convert_i32_u
            f64.store offset=32
            local.get $f
            f64.const 0
            f64.store offset=40
            local.get $depth
            i32.const 1
            i32.add
            local.tee $depth
            local.get $maxDepth
            i32.gt_u
            if
              local.get $depth
              local.set $maxDepth
            end
            br $handled
          end
          ;; ---- dropped: step() does it
          local.get $kind
          i32.const 6
          i32.eq
          br_if $out
          ;; ---- runtime events and unknown kinds are events, not calls: nothing to do
        end
        local.get $p
        i32.const 16
        i32.add
        local.set $p
        br $next
      end
    end
    i32.const 0
    local.get $depth
    i32.store offset=${S_DEPTH}
    i32.const 0
    local.get $maxDepth
    i32.store offset=${S_MAX_DEPTH}
    ${[
      ['$q', S_LANE_AT],
      ['$la', S_LANES],
      ['$lb', S_LANES + 4],
      ['$lc', S_LANES + 8],
      ['$ld', S_LANES + 12],
    ]
      .map(
        ([local, offset]) => `
    i32.const 0
    local.get ${local}
    i32.store offset=${offset}`,
      )
      .join('\n')}
    local.get $p`,
};

interface KernelExports {
  walk(from: number, end: number): number;
  checksum(at: number, payloadBytes: number): number;
  checksumFinish(at: number): number;
}

let compiled: WasmModule | null | undefined;

/** The kernel's module, compiled once per thread; null without WebAssembly or with RECALL_SUMMARY_KERNEL=js. */
function kernelModule(): WasmModule | null {
  if (compiled !== undefined) return compiled;
  // Without WebAssembly (node --jitless) or with RECALL_SUMMARY_KERNEL=js the JavaScript loops do the same work.
  compiled = globalThis.process?.env?.['RECALL_SUMMARY_KERNEL'] === 'js' ? null : compileModule([CHECKSUM, CHECKSUM_FINISH, WALK]);
  return compiled;
}

const PAGE = 65536;

/**
 * One memory for a thread file's bytes and, when walking, the walk's state. Regions are handed
 * out by `allocate` and never freed (a Space lives for one file). Views (`u8`, `u32`, `f64`)
 * cover the whole memory and are re-made after it grows, so take them after any call that may
 * allocate.
 */
export class Space {
  private readonly memory: WasmMemory | null;
  private readonly kernel: KernelExports | null;
  private buffer: ArrayBuffer;
  private top = STATE_BYTES;
  u8!: Uint8Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  f64!: Float64Array;

  constructor(initialBytes = 0, useKernel = true) {
    const module = useKernel ? kernelModule() : null;
    const pages = Math.max(1, Math.ceil((STATE_BYTES + initialBytes) / PAGE));
    if (module) {
      const { memory, exports } = instantiate<KernelExports>(module, pages);
      this.memory = memory;
      this.kernel = exports;
      this.buffer = memory.buffer;
    } else {
      this.memory = null;
      this.kernel = null;
      this.buffer = new ArrayBuffer(pages * PAGE);
    }
    this.views();
  }

  /** Whether the WebAssembly kernel runs here (else the JavaScript loops do). */
  get wasm(): boolean {
    return this.kernel !== null;
  }

  private views(): void {
    this.u8 = new Uint8Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.i32 = new Int32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** Whether `array` views this space's memory (as it is now). */
  holds(array: ArrayBufferView): boolean {
    return array.buffer === this.buffer;
  }

  /** A new region of `bytes` bytes, 64-aligned; returns its byte address. May grow the memory. */
  allocate(bytes: number): number {
    const at = (this.top + 63) & ~63;
    const end = at + bytes;
    if (end > this.buffer.byteLength) {
      const pages = Math.ceil((Math.max(end, this.buffer.byteLength * 1.5) - this.buffer.byteLength) / PAGE);
      if (this.memory) {
        this.memory.grow(pages);
        this.buffer = this.memory.buffer;
      } else {
        const bigger = new ArrayBuffer(this.buffer.byteLength + pages * PAGE);
        new Uint8Array(bigger).set(new Uint8Array(this.buffer));
        this.buffer = bigger;
      }
      this.views();
    }
    this.top = end;
    return at;
  }

  /** The checksum of the chunk whose header is at byte `at` (payload after it); JavaScript callers use chunkChecksum. */
  checksum(at: number, payloadBytes: number): number {
    return (this.kernel as KernelExports).checksum(at, payloadBytes) >>> 0;
  }

  /**
   * Have the next walks run the checksum of the chunk whose payload is at `payloadAt` (a whole
   * number of 16-byte records), 16 bytes per record walked; checksumFinish completes it.
   */
  armChecksum(payloadAt: number, payloadBytes: number): void {
    const state = this.i32;
    state[S_LANE_AT >> 2] = payloadAt;
    state[S_LANE_END >> 2] = payloadAt + payloadBytes;
    for (let lane = 0; lane < 4; lane++) state[(S_LANES >> 2) + lane] = (FNV_OFFSET + lane) | 0;
  }

  /** The armed checksum, for the chunk whose header is at `at`; disarms. */
  checksumFinish(at: number): number {
    return (this.kernel as KernelExports).checksumFinish(at) >>> 0;
  }

  /** Run $walk from byte `from` to `end` with the state block as set; returns where it stopped. */
  walk(from: number, end: number): number {
    return (this.kernel as KernelExports).walk(from, end);
  }
}
