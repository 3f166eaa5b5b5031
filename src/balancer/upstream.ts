/**
 * What the L7 front end keeps per worker: its forwarding pool (keep-alive
 * connections) and its counters. Membership, health, ejection and drain are
 * the shared pool's (members.ts).
 */
import { Pool } from 'undici';
import { WorkerCounter } from './traffic-stats.js';
import { hostForUrl } from '../url-host.js';

export interface UpstreamTarget {
  id: number;
  host: string;
  port: number;
}

export interface PoolSettings {
  connections: number;
  timeoutMs: number;
}

export class Upstream {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** Value of the `X-Served-By` response header: `worker-<id>@<port>`. */
  readonly servedBy: string;
  readonly pool: Pool;
  readonly counter = new WorkerCounter();

  constructor(target: UpstreamTarget, settings: PoolSettings) {
    this.id = target.id;
    this.host = target.host;
    this.port = target.port;
    this.servedBy = `worker-${target.id}@${target.port}`;
    this.pool = new Pool(`http://${hostForUrl(target.host)}:${target.port}`, {
      connections: settings.connections,
      pipelining: 1,
      // The balancer's own deadline (one timer for all requests, queueing included) bounds the wait
      // for response headers; undici's would arm one more timer per request, and later.
      headersTimeout: 0,
      bodyTimeout: settings.timeoutMs,
      connectTimeout: Math.min(settings.timeoutMs, 5000),
    });
  }
}
