/**
 * The pure parts of the store's health: which failures are the database's
 * (a worker the database lets down is kept, not replaced), how the lab folds
 * the workers' reports, and the pacing of retries on a locked SQLite file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { databaseBlame, summarizeStore } from '../../src/store/status.js';
import { isLockError, lockRetryDelay, SQLITE_BUSY_TIMEOUT_MS, SQLITE_RETRY_MAX_DELAY_MS } from '../../src/store/sqlite.js';
import type { WorkerStoreStats } from '../../src/store/store.js';

const report = (up: boolean, detail: string): WorkerStoreStats => ({ kind: 'sqlite', up, detail, visits: 0, total: null });

test('databaseBlame: a report that says the database is down or locked blames it; up or unknown blames nothing', () => {
  const cases: Array<[WorkerStoreStats | undefined, ReturnType<typeof databaseBlame>]> = [
    [undefined, null],
    [report(true, 'ok'), null],
    [
      report(false, 'database locked: SQLite /r/visits.db: another process holds the lock; no write lock after 500 ms'),
      { what: 'database locked', why: 'SQLite /r/visits.db: another process holds the lock; no write lock after 500 ms' },
    ],
    [report(false, 'connect ECONNREFUSED 127.0.0.1:5432'), { what: 'database down', why: 'connect ECONNREFUSED 127.0.0.1:5432' }],
    [
      report(false, 'SQLite /r/visits.db: visits.db was deleted or replaced (no file at the path now); restart the lab'),
      { what: 'database down', why: 'SQLite /r/visits.db: visits.db was deleted or replaced (no file at the path now); restart the lab' },
    ],
    [report(false, 'not checked yet'), { what: 'database down', why: 'not checked yet' }],
  ];
  for (const [input, want] of cases) assert.deepEqual(databaseBlame(input), want, JSON.stringify(input));
});

test('summarizeStore: down as soon as one serving worker says so, with that worker and its reason', () => {
  const where = { kind: 'sqlite' as const, where: '/r/visits.db' };
  const locked = report(false, 'database locked: SQLite /r/visits.db: another process holds the lock; no write lock after 500 ms');
  const s = summarizeStore(where, [{ id: 1, state: 'ready', store: report(true, 'ok') }, { id: 2, state: 'ready', store: locked }], new Map([[1, 3]]));
  assert.equal(s.up, false);
  assert.equal(s.detail, `worker 2: ${locked.detail}`);
  assert.equal(s.visits, 3);
  // A starting worker's report does not count yet.
  assert.equal(summarizeStore(where, [{ id: 3, state: 'starting', store: locked }], new Map()).up, null);
});

test('a locked SQLite file: SQLITE_BUSY/LOCKED (and extended codes) are lock errors; retries 1, 2, 4 … ms apart, capped', () => {
  for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_LOCKED']) assert.equal(isLockError({ code }), true, code);
  for (const e of [{ code: 'SQLITE_CANTOPEN' }, { code: 'SQLITE_READONLY' }, new Error('x'), null, undefined]) assert.equal(isLockError(e), false, JSON.stringify(e));
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map(lockRetryDelay), [1, 2, 4, 8, 16, 32, 32, 32]);
  assert.equal(SQLITE_RETRY_MAX_DELAY_MS, 32);
  // The longest one attempt may hold the event loop inside SQLite.
  assert.ok(SQLITE_BUSY_TIMEOUT_MS <= 5);
});
