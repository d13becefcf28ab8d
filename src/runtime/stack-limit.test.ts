// Unit tests of the stack-limit scaling: which arguments are Node's, what a limit becomes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_SCALE, isNodeBinary, osStackLimitBytes, scaledStackKb, withScaledStack, workerLimitsWithScaledStack } from './stack-limit.js';

const EIGHT_MIB = 8 * 1024 * 1024;

test('the OS stack limit is read from /proc/self/limits text', () => {
  assert.equal(osStackLimitBytes('Max cpu time              unlimited            unlimited            seconds\nMax stack size            8388608              unlimited            bytes\n'), EIGHT_MIB);
  assert.equal(osStackLimitBytes('Max stack size            unlimited            unlimited            bytes\n'), Infinity);
  assert.equal(osStackLimitBytes('nothing here'), null);
});

test("V8's default limit is scaled, capped by the OS stack, and left alone without room", () => {
  assert.equal(scaledStackKb(984, EIGHT_MIB), 984 * FRAME_SCALE);
  assert.equal(scaledStackKb(984, Infinity), 984 * FRAME_SCALE);
  assert.equal(scaledStackKb(984, 3 * 1024 * 1024), 1024); // 3 MiB less 2 MiB of native headroom
  assert.equal(scaledStackKb(984, 2 * 1024 * 1024), null);
  assert.equal(scaledStackKb(4000, EIGHT_MIB), 6144);
});

test("recall's --stack-size goes before the script; the program's own is scaled; the program's arguments are not touched", () => {
  assert.deepEqual(withScaledStack(['app.js', '--stack-size=5'], EIGHT_MIB), ['--stack-size=1968', 'app.js', '--stack-size=5']);
  assert.deepEqual(withScaledStack(['--stack-size=1500', 'app.js'], EIGHT_MIB), ['--stack-size=3000', 'app.js']);
  assert.deepEqual(withScaledStack(['-r', './pre.cjs', '--stack-size=1000', 'app.js'], EIGHT_MIB), ['-r', './pre.cjs', '--stack-size=2000', 'app.js']);
  assert.deepEqual(withScaledStack(['-e', '--stack-size=7'], EIGHT_MIB), ['--stack-size=1968', '-e', '--stack-size=7']);
  assert.deepEqual(withScaledStack(['app.js'], 1024 * 1024), ['app.js']);
});

test('a traced process handing on its own (already scaled) --stack-size, as fork does with execArgv, does not double it', () => {
  assert.deepEqual(withScaledStack(['--stack-size=1968', 'child.js'], EIGHT_MIB, ['--stack-size=1968']), ['--stack-size=1968', 'child.js']);
  // Another value than its own is the program's choice for the child: scaled.
  assert.deepEqual(withScaledStack(['--stack-size=1000', 'child.js'], EIGHT_MIB, ['--stack-size=1968']), ['--stack-size=2000', 'child.js']);
  assert.deepEqual(withScaledStack(['child.js'], EIGHT_MIB, ['--stack-size=1968']), ['--stack-size=1968', 'child.js']);
});

test('a worker gets its stack scaled, its other limits kept', () => {
  assert.deepEqual(workerLimitsWithScaledStack(undefined), { stackSizeMb: 4 * FRAME_SCALE });
  assert.deepEqual(workerLimitsWithScaledStack({ stackSizeMb: 1, maxOldGenerationSizeMb: 64 }), { stackSizeMb: FRAME_SCALE, maxOldGenerationSizeMb: 64 });
});

test('Node binaries are recognised by name', () => {
  assert.ok(isNodeBinary(process.execPath));
  assert.ok(isNodeBinary('node'));
  assert.ok(isNodeBinary('/usr/local/bin/node24'));
  assert.ok(!isNodeBinary('npm'));
  assert.ok(!isNodeBinary('/bin/sh'));
  assert.ok(!isNodeBinary('nodemon'));
});
