// The URL a span records: path and query kept, secret-looking query values redacted (by key or
// by looking like a credential), fragments dropped, long URLs cut.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safePath } from './diagnostics.js';

test('safePath keeps the path and harmless query values', () => {
  assert.equal(safePath('/users/42?page=2&sort=name'), '/users/42?page=2&sort=name');
  assert.equal(safePath('/'), '/');
  assert.equal(safePath(undefined), '');
});

test('safePath redacts values under secret-looking keys and credential-looking values', () => {
  assert.equal(safePath('/login?user=ann&password=hunter2'), '/login?user=ann&password=[redacted]');
  assert.equal(safePath('/cb?code=abc&state=x&access_token=t&API-Key=k&sig=s'), '/cb?code=[redacted]&state=x&access_token=[redacted]&API-Key=[redacted]&sig=[redacted]');
  assert.equal(safePath('/x?id=eyJhbGciOiJIUzI1NiJ9abc123'), '/x?id=[redacted]');
  assert.equal(safePath('/x?q=hello%20world&n=12345678901234567890'), '/x?q=hello%20world&n=12345678901234567890');
});

test('safePath drops the fragment and bounds the length', () => {
  assert.equal(safePath('/page?a=1#token=secret'), '/page?a=1');
  const long = safePath(`/${'a'.repeat(1000)}`);
  assert.equal(long.length, 300);
  assert.ok(long.endsWith('…'));
});
