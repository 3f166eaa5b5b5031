import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInteger } from '../../src/parse-int.js';

test('one integer parser: decimal digits or a JSON integer, in range, and says what is wrong', () => {
  const rows: Array<[unknown, number, number, ReturnType<typeof parseInteger>]> = [
    ['42', 0, 100, { ok: true, value: 42 }],
    [' 7 ', 0, 100, { ok: true, value: 7 }],
    [7, 0, 100, { ok: true, value: 7 }],
    ['-3', -5, 5, { ok: true, value: -3 }],
    ['', 0, 100, { ok: false, why: 'not-a-number' }],
    ['abc', 0, 100, { ok: false, why: 'not-a-number' }],
    [['1'], 0, 100, { ok: false, why: 'not-a-number' }],
    [Number.NaN, 0, 100, { ok: false, why: 'not-a-number' }],
    ['1.5', 0, 100, { ok: false, why: 'not-whole' }],
    ['1e3', 0, 10_000, { ok: false, why: 'not-whole' }],
    ['0x10', 0, 100, { ok: false, why: 'not-whole' }],
    [2.5, 0, 100, { ok: false, why: 'not-whole' }],
    ['101', 0, 100, { ok: false, why: 'out-of-range', value: 101 }],
    ['99999999999999999999', 0, Number.MAX_SAFE_INTEGER, { ok: false, why: 'out-of-range', value: 1e20 }],
  ];
  for (const [raw, min, max, expected] of rows) assert.deepEqual(parseInteger(raw, min, max), expected, JSON.stringify(raw));
});
