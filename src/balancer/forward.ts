/**
 * One client request on its way through the balancer: an undici dispatch
 * handler that streams the worker's response straight into the client's
 * (backpressure both ways, nothing buffered), retries a connection failure
 * once on another worker when that is safe, and turns every failure into a
 * definite answer (502/503/504 JSON) or, once headers went out, a destroyed
 * response. It never throws and never leaves the client hanging.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { UPSTREAM_ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Cancellable, ClientConnection } from './client-connection.js';
import { forwardResponseHeaders } from './headers.js';
import type { DeadlineQueue, Deadlined } from './deadlines.js';
import type { TrafficCounter } from './traffic-stats.js';
import type { Upstream } from './upstream.js';

/**
 * What an exchange reads of its client's request: node:http's IncomingMessage has it, and so has
 * the lean client side's LeanRequest (lean/client-side.ts). The body is handed separately.
 */
export interface ClientRequestLike {
  readonly method?: string;
  readonly url?: string;
  /** The whole request (body included) has arrived. */
  readonly complete: boolean;
}

/**
 * What an exchange (and the hold queue) uses of its client's response: the part of node:http's
 * ServerResponse that the lean client side's LeanResponse implements too. 'close' comes once, when
 * the response finished or its connection closed; 'drain' once after a write returned false.
 */
export interface ClientResponseLike {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  readonly statusCode: number;
  shouldKeepAlive: boolean;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | string[]): this;
  writeHead(statusCode: number, statusMessage: string, headers?: OutgoingHttpHeaders | string[]): this;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): this;
  destroy(error?: Error): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'close' | 'drain', listener: () => void): this;
  off(event: 'close', listener: () => void): this;
}

/** What an exchange needs from the balancer that owns it. */
export interface ExchangeOwner {
  readonly traffic: TrafficCounter;
  readonly timeoutMs: number;
  /** Requests still waiting for response headers, each 504'd `timeoutMs` after it arrived. */
  readonly deadlines: DeadlineQueue;
  now(): number;
  /** The next worker in rotation (round-robin), or null when none. */
  next(): Upstream | null;
  /** A request to `upstream` failed; `connectFailure` when no response byte had arrived and the connection failed. */
  upstreamFailed(upstream: Upstream, code: string, connectFailure: boolean): void;
  /** `upstream`'s in-flight count just went down. */
  settled(upstream: Upstream): void;
  /** No worker left for a retry: hold the exchange until one is (true), or not (false: answer 503). */
  hold(exchange: Exchange, res: ClientResponseLike): boolean;
  /** The client of a held exchange is gone: it leaves the hold queue. */
  unhold(exchange: Exchange): void;
}

/** Methods whose request may be sent twice (RFC 9110 §9.2.2). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Errors meaning the worker could not be reached or dropped the connection (also: its pool was shut under the request). */
const CONNECT_FAILURES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  UPSTREAM_ERROR_CODES.socketClosed,
  UPSTREAM_ERROR_CODES.connectTimeout,
  UPSTREAM_ERROR_CODES.closed,
]);

const TIMEOUTS: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', UPSTREAM_ERROR_CODES.bodyTimeout]);

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

export function sendJsonError(res: ClientResponseLike, status: number, code: ErrorCode, message: string, close = false): void {
  const body = JSON.stringify({ error: message, code });
  const headers: Record<string, string | number> = { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

export function sendNoReadyWorker(res: ClientResponseLike): void {
  sendJsonError(res, 503, 'AS_ERR_NO_READY_WORKER', 'no ready worker');
}

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

class DeadlineError extends Error {
  constructor() {
    super('upstream timeout: the client already got a 504');
    this.name = 'DeadlineError';
  }
}

const EXCHANGE = Symbol('autoscale exchange');
type ExchangeResponse = ClientResponseLike & { [EXCHANGE]?: Exchange };

function onResponseClose(this: ExchangeResponse): void {
  this[EXCHANGE]?.onClientClose();
}

/**
 * An undici dispatch handler in undici's native callback form (onConnect,
 * onHeaders, onData, onComplete, onError): undici wraps handlers written for
 * its newer controller API in an adapter that also turns the raw response
 * headers into an object per response; this one takes the raw headers as they
 * were parsed and passes them on (see forwardResponseHeaders).
 */
export class Exchange implements Deadlined, Cancellable {
  /** When the request arrived (latency is measured from here, time held for a worker included). */
  readonly arrived: number;
  /** When its upstream deadline started: on arrival, or once a held request was sent to a worker. */
  start: number;
  dlPrev: Deadlined | null = null;
  dlNext: Deadlined | null = null;
  dlQueued = false;
  ccPrev: Cancellable | null = null;
  ccNext: Cancellable | null = null;
  ccOpen = false;
  readonly #owner: ExchangeOwner;
  readonly #req: ClientRequestLike;
  readonly #res: ClientResponseLike;
  /** The request body, when it has one (hasBody). */
  readonly #body: Readable | null;
  readonly #conn: ClientConnection;
  readonly #headers: string[];
  readonly #hasBody: boolean;
  readonly #mayRetry: boolean;
  #retried = false;
  #upstream: Upstream | null = null;
  /** Aborts the current attempt once undici has handed it a connection (null while it is queued). */
  #abort: ((err?: Error) => void) | null = null;
  #resume: (() => void) | null = null;
  /** The current attempt still counts in its worker's in-flight. */
  #attemptOpen = false;
  /** The current attempt received response headers. */
  #gotResponse = false;
  /** Nobody waits for the worker's answer any more: the client left, or the balancer answered it itself. */
  #detached = false;
  /** The balancer answered this request itself (502/503/504): an error, not a served request. */
  #local = false;
  /** Its response closed or its client connection did: no longer in flight. */
  #over = false;

  /** `held`: it waits for a worker first (no deadline until release()). `body`: the request's body, null when it has none. */
  constructor(owner: ExchangeOwner, req: ClientRequestLike, res: ClientResponseLike, conn: ClientConnection, start: number, headers: string[], body: Readable | null, held = false) {
    const hasBody = body !== null;
    this.#owner = owner;
    this.#req = req;
    this.#res = res;
    this.#body = body;
    this.#conn = conn;
    this.arrived = start;
    this.start = start;
    this.#headers = headers;
    this.#hasBody = hasBody;
    this.#mayRetry = !hasBody && IDEMPOTENT.has(req.method ?? '');
    owner.traffic.inFlight++;
    if (!held) owner.deadlines.add(this);
    // One shared listener (no closure per request); 'close' comes once per response.
    (res as ExchangeResponse)[EXCHANGE] = this;
    res.on('close', onResponseClose);
    conn.add(this);
  }

  /** The client's connection closed before this response did (a pipelined request queued behind others gets no 'close' of its own). */
  cancel(): void {
    if (this.#over) return;
    this.#owner.unhold(this);
    this.onClientClose();
  }

  /** A held request goes to `upstream` now; its upstream deadline starts now (the hold had its own). */
  release(upstream: Upstream): void {
    this.start = this.#owner.now();
    this.#owner.deadlines.add(this);
    this.send(upstream);
  }

  /** The balancer answers it itself (a held request that got no worker): an error, not a served request. */
  refuse(status: number, code: ErrorCode, message: string): void {
    if (this.#detached) return;
    if (this.#res.headersSent || this.#res.destroyed) {
      this.#detached = true;
      this.#local = true;
      this.#owner.traffic.errors++;
      return;
    }
    this.#answer(status, code, message);
  }

  /** Send (or resend) the request to `upstream`. */
  send(upstream: Upstream): void {
    this.#upstream = upstream;
    this.#abort = null;
    this.#gotResponse = false;
    this.#attemptOpen = true;
    upstream.counter.inFlight++;
    upstream.pool.dispatch(
      {
        path: this.#req.url ?? '/',
        method: this.#req.method ?? 'GET',
        headers: this.#headers,
        body: this.#body,
      },
      this,
    );
  }

  /**
   * The deadline passed without response headers (the request may still sit in the
   * pool's queue for a connection): answer 504 now and abort the attempt, at once
   * when it is on the wire, or as soon as the pool hands it a connection.
   */
  expire(): void {
    const upstream = this.#upstream as Upstream;
    upstream.counter.errors++;
    this.#answer(504, 'AS_ERR_UPSTREAM_TIMEOUT', `${upstream.servedBy} did not answer within ${this.#owner.timeoutMs} ms`);
    if (this.#attemptOpen && this.#abort !== null) this.#abort(new DeadlineError());
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#detached) abort(this.#local ? new DeadlineError() : new ClientGoneError());
  }

  onHeaders(statusCode: number, rawHeaders: ReadonlyArray<Buffer | string>, resume: () => void, statusMessage: string): boolean {
    if (statusCode < 200) return true; // 1xx: node:http already handled 100-continue with the client
    this.#gotResponse = true;
    if (this.#detached) return true;
    this.#resume = resume;
    this.#owner.deadlines.remove(this);
    const res = this.#res;
    // The worker answers before the client finished sending its body (it did not wait for it): the
    // rest of that body is of no use, so the client's connection ends after this response
    // (`Connection: close`) instead of staying open for as long as the client trickles bytes.
    if (this.#hasBody && !this.#req.complete) res.shouldKeepAlive = false;
    const out = forwardResponseHeaders(rawHeaders, (this.#upstream as Upstream).servedBy);
    if (statusMessage) res.writeHead(statusCode, statusMessage, out);
    else res.writeHead(statusCode, out);
    return true;
  }

  /** false pauses undici's parser (backpressure); 'drain' resumes it. */
  onData(chunk: Buffer): boolean {
    if (this.#detached) return true;
    if (this.#res.write(chunk)) return true;
    const resume = this.#resume as () => void;
    this.#res.once('drain', resume);
    return false;
  }

  /** `last`: the body's final bytes, not given to onData (lean upstream), so head, body and end go out in one write. */
  onComplete(_trailers?: unknown, last?: Buffer): void {
    const upstream = this.#closeAttempt();
    if (!this.#detached) upstream.counter.complete(this.#owner.now());
    this.#owner.settled(upstream);
    if (!this.#detached) this.#res.end(last);
  }

  onError(err: Error): void {
    const upstream = this.#closeAttempt();
    const owner = this.#owner;
    if (this.#detached) {
      owner.settled(upstream);
      return;
    }
    const code = (err as NodeJS.ErrnoException).code ?? err.name;
    const connectFailure = !this.#gotResponse && CONNECT_FAILURES.has(code);
    upstream.counter.errors++;
    owner.upstreamFailed(upstream, code, connectFailure);
    owner.settled(upstream);

    const res = this.#res;
    if (res.headersSent) {
      owner.traffic.errors++;
      this.#detached = true;
      res.destroy(err);
      return;
    }
    if (connectFailure && this.#mayRetry && !this.#retried) {
      this.#retried = true;
      const next = owner.next();
      if (next !== null) {
        this.send(next);
        return;
      }
      // Held until a worker is ready: no upstream deadline meanwhile (the hold has its own; release() starts a new one).
      owner.deadlines.remove(this);
      if (owner.hold(this, res)) return;
      this.#answer(503, 'AS_ERR_NO_READY_WORKER', 'no ready worker');
      return;
    }
    if (TIMEOUTS.has(code)) {
      this.#answer(504, 'AS_ERR_UPSTREAM_TIMEOUT', `${upstream.servedBy} did not answer within ${owner.timeoutMs} ms`);
    } else {
      this.#answer(502, 'AS_ERR_TARGET_UNREACHABLE', `${upstream.servedBy} failed: ${code}`);
    }
  }

  /** The balancer answers the client itself; whatever the worker still sends is dropped. */
  #answer(status: number, code: ErrorCode, message: string): void {
    this.#detached = true;
    this.#local = true;
    this.#owner.deadlines.remove(this);
    this.#owner.traffic.errors++;
    // Responses by status class for the lab's /metrics: the balancer's own answers under worker="none".
    this.#owner.traffic.ownByClass[(status / 100) | 0]++;
    sendJsonError(this.#res, status, code, message);
  }

  #closeAttempt(): Upstream {
    const upstream = this.#upstream as Upstream;
    if (this.#attemptOpen) {
      this.#attemptOpen = false;
      upstream.counter.inFlight--;
    }
    return upstream;
  }

  /** The client's response is over: finished (count it, unless the balancer answered) or cut short (abort the worker's request). */
  onClientClose(): void {
    if (this.#over) return;
    this.#over = true;
    this.#conn.delete(this);
    const owner = this.#owner;
    owner.traffic.inFlight--;
    owner.deadlines.remove(this);
    if (this.#res.writableFinished && !this.#local) {
      const now = owner.now();
      owner.traffic.complete(now, now - this.arrived);
      // Responses by status class, per worker, for the lab's /metrics (a worker answered: not local).
      (this.#upstream as Upstream).counter.byClass[(this.#res.statusCode / 100) | 0]++;
      owner.traffic.servedByClass[(this.#res.statusCode / 100) | 0]++;
      return;
    }
    if (this.#detached) return;
    this.#detached = true;
    if (this.#attemptOpen && this.#abort !== null) this.#abort(new ClientGoneError());
  }
}
