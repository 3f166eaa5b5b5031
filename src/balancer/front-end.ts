/**
 * What the lab, the supervisor and /metrics may use of a balancer, whichever
 * front end it is (`--balancer l7`, the default, or `l4`). Both front ends
 * share one worker pool (members.ts) and implement this interface; callers
 * depend on it, never on a concrete class, so nothing branches on
 * `instanceof`. What only an HTTP proxy can know (responses by class, held
 * requests, latency) comes from `proxyMetrics()`, null under L4.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { HoldStats } from './hold.js';
import type { DrainResult } from './members.js';
import type { TrafficCounts } from './traffic-stats.js';
import type { WorkerStats } from '../worker-stats.js';

/** One worker's traffic as the front end sees it. */
export interface WorkerTraffic {
  id: number;
  /** Requests it completed (L7: through the balancer; L4: its own count). */
  requests: number;
  inFlight: number;
  rps: number;
  errors: number;
  /** Receives new work now (not draining, healthy, not ejected). */
  inRotation: boolean;
}

/** The front end's counters plus what it refused at the door, and each worker's traffic: what `traffic()` returns. */
export interface FrontEndTraffic extends TrafficCounts {
  /** Requests refused before any worker was involved: malformed or smuggling-shaped, oversized headers, Upgrade, too deeply pipelined, slow clients timed out. */
  rejected: number;
  workers: WorkerTraffic[];
}

/** Lifetime counters of one worker, kept a while after it left (so a scrape after its removal still sees its last requests). */
export interface WorkerCounts {
  id: number;
  /** Finished responses by status class (index 2: 2xx … 5: 5xx). */
  byClass: readonly number[];
  healthFailures: number;
  inFlight: number;
  gone: boolean;
}

/** What only a front end that sees every request knows (the L7 proxy). */
export interface ProxyMetrics {
  workerCounts(): { workers: WorkerCounts[]; ownByClass: readonly number[] };
  holdStats(): HoldStats | null;
  /** The balancer's lifetime latency histogram, µs. */
  latency(): Readonly<Histogram>;
  /** Every response sent to clients by status class (index 2: 2xx … 5: 5xx), lifetime, the balancer's own included (alarms diff it per tick). */
  responsesByClass(): readonly number[];
}

/** The worker's IPC channel (a ChildProcess fits); the L4 front end hands connections through it. */
export interface WorkerChannel {
  send(message: { type: 'connection' | 'close-connections' }, handle?: import('node:net').Socket, options?: { keepOpen?: boolean }, callback?: (err: Error | null) => void): boolean;
}

export interface FrontEndTarget {
  id: number;
  host: string;
  port: number;
  channel: WorkerChannel;
}

export interface FrontEnd {
  readonly kind: 'l7' | 'l4';
  readonly host: string;
  readonly port: number;
  readonly url: string;
  listen(): Promise<void>;
  close(): Promise<void>;
  addWorker(w: FrontEndTarget): void;
  /** The worker's own stats arrived (L4 counts requests from these; L7 ignores them). */
  report(id: number, stats: WorkerStats): void;
  drainWorker(id: number, timeoutMs: number): Promise<DrainResult>;
  removeWorker(id: number): Promise<void>;
  readyCount(): number;
  /** Counters only: reading resets nothing. */
  traffic(): FrontEndTraffic;
  /** Lifetime latency histogram, µs (never filled under L4: the daemon does not see requests). */
  readonly latency: Readonly<Histogram>;
  /** Requests waiting for a worker now (scale to zero; always 0 under L4). */
  held(): number;
  proxyMetrics(): ProxyMetrics | null;
  /** 'health', 'upstream-error', 'upstream-restored' (both); 'held', 'released' (L7); 'pinned' (L4). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each event has its own payload type, as in EventEmitter
  on(event: string, listener: (...args: any[]) => void): this;
}
