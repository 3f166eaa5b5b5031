/**
 * Stateless workers, shared state: real workers behind the real balancer write
 * visits to one store, on SQLite and on a throwaway PostgreSQL cluster. No
 * write is lost or doubled, not even across a scale-in and a worker crash.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Agent, request } from 'undici';
import type { LabEvent, StoppedEvent, TickEvent } from '../../src/events.js';
import type { StoreLocation } from '../../src/store/location.js';
import { prepareStore } from '../../src/store/open.js';
import { startLab, until } from '../helpers.js';
import { pgUnavailable, startPgCluster, type PgCluster } from '../../harness/pg-cluster.js';

const agent = new Agent({ connections: 64, keepAliveTimeout: 10_000 });
after(() => agent.close());

interface Writes {
  acked: string[];
  /** Acknowledged visits per worker id, from the 201 bodies. */
  ackedBy: Map<number, number>;
  failures: string[];
}

/** `total` POST /visits with unique pages, `concurrency` at a time. */
async function postVisits(url: string, total: number, concurrency: number, prefix: string): Promise<Writes> {
  const out: Writes = { acked: [], ackedBy: new Map(), failures: [] };
  let next = 0;
  const loop = async () => {
    while (next < total) {
      const page = `${prefix}-${next++}`;
      await postOne(url, page, out);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return out;
}

async function postOne(url: string, page: string, out: Writes): Promise<void> {
  try {
    const res = await request(`${url}/visits`, { method: 'POST', body: JSON.stringify({ page }), headers: { 'content-type': 'application/json' }, dispatcher: agent, headersTimeout: 15_000, bodyTimeout: 15_000 });
    const text = await res.body.text();
    if (res.statusCode === 201) {
      out.acked.push(page);
      const { worker } = JSON.parse(text) as { worker: number };
      out.ackedBy.set(worker, (out.ackedBy.get(worker) ?? 0) + 1);
    } else out.failures.push(`${page}: HTTP ${res.statusCode} ${text}`);
  } catch (err) {
    out.failures.push(`${page}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Writes in a loop until stop(): for scale-in and crash in the middle of them. */
function writeLoop(url: string, concurrency: number, prefix: string) {
  const out: Writes = { acked: [], ackedBy: new Map(), failures: [] };
  let stopped = false;
  let n = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped && n < 20_000) await postOne(url, `${prefix}-${n++}`, out);
  });
  return {
    out,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return out;
    },
  };
}

/** Every row's page, counted, straight from the database (not through the API). */
async function pageCounts(loc: StoreLocation): Promise<Map<string, number>> {
  const rows: Array<{ page: string; n: number | string }> = [];
  if (loc.kind === 'sqlite') {
    const db = new Database(loc.file, { readonly: true });
    try {
      rows.push(...(db.prepare('SELECT page, count(*) AS n FROM visits GROUP BY page').all() as typeof rows));
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: loc.url });
    await client.connect();
    try {
      rows.push(...(await client.query<{ page: string; n: string }>('SELECT page, count(*) AS n FROM visits GROUP BY page')).rows);
    } finally {
      await client.end();
    }
  }
  return new Map(rows.map((r) => [r.page, Number(r.n)]));
}

async function getJson(url: string) {
  const res = await request(url, { dispatcher: agent });
  assert.equal(res.statusCode, 200, url);
  return (await res.body.json()) as Record<string, unknown> & { total: number };
}

/** N workers × M concurrent writes through the balancer -> exactly N×M, spread over every worker. */
async function exactTotal(t: TestContext, store: StoreLocation | undefined) {
  const N = 3;
  const M = 60;
  const { lab, events } = await startLab(t, { min: String(N), max: String(N) }, { value: 20 }, { store });
  await prepareStore(lab.store);
  await until(`${N} ready workers`, () => lab.supervisor.counts().ready === N, 30_000);
  const writes = await postVisits(lab.balancer.url, N * M, N * 10, 'exact');
  assert.deepEqual(writes.failures, []);
  assert.equal(writes.acked.length, N * M);

  const list = await getJson(`${lab.balancer.url}/visits?limit=5`);
  assert.equal(list.total, N * M);
  const by = (await getJson(`${lab.balancer.url}/visits/by-worker`)) as { total: number; workers: Array<{ worker: number; visits: number }> };
  assert.equal(by.total, N * M);
  assert.equal(by.workers.length, N, 'every worker served some of the visits');
  assert.equal(by.workers.reduce((s, w) => s + w.visits, 0), N * M);
  const pages = await pageCounts(lab.store);
  assert.equal(pages.size, N * M, 'no lost write');
  assert.ok([...pages.values()].every((n) => n === 1), 'no doubled write');

  // The lab sees the same numbers, from the workers' own reports.
  // Each worker reports its store figures once a second: a tick can see every visit counted by worker before
  // the worker that wrote last has reported the new total, so wait for the tick that has both.
  const complete = (e: LabEvent): e is TickEvent => e.type === 'tick' && e.store?.visits === N * M && e.store?.total === N * M;
  await until('a tick that has every visit', () => events.some(complete), 15_000);
  const tick = events.filter(complete).at(-1)!;
  assert.equal(tick.store?.kind, lab.store.kind);
  assert.equal(tick.store?.up, true);
  assert.equal(tick.store?.total, N * M);
  assert.deepEqual(
    Object.entries(tick.store!.visitsByWorker).map(([id, n]) => [Number(id), n]),
    by.workers.map((w) => [w.worker, w.visits]),
  );
}

/** Scale-in and a SIGKILLed worker while writes go on: every acknowledged visit is in the store, once. */
async function noAckedLoss(t: TestContext, store: StoreLocation | undefined) {
  const { lab, events, workers } = await startLab(t, { min: '1', max: '3' }, { value: 20 }, { store });
  lab.scale(1);
  lab.scale(1);
  await until('3 ready workers', () => lab.supervisor.counts().ready === 3, 30_000);
  const load = writeLoop(lab.balancer.url, 8, 'churn');
  await until('some writes', () => load.out.acked.length >= 50, 20_000);

  assert.equal(lab.scale(-1), 2);
  await until('scaled in to 2', () => lab.supervisor.records().length === 2, 20_000);
  const before = load.out.acked.length;
  await until('writes after the scale-in', () => load.out.acked.length >= before + 50, 20_000);

  const victim = lab.supervisor.records().find((w) => w.state === 'ready')!;
  process.kill(victim.pid!, 'SIGKILL');
  await until('a replacement ready', () => workers().some((e) => e.id > 3 && e.state === 'ready'), 30_000);
  const afterCrash = load.out.acked.length;
  await until('writes after the crash', () => load.out.acked.length >= afterCrash + 50, 20_000);
  const result = await load.stop();

  const pages = await pageCounts(lab.store);
  const missing = result.acked.filter((p) => pages.get(p) !== 1);
  assert.deepEqual(missing, [], 'every acknowledged visit is stored exactly once');
  assert.ok([...pages.values()].every((n) => n === 1), 'no doubled write');
  // Only requests that were on the killed worker's connections may fail (a POST is never retried).
  assert.ok(result.failures.length <= 8, `${result.failures.length} failures: ${result.failures.slice(0, 3).join('; ')}`);
  assert.ok(result.failures.every((f) => /HTTP 502|HTTP 503/.test(f)), result.failures.join('; '));
  const total = (await getJson(`${lab.balancer.url}/visits`)).total;
  assert.equal(total, pages.size, 'the total agrees with the rows');

  // This run's tally by worker: exact for every worker that stopped cleanly (the scaled-in one
  // included, from its final report); the SIGKILLed one can only miss its last second.
  await lab.stop('test over');
  const stopped = events.find((e): e is StoppedEvent => e.type === 'stopped')!;
  const tally = stopped.store!.visitsByWorker;
  const retired = workers().find((e) => e.state === 'draining' && /scale-in/.test(e.detail))!;
  assert.ok((tally[String(retired.id)] ?? 0) > 0, 'the scaled-in worker is in the tally');
  for (const [id, acked] of result.ackedBy) {
    if (id === victim.id) assert.ok((tally[String(id)] ?? 0) <= acked, `killed worker ${id}: tally ${tally[String(id)]} > acked ${acked}`);
    else assert.equal(tally[String(id)], acked, `worker ${id}: tally vs acknowledged`);
  }
}

describe('visits on SQLite (the default: visits.db in the run dir)', () => {
  test('N workers × M concurrent POST /visits through the balancer -> total exactly N×M', (t) => exactTotal(t, undefined));
  test('scale-in and a worker crash in the middle of writes lose no acknowledged visit', (t) => noAckedLoss(t, undefined));
});

const pgSkip = pgUnavailable();
describe('visits on PostgreSQL (a throwaway cluster)', { skip: pgSkip ?? false }, () => {
  let cluster: PgCluster | null = null;
  let n = 0;
  before(async () => {
    cluster = await startPgCluster({ durable: false });
  });
  after(() => cluster?.stop());
  /** A fresh database per test, so totals start at 0. */
  async function freshDatabase(): Promise<StoreLocation> {
    const name = `visits_${++n}`;
    const admin = new pg.Client({ connectionString: cluster!.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return { kind: 'postgres', url: cluster!.url.replace(/\/postgres$/, `/${name}`) };
  }
  test('N workers × M concurrent POST /visits through the balancer -> total exactly N×M', async (t) => exactTotal(t, await freshDatabase()));
  test('scale-in and a worker crash in the middle of writes lose no acknowledged visit', async (t) => noAckedLoss(t, await freshDatabase()));
});
