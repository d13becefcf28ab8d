#!/usr/bin/env node
// The `recall` command: dispatches to run, the views, query, mcp, export, sql and view. Every failure is one line on
// stderr ("recall: ...") and a non-zero exit code; recall's own stack traces are shown only
// with RECALL_DEBUG=1.

import { isRecallError } from '../format/errors.js';
import { RECALL_VERSION } from '../format/version.js';

// Each command's module is loaded only when it runs: loading all of them took ~35 ms of every
// start (recall summary on a large trace is timed against reading the files).

const HELP = `recall ${RECALL_VERSION} — a flight recorder for Node.js programs

usage:
  recall run [options] -- <command...>   record a program (see recall run --help)
  recall summary [trace] [--format text|json|csv] [--top N] [--thread ID] [--process PID|all]
  recall info [trace] [--format text|json] [--process PID]
  recall exceptions [trace] [--thread ID]   every throw: error, stack with values, where caught
  recall stack [trace] --at WHEN            the call stack (sync + async) at a time/event/exception
  recall tree [trace] [--thread ID] [--depth N] [--min-time D]   the exact call tree
  recall events [trace] [--thread ID] [--kind K]   messages, workers, spans, gc, scheduling
  recall query <trace> <tool> [--budget N] [name=value...]   one question, answered within a token budget
  recall mcp [--root DIR] [--no-record]     MCP server (stdio) for coding agents
  recall index [trace]                      build the query index now (else built on first use)
  recall export [trace] --format perfetto|chrome|speedscope|parquet [--out FILE]   other tools' formats
  recall diff <base> <trace> [--format text|json]   what changed between two recordings, by function
  recall sql [trace] "<query>" [--format text|json|csv]   SQL (DuckDB) over calls, functions, exceptions, ...
  recall view [trace] [--port N] [--host H] [--no-open]   web viewer: timeline, search, call details (127.0.0.1, token)
  recall ctl <trace|pid> status|pause|resume|snapshot|set K=V   control a recording while it runs

A trace is the directory recall run wrote (default ./recall-trace/<name>-<time>;
./recall-trace alone means the latest one).
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'run':
      return (await import('./run.js')).runCommand(args);
    case 'summary':
      return (await import('./summary.js')).summaryCommand(args);
    case 'info':
      return (await import('./info.js')).infoCommand(args);
    case 'exceptions':
      return (await import('./exceptions.js')).exceptionsCommand(args);
    case 'stack':
      return (await import('./stack.js')).stackCommand(args);
    case 'tree':
      return (await import('./tree.js')).treeCommand(args);
    case 'events':
      return (await import('./events.js')).eventsCommand(args);
    case 'query':
      return (await import('./query.js')).queryCommand(args);
    case 'index':
      return (await import('./index-command.js')).indexCommand(args);
    case 'export':
      return (await import('./export.js')).exportCommand(args);
    case 'diff':
      return (await import('./diff.js')).diffCommand(args);
    case 'sql':
      return (await import('./sql.js')).sqlCommand(args);
    case 'mcp':
      return (await import('./mcp.js')).mcpCommand(args);
    case 'view':
      return (await import('./view.js')).viewCommand(args);
    case 'ctl':
      return (await import('./ctl.js')).ctlCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      const topic = args[0];
      const topics: Record<string, () => Promise<string>> = {
        run: async () => (await import('./run.js')).RUN_HELP,
        summary: async () => (await import('./summary.js')).SUMMARY_HELP,
        info: async () => (await import('./info.js')).INFO_HELP,
        exceptions: async () => (await import('./exceptions.js')).EXCEPTIONS_HELP,
        stack: async () => (await import('./stack.js')).STACK_HELP,
        tree: async () => (await import('./tree.js')).TREE_HELP,
        events: async () => (await import('./events.js')).EVENTS_HELP,
        query: async () => (await import('./query.js')).QUERY_HELP,
        index: async () => (await import('./index-command.js')).INDEX_HELP,
        export: async () => (await import('./export.js')).EXPORT_HELP,
        diff: async () => (await import('./diff.js')).DIFF_HELP,
        sql: async () => (await import('./sql.js')).SQL_HELP,
        mcp: async () => (await import('./mcp.js')).MCP_HELP,
        view: async () => (await import('./view.js')).VIEW_HELP,
        ctl: async () => (await import('./ctl.js')).CTL_HELP,
      };
      const help = topic !== undefined ? topics[topic] : undefined;
      process.stdout.write(help ? await help() : HELP);
      return command === undefined ? 2 : 0;
    }
    case '--version':
    case '-v':
      process.stdout.write(`${RECALL_VERSION}\n`);
      return 0;
    default:
      process.stderr.write(`recall: unknown command '${command}'; commands: run, summary, info, exceptions, stack, tree, events, query, mcp, index, export, diff, sql, view, ctl (recall --help)\n`);
      return 2;
  }
}

// Not for a run, which writes nothing to stdout but its help: the program shares it, and
// creating the stream is milliseconds of start-up before the program starts.
const writesStdout = process.argv[2] !== 'run' || process.argv.includes('--help') || process.argv.includes('-h');
if (writesStdout) {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0); // `recall summary | head` closed the pipe
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isRecallError(error)) {
      process.stderr.write(`recall: ${error.message}\n`);
      process.exitCode = error.code === 'E_USAGE' ? 2 : 1;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`recall: internal error: ${message} (set RECALL_DEBUG=1 for details; please report it)\n`);
    if (process.env.RECALL_DEBUG === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 70;
  },
);
