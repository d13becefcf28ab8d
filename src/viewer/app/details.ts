// The viewer app's details pane: the selected call's function, place, times, recorded values,
// callers (across awaits) and callees, and a source excerpt around its line (/api/source); the
// process it ran in when that is not the first process.

import type { App } from './main.js';
import { $, api, el, fmtNs, type CallDetails, type SourceExcerpt } from './util.js';

export function showDetails(app: App, c: CallDetails): void {
  const pane = $('details');
  pane.replaceChildren();
  pane.append(el('h2', c.name));
  const dl = el('dl');
  const row = (label: string, text: string, cls = ''): void => {
    dl.append(el('dt', label), el('dd', text, cls));
  };
  row('call', `${c.id} (thread ${c.threadId})`);
  if (!c.process.first) row('process', `${c.process.pid} · ${c.process.command.join(' ')}`);
  row('where', c.where || '?');
  row('began', `@${fmtNs(c.enterNs)}`);
  row('duration', `${fmtNs(c.durationNs)}${c.timed ? '' : ' (partly untimed)'}`);
  row('self', fmtNs(c.selfNs));
  row('ended', c.outcome === 'throw' ? 'threw' : c.outcome, c.outcome === 'throw' ? 'threw' : '');
  pane.append(dl);
  pane.append(el('h3', 'Values'));
  if (c.values.length === 0) pane.append(el('p', 'not recorded (no detail window covered this call)', 'muted'));
  else {
    const vl = el('dl', '', 'values');
    for (const v of c.values) vl.append(el('dt', v.label), el('dd', v.text));
    pane.append(vl);
  }
  const list = (title: string, items: { text: string; id?: string }[], empty: string): void => {
    pane.append(el('h3', title));
    if (items.length === 0) {
      pane.append(el('p', empty, 'muted'));
      return;
    }
    const ul = el('ul');
    for (const item of items) {
      const li = el('li');
      if (item.id) {
        const b = el('button', item.text);
        const id = item.id;
        b.addEventListener('click', () => app.select(id));
        li.append(b);
      } else li.textContent = item.text;
      ul.append(li);
    }
    pane.append(ul);
  };
  list('Callers', c.callers.map((f) => ({ text: `${f.resumed ? '↺ ' : ''}${f.name}  ${f.where}`, id: f.id })), 'none (a root call)');
  list('Callees', c.children.map((f) => ({ text: `${f.name} ×${f.calls}  ${fmtNs(f.totalNs)}${f.throws ? ` threw ×${f.throws}` : ''}` })), 'none traced');
  const source = el('section', '', 'source');
  source.setAttribute('aria-label', 'Source');
  source.append(el('h3', 'Source'));
  pane.append(source);
  if (c.file && c.line > 0) void loadSource(app, c, source);
  else source.append(el('p', 'no source location', 'muted'));
}

async function loadSource(app: App, c: CallDetails, box: HTMLElement): Promise<void> {
  try {
    const s = await api<SourceExcerpt>('source', { file: c.file, line: c.line, process: c.process.pid });
    if (app.selected?.id !== c.id) return;
    const pre = el('pre');
    s.lines.forEach((text, i) => {
      const n = s.from + i;
      const line = el('span', `${String(n).padStart(4)}  ${text}\n`, n === s.line ? 'here' : '');
      pre.append(line);
    });
    box.append(pre);
  } catch (error) {
    box.append(el('p', (error as Error).message, 'muted'));
  }
}
