// TEMPORARY STUB (replaced by the values branch)
export type ValueDesc = unknown;
export function renderValue(desc: ValueDesc, maxChars = 120): string { const s = typeof desc === 'string' ? `'${desc}'` : JSON.stringify(desc) ?? 'undefined'; return s.length > maxChars ? s.slice(0, maxChars - 1) + '…' : s; }
export function renderArgs(names: string[], args: ValueDesc[], maxChars = 120): string { return args.map((a, i) => (names[i] ? names[i] + '=' : '') + (a === '[redacted]' ? '[redacted]' : renderValue(a, 60))).join(', ').slice(0, maxChars); }
