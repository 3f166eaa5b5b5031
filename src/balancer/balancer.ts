/**
 * The lab's balancer: an HTTP/1.1 front end on `host:port` (lean/client-side.ts by
 * default: node's own parser on each connection without node:http's per-request objects;
 * node:http's server with AUTOSCALE_CLIENT_SIDE=node, kept for comparison) that forwards each
 * request round-robin to one worker in rotation, through one pool of
 * keep-alive connections per worker (lean/lean-pool.ts by default, undici's Pool
 * with AUTOSCALE_UPSTREAM=undici, kept for comparison). The supervisor tells it which workers
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
 * Either client side has explicit limits (header and request timeouts,
 * keep-alive idle timeout, 16 KiB of headers, no silent header-count cap), so a
 * slow or malformed client is dropped without holding anyone else up;
 * malformed requests are refused by node's parser (400/431/408) and counted
 * as `rejected`, never forwarded.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import { InternalError } from '../errors.js';
import { hostForUrl } from '../url-host.js';
import { listenFrontEnd } from './listen.js';
import { DeadlineQueue } from './deadlines.js';
import { Exchange, sendJsonError, sendNoReadyWorker, type ClientRequestLike, type ClientResponseLike, type ExchangeOwner } from './forward.js';
import { LeanClientSide } from './lean/client-side.js';
import type { FrontEnd, FrontEndTraffic, ProxyMetrics, WorkerCounts, WorkerTraffic } from './front-end.js';
import { HoldQueue, type HoldOptions, type HoldStats } from './hold.js';
import { Members, positiveInt, validPort, type DrainResult, type HealthCheckOptions, type Member, type MemberTarget } from './members.js';
import { forwardRequestHeaders } from './headers.js';
import { ClientConnection } from './client-connection.js';
import { PIPELINE_LIMIT_MESSAGE } from '../http-limits.js';
import { TrafficCounter } from './traffic-stats.js';
import { Upstream, UPSTREAM_KINDS, type UpstreamKind } from './upstream.js';

export {
  DEFAULT_HEALTH,
  type BalancerHealthEvent,
  type HealthCheckOptions,
  type UpstreamErrorEvent,
  type UpstreamRestoredEvent,
} from './members.js';
export type { WorkerCounts } from './front-end.js';

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
  /** How requests reach a worker (default: 'lean', or AUTOSCALE_UPSTREAM, a comparison switch). */
  upstream?: UpstreamKind;
  /** What serves the clients (default: 'lean', or AUTOSCALE_CLIENT_SIDE, a comparison switch). */
  clientSide?: ClientSideKind;
}

/**
 * What serves the balancer's clients: 'lean' (lean/client-side.ts: node's own llhttp parser on each
 * connection, no IncomingMessage/ServerResponse; the default) or 'node' (node:http's server, kept
 * for comparison: AUTOSCALE_CLIENT_SIDE=node).
 */
export type ClientSideKind = 'lean' | 'node';
export const CLIENT_SIDE_KINDS: readonly ClientSideKind[] = ['lean', 'node'];

/** The client side when none is given: 'lean', unless AUTOSCALE_CLIENT_SIDE names the other. */
export function defaultClientSide(env: NodeJS.ProcessEnv = process.env): ClientSideKind {
  return oneOf('AUTOSCALE_CLIENT_SIDE', env.AUTOSCALE_CLIENT_SIDE || 'lean', CLIENT_SIDE_KINDS);
}

/** `value` if it is one of `kinds`, else an internal error naming `what` (a comparison switch or option set wrong). */
function oneOf<K extends string>(what: string, value: string, kinds: readonly K[]): K {
  if ((kinds as readonly string[]).includes(value)) return value as K;
  throw new InternalError(`${what}: expected one of ${kinds.join(', ')}, received ${JSON.stringify(value)}`);
}

/**
 * The upstream path when none is given: 'lean' (pooled sockets and a strict response parser,
 * lean/), unless AUTOSCALE_UPSTREAM names another: `undici` keeps the general-purpose client
 * for comparison (`npm run bench -- balancer` runs both; docs/balancer.md has the runs).
 */
export function defaultUpstream(env: NodeJS.ProcessEnv = process.env): UpstreamKind {
  return oneOf('AUTOSCALE_UPSTREAM', env.AUTOSCALE_UPSTREAM || 'lean', UPSTREAM_KINDS);
}

/** 'held': the first request is waiting for a worker; 'released': `count` held requests went on, the oldest after `firstWaitMs`. */
export interface HeldEvent {
  held: number;
}
export interface ReleasedEvent {
  count: number;
  firstWaitMs: number;
}

/** Workers that left, remembered for /metrics: far more than can leave between two scrapes. */
const RETIRED_KEPT = 256;

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

export class Balancer extends EventEmitter implements FrontEnd {
  readonly kind = 'l7';
  readonly host: string;
  readonly #timeoutMs: number;
  readonly #traffic = new TrafficCounter();
  readonly #deadlines: DeadlineQueue;
  #rejected = 0;
  /** What each in-flight exchange may ask of the balancer (kept off the public surface). */
  readonly #owner: ExchangeOwner;
  readonly #requestedPort: number;
  readonly #connections: number;
  readonly #upstreamKind: UpstreamKind;
  readonly #now: () => number;
  readonly #server: Server | null;
  readonly #lean: LeanClientSide | null;
  /** The shared worker pool: membership, health, ejection, drain, rotation. */
  readonly #members: Members<Upstream>;
  #retired: WorkerCounts[] = [];
  readonly #hold: HoldQueue<Exchange> | null;
  #releasing = false;
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
    this.#upstreamKind = oneOf('balancer upstream', opts.upstream ?? defaultUpstream(), UPSTREAM_KINDS);
    const clock = opts.now;
    // Called unbound, so `now: performance.now` works as well as an arrow function.
    this.#now = clock === undefined ? () => performance.now() : () => clock();
    this.#members = new Members<Upstream>({
      health: opts.health,
      now: this.#now,
      hooks: {
        inFlight: (m) => m.data.counter.inFlight,
        idle: (m) => m.data.counter.inFlight === 0,
        release: async (m, drained) => {
          this.#remember(m.data);
          if (drained) await m.data.pool.close();
          else await m.data.pool.destroy();
        },
        checkFailed: (m) => void m.data.counter.healthFailures++,
        rotationChanged: (size) => this.#rotationChanged(size),
      },
    });
    for (const event of ['health', 'upstream-error', 'upstream-restored']) this.#members.on(event, (e) => this.emit(event, e));
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
      next: () => this.#members.next()?.data ?? null,
      upstreamFailed: (u, code, connectFailure) => {
        const m = this.#memberOf(u);
        if (connectFailure && m !== null) this.#members.eject(m, code);
      },
      settled: (u) => {
        if (u.counter.inFlight !== 0) return;
        const m = this.#memberOf(u);
        if (m !== null) this.#members.changed(m);
      },
      hold: (exchange, res) => {
        if (this.#hold === null) return false;
        this.#hold.hold(exchange, res, this.#now());
        return true;
      },
      unhold: (exchange) => this.#hold?.remove(exchange),
    };
    this.#hold = opts.hold === undefined || opts.hold.max === 0 ? null : new HoldQueue<Exchange>(opts.hold, this.#now, {
      onFirstHeld: () => this.emit('held', { held: 1 } satisfies HeldEvent),
      onReleased: (count, firstWaitMs) => this.emit('released', { count, firstWaitMs } satisfies ReleasedEvent),
      // The balancer's own 503 (timed out, queue full, stopping): an error, not a served request.
      answer: (exchange, code, why) => exchange.refuse(503, code, why),
    });
    const clientSide = oneOf('balancer clientSide', opts.clientSide ?? defaultClientSide(), CLIENT_SIDE_KINDS);
    // Both sides enforce the timeouts promptly (node's default checks every 30 s).
    const checkIntervalMs = Math.max(50, Math.min(1000, Math.floor(headersTimeout / 2)));
    if (clientSide === 'lean') {
      this.#server = null;
      // Its timeouts run on real time, as node:http's do (the parser keeps when a request began), whatever clock the statistics use.
      this.#lean = new LeanClientSide({
        headersTimeoutMs: headersTimeout,
        requestTimeoutMs: requestTimeout,
        keepAliveTimeoutMs: keepAliveTimeout,
        maxHeaderBytes: MAX_HEADER_BYTES,
        checkIntervalMs,
        onRequest: (req, res) => this.#handle(req, res, req.socket, req.rawHeaders, () => req.body()),
        onClientError: (err, socket) => this.#clientError(err, socket),
        onRefused: (status) => this.#refused(status),
      });
      return;
    }
    this.#lean = null;
    const server = createServer(
      {
        headersTimeout,
        requestTimeout,
        connectionsCheckingInterval: checkIntervalMs,
        maxHeaderSize: MAX_HEADER_BYTES,
      },
      (req: IncomingMessage, res) => this.#handle(req, res, req.socket, req.rawHeaders, () => req),
    );
    this.#server = server;
    server.keepAliveTimeout = keepAliveTimeout;
    // node keeps only the first 2000 headers by default and drops the rest silently, a Content-Length
    // among them; the 16 KiB limit already bounds how many fit.
    server.maxHeadersCount = 0;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#clientError(err, socket));
  }

  /** Requests waiting for a worker (null when holding is off). */
  holdStats(): HoldStats | null {
    return this.#hold === null ? null : this.#hold.stats();
  }

  held(): number {
    return this.#hold === null ? 0 : this.#hold.size;
  }

  proxyMetrics(): ProxyMetrics {
    return { workerCounts: () => this.workerCounts(), holdStats: () => this.holdStats(), latency: () => this.latency, responsesByClass: () => this.#traffic.responsesByClass() };
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://${hostForUrl(this.host)}:${this.#port}`;
  }

  async listen(): Promise<void> {
    this.#port = await listenFrontEnd(this.#server ?? (this.#lean as LeanClientSide).server, this.host, this.#requestedPort);
  }

  addWorker(w: MemberTarget): void {
    this.#members.add({ id: w.id, host: w.host, port: w.port }, (t) => new Upstream(t, { connections: this.#connections, timeoutMs: this.#timeoutMs, kind: this.#upstreamKind }));
  }

  /** The worker's own IPC stats: the proxy counts requests itself, so nothing to do. */
  report(): void {}

  drainWorker(id: number, timeoutMs: number): Promise<DrainResult> {
    return this.#members.drain(id, timeoutMs);
  }

  removeWorker(id: number): Promise<void> {
    return this.#members.remove(id);
  }

  readyCount(): number {
    return this.#members.readyCount();
  }

  /** Counters only (lifetime totals, last-second and last-minute rates, in flight): reading resets nothing. */
  traffic(): FrontEndTraffic {
    const now = this.#now();
    const workers: WorkerTraffic[] = [];
    for (const m of this.#members.all()) {
      const c = m.data.counter;
      workers.push({ id: m.id, requests: c.requests, inFlight: c.inFlight, rps: c.rps(now), errors: c.errors, inRotation: this.#members.inRotation(m) });
    }
    return { ...this.#traffic.counts(now), rejected: this.#rejected, workers };
  }

  /** Lifetime latency histogram (µs) of every response through the balancer; windows diff it (lab/observe.ts). */
  get latency(): Readonly<Histogram> {
    return this.#traffic.latency;
  }

  /** Per-worker lifetime counters: every worker now, then the last RETIRED_KEPT that left; and the balancer's own answers. */
  workerCounts(): { workers: WorkerCounts[]; ownByClass: readonly number[] } {
    const live = [...this.#members.all()].map((m) => countsOf(m.data, false));
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
    const lean = this.#lean;
    const closed = lean !== null ? lean.close() : server !== null && server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    await this.#members.close();
    if (lean !== null) lean.closeAllConnections();
    else server?.closeAllConnections();
    await closed;
  }

  // internals

  /** The pool's member for this upstream, while it is in the pool. */
  #memberOf(u: Upstream): Member<Upstream> | null {
    const m = this.#members.get(u.id);
    return m !== undefined && m.data === u ? m : null;
  }

  /** One client request, from either client side; `body()` gives its body stream (called only when it has one). */
  #handle(req: ClientRequestLike, res: ClientResponseLike, socket: Socket, rawHeaders: string[], body: () => Readable): void {
    const start = this.#now();
    const conn = ClientConnection.of(socket);
    const admission = conn.admit();
    if (admission !== 'serve') {
      if (admission === 'close') socket.destroy();
      if (admission !== 'refuse') {
        this.#rejected++;
        return;
      }
      // Too many requests open on this connection: one 503 after the answers it is owed, then it closes.
      this.#refused(503);
      sendJsonError(res, 503, 'AS_ERR_PIPELINE_LIMIT', PIPELINE_LIMIT_MESSAGE, true);
      return;
    }
    const { headers, hasBody, refuse } = forwardRequestHeaders(rawHeaders, socket.remoteAddress);
    if (refuse !== null) {
      this.#refused(refuse.status);
      sendJsonError(res, refuse.status, refuse.code, refuse.message, true);
      return;
    }
    const upstream = this.#owner.next();
    if (upstream === null) {
      // Scale to zero: the request waits for a worker in an exchange of its own (its deadline starts once it is sent).
      if (this.#hold !== null) return this.#hold.hold(new Exchange(this.#owner, req, res, conn, start, headers, hasBody ? body() : null, true), res, start);
      // The balancer's own answer: an error, not a served request (no RPS, no latency).
      this.#traffic.errors++;
      this.#traffic.ownByClass[5]++;
      sendNoReadyWorker(res);
      return;
    }
    new Exchange(this.#owner, req, res, conn, start, headers, hasBody ? body() : null).send(upstream);
  }

  /** A request refused at the door, answered `status` by the balancer itself: rejected, and one of its own answers by class. */
  #refused(status: number): void {
    this.#rejected++;
    this.#traffic.ownByClass[(status / 100) | 0]++;
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
      const [status, text] =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout']
            : [400, 'Bad Request'];
      this.#refused(status);
      s.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    s.destroy();
  }

  /** Requests held for a worker go on once one is in rotation. */
  #rotationChanged(size: number): void {
    if (size > 0 && this.#hold !== null && this.#hold.size > 0 && !this.#releasing) {
      // After the current call returns: the supervisor announces the worker ready first, then the held requests go.
      this.#releasing = true;
      queueMicrotask(() => {
        this.#releasing = false;
        if (this.#members.readyCount() > 0) this.#hold?.release((exchange) => exchange.release(this.#owner.next() as Upstream));
      });
    }
  }
}

function countsOf(u: Upstream, gone: boolean): WorkerCounts {
  const c = u.counter;
  return { id: u.id, byClass: [...c.byClass], healthFailures: c.healthFailures, inFlight: gone ? 0 : c.inFlight, gone };
}
