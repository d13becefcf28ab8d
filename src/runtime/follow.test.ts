// The environment a followed child gets: recall's variables added to what the program passed,
// never replacing the program's own; and the fallback wrapping of the synchronous exports.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { envPairsWithSession, envWithSession, wrapSyncExports, type ChildSession } from './follow.js';

const session: ChildSession = { config: '{"traceDir":"/t"}', nodeOptions: '--import=file:///r/preload.js --enable-source-maps', active: () => true };

describe('envPairsWithSession', () => {
  test('an env without either variable gets both', () => {
    assert.deepEqual(envPairsWithSession(['PATH=/bin'], session), [
      'PATH=/bin',
      'RECALL_CONFIG={"traceDir":"/t"}',
      'NODE_OPTIONS=--import=file:///r/preload.js --enable-source-maps',
    ]);
  });

  test("the program's NODE_OPTIONS is kept and recall's part put first, once", () => {
    const once = envPairsWithSession(['NODE_OPTIONS=--max-old-space-size=100', 'A=b=c'], session);
    assert.deepEqual(once, ['NODE_OPTIONS=--import=file:///r/preload.js --enable-source-maps --max-old-space-size=100', 'A=b=c', 'RECALL_CONFIG={"traceDir":"/t"}']);
    assert.deepEqual(envPairsWithSession(once, session), once);
    assert.deepEqual(envPairsWithSession(['NODE_OPTIONS='], session), ['NODE_OPTIONS=--import=file:///r/preload.js --enable-source-maps', 'RECALL_CONFIG={"traceDir":"/t"}']);
  });

  test('a RECALL_CONFIG the env already has is not replaced', () => {
    const pairs = envPairsWithSession(['RECALL_CONFIG=other'], session);
    assert.deepEqual(pairs.filter((p) => p.startsWith('RECALL_CONFIG=')), ['RECALL_CONFIG=other']);
  });

  test('the input is not modified', () => {
    const input = ['PATH=/bin'];
    envPairsWithSession(input, session);
    assert.deepEqual(input, ['PATH=/bin']);
  });
});

describe('wrapSyncExports (used when the spawn_sync binding cannot be reached)', () => {
  function fakes(): { calls: [string, unknown[]][]; exports: Record<'spawnSync' | 'execSync' | 'execFileSync', (...args: unknown[]) => unknown> } {
    const calls: [string, unknown[]][] = [];
    const fake = (name: string) =>
      function (...args: unknown[]): unknown {
        calls.push([name, args]);
        return { pid: 0 };
      };
    return { calls, exports: { spawnSync: fake('spawnSync'), execSync: fake('execSync'), execFileSync: fake('execFileSync') } };
  }

  test('options are found in every call shape and get an env with the session; the rest is untouched', () => {
    const { calls, exports } = fakes();
    wrapSyncExports(exports, session);
    exports.execFileSync('node', ['a.js'], { env: { PATH: '/bin' }, encoding: 'utf8' });
    exports.execFileSync('node', { env: { PATH: '/bin' } });
    exports.spawnSync('node');
    exports.execSync('ls', { stdio: 'inherit' });
    const [first, second, third, fourth] = calls;
    assert.deepEqual(first?.[1].slice(0, 2), ['node', ['a.js']]);
    assert.deepEqual(first?.[1][2], {
      env: { PATH: '/bin', RECALL_CONFIG: session.config, NODE_OPTIONS: session.nodeOptions },
      encoding: 'utf8',
    });
    assert.equal(second?.[1].length, 2);
    assert.equal((second?.[1][1] as { env: Record<string, string> }).env.RECALL_CONFIG, session.config);
    assert.deepEqual(third?.[1].slice(0, 2), ['node', undefined]);
    assert.equal((third?.[1][2] as { env: Record<string, string> }).env.RECALL_CONFIG, session.config, 'process.env plus the session');
    assert.equal((fourth?.[1][1] as { stdio: string }).stdio, 'inherit');
    assert.equal((fourth?.[1][1] as { env: Record<string, string> }).env.NODE_OPTIONS?.endsWith(session.nodeOptions), true);
  });

  test('wrapped functions keep name and length, and are wrapped once', () => {
    const { calls, exports } = fakes();
    const original = exports.spawnSync;
    wrapSyncExports(exports, session);
    const wrapped = exports.spawnSync;
    wrapSyncExports(exports, session);
    assert.equal(exports.spawnSync, wrapped);
    assert.notEqual(wrapped, original);
    assert.equal(wrapped.length, original.length);
    exports.spawnSync('x', []);
    assert.equal(calls.length, 1);
  });

  test('a stopped recording adds nothing', () => {
    const { calls, exports } = fakes();
    wrapSyncExports(exports, { ...session, active: () => false });
    exports.execSync('ls', { cwd: '/' });
    assert.deepEqual(calls[0]?.[1], ['ls', { cwd: '/' }]);
  });
});

test('envWithSession copies', () => {
  const env = { PATH: '/bin' };
  const out = envWithSession(env, session);
  assert.deepEqual(env, { PATH: '/bin' });
  assert.equal(out.RECALL_CONFIG, session.config);
});
