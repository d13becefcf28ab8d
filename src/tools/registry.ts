// The one tool registry: every question recall answers for agents (MCP) and scripts
// (`recall query`), and the runner that turns a tool's Doc into the answer both give — text
// fitted to the token budget, and structured content with the same items, what was left out
// and the cursor.

import { RecallError } from '../format/errors.js';
import { reopenAfterIndexDamage } from '../query/index-file.js';
import { DEFAULT_BUDGET, fitDoc } from './budget.js';
import { callTool, findCallsTool } from './calls.js';
import { diffTool } from './diff.js';
import { eventsTool } from './events.js';
import { exceptionsTool } from './exceptions.js';
import { hotspotsTool } from './hotspots.js';
import { overviewTool } from './overview.js';
import { recordTool } from './record.js';
import { stackTool } from './stack.js';
import { loadTokenizer } from './tokens.js';
import type { Tool, ToolContext } from './tool.js';
import { treeTool } from './tree.js';

export const TOOLS: readonly Tool[] = [overviewTool, hotspotsTool, exceptionsTool, findCallsTool, callTool, treeTool, stackTool, eventsTool, diffTool, recordTool];

export function toolNamed(name: string): Tool {
  const bare = name.replace(/^recall_/, '');
  const tool = TOOLS.find((t) => t.name === bare);
  if (!tool) throw new RecallError('E_USAGE', `no tool '${name}'; tools: ${TOOLS.map((t) => t.name).join(', ')}`);
  return tool;
}

export interface Answer {
  text: string;
  structured: Record<string, unknown>;
}

/** Run a tool on validated input and fit its answer to the budget. */
export async function answer(ctx: ToolContext, tool: Tool, input: Record<string, unknown>): Promise<Answer> {
  await loadTokenizer();
  const budget = (input.budget as number | undefined) ?? DEFAULT_BUDGET;
  // The traces the tool reads, indexed before it runs (in a child process for the server).
  const dirs: string[] = [];
  for (const key of ['trace', 'base'] as const) {
    if (key in tool.input.shape && (key === 'trace' || input[key] !== undefined)) {
      try {
        dirs.push(ctx.store.resolve(input[key] as string | undefined));
      } catch {
        // the tool says what is wrong with it
      }
    }
  }
  for (const dir of dirs) await ctx.store.prepare(dir);
  let ran: Awaited<ReturnType<Tool['run']>> | null = null;
  for (let attempt = 0; ran === null; attempt++) {
    try {
      ran = await tool.run(ctx, input);
    } catch (error) {
      // A part of an index read on first use was damaged: open the traces again, which
      // rebuilds it, and answer once more.
      if (!reopenAfterIndexDamage(error, attempt)) throw error;
      for (const dir of dirs) {
        ctx.store.forget(dir);
        await ctx.store.prepare(dir);
      }
    }
  }
  const { doc, data } = ran;
  const fitted = fitDoc(doc, budget);
  const omitted: Record<string, number> = {};
  let cursor: string | null = null;
  const structured: Record<string, unknown> = { trace: '', ...data };
  for (const [key, section] of Object.entries(fitted.sections)) {
    structured[key] = section.shown;
    if (section.omitted > 0) omitted[key] = section.omitted;
    cursor ??= section.cursor;
  }
  if (typeof structured.trace !== 'string' || structured.trace === '') {
    structured.trace = ctx.store.name(ctx.store.resolve(input.trace as string | undefined));
  }
  structured.tokens = fitted.tokens;
  structured.omitted = omitted;
  structured.cursor = cursor;
  return { text: fitted.text, structured };
}
