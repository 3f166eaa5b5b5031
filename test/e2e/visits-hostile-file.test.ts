/**
 * The SQLite file under attack by something other than the lab: another
 * process holding its lock, and the file deleted or replaced under a running
 * worker. The worker stays responsive, says what is wrong ("database
 * locked", "visits.db was deleted or replaced"), answers 503 to writes it
 * cannot make durable in the file at the path, and never acknowledges a
 * visit that is not there.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { startWorker, type RunningWorker } from '../../src/app/worker.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const HOLDER = fileURLToPath(new URL('../fixtures/sqlite-lock-holder.js', import.meta.url));
const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
test.after(() => agent.close());

function tempDir(t: { after: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-hostile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function call(w: RunningWorker, path: string, method: 'GET' | 'POST' = 'GET', body?: string) {
  const t0 = performance.now();
  const res = await request(`${w.url}${path}`, { method, body, dispatcher: agent, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const json = (await res.body.json()) as Record<string, unknown> & { database?: Record<string, unknown>; error?: string; total?: number };
  return { status: res.statusCode, json, ms: performance.now() - t0, headers: res.headers };
}

/** Another process that holds the file's lock until released (or the test ends). */
async function holdLock(t: { after: (fn: () => unknown) => void }, file: string): Promise<{ child: ChildProcess; release: () => Promise<void> }> {
  const child = spawn(process.execPath, [HOLDER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  const deadline = Date.now() + 10_000;
  while (!out.includes('locked')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, 'the lock holder did not take the lock');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    child,
    release: async () => {
      const exited = once(child, 'exit');
      child.stdin!.end('release\n');
      await exited;
    },
  };
}

/** The longest the event loop stalled while `fn` ran (a 10 ms interval's worst lateness). */
async function worstStall<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  try {
    const value = await fn();
    return { value, stallMs: worst };
  } finally {
    clearInterval(timer);
  }
}

/** What `autoscale start` does once: create the file and its schema (and close it). */
async function createDb(file: string): Promise<void> {
  const s = new SqliteStore(file);
  await s.init();
  await s.close();
}

function rows(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM visits').pluck().get() as number;
  } finally {
    db.close();
  }
}

test('another process holds the SQLite lock: /health answers at once ("database locked"), writes get 503 after the bound, the event loop never stalls; released, writes go through and counts match', async (t) => {
  const file = join(tempDir(t), 'visits.db');
  const LOCK_WAIT_MS = 1000;
  await createDb(file);
  const store = new SqliteStore(file, { create: false, lockWaitMs: LOCK_WAIT_MS });
  await store.init();
  t.after(() => store.close());
  const w = await startWorker({ id: 1, port: 0, work: 0, store });
  t.after(() => w.close({ timeoutMs: 500 }));
  assert.equal((await call(w, '/visits', 'POST', '{"page":"before"}')).status, 201);

  const holder = await holdLock(t, file);
  // 20 writes waiting for the lock at once, /health asked meanwhile.
  const { value, stallMs } = await worstStall(async () => {
    const writes = Array.from({ length: 20 }, (_, i) => call(w, '/visits', 'POST', JSON.stringify({ page: `locked-${i}` })));
    await new Promise((r) => setTimeout(r, 100));
    const health = await call(w, '/health');
    return { writes: await Promise.all(writes), health };
  });
  // Before the fix, SQLite's synchronous busy wait (10 s) froze the whole process: no /health, no heartbeat.
  assert.ok(stallMs < 500, `the event loop stalled for ${stallMs.toFixed(0)} ms`);
  assert.ok(value.health.ms < 1000, `/health took ${value.health.ms.toFixed(0)} ms`);
  assert.equal(value.health.status, 503);
  assert.equal(value.health.json.status, 'database locked');
  assert.equal(value.health.json.database?.status, 'locked');
  assert.match(String(value.health.json.database?.detail), /^database locked: SQLite .*visits\.db: another process holds the lock/);
  for (const r of value.writes) {
    assert.equal(r.status, 503);
    assert.match(String(r.json.error), /^database locked: SQLite .*another process holds the lock; no write lock after \d+ ms$/);
    assert.equal(r.headers['retry-after'], '1');
    assert.ok(r.ms >= LOCK_WAIT_MS - 50 && r.ms < LOCK_WAIT_MS + 1500, `a refused write took ${r.ms.toFixed(0)} ms`);
  }
  assert.equal(w.state.visits, 1, 'nothing acknowledged while locked');

  await holder.release();
  const after = await Promise.all(Array.from({ length: 10 }, (_, i) => call(w, '/visits', 'POST', JSON.stringify({ page: `after-${i}` }))));
  assert.deepEqual(after.map((r) => r.status), Array(10).fill(201));
  const health = await call(w, '/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.database?.status, 'up');
  // Acknowledged = stored: 1 before + 10 after; none of the refused 20.
  assert.equal(w.state.visits, 11);
  assert.equal(rows(file), 11);
  assert.equal((await call(w, '/visits')).json.total, 11);
});

test('a lock held without writes in flight: /health still finds it (a write-lock probe), within its 500 ms bound', async (t) => {
  const file = join(tempDir(t), 'visits.db');
  const store = new SqliteStore(file);
  await store.init();
  t.after(() => store.close());
  const holder = await holdLock(t, file);
  const t0 = performance.now();
  const h = await store.ping(500);
  const ms = performance.now() - t0;
  assert.equal(h.up, false);
  assert.equal(h.locked, true);
  assert.ok(ms >= 450 && ms < 1000, `ping took ${ms.toFixed(0)} ms`);
  await holder.release();
  const back = await store.ping(500);
  assert.deepEqual([back.up, back.detail], [true, 'ok']);
});

/** A worker on its own existing visits.db (the lab creates the file; a forked worker never does). */
async function workerOnFile(t: TestContext) {
  const dir = tempDir(t);
  const file = join(dir, 'visits.db');
  await createDb(file);
  const store = new SqliteStore(file, { create: false });
  await store.init();
  t.after(() => store.close());
  const w = await startWorker({ id: 1, port: 0, work: 0, store });
  t.after(() => w.close({ timeoutMs: 500 }));
  return { dir, file, store, w };
}

test('visits.db deleted under a running worker: 503 with the reason, /health says so, nothing acknowledged into the unlinked file; a new worker does not create an empty one', async (t) => {
  const { file, w } = await workerOnFile(t);
  assert.equal((await call(w, '/visits', 'POST', '{"page":"before"}')).status, 201);

  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  const write = await call(w, '/visits', 'POST', '{"page":"into-the-void"}');
  assert.equal(write.status, 503);
  assert.match(String(write.json.error), /^database unavailable: SQLite .*visits\.db: visits\.db was deleted or replaced \(no file at the path now\)/);
  const health = await call(w, '/health');
  assert.equal(health.status, 503);
  assert.equal(health.json.status, 'database down');
  assert.match(String(health.json.database?.detail), /visits\.db was deleted or replaced/);
  assert.equal((await call(w, '/visits')).status, 503, 'reads of the unlinked file are refused too');
  assert.equal(w.state.visits, 1);

  // A replacement worker of the same lab: reports the file missing and leaves the path empty.
  const fresh = new SqliteStore(file, { create: false });
  t.after(() => fresh.close());
  const w2 = await startWorker({ id: 2, port: 0, work: 0, store: fresh });
  t.after(() => w2.close({ timeoutMs: 500 }));
  const h2 = await call(w2, '/health');
  assert.equal(h2.status, 503);
  assert.match(String(h2.json.database?.detail), /cannot open the database: visits\.db does not exist/);
  assert.equal((await call(w2, '/visits', 'POST', '{}')).status, 503);
  assert.equal(existsSync(file), false, 'no new empty visits.db was created');
});

test('visits.db replaced by another file: the worker stays down and says so, and does not write into either', async (t) => {
  const { dir, file, w } = await workerOnFile(t);
  assert.equal((await call(w, '/visits', 'POST', '{}')).status, 201);

  const other = join(dir, 'other.db');
  await createDb(other);
  // As restoring a backup would: the old file and its WAL go, the other file takes the name.
  for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
  renameSync(other, file);
  const write = await call(w, '/visits', 'POST', '{}');
  assert.equal(write.status, 503);
  assert.match(String(write.json.error), /visits\.db was deleted or replaced \(inode \d+ opened, inode \d+ at the path now\)/);
  assert.equal((await call(w, '/health')).json.database?.status, 'down');
  assert.equal(rows(file), 0, 'nothing written into the new file');
});
