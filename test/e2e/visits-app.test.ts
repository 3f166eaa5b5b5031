/**
 * The visits API on one worker app with a real SQLite file: what it records,
 * what it answers, and that bad input is a 400/413 with a clear JSON error,
 * never a 500.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startWorker, type RunningWorker } from '../../src/app/worker.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { VisitStore } from '../../src/store/store.js';

const agent = new Agent({ keepAliveTimeout: 10_000 });
test.after(() => agent.close());

async function call(w: RunningWorker, path: string, init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}) {
  const res = await request(`${w.url}${path}`, { method: init.method ?? 'GET', body: init.body, headers: init.headers, dispatcher: agent });
  const text = await res.body.text();
  const type = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, text, json: type.includes('json') ? JSON.parse(text) : undefined };
}

function tempDir(t: { after: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-visits-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: { after: (fn: () => unknown) => void }, store: VisitStore, id = 1): Promise<RunningWorker> {
  await store.init();
  const w = await startWorker({ id, port: 0, work: 0, store });
  t.after(() => w.close({ timeoutMs: 500 }));
  return w;
}

const post = (w: RunningWorker, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  call(w, '/visits', { method: 'POST', body, headers });

test('POST /visits records time, page, worker and user agent; GET /visits and /visits/by-worker read them back', async (t) => {
  const file = join(tempDir(t), 'visits.db');
  const a = await start(t, new SqliteStore(file), 1);
  const b = await start(t, new SqliteStore(file), 2);
  const before = Date.now();
  const first = await post(a, JSON.stringify({ page: 'home' }), { 'content-type': 'application/json', 'user-agent': 'test-agent/1.0' });
  assert.equal(first.status, 201);
  assert.deepEqual(first.json, { total: 1, id: 1, worker: 1 });
  assert.deepEqual((await post(b)).json, { total: 2, id: 2, worker: 2 }, 'no body: the default page, on the same shared file');
  assert.equal((await post(b, '{"page":"cart"}', { 'content-type': 'text/plain' })).json.total, 3, 'any content type is read as JSON');

  const list = await call(a, '/visits?limit=2');
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 3);
  assert.equal(list.json.limit, 2);
  assert.deepEqual(list.json.recent.map((v: { page: string; worker: number }) => [v.page, v.worker]), [['cart', 2], ['/', 2]]);
  const all = await call(b, '/visits');
  const home = all.json.recent.find((v: { id: number }) => v.id === 1);
  assert.equal(home.userAgent, 'test-agent/1.0');
  assert.ok(Date.parse(home.at) >= before - 1000 && Date.parse(home.at) <= Date.now() + 1000, home.at);
  assert.equal(all.json.limit, 20);

  const by = await call(b, '/visits/by-worker');
  assert.equal(by.status, 200);
  assert.equal(by.json.total, 3);
  assert.deepEqual(by.json.workers.map((w: { worker: number; visits: number }) => [w.worker, w.visits]), [[1, 1], [2, 2]]);
  assert.equal(a.state.visits, 1);
  assert.equal(b.state.visits, 2);
  assert.equal(b.state.lastTotal, 3);
  assert.equal(a.state.lastTotal, 1, 'as of its own last visit');
  assert.equal((await call(a, '/health')).status, 200);
  assert.equal(a.state.lastTotal, 3, "a database check reads what the other worker committed since (the lab's total must not stall one short)");
});

test('bad bodies, pages and limits -> 400 (too big -> 413) with a JSON error saying what was expected; never a 500, nothing recorded', async (t) => {
  const w = await start(t, new SqliteStore(join(tempDir(t), 'visits.db')));
  const bodies: Array<[string, RegExp]> = [
    ['{"page":', /body is not valid JSON/],
    ['page=home', /body is not valid JSON/],
    ['[1,2]', /expected no body or a JSON object.*received an array/],
    ['null', /received null/],
    ['"home"', /received string "home"/],
    ['42', /received number 42/],
    ['{"page": 42}', /expected "page" to be a string of 1 to 100 characters.*received number 42/],
    ['{"page": ""}', /received ""/],
    ['{"page": null}', /received null/],
    [JSON.stringify({ page: 'x'.repeat(101) }), /received 101 characters/],
    [JSON.stringify({ page: 'a\nb' }), /without control characters/],
    ['{"page": "home", "admin": true}', /unknown field "admin".*only "page"/],
    ['{"page": "x\'); DROP TABLE visits; --", "id": 1}', /unknown field "id"/],
  ];
  for (const [body, message] of bodies) {
    const res = await post(w, body);
    assert.equal(res.status, 400, `${body} -> ${res.status} ${res.text}`);
    assert.match(res.json.error, message, body);
  }
  const big = await post(w, JSON.stringify({ page: 'x'.repeat(2000) }));
  assert.equal(big.status, 413);
  assert.match(big.json.error, /body too large: 2011 bytes, at most 1024 bytes/);

  for (const limit of ['0', '101', '-1', 'abc', '1.5', '', '1e2', '99999999999']) {
    const res = await call(w, `/visits?limit=${encodeURIComponent(limit)}`);
    assert.equal(res.status, 400, `limit=${limit}`);
    assert.match(res.json.error, /expected \?limit to be an integer from 1 to 100 \(visits\)/);
  }
  const twice = await call(w, '/visits?limit=1&limit=2');
  assert.equal(twice.status, 400);
  const typo = await call(w, '/visits?limt=5');
  assert.equal(typo.status, 400);
  assert.match(typo.json.error, /unknown query parameter "limt": GET \/visits takes only \?limit=/);
  assert.equal((await call(w, '/visits/by-worker?x=1')).status, 400);
  assert.equal((await call(w, '/visits?page=x', { method: 'POST' })).status, 400);

  // A page that looks like SQL is only ever a bound value: stored as sent, schema intact.
  const sql = "x'); DROP TABLE visits; --";
  assert.equal((await post(w, JSON.stringify({ page: sql }))).status, 201);
  const list = await call(w, '/visits');
  assert.equal(list.json.total, 1);
  assert.equal(list.json.recent[0].page, sql);
});

test('/health reports the database; 503 with the reason when it is down, and writes then answer 503, not 500', async (t) => {
  const dir = tempDir(t);
  const store = new SqliteStore(join(dir, 'visits.db'));
  const w = await start(t, store);
  const ok = await call(w, '/health');
  assert.equal(ok.status, 200);
  assert.equal(ok.json.status, 'ok');
  assert.equal(ok.json.database.kind, 'sqlite');
  assert.equal(ok.json.database.status, 'up');

  // A store that cannot open its file: a directory that does not exist.
  const broken = new SqliteStore(join(dir, 'missing', 'visits.db'));
  const w2 = await startWorker({ id: 2, port: 0, work: 0, store: broken });
  t.after(() => w2.close({ timeoutMs: 500 }));
  const down = await call(w2, '/health');
  assert.equal(down.status, 503);
  assert.equal(down.json.status, 'database down');
  assert.equal(down.json.database.status, 'down');
  assert.match(down.json.database.detail, /cannot open the database/);
  const write = await post(w2, '{"page":"home"}');
  assert.equal(write.status, 503);
  assert.match(write.json.error, /^database unavailable: SQLite .*missing.*cannot open the database/);
  assert.equal((await call(w2, '/visits')).status, 503);
  assert.equal(w2.state.visits, 0);
});

test('a worker without a database answers 503 on /visits and leaves the database out of /health', async (t) => {
  const w = await startWorker({ id: 1, port: 0, work: 0 });
  t.after(() => w.close({ timeoutMs: 500 }));
  const res = await post(w, '{}');
  assert.equal(res.status, 503);
  assert.match(res.json.error, /no database/);
  const health = await call(w, '/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.database, undefined);
});
