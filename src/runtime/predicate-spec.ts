// The spec of a value predicate, `GLOB:N<op>VALUE` (`--trigger arg=`, find_calls' `where`), and
// its parser: what the command line and the query tools validate at their boundary, apart from
// its evaluation (predicates.ts), so they parse without loading the glob matcher.

export interface ArgPredicateSpec {
  /** Function-name glob. */
  fn: string;
  /** Argument index. */
  index: number;
  op: '=' | '~' | '>' | '<';
  /** Compared value: a string for ~, a number for > and <, a JSON primitive or string for =. */
  value: string | number | boolean | null;
}

/** Parse `GLOB:N~TEXT` (or =, >, <); null when it is not one. */
export function parseArgPredicate(text: string): ArgPredicateSpec | null {
  const match = /^(.+):(\d+)([=~<>])(.*)$/s.exec(text);
  if (!match) return null;
  const op = match[3] as ArgPredicateSpec['op'];
  const raw = match[4] as string;
  let value: ArgPredicateSpec['value'] = raw;
  if (op === '>' || op === '<') {
    value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) return null;
  } else if (op === '=') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed === null || typeof parsed === 'number' || typeof parsed === 'boolean' || typeof parsed === 'string') value = parsed;
    } catch {
      value = raw; // a bare word: a string
    }
  }
  return { fn: match[1] as string, index: Number(match[2]), op, value };
}
