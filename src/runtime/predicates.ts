// Value predicates for `--trigger arg=GLOB:N<op>VALUE`: a call of a matching function whose N-th
// argument satisfies the test opens a window. Tests look only at primitives (a string contains
// or equals, a number compares), so evaluating one never runs user code (no getters, no
// coercion of objects) and costs a few comparisons per call of an armed function.

import picomatch from 'picomatch';
import type { ArgPredicateSpec } from './predicate-spec.js';

export type ArgTest = (args: ArrayLike<unknown>) => boolean;

/** The predicates that apply to a function named `name`, combined (any of them), or null. */
export function argTestFor(name: string, specs: readonly ArgPredicateSpec[]): ArgTest | null {
  const tests: ArgTest[] = [];
  for (const spec of specs) {
    const short = name.slice(name.lastIndexOf('.') + 1);
    const matches = picomatch(spec.fn);
    if (!matches(name) && !matches(short)) continue;
    const { index, op, value } = spec;
    tests.push((args) => {
      if (index >= args.length) return false;
      const arg = args[index];
      switch (op) {
        case '=':
          return arg === value;
        case '~':
          return typeof arg === 'string' && arg.includes(String(value));
        case '>':
          return typeof arg === 'number' && arg > (value as number);
        case '<':
          return typeof arg === 'number' && arg < (value as number);
      }
    });
  }
  if (tests.length === 0) return null;
  return (args) => tests.some((t) => t(args));
}
