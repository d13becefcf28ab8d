// `recall index [trace] [--process PID] [--rebuild]`: build the query index beside a trace now
// (the views, `recall query` and `recall mcp` otherwise build it on first use), or say it is
// current. The MCP server runs this in a child process, so the memory a build takes is never
// its own.

import { statSync } from 'node:fs';
import { openQuery } from '../query/open.js';
import { parse } from './args.js';
import { formatBytes } from '../text/format.js';
import { viewProcess } from './view-common.js';

export const INDEX_HELP = `usage: recall index [trace] [--process PID] [--rebuild]

Build the query index beside the trace (index.recall-idx, about 5% of the trace) so the first
question asked of it is fast. It is rebuilt by itself whenever the trace changes.

options:
  --process PID  a child process of the trace (default: the root)
  --rebuild      build it even when the stored one is current
`;

const OPTIONS = {
  process: { type: 'string' },
  rebuild: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function indexCommand(args: string[]): number {
  const { values, positionals } = parse('index', args, OPTIONS);
  if (values.help) {
    process.stdout.write(INDEX_HELP);
    return 0;
  }
  const q = openQuery(positionals[0] ?? 'recall-trace', { ...viewProcess('index', values.process), rebuild: values.rebuild === true });
  q.close();
  const { index } = q;
  const size = index.written || !index.built ? formatBytes(statSync(index.path).size) : 'not written';
  const how = index.built ? `built in ${(index.ms / 1000).toFixed(2)} s${index.written ? '' : ' (the trace directory is not writable: it was not kept)'}` : 'current';
  process.stdout.write(`${index.path}: ${how}, ${size}\n`);
  for (const problem of q.problems) process.stderr.write(`recall: WARNING: ${problem}\n`);
  return index.built && !index.written ? 1 : 0;
}
