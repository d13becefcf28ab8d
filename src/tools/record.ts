// recall_record: record a program under the root with `recall run`, then answer with the new
// trace's overview and the end of the program's output — so an agent can reproduce a bug and
// then ask about it. The only tool that runs anything; `recall mcp --no-record` leaves it out.
// The program runs with the server's environment, in `cwd` (under the root), and is stopped
// (SIGTERM, then SIGKILL) after `timeoutSec`.

import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { RecallError } from '../format/errors.js';
import { overview } from './overview.js';
import { answerSchema, items, traceInput, type Tool } from './tool.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const OUTPUT_KEPT = 64 * 1024;

interface Ran {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  output: string;
}

function run(args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, 'run', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > OUTPUT_KEPT * 2) output = output.slice(-OUTPUT_KEPT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      fail(new RecallError('E_SPAWN', `recall_record: cannot start recall run: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, timedOut, output });
    });
  });
}

export const recordTool: Tool = {
  name: 'record',
  description: 'Record a program with recall run (command: argv, e.g. ["node","app.js"]; cwd under the root; options: recall run flags like ["--capture","all"]) and return its overview and output tail.',
  input: z.object({
    command: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    timeoutSec: z.number().min(1).max(3600).optional(),
    options: z.array(z.string()).optional(),
    budget: traceInput.budget,
  }),
  output: answerSchema({ exitCode: z.number().nullable(), output: items }),
  async run(ctx, input) {
    const cwd = resolve(ctx.store.root, (input.cwd as string | undefined) ?? '.');
    let real: string;
    try {
      real = realpathSync(cwd);
    } catch {
      throw new RecallError('E_USAGE', `recall_record: no directory ${cwd}`);
    }
    if (!ctx.store.inside(real)) throw new RecallError('E_OUTSIDE_ROOT', `recall_record: cwd ${cwd} is outside the root ${ctx.store.root}`);
    const options = (input.options as string[] | undefined) ?? [];
    if (options.some((o) => o === '--out' || o.startsWith('--out='))) throw new RecallError('E_USAGE', 'recall_record: the trace goes to <cwd>/recall-trace; --out is not allowed here');
    const ran = await run([...options, '--', ...(input.command as string[])], real, ((input.timeoutSec as number | undefined) ?? 60) * 1000);
    const lines = ran.output.split('\n').filter((line) => line !== '');
    const dir = ctx.store.resolve(join(real, 'recall-trace'));
    await ctx.store.prepare(dir);
    const answer = overview(ctx, dir, input);
    const ended = ran.timedOut ? `stopped after ${String(input.timeoutSec ?? 60)} s (timeout)` : ran.signal ? `killed by ${ran.signal}` : `exit code ${ran.code}`;
    answer.doc.head.unshift(`recorded ${(input.command as string[]).join(' ')}: ${ended}`);
    answer.doc.sections.unshift({
      key: 'output',
      title: 'program output (last lines; recall lines included):',
      noun: 'earlier output lines',
      items: lines.reverse().map((line) => ({ text: `  ${line.length > 300 ? line.slice(0, 300) + '…' : line}`, data: { line } })),
      first: 6,
      reversed: true,
    });
    answer.data.exitCode = ran.code;
    answer.data.trace = ctx.store.name(dir);
    return answer;
  },
};
