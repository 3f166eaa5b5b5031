/**
 * `autoscale load --mix visits=20`: a share of the load becomes POST /visits
 * on the same host, so an ordinary run writes to the shared store. Parsing
 * (one line for bad input), the exact and even spread, and a real run
 * against a real worker whose store counts what the summary says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startWorker } from '../../src/app/worker.js';
import { UsageError } from '../../src/errors.js';
import { isMixedIn, parseMix } from '../../src/loadgen/mix.js';
import { parseLoadOptions } from '../../src/loadgen/options.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { runCli } from '../helpers.js';

test('--mix: visits=20, visits=20%, VISITS = 2.5 parse; anything else is one line naming what was expected', () => {
  assert.deepEqual(parseMix('visits=20'), { kind: 'visits', percent: 20, method: 'POST', path: '/visits', body: '{"page":"load"}', contentType: 'application/json' });
  assert.equal(parseMix('visits=20%').percent, 20);
  assert.equal(parseMix(' VISITS = 2.5 ').percent, 2.5);
  assert.equal(parseMix('visits=100').percent, 100);
  const bad: Array<[string, RegExp]> = [
    ['', /^--mix must look like visits=20 \(20 % of the requests are POST \/visits\) \(received ""\)$/],
    ['visits', /^--mix must look like visits=20/],
    ['visits=-5', /^--mix must look like visits=20/],
    ['visits=abc', /^--mix must look like visits=20/],
    ['stress=10', /^--mix: unknown request kind "stress" \(known: visits \(POST \/visits\); e\.g\. --mix visits=20/],
    ['visits=0', /^--mix visits=<percent> must be more than 0 and at most 100, with at most two decimals \(received "0"\)$/],
    ['visits=101', /at most 100.*\(received "101"\)$/],
    ['visits=1.234', /at most two decimals \(received "1\.234"\)$/],
  ];
  for (const [value, want] of bad) {
    assert.throws(() => parseMix(value), (e: Error) => e instanceof UsageError && want.test(e.message) && !e.message.includes('\n'), value);
  }
  assert.equal(parseLoadOptions(undefined, {}).mix, null);
  assert.equal(parseLoadOptions(undefined, { mix: 'visits=30' }).mix?.percent, 30);
});

test('isMixedIn: of the first N requests exactly floor(N × percent / 100) are mixed in, spread evenly', () => {
  for (const percent of [1, 2.5, 20, 33.33, 50, 99, 100]) {
    let mixed = 0;
    let run = 0;
    let longestRun = 0;
    for (let n = 0; n < 10_000; n++) {
      const m = isMixedIn(n, percent);
      if (m) mixed++;
      run = m ? run + 1 : 0;
      longestRun = Math.max(longestRun, run);
      assert.equal(mixed, Math.floor(((n + 1) * Math.round(percent * 100)) / 10_000), `${percent} % after ${n + 1}`);
    }
    if (percent <= 50) assert.equal(longestRun, 1, `${percent} %: never two mixed-in requests in a row`);
  }
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => isMixedIn(n, 20)), [false, false, false, false, true, false, false, false, false, true]);
});

test('autoscale load --mix visits=25 against a real worker: the summary\'s split is what the worker served and the store holds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-mix-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'visits.db');
  const store = new SqliteStore(file);
  await store.init();
  t.after(() => store.close());
  const w = await startWorker({ id: 1, port: 0, work: 0, store });
  t.after(() => w.close({ timeoutMs: 500 }));

  const json = await runCli(['load', `${w.url}/`, '--mix', 'visits=25', '-t', '4', '-d', '1', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const s = JSON.parse(json.stdout) as {
    requests: { sent: number; ok: number; failed: number };
    mix: { percent: number; main: { request: string; sent: number; ok: number; failed: number }; mixed: { kind: string; request: string; sent: number; ok: number; failed: number } };
  };
  assert.equal(s.mix.percent, 25);
  assert.equal(s.mix.main.request, 'GET /');
  assert.deepEqual([s.mix.mixed.kind, s.mix.mixed.request], ['visits', 'POST /visits']);
  assert.equal(s.mix.main.sent + s.mix.mixed.sent, s.requests.sent);
  assert.equal(s.requests.failed, 0);
  // One engine: exactly a quarter (rounded down) of what it sent.
  assert.equal(s.mix.mixed.sent, Math.floor(s.requests.sent / 4));
  assert.ok(s.mix.mixed.ok > 10, `${s.mix.mixed.ok} visits`);
  // What the worker and its store saw.
  assert.equal(w.state.requests, s.mix.main.ok, 'GET / served');
  assert.equal(w.state.visits, s.mix.mixed.ok, 'visits acknowledged');
  const db = new Database(file, { readonly: true });
  try {
    assert.equal(db.prepare("SELECT count(*) FROM visits WHERE page = 'load'").pluck().get(), s.mix.mixed.ok, 'visits stored');
  } finally {
    db.close();
  }

  const text = await runCli(['load', `${w.url}/`, '--mix', 'visits=25%', '-t', '2', '-d', '0.5']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^ {2}Mix {9}75 % GET \/: [\d,]+ sent, [\d,]+ ok, 0 failed\n {14}25 % POST \/visits: [\d,]+ sent, [\d,]+ ok, 0 failed$/m);

  const bad = await runCli(['load', `${w.url}/`, '--mix', 'visits=0']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'error: --mix visits=<percent> must be more than 0 and at most 100, with at most two decimals (received "0")\n');
});
