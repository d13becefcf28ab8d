// The viewer's HTTP server (`recall view`): node:http on a loopback address, behind a token
// that is random per run. A request passes with the token as the `token` query parameter or
// as the cookie the page sets when it is opened with it; every other request gets 401. It
// serves only the web app's own files (a fixed list read from dist/src/viewer/app at start, so
// no path can reach outside it) and the JSON API (api.ts) over the trace it was started on (all
// its processes, viewer-trace.ts).
// It only reads. It writes nothing to stdout: the CLI prints the URL.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isRecallError, RecallError } from '../format/errors.js';
import type { QueryTrace } from '../query/open.js';
import { answerReopening } from './api.js';
import { ViewerTrace } from './viewer-trace.js';

const COOKIE = 'recall_token';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Loopback addresses the viewer may bind. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface ViewerOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** A loopback address (default 127.0.0.1). */
  host?: string;
  /** The token (default: 32 random bytes, hex); for tests. */
  token?: string;
}

export interface Viewer {
  url: string;
  port: number;
  host: string;
  server: Server;
  close(): Promise<void>;
}

/** The app's files (name -> bytes), read once: only these names are ever served. */
function appFiles(): Map<string, Buffer> {
  const dir = fileURLToPath(new URL('./app/', import.meta.url));
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    const ext = name.slice(name.lastIndexOf('.'));
    if (TYPES[ext] !== undefined && /^[a-z0-9-]+\.[a-z]+$/.test(name)) files.set(name, readFileSync(dir + name));
  }
  if (!files.has('index.html')) throw new RecallError('E_USAGE', `the viewer's app is missing from ${dir} (run npm run build)`);
  return files;
}

function cookieToken(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === COOKIE) return rest.join('=');
  }
  return null;
}

function same(a: string | null, b: string): boolean {
  if (a === null || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Nothing from the network: the page loads only its own files and asks only its own API.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    ...headers,
  });
  res.end(body);
}

function hostOk(req: IncomingMessage, port: number): boolean {
  // A page on another site that resolves its name to 127.0.0.1 (DNS rebinding) sends its own Host.
  const host = req.headers.host ?? '';
  return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

/** Serve the viewer for an opened trace (every process of it, or one opened process); resolves once listening. */
export async function startViewer(trace: ViewerTrace | QueryTrace, options: ViewerOptions = {}): Promise<Viewer> {
  const v = trace instanceof ViewerTrace ? trace : ViewerTrace.of(trace);
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new RecallError('E_USAGE', `view: --host must be a loopback address (127.0.0.1, ::1 or localhost), not '${host}': the viewer serves only this machine`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RecallError('E_USAGE', `view: --port must be a port number 0-65535 (0: any free port), not '${port}'`);
  const token = options.token ?? randomBytes(32).toString('hex');
  const files = appFiles();
  let bound = 0;

  const server = createServer((req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(res, 405, 'text/plain; charset=utf-8', 'only GET\n', { allow: 'GET, HEAD' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const fromQuery = url.searchParams.get('token');
      const authorized = same(fromQuery, token) || same(cookieToken(req), token);
      if (!authorized || !hostOk(req, bound)) {
        send(res, 401, 'text/plain; charset=utf-8', 'recall view: open the URL recall view printed (it holds the token)\n');
        return;
      }
      const path = url.pathname;
      if (path.startsWith('/api/')) {
        let body: string;
        try {
          body = JSON.stringify(answerReopening(v, path.slice(5), url.searchParams));
        } catch (error) {
          if (isRecallError(error)) {
            send(res, error.code === 'E_OUTSIDE_ROOT' ? 403 : 400, 'application/json', JSON.stringify({ error: error.message, code: error.code }));
            return;
          }
          throw error;
        }
        send(res, 200, 'application/json', body);
        return;
      }
      const name = path === '/' ? 'index.html' : path.slice(1);
      const file = files.get(name);
      if (file === undefined) {
        send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
        return;
      }
      const headers: Record<string, string> = {};
      // Opened with the token: the page's own requests carry it as a cookie from now on.
      if (name === 'index.html' && fromQuery !== null) headers['set-cookie'] = `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
      send(res, 200, TYPES[name.slice(name.lastIndexOf('.'))]!, file, headers);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ error: `internal error: ${message}` }));
      else res.end();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(new RecallError('E_USAGE', error.code === 'EADDRINUSE' ? `view: port ${port} is in use; pick another with --port, or --port 0 for any free one` : `view: cannot listen on ${host}:${port}: ${error.message}`));
    });
    server.listen(port, host, () => resolve());
  });
  bound = (server.address() as AddressInfo).port;
  // While the browser starts and loads the app, read the parts of the indexes that are read on
  // first use, so no zoom or search pays for them (a damaged part is reported by the request
  // that needs it).
  setImmediate(() => {
    for (const p of v.processes) {
      try {
        p.q.engine.warm();
      } catch {
        // reported where it is needed
      }
    }
  });
  const shownHost = host === '::1' ? '[::1]' : host;
  return {
    url: `http://${shownHost}:${bound}/?token=${token}`,
    port: bound,
    host,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
