// `recall mcp [--root DIR] [--no-record]`: run the MCP server on stdio (src/mcp/server.ts).
// Only traces under the root are read; recall_record runs programs only under it.

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../mcp/flags.js';
import { parse } from './args.js';

export const MCP_HELP = `usage: recall mcp [--root DIR] [--no-record]

An MCP server on stdin/stdout for coding agents: tools recall_overview, recall_hotspots,
recall_exceptions, recall_find_calls, recall_call, recall_tree, recall_stack, recall_events,
recall_diff and recall_record, each answering within a token budget.

options:
  --root DIR    read traces only under DIR (default: the current directory)
  --no-record   leave out recall_record (the one tool that runs programs)

Add it to a client, e.g. { "mcpServers": { "recall": { "command": "npx", "args": ["recall", "mcp"] } } }
`;

const OPTIONS = {
  root: { type: 'string' },
  'no-record': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function mcpCommand(args: string[]): Promise<number> {
  const { values } = parse('mcp', args, OPTIONS);
  if (values.help) {
    process.stdout.write(MCP_HELP);
    return 0;
  }
  // V8 takes heap flags only at start-up: run the server in a child Node started with them,
  // which owns stdin and stdout (the wire); this process only waits and passes signals on.
  if (!SERVER_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
    const child = spawn(process.execPath, [...process.execArgv, ...SERVER_NODE_FLAGS, fileURLToPath(new URL('./main.js', import.meta.url)), 'mcp', ...args], { stdio: 'inherit' });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
    return new Promise((done) => {
      child.on('error', (error) => {
        process.stderr.write(`recall mcp: cannot start the server: ${error.message}\n`);
        done(1);
      });
      child.on('exit', (code, signal) => done(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)));
    });
  }
  const { serveMcp } = await import('../mcp/server.js');
  serveMcp({ root: (values.root as string | undefined) ?? process.cwd(), record: values['no-record'] !== true });
  return 0;
}
