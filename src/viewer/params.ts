// The viewer API's request parameters: required and numeric query parameters, thread indexes,
// the process a function id is of, and numbers as JSON gives them (NaN, an unknown time, as null). Errors are RecallErrors
// (E_USAGE), which the server answers with 400 and one line.

import { RecallError } from '../format/errors.js';
import type { ActivationAxis } from '../query/engine.js';

export type Params = URLSearchParams;

export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') throw new RecallError('E_USAGE', `missing parameter '${name}'`);
  return value;
}

export function numberParam(params: Params, name: string, fallback?: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') {
    if (fallback === undefined) throw new RecallError('E_USAGE', `missing parameter '${name}'`);
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new RecallError('E_USAGE', `parameter '${name}' must be a number, not '${raw}'`);
  return n;
}

/** One of `count` threads (the viewer's numbering over every process). */
export function threadParam(count: number, params: Params, name = 'thread'): number {
  const t = numberParam(params, name, 0);
  if (!Number.isInteger(t) || t < 0 || t >= count) throw new RecallError('E_USAGE', `no thread ${t}: threads are 0-${count - 1}`);
  return t;
}

/** The `process` parameter: a pid, or undefined (the viewer's first process). */
export function processParam(params: Params): number | undefined {
  if (!params.has('process') || params.get('process') === '') return undefined;
  const pid = numberParam(params, 'process');
  if (!Number.isInteger(pid) || pid <= 0) throw new RecallError('E_USAGE', `parameter 'process' must be a pid, not '${params.get('process')}'`);
  return pid;
}

/** A number for JSON: NaN (no times) or null as null. */
export function nullable(n: number | null): number | null {
  return n === null || Number.isNaN(n) ? null : n;
}

/** The timeline's axis: time (default), or events (record positions: the sequential layout). */
export function axisParam(params: Params): ActivationAxis {
  const axis = params.get('axis') ?? 'time';
  if (axis !== 'time' && axis !== 'events') throw new RecallError('E_USAGE', `parameter 'axis' must be time or events, not '${axis}'`);
  return axis;
}
