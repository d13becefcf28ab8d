// The MCP server and `recall query` on small buggy programs, asked as an agent would: through
// the official SDK client over stdio. At a 2,000-token budget each answer must state the
// root-cause facts (the throwing function, the bad value, the caller chain, where the error was
// caught); at 300 tokens it must stay within budget and still name the thrower. Budgets are
// checked with the same tokenizer (o200k_base).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { CLI, FIXTURES, flipIndexByte, recall, tempDir } from '../helpers.js';

const root = tempDir('recall-mcp-');
let client: Client;

interface ToolResult {
  text: string;
  structured: Record<string, unknown>;
  isError: boolean;
}

async function ask(name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const result = (await client.callTool({ name, arguments: args })) as { content: { type: string; text?: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean };
  const text = result.content.map((c) => c.text ?? '').join('\n');
  return { text, structured: result.structuredContent ?? {}, isError: result.isError === true };
}

function recordBug(name: string, file: string): void {
  const result = recall(['run', '--quiet', '--out', join(root, name), '--', process.execPath, join(root, 'bugs', file)], { cwd: root });
  assert.ok(result.status === 0 || result.status === 1, `${name}: ${result.status} ${result.stderr}`);
}

before(async () => {
  mkdirSync(join(root, 'bugs'));
  cpSync(join(FIXTURES, 'bugs'), join(root, 'bugs'), { recursive: true });
  recordBug('async-throw', 'async-throw.js');
  recordBug('bad-value', 'bad-value.js');
  recordBug('worker-throw', 'worker-throw.cjs');
  recordBug('swallowed', 'swallowed.js');
  recordBug('slow', 'slow.js');
  client = new Client({ name: 'recall-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--root', root], stderr: 'pipe' }));
});

after(async () => {
  await client?.close();
  rmSync(root, { recursive: true, force: true });
});

function within(result: ToolResult, budget: number): void {
  const tokens = countTokens(result.text);
  assert.ok(tokens <= budget, `${tokens} tokens > budget ${budget}:\n${result.text}`);
  assert.equal(result.structured.tokens, tokens, 'structuredContent.tokens is the text count');
}

test('tools/list: ten tools, each with an output schema, in at most 2,500 tokens', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, ['recall_call', 'recall_diff', 'recall_events', 'recall_exceptions', 'recall_find_calls', 'recall_hotspots', 'recall_overview', 'recall_record', 'recall_stack', 'recall_tree']);
  for (const tool of tools) assert.ok(tool.outputSchema, `${tool.name} has an outputSchema`);
  const tokens = countTokens(JSON.stringify({ tools }));
  assert.ok(tokens <= 2500, `tools/list costs ${tokens} tokens`);
});

test('an async throw on a later tick: thrower, bad value, async callers, uncaught', async () => {
  const full = await ask('recall_exceptions', { trace: 'async-throw' });
  within(full, 2000);
  assert.match(full.text, /TypeError: Cannot read properties of undefined \(reading 'name'\)/);
  assert.match(full.text, /threw in loadUser\(id=7\)/);
  assert.match(full.text, /← greetAll\(ids=\[ 1, 2, 7 \]\).*\(async\)/);
  assert.match(full.text, /← main\(\)/);
  assert.match(full.text, /UNCAUGHT: it ended the process/);
  const small = await ask('recall_exceptions', { trace: 'async-throw', budget: 300 });
  within(small, 300);
  assert.match(small.text, /loadUser/);
  const stack = await ask('recall_stack', { trace: 'async-throw', at: 'x1' });
  assert.match(stack.text, /loadUser\(id=7\).*✗ threw here/);
});

test('a bad value passed down three calls: the value at every level and where it was caught', async () => {
  const full = await ask('recall_exceptions', { trace: 'bad-value' });
  within(full, 2000);
  assert.match(full.text, /RangeError: quantity must be positive, got -3/);
  assert.match(full.text, /threw in checkQuantity\(quantity=-3\)/);
  assert.match(full.text, /← lineTotal\(price=9, quantity=-3\)/);
  assert.match(full.text, /← priceOrder\(order=\{ sku: 'cake', price: 9, quantity: -3 \}\)/);
  assert.match(full.text, /← handleOrder\(text='cake,9,-3'\).*✓ caught here/);
  const structured = full.structured.exceptions as { thrownIn: { name: string; args: unknown[] }; caughtIn: string; callers: string[] }[];
  assert.equal(structured[0]?.thrownIn.name, 'checkQuantity');
  assert.deepEqual(structured[0]?.thrownIn.args, [-3]);
  assert.equal(structured[0]?.caughtIn, 'handleOrder');
  assert.deepEqual(structured[0]?.callers, ['lineTotal', 'priceOrder', 'handleOrder']);
  const small = await ask('recall_exceptions', { trace: 'bad-value', budget: 300 });
  within(small, 300);
  assert.match(small.text, /checkQuantity/);
});

test('a worker that throws on a message: the worker thread ended, not the process', async () => {
  const full = await ask('recall_exceptions', { trace: 'worker-throw' });
  within(full, 2000);
  assert.match(full.text, /TypeError: amount is not a number: "six"/);
  assert.match(full.text, /threw in applyDiscount\(amount='six'\)/);
  assert.match(full.text, /← sumBatch\(batch=\[ 5, 'six' \]\)/);
  assert.match(full.text, /← onBatch/);
  assert.match(full.text, /UNCAUGHT: it ended worker thread \d+ \(worker-throw.cjs\); the main thread gets its 'error' event/);
  const small = await ask('recall_exceptions', { trace: 'worker-throw', budget: 300 });
  within(small, 300);
  assert.match(small.text, /applyDiscount/);
  const events = await ask('recall_events', { trace: 'worker-throw', kind: 'worker' });
  assert.match(events.text, /worker-exit/);
});

test('a swallowed exception: caught, and the catcher went on as if nothing happened', async () => {
  const full = await ask('recall_exceptions', { trace: 'swallowed' });
  within(full, 2000);
  assert.match(full.text, /Error: config has no port/);
  assert.match(full.text, /threw in parseConfig\(text='\{"host": "example.org", "prt": 8080\}'\)/);
  assert.match(full.text, /← loadConfig.*✓ caught here/);
  assert.match(full.text, /loadConfig returned normally: the error went no further/);
  const small = await ask('recall_exceptions', { trace: 'swallowed', budget: 300 });
  within(small, 300);
  assert.match(small.text, /parseConfig/);
});

test('a slow quadratic function among many fast ones: first in hotspots, its calls and tree', async () => {
  for (const budget of [2000, 300]) {
    const hot = await ask('recall_hotspots', { trace: 'slow', budget });
    within(hot, budget);
    assert.match(hot.text.split('\n')[1] ?? '', /^uniqueTags\b/, hot.text);
  }
  const overview = await ask('recall_overview', { trace: 'slow', budget: 300 });
  within(overview, 300);
  assert.match(overview.text, /uniqueTags/);
  const calls = await ask('recall_find_calls', { trace: 'slow', function: 'normalize', budget: 300 });
  within(calls, 300);
  assert.match(calls.text, /^20,000 calls of normalize/);
  assert.match(calls.text, /more calls not shown \(cursor "k\d+\.\d+" for the next page\)/);
  const next = await ask('recall_find_calls', { trace: 'slow', function: 'normalize', budget: 300, cursor: calls.structured.cursor as string });
  const firstIds = (calls.structured.calls as { id: string }[]).map((c) => c.id);
  const nextIds = (next.structured.calls as { id: string }[]).map((c) => c.id);
  assert.ok(nextIds.length > 0 && !nextIds.some((id) => firstIds.includes(id)), 'the next page continues after the first');
  const one = await ask('recall_call', { trace: 'slow', call: firstIds[0] });
  assert.match(one.text, /normalize/);
  assert.match(one.text, /called by.*\n.*collect/);
});

test('paths outside the root are refused as tool errors; the latest trace is the default', async () => {
  const outside = await ask('recall_overview', { trace: '/etc' });
  assert.ok(outside.isError);
  assert.match(outside.text, /outside .*only traces under the root/);
  const missing = await ask('recall_overview', {});
  assert.ok(missing.isError);
  assert.match(missing.text, /no trace under/);
  const bad = await ask('recall_stack', { trace: 'slow', at: 'yesterday' });
  assert.ok(bad.isError);
  assert.match(bad.text, /at: a time/);
});

test('recall_record records a program under the root and answers with its overview', async () => {
  const result = await ask('recall_record', { command: ['node', 'bugs/bad-value.js'], budget: 800 });
  within(result, 800);
  assert.match(result.text, /^recorded node bugs\/bad-value.js: exit code 0/);
  assert.match(result.text, /order rejected: quantity must be positive, got -3/);
  assert.match(result.text, /checkQuantity/);
  const latest = await ask('recall_exceptions', {});
  assert.match(latest.text, /threw in checkQuantity\(quantity=-3\)/);
  const diff = await ask('recall_diff', { base: 'bad-value' });
  assert.match(diff.text, /^diff bad-value → recall-trace/);
});

test('recall query: the same tools on the command line, text and JSON', () => {
  const text = recall(['query', join(root, 'bad-value'), 'exceptions', '--budget', '300']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /threw in checkQuantity\(quantity=-3\)/);
  assert.ok(countTokens(text.stdout.trimEnd()) <= 300);
  const json = recall(['query', join(root, 'slow'), 'find_calls', 'function=unique*', '--format', 'json']);
  assert.equal(json.status, 0, json.stderr);
  const answer = JSON.parse(json.stdout) as { calls: { name: string }[]; matched: number };
  assert.equal(answer.matched, 1);
  assert.equal(answer.calls[0]?.name, 'uniqueTags');
  const wrong = recall(['query', join(root, 'slow'), 'find_calls', 'colour=red']);
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /^recall: query: find_calls takes .*not 'colour'\n$/);
});

test('recall index builds the index once; then it is current until the trace changes', () => {
  const dir = join(root, 'slow');
  const built = recall(['index', dir, '--rebuild']);
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stdout, /index\.recall-idx: built in \d+\.\d\d s, \d+(\.\d)? (B|KiB|MiB)\n$/);
  const again = recall(['index', dir]);
  assert.match(again.stdout, /index\.recall-idx: current, /);
  const missing = recall(['index', join(root, 'no-such-trace')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^recall: no trace at /);
});

test('an index damaged where it is read on first use is rebuilt, and the question answered', async () => {
  recordBug('damaged', 'slow.js');
  const dir = join(root, 'damaged');
  assert.equal(recall(['index', dir]).status, 0);
  // Flip a byte of the first thread's per-segment function rows (a lazy group: the open does not read it).
  const path = join(dir, 'index.recall-idx');
  writeFileSync(path, flipIndexByte(readFileSync(path), 'fnMax'));
  const calls = await ask('recall_find_calls', { trace: 'damaged', function: 'normalize', budget: 300 });
  assert.equal(calls.isError, false, calls.text);
  assert.match(calls.text, /^20,000 calls of normalize/);
  assert.match(recall(['index', dir]).stdout, /index\.recall-idx: current, /, 'the index was written again');
});
