/**
 * One worker's own stats: the record a worker sends over IPC once a second
 * (app/main.ts), that the supervisor keeps as the worker's latest
 * (supervisor/worker-process.ts), the L4 front end counts requests from
 * (balancer/l4.ts) and the lab's tick window reads (lab/observe.ts). One
 * shape from the message to the tick; nothing renames its fields on the way.
 */

/** A worker's latest word on the shared visits store. */
export interface WorkerStoreStats {
  kind: 'sqlite' | 'postgres';
  /** Result of a database round trip made for this report. */
  up: boolean;
  /** "ok" or why it is down. */
  detail: string;
  /** Visits this worker acknowledged (201) in its lifetime. */
  visits: number;
  /** The store's total as of this worker's latest visit or database check (null before either). */
  total: number | null;
}

export interface WorkerStats {
  /** This process's CPU time (all threads, user+system) over the last period, % of one core. */
  cpu: number;
  /** Resident set size, bytes. */
  rss: number;
  /** Requests it completed in its lifetime. */
  requests: number;
  /** Requests it is handling now. */
  inFlight: number;
  /** Open client connections (accepted on its port or handed over). */
  connections: number;
  /** Of those, the ones the L4 balancer handed over. */
  handedOver: number;
  store?: WorkerStoreStats;
}
