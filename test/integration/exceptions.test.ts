// `recall exceptions` against what real programs did (issue 12 item 5): a `catch {}` without a
// binding still shows the error it caught; a rejection that crossed an await is one exception,
// with its error and where it was caught; a worker's uncaught error ended the worker, not the
// process.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { record, recall, untraced } from '../helpers.js';

interface CallJson {
  name: string;
  args: unknown[] | null;
}
interface ExceptionJson {
  id: number;
  thread: number;
  message: string;
  outcome: string;
  ended?: string;
  error: { $: string; class?: string; message?: string } | null;
  thrownIn: CallJson | null;
  thrownByUntracedCodeIn: CallJson | null;
  caughtBy: (CallJson & { topLevel?: boolean }) | null;
  through: CallJson[];
  stack: CallJson[];
}

function exceptions(dir: string): { list: ExceptionJson[]; text: string } {
  const json = recall(['exceptions', dir, '--format', 'json']);
  assert.equal(json.status, 0, json.stderr);
  const text = recall(['exceptions', dir]);
  assert.equal(text.status, 0, text.stderr);
  return { list: (JSON.parse(json.stdout) as { exceptions: ExceptionJson[] }).exceptions, text: text.stdout };
}

test('catch {} without a binding: the SyntaxError it caught is shown (function, async function, module code)', () => {
  const { dir, result } = record('detail/optional-catch.js');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, untraced('detail/optional-catch.js').stdout);
  const { list, text } = exceptions(dir);
  assert.deepEqual(
    list.map((x) => [x.caughtBy?.topLevel ? '(top level)' : x.caughtBy?.name, x.outcome, x.error?.class]),
    [
      ['(top level)', 'caught', 'SyntaxError'],
      ['parseLater', 'caught', 'SyntaxError'],
      ['parseOr', 'caught', 'SyntaxError'],
    ],
  );
  assert.deepEqual(list[2]?.caughtBy?.args, ['{bad', 'fallback']);
  assert.doesNotMatch(text, /thrown value undefined|error value not recorded/);
  assert.match(text, /SyntaxError: .*JSON[\s\S]*parseOr\(text='\{bad'/);
});

test("a worker's uncaught error ended the worker, not the process", () => {
  const { dir, result } = record('detail/worker-throws.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /worker failed: bad message[\s\S]*main goes on/);
  const { list, text } = exceptions(dir);
  assert.equal(list.length, 1);
  const [thrown] = list as [ExceptionJson];
  assert.notEqual(thrown.thread, 0);
  assert.equal(thrown.outcome, 'uncaught');
  assert.equal(thrown.ended, 'worker');
  assert.equal(thrown.thrownIn?.name, 'handle');
  assert.equal(thrown.error?.class, 'TypeError');
  assert.match(text, new RegExp(`UNCAUGHT: it ended worker thread ${thrown.thread}\\b`));
  assert.doesNotMatch(text, /ended the process/);
  // On the main thread the same words still say the process.
  const main = record('detail/parse-items.js', { args: ['uncaught'] });
  assert.equal(main.result.status, 1);
  const last = exceptions(main.dir).list.at(-1) as ExceptionJson;
  assert.equal(last.ended, 'process');
});

test('a rejection that crossed an await is one exception, with its error and where it was caught', () => {
  const { dir, result } = record('detail/rejection-await.mjs');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'main caught inner 1\nrow 1\nloop caught rows ran out\n');
  const { list, text } = exceptions(dir);
  assert.deepEqual(
    list.map((x) => [x.thrownIn?.name, x.error?.message, x.outcome, x.caughtBy?.name]),
    [
      ['inner', 'inner 1', 'caught', 'main'],
      ['rows', 'rows ran out', 'caught', 'main'],
    ],
  );
  assert.deepEqual(list[0]?.stack.map((c) => c.name), ['inner', 'passThrough', 'main']);
  assert.match(text, /^2 exceptions$/m);
  assert.doesNotMatch(text, /error value not recorded|still in flight/);
  assert.match(text, /rows\(\).*threw here\n.*through a promise: main\(\).*caught here/);
  // From the index lane alone, the caller that returned the promise still leads to the catch.
  const bare = record('detail/rejection-await.mjs', { flags: ['--no-detail'] });
  assert.equal(bare.result.status, 0, bare.result.stderr);
  const first = exceptions(bare.dir).list[0] as ExceptionJson;
  assert.deepEqual([first.thrownIn?.name, first.outcome, first.caughtBy?.name], ['inner', 'caught', 'main']);
});
