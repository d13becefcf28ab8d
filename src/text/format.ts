// Human wording shared by the CLI views and the query tools: counts with separators, byte
// sizes, durations (printed and parsed), aligned tables that fit an 80-column terminal, CSV
// quoting, and command lines shortened for table cells.

import { basename, isAbsolute, relative } from 'node:path';

/** A count with thousands separators (1,234,567). By hand: Number#toLocaleString's first call loads ICU data (~25 ms of a CLI command). */
export function formatCount(n: number): string {
  const rounded = Math.round(n);
  if (!Number.isFinite(rounded) || Math.abs(rounded) >= 1e21) return rounded.toLocaleString('en-US');
  const digits = String(Math.abs(rounded));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += ',' + digits.slice(i, i + 3);
  return rounded < 0 ? '-' + out : out;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(2)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(ns >= 1e8 ? 0 : 1)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(ns >= 1e5 ? 0 : 1)} µs`;
  return `${Math.round(ns)} ns`;
}

export interface Column {
  title: string;
  align: 'left' | 'right';
  /** Columns that may shrink (with an ellipsis) to keep the table within the width. */
  shrink?: boolean;
  /** Cut a shrunk cell at its start instead of its end (paths: the file name matters most). */
  keepEnd?: boolean;
}

function fit(text: string, width: number, keepEnd: boolean): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return keepEnd ? '…' + text.slice(text.length - width + 1) : text.slice(0, width - 1) + '…';
}

const MIN_SHRUNK_WIDTH = 12;

/** Render rows as an aligned table no wider than `width`; shrinkable columns share the cut. */
export function table(columns: Column[], rows: string[][], width = 80): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  // Take one character at a time from the widest shrinkable column until the table fits.
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      if (!columns[i]?.shrink || (widths[i] as number) <= MIN_SHRUNK_WIDTH) continue;
      if (widest < 0 || (widths[i] as number) > (widths[widest] as number)) widest = i;
    }
    if (widest < 0) break;
    widths[widest] = (widths[widest] as number) - 1;
  }
  const render = (cells: string[]): string =>
    cells
      .map((cell, i) => {
        const w = widths[i] as number;
        const text = fit(cell, w, columns[i]?.keepEnd === true);
        return columns[i]?.align === 'right' ? text.padStart(w) : text.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.title)), ...rows.map(render)].join('\n');
}

export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A command line for a table cell: the program by its base name, paths under cwd relative to it. */
export function displayCommand(command: readonly string[], cwd: string): string {
  return command
    .map((arg, i) => {
      if (i === 0 && isAbsolute(arg)) return basename(arg);
      if (!isAbsolute(arg)) return arg;
      const rel = relative(cwd, arg);
      return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : arg;
    })
    .join(' ');
}

export { durationMs, sizeBytes } from '../format/units.js';
