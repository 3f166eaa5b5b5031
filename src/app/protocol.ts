/**
 * IPC between the supervisor and a forked worker (process.send / 'message').
 * Kept in one file so both sides agree on the shapes.
 */

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
  /**
   * Sent every second. `cpu` is this process's CPU time (all threads, user+system)
   * over the last period as % of one core; `rss` in bytes; `requests` lifetime
   * count; `inFlight` requests being handled now; `connections` open client
   * connections (accepted on the port or handed over), `handedOver` those the
   * L4 balancer handed over.
   */
  | { type: 'stats'; cpu: number; rss: number; requests: number; inFlight: number; connections: number; handedOver: number };

/** Exit code a worker uses when it could not listen on its port. */
export const EXIT_LISTEN_FAILED = 3;

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
