/**
 * The lab's balancer: a node:http front end on `host:port` that forwards each
 * request round-robin to one worker in rotation, through one undici Pool of
 * keep-alive connections per worker. The supervisor tells it which workers
 * exist (addWorker / drainWorker / removeWorker); it checks their health
 * itself and reports what it sees as events:
 *
 * - 'health' `{ id, healthy, detail }` when a worker crosses a health threshold;
 * - 'upstream-error' `{ id, port, code }` when a connection to a worker fails on
 *   live traffic and the worker is ejected from rotation (once per ejection;
 *   further failures while ejected are only counted);
 * - 'upstream-restored' `{ id, port }` when an ejected worker passed enough
 *   active checks to return to rotation.
 *
 * Its own node:http server has explicit limits (header and request timeouts,
 * keep-alive idle timeout, 16 KiB of headers, no silent header-count cap), so a
 * slow or malformed client is dropped without holding anyone else up;
 * malformed requests are answered by node's parser (400/431/408) and counted
 * as `rejected`, never forwarded.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import { InternalError } from '../errors.js';
import { hostForUrl } from '../url-host.js';
import { listenFrontEnd } from './listen.js';
import { DeadlineQueue } from './deadlines.js';
import { Exchange, sendJsonError, sendNoReadyWorker, type ExchangeOwner } from './forward.js';
import { HoldQueue, type HoldOptions, type HoldStats } from './hold.js';
import { HealthCheckLoop, httpProbe, type ProbeResult } from './health-check.js';
import { applyCheck, eject, inRotation } from './health-state.js';
import { forwardRequestHeaders } from './headers.js';
import { pick } from './pick.js';
import { TrafficCounter, type TrafficCounts } from './traffic-stats.js';
import { Upstream } from './upstream.js';

export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface BalancerOptions {
  host: string;
  port: number;
  upstreamTimeoutMs?: number;
  connectionsPerWorker?: number;
  /** Longest wait for a client's complete request headers (node's headersTimeout). */
  headersTimeoutMs?: number;
  /** Longest wait for a client's complete request, body included (node's requestTimeout). */
  requestTimeoutMs?: number;
  /** An idle keep-alive client connection is closed after this long (node's keepAliveTimeout). */
  keepAliveTimeoutMs?: number;
  health?: Partial<HealthCheckOptions>;
  now?: () => number;
  /** Hold requests while no worker is in rotation (scale to zero); without it they get 503 at once. */
  hold?: HoldOptions;
}

/** 'held': the first request is waiting for a worker; 'released': `count` held requests went on, the oldest after `firstWaitMs`. */
export interface HeldEvent {
  held: number;
}
export interface ReleasedEvent {
  count: number;
  firstWaitMs: number;
}

export interface UpstreamStats {
  id: number;
  requests: number;
  inFlight: number;
  rps: number;
  errors: number;
  /** Receives new requests now (not draining, healthy, not ejected). */
  inRotation: boolean;
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

/** Workers that left, remembered for /metrics: far more than can leave between two scrapes. */
const RETIRED_KEPT = 256;

export interface BalancerHealthEvent {
  id: number;
  healthy: boolean;
  detail: string;
}

export interface UpstreamErrorEvent {
  id: number;
  port: number;
  code: string;
}

export interface UpstreamRestoredEvent {
  id: number;
  port: number;
}

/** The balancer's counters (served requests and errors) plus what it refused at the door. */
export interface BalancerSnapshot extends TrafficCounts {
  /** Requests refused before any worker was involved: malformed or smuggling-shaped, oversized headers, Upgrade, slow clients timed out. */
  rejected: number;
  workers: UpstreamStats[];
}

/**
 * ALB target-group defaults scaled for a lab: a dead worker leaves rotation
 * within ~3 × 2 s plus the 1 s timeout, and comes back after 2 good checks.
 */
export const DEFAULT_HEALTH: Readonly<HealthCheckOptions> = Object.freeze({
  path: '/health',
  intervalMs: 2000,
  timeoutMs: 1000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
});

/**
 * 30 s: far above any honest answer from a lab worker (its busy loop is
 * capped at 1 s, plus queueing under overload), and below the timeouts of
 * common HTTP clients, so a stuck worker shows up as our 504, not a client
 * timeout. Like nginx's `proxy_read_timeout` it bounds both the wait for
 * headers and any pause between body chunks.
 */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

/**
 * 64 keep-alive connections per worker: more than a lab's load tool keeps
 * open (wrk -c50, autocannon -c10..50), so requests rarely queue inside the
 * balancer, and far below any file-descriptor limit with 5 workers.
 */
export const DEFAULT_CONNECTIONS_PER_WORKER = 64;

/**
 * Client-side limits (node's defaults are 60 s / 300 s / 5 s, checked only
 * every 30 s). 10 s for headers is ages on a loopback lab and drops a
 * slowloris client; 60 s for a whole request leaves room for uploads; an idle
 * keep-alive connection is closed after 5 s (the load tool keeps its
 * connections busy, so this only reaps abandoned ones).
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Node's own header size limit, made explicit; larger headers get 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InternalError(`balancer ${name}: expected a positive integer, received ${JSON.stringify(value)}`);
  }
  return value;
}

function validPort(name: string, value: unknown, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new InternalError(`balancer ${name}: expected an integer port ${allowZero ? 0 : 1}-65535, received ${JSON.stringify(value)}`);
  }
  return value;
}

function resolveHealth(h: Partial<HealthCheckOptions> | undefined): HealthCheckOptions {
  const o = { ...DEFAULT_HEALTH, ...h };
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) {
    throw new InternalError(`balancer health.path: expected a path starting with "/", received ${JSON.stringify(o.path)}`);
  }
  for (const k of ['intervalMs', 'timeoutMs', 'healthyThreshold', 'unhealthyThreshold'] as const) positiveInt(`health.${k}`, o[k]);
  if (o.timeoutMs >= o.intervalMs) {
    throw new InternalError(`balancer health.timeoutMs (${o.timeoutMs}) must be < health.intervalMs (${o.intervalMs})`);
  }
  return o;
}

export class Balancer extends EventEmitter {
  readonly host: string;
  readonly #timeoutMs: number;
  readonly #traffic = new TrafficCounter();
  readonly #deadlines: DeadlineQueue;
  #rejected = 0;
  /** What each in-flight exchange may ask of the balancer (kept off the public surface). */
  readonly #owner: ExchangeOwner;
  readonly #requestedPort: number;
  readonly #connections: number;
  readonly #health: HealthCheckOptions;
  readonly #now: () => number;
  readonly #server: Server;
  readonly #upstreams = new Map<number, Upstream>();
  #retired: WorkerCounts[] = [];
  readonly #hold: HoldQueue<Exchange> | null;
  #rotation: Upstream[] = [];
  #releasing = false;
  #cursor = 0;
  #port = 0;
  #closed = false;

  constructor(opts: BalancerOptions) {
    super();
    const host = opts.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host === '') throw new InternalError(`balancer host: expected a host name or address, received ${JSON.stringify(host)}`);
    this.host = host;
    this.#requestedPort = validPort('port', opts.port, true);
    this.#timeoutMs = positiveInt('upstreamTimeoutMs', opts.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS);
    this.#connections = positiveInt('connectionsPerWorker', opts.connectionsPerWorker ?? DEFAULT_CONNECTIONS_PER_WORKER);
    this.#health = resolveHealth(opts.health);
    const clock = opts.now;
    // Called unbound, so `now: performance.now` works as well as an arrow function.
    this.#now = clock === undefined ? () => performance.now() : () => clock();
    this.#deadlines = new DeadlineQueue(this.#timeoutMs, this.#now);
    const headersTimeout = positiveInt('headersTimeoutMs', opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS);
    const requestTimeout = positiveInt('requestTimeoutMs', opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    const keepAliveTimeout = positiveInt('keepAliveTimeoutMs', opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS);
    if (headersTimeout > requestTimeout) {
      throw new InternalError(`balancer headersTimeoutMs (${headersTimeout}) must be <= requestTimeoutMs (${requestTimeout})`);
    }
    this.#owner = {
      traffic: this.#traffic,
      timeoutMs: this.#timeoutMs,
      deadlines: this.#deadlines,
      now: this.#now,
      next: () => this.#next(),
      upstreamFailed: (u, code, connectFailure) => this.#upstreamFailed(u, code, connectFailure),
      settled: (u) => {
        if (u.onIdle !== null && u.counter.inFlight === 0) u.onIdle();
      },
      hold: (exchange, res) => {
        if (this.#hold === null) return false;
        this.#hold.hold(exchange, res, this.#now());
        return true;
      },
    };
    this.#hold = opts.hold === undefined || opts.hold.max === 0 ? null : new HoldQueue<Exchange>(opts.hold, this.#now, {
      onFirstHeld: () => this.emit('held', { held: 1 } satisfies HeldEvent),
      onReleased: (count, firstWaitMs) => this.emit('released', { count, firstWaitMs } satisfies ReleasedEvent),
      // The balancer's own 503 (timed out, queue full, stopping): an error, not a served request.
      answer: (exchange, code, why) => exchange.refuse(503, code, why),
    });
    this.#server = createServer(
      {
        headersTimeout,
        requestTimeout,
        // Enforce both promptly (node's default checks every 30 s).
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 2))),
        maxHeaderSize: MAX_HEADER_BYTES,
      },
      (req, res) => this.#handle(req, res),
    );
    this.#server.keepAliveTimeout = keepAliveTimeout;
    // node keeps only the first 2000 headers by default and drops the rest silently, a Content-Length
    // among them; the 16 KiB limit already bounds how many fit.
    this.#server.maxHeadersCount = 0;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#clientError(err, socket));
  }

  /** Requests waiting for a worker (null when holding is off). */
  holdStats(): HoldStats | null {
    return this.#hold === null ? null : this.#hold.stats();
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

  addWorker(w: { id: number; host: string; port: number }): void {
    if (this.#closed) throw new InternalError('balancer is closed');
    if (!Number.isInteger(w.id)) throw new InternalError(`worker id: expected an integer, received ${JSON.stringify(w.id)}`);
    validPort(`worker ${w.id} port`, w.port, false);
    if (this.#upstreams.has(w.id)) throw new InternalError(`worker ${w.id} is already in the balancer (remove or drain it first)`);
    const u = new Upstream(w, { connections: this.#connections, timeoutMs: this.#timeoutMs });
    const h = this.#health;
    const { probe, close } = httpProbe(w.host, w.port, h.path, h.timeoutMs);
    u.closeProbe = close;
    u.healthLoop = new HealthCheckLoop(probe, h.intervalMs, (r) => this.#onHealthResult(u, r));
    this.#upstreams.set(w.id, u);
    this.#rebuildRotation();
    u.healthLoop.start();
  }

  async drainWorker(id: number, timeoutMs: number): Promise<{ inFlightAtStart: number; drained: boolean; ms: number }> {
    const u = this.#upstreams.get(id);
    if (u === undefined || u.draining) return { inFlightAtStart: 0, drained: true, ms: 0 };
    const t0 = this.#now();
    u.draining = true;
    this.#rebuildRotation();
    const stopping = u.stopHealth();
    const inFlightAtStart = u.counter.inFlight;
    const idle = inFlightAtStart === 0 ? true : await this.#waitIdle(u, timeoutMs);
    const ms = this.#now() - t0;
    await stopping;
    // removeWorker() or close() meanwhile cut the remaining requests: that is not a drain.
    const drained = idle && !u.gone;
    if (!u.gone) {
      u.gone = true;
      this.#upstreams.delete(id);
      this.#remember(u);
      if (drained) await u.pool.close();
      else await u.pool.destroy();
    }
    return { inFlightAtStart, drained, ms };
  }

  async removeWorker(id: number): Promise<void> {
    const u = this.#upstreams.get(id);
    if (u === undefined) return;
    u.gone = true;
    this.#upstreams.delete(id);
    this.#remember(u);
    this.#rebuildRotation();
    await Promise.all([u.stopHealth(), u.pool.destroy()]);
  }

  readyCount(): number {
    return this.#rotation.length;
  }

  /** Counters only (lifetime totals, last-second and last-minute rates, in flight): reading resets nothing. */
  snapshot(): BalancerSnapshot {
    const now = this.#now();
    const workers: UpstreamStats[] = [];
    for (const u of this.#upstreams.values()) {
      const c = u.counter;
      workers.push({ id: u.id, requests: c.requests, inFlight: c.inFlight, rps: c.rps(now), errors: c.errors, inRotation: !u.draining && inRotation(u.health) });
    }
    return { ...this.#traffic.counts(now), rejected: this.#rejected, workers };
  }

  /** Lifetime latency histogram (µs) of every response through the balancer; windows diff it (lab/observe.ts). */
  get latency(): Readonly<Histogram> {
    return this.#traffic.latency;
  }

  /** Per-worker lifetime counters: every worker now, then the last RETIRED_KEPT that left; and the balancer's own answers. */
  workerCounts(): { workers: WorkerCounts[]; ownByClass: readonly number[] } {
    const live = [...this.#upstreams.values()].map((u) => countsOf(u, false));
    return { workers: [...live, ...this.#retired], ownByClass: [...this.#traffic.ownByClass] };
  }

  #remember(u: Upstream): void {
    this.#retired.push(countsOf(u, true));
    if (this.#retired.length > RETIRED_KEPT) this.#retired.shift();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hold?.rejectAll();
    this.#deadlines.close();
    const server = this.#server;
    const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const upstreams = [...this.#upstreams.values()];
    this.#upstreams.clear();
    this.#rebuildRotation();
    for (const u of upstreams) u.gone = true;
    await Promise.all(upstreams.map((u) => Promise.all([u.stopHealth(), u.pool.destroy()])));
    server.closeAllConnections();
    await closed;
  }

  // internals

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const start = this.#now();
    const { headers, hasBody, refuse } = forwardRequestHeaders(req.rawHeaders, (req.socket as Socket).remoteAddress);
    if (refuse !== null) {
      this.#rejected++;
      this.#traffic.ownByClass[(refuse.status / 100) | 0]++;
      sendJsonError(res, refuse.status, refuse.code, refuse.message, true);
      return;
    }
    const upstream = this.#next();
    if (upstream === null) {
      // Scale to zero: the request waits for a worker in an exchange of its own (its deadline starts once it is sent).
      if (this.#hold !== null) return this.#hold.hold(new Exchange(this.#owner, req, res, start, headers, hasBody, true), res, start);
      // The balancer's own answer: an error, not a served request (no RPS, no latency).
      this.#traffic.errors++;
      this.#traffic.ownByClass[5]++;
      sendNoReadyWorker(res);
      return;
    }
    new Exchange(this.#owner, req, res, start, headers, hasBody).send(upstream);
  }

  /** What node does without a 'clientError' listener (400, 431 or 408, then close), plus counting it. */
  #clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const s = socket as Socket;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !s.writable) {
      s.destroy();
      return;
    }
    // Bytes already written: the request that broke the parser was answered (or refused) by #handle.
    if (s.bytesWritten === 0) {
      this.#rejected++;
      const [status, text] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout']
            : [400, 'Bad Request'];
      this.#traffic.ownByClass[4]++;
      s.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    s.destroy();
  }

  #next(): Upstream | null {
    const r = pick(this.#rotation, this.#cursor);
    if (r === null) return null;
    this.#cursor = r.cursor;
    return r.worker;
  }

  /** Passive check: a connection failure on live traffic ejects the worker at once. */
  #upstreamFailed(u: Upstream, code: string, connectFailure: boolean): void {
    if (!connectFailure || u.gone || u.health.ejected) return;
    u.health = eject(u.health);
    this.#rebuildRotation();
    this.emit('upstream-error', { id: u.id, port: u.port, code } satisfies UpstreamErrorEvent);
  }

  #waitIdle(u: Upstream, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        u.onIdle = null;
        resolve(false);
      }, timeoutMs);
      u.onIdle = () => {
        clearTimeout(timer);
        u.onIdle = null;
        resolve(true);
      };
    });
  }

  #onHealthResult(u: Upstream, r: ProbeResult): void {
    if (u.gone || u.draining) return;
    if (!r.ok) u.counter.healthFailures++;
    const { state, transition, rotationChanged, restored } = applyCheck(u.health, r.ok, this.#health);
    u.health = state;
    if (rotationChanged) this.#rebuildRotation();
    if (transition !== null) this.emit('health', { id: u.id, healthy: transition === 'healthy', detail: r.detail } satisfies BalancerHealthEvent);
    if (restored) this.emit('upstream-restored', { id: u.id, port: u.port } satisfies UpstreamRestoredEvent);
  }

  #rebuildRotation(): void {
    const rotation: Upstream[] = [];
    for (const u of this.#upstreams.values()) if (!u.draining && inRotation(u.health)) rotation.push(u);
    this.#rotation = rotation;
    if (rotation.length > 0 && this.#hold !== null && this.#hold.size > 0 && !this.#releasing) {
      // After the current call returns: the supervisor announces the worker ready first, then the held requests go.
      this.#releasing = true;
      queueMicrotask(() => {
        this.#releasing = false;
        if (this.#rotation.length > 0) this.#hold?.release((exchange) => exchange.release(this.#next() as Upstream));
      });
    }
  }
}

function countsOf(u: Upstream, gone: boolean): WorkerCounts {
  const c = u.counter;
  return { id: u.id, byClass: [...c.byClass], healthFailures: c.healthFailures, inFlight: gone ? 0 : c.inFlight, gone };
}
