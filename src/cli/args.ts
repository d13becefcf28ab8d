// Command-line parsing on node:util parseArgs (strict: unknown flags are errors), turned into
// RecallErrors with one clear line each.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RecallError } from '../format/errors.js';
import { durationMs } from '../text/format.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(command: string, args: string[], options: Options, allowPositionals = true): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? 'bad arguments';
    throw new RecallError('E_USAGE', `${command}: ${message.replace(/\. To specify a positional argument.*$/, '')} (see recall ${command} --help)`);
  }
}

export function positiveInteger(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new RecallError('E_USAGE', `${command}: ${flag} takes a positive whole number, not '${value}'`);
  return n;
}

export function stringList(value: string | boolean | string[] | undefined): string[] {
  if (value === undefined || typeof value === 'boolean') return [];
  return Array.isArray(value) ? value : [value];
}


export function duration(command: string, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = durationMs(value);
  if (ms === null) throw new RecallError('E_USAGE', `${command}: ${flag} takes a duration like 50ms, 2s or 500us, not '${value}'`);
  return ms;
}
