/**
 * One worker behind the balancer: its forwarding pool (keep-alive
 * connections), its counters, its health and its place in the lifecycle
 * (in rotation unless draining, unhealthy or ejected).
 */
import { Pool } from 'undici';
import { initialHealth, type HealthState } from './health-state.js';
import type { HealthCheckLoop } from './health-check.js';
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
  health: HealthState = initialHealth;
  draining = false;
  /** Out of the balancer for good (drained or removed); its pool is closing or closed. */
  gone = false;
  healthLoop: HealthCheckLoop | null = null;
  closeProbe: (() => Promise<void>) | null = null;
  /** Set while a drain waits for the in-flight count to reach 0. */
  onIdle: (() => void) | null = null;

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

  /** Stop health checks and close their connection. */
  async stopHealth(): Promise<void> {
    this.healthLoop?.stop();
    this.healthLoop = null;
    const close = this.closeProbe;
    this.closeProbe = null;
    if (close !== null) await close();
  }
}
