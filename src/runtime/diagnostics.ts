// Runtime spans and point events from Node's own instrumentation: HTTP server and client
// requests (node:diagnostics_channel `http.server.request.start` / `http.server.response.finish`,
// `http.client.request.start` / `http.client.response.finish` / `http.client.request.error`),
// fetch (undici's `undici:request:create` / `:headers` / `:trailers` / `:error`), new sockets
// (`net.client.socket`, `net.server.socket`), child processes and garbage collections.
//
// A span is EXT_SPAN_BEGIN, a note naming it ({event:'span', kind, method, url, host?}; aux = the
// note's serial), and EXT_SPAN_END (aux = that serial) with a note of how it ended ({status} or
// {error}); the begin serial is kept per request object in a WeakMap. URLs keep their path;
// query values whose key looks secret (or that look like a credential themselves) become
// `[redacted]`, fragments are dropped. Point events are EXT_NOTE with a note ({event:'socket'}).
// Child processes are recorded (EXT_SPAWN) where they are followed, in follow.ts.
// Workers are recorded by the Worker wrapper (worker-events.ts), not by the `worker_threads`
// channel (newer Node only). Every channel named here is published by Node 20.20 (read from its
// lib sources); a channel Node does not publish costs nothing, so none is probed for.
//
// Garbage collections: a PerformanceObserver on 'gc' entries records EXT_GC (aux = duration in
// µs) on the thread that collected. Node delivers entries in a later setImmediate, so the
// record's time is when the observer ran, shortly after the collection; the collection's own
// start time is not kept (the index lane's times stay in order).
//
// Cheap when idle and never keeping the process alive: subscribers run only when Node
// publishes (a program without HTTP never calls them), the observer holds no handle, and the
// immediate Node uses to deliver entries is one-shot.

import dc from 'node:diagnostics_channel';
import { PerformanceObserver } from 'node:perf_hooks';
import { EXT_GC, EXT_NOTE, EXT_SPAN_BEGIN, EXT_SPAN_END } from '../format/layout.js';
import type { RecordConfig } from './config.js';
import { noopProbes, type Probes } from './recorder.js';
import { hideFramesOf } from './stack-traces.js';

type Global = typeof globalThis & { __recall: Probes };
type Message = Record<string, unknown>;

const g = globalThis as Global;

/** Query keys (lowercased, non-alphanumerics removed) containing one of these are redacted. */
const SECRET_KEYS = ['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'key', 'auth', 'cookie', 'credential', 'session', 'sig', 'signature', 'code'];
const URL_LIMIT = 300;

let redactUrls = true;
let extraKeys: string[] = [];

/** Begin serial of each open span, by the object Node publishes for it (request or response). */
const open = new WeakMap<object, number>();
/** fetch: the status from `undici:request:headers`, until the request ends. */
const fetchStatus = new WeakMap<object, number>();

function recording(): Probes | null {
  const recorder = g.__recall;
  return recorder === noopProbes || recorder === undefined ? null : recorder;
}

function secretKey(key: string): boolean {
  let name: string;
  try {
    name = decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    name = key;
  }
  name = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_KEYS.some((word) => name.includes(word)) || extraKeys.some((word) => name.includes(word));
}

/** A value that looks like a credential on its own: long, token-like, letters and digits. */
function secretValue(value: string): boolean {
  return value.length >= 20 && /^[A-Za-z0-9+/_=.%-]+$/.test(value) && /[0-9]/.test(value) && /[A-Za-z]/.test(value);
}

/** The path of a request URL with secret-looking query values redacted, without the fragment. */
export function safePath(url: unknown): string {
  if (typeof url !== 'string') return '';
  let text = url;
  const hash = text.indexOf('#');
  if (hash >= 0) text = text.slice(0, hash);
  const query = text.indexOf('?');
  if (query >= 0 && redactUrls) {
    const pairs = text
      .slice(query + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0) return pair;
        const key = pair.slice(0, eq);
        const value = pair.slice(eq + 1);
        return secretKey(key) || secretValue(value) ? `${key}=[redacted]` : pair;
      });
    text = `${text.slice(0, query)}?${pairs.join('&')}`;
  }
  return text.length > URL_LIMIT ? `${text.slice(0, URL_LIMIT - 1)}…` : text;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function begin(key: unknown, body: Message): void {
  const recorder = recording();
  if (recorder === null || typeof key !== 'object' || key === null) return;
  const serial = recorder.note(EXT_SPAN_BEGIN, { event: 'span', ...body });
  if (serial !== 0) open.set(key, serial);
}

function end(key: unknown, how: Message): void {
  if (typeof key !== 'object' || key === null) return;
  const serial = open.get(key);
  if (serial === undefined) return;
  open.delete(key);
  g.__recall.extNote(EXT_SPAN_END, serial, { event: 'span-end', ...how });
}

function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error).slice(0, 100);
  const { code, name } = error as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'Error';
}

function subscribe(name: string, onMessage: (message: Message) => void): void {
  const handler = (message: unknown): void => {
    try {
      if (typeof message === 'object' && message !== null) onMessage(message as Message);
    } catch {
      // never let recall's bookkeeping reach the program
    }
  };
  if (typeof dc.subscribe === 'function') dc.subscribe(name, handler);
  else dc.channel(name).subscribe(handler);
}

function subscribeHttp(): void {
  subscribe('http.server.request.start', ({ request, response }) => {
    const req = request as Message;
    begin(response, { kind: 'http.server', method: str(req.method), url: safePath(req.url) });
  });
  subscribe('http.server.response.finish', ({ response }) => {
    end(response, { status: (response as Message).statusCode });
  });
  subscribe('http.client.request.start', ({ request }) => {
    const req = request as Message;
    begin(request, { kind: 'http.client', method: str(req.method), host: str(req.host), url: safePath(req.path) });
  });
  subscribe('http.client.response.finish', ({ request, response }) => {
    end(request, { status: (response as Message).statusCode });
  });
  subscribe('http.client.request.error', ({ request, error }) => {
    end(request, { error: errorName(error) });
  });
}

function subscribeFetch(): void {
  subscribe('undici:request:create', ({ request }) => {
    const req = request as Message;
    begin(request, { kind: 'fetch', method: str(req.method), host: str(req.origin), url: safePath(req.path) });
  });
  subscribe('undici:request:headers', ({ request, response }) => {
    const status = (response as Message | undefined)?.statusCode;
    if (typeof request === 'object' && request !== null && typeof status === 'number') fetchStatus.set(request, status);
  });
  subscribe('undici:request:trailers', ({ request }) => {
    if (typeof request !== 'object' || request === null) return;
    end(request, { status: fetchStatus.get(request) });
    fetchStatus.delete(request);
  });
  subscribe('undici:request:error', ({ request, error }) => {
    if (typeof request !== 'object' || request === null) return;
    end(request, { status: fetchStatus.get(request), error: errorName(error) });
    fetchStatus.delete(request);
  });
}

function subscribeSockets(): void {
  for (const kind of ['net.client', 'net.server']) {
    subscribe(`${kind}.socket`, () => {
      recording()?.note(EXT_NOTE, { event: 'socket', kind });
    });
  }
}

function observeGc(): void {
  try {
    const observer = new PerformanceObserver((list) => {
      const recorder = recording();
      if (recorder === null) return;
      for (const entry of list.getEntries()) recorder.ext(EXT_GC, Math.min(0xffffffff, Math.round(entry.duration * 1000)));
    });
    observer.observe({ entryTypes: ['gc'] });
  } catch {
    // no gc entries on this platform: nothing to record
  }
}

export function installDiagnostics(config: RecordConfig): void {
  hideFramesOf(import.meta.url);
  const redact = config.detail?.redact;
  redactUrls = redact?.enabled !== false;
  extraKeys = (redact?.keys ?? []).map((key) => key.toLowerCase().replace(/[^a-z0-9]/g, '')).filter((key) => key.length > 0);
  subscribeHttp();
  subscribeFetch();
  subscribeSockets();
  observeGc();
}
