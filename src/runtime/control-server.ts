// The recording side of `recall ctl`: an owner-only Unix socket, p<pid>.ctl.sock in the trace
// directory, served by the drain worker between its passes (Drain.runServing). Each connection
// carries one request line of JSON and gets one response line (format/control-protocol.ts).
// The socket is made under a temporary name, restricted to its owner (0600), then renamed into
// place, so no one else can connect even for an instant. A directory whose path is too long for
// a socket address gets the socket in a private temporary directory and a symbolic link to it.

import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_OPS, CONTROL_REQUEST_MAX_BYTES, controlSocketName, type ControlRequest, type ControlResponse } from '../format/control-protocol.js';

/** Longest socket path Linux takes (sun_path is 108 bytes with its NUL). */
const SOCKET_PATH_MAX = 107;

export interface ControlServer {
  /** Stop listening and remove the socket (synchronously: the process may end right after). */
  close(): void;
}

/** Listen for control requests of process `pid` of the trace in `dir`; null when no socket can be made. */
export function startControlServer(dir: string, pid: number, answer: (request: ControlRequest) => ControlResponse): ControlServer | null {
  const link = join(dir, controlSocketName(pid));
  let path = link;
  let privateDir: string | null = null;
  if (Buffer.byteLength(link) > SOCKET_PATH_MAX) {
    privateDir = join(tmpdir(), `recall-ctl-${process.getuid?.() ?? 0}-${pid}`);
    path = join(privateDir, 'ctl.sock');
  }
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > CONTROL_REQUEST_MAX_BYTES) {
        socket.end(JSON.stringify({ ok: false, code: 'E_USAGE', message: 'control request too long' }) + '\n');
        return;
      }
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      socket.end(JSON.stringify(respond(text.slice(0, newline), answer)) + '\n');
    });
  });
  server.on('error', () => {
    // a socket that cannot be served is only the loss of live control, never of the recording
  });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    if (privateDir !== null) {
      rmSync(privateDir, { recursive: true, force: true });
      mkdirSync(privateDir, { mode: 0o700 });
    }
    rmSync(temporary, { force: true });
    rmSync(path, { force: true });
    server.listen(temporary);
  } catch {
    return null;
  }
  server.once('listening', () => {
    try {
      chmodSync(temporary, 0o600);
      renameSync(temporary, path);
      if (privateDir !== null) symlinkSync(path, link);
    } catch {
      server.close();
    }
  });
  server.unref();
  return {
    close(): void {
      server.close();
      for (const file of [path, temporary, ...(privateDir !== null ? [link] : [])]) {
        try {
          unlinkSync(file);
        } catch {
          // not there
        }
      }
      if (privateDir !== null) rmSync(privateDir, { recursive: true, force: true });
    },
  };
}

function respond(line: string, answer: (request: ControlRequest) => ControlResponse): ControlResponse {
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, code: 'E_USAGE', message: 'control request is not JSON' };
  }
  if (typeof request !== 'object' || request === null || !CONTROL_OPS.includes(request.op)) {
    return { ok: false, code: 'E_USAGE', message: `unknown control operation; operations: ${CONTROL_OPS.join(', ')}` };
  }
  try {
    return answer(request);
  } catch (error) {
    return { ok: false, code: 'E_CONTROL', message: `${request.op} failed: ${(error as Error).message}` };
  }
}
