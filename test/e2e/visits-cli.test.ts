/**
 * Where the visits go, from the command line: --database-url / DATABASE_URL
 * checked at the edge, an unreachable database is one clear error before any
 * worker starts, a standalone worker defaults to the state directory, and a
 * PostgreSQL server that goes away turns /health and writes into 503s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startWorker } from '../../src/app/worker.js';
import { chooseDatabaseUrl, describeLocation, parseDatabaseUrl, redactUrl, StoreLocationError } from '../../src/store/location.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { freePort, until, runCli } from '../helpers.js';
import { pgUnavailable, startPgCluster } from '../../harness/pg-cluster.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

const runMain = (argv: string[], env: NodeJS.ProcessEnv = {}) => runCli(argv, env);

function tempDir(t: { after: (fn: () => unknown) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-visits-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('database URLs: postgres/postgresql/sqlite parse; anything else is a usage error naming its source; passwords never shown', () => {
  assert.deepEqual(parseDatabaseUrl('postgres://u:p@127.0.0.1:5432/db'), { kind: 'postgres', url: 'postgres://u:p@127.0.0.1:5432/db' });
  assert.equal(parseDatabaseUrl('postgresql://h/db').kind, 'postgres');
  assert.deepEqual(parseDatabaseUrl('sqlite:visits.db', '/srv'), { kind: 'sqlite', file: '/srv/visits.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite:///tmp/v.db'), { kind: 'sqlite', file: '/tmp/v.db' });
  assert.equal(redactUrl('postgres://user:s3cret@host:5432/db'), 'postgres://user:***@host:5432/db');
  assert.equal(redactUrl('postgres://host/db?password=s3cret&x=1'), 'postgres://host/db?password=***&x=1');
  assert.equal(describeLocation({ kind: 'postgres', url: 'postgres://a:b@h/d' }), 'postgres://a:***@h/d');
  for (const bad of ['', 'mysql://h/db', 'visits.db', 'sqlite:', 'postgres://']) assert.throws(() => parseDatabaseUrl(bad), StoreLocationError, bad);
  assert.throws(() => parseDatabaseUrl('mysql://u:s3cret@h/db'), (e: Error) => !e.message.includes('s3cret'));
  assert.equal(chooseDatabaseUrl(undefined, {}), null);
  assert.equal(chooseDatabaseUrl(undefined, { DATABASE_URL: 'postgres://h/env' })?.kind, 'postgres');
  assert.equal(chooseDatabaseUrl('sqlite:/tmp/flag.db', { DATABASE_URL: 'postgres://h/env' })?.kind, 'sqlite', 'the flag wins');
  assert.throws(() => chooseDatabaseUrl(undefined, { DATABASE_URL: 'redis://h' }), /DATABASE_URL: expected a database URL/);
});

test('autoscale start/worker: a bad --database-url or DATABASE_URL is exit 2; an unreachable database is exit 1 before any worker starts', async (t) => {
  const bad = await runMain(['start', '--database-url', 'mysql://h/db']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: --database-url: expected a database URL starting with postgres:\/\/, postgresql:\/\/ or sqlite:, received "mysql:\/\/h\/db"$/m);
  const env = await runMain(['worker', '--port', '0'], { DATABASE_URL: 'nope' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /^error: DATABASE_URL: expected a database URL/m);

  const runDir = tempDir(t);
  const port = await freePort();
  const unreachable = await runMain(['start', '--port', '0', '--base-port', String(await freePort()), '--run-dir', runDir, '--no-dashboard', '--database-url', `postgres://u:s3cret@127.0.0.1:${port}/db`]);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^error: cannot use the visits database: PostgreSQL postgres:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/db: cannot create the schema: .*ECONNREFUSED/m);
  assert.doesNotMatch(unreachable.stderr + unreachable.stdout, /s3cret/);
  assert.deepEqual(readdirSync(runDir), [], 'no worker was started (no log file)');

  const noDir = await runMain(['worker', '--port', '0', '--database-url', `sqlite:${join(runDir, 'missing', 'v.db')}`]);
  assert.equal(noDir.code, 1);
  assert.match(noDir.stderr, /^error: cannot use the visits database: SQLite .*missing\/v\.db: cannot open the database/m);
});

test('autoscale worker on its own keeps visits in $XDG_STATE_HOME/autoscale/visits.db', async (t) => {
  const state = tempDir(t);
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'worker', '--port', String(port), '--id', '4'], { env: { ...process.env, XDG_STATE_HOME: state, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c) => (out += String(c)));
  await until('worker listening', () => out.includes('listening'), 20_000);
  assert.match(out, new RegExp(`visits in sqlite ${join(state, 'autoscale', 'visits.db').replace(/[/.]/g, '\\$&')}`));
  const res = await request(`http://127.0.0.1:${port}/visits`, { method: 'POST', body: '{"page":"solo"}' });
  assert.equal(res.statusCode, 201);
  assert.deepEqual(await res.body.json(), { total: 1, id: 1, worker: 4 });
  assert.ok(existsSync(join(state, 'autoscale', 'visits.db')));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

const pgSkip = pgUnavailable();
test('PostgreSQL going away: /health answers 503 "database down" and writes 503 (never 500); back up, both recover', { skip: pgSkip ?? false }, async (t) => {
  const cluster = await startPgCluster({ durable: false });
  t.after(() => cluster.stop());
  const store = new PostgresStore(cluster.url);
  await store.init();
  const w = await startWorker({ id: 1, port: 0, work: 0, store });
  t.after(() => w.close({ timeoutMs: 500 }));
  const call = async (path: string, method: 'GET' | 'POST' = 'GET') => {
    const res = await request(`${w.url}${path}`, { method, body: method === 'POST' ? '{"page":"pg"}' : undefined });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> & { database?: Record<string, unknown> } };
  };
  assert.equal((await call('/visits', 'POST')).status, 201);
  const up = await call('/health');
  assert.equal(up.status, 200);
  assert.deepEqual([up.json.database?.kind, up.json.database?.status], ['postgres', 'up']);

  cluster.pause();
  const down = await call('/health');
  assert.equal(down.status, 503);
  assert.equal(down.json.status, 'database down');
  assert.equal(down.json.database?.status, 'down');
  assert.match(String(down.json.database?.detail), /ECONNREFUSED|terminat|closed|connection/i);
  const write = await call('/visits', 'POST');
  assert.equal(write.status, 503);
  assert.match(String(write.json.error), /^database unavailable: PostgreSQL .*cannot record a visit/);

  cluster.resume();
  // The pool drops the connections the old server closed and opens new ones.
  let again = await call('/health');
  for (let i = 0; i < 20 && again.status !== 200; i++) again = await call('/health');
  assert.equal(again.status, 200);
  const after = await call('/visits', 'POST');
  assert.equal(after.status, 201);
  assert.equal(after.json.total, 2);
});
