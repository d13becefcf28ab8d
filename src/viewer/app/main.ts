// The viewer's web app (served by src/viewer/server.ts, compiled by tsc for the browser): one
// canvas track per thread, drawn from the server's level-of-detail answers (/api/timeline) for
// the visible window only; zoom and pan; search over every function of the trace; a details
// pane for the selected call; stepping between calls by keyboard; the selection in the URL
// (#call=ID). Sets document.documentElement.dataset.ready = "true" once the first view is
// drawn (and, when the URL names a call, its details shown). Nothing comes from the network
// but the page's own server.

interface ThreadInfo { index: number; id: number; name: string; events: number; startNs: number; endNs: number }
interface Overview { dir: string; command: string[]; pid: number; times: boolean; startNs: number; endNs: number; processes: { pid: number; command: string[]; threads: number[] }[]; threads: ThreadInfo[]; problems: string[] }
/** [depth, startNs, endNs, fn, call position, calls merged, threw]. */
type Span = [number, number, number, number, number, number, number];
interface Timeline { thread: number; fromNs: number; toNs: number; width: number; spans: Span[]; names: Record<string, string>; deeper: number }
interface CallDetails {
  id: string; thread: number; threadId: number; fn: number; name: string; where: string;
  enterNs: number | null; exitNs: number | null; durationNs: number | null; selfNs: number | null; timed: boolean; outcome: string;
  values: { label: string; text: string }[]; recorded: boolean;
  callers: { id: string; name: string; where: string; resumed: boolean }[];
  children: { fn: number; name: string; calls: number; totalNs: number | null; selfNs: number | null; throws: number }[];
}
interface FunctionHit { fn: number; name: string; where: string; calls: number; totalNs: number | null; selfNs: number | null; throws: number }
interface CallBrief { id: string; name: string; enterNs: number | null; durationNs: number | null; outcome: string }

const ROW = 18;
const MIN_ROWS = 3;
const HEADER = 0;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el as T;
};

async function api<T>(path: string, params: Record<string, string | number> = {}, signal?: AbortSignal): Promise<T> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`/api/${path}?${query}`, signal ? { signal } : {});
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || Number.isNaN(ns)) return '?';
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns.toFixed(0)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(4)} s`;
}

function colorOf(fn: number, threw: boolean, many: boolean): string {
  if (threw) return many ? 'hsl(350 70% 70%)' : 'hsl(350 75% 58%)';
  const hue = (fn * 137.508) % 360;
  return many ? `hsl(${hue} 30% 72%)` : `hsl(${hue} 55% 62%)`;
}

class Track {
  readonly canvas = document.createElement('canvas');
  data: Timeline | null = null;
  private abort: AbortController | null = null;

  constructor(readonly app: App, readonly thread: ThreadInfo, parent: HTMLElement) {
    const box = document.createElement('div');
    box.className = 'track';
    const title = document.createElement('h2');
    title.textContent = `thread ${thread.id} · ${thread.name} · ${thread.events.toLocaleString()} events`;
    box.append(title, this.canvas);
    parent.append(box);
    this.canvas.setAttribute('aria-label', `Timeline of thread ${thread.id} ${thread.name}`);
    this.canvas.setAttribute('role', 'img');
    this.canvas.addEventListener('click', (e) => this.click(e));
  }

  width(): number {
    return Math.max(100, Math.floor(this.canvas.parentElement?.clientWidth ?? 800));
  }

  /** Ask the server for the visible window, then draw. Resolves when drawn (or superseded). */
  async load(): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const { from, to } = this.app.view;
    const width = this.width();
    try {
      const asked = performance.now();
      const data = await api<Timeline>('timeline', { thread: this.thread.index, from: Math.floor(from), to: Math.ceil(to), width }, abort.signal);
      if (abort.signal.aborted) return;
      this.data = data;
      const answered = performance.now();
      this.draw();
      // User Timing marks for the bench (bench/viewer.mjs): the server's answer, then the drawing of it.
      performance.measure('recall:answer', { start: asked, end: answered });
      performance.measure('recall:draw', { start: answered, end: performance.now() });
    } catch (error) {
      if (abort.signal.aborted) return;
      this.app.status(`thread ${this.thread.id}: ${(error as Error).message}`);
    }
  }

  draw(): void {
    const data = this.data;
    const width = this.width();
    const rows = Math.max(MIN_ROWS, data ? data.spans.reduce((m, s) => Math.max(m, s[0] + 1), 0) : 0);
    const height = HEADER + rows * ROW + 2;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== width * dpr || this.canvas.height !== height * dpr) {
      this.canvas.width = width * dpr;
      this.canvas.height = height * dpr;
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx || !data) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    // Drawn for the window the data was asked for; a zoom in flight shows it moved to the new one.
    const { from, to } = this.app.view;
    const scale = width / (to - from);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const selected = this.app.selected;
    let outline: [number, number, number] | null = null;
    for (const s of data.spans) {
      const x0 = (s[1] - from) * scale;
      const x1 = (s[2] - from) * scale;
      if (x1 < 0 || x0 > width) continue;
      const w = Math.max(1, x1 - x0);
      const y = HEADER + s[0] * ROW;
      const many = s[5] > 1;
      ctx.fillStyle = colorOf(s[3], s[6] === 1, many);
      ctx.fillRect(x0, y + 1, w, ROW - 2);
      if (w > 28) {
        const label = many ? `${s[5]} calls` : (data.names[s[3]] ?? `#${s[3]}`);
        ctx.save();
        ctx.beginPath();
        ctx.rect(Math.max(0, x0), y, Math.min(w, width - Math.max(0, x0)), ROW);
        ctx.clip();
        ctx.fillStyle = '#111';
        ctx.fillText(label, Math.max(0, x0) + 3, y + ROW / 2);
        ctx.restore();
      }
      if (selected && selected.thread === this.thread.index && `c${this.thread.index}.${s[4]}` === selected.id && s[5] === 1) outline = [x0, y, w];
    }
    if (outline) {
      ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--sel') || '#ff2d55';
      ctx.lineWidth = 2;
      ctx.strokeRect(outline[0], outline[1] + 1, Math.max(2, outline[2]), ROW - 2);
    }
  }

  /** The span under a point: the call it is (a bucket: its longest call). */
  hit(x: number, y: number): Span | null {
    const data = this.data;
    if (!data) return null;
    const depth = Math.floor((y - HEADER) / ROW);
    const { from, to } = this.app.view;
    const scale = this.width() / (to - from);
    let best: Span | null = null;
    for (const s of data.spans) {
      if (s[0] !== depth) continue;
      const x0 = (s[1] - from) * scale;
      const x1 = Math.max(x0 + 1, (s[2] - from) * scale);
      if (x >= x0 - 1 && x <= x1 + 1) best = s;
    }
    return best;
  }

  private click(e: MouseEvent): void {
    if (this.app.dragged) return;
    const rect = this.canvas.getBoundingClientRect();
    const span = this.hit(e.clientX - rect.left, e.clientY - rect.top);
    if (span) this.app.select(`c${this.thread.index}.${span[4]}`);
  }
}

class App {
  overview!: Overview;
  tracks: Track[] = [];
  view = { from: 0, to: 1 };
  selected: CallDetails | null = null;
  dragged = false;
  private pending = 0;
  private searchSeq = 0;

  async start(): Promise<void> {
    this.overview = await api<Overview>('overview');
    const o = this.overview;
    $('trace-name').textContent = `${o.command.join(' ')}  (pid ${o.pid})`;
    document.title = `recall view · ${o.command.join(' ')}`;
    this.view = { from: o.startNs, to: o.endNs };
    const tracks = $('tracks');
    for (const p of o.processes) {
      const head = document.createElement('h2');
      head.className = 'process';
      head.textContent = `process ${p.pid} · ${p.command.join(' ')}`;
      tracks.append(head);
      for (const t of p.threads) {
        const info = o.threads[t];
        if (info) this.tracks.push(new Track(this, info, tracks));
      }
    }
    if (!o.times) this.status('this trace has no times (--timing none): the timeline needs times; search and details work');
    this.wire();
    await this.refresh();
    const hash = this.hashCall();
    if (hash) await this.show(hash, true);
    document.documentElement.dataset.ready = 'true';
  }

  status(text: string): void {
    $('status').textContent = text;
  }

  /** Reload every track for the current window. */
  async refresh(): Promise<void> {
    $('range').textContent = `${fmtNs(this.view.from)} – ${fmtNs(this.view.to)}`;
    if (!this.overview.times) return;
    await Promise.all(this.tracks.map((t) => t.load()));
  }

  /** Redraw now with the data at hand, and ask for the new window on the next frame. */
  changed(): void {
    for (const t of this.tracks) t.draw();
    $('range').textContent = `${fmtNs(this.view.from)} – ${fmtNs(this.view.to)}`;
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      void this.refresh();
    });
  }

  zoom(factor: number, atFraction = 0.5): void {
    const { from, to } = this.view;
    const span = to - from;
    const next = Math.max(1000, Math.min(span * factor, (this.overview.endNs - this.overview.startNs) * 1.05));
    const pivot = from + span * atFraction;
    this.view = { from: pivot - next * atFraction, to: pivot - next * atFraction + next };
    this.changed();
  }

  pan(fraction: number): void {
    const span = this.view.to - this.view.from;
    this.view = { from: this.view.from + span * fraction, to: this.view.to + span * fraction };
    this.changed();
  }

  wire(): void {
    const tracks = $('tracks');
    tracks.addEventListener(
      'wheel',
      (e) => {
        const rect = tracks.getBoundingClientRect();
        const at = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
        if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
          e.preventDefault();
          this.pan((e.deltaX || e.deltaY) / rect.width);
        } else if (e.ctrlKey || e.metaKey || !e.altKey) {
          e.preventDefault();
          this.zoom(Math.exp(e.deltaY * 0.002), at);
        }
      },
      { passive: false },
    );
    let drag: { x: number; from: number; to: number } | null = null;
    tracks.addEventListener('mousedown', (e) => {
      drag = { x: e.clientX, from: this.view.from, to: this.view.to };
      this.dragged = false;
    });
    window.addEventListener('mousemove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3) this.dragged = true;
      if (!this.dragged) return;
      const nsPerPx = (drag.to - drag.from) / tracks.clientWidth;
      this.view = { from: drag.from - dx * nsPerPx, to: drag.to - dx * nsPerPx };
      this.changed();
    });
    window.addEventListener('mouseup', () => {
      drag = null;
      setTimeout(() => (this.dragged = false), 0);
    });
    window.addEventListener('resize', () => this.changed());
    window.addEventListener('hashchange', () => {
      const id = this.hashCall();
      if (id && id !== this.selected?.id) void this.show(id, true);
    });
    const search = $<HTMLInputElement>('search');
    let timer = 0;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => void this.search(search.value), 120);
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
        n: () => void this.step('next'),
        p: () => void this.step('prev'),
        u: () => void this.step('parent'),
        d: () => void this.step('child'),
        ArrowLeft: () => this.pan(-0.2),
        ArrowRight: () => this.pan(0.2),
        '+': () => this.zoom(0.5),
        '=': () => this.zoom(0.5),
        '-': () => this.zoom(2),
        '0': () => {
          this.view = { from: this.overview.startNs, to: this.overview.endNs };
          this.changed();
        },
      };
      const action = keys[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    });
  }

  hashCall(): string | null {
    const m = /(?:^#|&)call=(c\d+\.\d+)/.exec(location.hash);
    return m ? m[1]! : null;
  }

  /** Select a call: the URL holds it, the details pane shows it. */
  select(id: string): void {
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
    this.details(c);
    if (reveal && this.overview.times && c.enterNs !== null) {
      const end = c.exitNs ?? this.overview.endNs;
      const { from, to } = this.view;
      if (c.enterNs < from || c.enterNs > to || end - c.enterNs > (to - from) * 1.5) {
        const span = Math.max(end - c.enterNs, 2000);
        this.view = { from: c.enterNs - span * 0.5, to: end + span * 0.5 };
        await this.refresh();
        return;
      }
    }
    for (const t of this.tracks) t.draw();
  }

  details(c: CallDetails): void {
    const pane = $('details');
    pane.replaceChildren();
    const h = document.createElement('h2');
    h.textContent = c.name;
    pane.append(h);
    const dl = document.createElement('dl');
    const row = (label: string, text: string, cls = ''): void => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = text;
      if (cls) dd.className = cls;
      dl.append(dt, dd);
    };
    row('call', `${c.id} (thread ${c.threadId})`);
    row('where', c.where || '?');
    row('began', `@${fmtNs(c.enterNs)}`);
    row('duration', `${fmtNs(c.durationNs)}${c.timed ? '' : ' (partly untimed)'}`);
    row('self', fmtNs(c.selfNs));
    row('ended', c.outcome === 'throw' ? 'threw' : c.outcome, c.outcome === 'throw' ? 'threw' : '');
    pane.append(dl);
    const values = document.createElement('h3');
    values.textContent = 'Values';
    pane.append(values);
    if (c.values.length === 0) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = 'not recorded (no detail window covered this call)';
      pane.append(p);
    } else {
      const vl = document.createElement('dl');
      vl.className = 'values';
      for (const v of c.values) {
        const dt = document.createElement('dt');
        dt.textContent = v.label;
        const dd = document.createElement('dd');
        dd.textContent = v.text;
        vl.append(dt, dd);
      }
      pane.append(vl);
    }
    const list = (title: string, items: { text: string; id?: string }[], empty: string): void => {
      const h3 = document.createElement('h3');
      h3.textContent = title;
      pane.append(h3);
      if (items.length === 0) {
        const p = document.createElement('p');
        p.className = 'muted';
        p.textContent = empty;
        pane.append(p);
        return;
      }
      const ul = document.createElement('ul');
      for (const item of items) {
        const li = document.createElement('li');
        if (item.id) {
          const b = document.createElement('button');
          b.textContent = item.text;
          const id = item.id;
          b.addEventListener('click', () => this.select(id));
          li.append(b);
        } else li.textContent = item.text;
        ul.append(li);
      }
      pane.append(ul);
    };
    list('Callers', c.callers.map((f) => ({ text: `${f.resumed ? '↺ ' : ''}${f.name}  ${f.where}`, id: f.id })), 'none (a root call)');
    list('Callees', c.children.map((f) => ({ text: `${f.name} ×${f.calls}  ${fmtNs(f.totalNs)}${f.throws ? ` threw ×${f.throws}` : ''}` })), 'none traced');
  }

  async step(to: 'next' | 'prev' | 'parent' | 'child'): Promise<void> {
    const current = this.selected;
    if (!current) {
      this.status('select a call first');
      return;
    }
    const answer = await api<{ to: string | null }>('step', { id: current.id, to });
    if (answer.to) this.select(answer.to);
    else this.status(`no ${to === 'child' ? 'callee' : to === 'parent' ? 'caller' : `${to} call of ${current.name}`}`);
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
    const answer = await api<{ total: number; functions: FunctionHit[] }>('search', { q: text });
    if (seq !== this.searchSeq) return;
    note.textContent = answer.total === 0 ? `no function matches '${text}'` : `${answer.total} function${answer.total === 1 ? '' : 's'}${answer.total > answer.functions.length ? `, the first ${answer.functions.length}` : ''}`;
    list.replaceChildren(
      ...answer.functions.map((f) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.textContent = `${f.name}  ×${f.calls}${f.throws ? ` (${f.throws} threw)` : ''}  ${f.where}`;
        b.addEventListener('click', () => void this.openFunction(f));
        li.append(b);
        return li;
      }),
    );
  }

  /** A function picked from the search: its calls listed, its first call selected. */
  async openFunction(f: FunctionHit): Promise<void> {
    const page = await api<{ calls: CallBrief[]; cursor: string | null }>('calls', { fn: f.fn, limit: 100 });
    const title = $('calls-title');
    title.hidden = false;
    title.textContent = `Calls of ${f.name}${page.cursor ? ' (the first 100)' : ''}`;
    $('calls-list').replaceChildren(
      ...page.calls.map((c) => {
        const li = document.createElement('li');
        const b = document.createElement('button');
        b.textContent = `${c.id}  ${fmtNs(c.durationNs)} @${fmtNs(c.enterNs)}${c.outcome === 'throw' ? ' ✗ threw' : c.outcome === 'return' ? '' : ` (${c.outcome})`}`;
        b.addEventListener('click', () => this.select(c.id));
        li.append(b);
        return li;
      }),
    );
    const first = page.calls[0];
    if (first) this.select(first.id);
  }
}

const app = new App();
app.start().catch((error: unknown) => {
  app.status(`could not load the trace: ${(error as Error).message}`);
  document.documentElement.dataset.error = String((error as Error).message);
});
