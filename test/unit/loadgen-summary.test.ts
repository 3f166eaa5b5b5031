import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyErrorCode, errorCode, isOkStatus, statusClass, REQUEST_TIMEOUT_CODE } from '../../src/loadgen/classify.js';
import { formatMs } from '../../src/format.js';
import { formatNdjsonLine, formatProgress, formatSummary } from '../../src/loadgen/format.js';
import { decodeReport, emptyReport, encodeReport, mergeReport } from '../../src/loadgen/report.js';
import { parseLoad } from '../../src/runs/read.js';
import { addInterval, exitCodeFor, newRunTotals, summarize, type RunMeta } from '../../src/loadgen/summary.js';

test('statuses: 2xx and 3xx are OK, the rest are failures kept by class', () => {
  const table: [number, boolean, string][] = [
    [200, true, '2xx'],
    [204, true, '2xx'],
    [301, true, '3xx'],
    [399, true, '3xx'],
    [400, false, '4xx'],
    [404, false, '4xx'],
    [429, false, '4xx'],
    [500, false, '5xx'],
    [503, false, '5xx'],
    [101, false, '1xx'],
  ];
  for (const [status, ok, cls] of table) {
    assert.equal(isOkStatus(status), ok, `${status}`);
    assert.equal(statusClass(status), cls, `${status}`);
  }
});

test('transport errors are classified by code, looking through cause and AggregateError', () => {
  const table: [unknown, string, string][] = [
    [Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED', 'refused'],
    [new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })], 'both failed'), 'ECONNREFUSED', 'refused'],
    [Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 'UND_ERR_SOCKET', 'reset'],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'ECONNRESET', 'reset'],
    [Object.assign(new Error('x'), { code: 'EPIPE' }), 'EPIPE', 'reset'],
    [Object.assign(new Error('x'), { code: REQUEST_TIMEOUT_CODE }), REQUEST_TIMEOUT_CODE, 'timeout'],
    [Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    [Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'UND_ERR_CONNECT_TIMEOUT', 'timeout'],
    [new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }), 'ECONNRESET', 'reset'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'ENOTFOUND', 'other'],
    [new Error('no code'), 'UNKNOWN', 'other'],
    ['not even an error', 'UNKNOWN', 'other'],
  ];
  for (const [err, code, kind] of table) {
    assert.equal(errorCode(err), code);
    assert.equal(classifyErrorCode(code), kind, code);
  }
});

const META: RunMeta = {
  url: 'http://127.0.0.1:8000/',
  method: 'GET',
  mode: 'closed',
  profile: { name: 'constant' },
  threads: 4,
  rate: null,
  workers: 0,
  timeoutMs: 10_000,
  durationSec: 3,
  elapsedSec: 3,
  interrupted: false,
};

function interval(opts: { ok: number; latUs: number[]; http?: Record<string, number>; transport?: Record<string, number>; servedBy?: Record<string, number> }) {
  const r = emptyReport();
  r.ok = opts.ok;
  r.httpErrors = opts.http ?? {};
  r.transportErrors = opts.transport ?? {};
  r.servedBy = opts.servedBy ?? {};
  r.sent = opts.ok + Object.values(r.httpErrors).reduce((a, b) => a + b, 0) + Object.values(r.transportErrors).reduce((a, b) => a + b, 0);
  for (const us of opts.latUs) r.latency.recordValue(us);
  return r;
}

test('summarize: counts, error split, per-second throughput and HDR latency', () => {
  const totals = newRunTotals();
  // second 1: 8 ok at 1 ms, 2 HTTP 500 at 1 ms
  addInterval(totals, interval({ ok: 8, latUs: Array(10).fill(1000), http: { '500': 2 }, servedBy: { 'worker-1': 5, 'worker-2': 5 } }), 1, 1, 4, 'closed', null);
  // second 2: 18 ok at 2 ms, a timeout and two refused
  addInterval(totals, interval({ ok: 18, latUs: Array(18).fill(2000), transport: { [REQUEST_TIMEOUT_CODE]: 1, ECONNREFUSED: 2 } }), 2, 1, 4, 'closed', null);
  // final partial second: 1 ok at 100 ms, a 404
  const last = addInterval(totals, interval({ ok: 1, latUs: [100_000, 3000], http: { '404': 1 } }), 2.5, 0.5, 4, 'closed', null);
  assert.equal(last.rps, 4);
  assert.equal(last.errors, 1);

  const s = summarize(totals, { ...META, elapsedSec: 2.5 });
  assert.deepEqual(s.requests, { sent: 33, ok: 27, failed: 6, aborted: 0, scheduled: 0, late: 0, unsent: 0 });
  assert.deepEqual(s.errors, {
    total: 6,
    http: { total: 3, byClass: { '4xx': 1, '5xx': 2 }, byStatus: { '404': 1, '500': 2 } },
    timeout: 1,
    refused: 2,
    reset: 0,
    other: 0,
    byCode: { ECONNREFUSED: 2, [REQUEST_TIMEOUT_CODE]: 1 },
  });
  assert.equal(s.throughput.mean, 13.2); // 33 finished / 2.5 s
  assert.equal(s.throughput.p50, 15.5); // median of the full seconds: 10 and 21 req/s
  assert.equal(s.throughput.max, 21);
  assert.ok(s.latencyMs !== null);
  assert.equal(s.latencyMs.count, 30);
  assert.equal(s.latencyMs.min, 1);
  assert.equal(s.latencyMs.p50, 2);
  assert.ok(Math.abs(s.latencyMs.max - 100) < 0.1, `max ${s.latencyMs.max}`);
  assert.deepEqual(s.servedBy, { 'worker-1': 5, 'worker-2': 5 });
  assert.equal(exitCodeFor(s), 0);
});

test('summarize: nothing OK and something failed -> exit code 1; no responses -> latency null', () => {
  const totals = newRunTotals();
  addInterval(totals, interval({ ok: 0, latUs: [], transport: { ECONNREFUSED: 7 } }), 1, 1, 2, 'closed', null);
  const s = summarize(totals, { ...META, elapsedSec: 1 });
  assert.equal(s.latencyMs, null);
  assert.equal(s.errors.refused, 7);
  assert.equal(exitCodeFor(s), 1);
  const text = formatSummary(s);
  assert.match(text, /connection refused 7/);
  assert.match(text, /Latency\s+no responses/);
});

test('reports survive the worker-thread encoding and merge additively', () => {
  const a = interval({ ok: 3, latUs: [500, 700, 900], http: { '503': 1 }, servedBy: { w1: 3 } });
  const b = interval({ ok: 2, latUs: [1500, 2500], transport: { ECONNRESET: 1 }, servedBy: { w1: 1, w2: 1 } });
  const merged = mergeReport(mergeReport(emptyReport(), decodeReport(encodeReport(a))), decodeReport(encodeReport(b)));
  assert.equal(merged.ok, 5);
  assert.equal(merged.sent, 7);
  assert.deepEqual(merged.httpErrors, { '503': 1 });
  assert.deepEqual(merged.transportErrors, { ECONNRESET: 1 });
  assert.deepEqual(merged.servedBy, { w1: 4, w2: 1 });
  assert.equal(merged.latency.totalCount, 5);
  assert.ok(Math.abs(merged.latency.maxValue - 2500) <= 2);
});

test('formatting: ms precision follows magnitude; text summary, progress and NDJSON lines', () => {
  assert.deepEqual([0.4123, 2.4149, 30.14, 250.4].map(formatMs), ['0.412', '2.41', '30.1', '250']);

  const totals = newRunTotals();
  const sample = addInterval(totals, interval({ ok: 100, latUs: Array(100).fill(2000), http: { '502': 4 } }), 1, 1, 20, 'closed', null);
  assert.deepEqual(JSON.parse(formatNdjsonLine(sample)), { t: 1, dt: 1, sent: 104, ok: 100, errors: 4, rps: 104, p50: 2, p99: 2, threads: 20 });
  assert.equal(JSON.parse(formatNdjsonLine({ ...sample, mode: 'open', at: 1_700_000_000_000 })).targetRate, 20);
  assert.equal(JSON.parse(formatNdjsonLine({ ...sample, at: 1_700_000_000_000 })).at, 1_700_000_000_000);
  assert.equal(formatProgress(sample, 60, 4), '1/60 s  104 req/s  errors 4  p99 2.00 ms  20 threads');

  const text = formatSummary(summarize(totals, { ...META, elapsedSec: 1, interrupted: true }));
  assert.match(text, /interrupted after 1 s of 3 s/);
  assert.match(text, /104 sent, 100 ok, 4 failed/);
  assert.match(text, /HTTP 5xx 4 \(502 x4\)/);
  assert.match(text, /p50 2.00 {2}p90 2.00/);
});

test('one load-second type: a line the load generator writes reads back the same through runs/read.ts', () => {
  const totals = newRunTotals();
  const closed = addInterval(totals, interval({ ok: 9, latUs: Array(10).fill(1500), http: { '503': 1 } }), 1, 1, 8, 'closed', 1_700_000_001_000);
  const open = addInterval(totals, interval({ ok: 3, latUs: [2000, 2000, 2000] }), 1.5, 0.5, 40, 'open', 1_700_000_001_500);
  const old = { ...closed, at: null };
  const read = parseLoad([closed, open, old].map((l) => formatNdjsonLine(l)).join(''), 'load.ndjson');
  assert.deepEqual(read.lines, [closed, open, old]);
  assert.equal(read.mode, 'mixed');
});
