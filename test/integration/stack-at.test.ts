// `recall stack --at` a time or an event, answered by the query engine: the logical stack
// across awaits (a frame that runs again after an await, then the calls that started it), in
// text and JSON, and the same from the recall_stack tool through `recall query`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recall, record } from '../helpers.js';
import { openQuery } from '../../src/query/open.js';

test('stack --at an event after an await: loadUser resumed, started by greetAll, started by main', () => {
  const { dir, result } = record('bugs/async-throw.js');
  assert.equal(result.status, 1, result.stderr);
  const q = openQuery(dir);
  let resumedAt = -1;
  try {
    const last = q.engine.calls({ function: 'loadUser' }).calls[2]!;
    const from = Number(last.id.split('.')[1]);
    for (let p = from + 1; resumedAt < 0 && p < q.engine.threads[0]!.index.records; p++) {
      const frames = q.engine.stackAt(0, { position: p }).frames;
      if (frames.length === 1 && frames[0]!.id === last.id) resumedAt = p;
    }
  } finally {
    q.close();
  }
  assert.ok(resumedAt > 0);
  const text = recall(['stack', dir, '--at', `e${resumedAt}`]);
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, new RegExp(`^thread 0 main · after event e${resumedAt} · last event e${resumedAt} at `));
  assert.match(lines[1]!, /^ {2}loadUser\(id=7\) .*async-throw\.js:6 {2}entered /);
  assert.equal(lines[2], '    ⤷ resumed after an await; started by:');
  assert.match(lines[3]!, /^ {2}greetAll\(ids=\[ 1, 2, 7 \]\) /);
  assert.match(lines.slice(4).join('\n'), /^ {2}main\(\) /m);
  const json = recall(['stack', dir, '--at', `e${resumedAt}`, '--format', 'json']);
  const answer = JSON.parse(json.stdout) as { frames: { name: string; resumedAfterAwait: boolean; args: unknown[] | null }[] };
  assert.deepEqual(answer.frames.map((f) => f.name), ['loadUser', 'greetAll', 'main']);
  assert.equal(answer.frames[0]!.resumedAfterAwait, true);
  assert.deepEqual(answer.frames[0]!.args, [7]);
  const tool = recall(['query', dir, 'stack', `at=e${resumedAt}`]);
  assert.equal(tool.status, 0, tool.stderr);
  assert.match(tool.stdout, /loadUser .*resumed after an await/);
  assert.match(tool.stdout, /greetAll/);
  const before = recall(['stack', dir, '--at', '0ms']);
  assert.match(before.stdout, /before its first event\n {2}no traced call was running/);
});
