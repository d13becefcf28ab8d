// The viewer app's timeline track: one canvas per thread, drawn from the server's level-of-
// detail answer (/api/timeline) for the visible window only, on the time axis or (the
// sequential layout) by record position; the selected call outlined, the selected range shaded;
// a click selects the call under the pointer.

import type { App } from './main.js';
import { api, colorOf, type Span, type ThreadInfo, type Timeline } from './util.js';

const ROW = 18;
const MIN_ROWS = 3;

export class Track {
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
      const data = await api<Timeline>('timeline', { thread: this.thread.index, from: Math.floor(from), to: Math.ceil(to), width, axis: this.app.axis }, abort.signal);
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
    const height = rows * ROW + 2;
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
      const y = s[0] * ROW;
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
    const range = this.app.range;
    if (range) {
      const x0 = Math.max(0, (range.from - from) * scale);
      const x1 = Math.min(width, (range.to - from) * scale);
      if (x1 > x0) {
        ctx.fillStyle = 'rgba(0, 122, 255, 0.15)';
        ctx.fillRect(x0, 0, x1 - x0, height);
        ctx.fillStyle = 'rgba(0, 122, 255, 0.7)';
        ctx.fillRect(x0, 0, 1, height);
        ctx.fillRect(x1 - 1, 0, 1, height);
      }
    }
  }

  /** The span under a point: the call it is (a bucket: its longest call). */
  hit(x: number, y: number): Span | null {
    const data = this.data;
    if (!data) return null;
    const depth = Math.floor(y / ROW);
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
    if (this.app.dragged || e.shiftKey) return;
    const rect = this.canvas.getBoundingClientRect();
    const span = this.hit(e.clientX - rect.left, e.clientY - rect.top);
    if (span) this.app.select(`c${this.thread.index}.${span[4]}`);
  }
}
