// Recursion depth under recall. An instrumented function's frame holds the probe's locals and
// its try/finally, so a frame that V8 has not optimized (cold code: the interpreter and
// Sparkplug) takes about twice the stack of the same frame untraced (measured on Node 20-26:
// a cold recursive function overflows at ~5,000 frames traced against ~10,000 untraced; warm,
// optimized frames differ by under 5% on Node 24). Without more stack a deep parse or tree walk
// that works untraced would throw RangeError only under recall, so recall gives the V8 stack
// limit the same factor: `--stack-size` for each Node process it starts (the command of
// `recall run` and Node children started by the program; NODE_OPTIONS cannot carry the flag),
// and `resourceLimits.stackSizeMb` for each worker thread. A limit the program sets itself is
// scaled the same way, and the main thread's is never raised past what its OS stack allows
// (a worker's thread stack is allocated at the size asked, so it needs no cap).

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** How much more stack an instrumented cold frame takes than the untraced one (measured, rounded up). */
export const FRAME_SCALE = 2;
/** V8's default --stack-size on 64-bit (kB), the same on Node 20, 22, 24 and 26. */
const V8_DEFAULT_STACK_KB = 984;
/** Node's default worker stack (resourceLimits.stackSizeMb). */
const WORKER_DEFAULT_STACK_MB = 4;
/** Stack kept free below V8's limit for native frames (the OS stack must hold both). */
const NATIVE_HEADROOM_KB = 2048;

/** The soft RLIMIT_STACK of this process in bytes (Infinity when unlimited), from /proc; null when unknown. */
export function osStackLimitBytes(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const match = /^Max stack size\s+(\S+)/m.exec(text);
  if (!match) return null;
  if (match[1] === 'unlimited') return Infinity;
  const bytes = Number(match[1]);
  return Number.isFinite(bytes) ? bytes : null;
}

/**
 * The --stack-size (kB) recall gives a Node process whose untraced limit is `baseKb`: that times
 * FRAME_SCALE, capped so V8's limit stays inside the main thread's OS stack; null when the OS
 * stack leaves no room to raise it (then the process runs with its limit as untraced).
 */
export function scaledStackKb(baseKb = V8_DEFAULT_STACK_KB, osStackBytes: number | null = osStackLimitBytes()): number | null {
  // Unknown: Linux and macOS both default to 8 MiB for the main thread.
  const osKb = osStackBytes === null ? 8192 : osStackBytes / 1024;
  const kb = Math.floor(Math.min(baseKb * FRAME_SCALE, osKb - NATIVE_HEADROOM_KB));
  return kb > baseKb ? kb : null;
}

/** Whether a command's file is the Node.js binary (node, node24, a path to one, or this process's own). */
export function isNodeBinary(file: string): boolean {
  return file === process.execPath || /^node(?:js)?\d*(?:\.exe)?$/i.test(basename(file));
}

const STACK_SIZE_ARG = /^--stack[-_]size=(\d+)$/;
/** Node options whose value is the next argument (so it is not taken for the script). */
const OPTIONS_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-e', '--eval', '-p', '--print', '--input-type', '--env-file', '-C', '--conditions', '--title', '--watch-path', '--inspect-port', '--disable-warning']);

/** Where among Node's own options (before the script or `--`) the program gives --stack-size, or -1. */
function givenStackSize(args: readonly string[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--' || !arg.startsWith('-')) return -1;
    if (STACK_SIZE_ARG.test(arg)) return i;
    if (OPTIONS_WITH_VALUE.has(arg)) i++;
  }
  return -1;
}

/**
 * The arguments (after the binary) of a Node process to start, with its stack limit scaled:
 * the program's own --stack-size=N replaced by the scaled one, or recall's put first.
 */
export function withScaledStack(nodeArgs: readonly string[], osStackBytes: number | null = osStackLimitBytes(), own: readonly string[] = process.execArgv): string[] {
  const given = givenStackSize(nodeArgs);
  // This process's own --stack-size, handed on (fork passes process.execArgv): recall scaled it
  // already when this process started; scaling it again would double it at every generation.
  if (given >= 0 && givenStackSize(own) >= 0 && own[givenStackSize(own)] === nodeArgs[given]) return [...nodeArgs];
  const baseKb = given < 0 ? V8_DEFAULT_STACK_KB : Number(STACK_SIZE_ARG.exec(nodeArgs[given] as string)?.[1]);
  const kb = scaledStackKb(baseKb, osStackBytes);
  if (kb === null) return [...nodeArgs];
  if (given < 0) return [`--stack-size=${kb}`, ...nodeArgs];
  const args = [...nodeArgs];
  args[given] = `--stack-size=${kb}`;
  return args;
}

/** A worker's resourceLimits with its stack scaled like the main thread's. */
export function workerLimitsWithScaledStack<T extends { stackSizeMb?: number }>(limits: T | undefined): T & { stackSizeMb: number } {
  const given = limits?.stackSizeMb;
  const base = typeof given === 'number' && given > 0 ? given : WORKER_DEFAULT_STACK_MB;
  return { ...(limits as T), stackSizeMb: base * FRAME_SCALE };
}
