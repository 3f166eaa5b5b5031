/**
 * One client request on its way through the balancer: an undici dispatch
 * handler that streams the worker's response straight into the client's
 * (backpressure both ways, nothing buffered), retries a connection failure
 * once on another worker when that is safe, and turns every failure into a
 * definite answer (502/503/504 JSON) or, once headers went out, a destroyed
 * response. It never throws and never leaves the client hanging.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../errors.js';
import { forwardResponseHeaders } from './headers.js';
import type { TrafficCounter } from './traffic-stats.js';
import type { Upstream } from './upstream.js';

/** What an exchange needs from the balancer that owns it. */
export interface ExchangeOwner {
  readonly traffic: TrafficCounter;
  readonly timeoutMs: number;
  now(): number;
  /** The next worker in rotation (round-robin), or null when none. */
  next(): Upstream | null;
  /** A request to `upstream` failed; `connectFailure` when no response byte had arrived and the connection failed. */
  upstreamFailed(upstream: Upstream, code: string, connectFailure: boolean): void;
  /** `upstream`'s in-flight count just went down. */
  settled(upstream: Upstream): void;
  /** No worker left for a retry: hold the exchange until one is (true), or not (false: answer 503). */
  hold(exchange: Exchange, res: ServerResponse): boolean;
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
]);

const TIMEOUTS: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;

export function sendJsonError(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: message, code });
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendNoReadyWorker(res: ServerResponse): void {
  sendJsonError(res, 503, 'AS_ERR_NO_READY_WORKER', 'no ready worker');
}

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #owner: ExchangeOwner;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #start: number;
  readonly #headers: string[];
  readonly #hasBody: boolean;
  readonly #mayRetry: boolean;
  #retried = false;
  #upstream: Upstream | null = null;
  #controller: Dispatcher.DispatchController | null = null;
  /** The current attempt still counts in its worker's in-flight. */
  #attemptOpen = false;
  /** The current attempt received response headers. */
  #gotResponse = false;
  #clientGone = false;

  constructor(owner: ExchangeOwner, req: IncomingMessage, res: ServerResponse, start: number, headers: string[], hasBody: boolean) {
    this.#owner = owner;
    this.#req = req;
    this.#res = res;
    this.#start = start;
    this.#headers = headers;
    this.#hasBody = hasBody;
    this.#mayRetry = !hasBody && IDEMPOTENT.has(req.method ?? '');
    res.once('close', () => this.#onClientClose());
  }

  /** Send (or resend) the request to `upstream`. */
  send(upstream: Upstream): void {
    this.#upstream = upstream;
    this.#controller = null;
    this.#gotResponse = false;
    this.#attemptOpen = true;
    upstream.counter.inFlight++;
    upstream.pool.dispatch(
      {
        path: this.#req.url ?? '/',
        method: this.#req.method as Dispatcher.HttpMethod,
        headers: this.#headers,
        body: this.#hasBody ? this.#req : null,
      },
      this,
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.#gotResponse = true;
    const res = this.#res;
    if (this.#clientGone) return;
    const out = forwardResponseHeaders(headers, (this.#upstream as Upstream).servedBy);
    if (statusMessage) res.writeHead(statusCode, statusMessage, out);
    else res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#clientGone) return;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    const upstream = this.#closeAttempt();
    upstream.counter.complete(this.#owner.now());
    this.#owner.settled(upstream);
    if (!this.#clientGone) this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const upstream = this.#closeAttempt();
    const owner = this.#owner;
    if (this.#clientGone) {
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
      if (owner.hold(this, res)) return;
      owner.traffic.errors++;
      sendNoReadyWorker(res);
      return;
    }
    owner.traffic.errors++;
    if (TIMEOUTS.has(code)) {
      sendJsonError(res, 504, 'AS_ERR_UPSTREAM_TIMEOUT', `${upstream.servedBy} did not answer within ${owner.timeoutMs} ms`);
    } else {
      sendJsonError(res, 502, 'AS_ERR_TARGET_UNREACHABLE', `${upstream.servedBy} failed: ${code}`);
    }
  }

  #closeAttempt(): Upstream {
    const upstream = this.#upstream as Upstream;
    if (this.#attemptOpen) {
      this.#attemptOpen = false;
      upstream.counter.inFlight--;
    }
    return upstream;
  }

  /** The client's response is over: finished (count it) or cut short (abort the worker's request). */
  #onClientClose(): void {
    const owner = this.#owner;
    owner.traffic.inFlight--;
    if (this.#res.writableFinished) {
      const now = owner.now();
      owner.traffic.complete(now, now - this.#start);
      // Responses by status class, per worker (the balancer's own answers under no worker): for the lab's /metrics.
      (this.#upstream === null ? owner.traffic.ownByClass : this.#upstream.counter.byClass)[(this.#res.statusCode / 100) | 0]++;
      return;
    }
    this.#clientGone = true;
    if (this.#attemptOpen && this.#controller !== null) this.#controller.abort(new ClientGoneError());
  }
}
