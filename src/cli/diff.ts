// `recall diff <base> <trace> [--format text|json] [--top N]`: what changed between two
// recordings of a program — functions whose calls, self time or throws changed, functions new
// or gone (matched by name and file), and exceptions new in the second. Counts are exact (from
// the two traces' indexes); times are as recorded. The answer of recall_diff, in full.

import { RecallError } from '../format/errors.js';
import { diffTraces, type DiffRow } from '../tools/diff.js';
import { allExceptions, type NumberedException } from '../tools/exceptions.js';
import { errorLine } from '../tools/text.js';
import { TraceStore } from '../tools/traces.js';
import { formatCount, formatNs, table } from '../text/format.js';
import { parse, positiveInteger } from './args.js';
import { formatOption, printJson } from './view-common.js';
import { resolve } from 'node:path';

export const DIFF_HELP = `usage: recall diff <base> <trace> [--format text|json] [--top N]

What changed from one recording (base) to another: per function (matched by name and file) the
calls, self time and throws before and after, functions new or gone, and new exceptions.
Bisecting a regression: record the good and the bad run, then diff them.

options:
  --format F  text (default) or json
  --top N     functions shown in text (default 30; JSON has all)
`;

const OPTIONS = {
  format: { type: 'string' },
  top: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function signed(n: number, unit: (n: number) => string): string {
  return n === 0 ? '0' : `${n > 0 ? '+' : '−'}${unit(Math.abs(n))}`;
}

/** Exceptions of the trace whose error and thrower the base never had. */
function newExceptions(base: NumberedException[], trace: NumberedException[]): NumberedException[] {
  const key = (x: NumberedException) => `${errorLine(x.exception.error)}|${x.exception.frames[0]?.name ?? ''}`;
  const seen = new Set(base.map(key));
  const out: NumberedException[] = [];
  const shown = new Set<string>();
  for (const x of trace) {
    const k = key(x);
    if (seen.has(k) || shown.has(k)) continue;
    shown.add(k);
    out.push(x);
  }
  return out;
}

export function diffCommand(args: string[]): number {
  const { values, positionals } = parse('diff', args, OPTIONS);
  if (values.help) {
    process.stdout.write(DIFF_HELP);
    return 0;
  }
  const format = formatOption('diff', values.format);
  if (positionals.length !== 2) throw new RecallError('E_USAGE', `diff: give two traces, the base and the one to compare (recall diff --help), not ${positionals.length}`);
  const top = positiveInteger('diff', '--top', values.top as string | undefined, 30);
  const store = new TraceStore('/');
  try {
    const baseDir = store.resolve(resolve(positionals[0]!));
    const dir = store.resolve(resolve(positionals[1]!));
    const { rows, times, calls } = diffTraces({ store }, baseDir, dir);
    const exceptions = newExceptions(allExceptions({ store }, baseDir), allExceptions({ store }, dir));
    if (format === 'json') {
      printJson({
        base: baseDir,
        trace: dir,
        calls: { before: calls[0], after: calls[1] },
        functions: rows.map((r: DiffRow) => ({ name: r.name, file: r.file, line: r.line, only: r.only, before: { calls: r.before.calls, selfNs: times ? r.before.selfNs : null, throws: r.before.throws }, after: { calls: r.after.calls, selfNs: times ? r.after.selfNs : null, throws: r.after.throws } })),
        newExceptions: exceptions.map((x) => ({ id: x.id, error: errorLine(x.exception.error), thrownIn: x.exception.frames[0]?.name ?? null, outcome: x.exception.outcome })),
      });
      return 0;
    }
    const out = [`recall diff · ${baseDir} → ${dir}`, `calls ${formatCount(calls[0])} → ${formatCount(calls[1])} · ${formatCount(rows.length)} function${rows.length === 1 ? "" : "s"} changed, ${rows.filter((r) => r.only === 'trace').length} new, ${rows.filter((r) => r.only === 'base').length} gone`, ''];
    if (rows.length === 0) out.push('no function changed in calls, throws' + (times ? ' or self time' : ''));
    else {
      const shown = rows.slice(0, top);
      out.push(
        table(
          [
            { title: 'function', align: 'left', shrink: true },
            { title: 'calls before', align: 'right' },
            { title: 'after', align: 'right' },
            { title: 'change', align: 'right' },
            ...(times ? [{ title: 'self before', align: 'right' } as const, { title: 'after', align: 'right' } as const] : []),
            { title: 'where', align: 'left', shrink: true, keepEnd: true },
          ],
          shown.map((r) => [
            `${r.name}${r.only === 'trace' ? ' (new)' : r.only === 'base' ? ' (gone)' : ''}${r.dThrows !== 0 ? ` throws ${r.before.throws}→${r.after.throws}` : ''}`,
            formatCount(r.before.calls),
            formatCount(r.after.calls),
            signed(r.dCalls, formatCount),
            ...(times ? [formatNs(r.before.selfNs), formatNs(r.after.selfNs)] : []),
            r.where,
          ]),
        ),
      );
      if (rows.length > shown.length) out.push(`… ${formatCount(rows.length - shown.length)} more (--top N)`);
    }
    if (exceptions.length > 0) {
      out.push('', `new exceptions (${exceptions.length}):`);
      for (const x of exceptions.slice(0, 10)) out.push(`  ${errorLine(x.exception.error)}  thrown in ${x.exception.frames[0]?.name ?? 'untraced code'}  (recall exceptions ${dir}: ${x.id})`);
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    store.close();
  }
}
