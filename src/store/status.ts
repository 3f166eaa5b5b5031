/**
 * The store's health and counts as the lab shows them, folded purely from
 * what the workers report over IPC: the daemon itself never queries the
 * database (better-sqlite3 would block the balancer's event loop).
 */
import type { StoreStatus, WorkerState } from '../events.js';
import type { StoreKind } from './location.js';
import type { WorkerStoreStats } from './store.js';

export interface StoreReport {
  id: number;
  state: WorkerState;
  store: WorkerStoreStats;
}

const COUNTED: ReadonlySet<WorkerState> = new Set(['ready', 'draining']);

export function summarizeStore(store: { kind: StoreKind; where: string }, reports: StoreReport[], visits: ReadonlyMap<number, number>): StoreStatus {
  const serving = reports.filter((r) => COUNTED.has(r.state));
  const down = serving.find((r) => !r.store.up);
  const up = serving.length === 0 ? null : down === undefined;
  const detail = up === null ? 'no serving worker has reported yet' : down ? `worker ${down.id}: ${down.store.detail}` : 'ok';
  const totals = reports.map((r) => r.store.total).filter((t): t is number => t !== null);
  const visitsByWorker: Record<string, number> = {};
  let sum = 0;
  for (const [id, n] of [...visits].sort((a, b) => a[0] - b[0])) {
    visitsByWorker[String(id)] = n;
    sum += n;
  }
  return {
    kind: store.kind,
    where: store.where,
    up,
    detail,
    total: totals.length === 0 ? null : Math.max(...totals),
    visits: sum,
    visitsByWorker,
  };
}

/** Why a worker's own report says the shared database let it down: which way, and the driver's reason. */
export interface DatabaseBlame {
  what: 'database locked' | 'database down';
  why: string;
}

/**
 * Why a live worker that fails its health checks should be kept rather than
 * replaced: its own latest report says the shared database is down or
 * locked, and a new worker would reach it no better. null when its store is
 * up, unknown (no report yet) or the worker has none.
 */
export function databaseBlame(store: WorkerStoreStats | undefined): DatabaseBlame | null {
  if (store === undefined || store.up) return null;
  const m = /^(database (?:locked|down)): ?/.exec(store.detail);
  if (m === null) return { what: 'database down', why: store.detail };
  return { what: m[1] as DatabaseBlame['what'], why: store.detail.slice(m[0].length) };
}
