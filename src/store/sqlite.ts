/**
 * Visits in one SQLite file shared by every worker process. WAL mode lets
 * readers run beside the one writer; writes take the write lock up front
 * (BEGIN IMMEDIATE) and wait up to the busy timeout for it, so concurrent
 * writers from several processes queue instead of failing. synchronous=NORMAL
 * in WAL mode: a committed visit survives any crash of a worker process (the
 * commit is in the WAL file); only an OS crash or power cut may lose the last
 * commits, acceptable for a lab.
 *
 * better-sqlite3 is synchronous: each call holds the worker's event loop for
 * the few microseconds a statement takes (or up to the busy timeout while
 * another process holds the write lock).
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { describeDbError, StoreUnavailableError, type NewVisit, type StoreHealth, type Visit, type VisitStore, type WorkerVisits } from './store.js';

/** How long a write waits for another process's write lock before giving up (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS visits (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT    NOT NULL,
  page        TEXT    NOT NULL,
  worker_id   INTEGER NOT NULL,
  worker_port INTEGER NOT NULL,
  worker_pid  INTEGER NOT NULL,
  user_agent  TEXT
);
CREATE TABLE IF NOT EXISTS visit_counts (
  worker_id INTEGER PRIMARY KEY,
  visits    INTEGER NOT NULL,
  last_at   TEXT    NOT NULL
);
`;

interface Statements {
  insert: Database.Statement<[string, string, number, number, number, string | null]>;
  bump: Database.Statement<[number, string]>;
  total: Database.Statement<[], number>;
  recent: Database.Statement<[number], { id: number; at: string; page: string; worker_id: number; user_agent: string | null }>;
  byWorker: Database.Statement<[], { worker_id: number; visits: number; last_at: string }>;
  record: (v: NewVisit) => { id: number; total: number };
}

export class SqliteStore implements VisitStore {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  #db: Database.Database | null = null;
  #st: Statements | null = null;

  constructor(file: string) {
    this.where = file;
  }

  async init(): Promise<void> {
    this.#open();
  }

  /** Opens the file and creates the schema unless already done; throws StoreUnavailableError. */
  #open(): Statements {
    if (this.#st) return this.#st;
    return this.#run('open the database', () => {
      // fileMustExist is false: the first process creates the file; the directory must exist.
      const db = new Database(this.where, { timeout: SQLITE_BUSY_TIMEOUT_MS });
      try {
        // Persistent in the file: once one process switched it, every later open is in WAL mode too.
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.transaction(() => db.exec(SCHEMA)).immediate();
        this.#st = prepare(db);
        this.#db = db;
        return this.#st;
      } catch (err) {
        db.close();
        throw err;
      }
    });
  }

  async record(v: NewVisit): Promise<{ id: number; total: number }> {
    const st = this.#ready();
    return this.#run('record a visit', () => st.record(v));
  }

  async recent(limit: number): Promise<{ total: number; recent: Visit[] }> {
    const st = this.#ready();
    return this.#run('read visits', () =>
      this.#db!.transaction(() => ({
        total: st.total.get() ?? 0,
        recent: st.recent.all(limit).map((r) => ({ id: r.id, at: r.at, page: r.page, worker: r.worker_id, userAgent: r.user_agent })),
      }))(),
    );
  }

  async byWorker(): Promise<{ total: number; workers: WorkerVisits[] }> {
    const st = this.#ready();
    return this.#run('count visits by worker', () => {
      const workers = st.byWorker.all().map((r) => ({ worker: r.worker_id, visits: r.visits, lastAt: r.last_at }));
      return { total: workers.reduce((sum, w) => sum + w.visits, 0), workers };
    });
  }

  async ping(): Promise<StoreHealth> {
    const t0 = performance.now();
    try {
      this.#open().total.get();
      return { up: true, detail: 'ok', ms: performance.now() - t0 };
    } catch (err) {
      return { up: false, detail: err instanceof StoreUnavailableError ? err.message : describeDbError(err), ms: performance.now() - t0 };
    }
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    this.#st = null;
    if (db?.open) db.close();
  }

  /** Statements of the open database; a store whose first open failed tries again here. */
  #ready(): Statements {
    return this.#open();
  }

  #run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw new StoreUnavailableError(`SQLite ${this.where}: cannot ${what}: ${describeDbError(err)}`, { cause: err });
    }
  }
}

function prepare(db: Database.Database): Statements {
  const insert = db.prepare<[string, string, number, number, number, string | null]>(
    'INSERT INTO visits (at, page, worker_id, worker_port, worker_pid, user_agent) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const bump = db.prepare<[number, string]>(
    `INSERT INTO visit_counts (worker_id, visits, last_at) VALUES (?, 1, ?)
     ON CONFLICT (worker_id) DO UPDATE SET visits = visits + 1, last_at = max(last_at, excluded.last_at)`,
  );
  const total = db.prepare<[], number>('SELECT coalesce(sum(visits), 0) FROM visit_counts').pluck();
  const recent = db.prepare<[number], { id: number; at: string; page: string; worker_id: number; user_agent: string | null }>(
    'SELECT id, at, page, worker_id, user_agent FROM visits ORDER BY id DESC LIMIT ?',
  );
  const byWorker = db.prepare<[], { worker_id: number; visits: number; last_at: string }>(
    'SELECT worker_id, visits, last_at FROM visit_counts ORDER BY worker_id',
  );
  // One write transaction per visit: the row and its worker's count commit together or not at all.
  const tx = db.transaction((v: NewVisit) => {
    const at = v.at.toISOString();
    const { lastInsertRowid } = insert.run(at, v.page, v.workerId, v.workerPort, v.workerPid, v.userAgent);
    bump.run(v.workerId, at);
    return { id: Number(lastInsertRowid), total: total.get() ?? 0 };
  });
  return { insert, bump, total, recent, byWorker, record: (v) => tx.immediate(v) };
}
