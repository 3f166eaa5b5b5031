/** The report's bounds as pure functions: numbers (src/format.ts), cut strings, Markdown escaping, row caps, no visits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clip, formatClock, formatCount, formatDuration, formatFixed, formatLatency, formatLocalTime, formatMoney, formatPercent, formatSetting, formatValue, MAX_SHOWN_CHARS } from '../../src/format.js';
import { md } from '../../src/report/render-md.js';
import { capNotes, capRows, MAX_NOTES, MAX_TABLE_ROWS } from '../../src/report/words.js';

test('every number format.ts writes is bounded: exponent form from 1e15 up, never hundreds of digits', () => {
  const rows: Array<[string, string]> = [
    [formatCount(1e308), '1.00e+308'],
    [formatCount(-1e300), '-1.00e+300'],
    [formatCount(123_456_789), '123,456,789'],
    [formatFixed(1e308, 2), '1.00e+308'],
    [formatFixed(12.345, 2), '12.35'],
    [formatFixed(Infinity, 2), '–'],
    [formatMoney(1e308, 'USD'), 'USD 1.00e+308'],
    [formatMoney(12.4, 'USD'), 'USD 12.40'],
    [formatDuration(1e308), '2.78e+304 h'],
    [formatDuration(3600 * 1e20), '1.00e+20 h'],
    [formatDuration(3723), '1 h 2 min 3 s'],
    [formatClock(3.6e21), '1.00e+15 h'],
    [formatClock(3.6e18), '1,000,000,000,000 h'],
    [formatClock(83_000), '01:23'],
    [formatPercent(1e308), '1.00e+308'],
    [formatLatency(1e308), '1.00e+305 s'],
    [formatValue(1e308, ' %'), '1.00e+308 %'],
    [formatSetting(1e308), '1.00e+308'],
    [formatLocalTime(1e308), '–'],
  ];
  for (const [got, want] of rows) assert.equal(got, want);
  // The longest any of them gets, whatever the number.
  for (const v of [1e308, -1e308, 9.99e14, 1e15, Number.MAX_SAFE_INTEGER]) {
    for (const s of [formatCount(v), formatFixed(v, 3), formatMoney(v, 'EUR'), formatDuration(Math.abs(v)), formatClock(Math.abs(v)), formatValue(v), formatSetting(v)]) {
      assert.ok(s.length <= 32, `${v}: ${s}`);
    }
  }
});

test('clip: a string is cut at MAX_SHOWN_CHARS and says how much was left out', () => {
  assert.equal(clip('short'), 'short');
  const long = 'x'.repeat(50 * 1024 * 1024);
  const cut = clip(long);
  assert.equal(cut, `${'x'.repeat(MAX_SHOWN_CHARS)}… (52,428,300 more characters)`);
});

test('md: one line, no Markdown or HTML of its own, readable text kept as it is', () => {
  assert.equal(md('cpu 50 % > 35 %: 1 → 2'), 'cpu 50 % > 35 %: 1 → 2');
  assert.equal(md('line one\n# heading\r\n| a | b |\u2028> quote'), 'line one # heading \\| a \\| b \\| > quote');
  assert.equal(md('<script>alert(1)</script><img src=x onerror=alert(1)>'), '\\<script>alert(1)\\</script>\\<img src=x onerror=alert(1)>');
  assert.equal(md('*bold* _it_ `code` [link](javascript:x) ~~s~~ &lt; \\'), '\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](javascript:x) \\~\\~s\\~\\~ \\&lt; \\\\');
  assert.equal(md('/tmp/my_runs/visits.db'), '/tmp/my\\_runs/visits.db');
  assert.ok(md('y'.repeat(10_000)).length < MAX_SHOWN_CHARS + 40);
});

test('tables and notes are capped, saying how many were left out', () => {
  const rows = Array.from({ length: MAX_TABLE_ROWS + 5 }, (_, i) => [String(i), 'x', 'y']);
  const capped = capRows(rows, 3);
  assert.equal(capped.length, MAX_TABLE_ROWS + 1);
  assert.deepEqual(capped.at(-1), ['… 5 more rows left out (every one is in events.ndjson)', '', '']);
  assert.equal(capRows(rows.slice(0, 3), 3).length, 3);
  const notes = capNotes(Array.from({ length: MAX_NOTES + 2 }, (_, i) => `note ${i}`));
  assert.equal(notes.length, MAX_NOTES + 1);
  assert.equal(notes.at(-1), '… and 2 more notes');
});
