// The viewer app's side panels: hotspots (functions by self time; a click selects the slowest
// call, or the first without times), exceptions (each throw; a click selects the call that threw)
// and the summary of the selected time range (top functions by self time, calls, exceptions).
// Every number comes from the server (/api/hotspots, /api/exceptions, /api/range).

import type { App } from './main.js';
import { $, api, el, fmtNs, itemButton, processTag, type ExceptionRow, type FunctionHit, type RangeAnswer } from './util.js';

function hotspotText(app: App, f: FunctionHit, times: boolean): string {
  // In a range, a function can run in it from a call that began before it (no call counted).
  const calls = f.calls > 0 ? `×${f.calls.toLocaleString()}` : 'a call begun before';
  return `${f.name}  ${times ? `self ${fmtNs(f.selfNs)} · ` : ''}${calls}${f.throws ? ` · threw ×${f.throws}` : ''}${processTag(f.process, app.overview.pid)}`;
}

function exceptionItem(app: App, x: ExceptionRow): HTMLLIElement {
  const text = `${x.id}  ${x.error}  in ${x.name ?? 'untraced code'}${x.caughtIn ? ` · caught in ${x.caughtIn}` : x.outcome !== 'caught' ? ` · ${x.outcome}` : ''}  @${fmtNs(x.thrownNs)}${processTag(x.process, app.overview.pid)}`;
  return itemButton(text, () => (x.call ? app.select(x.call) : app.status(`${x.id}: thrown by untraced code`)), x.where);
}

export class Panels {
  exceptions: ExceptionRow[] = [];

  constructor(readonly app: App) {}

  async load(): Promise<void> {
    await Promise.all([this.loadHotspots(), this.loadExceptions()]);
  }

  private async loadHotspots(): Promise<void> {
    const answer = await api<{ by: string; total: number; functions: FunctionHit[] }>('hotspots');
    const times = this.app.overview.times;
    $('hotspots-note').textContent = `${answer.total} functions, the top ${answer.functions.length} by ${answer.by === 'self' ? 'self time' : 'calls'}; click: its ${times ? 'slowest' : 'first'} call`;
    $('hotspots-list').replaceChildren(...answer.functions.map((f) => itemButton(hotspotText(this.app, f, times), () => void this.app.jump(f.fn, f.process, times ? 'slowest' : 'first'), f.where)));
  }

  private async loadExceptions(): Promise<void> {
    const answer = await api<{ total: number; exceptions: ExceptionRow[]; partial: string[] }>('exceptions');
    this.exceptions = answer.exceptions;
    $('exceptions-note').textContent = answer.total === 0 ? 'no exceptions were thrown in traced code' : `${answer.total} thrown${answer.total > answer.exceptions.length ? `, the first ${answer.exceptions.length}` : ''}; click: the call that threw (x / shift-x: next / previous)${answer.partial.length ? ` · ${answer.partial.join('; ')}` : ''}`;
    $('exceptions-list').replaceChildren(...answer.exceptions.map((x) => exceptionItem(this.app, x)));
  }

  /** The exception after (before) the one the call threw, else thrown next after (last before) a time. */
  exceptionNear(call: string | null, ns: number, forward: boolean): ExceptionRow | null {
    const withCall = this.exceptions.filter((x) => x.call !== null);
    const at = call === null ? -1 : withCall.findIndex((x) => x.call === call);
    if (at >= 0) return withCall[forward ? at + 1 : at - 1] ?? null;
    if (forward) return withCall.find((x) => (x.thrownNs ?? -Infinity) > ns) ?? null;
    for (let i = withCall.length - 1; i >= 0; i--) if ((withCall[i]!.thrownNs ?? Infinity) < ns) return withCall[i]!;
    return null;
  }

  async showRange(from: number, to: number): Promise<void> {
    const box = $('range-summary');
    box.dataset.from = String(Math.round(from));
    box.dataset.to = String(Math.round(to));
    box.dataset.loaded = 'false';
    const note = $('range-note');
    note.textContent = `${fmtNs(from)} – ${fmtNs(to)} (${fmtNs(to - from)}): summing…`;
    let answer: RangeAnswer;
    try {
      answer = await api<RangeAnswer>('range', { from: Math.round(from), to: Math.round(to) });
    } catch (error) {
      note.textContent = (error as Error).message;
      return;
    }
    if (box.dataset.from !== String(Math.round(from)) || box.dataset.to !== String(Math.round(to))) return;
    note.textContent = `${fmtNs(answer.fromNs)} – ${fmtNs(answer.toNs)} (${fmtNs(answer.toNs - answer.fromNs)}): ${answer.calls.toLocaleString()} call${answer.calls === 1 ? '' : 's'} began in it, ${answer.functionCount} functions ran, ${answer.exceptions.length} exception${answer.exceptions.length === 1 ? '' : 's'}`;
    const list = $('range-list');
    list.replaceChildren(...answer.functions.slice(0, 10).map((f) => itemButton(hotspotText(this.app, f, true), () => void this.app.jump(f.fn, f.process, 'slowest'), f.where)));
    const xs = $('range-exceptions');
    xs.replaceChildren(...answer.exceptions.map((x) => exceptionItem(this.app, x)));
    box.dataset.loaded = 'true';
  }

  clearRange(): void {
    const box = $('range-summary');
    delete box.dataset.from;
    delete box.dataset.to;
    box.dataset.loaded = 'false';
    $('range-note').textContent = 'Shift-drag on the timeline to select a range.';
    $('range-list').replaceChildren();
    $('range-exceptions').replaceChildren();
  }
}

export function helpText(): [string, string][] {
  return [
    ['n / p', 'next / previous call of the same function'],
    ['u', 'the caller'],
    ['d', 'the first callee'],
    ['a', 'back along the async cause (the call that started the awaiting caller)'],
    ['f / s', 'the first / slowest call of the selected function'],
    ['x / X', 'the next / previous exception’s throw'],
    ['← / →', 'pan'],
    ['+ / −', 'zoom'],
    ['0', 'the whole run'],
    ['l', 'the sequential layout (calls in order, equal widths) or the time layout'],
    ['shift-drag', 'select a time range (its summary below the timeline); Esc clears it'],
    ['/', 'search (a name, a glob, or an argument predicate: fn(0=5), fn(quantity<0), fn:1~text)'],
    ['?', 'this help'],
  ];
}

export function toggleHelp(show?: boolean): void {
  const help = $('help');
  const visible = show ?? help.hidden;
  if (help.childElementCount === 0) {
    help.append(el('h2', 'Keyboard shortcuts'));
    const dl = el('dl');
    for (const [k, what] of helpText()) dl.append(el('dt', k), el('dd', what));
    help.append(dl, el('p', 'Esc or ? closes this.', 'muted'));
  }
  help.hidden = !visible;
}
