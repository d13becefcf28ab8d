// The query engine's stack machine and index against the summary's walk (walk.ts), on seeded
// random record streams with every kind of record — nested calls, lost exits, throws,
// suspend/resume by serial, resumes nobody suspended, drop markers, runtime events — all timed
// (the summary estimates untimed calls; the engine does not). The per-function totals the
// index keeps must be exactly the walk's, and every answer the engine gives from a checkpoint
// must be what one walk from the first record gives.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EV_DROPPED, EV_ENTER, EV_EXIT, EV_EXT, EV_RESUME, EV_SUSPEND, EV_THROW, KIND_SHIFT } from '../format/layout.js';
import type { FunctionEntry } from '../format/manifest.js';
import { mulberry32 } from '../format/mulberry32.js';
import { Space } from '../analysis/kernel.js';
import { ACC_STRIDE, A_CALLS, A_SELF, A_TOTAL, A_UNFINISHED, ThreadWalker, accumulator, addSums } from '../analysis/walk.js';
import { ThreadIndexBuilder } from './builder.js';
import { QueryEngine, type RecordSource } from './engine.js';
import { NullSink, StackMachine } from './machine.js';
import type { ThreadIndex } from './thread-index.js';

type Rec = [head: number, aux: number, time: number];

/** A plausible, damaged-here-and-there stream of `length` timed records over functions 1..size. */
function stream(seed: number, length: number, size: number): Rec[] {
  const next = mulberry32(seed);
  const pick = (n: number): number => Math.floor(next() * n);
  const out: Rec[] = [];
  const stack: { fn: number; serial: number }[] = [];
  const suspended: { fn: number; serial: number }[] = [];
  let t = next() * 10;
  let serial = 1;
  const head = (kind: number, fn: number): number => ((kind << KIND_SHIFT) | fn) >>> 0;
  while (out.length < length) {
    t += next() < 0.1 ? 0 : next() * 0.01;
    const r = next();
    const fn = 1 + pick(size);
    if (r < 0.4 || stack.length === 0) {
      const s = next() < 0.15 ? serial++ : 0;
      out.push([head(EV_ENTER, fn), s, t]);
      stack.push({ fn, serial: s });
    } else if (r < 0.8) {
      // Exit the top frame, or now and then one further down (the exits between are lost).
      let depth = stack.length - 1;
      if (next() < 0.05) depth = pick(stack.length);
      const frame = stack[depth]!;
      stack.length = depth;
      out.push([head(next() < 0.1 ? EV_THROW : EV_EXIT, frame.fn), 0, t]);
    } else if (r < 0.87) {
      const top = stack.at(-1)!;
      if (top.serial !== 0) {
        stack.pop();
        out.push([head(EV_SUSPEND, top.fn), top.serial, t]);
        suspended.push(top);
      } else {
        out.push([head(EV_EXT, 1 + pick(15)), pick(100), t]);
      }
    } else if (r < 0.94 && suspended.length > 0) {
      const frame = suspended.splice(pick(suspended.length), 1)[0]!;
      out.push([head(EV_RESUME, frame.fn), frame.serial, t]);
      stack.push(frame);
    } else if (r < 0.95) {
      out.push([head(EV_DROPPED, 0), 1 + pick(50), t]);
      stack.length = 0;
    } else if (r < 0.97) {
      // An exit nothing matches, or a resume nobody suspended (a serial of its own: a real
      // recorder never resumes a serial under another function).
      const kind = next() < 0.5 ? EV_EXIT : EV_RESUME;
      const orphan = 1_000_000 + serial++;
      out.push([head(kind, fn), orphan, t]);
      if (kind === EV_RESUME) stack.push({ fn, serial: orphan });
    } else {
      out.push([head(EV_EXT, 1 + pick(15)), pick(100), t]);
    }
  }
  return out.slice(0, length);
}

function encode(records: Rec[]): { u32: Uint32Array; f64: Float64Array } {
  const u32 = new Uint32Array(records.length * 4);
  const f64 = new Float64Array(u32.buffer);
  records.forEach(([head, aux, time], i) => {
    u32[i * 4] = head;
    u32[i * 4 + 1] = aux;
    f64[i * 2 + 1] = time;
  });
  return { u32, f64 };
}

/** The index of one stream, fed in chunks of random sizes. */
function indexOf(records: Rec[], segmentRecords: number, seed: number): ThreadIndex {
  const { u32, f64 } = encode(records);
  const builder = new ThreadIndexBuilder(segmentRecords);
  const next = mulberry32(seed);
  for (let at = 0; at < records.length; ) {
    const count = Math.min(records.length - at, 1 + Math.floor(next() * 200));
    builder.chunk(at * 16, count);
    builder.records(u32, f64, at * 4, count);
    at += count;
  }
  return builder.finish('t.idx', 0, 'main', 0, []);
}

/** An engine over records held in memory. */
function engineOf(records: Rec[], index: ThreadIndex, segmentRecords: number, size: number): QueryEngine {
  const { u32, f64 } = encode(records);
  const source: RecordSource = {
    read: (_index, from, to) => ({ u32, f64, word: from * 4, count: Math.max(0, Math.min(to, records.length) - from) }),
  };
  const functions = new Map<number, FunctionEntry>();
  for (let id = 1; id <= size; id++) functions.set(id, { id, name: `f${id}`, file: 'x.js', line: id, column: 1, kind: 'function' });
  return new QueryEngine([{ index, shiftMs: 0 }], functions, segmentRecords, source, () => new Map());
}

describe('the query machine follows the summary walk', () => {
  test('per-function calls, total, self and unfinished are exactly the walk\'s (random streams)', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const size = 1 + (seed % 9);
      const records = stream(seed, 100 + ((seed * 7919) % 3000), size);
      const { u32, f64 } = encode(records);
      const walker = new ThreadWalker(size + 1, null, new Space(0, seed % 2 === 0));
      walker.records(u32, f64, 0, records.length);
      walker.end();
      const acc = accumulator(size + 1);
      addSums(acc, walker.sums());
      const index = indexOf(records, 1 + (seed % 50), seed);
      const totals = index.totals;
      for (let fn = 1; fn <= size; fn++) {
        const i = Array.from(totals.fn).indexOf(fn);
        const got = (column: Float64Array): number => (i < 0 ? 0 : (column[i] as number));
        const a = fn * ACC_STRIDE;
        assert.equal(got(totals.calls), acc[a + A_CALLS], `seed ${seed} f${fn} calls`);
        assert.ok(Object.is(got(totals.total), acc[a + A_TOTAL]), `seed ${seed} f${fn} total ${got(totals.total)} vs ${acc[a + A_TOTAL]}`);
        assert.ok(Object.is(got(totals.self), acc[a + A_SELF]), `seed ${seed} f${fn} self ${got(totals.self)} vs ${acc[a + A_SELF]}`);
        assert.equal(got(totals.unfinished), acc[a + A_UNFINISHED], `seed ${seed} f${fn} unfinished`);
      }
    }
  });

  test('the stack from a checkpoint is the stack of one walk from the start', () => {
    for (let seed = 200; seed < 260; seed++) {
      const size = 1 + (seed % 7);
      const records = stream(seed, 1500, size);
      const segmentRecords = 1 + (seed % 40);
      const engine = engineOf(records, indexOf(records, segmentRecords, seed), segmentRecords, size);
      const { u32, f64 } = encode(records);
      const machine = new StackMachine(new NullSink());
      for (let pos = 0; pos < records.length; pos++) {
        machine.step(u32, f64, pos * 4, pos);
        if (pos % 7 !== seed % 7) continue;
        const expected: string[] = [];
        for (let level = 0; level < machine.depth; level++) expected.push(`c0.${machine.call(level)}:${machine.fn(level)}`);
        const answer = engine.stackAt(0, { position: pos });
        assert.deepEqual(
          answer.frames.map((f) => `${f.id}:${f.fn}`),
          expected,
          `seed ${seed} position ${pos}`,
        );
        assert.equal(answer.suspended, machine.suspended.size, `seed ${seed} position ${pos} suspended`);
      }
    }
  });

  test('call() and subtree() from the index (long calls) equal the walk of the whole call; calls() lists every call once', () => {
    for (let seed = 300; seed < 340; seed++) {
      const size = 1 + (seed % 5);
      const records = stream(seed, 1200, size);
      const segmentRecords = 3 + (seed % 30);
      const index = indexOf(records, segmentRecords, seed);
      const engine = engineOf(records, index, segmentRecords, size);
      let listed = 0;
      let cursor: string | undefined;
      const seen = new Set<string>();
      do {
        const page = engine.calls({ limit: 17, ...(cursor !== undefined ? { cursor } : {}) });
        for (const brief of page.calls) {
          assert.ok(!seen.has(brief.id), `seed ${seed}: ${brief.id} listed twice`);
          seen.add(brief.id);
          const call = engine.call(brief.id);
          const walked = engine.subtree(brief.id, 3, { walk: true });
          type Children = typeof call.children;
          const strip = (children: Children, levels: number): unknown =>
            levels === 0 ? [] : children.map(({ fn, calls, totalNs, selfNs, throws, children: below }) => ({ fn, calls, totalNs, selfNs, throws, below: strip(below, levels - 1) })).sort((a, b) => a.fn - b.fn);
          const same = (a: Children, b: Children, levels: number): boolean => JSON.stringify(strip(a, levels)) === JSON.stringify(strip(b, levels));
          assert.ok(same(call.children, walked.children, 1), `seed ${seed} ${brief.id} children`);
          for (const depth of [2, 3]) {
            assert.ok(same(engine.subtree(brief.id, depth).children, walked.children, depth), `seed ${seed} ${brief.id} subtree depth ${depth}`);
          }
          assert.equal(call.durationNs, walked.totalNs, `seed ${seed} ${brief.id} duration`);
          assert.equal(call.selfNs, walked.selfNs, `seed ${seed} ${brief.id} self`);
          assert.equal(brief.durationNs, call.durationNs, `seed ${seed} ${brief.id} listed duration`);
          assert.equal(brief.outcome, call.outcome, `seed ${seed} ${brief.id} outcome`);
        }
        listed += page.calls.length;
        cursor = page.cursor ?? undefined;
      } while (cursor !== undefined);
      const enters = records.filter(([head]) => head >>> KIND_SHIFT === EV_ENTER).length;
      assert.equal(listed, enters, `seed ${seed}: every enter is one call`);
      // One function at a time (segments skipped by the inverted index, walks stopped once the
      // function's calls in the segment ended): exactly its calls of the whole listing, in order.
      const everyId = [...seen];
      for (let fn = 1; fn <= size; fn++) {
        const ids: string[] = [];
        let next: string | undefined;
        do {
          const page = engine.calls({ function: `f${fn}`, limit: 5, ...(next !== undefined ? { cursor: next } : {}) });
          for (const brief of page.calls) ids.push(brief.id);
          next = page.cursor ?? undefined;
        } while (next !== undefined);
        const expected = everyId.filter((id) => engine.call(id).fn === fn);
        assert.deepEqual(ids, expected, `seed ${seed}: the calls of f${fn}`);
      }
    }
  });
});
