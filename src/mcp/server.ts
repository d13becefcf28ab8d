// `recall mcp`: the tool registry served over MCP's stdio transport with the official SDK.
// Every tool is registered as recall_<name> with its input and output schemas; a tool's
// failure (a bad argument, a trace that is not there) is returned as a result with isError and
// one line saying what to do, never as a protocol error. Nothing but protocol messages is ever
// written to stdout: stdout is the wire.

import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio, type StdioServerHandle } from '@modelcontextprotocol/server/stdio';
import { isRecallError } from '../format/errors.js';
import { RECALL_VERSION } from '../format/version.js';
import { answer, TOOLS } from '../tools/registry.js';
import { TraceStore } from '../tools/traces.js';
import type { Tool } from '../tools/tool.js';

export interface McpOptions {
  root: string;
  /** Leave recall_record out (nothing is run). */
  record: boolean;
}

const INSTRUCTIONS =
  'recall answers questions about recorded program executions (traces). Start with recall_overview, then recall_exceptions or recall_hotspots; ' +
  'ids from answers (c<thread>.<event> calls, x<N> exceptions) work in recall_call, recall_tree and recall_stack. Every tool takes budget (tokens, default 2000).';

function register(server: McpServer, store: TraceStore, tool: Tool): void {
  server.registerTool(
    `recall_${tool.name}`,
    { description: tool.description, inputSchema: tool.input, outputSchema: tool.output, annotations: { readOnlyHint: tool.name !== 'record' } },
    async (args: Record<string, unknown>) => {
      try {
        const result = await answer({ store }, tool, args);
        return { content: [{ type: 'text' as const, text: result.text }], structuredContent: result.structured };
      } catch (error) {
        const message = isRecallError(error) ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)} (please report it)`;
        return { content: [{ type: 'text' as const, text: message }], isError: true };
      }
    },
  );
}

export function createServer(options: McpOptions, store = new TraceStore(options.root)): McpServer {
  const server = new McpServer({ name: 'recall', version: RECALL_VERSION }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  for (const tool of TOOLS) if (options.record || tool.name !== 'record') register(server, store, tool);
  return server;
}

/** Serve on this process's stdin/stdout until the client closes stdin. */
export function serveMcp(options: McpOptions): StdioServerHandle {
  // Indexes are built in child processes: the server keeps only what it loads.
  const store = new TraceStore(options.root, { buildInChild: true });
  return serveStdio(() => createServer(options, store), { onerror: (error) => process.stderr.write(`recall mcp: ${error.message}\n`) });
}
