// How the query views (tree, stack, exceptions) show a call: name with its arguments where the
// detail lane recorded them, where it is defined, how long it took, how it ended; and the same
// as JSON. Values are elided to fit a terminal line; JSON keeps what was recorded.

import { relative } from 'node:path';
import type { ValueDesc } from '../format/values.js';
import { renderArgs, renderValue } from '../format/values.js';
import type { FunctionEntry } from '../format/manifest.js';
import { argumentsOf, returnOf, type Call } from '../analysis/calls.js';
import { hasTimes, type Trace } from '../analysis/trace.js';
import { formatNs } from '../text/format.js';

export function functionOf(trace: Trace, fn: number): FunctionEntry | undefined {
  return trace.functions.get(fn);
}

/** file:line of a function, relative to the traced program's directory. */
export function whereOf(trace: Trace, fn: number): string {
  const entry = trace.functions.get(fn);
  if (!entry || !entry.file) return '';
  const cwd = trace.manifest.cwd;
  const file = cwd && entry.file.startsWith(cwd) ? relative(cwd, entry.file) : entry.file;
  return `${file}:${entry.line}`;
}

export function durationOf(call: Call): number | null {
  return call.exitNs === null ? null : call.exitNs - call.enterNs;
}

/** `name(a=1, b='x')` when arguments were recorded, else `name`. */
export function callSignature(trace: Trace, call: Call, maxChars = 100): string {
  const snapshot = argumentsOf(call);
  if (!snapshot) return call.name;
  const params = trace.functions.get(call.fn)?.params ?? [];
  return `${call.name}(${renderArgs(params, snapshot.body.args as ValueDesc[], maxChars)})`;
}

/** One line for a call: signature, duration, outcome, return value, location. */
export function callLine(trace: Trace, call: Call, maxChars = 100): string {
  const parts = [callSignature(trace, call, maxChars)];
  const duration = durationOf(call);
  if (call.outcome === 'dropped') parts.push('(end lost: events were dropped)');
  else if (duration === null) parts.push(call.openUntilNs !== null && hasTimes(trace) ? `(unfinished, ${formatNs(call.openUntilNs - call.enterNs)} on record)` : '(unfinished)');
  else if (hasTimes(trace)) parts.push(call.timed ? formatNs(duration) : `~${formatNs(duration)}`);
  if (call.outcome === 'throw') parts.push('✗ threw');
  else if (call.outcome === 'lost-exit') parts.push('(exit lost: ended with its caller)');
  const ret = returnOf(call);
  if (ret !== undefined) parts.push(`→ ${renderValue(ret, 60)}`);
  const awaits = call.awaits ?? call.hops.length;
  if (awaits > 0) parts.push(`${awaits} await${awaits === 1 ? '' : 's'}`);
  const where = whereOf(trace, call.fn);
  if (where) parts.push(where);
  return parts.join('  ');
}

/** A short rendering of an exception value: `TypeError: message`. */
export function errorText(error: ValueDesc | null): string {
  if (error === null || error === undefined) return '(error value not recorded)';
  const e = error as { $?: string; name?: unknown; class?: unknown; message?: unknown };
  if (e.$ === 'error') return `${String(e.name ?? e.class ?? 'Error')}: ${typeof e.message === 'string' ? e.message : renderValue(e.message as ValueDesc, 200)}`;
  return `thrown value ${renderValue(error, 200)}`;
}

export interface CallJson {
  fn: number;
  name: string;
  file: string;
  line: number;
  column: number;
  enterNs: number;
  exitNs: number | null;
  durationNs: number | null;
  timed: boolean;
  outcome: Call['outcome'];
  /** Unfinished: its enter to the thread's last event (the time the summary credits it). */
  openUntilNs?: number;
  async: boolean;
  awaits: { suspendNs: number; resumeNs: number | null }[];
  params: string[];
  args: ValueDesc[] | null;
  this?: ValueDesc;
  ret?: ValueDesc;
  enterEvent: number;
}

export function callJson(trace: Trace, call: Call): CallJson {
  const entry = trace.functions.get(call.fn);
  const snapshot = argumentsOf(call);
  const json: CallJson = {
    fn: call.fn,
    name: call.name,
    file: entry?.file ?? '',
    line: entry?.line ?? 0,
    column: entry?.column ?? 0,
    enterNs: call.enterNs,
    exitNs: call.exitNs,
    durationNs: durationOf(call),
    timed: call.timed,
    outcome: call.outcome,
    async: call.frame !== 0,
    awaits: call.hops,
    params: entry?.params ?? [],
    args: snapshot ? (snapshot.body.args as ValueDesc[]) : null,
    enterEvent: call.enterEvent,
  };
  if (call.openUntilNs !== null) json.openUntilNs = call.openUntilNs;
  if (snapshot && snapshot.body.this !== undefined) json.this = snapshot.body.this as ValueDesc;
  const ret = returnOf(call);
  if (ret !== undefined) json.ret = ret;
  return json;
}
