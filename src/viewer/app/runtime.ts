// The viewer app's runtime events: each thread's lane (track.ts draws it) gets the thread's GC
// pauses, spans, worker starts and exits, spawns and marks from /api/runtime; the messages
// between threads are drawn here as arrows from the sender's lane to the receiver's, on a
// canvas over the tracks, and so is each spawn of a child process the viewer shows (dashed,
// from the spawning thread's lane to the child's first thread where it begins); the legend
// (region "Runtime events") says what there is.

import type { App } from './main.js';
import { $, api, type RuntimeAnswer } from './util.js';

export class RuntimeLayer {
  answer: RuntimeAnswer | null = null;
  private arrows: HTMLCanvasElement | null = null;

  constructor(readonly app: App) {}

  /** The runtime events: a lane on each thread that has some (or sends or receives a message), and the arrows' overlay. */
  async load(): Promise<void> {
    const note = $('runtime-note');
    if (!this.app.overview.times) {
      note.textContent = 'no times (--timing none): runtime events are not drawn';
      return;
    }
    try {
      this.answer = await api<RuntimeAnswer>('runtime');
    } catch (error) {
      note.textContent = `runtime events: ${(error as Error).message}`;
      return;
    }
    const r = this.answer;
    const messaging = new Set(r.messages.flatMap((m) => [m[0], m[2]]));
    for (const t of this.app.tracks) {
      const mine = r.threads.find((x) => x.thread === t.thread.index);
      if (mine && (mine.gc.length || mine.spans.length || mine.instants.length || messaging.has(t.thread.index))) t.runtime = mine;
      else if (messaging.has(t.thread.index)) t.runtime = { thread: t.thread.index, gc: [], spans: [], instants: [], spawns: [], omitted: 0 };
    }
    const c = r.counts;
    const omitted = r.threads.reduce((n, t) => n + t.omitted, 0);
    note.textContent = `${c.gc} GC pause${c.gc === 1 ? '' : 's'} · ${c.spans} span${c.spans === 1 ? '' : 's'} · ${c.workers} worker${c.workers === 1 ? '' : 's'} · ${c.messages} message${c.messages === 1 ? '' : 's'} between threads (${r.messages.length} drawn as arrows${r.unpaired ? `, ${r.unpaired} with one end only` : ''})${r.spawns.length ? ` · ${r.spawns.length} child process${r.spawns.length === 1 ? '' : 'es'} started` : ''}${omitted ? ` · ${omitted} not drawn` : ''}`;
    if (r.messages.length > 0 || r.spawns.some((s) => s[3] >= 0)) {
      this.arrows = document.createElement('canvas');
      this.arrows.className = 'arrows';
      this.arrows.setAttribute('aria-hidden', 'true');
      $('tracks').append(this.arrows);
    }
  }

  /** Messages between threads as arrows from the sender's lane to the receiver's, over the tracks. */
  drawArrows(): void {
    const c = this.arrows;
    const r = this.answer;
    if (!c || !r) return;
    const tracks = new Map(this.app.tracks.map((t) => [t.thread.index, t]));
    const first = this.app.tracks[0];
    const width = first ? first.width() : 100;
    const height = Math.max(1, ...this.app.tracks.map((t) => t.canvas.offsetTop + t.canvas.offsetHeight));
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== width * dpr || c.height !== height * dpr) {
      c.width = width * dpr;
      c.height = height * dpr;
      c.style.width = `${width}px`;
      c.style.height = `${height}px`;
    }
    c.style.left = `${first?.canvas.offsetLeft ?? 0}px`;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    let drawn = 0;
    let spawns = 0;
    const arrow = (x1: number, y1: number, x2: number, y2: number): void => {
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
      ctx.stroke();
      const angle = Math.atan2(y2 - y1, x2 - x1);
      ctx.beginPath();
      ctx.moveTo(x2, y2);
      ctx.lineTo(x2 - 7 * Math.cos(angle - 0.4), y2 - 7 * Math.sin(angle - 0.4));
      ctx.lineTo(x2 - 7 * Math.cos(angle + 0.4), y2 - 7 * Math.sin(angle + 0.4));
      ctx.closePath();
      ctx.fill();
    };
    if (this.app.axis === 'time') {
      const { from, to } = this.app.view;
      const scale = width / (to - from);
      ctx.strokeStyle = ctx.fillStyle = 'rgba(88, 86, 214, 0.85)';
      ctx.lineWidth = 1.5;
      for (const [ft, fns, tt, tns] of r.messages) {
        const a = tracks.get(ft);
        const b = tracks.get(tt);
        if (!a || !b) continue;
        const x1 = (fns - from) * scale;
        const x2 = (tns - from) * scale;
        if ((x1 < 0 && x2 < 0) || (x1 > width && x2 > width)) continue;
        arrow(x1, a.canvas.offsetTop + a.laneMiddle(), x2, b.canvas.offsetTop + b.laneMiddle());
        drawn++;
      }
      // Spawns: from the spawn on the parent's lane to where the child's first thread begins.
      ctx.strokeStyle = ctx.fillStyle = 'rgba(142, 68, 173, 0.9)';
      ctx.setLineDash([4, 3]);
      for (const [ft, ns, , childThread] of r.spawns) {
        const a = tracks.get(ft);
        const b = tracks.get(childThread);
        const child = this.app.overview.threads[childThread];
        if (!a || !b || !child) continue;
        const x1 = (ns - from) * scale;
        const x2 = (Math.max(ns, child.startNs) - from) * scale;
        if ((x1 < 0 && x2 < 0) || (x1 > width && x2 > width)) continue;
        arrow(x1, a.canvas.offsetTop + a.laneMiddle(), x2, b.canvas.offsetTop + b.laneMiddle());
        spawns++;
      }
      ctx.setLineDash([]);
    }
    c.dataset.arrows = String(drawn);
    c.dataset.spawns = String(spawns);
  }
}
