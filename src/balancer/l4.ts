/**
 * `--balancer l4`: connection-level balancing, like an AWS NLB or a
 * Kubernetes Service. The daemon accepts each TCP connection (paused, no byte
 * read) and hands the socket to the next worker in rotation over the worker's
 * IPC channel, the way Node's cluster module distributes connections; the
 * daemon never copies a byte. Every request on that connection is then served
 * by that worker: with keep-alive clients a worker added later gets nothing
 * from connections that already exist (connection pinning). The remedies live
 * in the workers (`--max-conn-requests`, `--max-conn-age`).
 *
 * Since the daemon no longer sees requests, per-worker counts come from the
 * workers' own IPC stats (`report()`, once a second); latency is not measured
 * here (p50/p95/p99 are null). Health checks, passive ejection and drain work
 * as in L7. Events:
 *
 * - 'health' `{ id, healthy, detail }` when a worker crosses a health threshold;
 * - 'upstream-error' `{ id, port, code }` when a handoff fails (the worker is ejected);
 * - 'upstream-restored' `{ id, port }` when an ejected worker is back in rotation;
 * - 'pinned' `{ id, port, connections }` once per balancer: the first time a worker
 *   in rotation stays idle for `pinnedAfterMs` while others serve traffic.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import { InternalError } from '../errors.js';
import { hostForUrl } from '../url-host.js';
import { listenFrontEnd } from './listen.js';
import type { FrontEnd, FrontEndTraffic, FrontEndTarget, WorkerChannel, WorkerTraffic } from './front-end.js';
import type { WorkerStats } from '../worker-stats.js';
import { Members, validPort, type DrainResult, type HealthCheckOptions, type Member } from './members.js';
import { RateWindow } from './rate-window.js';
import { newLatencyHistogram } from './traffic-stats.js';

/** The worker's IPC channel (a ChildProcess fits). */
export type L4Channel = WorkerChannel;
export type L4Target = FrontEndTarget;

export interface PinnedEvent {
  id: number;
  port: number;
  /** Open connections on the other workers when it was noticed. */
  connections: number;
}

export interface L4Options {
  host: string;
  port: number;
  health?: Partial<HealthCheckOptions>;
  /** A worker in rotation this long with no connection while others serve is reported as pinned out (default 5 s). */
  pinnedAfterMs?: number;
  now?: () => number;
}

/** What the L4 front end keeps per worker: its channel and what it last said about itself. */
interface Handoff {
  channel: L4Channel;
  report: WorkerStats | null;
  reportAt: number;
  rps: number;
  handedOff: number;
  errors: number;
}

const NO_WORKER_BODY = JSON.stringify({ error: 'no ready worker', code: 'AS_ERR_NO_READY_WORKER' });
const NO_WORKER_RESPONSE =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\n' +
  `connection: close\r\ncontent-length: ${Buffer.byteLength(NO_WORKER_BODY)}\r\n\r\n${NO_WORKER_BODY}`;

export class L4Balancer extends EventEmitter implements FrontEnd {
  readonly kind = 'l4';
  readonly host: string;
  readonly #requestedPort: number;
  readonly #pinnedAfterMs: number;
  readonly #now: () => number;
  readonly #server: Server;
  /** The shared worker pool: membership, health, ejection, drain, rotation. */
  readonly #members: Members<Handoff>;
  readonly #window = new RateWindow(60);
  #port = 0;
  #closed = false;
  /** Requests served by workers that have left (their last report), so totals stay lifetime. */
  #retiredRequests = 0;
  #errors = 0;
  #pinnedReported = false;
  /** Never filled: the daemon does not see requests under L4 (the latency percentiles stay null). */
  readonly #latency = newLatencyHistogram();

  constructor(opts: L4Options) {
    super();
    if (typeof opts.host !== 'string' || opts.host === '') throw new InternalError(`balancer host: expected a host name or address, received ${JSON.stringify(opts.host)}`);
    this.host = opts.host;
    this.#requestedPort = validPort('port', opts.port, true);
    const pinnedAfterMs = opts.pinnedAfterMs ?? 5000;
    if (typeof pinnedAfterMs !== 'number' || !Number.isFinite(pinnedAfterMs) || pinnedAfterMs < 0) {
      throw new InternalError(`balancer pinnedAfterMs: expected a number of ms >= 0, received ${JSON.stringify(pinnedAfterMs)}`);
    }
    this.#pinnedAfterMs = pinnedAfterMs;
    const clock = opts.now;
    this.#now = clock === undefined ? () => performance.now() : () => clock();
    this.#members = new Members<Handoff>({
      health: opts.health,
      now: this.#now,
      hooks: {
        inFlight: (m) => m.data.report?.inFlight ?? 0,
        idle: (m) => m.data.report === null || (m.data.report.handedOver === 0 && m.data.report.inFlight === 0),
        draining: (m) => {
          try {
            m.data.channel.send({ type: 'close-connections' }, undefined, undefined, () => {});
          } catch {
            // channel closed: the worker is gone, nothing left to drain
          }
        },
        release: async (m) => {
          this.#retiredRequests += m.data.report?.requests ?? 0;
        },
      },
    });
    for (const event of ['health', 'upstream-error', 'upstream-restored']) this.#members.on(event, (e) => this.emit(event, e));
    this.#server = createServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${hostForUrl(this.host)}:${this.#port}`;
  }

  async listen(): Promise<void> {
    this.#port = await listenFrontEnd(this.#server, this.host, this.#requestedPort);
  }

  addWorker(w: L4Target): void {
    if (w === null || typeof w !== 'object' || typeof w.channel?.send !== 'function') {
      throw new InternalError(`worker ${JSON.stringify(w?.id)}: expected an IPC channel to hand connections through`);
    }
    const channel = w.channel;
    this.#members.add({ id: w.id, host: w.host, port: w.port }, () => ({ channel, report: null, reportAt: 0, rps: 0, handedOff: 0, errors: 0 }));
  }

  /** A worker's IPC stats arrived. */
  report(id: number, r: WorkerStats): void {
    const m = this.#members.get(id);
    if (m === undefined) return;
    const h = m.data;
    const now = this.#now();
    const previous = h.report;
    if (previous !== null) {
      const served = Math.max(0, r.requests - previous.requests);
      const seconds = (now - h.reportAt) / 1000;
      h.rps = seconds > 0 ? served / seconds : 0;
      // Spread over the time the report covers: a report arrives once a second at the worker's own phase, and
      // recorded at its arrival two could fall into one of the lab's seconds and none into the next (0 req/s).
      if (served > 0) this.#window.spread(h.reportAt, now, served);
    } else if (r.requests > 0) {
      this.#window.record(now, r.requests);
    }
    h.report = r;
    h.reportAt = now;
    this.#checkPinned(m, now);
    this.#members.changed(m);
  }

  /**
   * Stop handing it connections, ask it to close its client connections (idle ones soon,
   * busy ones after their next response) and wait until it reports none open and nothing in flight.
   */
  drainWorker(id: number, timeoutMs: number): Promise<DrainResult> {
    return this.#members.drain(id, timeoutMs);
  }

  removeWorker(id: number): Promise<void> {
    return this.#members.remove(id);
  }

  readyCount(): number {
    return this.#members.readyCount();
  }

  /** Same shape as the L7 balancer's; always empty here. */
  get latency(): Readonly<Histogram> {
    return this.#latency;
  }

  /** No request is held under L4: a connection with no worker gets its 503 at once. */
  held(): number {
    return 0;
  }

  /** The daemon sees connections, not requests: no per-response metrics. */
  proxyMetrics(): null {
    return null;
  }

  /** Per worker: connections handed to it so far, and those it says are open (its latest stats' `handedOver`). */
  handoffs(): Array<{ id: number; handedOff: number; open: number }> {
    return [...this.#members.all()].map((m) => ({ id: m.id, handedOff: m.data.handedOff, open: m.data.report?.handedOver ?? 0 }));
  }

  traffic(): FrontEndTraffic {
    const now = this.#now();
    const workers: WorkerTraffic[] = [];
    let total = this.#retiredRequests;
    let inFlight = 0;
    // The last full second, as the window counts it: a worker's reports cover it only up to its latest one;
    // the rest of that second is counted at the worker's latest rate (it arrives with its next report).
    const secondEnd = Math.floor(now / 1000) * 1000;
    let notYetReported = 0;
    for (const m of this.#members.all()) {
      const h = m.data;
      const r = h.report;
      if (r !== null && now - h.reportAt <= 2500) notYetReported += (h.rps * Math.max(0, secondEnd - Math.max(h.reportAt, secondEnd - 1000))) / 1000;
      total += r?.requests ?? 0;
      inFlight += r?.inFlight ?? 0;
      // A report older than two periods is stale: say 0 rather than repeat an old rate.
      const rps = now - h.reportAt > 2500 ? 0 : Math.round(h.rps);
      workers.push({
        id: m.id,
        requests: r?.requests ?? 0,
        inFlight: r?.inFlight ?? 0,
        rps,
        errors: h.errors,
        inRotation: this.#members.inRotation(m),
      });
    }
    return {
      rpm: Math.round(this.#window.last(60, now)),
      rps: Math.round(this.#window.last(1, now) + notYetReported),
      inFlight,
      total,
      errors: this.#errors,
      rejected: 0,
      workers,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Not waiting for close's callback: net.Server keeps counting every socket it handed away (their
    // handles live in the workers now), so it would never come. The listening handle closes at once.
    if (this.#server.listening) this.#server.close();
    await this.#members.close();
  }

  // internals

  #accept(socket: Socket): void {
    socket.on('error', () => {});
    const m = this.#members.next();
    if (m === null) {
      this.#errors++;
      socket.end(NO_WORKER_RESPONSE);
      return;
    }
    m.data.handedOff++;
    try {
      m.data.channel.send({ type: 'connection' }, socket, { keepOpen: false }, (err) => {
        if (err !== null) this.#handoffFailed(m, socket, (err as NodeJS.ErrnoException).code ?? err.message);
      });
    } catch (err) {
      this.#handoffFailed(m, socket, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  }

  /** The worker's channel refused the socket (it is exiting): the client gets a 503, the worker leaves rotation. */
  #handoffFailed(m: Member<Handoff>, socket: Socket, code: string): void {
    m.data.errors++;
    this.#errors++;
    if (!socket.destroyed) socket.end(NO_WORKER_RESPONSE);
    this.#members.eject(m, code);
  }

  #checkPinned(m: Member<Handoff>, now: number): void {
    if (this.#pinnedReported || !this.#members.inRotation(m) || now - m.addedAt < this.#pinnedAfterMs) return;
    if (m.data.handedOff > 0 || (m.data.report?.requests ?? 0) > 0) return;
    let others = 0;
    let busy = false;
    for (const o of this.#members.all()) {
      if (o === m) continue;
      others += o.data.report?.handedOver ?? 0;
      if (o.data.rps > 0) busy = true;
    }
    if (!busy) return;
    this.#pinnedReported = true;
    this.emit('pinned', { id: m.id, port: m.port, connections: others } satisfies PinnedEvent);
  }
}
