/**
 * What the L7 front end keeps per worker: its forwarding pool (keep-alive
 * connections) and its counters. Membership, health, ejection and drain are
 * the shared pool's (members.ts).
 */
import { Pool, type Dispatcher } from 'undici';
import { LeanPool, type DispatchHandler, type DispatchOptions } from './lean/lean-pool.js';
import { WorkerCounter } from './traffic-stats.js';
import { hostForUrl } from '../url-host.js';

export interface UpstreamTarget {
  id: number;
  host: string;
  port: number;
}

/**
 * How the balancer talks to a worker: 'lean' (lean/lean-pool.ts, pooled net.Sockets and a strict
 * HTTP/1.1 response parser; the default) or 'undici' (its Pool; AUTOSCALE_UPSTREAM=undici, for comparison).
 */
export type UpstreamKind = 'undici' | 'lean';
export const UPSTREAM_KINDS: readonly UpstreamKind[] = ['undici', 'lean'];

/** The connection pool to one worker, whichever kind. */
export interface UpstreamPool {
  dispatch(opts: DispatchOptions, handler: DispatchHandler): void;
  /** Let running requests finish, then close. */
  close(): Promise<void>;
  /** Fail running requests, close now. */
  destroy(): Promise<void>;
}

export interface PoolSettings {
  connections: number;
  timeoutMs: number;
  kind?: UpstreamKind;
}

function undiciPool(url: string, settings: PoolSettings): UpstreamPool {
  const pool = new Pool(url, {
    connections: settings.connections,
    pipelining: 1,
    // The balancer's own deadline (one timer for all requests, queueing included) bounds the wait
    // for response headers; undici's would arm one more timer per request, and later.
    headersTimeout: 0,
    bodyTimeout: settings.timeoutMs,
    connectTimeout: Math.min(settings.timeoutMs, 5000),
  });
  return {
    dispatch: (opts, handler) => void pool.dispatch({ ...opts, method: opts.method as Dispatcher.HttpMethod }, handler as unknown as Dispatcher.DispatchHandler),
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}

export class Upstream {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** Value of the `X-Served-By` response header: `worker-<id>@<port>`. */
  readonly servedBy: string;
  readonly pool: UpstreamPool;
  readonly counter = new WorkerCounter();

  constructor(target: UpstreamTarget, settings: PoolSettings) {
    this.id = target.id;
    this.host = target.host;
    this.port = target.port;
    this.servedBy = `worker-${target.id}@${target.port}`;
    this.pool =
      settings.kind === 'undici'
        ? undiciPool(`http://${hostForUrl(target.host)}:${target.port}`, settings)
        : new LeanPool(target.host, target.port, { connections: settings.connections, bodyTimeoutMs: settings.timeoutMs, connectTimeoutMs: Math.min(settings.timeoutMs, 5000) });
  }
}
