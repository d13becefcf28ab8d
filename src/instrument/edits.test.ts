// The edit buffer against the library it replaced: the same edits give magic-string's output,
// code and both kinds of map, byte for byte — on hand-picked cases (the instrumenter's moves
// of function declarations, edits at the source's ends, an empty source) and on random edit
// sequences. magic-string is a dev dependency for this test only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import MagicString from 'magic-string';
import { SourceEdits } from './edits.js';
import { mulberry32 } from '../format/mulberry32.js';

type Edit = ['left', number, string] | ['right', number, string] | ['move', number, number, number];

function both(source: string, edits: readonly Edit[]): { ours: SourceEdits; theirs: MagicString } {
  const ours = new SourceEdits(source);
  const theirs = new MagicString(source);
  for (const edit of edits) {
    if (edit[0] === 'left') {
      ours.appendLeft(edit[1], edit[2]);
      theirs.appendLeft(edit[1], edit[2]);
    } else if (edit[0] === 'right') {
      ours.prependRight(edit[1], edit[2]);
      theirs.prependRight(edit[1], edit[2]);
    } else {
      const [, start, end, to] = edit;
      ours.move(start, end, to);
      theirs.move(start, end, to);
    }
  }
  return { ours, theirs };
}

function assertSame(source: string, edits: readonly Edit[], label: string): void {
  const { ours, theirs } = both(source, edits);
  assert.equal(ours.toString(), theirs.toString(), `${label}: code`);
  for (const hires of [false, 'boundary'] as const) {
    for (const includeContent of [false, true]) {
      const options = { hires, source: 'src.js', includeContent };
      assert.equal(JSON.stringify(ours.generateMap(options)), JSON.stringify(theirs.generateMap(options)), `${label}: map, hires ${hires}, content ${includeContent}`);
    }
  }
}

test('insertions keep magic-string order: appendLeft after earlier ones, prependRight before them', () => {
  const source = 'function f(a) {\n  return a + 1;\n}\n';
  const edits: Edit[] = [
    ['left', 15, 'A1;'],
    ['left', 15, 'A2;'],
    ['right', 15, 'R1;'],
    ['right', 15, 'R2;'],
    ['left', 0, 'intro;'],
    ['right', source.length, '/*end*/'],
    ['left', source.length, '/*tail*/'],
    ['right', 0, '/*head*/'],
  ];
  const { ours } = both(source, edits);
  assert.equal(ours.toString(), 'intro;/*head*/function f(a) {A1;A2;R2;R1;\n  return a + 1;\n}\n/*tail*//*end*/');
  assertSame(source, edits, 'ends and order');
});

test('a moved range takes the insertions inside it and on its inner sides, and lands between the two sides of its target', () => {
  // The instrumenter's function-level plan: hoisted declarations moved before the `try{`.
  const source = 'function outer() {\n  work();\n  function inner() { return 1; }\n  more();\n}\n';
  const declStart = source.indexOf('function inner');
  const declEnd = source.indexOf('}', declStart) + 1;
  const tryAt = source.indexOf('work');
  const edits: Edit[] = [
    ['right', source.indexOf('1;'), 'V=('],
    ['left', source.indexOf('1;') + 1, '),V'],
    ['right', declStart, '/*in*/'],
    ['left', declEnd, '/*out*/'],
    ['left', declStart, ';'],
    ['right', declEnd, '/*stays*/'],
    ['left', tryAt, 'enter;'],
    ['move', declStart, declEnd, tryAt],
    ['right', tryAt, 'try{'],
  ];
  const { ours } = both(source, edits);
  const code = ours.toString();
  assert.ok(code.includes('enter;/*in*/function inner() { return V=(1),V; }/*out*/try{work();'), code);
  assert.ok(code.includes(';/*stays*/\n  more();'), code);
  assertSame(source, edits, 'move');
});

test('two moves to one place keep their order; an empty move changes nothing', () => {
  const source = 'a();function b(){}function c(){}d();';
  const b = [source.indexOf('function b'), source.indexOf('function c')] as const;
  const c = [source.indexOf('function c'), source.indexOf('d()')] as const;
  assertSame(source, [['move', b[0], b[1], 0], ['move', c[0], c[1], 0], ['right', 0, 'try{']], 'two moves');
  assertSame(source, [['move', 3, 3, 0], ['left', 3, '!']], 'empty move');
  assertSame(source, [['move', c[0], c[1], source.length], ['left', source.length, '!']], 'to the end');
});

test('a move into its own range is refused, as magic-string refuses it', () => {
  const edits = new SourceEdits('abcdef');
  assert.throws(() => edits.move(1, 4, 2), RangeError);
  assert.throws(() => edits.move(1, 4, 4), RangeError);
  assert.throws(() => new MagicString('abcdef').move(1, 4, 2));
});

test('an empty source, and a source of newlines only', () => {
  assertSame('', [['left', 0, 'x'], ['right', 0, 'y']], 'empty');
  assertSame('\n\n\r\n', [['left', 1, 'a\nb'], ['right', 2, '\n']], 'newlines');
});

test('random edits give magic-string output, code and maps', () => {
  const random = mulberry32(20261206);
  const words = ['x', 'foo', ' ', '(', ')', '\n', 'a\nb', '=>', '', '{\n  '];
  for (let round = 0; round < 300; round++) {
    const parts: string[] = [];
    const pieces = 1 + Math.floor(random() * 30);
    for (let i = 0; i < pieces; i++) parts.push(words[Math.floor(random() * words.length)] as string);
    const source = parts.join('');
    const length = source.length;
    const at = (): number => Math.floor(random() * (length + 1));
    const edits: Edit[] = [];
    const count = Math.floor(random() * 20);
    // Moves of disjoint ranges, none moved into another, as magic-string allows.
    const taken: [number, number][] = [];
    const targets: number[] = [];
    for (let i = 0; i < count; i++) {
      const kind = random();
      const text = words[Math.floor(random() * words.length)] as string;
      if (kind < 0.45) edits.push(['left', at(), text]);
      else if (kind < 0.9) edits.push(['right', at(), text]);
      else {
        const s = at();
        const e = Math.min(length, s + 1 + Math.floor(random() * 6));
        const to = at();
        if (s >= e || (to >= s && to <= e) || taken.some(([a, b]) => (s < b && e > a) || (to > a && to < b)) || targets.some((t) => t > s && t < e)) continue;
        taken.push([s, e]);
        targets.push(to);
        edits.push(['move', s, e, to]);
      }
    }
    assertSame(source, edits, `round ${round}: ${JSON.stringify(source)} ${JSON.stringify(edits)}`);
  }
});
