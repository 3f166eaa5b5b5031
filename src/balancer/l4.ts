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
import { InternalError } from '../errors.js';
import { hostForUrl } from '../url-host.js';
import { listenFrontEnd } from './listen.js';
import type { TrafficStats } from '../events.js';
import { DEFAULT_HEALTH, type BalancerHealthEvent, type HealthCheckOptions, type UpstreamErrorEvent, type UpstreamRestoredEvent } from './balancer.js';
import { HealthCheckLoop, httpProbe, type ProbeResult } from './health-check.js';
import { applyCheck, eject, initialHealth, inRotation, type HealthState } from './health-state.js';
import { pick } from './pick.js';
import type { Histogram } from 'hdr-histogram-js';
import { RateWindow } from './rate-window.js';
import { newLatencyHistogram } from './traffic-stats.js';

/** The worker's IPC channel (a ChildProcess fits). */
export interface L4Channel {
  send(message: { type: 'connection' | 'close-connections' }, handle?: Socket, options?: { keepOpen?: boolean }, callback?: (err: Error | null) => void): boolean;
}

export interface L4Target {
  id: number;
  host: string;
  port: number;
  channel: L4Channel;
}

/** What a worker says about itself once a second (its IPC stats). */
export interface WorkerReport {
  requests: number;
  inFlight: number;
  /** Open connections the balancer handed over. */
  handedOver: number;
}

export interface L4WorkerStats {
  id: number;
  requests: number;
  inFlight: number;
  rps: number;
  errors: number;
  inRotation: boolean;
  /** Open client connections on this worker (from its report). */
  connections: number;
  /** Connections handed to it so far. */
  handedOff: number;
}

export interface L4Snapshot extends Omit<TrafficStats, 'p50' | 'p95' | 'p99'> {
  rejected: number;
  workers: L4WorkerStats[];
}

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

interface Member {
  id: number;
  host: string;
  port: number;
  channel: L4Channel;
  health: HealthState;
  draining: boolean;
  gone: boolean;
  addedAt: number;
  loop: HealthCheckLoop;
  closeProbe: () => Promise<void>;
  report: WorkerReport | null;
  reportAt: number;
  rps: number;
  handedOff: number;
  errors: number;
  onReport: (() => void) | null;
}

const NO_WORKER_BODY = JSON.stringify({ error: 'no ready worker', code: 'AS_ERR_NO_READY_WORKER' });
const NO_WORKER_RESPONSE =
  'HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncache-control: no-store\r\n' +
  `connection: close\r\ncontent-length: ${Buffer.byteLength(NO_WORKER_BODY)}\r\n\r\n${NO_WORKER_BODY}`;

export class L4Balancer extends EventEmitter {
  readonly host: string;
  readonly #requestedPort: number;
  readonly #health: HealthCheckOptions;
  readonly #pinnedAfterMs: number;
  readonly #now: () => number;
  readonly #server: Server;
  readonly #members = new Map<number, Member>();
  readonly #window = new RateWindow(60);
  #rotation: Member[] = [];
  #cursor = 0;
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
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new InternalError(`balancer port: expected an integer port 0-65535, received ${JSON.stringify(opts.port)}`);
    this.host = opts.host;
    this.#requestedPort = opts.port;
    this.#health = { ...DEFAULT_HEALTH, ...opts.health };
    this.#pinnedAfterMs = opts.pinnedAfterMs ?? 5000;
    const clock = opts.now;
    this.#now = clock === undefined ? () => performance.now() : () => clock();
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
    if (this.#closed) throw new Error('balancer is closed');
    if (this.#members.has(w.id)) throw new Error(`worker ${w.id} is already in the balancer (remove or drain it first)`);
    const h = this.#health;
    const { probe, close } = httpProbe(w.host, w.port, h.path, h.timeoutMs);
    const m: Member = {
      id: w.id,
      host: w.host,
      port: w.port,
      channel: w.channel,
      health: initialHealth,
      draining: false,
      gone: false,
      addedAt: this.#now(),
      loop: new HealthCheckLoop(probe, h.intervalMs, (r) => this.#onHealthResult(m, r)),
      closeProbe: close,
      report: null,
      reportAt: 0,
      rps: 0,
      handedOff: 0,
      errors: 0,
      onReport: null,
    };
    this.#members.set(w.id, m);
    this.#rebuildRotation();
    m.loop.start();
  }

  /** A worker's IPC stats arrived. */
  report(id: number, r: WorkerReport): void {
    const m = this.#members.get(id);
    if (m === undefined) return;
    const now = this.#now();
    const previous = m.report;
    if (previous !== null) {
      const served = Math.max(0, r.requests - previous.requests);
      const seconds = (now - m.reportAt) / 1000;
      m.rps = seconds > 0 ? served / seconds : 0;
      if (served > 0) this.#window.record(now, served);
    } else if (r.requests > 0) {
      this.#window.record(now, r.requests);
    }
    m.report = r;
    m.reportAt = now;
    this.#checkPinned(m, now);
    m.onReport?.();
  }

  /**
   * Stop handing it connections, ask it to close its client connections (idle ones soon,
   * busy ones after their next response) and wait until it reports none open and nothing in flight.
   */
  async drainWorker(id: number, timeoutMs: number): Promise<{ inFlightAtStart: number; drained: boolean; ms: number }> {
    const m = this.#members.get(id);
    if (m === undefined || m.draining) return { inFlightAtStart: 0, drained: true, ms: 0 };
    const t0 = this.#now();
    m.draining = true;
    this.#rebuildRotation();
    m.loop.stop();
    const inFlightAtStart = m.report?.inFlight ?? 0;
    try {
      m.channel.send({ type: 'close-connections' }, undefined, undefined, () => {});
    } catch {
      // channel closed: the worker is gone, nothing left to drain
    }
    const idle = (): boolean => m.report === null || (m.report.handedOver === 0 && m.report.inFlight === 0);
    const drained = idle() || (await this.#waitFor(m, idle, timeoutMs));
    const ms = this.#now() - t0;
    // removeWorker() or close() meanwhile (the worker crashed, the lab stopped): that is not a drain.
    const cut = m.gone;
    this.#forget(m);
    await m.closeProbe();
    return { inFlightAtStart, drained: drained && !cut, ms };
  }

  async removeWorker(id: number): Promise<void> {
    const m = this.#members.get(id);
    if (m === undefined) return;
    this.#forget(m);
    m.loop.stop();
    await m.closeProbe();
  }

  readyCount(): number {
    return this.#rotation.length;
  }

  /** Same shape as the L7 balancer's; always empty here. */
  get latency(): Readonly<Histogram> {
    return this.#latency;
  }

  snapshot(): L4Snapshot {
    const now = this.#now();
    const workers: L4WorkerStats[] = [];
    let total = this.#retiredRequests;
    let inFlight = 0;
    for (const m of this.#members.values()) {
      const r = m.report;
      total += r?.requests ?? 0;
      inFlight += r?.inFlight ?? 0;
      // A report older than two periods is stale: say 0 rather than repeat an old rate.
      const rps = now - m.reportAt > 2500 ? 0 : Math.round(m.rps);
      workers.push({
        id: m.id,
        requests: r?.requests ?? 0,
        inFlight: r?.inFlight ?? 0,
        rps,
        errors: m.errors,
        inRotation: !m.draining && inRotation(m.health),
        connections: r?.handedOver ?? 0,
        handedOff: m.handedOff,
      });
    }
    return {
      rpm: this.#window.last(60, now),
      rps: this.#window.last(1, now),
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
    const members = [...this.#members.values()];
    for (const m of members) {
      this.#forget(m);
      m.loop.stop();
    }
    await Promise.all(members.map((m) => m.closeProbe()));
  }

  // internals

  #accept(socket: Socket): void {
    socket.on('error', () => {});
    const r = pick(this.#rotation, this.#cursor);
    if (r === null) {
      this.#errors++;
      socket.end(NO_WORKER_RESPONSE);
      return;
    }
    this.#cursor = r.cursor;
    const m = r.worker;
    m.handedOff++;
    try {
      m.channel.send({ type: 'connection' }, socket, { keepOpen: false }, (err) => {
        if (err !== null) this.#handoffFailed(m, socket, (err as NodeJS.ErrnoException).code ?? err.message);
      });
    } catch (err) {
      this.#handoffFailed(m, socket, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  }

  /** The worker's channel refused the socket (it is exiting): the client gets a 503, the worker leaves rotation. */
  #handoffFailed(m: Member, socket: Socket, code: string): void {
    m.errors++;
    this.#errors++;
    if (!socket.destroyed) socket.end(NO_WORKER_RESPONSE);
    if (m.gone || m.health.ejected) return;
    m.health = eject(m.health);
    this.#rebuildRotation();
    this.emit('upstream-error', { id: m.id, port: m.port, code } satisfies UpstreamErrorEvent);
  }

  #checkPinned(m: Member, now: number): void {
    if (this.#pinnedReported || m.draining || !inRotation(m.health) || now - m.addedAt < this.#pinnedAfterMs) return;
    if (m.handedOff > 0 || (m.report?.requests ?? 0) > 0) return;
    let others = 0;
    let busy = false;
    for (const o of this.#members.values()) {
      if (o === m) continue;
      others += o.report?.handedOver ?? 0;
      if (o.rps > 0) busy = true;
    }
    if (!busy) return;
    this.#pinnedReported = true;
    this.emit('pinned', { id: m.id, port: m.port, connections: others } satisfies PinnedEvent);
  }

  #waitFor(m: Member, done: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        m.onReport = null;
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      m.onReport = () => {
        if (m.gone) finish(false);
        else if (done()) finish(true);
      };
    });
  }

  #forget(m: Member): void {
    if (m.gone) return;
    m.gone = true;
    this.#retiredRequests += m.report?.requests ?? 0;
    this.#members.delete(m.id);
    this.#rebuildRotation();
    m.onReport?.();
  }

  #onHealthResult(m: Member, r: ProbeResult): void {
    if (m.gone || m.draining) return;
    const { state, transition, rotationChanged, restored } = applyCheck(m.health, r.ok, this.#health);
    m.health = state;
    if (rotationChanged) this.#rebuildRotation();
    if (transition !== null) this.emit('health', { id: m.id, healthy: transition === 'healthy', detail: r.detail } satisfies BalancerHealthEvent);
    if (restored) this.emit('upstream-restored', { id: m.id, port: m.port } satisfies UpstreamRestoredEvent);
  }

  #rebuildRotation(): void {
    const rotation: Member[] = [];
    for (const m of this.#members.values()) if (!m.draining && inRotation(m.health)) rotation.push(m);
    this.#rotation = rotation;
  }
}
