// formatCount groups digits by hand; it must print exactly what Number#toLocaleString('en-US') does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount } from './format.js';

test('formatCount prints what toLocaleString(en-US) prints', () => {
  const values = [0, 1, 12, 999, 1000, 1001, 9999, 12345, 999999, 1000000, 1234567.4, 1234567.5, -1, -999, -1000, -1234567, 2 ** 31, 2 ** 53, 1e20, 1e21, NaN, Infinity, -Infinity];
  for (let n = 1, i = 0; i < 200; i++, n = Math.floor(n * 1.37) + i) values.push(n, -n);
  for (const n of values) assert.equal(formatCount(n), Math.round(n).toLocaleString('en-US'), String(n));
});
