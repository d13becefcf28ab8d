// fitDoc: never over budget (counted whole with the real tokenizer), exact counts of what was
// left out, every section its first items before any gets more, brief forms when full ones do
// not fit, and the cursor of the first item not shown.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { fitDoc, type Doc } from './budget.js';
import { countTokens, loadTokenizer } from './tokens.js';

before(async () => {
  await loadTokenizer();
});

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('random documents at random budgets: within budget, with exact omitted counts', () => {
  const rnd = random(7);
  const words = ['fib', '×242,785', 'self', '31 ms', 'parseConfig(text=\'{"a":1}\')', '✗ threw', '← main()', 'src/app.ts:12', 'µs', '…'];
  for (let round = 0; round < 200; round++) {
    const sections = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, s) => {
      const count = Math.floor(rnd() * 40);
      return {
        key: `s${s}`,
        title: rnd() < 0.5 ? `section ${s}:` : undefined,
        noun: 'things',
        total: count + (rnd() < 0.3 ? Math.floor(rnd() * 1000) : 0),
        items: Array.from({ length: count }, (_, i) => {
          const line = () => Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => words[Math.floor(rnd() * words.length)]).join(' ');
          return { text: `${i} ${line()}${rnd() < 0.3 ? '\n  ' + line() : ''}`, brief: rnd() < 0.5 ? `${i} brief` : undefined, data: { i } };
        }),
        cursor: rnd() < 0.5 ? (shown: number) => `k0.${shown}` : undefined,
      };
    });
    const doc: Doc = { head: [`answer ${round}: ${'x'.repeat(Math.floor(rnd() * 50))}`], sections, foot: ['next: something'] };
    const budget = 60 + Math.floor(rnd() * 800);
    const fitted = fitDoc(doc, budget);
    assert.ok(countTokens(fitted.text) <= budget, `round ${round}: ${countTokens(fitted.text)} > ${budget}`);
    assert.equal(fitted.tokens, countTokens(fitted.text));
    for (const section of sections) {
      const result = fitted.sections[section.key]!;
      assert.equal(result.shown.length + result.omitted, section.total, 'shown + omitted = total');
      assert.deepEqual(result.shown, section.items.slice(0, result.shown.length).map((item) => item.data), 'a prefix, in rank order');
      if (result.omitted > 0) {
        assert.ok(fitted.text.includes(`… ${result.omitted.toLocaleString('en-US')} more things not shown`), 'the elision line says how many');
        if (section.cursor) assert.equal(result.cursor, `k0.${result.shown.length}`);
      }
    }
  }
});

test('every section gets its first items before one gets more; brief forms fill the rest', () => {
  const long = (i: number) => ({ text: `item ${i} ` + 'word '.repeat(30), brief: `item ${i}`, data: i });
  const doc: Doc = {
    head: ['head'],
    sections: [
      { key: 'a', noun: 'a-things', items: Array.from({ length: 50 }, (_, i) => long(i)), first: 2 },
      { key: 'b', noun: 'b-things', items: Array.from({ length: 50 }, (_, i) => long(i)), first: 2 },
    ],
  };
  const fitted = fitDoc(doc, 150);
  assert.ok(fitted.sections.a!.shown.length >= 2 && fitted.sections.b!.shown.length >= 2, JSON.stringify(fitted.sections));
  assert.match(fitted.text, /^item \d+$/m, 'brief forms are used');
});

test('a head longer than the budget is cut, and the answer still fits', () => {
  const doc: Doc = { head: ['start ' + 'a very long head line '.repeat(100)], sections: [{ key: 's', noun: 'things', items: [{ text: 'one', data: 1 }] }] };
  const fitted = fitDoc(doc, 60);
  assert.ok(countTokens(fitted.text) <= 60);
  assert.match(fitted.text, /^start /);
});
