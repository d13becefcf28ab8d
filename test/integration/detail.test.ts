// The detail lane on real programs: exceptions with their values and where they were caught,
// async call paths across awaits and timers, redaction of secrets (the bytes appear nowhere in
// the trace), hostile values that must not change the program, and windowing (only windows
// reach disk; the pre-roll holds the calls just before the trigger).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { record, recall, untraced } from '../helpers.js';
import { openTrace } from '../../src/analysis/trace.js';
import { threadDetail } from '../../src/analysis/detail.js';

interface CallJson {
  name: string;
  params: string[];
  args: unknown[] | null;
  outcome: string | null;
  async: boolean;
}
interface ExceptionJson {
  id: number;
  message: string;
  outcome: string;
  error: { $: string; class?: string; message?: string } | null;
  thrownIn: CallJson | null;
  caughtBy: (CallJson & { topLevel?: boolean }) | null;
  through: CallJson[];
  stack: CallJson[];
}

function exceptions(dir: string): ExceptionJson[] {
  const result = recall(['exceptions', dir, '--format', 'json']);
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { exceptions: ExceptionJson[] }).exceptions;
}

function detailFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.det'));
}

test('exceptions: the throw in parse with the bad string, the caller\'s arguments, and where it was caught', () => {
  const { dir, result } = record('detail/parse-items.js');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('detail/parse-items.js').stdout);
  const list = exceptions(dir);
  assert.equal(list.length, 1);
  const [first] = list as [ExceptionJson];
  assert.equal(first.thrownIn?.name, 'parse');
  assert.deepEqual(first.thrownIn?.params, ['text']);
  assert.deepEqual(first.thrownIn?.args, ['{"broken":']);
  assert.equal(first.outcome, 'caught');
  assert.equal(first.caughtBy?.name, 'parseAll');
  assert.deepEqual(first.caughtBy?.params, ['items', 'options']);
  const callerArgs = JSON.stringify(first.caughtBy?.args);
  assert.match(callerArgs, /broken/);
  assert.match(callerArgs, /fallback/);
  assert.equal(first.error?.$, 'error');
  assert.equal(first.error?.class, 'SyntaxError');
  assert.deepEqual(first.stack.map((c) => c.name), ['parse', 'parseAll']);
  // Text view: readable in a terminal.
  const text = recall(['exceptions', dir]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /SyntaxError/);
  assert.match(text.stdout, /parse\(text='\{"broken":'\).*threw here/);
  assert.match(text.stdout, /parseAll\(items=.*caught here/);
});

test('exceptions: an uncaught throw is reported as uncaught with its error', () => {
  const { dir, result } = record('detail/parse-items.js', { args: ['uncaught'] });
  assert.equal(result.status, 1);
  const list = exceptions(dir);
  const last = list[list.length - 1] as ExceptionJson;
  assert.equal(last.outcome, 'uncaught');
  assert.equal(last.thrownIn?.name, 'parse');
  assert.deepEqual(last.thrownIn?.args, ['{nope']);
  assert.match(last.message, /SyntaxError/);
});

test('async chain: tree and stack show the logical path across awaits and timers', () => {
  const { dir, result } = record('detail/async-chain.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'ok 7\nfailed: no user 42\n');
  const list = exceptions(dir);
  assert.equal(list.length, 1);
  const [thrown] = list as [ExceptionJson];
  // Thrown on a later tick (after two awaits and two timers), still attributed to its callers.
  assert.deepEqual(thrown.stack.map((c) => c.name), ['loadUser', 'handler', 'main']);
  assert.deepEqual(thrown.thrownIn?.args, [42]);
  assert.equal(thrown.caughtBy?.name, 'main');
  assert.equal(thrown.error?.message, 'no user 42');
  const stack = recall(['stack', dir, '--at', 'x1', '--format', 'json']);
  assert.equal(stack.status, 0, stack.stderr);
  const frames = (JSON.parse(stack.stdout) as { frames: (CallJson & { resumedAfterAwait: boolean })[] }).frames;
  assert.deepEqual(frames.map((f) => f.name), ['loadUser', 'handler', 'main']);
  assert.equal(frames[0]?.resumedAfterAwait, true);
  const tree = recall(['tree', dir, '--format', 'json']);
  assert.equal(tree.status, 0, tree.stderr);
  interface Node { name: string; children: Node[]; outcome: string | null; awaits: unknown[] }
  const roots = (JSON.parse(tree.stdout) as { threads: { calls: Node[] }[] }).threads[0]?.calls ?? [];
  const main = roots.find((n) => n.name === 'main') as Node;
  const handlers = main.children.filter((n) => n.name === 'handler');
  assert.equal(handlers.length, 2);
  const failing = handlers[1] as Node;
  assert.equal(failing.outcome, 'throw');
  const loadUser = failing.children.find((n) => n.name === 'loadUser') as Node;
  assert.equal(loadUser.outcome, 'throw');
  assert.equal(loadUser.awaits.length, 2);
  assert.ok(loadUser.children.some((n) => n.name === 'fetchRow'), 'fetchRow (called after an await) stays under loadUser');
  const text = recall(['tree', dir]);
  assert.match(text.stdout, /⏸ await/);
});

test('secrets are redacted before they reach a ring: the bytes appear nowhere in the trace', () => {
  // Chunks stored plain, so the files' bytes are the values as recorded (a compressed chunk would hide them either way).
  const plain = { spawn: { env: { ...process.env, RECALL_CODEC: 'none' } } };
  const { dir, result } = record('detail/secrets.js', plain);
  assert.equal(result.status, 0, result.stderr);
  const list = exceptions(dir);
  const login = list.find((x) => x.thrownIn?.name === 'login') as ExceptionJson;
  const credentials = JSON.stringify(login.thrownIn?.args);
  assert.match(credentials, /ann/);
  assert.match(credentials, /\[redacted\]/);
  const text = recall(['exceptions', dir]);
  assert.match(text.stdout, /user: 'ann'/);
  assert.match(text.stdout, /password: \[redacted\]/);
  for (const name of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, name), 'latin1');
    for (const secret of ['hunter2', 's3cr3t-bearer', 'c00kie-value', 'tok-abcdef-123', 'key-zyxwv', 'MIIBOgIBAAJBAK']) {
      assert.ok(!bytes.includes(secret), `${secret} found in ${name}`);
    }
  }
  // --no-redact keeps values (and proves the test above could fail).
  const open = record('detail/secrets.js', { flags: ['--no-redact'], ...plain });
  const det = detailFiles(open.dir).map((name) => readFileSync(join(open.dir, name), 'latin1')).join('');
  assert.ok(det.includes('hunter2'));
  // --redact adds keys.
  const extra = record('detail/secrets.js', { flags: ['--redact', 'user'], ...plain });
  assert.ok(!detailFiles(extra.dir).map((name) => readFileSync(join(extra.dir, name), 'latin1')).join('').includes('"ann"'));
});

test('hostile values: behaviour unchanged, getters and traps never run, snapshots bounded', () => {
  const plain = untraced('detail/hostile.js');
  const { dir, result } = record('detail/hostile.js');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, plain.stdout);
  assert.match(result.stdout, /getters 0 traps 0/);
  const list = exceptions(dir);
  const take = list.find((x) => x.thrownIn?.name === 'take') as ExceptionJson;
  assert.ok(take.thrownIn?.args, 'arguments recorded');
  assert.equal(take.thrownIn?.args?.length, 8);
  const bytes = detailFiles(dir).reduce((sum, name) => sum + readFileSync(join(dir, name)).byteLength, 0);
  assert.ok(bytes < 64 * 1024, `detail files hold ${bytes} bytes for one bounded window`);
});

test('windowing: only windows reach disk, and the pre-roll holds the calls just before the throw', () => {
  const total = 40000;
  const { dir, result } = record('detail/long-run.js', { args: [String(total)], flags: ['--capture', 'step', '--post-calls', '20'] });
  assert.equal(result.status, 0, result.stderr);
  const trace = openTrace(dir);
  const windows = trace.manifest.windows ?? [];
  assert.equal(windows.length, 1);
  assert.equal(windows[0]?.trigger, 'throw');
  const thread = trace.threads[0]!;
  const detail = threadDetail(trace, thread);
  const steps = [...detail.records.values()].filter((r) => r.body.k === 'entry').map((r) => (r.body.args as number[])[0] as number);
  const half = total / 2;
  assert.ok(steps.includes(half - 1), 'the call just before the throw is in the pre-roll');
  assert.ok(steps.includes(half), 'the throwing call');
  assert.ok(steps.every((i) => i > half - 1000 && i < half + 1000), `only calls around the throw: ${Math.min(...steps)}..${Math.max(...steps)}`);
  assert.ok(steps.length < 400, `${steps.length} entry snapshots persisted of ${total} captured`);
  // The index lane still has every call.
  const summary = JSON.parse(recall(['summary', dir, '--format', 'json']).stdout) as { functions: { name: string; calls: number }[] };
  assert.equal(summary.functions.find((f) => f.name === 'step')?.calls, total);
});

test('no trigger, no disk: a run without throws or slow calls writes no detail file; --no-detail writes none at all', () => {
  // A slow threshold no call here reaches even on a loaded machine: default triggers otherwise.
  const quiet = record('fib.js', { flags: ['--trigger', 'slow=30s'] });
  assert.equal(quiet.result.status, 0, quiet.result.stderr);
  assert.deepEqual(detailFiles(quiet.dir), []);
  const off = record('detail/parse-items.js', { flags: ['--no-detail'] });
  assert.equal(off.result.status, 0, off.result.stderr);
  assert.deepEqual(detailFiles(off.dir), []);
  // Where the exception was caught is still known from the index lane.
  const [first] = exceptions(off.dir) as [ExceptionJson];
  assert.equal(first.thrownIn?.name, 'parse');
  assert.equal(first.thrownIn?.args, null);
  assert.equal(first.caughtBy?.name, 'parseAll');
});

test('marks: recall.mark is a no-op untraced, a marker with redacted data traced, and a window trigger', () => {
  assert.equal(untraced('detail/marks.mjs').stdout, '4950\n');
  const { dir, result } = record('detail/marks.mjs', { flags: ['--trigger', 'mark'] });
  assert.equal(result.stdout, '4950\n');
  const trace = openTrace(dir);
  const detail = threadDetail(trace, trace.threads[0]!);
  const mark = [...detail.records.values()].find((r) => r.body.k === 'mark');
  assert.equal(mark?.body.label, 'checkpoint');
  assert.equal((mark?.body.data as { props?: Record<string, unknown> }).props?.token ?? (mark?.body.data as Record<string, unknown>).token, '[redacted]');
  assert.equal(trace.manifest.windows?.[0]?.trigger, 'mark');
  // The call after the mark is in its post-roll.
  assert.ok([...detail.records.values()].some((r) => r.body.k === 'call' && JSON.stringify(r.body.args) === '[100]'));
});

test('slow calls open a window with their arguments and return value; bad trigger specs are one-line errors', () => {
  const { dir } = record('detail/async-chain.mjs', { flags: ['--trigger', 'slow=12ms', '--trigger', 'no-throw'] });
  const trace = openTrace(dir);
  const detail = threadDetail(trace, trace.threads[0]!);
  const slow = [...detail.records.values()].filter((r) => r.body.k === 'slow');
  assert.ok(slow.length > 0);
  assert.ok(slow.every((r) => (r.body.ms as number) > 12));
  assert.ok((trace.manifest.windows ?? []).every((w) => w.trigger === 'slow'));
  const bad = recall(['run', '--trigger', 'sometimes', '--', process.execPath, '-e', '1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^recall: run: unknown --trigger 'sometimes'/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.ok(!existsSync(join(process.cwd(), 'recall-trace', 'nonexistent')));
});

test('value predicates: a call whose argument passes the test opens a window, others cost no disk', () => {
  const { dir, result } = record('detail/long-run.js', { args: ['3000'], flags: ['--trigger', 'none', '--trigger', 'arg=step:0=1234', '--post-calls', '2'] });
  assert.equal(result.status, 0, result.stderr);
  const trace = openTrace(dir);
  assert.deepEqual((trace.manifest.windows ?? []).map((w) => w.trigger), ['arg']);
  const detail = threadDetail(trace, trace.threads[0]!);
  const firstArgs = [...detail.records.values()].map((r) => (r.body.args as number[] | undefined)?.[0]);
  assert.equal(firstArgs[0], 1234);
  assert.ok(firstArgs.every((i) => i !== undefined && i >= 1234 && i <= 1236), JSON.stringify(firstArgs));
  const bad = recall(['run', '--trigger', 'arg=step', '--', process.execPath, '-e', '1']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--trigger arg= takes GLOB:N~TEXT/);
});
