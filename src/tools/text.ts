// Short human wording shared by the tools' answers: times, counts, a function's place in the
// source, a call's arguments and an error's one-line form. Tuned for tokens: an agent reads
// every character of these.

import { relative } from 'node:path';
import type { FunctionEntry } from '../format/manifest.js';
import { renderArgs, renderValue, type ValueDesc } from '../format/values.js';
import { durationMs, formatCount, formatNs } from '../text/format.js';
export { errorLine } from '../text/values.js';

export { formatCount };

/** A duration, or '?' when not known (a --timing none trace, an unfinished call). */
export function dur(ns: number | null | undefined): string {
  return ns === null || ns === undefined || Number.isNaN(ns) ? '?' : formatNs(ns);
}

/** A time since the trace began: "@12.5 ms" (empty without times). */
export function at(ns: number | null | undefined): string {
  return ns === null || ns === undefined || Number.isNaN(ns) ? '' : `@${formatNs(ns)}`;
}

/** file:line relative to the traced program's directory. */
export function whereOf(entry: FunctionEntry | undefined, cwd: string): string {
  if (!entry || !entry.file) return '';
  const file = cwd && entry.file.startsWith(cwd + '/') ? relative(cwd, entry.file) : entry.file;
  return `${file}:${entry.line}`;
}

/** `name(a=1, b='x')` when arguments are known, else `name`. */
export function signature(name: string, entry: FunctionEntry | undefined, args: ValueDesc[] | null | undefined, maxChars = 80): string {
  if (!args) return name;
  return `${name}(${renderArgs(entry?.params ?? [], args, maxChars)})`;
}

export function value(desc: ValueDesc, maxChars = 80): string {
  return renderValue(desc, maxChars);
}

/** A duration ("5ms", "1.5s", "200us", "300ns", or a number of ms) in ns; null when not one. */
export function parseDuration(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) ? text * 1e6 : null;
  const ms = durationMs(text);
  return ms === null ? null : ms * 1e6;
}
