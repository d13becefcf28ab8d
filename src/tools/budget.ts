// Answers rendered to a token budget. A tool builds a Doc: head lines that say what the answer
// is, then ranked sections of items (most important first). fitDoc keeps the head, gives each
// section its first few items, then fills sections in order while the text stays within the
// budget, and ends every cut section with the exact count of what it left out and, where the
// tool pages, a cursor. The text's tokens are counted with the real tokenizer, and the final
// text is counted whole: an answer is never over its budget.

import { countTokens } from './tokens.js';

export const DEFAULT_BUDGET = 2000;
export const MIN_BUDGET = 60;

export interface DocItem<T = unknown> {
  /** One or more lines. */
  text: string;
  /** A shorter form (one line) used when the full text does not fit. */
  brief?: string;
  /** What structuredContent carries for it. */
  data: T;
}

export interface DocSection<T = unknown> {
  /** structuredContent key of the shown items. */
  key: string;
  /** A heading line (omitted when the section is empty). */
  title?: string;
  /** Plural noun for the elision line ("calls", "exceptions"). */
  noun: string;
  items: DocItem<T>[];
  /** How many there are in all (items may be only the first of them); default items.length. */
  total?: number;
  /** Items every section gets before any gets more (default 3). */
  first?: number;
  /** The cursor to continue after the first `shown` items, when the tool pages. */
  cursor?: (shown: number) => string | null;
  /** Said when the section has no items at all. */
  empty?: string;
  /** Show the kept items in reverse order (items ranked newest first, shown oldest first). */
  reversed?: boolean;
}

export interface Doc {
  head: string[];
  sections: DocSection[];
  /** Lines after the sections, kept if they fit (hints). */
  foot?: string[];
}

export interface SectionResult {
  shown: unknown[];
  /** Exact count of items left out. */
  omitted: number;
  cursor: string | null;
}

export interface Fitted {
  text: string;
  tokens: number;
  budget: number;
  sections: Record<string, SectionResult>;
}

interface Placed {
  /** How many items of the section are shown and whether each is brief. */
  count: number;
  brief: boolean[];
}

function elision(section: DocSection, shown: number): string | null {
  const total = section.total ?? section.items.length;
  const omitted = total - shown;
  if (omitted <= 0) return null;
  const cursor = section.cursor?.(shown) ?? null;
  const more = `… ${omitted.toLocaleString('en-US')} more ${section.noun} not shown`;
  return cursor ? `${more} (cursor "${cursor}" for the next page)` : `${more} (raise the budget to see them)`;
}

function renderLines(doc: Doc, placed: Placed[], withFoot: boolean): string[] {
  const lines = [...doc.head];
  doc.sections.forEach((section, s) => {
    const place = placed[s]!;
    const total = section.total ?? section.items.length;
    if (total === 0) {
      if (section.empty) lines.push(section.empty);
      return;
    }
    if (section.title) lines.push(section.title);
    const shown: string[] = [];
    for (let i = 0; i < place.count; i++) {
      const item = section.items[i]!;
      shown.push(place.brief[i] && item.brief !== undefined ? item.brief : item.text);
    }
    lines.push(...(section.reversed ? shown.reverse() : shown));
    const cut = elision(section, place.count);
    if (cut) lines.push(cut);
  });
  if (withFoot && doc.foot) lines.push(...doc.foot);
  return lines;
}

function render(doc: Doc, placed: Placed[], withFoot: boolean): string {
  return renderLines(doc, placed, withFoot).join('\n');
}

/** Tokens of lines joined by newlines, from per-line counts (a newline is its own token in
 *  o200k_base's pre-split, so the sum is at least the exact count; fitDoc checks the exact one). */
function estimate(lines: string[], cache: Map<string, number>): number {
  let total = lines.length - 1;
  for (const line of lines) {
    let n = cache.get(line);
    if (n === undefined) {
      n = countTokens(line);
      cache.set(line, n);
    }
    total += n;
  }
  return total;
}

/** Cut a line to at most `tokens` tokens (used only when the head alone is over budget). */
function cutLine(line: string, tokens: number): string {
  if (countTokens(line) <= tokens) return line;
  let lo = 0;
  let hi = line.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (countTokens(line.slice(0, mid) + '…') <= tokens) lo = mid;
    else hi = mid - 1;
  }
  return line.slice(0, lo) + '…';
}

export function fitDoc(doc: Doc, budget: number): Fitted {
  const placed: Placed[] = doc.sections.map(() => ({ count: 0, brief: [] }));
  const cache = new Map<string, number>();
  const within = (text: string) => countTokens(text) <= budget;
  const fits = (d: Doc) => estimate(renderLines(d, placed, false), cache) <= budget;
  // The head alone must fit: shorten its lines from the last if not.
  let head = doc.head;
  if (!within(render({ ...doc, head }, placed, false))) {
    head = [...doc.head];
    for (let i = head.length - 1; i >= 0 && !within(render({ ...doc, head }, placed, false)); i--) {
      const rest = budget - countTokens(render({ ...doc, head: head.filter((_, j) => j !== i) }, placed, false)) - 1;
      head[i] = rest > 3 ? cutLine(head[i]!, rest) : '';
    }
    head = head.filter((line) => line !== '');
  }
  const fitted: Doc = { ...doc, head };
  // Try to add the next item of section s (full text, else its brief form).
  const added: number[] = [];
  const tryAdd = (s: number): boolean => {
    const section = doc.sections[s]!;
    const place = placed[s]!;
    if (place.count >= section.items.length) return false;
    place.count++;
    place.brief.push(false);
    added.push(s);
    if (fits(fitted)) return true;
    if (section.items[place.count - 1]!.brief !== undefined) {
      place.brief[place.count - 1] = true;
      if (fits(fitted)) return true;
    }
    added.pop();
    place.count--;
    place.brief.pop();
    return false;
  };
  // First pass: every section its first few; second: fill in order.
  const stuck = doc.sections.map(() => false);
  doc.sections.forEach((section, s) => {
    const first = section.first ?? 3;
    while (placed[s]!.count < first && !stuck[s]) if (!tryAdd(s)) stuck[s] = true;
  });
  doc.sections.forEach((_, s) => {
    while (!stuck[s]) if (!tryAdd(s)) stuck[s] = true;
  });
  let text = render(fitted, placed, true);
  if (!within(text)) text = render(fitted, placed, false);
  // The estimate is an upper bound in practice; should the exact count still be over, take
  // back the last items added until it is not.
  while (!within(text) && added.length > 0) {
    const s = added.pop()!;
    placed[s]!.count--;
    placed[s]!.brief.pop();
    text = render(fitted, placed, false);
  }
  const sections: Record<string, SectionResult> = {};
  doc.sections.forEach((section, s) => {
    const count = placed[s]!.count;
    const total = section.total ?? section.items.length;
    sections[section.key] = {
      shown: section.items.slice(0, count).map((item) => item.data),
      omitted: total - count,
      cursor: total > count ? (section.cursor?.(count) ?? null) : null,
    };
  });
  return { text, tokens: countTokens(text), budget, sections };
}
