// What a tool is: one question an agent (MCP) or a script (`recall query`) can ask of a trace.
// A tool has a name, a one-paragraph description, a zod input schema (which the MCP SDK turns
// into JSON Schema and validates), an output schema, and a run function that returns a Doc:
// the answer as ranked sections, which budget.ts fits to the caller's token budget. The
// structured answer carries the same facts as the text: the items shown, and how many were
// left out.

import * as z from 'zod';
import type { Doc } from './budget.js';
import type { TraceStore } from './traces.js';

export interface ToolContext {
  store: TraceStore;
}

export interface ToolAnswer {
  doc: Doc;
  /** Facts outside the sections (trace, totals, the call asked about). */
  data: Record<string, unknown>;
}

export interface Tool {
  /** Without the `recall_` prefix MCP adds. */
  name: string;
  description: string;
  input: z.ZodObject;
  output: z.ZodObject;
  /** True when an answer may end with a cursor that `cursor` continues. */
  pages?: boolean;
  run(ctx: ToolContext, input: Record<string, unknown>): ToolAnswer | Promise<ToolAnswer>;
}

/** Inputs every tool takes. */
export const traceInput = {
  trace: z.string().optional().describe('trace dir; default latest'),
  budget: z.number().min(60).optional().describe('max answer tokens, default 2000'),
};

export const cursorInput = { cursor: z.string().optional().describe('from a previous answer, for the next page') };

/** Output fields every answer has (the section keys differ per tool). Kept terse: tools/list
 *  carries every schema, and it must stay within 2,500 tokens. `omitted` (items left out per
 *  section) is in every answer too, outside the schema. */
export const answerOutput = {
  trace: z.string(),
  tokens: z.number(),
  cursor: z.string().nullable(),
};

/** A section's shown items, as the output schema names them. */
export const items = z.array(z.any());

/** A thread index (0 = the first thread file; answers name threads by index). */
export const threadInput = z.number().min(0);

/** An answer's output schema: the common fields and the tool's own (more are allowed). */
export function answerSchema(fields: z.ZodRawShape): z.ZodObject {
  return z.looseObject({ ...answerOutput, ...fields });
}

/** The first items of a ranked list that could fit the budget (no item costs under `least`
 *  tokens, 3 by default): a tool words only these, and gives the section the list's full
 *  length as its total. */
export function fitting<T>(list: readonly T[], input: Record<string, unknown>, least = 3): T[] {
  const budget = (input.budget as number | undefined) ?? 2000;
  return list.slice(0, Math.ceil(budget / least));
}
