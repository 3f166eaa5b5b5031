/**
 * IPC between the supervisor and a forked worker (process.send / 'message').
 * Kept in one file so both sides agree on the shapes.
 */
import type { WorkerStats, WorkerStoreStats } from '../worker-stats.js';

export type { WorkerStats, WorkerStoreStats };

/** Supervisor -> worker. */
export type ToWorker =
  /** Stop looking healthy (/health answers 503) ahead of a SIGTERM; keep serving what arrives. */
  | { type: 'drain' }
  /** L4 balancer: the message carries a client's TCP socket (the IPC handle); serve it as if accepted here. */
  | { type: 'connection' }
  /** L4 balancer draining this worker: close idle client connections, `Connection: close` on the others' next response. */
  | { type: 'close-connections' };

/** Worker -> supervisor. */
export type FromWorker =
  /** The HTTP server is listening; only now does the worker count as ready. */
  | { type: 'ready'; port: number; pid: number }
  /** listen() failed (e.g. EADDRINUSE); the worker exits with code 3 right after. */
  | { type: 'listen-error'; port: number; code: string; message: string }
  /** Sent every second: the worker's own stats (worker-stats.ts), the one record the supervisor keeps and the tick reads. */
  | ({ type: 'stats' } & WorkerStats)
  /** Sent once after the last request on the way out: the final store counts. */
  | { type: 'store'; store: WorkerStoreStats };


/** Exit code a worker uses when it could not listen on its port. */
export const EXIT_LISTEN_FAILED = 3;

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
