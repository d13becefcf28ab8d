// `recall view [trace] [--port N] [--host 127.0.0.1] [--no-open] [--process PID]`: open every
// process of the trace (or the one --process names) with its index (built now when missing),
// serve the web viewer (src/viewer/server.ts) on a loopback address behind a
// random token, print its URL as the one line on stdout, and open a browser unless told not to
// (or when there is no display). Runs until interrupted.

import { spawn } from 'node:child_process';
import { RecallError } from '../format/errors.js';
import { runtimeTracks } from '../viewer/runtime.js';
import { prepareTimelines } from '../viewer/timeline.js';
import { startViewer } from '../viewer/server.js';
import { ViewerTrace } from '../viewer/viewer-trace.js';
import { parse } from './args.js';
import { viewProcess } from './view-common.js';

export const VIEW_HELP = `usage: recall view [trace] [--port N] [--host 127.0.0.1] [--no-open] [--process PID]

A web viewer for a trace: a timeline and flame chart per thread of every process (child
processes the program started under their parent, on one time axis), search over every function,
a call's details (recorded argument values, callers) and stepping between calls. The browser
asks the server for what it draws, so the trace stays on the server.

It serves on 127.0.0.1 behind a token that is random per run and prints one line, the URL
to open (http://127.0.0.1:PORT/?token=TOKEN). Ctrl-C stops it.

options:
  --port N      the port (default 0: any free port)
  --host H      a loopback address: 127.0.0.1 (default), ::1 or localhost
  --no-open     do not open a browser (one is opened only when there is a display)
  --process PID one process of the trace only (default: every process; see recall info)

keys in the viewer: / search, n / p next / previous call of the function, u parent,
d first child, arrows pan, + / - zoom, 0 the whole thread; #call=ID in the URL selects a call
(IDs of calls outside the first process end in @PID: c0.123@4567).
`;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'no-open': { type: 'boolean' },
  process: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function portOption(value: unknown): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RecallError('E_USAGE', `view: --port takes a port number 0-65535 (0: any free port), not '${String(value)}'`);
  return n;
}

/** Open `url` in the desktop's browser, when there is a desktop; never fails the command. */
function openBrowser(url: string): boolean {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export async function viewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('view', args, OPTIONS);
  if (values.help) {
    process.stdout.write(VIEW_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new RecallError('E_USAGE', `view: one trace at a time, not ${positionals.length} (see recall view --help)`);
  const port = portOption(values.port);
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const v = ViewerTrace.open(positionals[0] ?? 'recall-trace', viewProcess('view', values.process));
  for (const p of v.processes) for (const problem of p.q.problems) process.stderr.write(`recall view: ${p.first ? '' : `process ${p.pid}: `}${problem}\n`);
  for (const problem of v.problems) process.stderr.write(`recall view: ${problem}\n`);
  // Threads of millions of events: their whole-time layout once now, so zoomed-out views need no walk.
  const started = performance.now();
  const prepared: number[] = [];
  for (const p of v.processes) {
    prepared.push(...prepareTimelines(p.q));
    // The runtime-event tracks (from the index's runtime rows) too: the page asks for them before its first view.
    runtimeTracks(p.q);
  }
  if (prepared.length > 0) process.stderr.write(`recall view: laid out ${prepared.length} large thread${prepared.length === 1 ? '' : 's'} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const viewer = await startViewer(v, { port, host });
  process.stdout.write(`${viewer.url}\n`);
  const opened = values['no-open'] !== true && openBrowser(viewer.url);
  process.stderr.write(`recall view: serving ${v.dir}${v.processes.length > 1 ? ` (${v.processes.length} processes)` : ''}${opened ? ' (opened in your browser)' : ''}; Ctrl-C stops it\n`);
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      void viewer.close().then(() => {
        v.close();
        resolve(0);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
