/**
 * The one small interface the worker app talks to; SQLite (sqlite.ts) and
 * PostgreSQL (postgres.ts) implement it. Every value reaches SQL as a bound
 * parameter. Any failure of the database itself is a StoreUnavailableError
 * (the app answers 503), never a crash.
 */
import type { StoreKind } from './location.js';

export interface NewVisit {
  at: Date;
  page: string;
  workerId: number;
  workerPort: number;
  workerPid: number;
  userAgent: string | null;
}

export interface Visit {
  id: number;
  /** ISO 8601, UTC. */
  at: string;
  page: string;
  worker: number;
  userAgent: string | null;
}

export interface WorkerVisits {
  worker: number;
  visits: number;
  /** ISO 8601 time of its latest visit. */
  lastAt: string;
}

export interface StoreHealth {
  up: boolean;
  /** true: down only because another process holds the database's lock (SQLite); it comes back by itself. */
  locked?: boolean;
  /** "ok", or why it is down ("database locked: …" when locked). */
  detail: string;
  /** How long the check took, ms. */
  ms: number;
  /** The store's total read by this check (when up): what every worker has committed so far. */
  total?: number;
}

export interface VisitStore {
  readonly kind: StoreKind;
  /** Where it is, safe to show (no password). */
  readonly where: string;
  /** Create the schema if it is missing; safe to run from many processes at once. */
  init(): Promise<void>;
  /** Record one visit; resolves once it is durable (committed) with its id and the total after it. */
  record(visit: NewVisit): Promise<{ id: number; total: number }>;
  /** The total and the `limit` most recent visits, newest first. */
  recent(limit: number): Promise<{ total: number; recent: Visit[] }>;
  /** Visit counts per worker id, lowest id first. */
  byWorker(): Promise<{ total: number; workers: WorkerVisits[] }>;
  /** A cheap round trip to the database, bounded by `timeoutMs`; never rejects. */
  ping(timeoutMs: number): Promise<StoreHealth>;
  close(): Promise<void>;
}

/** The database cannot be reached or refused the operation. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The database is there but another process holds its lock, and this
 * operation did not get it within its bound: 503 "database locked", and
 * nothing was written.
 */
export class StoreLockedError extends StoreUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreLockedError';
  }
}

/** `page` is at most this many characters, a user agent is kept to this many. */
export const MAX_PAGE_LENGTH = 100;
export const MAX_USER_AGENT_LENGTH = 200;

/** Driver error -> one line for logs and 503 bodies. */
export function describeDbError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** The worker's view of the shared visits store, sent over IPC in every stats message (when it has one): see worker-stats.ts. */
export type { WorkerStoreStats } from '../worker-stats.js';
