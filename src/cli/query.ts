// `recall query <trace> <tool> [--budget N] [--format text|json] [name=value ...]`: one tool of
// the registry (the same ones `recall mcp` serves) on the command line. Values are taken as the
// tool's schema wants them: text as is, numbers and booleans and lists as JSON.

import { resolve } from 'node:path';
import * as z from 'zod';
import { RecallError } from '../format/errors.js';
import { parse, positiveInteger } from './args.js';
import { formatOption } from './view-common.js';

export const QUERY_HELP = `usage: recall query <trace> <tool> [--budget N] [--format text|json] [name=value ...]

Ask a trace one question with the tools the MCP server (recall mcp) serves, within a token
budget (default 2000 tokens, counted with the o200k_base tokenizer).

tools:
  overview                          command, exit, threads, totals, top functions, throws
  hotspots [by=self|total|calls] [thread=N] [from=T] [to=T]
  exceptions [thread=N]             errors, throwers with args, caller chains, where caught
  find_calls function=GLOB [where=GLOB:N~TEXT] [slowerThan=5ms] [threw=true] [from=T] [to=T] [cursor=K]
  call call=c<T>.<N>                one call: values, callers, callees
  tree call=ID | function=GLOB [pick=slowest|first] [depth=N]
  stack at=TIME|e<N>|c<T>.<N>|x<N> [thread=N]
  events [kind=K,K] [thread=N]
  diff base=TRACE                   <trace> compared with base
  record command='["node","app.js"]' [cwd=DIR] [timeoutSec=N] [options='["--capture","all"]']

example: recall query recall-trace find_calls function='parse*' threw=true --budget 500
`;

const OPTIONS = {
  budget: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Fields whose values are paths, resolved against the current directory. */
const PATHS = new Set(['trace', 'base', 'cwd']);

function coerce(schema: z.ZodType, name: string, raw: string): unknown {
  const direct = schema.safeParse(raw);
  if (direct.success) return direct.data;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const again = parsed !== undefined ? schema.safeParse(parsed) : direct;
  if (again.success) return again.data;
  const issue = again.error.issues[0];
  throw new RecallError('E_USAGE', `query: ${name}=${raw}: ${issue?.message ?? 'not a valid value'}`);
}

export async function queryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse('query', args, OPTIONS);
  if (values.help || positionals.length === 0) {
    process.stdout.write(QUERY_HELP);
    return values.help ? 0 : 2;
  }
  const format = formatOption('query', values.format);
  const [trace, toolName, ...pairs] = positionals;
  if (toolName === undefined) throw new RecallError('E_USAGE', 'query: name a tool after the trace (recall query --help lists them)');
  const { toolNamed, answer } = await import('../tools/registry.js');
  const { TraceStore } = await import('../tools/traces.js');
  const tool = toolNamed(toolName);
  const shape = tool.input.shape as Record<string, z.ZodType>;
  const input: Record<string, unknown> = {};
  if (trace !== undefined && 'trace' in shape) input.trace = resolve(trace);
  if (values.budget !== undefined) input.budget = positiveInteger('query', '--budget', values.budget as string, 2000);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new RecallError('E_USAGE', `query: arguments are name=value, not '${pair}'`);
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const field = shape[name];
    if (!field || name === 'budget') throw new RecallError('E_USAGE', `query: ${tool.name} takes ${Object.keys(shape).filter((k) => k !== 'budget').join(', ')}; not '${name}'`);
    input[name] = PATHS.has(name) ? resolve(raw) : coerce(field, name, raw);
  }
  if (tool.name === 'record' && input.cwd === undefined && trace !== undefined) input.cwd = resolve(trace);
  const checked = tool.input.safeParse(input);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const field = issue?.path.join('.') || 'input';
    const missing = issue !== undefined && issue.code === 'invalid_type' && input[field] === undefined;
    throw new RecallError('E_USAGE', `query: ${tool.name}: ${missing ? `${field}=... is required (recall query --help)` : issue ? `${field}: ${issue.message}` : 'bad arguments'}`);
  }
  const store = new TraceStore('/');
  try {
    const result = await answer({ store }, tool, checked.data as Record<string, unknown>);
    process.stdout.write(format === 'json' ? JSON.stringify(result.structured, null, 2) + '\n' : result.text + '\n');
  } finally {
    store.close();
  }
  return 0;
}
