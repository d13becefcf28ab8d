// The viewer's web app (served by src/viewer/server.ts, compiled by tsc for the browser): one
// canvas track per thread (track.ts), grouped by process under a header row each (pid and
// command; children under their parent, indented), drawn from the server's level-of-detail answers for the
// visible window only; zoom and pan; a time range selected by shift-drag; search over the whole
// trace (functions by name, calls by argument predicate); the details pane (details.ts); side
// panels (panels.ts); runtime-event lanes and messages between threads as arrows (runtime.ts);
// stepping and jumping between calls by keyboard, listed by `?`; the selection in the URL
// (#call=ID). Sets document.documentElement.dataset.ready = "true" once the first view is drawn
// (and, when the URL names a call, its details shown). Nothing comes from the network but the
// page's own server.

import { showDetails } from './details.js';
import { Panels, toggleHelp } from './panels.js';
import { RuntimeLayer } from './runtime.js';
import { Track } from './track.js';
import { $, api, fmtNs, itemButton, positionOf, processTag, type CallBrief, type CallDetails, type FunctionHit, type Overview } from './util.js';

type StepTo = 'next' | 'prev' | 'parent' | 'child' | 'cause';

const STEP_MISSING: Record<StepTo, string> = {
  next: 'no next call of this function',
  prev: 'no previous call of this function',
  parent: 'no caller (a root call)',
  child: 'no callee',
  cause: 'no async cause: every caller is on the stack (a synchronous chain)',
};

export class App {
  overview!: Overview;
  tracks: Track[] = [];
  view = { from: 0, to: 1 };
  /** The x axis: time, or record positions (the sequential layout: calls in order, equal widths). */
  axis: 'time' | 'events' = 'time';
  /** The selected time range (shift-drag), or null. */
  range: { from: number; to: number } | null = null;
  selected: CallDetails | null = null;
  dragged = false;
  readonly panels = new Panels(this);
  readonly runtime = new RuntimeLayer(this);
  private pending = 0;
  private searchSeq = 0;

  async start(): Promise<void> {
    this.overview = await api<Overview>('overview');
    const o = this.overview;
    $('trace-name').textContent = `${o.command.join(' ')}  (pid ${o.pid}${o.processes.length > 1 ? `, ${o.processes.length} processes` : ''})`;
    document.title = `recall view · ${o.command.join(' ')}`;
    this.view = { from: o.startNs, to: o.endNs };
    const tracks = $('tracks');
    for (const p of o.processes) {
      const group = document.createElement('section');
      group.className = 'process-group';
      group.dataset.pid = String(p.pid);
      group.setAttribute('aria-label', `Process ${p.pid}`);
      const head = document.createElement('h2');
      head.className = 'process';
      head.style.paddingLeft = `${8 + 14 * p.depth}px`;
      head.textContent = `process ${p.pid}${p.parentPid !== null ? ` (started by ${p.parentPid})` : ''} · ${p.command.join(' ')}`;
      group.append(head);
      tracks.append(group);
      for (const t of p.threads) {
        const info = o.threads[t];
        if (info) this.tracks.push(new Track(this, info, group));
      }
    }
    await this.runtime.load();
    if (o.clock === 'none' || !o.times) this.axis = 'events';
    this.view = this.whole();
    this.layoutButton();
    if (!o.times) this.status('this trace has no times (--timing none): calls are laid out in order (the sequential layout)');
    this.wire();
    const panels = this.panels.load().catch((error: unknown) => this.status(`panels: ${(error as Error).message}`));
    await this.refresh();
    const hash = this.hashCall();
    if (hash) await this.show(hash, true);
    document.documentElement.dataset.ready = 'true';
    await panels;
    document.documentElement.dataset.panels = 'true';
  }

  status(text: string): void {
    $('status').textContent = text;
  }

  /** Reload every track for the current window. */
  async refresh(): Promise<void> {
    this.showWindow();
    if (this.axis === 'time' && !this.overview.times) return;
    await Promise.all(this.tracks.map((t) => t.load()));
    this.runtime.drawArrows();
  }

  /** The window in the toolbar, and exact on the tracks' element (data-from, data-to) for tests and scripts that drive the page. */
  showWindow(): void {
    $('range').textContent = this.windowText();
    const tracks = $('tracks');
    tracks.dataset.from = String(this.view.from);
    tracks.dataset.to = String(this.view.to);
  }

  windowText(): string {
    const { from, to } = this.view;
    return this.axis === 'time' ? `${fmtNs(from)} – ${fmtNs(to)}` : `events ${Math.max(0, Math.floor(from)).toLocaleString()} – ${Math.ceil(to).toLocaleString()}`;
  }

  /** The whole run on the current axis. */
  whole(): { from: number; to: number } {
    if (this.axis === 'time') return { from: this.overview.startNs, to: this.overview.endNs };
    return { from: 0, to: Math.max(1, ...this.overview.threads.map((t) => t.events)) };
  }

  layoutButton(): void {
    const b = $('layout');
    b.setAttribute('aria-pressed', String(this.axis === 'events'));
    b.title = this.axis === 'events' ? 'Sequential layout: calls in order, by record (l: by time)' : 'Time layout (l: sequential: calls in order, equal widths)';
  }

  /** Switch between the time axis and the sequential layout (by record position). */
  toggleLayout(): void {
    if (this.axis === 'events' && !this.overview.times) {
      this.status('this trace has no times (--timing none): only the sequential layout');
      return;
    }
    this.axis = this.axis === 'time' ? 'events' : 'time';
    if (this.axis === 'events') this.clearRange();
    this.view = this.whole();
    this.layoutButton();
    for (const t of this.tracks) t.data = null;
    if (this.selected) void this.show(this.selected.id, true);
    else this.changed();
  }

  /** Redraw now with the data at hand, and ask for the new window on the next frame. */
  changed(): void {
    this.redraw();
    this.showWindow();
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      void this.refresh();
    });
  }

  redraw(): void {
    for (const t of this.tracks) t.draw();
    this.runtime.drawArrows();
  }

  zoom(factor: number, atFraction = 0.5): void {
    const { from, to } = this.view;
    const span = to - from;
    const whole = this.whole();
    const next = Math.max(this.axis === 'time' ? 1000 : 8, Math.min(span * factor, (whole.to - whole.from) * 1.05));
    const pivot = from + span * atFraction;
    this.view = { from: pivot - next * atFraction, to: pivot - next * atFraction + next };
    this.changed();
  }

  pan(fraction: number): void {
    const span = this.view.to - this.view.from;
    this.view = { from: this.view.from + span * fraction, to: this.view.to + span * fraction };
    this.changed();
  }

  /**
   * Where a client x falls across the drawn window, 0 to 1: measured on a track's canvas, the
   * geometry the tracks are drawn in (the tracks' box also holds a classic scrollbar where the
   * browser shows one, and a zoom aimed by it would drift off the pointer).
   */
  fractionAt(clientX: number): number {
    const first = this.tracks[0]?.canvas;
    const rect = (first ?? $('tracks')).getBoundingClientRect();
    return Math.min(1, Math.max(0, (clientX - rect.left) / Math.max(1, rect.width)));
  }

  /** The width the tracks are drawn at, in CSS pixels (a track's canvas; the tracks' box while there is none). */
  drawnWidth(): number {
    return Math.max(1, this.tracks[0]?.canvas.clientWidth ?? $('tracks').clientWidth);
  }

  /** The time at a point of the tracks (client x). */
  timeAt(clientX: number): number {
    return this.view.from + (this.view.to - this.view.from) * this.fractionAt(clientX);
  }

  wire(): void {
    const tracks = $('tracks');
    tracks.addEventListener(
      'wheel',
      (e) => {
        if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
          e.preventDefault();
          this.pan((e.deltaX || e.deltaY) / this.drawnWidth());
        } else if (e.ctrlKey || e.metaKey || !e.altKey) {
          e.preventDefault();
          this.zoom(Math.exp(e.deltaY * 0.002), this.fractionAt(e.clientX));
        }
      },
      { passive: false },
    );
    // A drag pans; a shift-drag selects a time range.
    let drag: { x: number; from: number; to: number; range: boolean; at: number } | null = null;
    tracks.addEventListener('mousedown', (e) => {
      if (this.axis === 'events' && e.shiftKey) {
        this.status('a range needs times: switch to the time layout (l)');
        return;
      }
      drag = { x: e.clientX, from: this.view.from, to: this.view.to, range: e.shiftKey, at: this.timeAt(e.clientX) };
      this.dragged = false;
      if (e.shiftKey) e.preventDefault();
    });
    window.addEventListener('mousemove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3) this.dragged = true;
      if (!this.dragged) return;
      if (drag.range) {
        const t = this.timeAt(e.clientX);
        this.range = { from: Math.min(drag.at, t), to: Math.max(drag.at, t) };
        this.redraw();
        return;
      }
      const nsPerPx = (drag.to - drag.from) / this.drawnWidth();
      this.view = { from: drag.from - dx * nsPerPx, to: drag.to - dx * nsPerPx };
      this.changed();
    });
    window.addEventListener('mouseup', () => {
      if (drag?.range && this.dragged && this.range) void this.panels.showRange(this.range.from, this.range.to);
      drag = null;
      setTimeout(() => (this.dragged = false), 0);
    });
    // The tracks' own box, not only the window's: a scrollbar that comes or goes as tracks grow
    // changes the width the canvases are drawn at.
    let width = tracks.clientWidth;
    new ResizeObserver(() => {
      if (tracks.clientWidth === width) return;
      width = tracks.clientWidth;
      this.changed();
    }).observe(tracks);
    window.addEventListener('hashchange', () => {
      const id = this.hashCall();
      if (id && id !== this.selected?.id) void this.show(id, true);
    });
    const search = $<HTMLInputElement>('search');
    let timer = 0;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => void this.search(search.value), 200);
    });
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        clearTimeout(timer);
        void this.search(search.value);
      }
    });
    document.addEventListener('keydown', (e) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) {
        if (e.key === 'Escape') target.blur();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const keys: Record<string, () => void> = {
        '/': () => search.focus(),
        '?': () => toggleHelp(),
        Escape: () => {
          if (!$('help').hidden) toggleHelp(false);
          else this.clearRange();
        },
        n: () => void this.step('next'),
        p: () => void this.step('prev'),
        u: () => void this.step('parent'),
        d: () => void this.step('child'),
        a: () => void this.step('cause'),
        f: () => void this.jumpSelected('first'),
        s: () => void this.jumpSelected('slowest'),
        x: () => this.nextException(true),
        X: () => this.nextException(false),
        ArrowLeft: () => this.pan(-0.2),
        ArrowRight: () => this.pan(0.2),
        '+': () => this.zoom(0.5),
        '=': () => this.zoom(0.5),
        '-': () => this.zoom(2),
        '0': () => {
          this.view = this.whole();
          this.changed();
        },
        l: () => this.toggleLayout(),
      };
      const action = keys[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    });
    $('help-button').addEventListener('click', () => toggleHelp());
    $('layout').addEventListener('click', () => this.toggleLayout());
  }

  clearRange(): void {
    this.range = null;
    this.panels.clearRange();
    this.redraw();
  }

  hashCall(): string | null {
    const m = /(?:^#|&)call=(c\d+\.\d+(?:@\d+)?)/.exec(location.hash);
    return m ? m[1]! : null;
  }

  /** Select a call: the URL holds it, the details pane shows it. */
  select(id: string): void {
    this.status('');
    if (location.hash !== `#call=${id}`) history.pushState(null, '', `#call=${id}`);
    void this.show(id, true);
  }

  /** Show a call's details; `reveal`: bring it into the window when it is outside. */
  async show(id: string, reveal: boolean): Promise<void> {
    let c: CallDetails;
    try {
      c = await api<CallDetails>('call', { id });
    } catch (error) {
      this.status(`${id}: ${(error as Error).message}`);
      return;
    }
    this.selected = c;
    showDetails(this, c);
    if (reveal && this.axis === 'events') {
      // Sequential: bring its enter record into the window (its id holds the position).
      const position = positionOf(c.id);
      const { from, to } = this.view;
      if (position < from || position > to) {
        const span = Math.min(to - from, 2000);
        this.view = { from: position - span / 2, to: position + span / 2 };
        await this.refresh();
        return;
      }
    } else if (reveal && this.overview.times && c.enterNs !== null) {
      const end = c.exitNs ?? this.overview.endNs;
      const { from, to } = this.view;
      if (c.enterNs < from || c.enterNs > to || end - c.enterNs > (to - from) * 1.5) {
        const span = Math.max(end - c.enterNs, 2000);
        this.view = { from: c.enterNs - span * 0.5, to: end + span * 0.5 };
        await this.refresh();
        return;
      }
    }
    this.redraw();
  }

  async step(to: StepTo): Promise<void> {
    const current = this.selected;
    if (!current) {
      this.status('select a call first');
      return;
    }
    const answer = await api<{ to: string | null }>('step', { id: current.id, to });
    if (answer.to) this.select(answer.to);
    else this.status(STEP_MISSING[to]);
  }

  /** The first or slowest call of a function (function ids are per process), selected. */
  async jump(fn: number, pid: number, to: 'first' | 'slowest'): Promise<void> {
    const answer = await api<{ to: string | null }>('jump', { fn, process: pid, to });
    if (answer.to) this.select(answer.to);
    else this.status(to === 'slowest' ? 'no finished call of it has a time' : 'no call of it');
  }

  async jumpSelected(to: 'first' | 'slowest'): Promise<void> {
    if (!this.selected) {
      this.status('select a call first');
      return;
    }
    await this.jump(this.selected.fn, this.selected.process.pid, to);
  }

  /** The throw of the next (previous) exception after (before) the selected call; from the start (end) without one. */
  nextException(forward: boolean): void {
    const at = this.selected?.enterNs ?? (forward ? -Infinity : Infinity);
    const x = this.panels.exceptionNear(this.selected?.id ?? null, at, forward);
    if (x?.call) this.select(x.call);
    else this.status(forward ? 'no exception after this call' : 'no exception before this call');
  }

  async search(text: string): Promise<void> {
    const seq = ++this.searchSeq;
    const list = $('results-list');
    const note = $('results-note');
    if (text.trim() === '') {
      list.replaceChildren();
      note.textContent = 'Type a function name to search the whole trace.';
      return;
    }
    let answer: { total: number; functions?: FunctionHit[]; calls?: CallBrief[]; predicate?: string; note?: string };
    try {
      answer = await api('search', { q: text });
    } catch (error) {
      if (seq === this.searchSeq) note.textContent = (error as Error).message;
      return;
    }
    if (seq !== this.searchSeq) return;
    if (answer.calls) {
      note.textContent = `${answer.total} call${answer.total === 1 ? '' : 's'} where ${answer.predicate}${answer.note ? ` (${answer.note})` : ''}`;
      list.replaceChildren(...answer.calls.map((c) => itemButton(`${c.id}  ${c.name}(${c.args ?? ''})  ${fmtNs(c.durationNs)} @${fmtNs(c.enterNs)}${c.outcome === 'throw' ? ' ✗ threw' : ''}${processTag(c.process, this.overview.pid)}`, () => this.select(c.id))));
      return;
    }
    const functions = answer.functions ?? [];
    note.textContent = answer.total === 0 ? `no function matches '${text}'` : `${answer.total} function${answer.total === 1 ? '' : 's'}${answer.total > functions.length ? `, the first ${functions.length}` : ''}`;
    list.replaceChildren(...functions.map((f) => itemButton(`${f.name}  ×${f.calls}${f.throws ? ` (${f.throws} threw)` : ''}  ${f.where}${processTag(f.process, this.overview.pid)}`, () => void this.openFunction(f))));
  }

  /** A function picked from the search: its calls listed, its first call selected. */
  async openFunction(f: FunctionHit): Promise<void> {
    const page = await api<{ calls: CallBrief[]; cursor: string | null }>('calls', { fn: f.fn, process: f.process, limit: 100 });
    const title = $('calls-title');
    title.hidden = false;
    title.textContent = `Calls of ${f.name}${processTag(f.process, this.overview.pid).replace('[pid', 'in process').replace(']', '')}${page.cursor ? ' (the first 100)' : ''}`;
    $('calls-list').replaceChildren(...page.calls.map((c) => itemButton(`${c.id}  ${fmtNs(c.durationNs)} @${fmtNs(c.enterNs)}${c.outcome === 'throw' ? ' ✗ threw' : c.outcome === 'return' ? '' : ` (${c.outcome})`}`, () => this.select(c.id))));
    const first = page.calls[0];
    if (first) this.select(first.id);
  }
}

const app = new App();
app.start().catch((error: unknown) => {
  app.status(`could not load the trace: ${(error as Error).message}`);
  document.documentElement.dataset.error = String((error as Error).message);
});
