/**
 * Visits in PostgreSQL through a small pool per worker process. A visit is
 * one statement (so one implicit transaction): the row and its worker's
 * count commit together. Counts are kept per worker, so writers on different
 * workers never wait for each other's row lock, and the total is a sum over a
 * handful of rows instead of a count over every visit.
 */
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { redactUrl } from './location.js';
import { describeDbError, StoreUnavailableError, type NewVisit, type StoreHealth, type Visit, type VisitStore, type WorkerVisits } from './store.js';

/** Connections per worker process: 5 workers × 4 stay far below PostgreSQL's default max_connections (100). */
export const PG_POOL_SIZE = 4;
const CONNECT_TIMEOUT_MS = 3_000;
const STATEMENT_TIMEOUT_MS = 10_000;
/** Any fixed number: serialises schema creation across processes (CREATE … IF NOT EXISTS races otherwise). */
const SCHEMA_LOCK = 7_420_012;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS visits (
  id          BIGSERIAL PRIMARY KEY,
  at          TIMESTAMPTZ NOT NULL,
  page        TEXT        NOT NULL,
  worker_id   INTEGER     NOT NULL,
  worker_port INTEGER     NOT NULL,
  worker_pid  INTEGER     NOT NULL,
  user_agent  TEXT
);
CREATE TABLE IF NOT EXISTS visit_counts (
  worker_id INTEGER PRIMARY KEY,
  visits    BIGINT      NOT NULL,
  last_at   TIMESTAMPTZ NOT NULL
);
`;

/*
 * The sub-select in the final SELECT sees the snapshot from before this statement's own
 * writes, so the total is the other workers' counts plus this worker's new count.
 */
const RECORD = `
WITH v AS (
  INSERT INTO visits (at, page, worker_id, worker_port, worker_pid, user_agent)
  VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
), c AS (
  INSERT INTO visit_counts AS c (worker_id, visits, last_at) VALUES ($3, 1, $1)
  ON CONFLICT (worker_id) DO UPDATE SET visits = c.visits + 1, last_at = GREATEST(c.last_at, EXCLUDED.last_at)
  RETURNING visits
)
SELECT (SELECT id FROM v) AS id,
       (SELECT visits FROM c) + (SELECT coalesce(sum(visits), 0) FROM visit_counts WHERE worker_id <> $3) AS total`;

export interface PostgresStoreOptions {
  /** Shown as application_name in pg_stat_activity. */
  applicationName?: string;
  poolSize?: number;
}

export class PostgresStore implements VisitStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  #pool: pg.Pool;
  #lastPoolError: string | null = null;
  /** Set once the schema exists; until then every operation tries to create it first. */
  #initialized: Promise<void> | null = null;

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    this.where = redactUrl(url);
    this.#pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? PG_POOL_SIZE,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS + 1_000,
      application_name: opts.applicationName ?? 'autoscale',
    });
    // An idle connection that the server dropped (restart, admin kill) must not crash the worker;
    // the pool discards it and the next query opens a new one.
    this.#pool.on('error', (err) => {
      this.#lastPoolError = describeDbError(err);
    });
  }

  async init(): Promise<void> {
    this.#initialized ??= this.#createSchema().catch((err: unknown) => {
      this.#initialized = null;
      throw err;
    });
    await this.#initialized;
  }

  async #createSchema(): Promise<void> {
    await this.#run('create the schema', async () => {
      const client = await this.#pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await client.query(SCHEMA);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    });
  }

  async record(v: NewVisit): Promise<{ id: number; total: number }> {
    await this.init();
    return this.#run('record a visit', async () => {
      const { rows } = await this.#pool.query<{ id: string; total: string }>(RECORD, [
        v.at.toISOString(), v.page, v.workerId, v.workerPort, v.workerPid, v.userAgent,
      ]);
      return { id: Number(rows[0].id), total: Number(rows[0].total) };
    });
  }

  async recent(limit: number): Promise<{ total: number; recent: Visit[] }> {
    await this.init();
    return this.#run('read visits', async () => {
      // One statement, one snapshot: the total and the rows agree.
      const { rows } = await this.#pool.query<{ total: string; recent: Array<{ id: string; at: string; page: string; worker_id: number; user_agent: string | null }> | null }>(
        `SELECT (SELECT coalesce(sum(visits), 0) FROM visit_counts) AS total,
                (SELECT json_agg(r) FROM (SELECT id, at, page, worker_id, user_agent FROM visits ORDER BY id DESC LIMIT $1) r) AS recent`,
        [limit],
      );
      const recent = (rows[0].recent ?? []).map((r) => ({
        id: Number(r.id),
        at: new Date(r.at).toISOString(),
        page: r.page,
        worker: r.worker_id,
        userAgent: r.user_agent,
      }));
      return { total: Number(rows[0].total), recent };
    });
  }

  async byWorker(): Promise<{ total: number; workers: WorkerVisits[] }> {
    await this.init();
    return this.#run('count visits by worker', async () => {
      const { rows } = await this.#pool.query<{ worker_id: number; visits: string; last_at: Date }>(
        'SELECT worker_id, visits, last_at FROM visit_counts ORDER BY worker_id',
      );
      const workers = rows.map((r) => ({ worker: r.worker_id, visits: Number(r.visits), lastAt: r.last_at.toISOString() }));
      return { total: workers.reduce((sum, w) => sum + w.visits, 0), workers };
    });
  }

  async ping(timeoutMs: number): Promise<StoreHealth> {
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<StoreHealth>((resolve) => {
      timer = setTimeout(() => resolve({ up: false, detail: `no answer from PostgreSQL within ${timeoutMs} ms`, ms: performance.now() - t0 }), timeoutMs);
    });
    // The round trip reads the total: a worker's last visit may have committed beside another worker's and
    // counted without it, so only a later read knows what the store holds.
    const check = this.init()
      .then(() => this.#pool.query<{ total: string }>('SELECT coalesce(sum(visits), 0) AS total FROM visit_counts'))
      .then(
        ({ rows }): StoreHealth => ({ up: true, detail: 'ok', ms: performance.now() - t0, total: Number(rows[0].total) }),
        (err: unknown): StoreHealth => ({ up: false, detail: describeDbError(err), ms: performance.now() - t0 }),
      );
    try {
      return await Promise.race([check, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }

  /** The last error of an idle pooled connection (for logs), if any. */
  get lastPoolError(): string | null {
    return this.#lastPoolError;
  }

  /** Any failure of `fn` becomes a StoreUnavailableError. */
  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(`PostgreSQL ${this.where}: cannot ${what}: ${describeDbError(err)}`, { cause: err });
    }
  }
}
