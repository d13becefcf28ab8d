// The viewer app's timeline track: one canvas per thread, drawn from the server's level-of-
// detail answer (/api/timeline) for the visible window only, on the time axis or (the
// sequential layout) by record position; the selected call outlined, the selected range shaded;
// a click selects the call under the pointer (its id: callIdOf, qualified outside the first process). On the time axis a thread with runtime events
// has a lane above its calls: GC pauses, spans (HTTP), worker starts and exits, spawns, marks.

import type { App } from './main.js';
import { api, callIdOf, colorOf, fmtNs, type RuntimeTrack, type Span, type ThreadInfo, type Timeline } from './util.js';

const ROW = 18;
const MIN_ROWS = 3;
/** Height of the runtime-event lane (when the thread has one). */
export const LANE = 16;

const INSTANT_COLORS: Record<string, string> = { 'worker-start': '#1f9d55', 'worker-exit': '#c0392b', spawn: '#8e44ad', mark: '#d35400' };

export class Track {
  readonly canvas = document.createElement('canvas');
  data: Timeline | null = null;
  /** This thread's runtime events (null: none). */
  runtime: RuntimeTrack | null = null;
  private abort: AbortController | null = null;

  constructor(readonly app: App, readonly thread: ThreadInfo, parent: HTMLElement) {
    const box = document.createElement('div');
    box.className = 'track';
    const title = document.createElement('h2');
    title.textContent = `thread ${thread.id} · ${thread.name} · ${thread.events.toLocaleString()} events`;
    box.append(title, this.canvas);
    parent.append(box);
    this.canvas.setAttribute('aria-label', `Timeline of thread ${thread.id} ${thread.name}${thread.pid === app.overview.pid ? '' : ` of process ${thread.pid}`}`);
    this.canvas.dataset.pid = String(thread.pid);
    this.canvas.setAttribute('role', 'img');
    this.canvas.addEventListener('click', (e) => this.click(e));
  }

  /** Pixels above the call rows: the runtime lane, on the time axis when the thread has one. */
  header(): number {
    return this.runtime && this.app.axis === 'time' ? LANE : 0;
  }

  /** The y of the runtime lane's middle, within the canvas. */
  laneMiddle(): number {
    return this.header() > 0 ? LANE / 2 : ROW / 2;
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
    const header = this.header();
    const height = header + rows * ROW + 2;
    // Where the call rows begin (below the runtime lane, when there is one): for tests that click a call.
    this.canvas.dataset.lane = String(header);
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
      const y = header + s[0] * ROW;
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
      if (selected && selected.thread === this.thread.index && callIdOf(this.thread, s[4], this.app.overview.pid) === selected.id && s[5] === 1) outline = [x0, y, w];
    }
    if (outline) {
      ctx.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue('--sel') || '#ff2d55';
      ctx.lineWidth = 2;
      ctx.strokeRect(outline[0], outline[1] + 1, Math.max(2, outline[2]), ROW - 2);
    }
    if (header > 0) this.drawLane(ctx, from, scale, width);
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

  private drawLane(ctx: CanvasRenderingContext2D, from: number, scale: number, width: number): void {
    const r = this.runtime!;
    ctx.fillStyle = 'rgba(127,127,127,.08)';
    ctx.fillRect(0, 0, width, LANE);
    for (const s of r.spans) {
      const x0 = (s.beginNs - from) * scale;
      const x1 = ((s.endNs ?? this.app.overview.endNs) - from) * scale;
      if (x1 < 0 || x0 > width) continue;
      ctx.fillStyle = s.error || (s.status ?? 0) >= 500 ? 'hsl(350 70% 60%)' : 'hsl(210 70% 60%)';
      ctx.fillRect(x0, 3, Math.max(2, x1 - x0), LANE - 6);
      if (x1 - x0 > 40) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(Math.max(0, x0), 0, Math.min(x1, width) - Math.max(0, x0), LANE);
        ctx.clip();
        ctx.fillStyle = '#111';
        ctx.font = '10px system-ui, sans-serif';
        ctx.fillText(s.label, Math.max(0, x0) + 3, LANE / 2);
        ctx.restore();
      }
    }
    ctx.fillStyle = 'hsl(35 95% 50%)';
    for (const [ns, dur] of r.gc) {
      const x0 = (ns - from) * scale;
      if (x0 < -2 || x0 > width) continue;
      ctx.fillRect(x0, 1, Math.max(2, dur * scale), LANE - 2);
    }
    for (const [ns, kind] of r.instants) {
      const x = (ns - from) * scale;
      if (x < -4 || x > width + 4) continue;
      ctx.fillStyle = INSTANT_COLORS[kind] ?? '#555';
      ctx.beginPath();
      ctx.moveTo(x - 4, 0);
      ctx.lineTo(x + 4, 0);
      ctx.lineTo(x, LANE - 2);
      ctx.closePath();
      ctx.fill();
    }
  }

  /** The runtime events under a point of the lane, in words. */
  laneText(x: number): string | null {
    const r = this.runtime;
    if (!r) return null;
    const { from, to } = this.app.view;
    const scale = this.width() / (to - from);
    const near = (ns: number, end = ns): boolean => x >= (ns - from) * scale - 4 && x <= (end - from) * scale + 4;
    const found: string[] = [];
    for (const [ns, , text] of r.instants) if (near(ns)) found.push(text);
    for (const [ns, dur] of r.gc) if (near(ns, ns + dur)) found.push(`gc ${fmtNs(dur)}`);
    for (const s of r.spans) if (near(s.beginNs, s.endNs ?? s.beginNs)) found.push(s.label);
    return found.length ? found.slice(0, 4).join(' · ') + (found.length > 4 ? ` · ${found.length - 4} more` : '') : null;
  }

  /** The span under a point: the call it is (a bucket: its longest call). */
  hit(x: number, y0: number): Span | null {
    const data = this.data;
    if (!data) return null;
    const y = y0 - this.header();
    if (y < 0) return null;
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
    if (e.clientY - rect.top < this.header()) {
      this.app.status(this.laneText(e.clientX - rect.left) ?? '');
      return;
    }
    const span = this.hit(e.clientX - rect.left, e.clientY - rect.top);
    if (span) this.app.select(callIdOf(this.thread, span[4], this.app.overview.pid));
  }
}
