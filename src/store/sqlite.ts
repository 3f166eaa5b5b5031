/**
 * Visits in one SQLite file shared by every worker process. WAL mode lets
 * readers run beside the one writer; writes take the write lock up front
 * (BEGIN IMMEDIATE). synchronous=NORMAL in WAL mode: a committed visit
 * survives any crash of a worker process (the commit is in the WAL file);
 * only an OS crash or power cut may lose the last commits, acceptable for a
 * lab.
 *
 * better-sqlite3 is synchronous, and so is SQLite's own wait for a lock: a
 * long busy timeout would freeze the worker's event loop (no /health, no
 * heartbeat) for as long as another process holds the lock. So SQLite waits
 * at most SQLITE_BUSY_TIMEOUT_MS inside a call, and the store retries off the
 * event loop (setTimeout, 1, 2, 4 … ms apart) until the operation's bound:
 * a write that gets no lock within SQLITE_LOCK_WAIT_MS is refused with
 * StoreLockedError (503 "database locked"), never half done. A process's
 * writes queue behind each other, so only one of them polls a held lock.
 *
 * The file is watched for identity: if the file at the path is no longer the
 * one this store opened (deleted, or replaced by another file), every commit
 * would go to an unlinked file and be lost, so the store goes down for good
 * ("visits.db was deleted or replaced") and acknowledges nothing more. It is
 * checked before every operation and again after every commit, before the
 * visit is acknowledged (one stat(2), a few µs).
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeDbError,
  StoreLockedError,
  StoreUnavailableError,
  type NewVisit,
  type StoreHealth,
  type Visit,
  type VisitStore,
  type WorkerVisits,
} from './store.js';

/** The longest SQLite waits for a lock inside one call, i.e. the longest a locked database holds the event loop (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 2;
/** Retries of a locked operation are scheduled 1, 2, 4 … ms apart, at most this far apart (ms). */
export const SQLITE_RETRY_MAX_DELAY_MS = 32;
/** A write (or read) that has not got its lock after this long is refused: 503 "database locked" (ms). */
export const SQLITE_LOCK_WAIT_MS = 2_000;

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

export interface SqliteStoreOptions {
  /**
   * true (default): create the file and the schema when missing (the lab at start, a standalone worker).
   * false: the file must exist and is never created (a lab's workers: a replacement worker must not
   * start a new empty database where the lab's was deleted).
   */
  create?: boolean;
  /** Bound for one operation to get its lock (ms); default SQLITE_LOCK_WAIT_MS. */
  lockWaitMs?: number;
}

interface Statements {
  insert: Database.Statement<[string, string, number, number, number, string | null]>;
  bump: Database.Statement<[number, string]>;
  total: Database.Statement<[], number>;
  recent: Database.Statement<[number], { id: number; at: string; page: string; worker_id: number; user_agent: string | null }>;
  byWorker: Database.Statement<[], { worker_id: number; visits: number; last_at: string }>;
  record: (v: NewVisit) => { id: number; total: number };
  /** Take the write lock and give it back at once (BEGIN IMMEDIATE; COMMIT): can a write go through now? */
  probe: () => void;
}

type Access = 'open' | 'read' | 'write';
/** What failed, for a one-line error: "cannot record a visit: …". */
const WHAT: Record<Access, string> = { open: 'open the database', read: 'read visits', write: 'record a visit' };

/** The file a store opened, by identity (a new file at the same path has another inode). */
interface FileId {
  dev: number;
  ino: number;
}

/** SQLITE_BUSY (and its extended codes) or SQLITE_LOCKED: another connection holds the lock. */
export function isLockError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

/** The pause before retry number `attempt` (0-based) of a locked operation: 1, 2, 4 … ms, capped. */
export function lockRetryDelay(attempt: number): number {
  return Math.min(2 ** Math.min(attempt, 16), SQLITE_RETRY_MAX_DELAY_MS);
}

export class SqliteStore implements VisitStore {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  readonly #create: boolean;
  readonly #lockWaitMs: number;
  #db: Database.Database | null = null;
  #st: Statements | null = null;
  #id: FileId | null = null;
  /** Set once the file at the path is not the one opened: the store is down for good. */
  #gone: string | null = null;
  /** The write queue's tail: writes of this process take turns, so only one polls a held lock. */
  #writes: Promise<unknown> = Promise.resolve();
  /** Since when this process's writes have found the lock held (null: the last write or probe got it). */
  #lockedSince: number | null = null;
  /** A write is polling the held lock right now. */
  #polling = false;

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.where = file;
    this.#create = opts.create ?? true;
    this.#lockWaitMs = opts.lockWaitMs ?? SQLITE_LOCK_WAIT_MS;
  }

  async init(): Promise<void> {
    await this.#ready(performance.now() + this.#lockWaitMs);
  }

  async record(v: NewVisit): Promise<{ id: number; total: number }> {
    const deadline = performance.now() + this.#lockWaitMs;
    const turn = this.#writes.then(async () => {
      const st = await this.#ready(deadline);
      // A write whose turn comes after its bound is refused without touching the lock:
      // a queue behind a held lock empties at once instead of polling once per write.
      const now = performance.now();
      if (now >= deadline && this.#lockedSince !== null) throw this.#locked('write', now - deadline + this.#lockWaitMs);
      this.#polling = true;
      try {
        const done = await this.#retry('write', deadline, () => {
          this.#checkFile();
          return st.record(v);
        });
        // Committed; acknowledged only if it went to the file at the path, not to an unlinked one.
        this.#checkFile();
        return done;
      } finally {
        this.#polling = false;
      }
    });
    this.#writes = turn.catch(() => {});
    return turn;
  }

  async recent(limit: number): Promise<{ total: number; recent: Visit[] }> {
    const deadline = performance.now() + this.#lockWaitMs;
    const st = await this.#ready(deadline);
    const db = this.#db!;
    return this.#retry('read', deadline, () => {
      this.#checkFile();
      return db.transaction(() => ({
        total: st.total.get() ?? 0,
        recent: st.recent.all(limit).map((r) => ({ id: r.id, at: r.at, page: r.page, worker: r.worker_id, userAgent: r.user_agent })),
      }))();
    });
  }

  async byWorker(): Promise<{ total: number; workers: WorkerVisits[] }> {
    const deadline = performance.now() + this.#lockWaitMs;
    const st = await this.#ready(deadline);
    return this.#retry('read', deadline, () => {
      this.#checkFile();
      const workers = st.byWorker.all().map((r) => ({ worker: r.worker_id, visits: r.visits, lastAt: r.last_at }));
      return { total: workers.reduce((sum, w) => sum + w.visits, 0), workers };
    });
  }

  /**
   * Up when the file is the one opened, a read goes through and the write lock can be had, all
   * within `timeoutMs`; never holds the event loop longer than one short attempt at a time.
   */
  async ping(timeoutMs: number): Promise<StoreHealth> {
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    try {
      const st = await this.#ready(deadline);
      // A write of this process is polling a lock held for the whole bound already: that is the answer.
      if (this.#polling && this.#lockedSince !== null && t0 - this.#lockedSince >= timeoutMs) throw this.#locked('write', t0 - this.#lockedSince);
      let total = 0;
      await this.#retry('read', deadline, () => {
        this.#checkFile();
        total = st.total.get() ?? 0;
      });
      await this.#retry('write', deadline, () => st.probe());
      return { up: true, detail: 'ok', ms: performance.now() - t0, total };
    } catch (err) {
      const locked = err instanceof StoreLockedError;
      const detail = err instanceof StoreUnavailableError ? err.message : describeDbError(err);
      return { up: false, ...(locked ? { locked } : {}), detail: locked ? `database locked: ${detail}` : detail, ms: performance.now() - t0 };
    }
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    this.#st = null;
    if (db?.open) db.close();
  }

  /** Statements of the open database; opens it first (a store whose open failed tries again here). */
  async #ready(deadline: number): Promise<Statements> {
    if (this.#gone !== null) throw new StoreUnavailableError(this.#gone);
    if (this.#st) return this.#st;
    return this.#retry('open', deadline, () => this.#st ?? this.#open());
  }

  /** Opens the file (creating file and schema only in create mode); throws the driver's error. */
  #open(): Statements {
    if (!this.#create && !existsSync(this.where)) {
      throw new Error(`${basename(this.where)} does not exist (the lab creates it at start and its workers never do: was it deleted?)`);
    }
    const db = new Database(this.where, { timeout: SQLITE_BUSY_TIMEOUT_MS, fileMustExist: !this.#create });
    try {
      const { dev, ino } = statSync(this.where);
      if (this.#create) {
        // Persistent in the file: once one process switched it, every later open is in WAL mode too.
        db.pragma('journal_mode = WAL');
        db.transaction(() => db.exec(SCHEMA)).immediate();
      }
      db.pragma('synchronous = NORMAL');
      const st = prepare(db);
      this.#db = db;
      this.#st = st;
      this.#id = { dev, ino };
      return st;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Throws (and takes the store down for good) when the file at the path is not the one opened:
   * deleted, or replaced by another file. Anything written from now on would be lost.
   */
  #checkFile(): void {
    if (this.#gone !== null) throw new StoreUnavailableError(this.#gone);
    const id = this.#id;
    if (id === null) return;
    let now: FileId | null = null;
    try {
      const s = statSync(this.where);
      now = { dev: s.dev, ino: s.ino };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (now !== null && now.dev === id.dev && now.ino === id.ino) return;
    const name = basename(this.where);
    this.#gone =
      `SQLite ${this.where}: ${name} was deleted or replaced (` +
      (now === null ? `no file at the path now` : `inode ${id.ino} opened, inode ${now.ino} at the path now`) +
      `); no write is acknowledged any more: restart the lab`;
    const db = this.#db;
    this.#db = null;
    this.#st = null;
    if (db?.open) db.close();
    throw new StoreUnavailableError(this.#gone);
  }

  /**
   * Runs `fn` (synchronous, short) until it does not find the database locked, waiting between
   * attempts off the event loop; past `deadline`, StoreLockedError. Any other failure is a
   * StoreUnavailableError at once.
   */
  async #retry<T>(what: Access, deadline: number, fn: () => T): Promise<T> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        const value = fn();
        if (what === 'write') this.#lockedSince = null;
        return value;
      } catch (err) {
        if (err instanceof StoreUnavailableError) throw err;
        if (!isLockError(err)) throw new StoreUnavailableError(`SQLite ${this.where}: cannot ${WHAT[what]}: ${describeDbError(err)}`, { cause: err });
        const now = performance.now();
        if (what === 'write') this.#lockedSince ??= now;
        if (now >= deadline) throw this.#locked(what, now - started, err);
        await sleep(Math.min(lockRetryDelay(attempt), Math.max(1, deadline - now)));
      }
    }
  }

  #locked(what: Access, waitedMs: number, cause?: unknown): StoreLockedError {
    return new StoreLockedError(`SQLite ${this.where}: another process holds the lock; no ${what} lock after ${Math.round(waitedMs)} ms`, { cause });
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
  const empty = db.transaction(() => {});
  return { insert, bump, total, recent, byWorker, record: (v) => tx.immediate(v), probe: () => empty.immediate() };
}
