// The ring protocol under contention (docs/FORMAT.md, "Ring protocol"): several workers fill
// tiny rings at once while the drain copies them, and every recorded event of every worker is
// checked against the exact sequence the fixture's deterministic call pattern produces. A record
// the drain copied before its producer's stores landed (a head published too early), a slot
// reused before the drain took it, or a record left unpublished at exit shows up as a
// mismatch or a wrong count.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { record } from '../helpers.js';
import { openTrace } from '../../src/analysis/trace.js';
import { threadEvents } from '../../src/analysis/events.js';
import type { Manifest } from '../../src/format/manifest.js';

const WORKERS = 4;
const ITERATIONS = 20000;

/** The (kind, function name) sequence worker k records: ring-hammer.mjs's rule. */
function* expected(k: number): Generator<string> {
  yield 'enter hammer';
  for (let i = 0; i < ITERATIONS; i++) {
    const j = (i * 7 + k) % 4;
    yield `enter shape${j}`;
    for (let n = 0; n < j; n++) {
      yield 'enter leaf';
      yield 'exit leaf';
    }
    yield `exit shape${j}`;
  }
  yield 'exit hammer';
}

for (const [label, flags] of [
  ['64-event rings, spilling', ['--ring-size', '64']],
  ['256-event rings, no spill: drops with exact accounting', ['--ring-size', '256', '--spill-size', '0']],
] as const) {
  test(`${WORKERS} workers hammering ${label}: every record of every thread is intact and in order`, () => {
    const { dir, result } = record('ring-hammer.mjs', {
      args: [String(WORKERS), String(ITERATIONS)],
      flags: [...flags, '--trigger', 'none', '--no-runtime-events'],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^sums /);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(manifest.status, 'complete');
    const trace = openTrace(dir, { verify: true });
    assert.deepEqual(trace.problems, []);
    const spilling = !(flags as readonly string[]).includes('--spill-size');
    for (let k = 0; k < WORKERS; k++) {
      const thread = trace.threads.find((t) => t.info.name.startsWith(`hammer-${k} `));
      assert.ok(thread, `worker ${k} has a thread: ${trace.threads.map((t) => t.info.name).join(', ')}`);
      const info = thread.info;
      assert.equal(info.produced, info.written + info.dropped, `worker ${k}: produced = written + dropped`);
      if (spilling) assert.equal(info.dropped, 0, `worker ${k}: the spill ring keeps everything`);
      const want = expected(k);
      let index = 0;
      let dropped = 0;
      let next = want.next();
      for (const event of threadEvents(trace, thread)) {
        if (event.kind === 'dropped') {
          // A gap: the marker counts the events lost; skip exactly that many of the expected ones.
          dropped += event.aux;
          for (let n = 0; n < event.aux; n++) next = want.next();
          continue;
        }
        if (event.kind !== 'enter' && event.kind !== 'exit') continue; // top-level module frames
        if (event.name !== 'hammer' && event.name !== 'leaf' && !event.name.startsWith('shape')) continue;
        assert.equal(next.done, false, `worker ${k}: an event past the expected end at ${index}: ${event.kind} ${event.name}`);
        assert.equal(`${event.kind} ${event.name}`, next.value, `worker ${k}: event ${index}`);
        index++;
        next = want.next();
      }
      // Events dropped after the last room the drain made have no marker: the counter has them.
      let unmarked = 0;
      for (; next.done !== true; next = want.next()) unmarked++;
      if (spilling) assert.equal(unmarked, 0, `worker ${k}: ${index} events recorded, more expected`);
      assert.equal(dropped + unmarked, info.dropped, `worker ${k}: the markers and the counter account for every missing event`);
    }
  });
}
