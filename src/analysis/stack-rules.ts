// The rules every stack machine of recall follows when it rebuilds call stacks from index-lane
// records (docs/FORMAT.md): the summary's walk (walk.ts and its WebAssembly twin in kernel.ts)
// and the query engine's machine (src/query/machine.ts). One set of rules, so every view
// agrees with the summary:
//
// - enter: push a frame (its serial is the enter record's aux).
// - exit / throw of fn: close the innermost open frame of fn. Frames above it lost their exit
//   records: they are closed at the same moment, as returned. With no open frame of fn (its
//   enter was lost to drops or came before recording), the record changes no frame.
// - suspend of fn: only when fn's frame is on top; the frame leaves the stack, kept by serial.
// - resume: push a frame; it continues the suspended frame of that serial when there is one,
//   else it is a call of its own.
// - dropped marker: the stack is unknown across the gap: every open frame is forgotten (no
//   time credited, not unfinished). Suspended frames are kept.
// - end of the thread: frames still open end at the thread's last event, unfinished; frames
//   still suspended are unfinished.
// No Node-only imports.

/**
 * Where an exit or throw of `fn` closes: the level of the innermost open frame of `fn`, or -1
 * (no frame of fn is open: the record changes nothing). `frames` holds `depth` frames of
 * `stride` slots each, the function id at slot `fnSlot`.
 */
export function exitLevel(frames: ArrayLike<number>, stride: number, fnSlot: number, depth: number, fn: number): number {
  let level = depth - 1;
  while (level >= 0 && frames[level * stride + fnSlot] !== fn) level--;
  return level;
}

/** Whether a suspend of `fn` applies: only to the frame on top, and only when it is fn's. */
export function suspendApplies(frames: ArrayLike<number>, stride: number, fnSlot: number, depth: number, fn: number): boolean {
  return depth > 0 && frames[(depth - 1) * stride + fnSlot] === fn;
}
