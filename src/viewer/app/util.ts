// The viewer app's shared pieces: the shapes of the server's answers (src/viewer/*.ts), the
// one way to ask the API, the viewer's call ids (`c<thread>.<position>`, with `@PID` outside the
// first process), element helpers, and how times and colours are shown.

/** A thread: `index` in the viewer's numbering over every process, `local` in its process (`pid`). */
export interface ThreadInfo { index: number; local: number; pid: number; id: number; name: string; events: number; startNs: number; endNs: number }
export interface ProcessInfo { pid: number; parentPid: number | null; command: string[]; depth: number; threads: number[] }
export interface Overview { dir: string; command: string[]; pid: number; times: boolean; clock: string; startNs: number; endNs: number; processes: ProcessInfo[]; threads: ThreadInfo[]; problems: string[] }
/** [depth, startNs, endNs, fn, call position, calls merged, threw]. */
export type Span = [number, number, number, number, number, number, number];
export interface Timeline { thread: number; fromNs: number; toNs: number; width: number; spans: Span[]; names: Record<string, string>; deeper: number }
export interface CallDetails {
  id: string; thread: number; threadId: number; fn: number; process: { pid: number; command: string[]; first: boolean }; name: string; where: string; file: string; line: number;
  enterNs: number | null; exitNs: number | null; durationNs: number | null; selfNs: number | null; timed: boolean; outcome: string;
  values: { label: string; text: string }[]; recorded: boolean;
  callers: { id: string; name: string; where: string; resumed: boolean }[];
  children: { fn: number; name: string; calls: number; totalNs: number | null; selfNs: number | null; throws: number }[];
}
export interface FunctionHit { fn: number; process: number; name: string; where: string; calls: number; totalNs: number | null; selfNs: number | null; throws: number }
export interface CallBrief { id: string; process: number; name: string; enterNs: number | null; durationNs: number | null; outcome: string; args?: string }
export interface ExceptionRow { id: string; process: number; error: string; call: string | null; name: string | null; where: string; thread: number; thrownNs: number | null; outcome: string; caughtIn: string | null }
export interface RangeAnswer { fromNs: number; toNs: number; calls: number; functionCount: number; functions: FunctionHit[]; exceptions: ExceptionRow[] }
export interface SourceExcerpt { file: string; line: number; from: number; lines: string[] }

export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el as T;
};

/** An element with text (and a class). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', cls = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** A list item holding a button that runs `action`. */
export function itemButton(text: string, action: () => void, title = ''): HTMLLIElement {
  const li = el('li');
  const b = el('button', text);
  if (title) b.title = title;
  b.addEventListener('click', action);
  li.append(b);
  return li;
}

export async function api<T>(path: string, params: Record<string, string | number> = {}, signal?: AbortSignal): Promise<T> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await fetch(`/api/${path}?${query}`, signal ? { signal } : {});
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

export function fmtNs(ns: number | null | undefined): string {
  if (ns === null || ns === undefined || Number.isNaN(ns)) return '?';
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns.toFixed(0)} ns`;
  if (a < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(4)} s`;
}

export function colorOf(fn: number, threw: boolean, many: boolean): string {
  if (threw) return many ? 'hsl(350 70% 70%)' : 'hsl(350 75% 58%)';
  const hue = (fn * 137.508) % 360;
  return many ? `hsl(${hue} 30% 72%)` : `hsl(${hue} 55% 62%)`;
}

export interface RuntimeTrack { thread: number; gc: [number, number][]; spans: { beginNs: number; endNs: number | null; label: string; status: number | null; error: string | null }[]; instants: [number, string, string][]; spawns: [number, number][]; omitted: number }
export interface RuntimeAnswer { threads: RuntimeTrack[]; messages: [number, number, number, number][]; unpaired: number; counts: { gc: number; spans: number; workers: number; messages: number }; spawns: [number, number, number, number][] }

/** The viewer's id of the call that began at `position` of a thread: qualified by pid outside the first process (`firstPid`). */
export function callIdOf(thread: ThreadInfo, position: number, firstPid: number): string {
  return `c${thread.local}.${position}${thread.pid === firstPid ? '' : `@${thread.pid}`}`;
}

/** The record position a call id names (its call's enter). */
export function positionOf(id: string): number {
  return Number(/^c\d+\.(\d+)/.exec(id)?.[1] ?? NaN);
}

/** ` [pid N]` for a process other than the first, else nothing: said after a function or call from another process. */
export function processTag(pid: number | undefined, firstPid: number): string {
  return pid === undefined || pid === firstPid ? '' : `  [pid ${pid}]`;
}
