// Following child processes: every process the traced program starts gets recall's session in
// its environment (RECALL_CONFIG marking it as a child, and the preload in NODE_OPTIONS), so a
// Node.js child records into the same trace directory, and a child of any other program passes
// the variables on to the Node.js processes it starts. The program's own process.env stays as it
// would be untraced; the variables are added where every child's environment is built:
//
// - ChildProcess.prototype.spawn, the one funnel of spawn, fork, exec and execFile (its
//   options.envPairs is the child's environment, built from options.env or process.env);
// - the spawn_sync binding's spawn, the one funnel of spawnSync, execSync and execFileSync
//   (same options shape). Where that binding cannot be reached (process.binding gone or denied),
//   the exported spawnSync, execSync and execFileSync are wrapped instead.
//
// A variable the program set itself is kept: RECALL_CONFIG is added only when missing, and
// recall's NODE_OPTIONS part is put before the program's NODE_OPTIONS. A Node child's stack limit
// is scaled as recall run scales its command's (stack-limit.ts). Argv, stdio and options are
// otherwise passed through untouched. Each start is recorded in the starting thread as an
// EXT_SPAWN runtime event whose aux is the child's pid.

import { createRequire, syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';
import { EXT_SPAWN } from '../format/layout.js';
import { CONFIG_ENV } from './config.js';
import { isNodeBinary, withScaledStack } from './stack-limit.js';
import type { Probes } from './recorder.js';

export interface ChildSession {
  /** RECALL_CONFIG for children of this process. */
  config: string;
  /** recall's NODE_OPTIONS part (--require of the preload, --enable-source-maps). */
  nodeOptions: string;
  /** False once this process stopped recording: children started after that run untraced. */
  active(): boolean;
}

type Global = typeof globalThis & { __recall?: Probes };

const PATCHED = Symbol.for('recall:follow');

/** An environment as "KEY=value" strings (what the spawn funnels take) with the session added. */
export function envPairsWithSession(envPairs: readonly string[], child: Pick<ChildSession, 'config' | 'nodeOptions'>): string[] {
  const pairs = [...envPairs];
  if (!pairs.some((pair) => pair.startsWith(`${CONFIG_ENV}=`))) pairs.push(`${CONFIG_ENV}=${child.config}`);
  const at = pairs.findIndex((pair) => pair.startsWith('NODE_OPTIONS='));
  if (at < 0) {
    pairs.push(`NODE_OPTIONS=${child.nodeOptions}`);
  } else {
    const current = (pairs[at] as string).slice('NODE_OPTIONS='.length);
    // First, as recall run puts it: before the program's own preloads, so they are instrumented.
    if (!current.includes(child.nodeOptions)) pairs[at] = `NODE_OPTIONS=${child.nodeOptions}${current.trim() ? ` ${current.trim()}` : ''}`;
  }
  return pairs;
}

/** The same for an env object (the fallback path): a copy with the session added. */
export function envWithSession(env: Record<string, string | undefined>, child: Pick<ChildSession, 'config' | 'nodeOptions'>): Record<string, string | undefined> {
  const pairs = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${value}`);
  const out: Record<string, string | undefined> = { ...env };
  for (const pair of envPairsWithSession(pairs, child)) {
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The spawn event, with a note naming the program's file (not its arguments: they may hold secrets). */
function recordSpawn(pid: unknown, file?: unknown): void {
  if (typeof pid !== 'number' || pid <= 0) return;
  const probes = (globalThis as Global).__recall;
  if (probes === undefined) return;
  probes.extNote(EXT_SPAWN, pid, { event: 'spawn', pid, file: typeof file === 'string' ? basename(file) : '' });
}

interface SpawnOptionsLike {
  envPairs?: unknown;
  file?: unknown;
  /** argv, the program's name first. */
  args?: unknown;
}

function addToOptions(options: unknown, child: ChildSession): void {
  if (!child.active() || typeof options !== 'object' || options === null) return;
  const o = options as SpawnOptionsLike;
  if (Array.isArray(o.envPairs)) o.envPairs = envPairsWithSession(o.envPairs as string[], child);
  // A Node child gets the scaled stack limit its instrumented frames need (stack-limit.ts).
  if (typeof o.file === 'string' && isNodeBinary(o.file) && Array.isArray(o.args) && o.args.length > 0 && o.args.every((arg) => typeof arg === 'string')) {
    const [argv0, ...rest] = o.args as string[];
    o.args = [argv0, ...withScaledStack(rest)];
  }
}

type Patchable = ((...args: never[]) => unknown) & { [PATCHED]?: true };

function isPatched(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as Patchable)[PATCHED] === true;
}

function mark<T extends object>(fn: T, like: { name: string; length: number }): T {
  Object.defineProperty(fn, 'name', { value: like.name, configurable: true });
  Object.defineProperty(fn, 'length', { value: like.length, configurable: true });
  Object.defineProperty(fn, PATCHED, { value: true });
  return fn;
}

/** ChildProcess.prototype.spawn: spawn, fork, exec and execFile all end here. */
function patchAsync(cp: typeof import('node:child_process'), child: ChildSession): void {
  const proto = cp.ChildProcess.prototype as unknown as { spawn: (this: { pid?: number; spawnfile?: unknown }, options: unknown) => unknown };
  const original = proto.spawn;
  if (typeof original !== 'function' || isPatched(original)) return;
  proto.spawn = mark(function spawn(this: { pid?: number; spawnfile?: unknown }, options: unknown): unknown {
    addToOptions(options, child);
    const result = original.call(this, options);
    recordSpawn(this.pid, this.spawnfile);
    return result;
  }, original);
}

interface SpawnSyncBinding {
  spawn: (options: unknown) => unknown;
}

/** The spawn_sync binding, reached without the warning --pending-deprecation gives process.binding. */
function spawnSyncBinding(): SpawnSyncBinding | null {
  const binding = (process as unknown as { binding?: (name: string) => unknown }).binding;
  if (typeof binding !== 'function') return null;
  const own = Object.prototype.hasOwnProperty.call(process, 'noDeprecation');
  const quiet = process.noDeprecation;
  try {
    process.noDeprecation = true;
    const value = binding.call(process, 'spawn_sync') as Partial<SpawnSyncBinding> | null;
    return value && typeof value.spawn === 'function' ? (value as SpawnSyncBinding) : null;
  } catch {
    return null; // denied (permission model) or removed
  } finally {
    if (own) process.noDeprecation = quiet;
    else delete (process as { noDeprecation?: boolean }).noDeprecation;
  }
}

/** spawnSync, execSync and execFileSync all end in the spawn_sync binding's spawn. */
function patchSyncBinding(binding: SpawnSyncBinding, child: ChildSession): void {
  const original = binding.spawn;
  if (isPatched(original)) return;
  binding.spawn = mark(function spawn(this: unknown, options: unknown): unknown {
    addToOptions(options, child);
    const result = original.call(this, options);
    if (typeof result === 'object' && result !== null) recordSpawn((result as { pid?: unknown }).pid, (options as { file?: unknown } | null)?.file);
    return result;
  }, original);
}

type SyncExports = Record<'spawnSync' | 'execSync' | 'execFileSync', (...args: unknown[]) => unknown>;

/** Where a call's options object is: execSync(command, options); spawnSync / execFileSync(file, args?, options?). */
function optionsIndex(name: keyof SyncExports, args: readonly unknown[]): number {
  if (name === 'execSync') return 1;
  const second = args[1];
  return second !== null && typeof second === 'object' && !Array.isArray(second) ? 1 : 2;
}

/**
 * The fallback: wrap the exported synchronous functions (the ones the program can call) so
 * their options carry an env with the session. Their internal calls bypass the exports, so
 * each of the three is wrapped.
 */
export function wrapSyncExports(exports: SyncExports, child: ChildSession): void {
  for (const name of ['spawnSync', 'execSync', 'execFileSync'] as const) {
    const original = exports[name];
    if (typeof original !== 'function' || isPatched(original)) continue;
    exports[name] = mark(function (this: unknown, ...args: unknown[]): unknown {
      if (child.active()) {
        const at = optionsIndex(name, args);
        while (args.length < at) args.push(undefined);
        const given = args[at];
        const options = given !== null && typeof given === 'object' ? (given as { env?: Record<string, string | undefined> }) : {};
        args[at] = { ...options, env: envWithSession(options.env ?? process.env, child) };
      }
      const result = original.apply(this, args);
      if (name === 'spawnSync' && typeof result === 'object' && result !== null) recordSpawn((result as { pid?: unknown }).pid);
      return result;
    }, original);
  }
}

/** Give every child process this thread starts the session (idempotent per thread). */
export function installFollow(child: ChildSession): void {
  const require = createRequire(import.meta.url);
  const cp = require('node:child_process') as typeof import('node:child_process');
  patchAsync(cp, child);
  const binding = spawnSyncBinding();
  if (binding) {
    patchSyncBinding(binding, child);
  } else {
    wrapSyncExports(cp as unknown as SyncExports, child);
    syncBuiltinESMExports();
  }
}
