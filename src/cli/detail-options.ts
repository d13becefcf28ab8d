// The detail-lane flags of `recall run`: --trigger, --capture, --pre-roll, --post-roll,
// --post-calls, --redact, --no-redact, --detail-limits, --max-windows, --no-detail. Turns them
// into the DetailConfig the traced process gets, with one clear error line for a bad value.

import { RecallError } from '../format/errors.js';
import {
  DEFAULT_DETAIL_RING_BYTES,
  DEFAULT_MAX_WINDOWS_PER_SECOND,
  DEFAULT_POST_ROLL_CALLS,
  DEFAULT_POST_ROLL_MS,
  DEFAULT_PRE_ROLL_MS,
  DEFAULT_SLOW_MS,
  type DetailConfig,
} from '../runtime/config.js';
import { DEFAULT_SNAPSHOT_LIMITS, type SnapshotLimits } from '../runtime/config.js';
import { parseArgPredicate, type ArgPredicateSpec } from '../runtime/predicate-spec.js';
import { duration, positiveInteger, stringList, type Options, type Parsed } from './args.js';
import { durationMs } from '../text/format.js';

export const DETAIL_OPTIONS = {
  trigger: { type: 'string', multiple: true },
  capture: { type: 'string', multiple: true },
  'pre-roll': { type: 'string' },
  'post-roll': { type: 'string' },
  'post-calls': { type: 'string' },
  redact: { type: 'string', multiple: true },
  'no-redact': { type: 'boolean' },
  'detail-limits': { type: 'string' },
  'max-windows': { type: 'string' },
  'no-detail': { type: 'boolean' },
} as const satisfies Options;

export const DETAIL_HELP = `detail lane (values around the moments that matter):
  --trigger SPEC      what persists a window of values; repeatable. SPEC is one of
                      throw (default), slow=DURATION (default slow=${DEFAULT_SLOW_MS}ms),
                      fn=GLOB (every call of matching functions), mark (recall.mark()),
                      arg=GLOB:N~TEXT (argument N contains TEXT; also =VALUE, >NUM, <NUM),
                      no-throw, no-slow, none (start from no triggers)
  --capture GLOB      capture the arguments of matching functions on every call into
                      the flight ring (persisted only inside windows: pre-roll material)
  --pre-roll D        persist captured values from D before a trigger (default ${DEFAULT_PRE_ROLL_MS}ms)
  --post-roll D       keep capturing every call's values for D after it (default ${DEFAULT_POST_ROLL_MS}ms)
  --post-calls N      ...or for N calls, whichever ends first (default ${DEFAULT_POST_ROLL_CALLS})
  --redact KEY        also redact values under keys containing KEY (repeatable)
  --no-redact         do not redact secrets (password, token, cookie, ... by default)
  --detail-limits L   snapshot bounds, e.g. depth=4,keys=32,items=32,string=256,bytes=4096
  --max-windows N     new windows per second per thread, at most (default ${DEFAULT_MAX_WINDOWS_PER_SECOND})
  --no-detail         no detail lane (exceptions still show where they were caught)
`;

function limits(text: string | undefined): SnapshotLimits {
  const result: SnapshotLimits = { ...DEFAULT_SNAPSHOT_LIMITS };
  if (text === undefined) return result;
  for (const part of text.split(',')) {
    const [key, value] = part.split('=');
    const n = Number(value);
    if (key === undefined || !(key in result) || !Number.isInteger(n) || n <= 0) {
      throw new RecallError('E_USAGE', `run: --detail-limits takes depth=N,keys=N,items=N,string=N,bytes=N, not '${part}'`);
    }
    result[key as keyof SnapshotLimits] = n;
  }
  return result;
}

export function detailConfig(values: Parsed['values']): DetailConfig | null {
  if (values['no-detail'] === true) return null;
  let onThrow = true;
  let slowMs: number | null = DEFAULT_SLOW_MS;
  let onMark = false;
  const fn: string[] = [];
  const args: ArgPredicateSpec[] = [];
  for (const spec of stringList(values.trigger)) {
    const [kind, ...rest] = spec.split('=');
    const arg = rest.join('=');
    if (spec === 'none') {
      onThrow = false;
      slowMs = null;
      onMark = false;
      fn.length = 0;
      args.length = 0;
    } else if (spec === 'throw') onThrow = true;
    else if (spec === 'no-throw') onThrow = false;
    else if (spec === 'no-slow') slowMs = null;
    else if (spec === 'mark') onMark = true;
    else if (kind === 'slow' && arg !== '') {
      const ms = durationMs(arg);
      if (ms === null) throw new RecallError('E_USAGE', `run: --trigger slow= takes a duration like 50ms, not '${arg}'`);
      slowMs = ms;
    } else if (kind === 'fn' && arg !== '') fn.push(arg);
    else if (kind === 'arg') {
      const predicate = parseArgPredicate(arg);
      if (predicate === null) throw new RecallError('E_USAGE', `run: --trigger arg= takes GLOB:N~TEXT, GLOB:N=VALUE, GLOB:N>NUM or GLOB:N<NUM, not '${arg}'`);
      args.push(predicate);
    }
    else {
      throw new RecallError('E_USAGE', `run: unknown --trigger '${spec}'; use throw, slow=50ms, fn=GLOB, arg=GLOB:N~TEXT, mark, no-throw, no-slow or none`);
    }
  }
  return {
    onThrow,
    slowMs,
    fn,
    args,
    onMark,
    capture: stringList(values.capture),
    preRollMs: duration('run', '--pre-roll', values['pre-roll'] as string | undefined, DEFAULT_PRE_ROLL_MS),
    postRollMs: duration('run', '--post-roll', values['post-roll'] as string | undefined, DEFAULT_POST_ROLL_MS),
    postRollCalls: positiveInteger('run', '--post-calls', values['post-calls'] as string | undefined, DEFAULT_POST_ROLL_CALLS),
    limits: limits(values['detail-limits'] as string | undefined),
    redact: { enabled: values['no-redact'] !== true, keys: stringList(values.redact) },
    ringBytes: DEFAULT_DETAIL_RING_BYTES,
    maxWindowsPerSecond: positiveInteger('run', '--max-windows', values['max-windows'] as string | undefined, DEFAULT_MAX_WINDOWS_PER_SECOND),
  };
}
