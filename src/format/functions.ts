// The function table. Each traced thread appends one JSON line per instrumented module it loads
// to functions.jsonl ({base, thread, file, fns: [[name, line, column, kind, params], ...]}); function id
// = base + index. This turns those lines into entries, tolerating a torn last line (a process
// killed mid-write) and skipping lines that do not parse.

import type { FunctionEntry } from './manifest.js';

export interface FunctionTableParse {
  functions: FunctionEntry[];
  badLines: number;
}

export function parseFunctionsJsonl(text: string): FunctionTableParse {
  const functions: FunctionEntry[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      badLines++;
      continue;
    }
    const entry = parsed as { base?: unknown; file?: unknown; fns?: unknown };
    if (typeof entry.base !== 'number' || typeof entry.file !== 'string' || !Array.isArray(entry.fns)) {
      badLines++;
      continue;
    }
    entry.fns.forEach((fn: unknown, index: number) => {
      if (!Array.isArray(fn)) return;
      const [name, line, column, kind, params] = fn as [unknown, unknown, unknown, unknown, unknown];
      functions.push({
        id: (entry.base as number) + index,
        name: String(name),
        file: entry.file as string,
        line: Number(line) || 0,
        column: Number(column) || 0,
        kind: String(kind ?? 'function'),
        ...(Array.isArray(params) ? { params: params.map(String) } : {}),
      });
    });
  }
  functions.sort((a, b) => a.id - b.id);
  return { functions, badLines };
}
