// The semantic-equivalence corpus: every fixture in test/fixtures/semantics prints the same
// stdout, the same stderr and exits with the same code traced as untraced — instrumentation
// must not change what a program does. Beyond equality, the recorded call trees of selected
// fixtures must have the shapes the code implies, call counts countable by hand must be right,
// and every thread's event stream must be well formed (exits and suspends match their frames).
//
// Each fixture is recorded once (spawns dominate the run time) and shared by the tests below.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { FIXTURES, callsOf, record, run, summaryJson, untraced, type Recording, type Result } from '../helpers.js';
import { openTrace, type Trace } from '../../src/analysis/trace.js';
import { callTree, threadEvents, treeShape } from '../../src/analysis/events.js';

const DIR = 'semantics';

/** The JavaScript fixtures Node can run untraced, and the exit code each must end with. */
const JS_FIXTURES: { file: string; exitCode: number; lastLine: string }[] = [
  { file: 'functions.cjs', exitCode: 3, lastLine: 'outer: 30' },
  { file: 'classes.cjs', exitCode: 0, lastLine: 'strict this  number null ' },
  { file: 'control.cjs', exitCode: 0, lastLine: 'tree tree done' },
  { file: 'generators.mjs', exitCode: 0, lastLine: 'three [1,2,3]' },
  { file: 'async.mjs', exitCode: 7, lastLine: 'top-level after await' },
  { file: 'modules.mjs', exitCode: 0, lastLine: 'createRequire same module true no main' },
  { file: 'minified.mjs', exitCode: 0, lastLine: 'minified done' },
  { file: 'process-events.cjs', exitCode: 0, lastLine: 'worker events: mine' },
  { file: 'names.cjs', exitCode: 0, lastLine: 'names done 42' },
];

const recordings = new Map<string, Recording>();
const untracedRuns = new Map<string, Result>();
const traces = new Map<string, Trace>();

function traced(file: string): Recording {
  let recording = recordings.get(file);
  if (!recording) {
    recording = record(join(DIR, file));
    recordings.set(file, recording);
  }
  return recording;
}

function plain(file: string): Result {
  let result = untracedRuns.get(file);
  if (!result) {
    result = untraced(join(DIR, file));
    untracedRuns.set(file, result);
  }
  return result;
}

function traceOf(file: string): Trace {
  let trace = traces.get(file);
  if (!trace) {
    trace = openTrace(traced(file).dir);
    traces.set(file, trace);
  }
  return trace;
}

function mainShape(file: string): string {
  const trace = traceOf(file);
  const main = trace.threads.find((thread) => thread.info.id === 0) ?? trace.threads[0];
  assert.ok(main, `${file}: the trace has no threads`);
  return treeShape(callTree(trace, main));
}

function assertShapeHas(shape: string, fragments: string[]): void {
  for (const fragment of fragments) assert.ok(shape.includes(fragment), `call tree lacks ${JSON.stringify(fragment)}:\n${shape}`);
}

/**
 * Problems in a trace's event streams: an exit or throw that does not close the innermost open
 * frame, a suspend of anything but the innermost frame, a resume of a frame that is not
 * suspended. (Frames still open or suspended when the program ends are fine.)
 */
function streamProblems(trace: Trace): string[] {
  const problems: string[] = [];
  for (const thread of trace.threads) {
    const stack: { fn: number; frame: number }[] = [];
    const suspended = new Map<number, number>();
    let index = 0;
    for (const event of threadEvents(trace, thread)) {
      index++;
      const where = `thread ${thread.info.id} event ${index} (${event.kind} ${event.name})`;
      const top = stack[stack.length - 1];
      switch (event.kind) {
        case 'enter':
          stack.push({ fn: event.fn, frame: event.aux });
          break;
        case 'exit':
        case 'throw':
          if (!top || top.fn !== event.fn) problems.push(`${where}: innermost open frame is ${top ? top.fn : 'none'}`);
          else stack.pop();
          break;
        case 'suspend':
          if (!top || top.fn !== event.fn || top.frame !== event.aux) problems.push(`${where}: frame ${event.aux} is not the innermost open frame`);
          else {
            stack.pop();
            suspended.set(event.aux, event.fn);
          }
          break;
        case 'resume':
          if (suspended.get(event.aux) !== event.fn) problems.push(`${where}: frame ${event.aux} is not suspended`);
          else {
            suspended.delete(event.aux);
            stack.push({ fn: event.fn, frame: event.aux });
          }
          break;
        default:
          break;
      }
      if (problems.length >= 5) return problems;
    }
  }
  return problems;
}

describe('semantic equivalence: traced runs behave exactly like untraced ones', () => {
  for (const { file, exitCode, lastLine } of JS_FIXTURES) {
    test(`${file}: same stdout, stderr and exit code`, () => {
      const expected = plain(file);
      // The fixture itself must have run to its end, or equality would prove little.
      assert.equal(expected.status, exitCode, `${file} untraced: ${expected.stderr}`);
      assert.ok(expected.stdout.endsWith(`\n${lastLine}\n`), `${file} untraced did not reach its last line`);
      assert.equal(expected.stderr, '');
      const { result } = traced(file);
      assert.equal(result.stdout, expected.stdout);
      assert.equal(result.stderr, expected.stderr);
      assert.equal(result.status, expected.status);
    });
  }

  test('every recorded event stream is well formed and the traces have no problems', () => {
    for (const { file } of JS_FIXTURES) {
      const trace = traceOf(file);
      assert.deepEqual(trace.problems, [], file);
      assert.deepEqual(streamProblems(trace), [], file);
    }
  });

  test('typescript.ts: traced output matches the committed expected output', () => {
    const expected = readFileSync(join(FIXTURES, DIR, 'typescript.expected.txt'), 'utf8');
    const { result } = traced('typescript.ts');
    assert.equal(result.stderr, '');
    assert.equal(result.status, 0);
    assert.equal(result.stdout, expected);
    assert.deepEqual(streamProblems(traceOf('typescript.ts')), []);
  });

  test('typescript.expected.txt is what the program compiled by tsc prints untraced', () => {
    const source = readFileSync(join(FIXTURES, DIR, 'typescript.ts'), 'utf8');
    const compiled = ts.transpileModule(source, {
      fileName: 'typescript.ts',
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const out = join(mkdtempSync(join(tmpdir(), 'recall-semantics-')), 'typescript.mjs');
    writeFileSync(out, compiled.outputText);
    const result = run(process.execPath, [out]);
    assert.equal(result.stderr, '');
    assert.equal(result.status, 0);
    assert.equal(result.stdout, readFileSync(join(FIXTURES, DIR, 'typescript.expected.txt'), 'utf8'));
  });

  describe('uncaught.cjs: an uncaught exception', () => {
    const file = 'uncaught.cjs';
    // Node's own frames differ by loader (recall runs the entry through the ES module loader),
    // so stderr is compared on the error line and the frames that point into the fixture.
    const essential = (stderr: string): string[] =>
      stderr.split('\n').filter((line) => line.startsWith('RangeError:') || (line.trimStart().startsWith('at ') && line.includes(join(DIR, file))));

    test('same stdout, exit code, error message and user frames', () => {
      const expected = plain(file);
      assert.equal(expected.status, 1);
      assert.equal(expected.stdout, 'entry ok\nexit handler sees code 1\n');
      const { result } = traced(file);
      assert.equal(result.stdout, expected.stdout);
      assert.equal(result.status, expected.status);
      const frames = essential(expected.stderr);
      assert.equal(frames.length, 6, expected.stderr); // the error line and five frames
      assert.deepEqual(essential(result.stderr), frames);
      assertShapeHas(mainShape(file), ['entry(viaMoved(relay(fail))) entry!(viaMoved!(relay!(fail!)))']);
    });

    test('same source excerpt above the error (file:line and the original code line)', () => {
      // Node's source-map printer (which --enable-source-maps turns on) names the file by path,
      // puts the caret under the error's first stack frame rather than the throw keyword, and
      // adds a blank line; the place and the code line shown are the original ones.
      const excerpt = (stderr: string): string[] => stderr.replace(/^file:\/\//, '').split('\n').slice(0, 2);
      assert.deepEqual(excerpt(traced(file).result.stderr), excerpt(plain(file).stderr));
    });
  });
});

describe('semantic equivalence: recorded call trees', () => {
  test('functions.cjs', () => {
    assertShapeHas(mainShape('functions.cjs'), [
      '(root)(hoisted(helperDefinedLater) show',
      'tdzInner(read! read)',
      'duplicates(dup twice)',
      'conflictWithoutLexicalUse(helperTwin)',
      'annexB(pick pick) annexB(pick pick)',
      'method arrowInMethod(arrow) nested(inner)',
      'paramScope(f)',
      'outer(inner inner) show)',
    ]);
  });

  test('control.cjs', () => {
    assertShapeHas(mainShape('control.cjs'), [
      'finallyThrowsOverReturn! catchRethrowsDifferent! finallyOverridesReturn finallyOverridesThrow ',
      'catcher(level1(level2(level3))) catcher(level1!(level2!(level3!(AppError))))',
      'throwsNonError! throwsPrimitive! throwsUndefined! stackMiddle(stackTop)',
      'isOdd(isEven(isOdd(isEven(isOdd(isEven(isOdd(isEven)))))))',
      'tree(outer(inner inner) middle!(thrower!)))',
    ]);
  });

  test('classes.cjs', () => {
    assertShapeHas(mainShape('classes.cjs'), [
      '(root)(Derived(Base) Derived.prototype.greet(Base.prototype.greet) get Derived.prototype.upper(get Base.prototype.upper)',
      'Derived.prototype.double(Derived.#privateArrow) Base.prototype.reveal(Base.prototype.#hidden)',
      'set Derived.prototype.upper(set Base.prototype.upper)',
      'Derived.make(Base.make(Derived(Base)))',
      'Base.prototype.reveal!',
      'Early(Base) Early(Base) Replacing(Base)',
      'hello(hello) get prop(get prop) arrowSuper(viaArrow(hello))',
      'Range.prototype.evens~~~(Range.prototype.[Symbol.iterator] next',
    ]);
  });

  test('generators.mjs', () => {
    assertShapeHas(mainShape('generators.mjs'), [
      '(root)(counter~~~(',
      'guarded~~(log(',
      'finallyYields~~~ ',
      'finallyOverridesReturn~ ',
      'rethrowing!~ ',
      'delegateOuter~~~~ delegateInner~~(log(',
      'forAwaitRejects~~ failing!~ ',
      'asyncGenThrow~~~(catcher~~)',
      'three~~~ ',
    ]);
  });

  test('async.mjs', () => {
    assertShapeHas(mainShape('async.mjs'), [
      '(root)(note main~',
      'interleave~~~~(note (anonymous in new Promise) twoAwaits~~(note note note) twoAwaits~~(note note note) noAwait(note) awaitsThenable~(note)',
      'catchesRejectedAwait~~~(fails!~ note note note fails!~',
      'rejectionChain~(escapes!~(fails!~))',
      'syncThrowInAsync! ',
      'Service.create~(Service) Service.prototype.fetch~',
    ]);
  });

  test('modules.mjs: a function called through an import cycle before its module ran is named', () => {
    assertShapeHas(mainShape('modules.mjs'), ['(root)(hoistedInA add exports.counterFactory', 'callsIntoA(hoistedInA) hoistedInA describeA']);
  });

  test('typescript.ts', () => {
    assertShapeHas(mainShape('typescript.ts'), [
      'Square(Base) Circle(Base) Base.prototype.describe(Square.prototype.area) Base.prototype.describe(Circle.prototype.area)',
      'Stack.prototype.push Stack.prototype.[Symbol.iterator]~~~ Stack.prototype.pop Stack.prototype.[Symbol.iterator]~~',
      'delayed~ delayed~ delayed~',
    ]);
  });
});

describe('semantic equivalence: call counts in the summary', () => {
  test('control.cjs', () => {
    const summary = summaryJson(traced('control.cjs').dir);
    const counts = Object.fromEntries(['fib', 'isEven', 'isOdd', 'factorial', 'classify', 'outer', 'inner', 'level3', 'thrower'].map((name) => [name, callsOf(summary, name)]));
    // fib(10): 177 calls; isEven(10) + isOdd(7): 6 + 4 isEven, 5 + 4 isOdd; factorial(10): 10.
    assert.deepEqual(counts, { fib: 177, isEven: 10, isOdd: 9, factorial: 10, classify: 6, outer: 1, inner: 2, level3: 2, thrower: 1 });
    const throws = (name: string): number => summary.functions.filter((fn) => fn.name === name).reduce((sum, fn) => sum + fn.throws, 0);
    assert.equal(throws('level3'), 1);
    assert.equal(throws('thrower'), 1);
    assert.equal(throws('fib'), 0);
  });

  test('generators.mjs: a generator counts once per started instance', () => {
    const summary = summaryJson(traced('generators.mjs').dir);
    // guarded(): four instances, two never started (return()/throw() before the first next()).
    // ticker(): six instances iterated, one only passed to Object.prototype.toString.
    assert.equal(callsOf(summary, 'guarded'), 2);
    assert.equal(callsOf(summary, 'ticker'), 6);
    assert.equal(callsOf(summary, 'three'), 1);
    assert.equal(callsOf(summary, 'counter'), 1);
  });
});
