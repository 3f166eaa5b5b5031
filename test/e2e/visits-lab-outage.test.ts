/**
 * A lab whose database lets it down for longer than the liveness rules allow
 * an idle, failing worker (BROKEN_WHEN_IDLE_MS): the SQLite file locked by
 * another process, and PostgreSQL stopped. Workers go out of rotation and
 * the lab says why ("database locked" / "database down"), but none is
 * replaced: a new worker would not reach the database either. When the
 * database is back, the same workers come back and every acknowledged visit
 * is stored.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Agent, request } from 'undici';
import type { HealthEvent, LabEvent, StatsEvent } from '../../src/events.js';
import { BROKEN_WHEN_IDLE_MS } from '../../src/lab/liveness.js';
import type { StoreLocation } from '../../src/store/location.js';
import { prepareStore } from '../../src/store/open.js';
import { sleep, startLab, until } from '../helpers.js';
import { pgUnavailable, startPgCluster } from '../../harness/pg-cluster.js';

const HOLDER = fileURLToPath(new URL('../fixtures/sqlite-lock-holder.js', import.meta.url));
const agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });
test.after(() => agent.close());

/** Long enough for a worker out of rotation to count as "broken, not busy" had the database not been to blame. */
const OUTAGE_MS = BROKEN_WHEN_IDLE_MS + 8_000;

async function post(url: string, page: string): Promise<number | null> {
  try {
    const res = await request(`${url}/visits`, { method: 'POST', body: JSON.stringify({ page }), dispatcher: agent, headersTimeout: 20_000, bodyTimeout: 20_000 });
    const body = (await res.body.json()) as { worker?: number };
    return res.statusCode === 201 ? (body.worker ?? -1) : null;
  } catch {
    return null;
  }
}

async function storedPages(loc: StoreLocation): Promise<Set<string>> {
  if (loc.kind === 'sqlite') {
    const db = new Database(loc.file, { readonly: true });
    try {
      return new Set(db.prepare('SELECT page FROM visits').pluck().all() as string[]);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: loc.url });
  await client.connect();
  try {
    return new Set((await client.query<{ page: string }>('SELECT page FROM visits')).rows.map((r) => r.page));
  } finally {
    await client.end();
  }
}

/**
 * Two workers, an outage of OUTAGE_MS made by `begin` (which returns its end), a write every
 * 250 ms throughout: no worker replaced, the lab blames the database, all back afterwards.
 */
async function outage(
  t: TestContext,
  store: StoreLocation | undefined,
  begin: (lab: { store: StoreLocation }) => Promise<() => Promise<void>>,
  blame: RegExp,
  storeDetail: RegExp,
) {
  const { lab, events, workers } = await startLab(t, { min: '2', max: '2' }, { value: 20 }, { store });
  await prepareStore(lab.store);
  await until('2 workers in rotation', () => lab.balancer.traffic().workers.filter((w) => w.inRotation).length === 2, 30_000);
  const ids = lab.supervisor.records().map((w) => w.id).sort();
  const acked: string[] = [];
  let n = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      const page = `p-${n++}`;
      if ((await post(lab.balancer.url, page)) !== null) acked.push(page);
      await sleep(250);
    }
  })();
  t.after(async () => {
    writing = false;
    await writer;
  });
  await until('writes before the outage', () => acked.length >= 4, 10_000);

  const end = await begin(lab);
  let ended = false;
  t.after(async () => {
    if (!ended) await end();
  });
  await until('both workers out of rotation', () => lab.balancer.traffic().workers.every((w) => !w.inRotation), 15_000);
  await sleep(OUTAGE_MS);
  const duringOutage = [...events];
  await end();
  ended = true;
  await until('both workers back in rotation', () => lab.balancer.traffic().workers.filter((w) => w.inRotation).length === 2, 20_000);
  const resumed = acked.length;
  await until('writes after the outage', () => acked.length >= resumed + 4, 15_000);
  writing = false;
  await writer;

  // Nobody replaced, the same two workers serve on.
  const unhealthy = workers().filter((e) => /unhealthy/.test(e.detail));
  const story = events
    .filter((e) => e.type === 'health' || e.type === 'worker' || (e.type === 'stats' && e.store?.up === false))
    .map((e) => `${(e.t / 1000).toFixed(1)} ${e.type === 'stats' ? `store ${e.store?.detail}` : JSON.stringify(e)}`)
    .join('\n');
  assert.deepEqual(unhealthy.map((e) => `${e.id} ${e.state}: ${e.detail}`), [], `no worker replaced for the database:\n${story}`);
  assert.deepEqual(lab.supervisor.records().map((w) => w.id).sort(), ids);
  // The lab says why they are out of rotation.
  const out = duringOutage.filter((e): e is HealthEvent => e.type === 'health' && !e.healthy);
  assert.ok(out.length >= 2, 'a health event per worker');
  for (const e of out) assert.match(e.detail, new RegExp(`^GET /health -> 503; ${blame.source}`, blame.flags));
  assert.doesNotMatch(out.map((e) => e.detail).join('\n'), /busy, not hung|broken/);
  const stats = duringOutage.filter((e): e is StatsEvent => e.type === 'stats').at(-1)!;
  assert.equal(stats.store?.up, false);
  assert.match(stats.store!.detail, storeDetail);
  const back = events.filter((e: LabEvent): e is HealthEvent => e.type === 'health' && e.healthy);
  assert.ok(back.some((e) => /back in rotation/.test(e.detail)), 'back in rotation');

  // Every acknowledged visit is stored.
  const pages = await storedPages(lab.store);
  assert.deepEqual(acked.filter((p) => !pages.has(p)), []);
}

describe('the database lets the lab down: out of rotation, never replaced', { timeout: 120_000 }, () => {
  test('SQLite locked by another process for longer than the liveness window: "database locked"', (t) =>
    outage(
      t,
      undefined,
      async (lab) => {
        const file = (lab.store as { file: string }).file;
        const child = spawn(process.execPath, [HOLDER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
        t.after(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        });
        const [line] = (await once(child.stdout!, 'data')) as [Buffer];
        assert.match(String(line), /locked/);
        return async () => {
          if (child.exitCode !== null) return;
          const exited = once(child, 'exit');
          child.stdin!.end('release\n');
          await exited;
        };
      },
      /database locked: out of rotation, not replaced \(a new worker would not reach the database either\): SQLite .*another process holds the lock/,
      /^worker \d+: database locked: SQLite .*another process holds the lock/,
    ));

  const pgSkip = pgUnavailable();
  test('PostgreSQL stopped for longer than the liveness window: "database down"', { skip: pgSkip ?? false }, async (t) => {
    const cluster = await startPgCluster({ durable: false });
    t.after(() => cluster.stop());
    await outage(
      t,
      { kind: 'postgres', url: cluster.url },
      async () => {
        cluster.pause();
        let resumed = false;
        return async () => {
          if (resumed) return;
          resumed = true;
          cluster.resume();
        };
      },
      /database down: out of rotation, not replaced \(a new worker would not reach the database either\): .*(ECONNREFUSED|terminat|connection|no answer)/i,
      /^worker \d+: .*(ECONNREFUSED|terminat|connection|no answer)/i,
    );
  });
});
