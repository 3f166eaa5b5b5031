/**
 * The default upstream path (AUTOSCALE_UPSTREAM=undici switches back for
 * comparison): the hop from the L7 balancer to one worker over pooled
 * keep-alive `net.Socket`s, instead of undici's general-purpose Pool. One request at a time per connection (no
 * pipelining), at most `connections` connections, FIFO queue beyond that.
 *
 * It speaks to the same handler as undici's native dispatch API (onConnect,
 * onHeaders with raw header Buffers, onData returning false to pause,
 * onComplete, onError), so forward.ts's Exchange works with either. Deadlines
 * as today: the wait for response headers is the balancer's own deadline
 * queue; a pause of more than `bodyTimeoutMs` inside a response body is
 * AS_UPSTREAM_BODY_TIMEOUT; a connect that takes more than `connectTimeoutMs`
 * is AS_UPSTREAM_CONNECT_TIMEOUT. Failures before any response byte carry
 * codes forward.ts counts as connection failures (retried once elsewhere
 * when safe); a response the parser refuses is AS_UPSTREAM_BAD_RESPONSE
 * (502) and its connection is closed. close() lets queued and running
 * requests finish (a drain); destroy() fails them (AS_UPSTREAM_CLOSED).
 */
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { UPSTREAM_ERROR_CODES } from '../../errors.js';
import { ResponseParser, type ResponseHead } from './response-parser.js';

export interface DispatchOptions {
  path: string;
  method: string;
  /** Flat `[name, value, …]`, validated by node's parser on the client side and by headers.ts. */
  headers: string[];
  body: Readable | null;
}

/** undici's native dispatch-handler shape (what forward.ts's Exchange implements). */
export interface DispatchHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: null): void;
  onError(err: Error): void;
}

export interface LeanPoolOptions {
  connections: number;
  bodyTimeoutMs: number;
  connectTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long (below the worker's 65 s keep-alive). */
  idleTimeoutMs?: number;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 4000;

function upstreamError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Pending {
  opts: DispatchOptions;
  handler: DispatchHandler;
  conn: Connection | null;
  /** onError or onComplete was called: nothing more for this handler. */
  settled: boolean;
}

class Connection {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  current: Pending | null = null;
  connected = false;
  /** The current request's body is completely written. */
  bodyDone = true;
  /** The current response said Connection: close (or the request body was cut short). */
  reusable = true;
  gotHead = false;
  dead = false;

  constructor(socket: Socket, parser: ResponseParser) {
    this.socket = socket;
    this.parser = parser;
  }
}

export class LeanPool {
  readonly #host: string;
  readonly #port: number;
  readonly #opts: Required<LeanPoolOptions>;
  readonly #all = new Set<Connection>();
  #idle: Connection[] = [];
  #queue: Pending[] = [];
  #closing = false;
  #destroyed = false;
  #onClosed: (() => void) | null = null;

  constructor(host: string, port: number, opts: LeanPoolOptions) {
    this.#host = host;
    this.#port = port;
    this.#opts = { idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS, ...opts };
  }

  dispatch(opts: DispatchOptions, handler: DispatchHandler): void {
    const p: Pending = { opts, handler, conn: null, settled: false };
    handler.onConnect((err) => this.#abort(p, err ?? upstreamError(UPSTREAM_ERROR_CODES.aborted, 'request aborted')));
    if (p.settled) return;
    if (this.#closing || this.#destroyed) {
      this.#fail(p, upstreamError(UPSTREAM_ERROR_CODES.closed, 'the connection pool to this worker is closed'));
      return;
    }
    this.#queue.push(p);
    this.#pump();
  }

  /** Let queued and running requests finish, then close every connection. */
  close(): Promise<void> {
    this.#closing = true;
    if (this.#busy() === 0) {
      this.#closeIdle();
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.#onClosed = resolve));
  }

  /** Fail every queued and running request and close every connection now. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.#closing = true;
    const err = (): Error => upstreamError(UPSTREAM_ERROR_CODES.closed, 'the connection pool to this worker was destroyed');
    const queue = this.#queue;
    this.#queue = [];
    for (const p of queue) this.#fail(p, err());
    for (const c of [...this.#all]) {
      const p = c.current;
      this.#kill(c);
      if (p !== null) this.#fail(p, err());
    }
    this.#onClosed?.();
    this.#onClosed = null;
  }

  // internals

  #busy(): number {
    let n = this.#queue.length;
    for (const c of this.#all) if (c.current !== null) n++;
    return n;
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let c = this.#idle.pop();
      if (c === undefined) {
        if (this.#all.size >= this.#opts.connections) return;
        c = this.#open();
      }
      this.#start(c, this.#queue.shift() as Pending);
    }
    if (this.#closing && this.#busy() === 0) {
      this.#closeIdle();
      this.#onClosed?.();
      this.#onClosed = null;
    }
  }

  #open(): Connection {
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true });
    const c: Connection = new Connection(socket, null as unknown as ResponseParser);
    (c as { parser: ResponseParser }).parser = new ResponseParser({
      head: (h) => this.#onHead(c, h),
      body: (chunk) => this.#onBody(c, chunk),
      end: () => this.#onEnd(c),
    });
    this.#all.add(c);
    socket.setTimeout(this.#opts.connectTimeoutMs);
    socket.once('connect', () => {
      c.connected = true;
      socket.setTimeout(0);
    });
    socket.on('timeout', () => this.#onTimeout(c));
    socket.on('data', (d: Buffer) => {
      try {
        c.parser.feed(d);
      } catch (err) {
        this.#broken(c, err as Error);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.#broken(c, err));
    socket.on('close', () => this.#broken(c, null));
    return c;
  }

  #start(c: Connection, p: Pending): void {
    p.conn = c;
    c.current = p;
    c.gotHead = false;
    c.reusable = true;
    c.parser.expect(p.opts.method);
    const { opts } = p;
    let head = `${opts.method} ${opts.path} HTTP/1.1\r\n`;
    let hasLength = false;
    const h = opts.headers;
    for (let i = 0; i < h.length; i += 2) {
      head += `${h[i]}: ${h[i + 1]}\r\n`;
      if (h[i].length === 14 && h[i].toLowerCase() === 'content-length') hasLength = true;
    }
    const body = opts.body;
    const chunked = body !== null && !hasLength;
    if (chunked) head += 'transfer-encoding: chunked\r\n';
    c.socket.write(`${head}\r\n`, 'latin1');
    if (body === null) {
      c.bodyDone = true;
      return;
    }
    c.bodyDone = false;
    const onData = (chunk: Buffer): void => {
      if (c.current !== p) return;
      if (chunk.length === 0) return;
      let ok: boolean;
      if (chunked) {
        // Every part is written; false from the last one means the socket's buffer is full.
        c.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        c.socket.write(chunk);
        ok = c.socket.write('\r\n', 'latin1');
      } else {
        ok = c.socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        c.socket.once('drain', () => body.resume());
      }
    };
    const onEnd = (): void => {
      cleanup();
      if (c.current !== p) return;
      if (chunked) c.socket.write('0\r\n\r\n', 'latin1');
      c.bodyDone = true;
    };
    const onCut = (): void => {
      cleanup();
      // The client's body stopped short: this connection's request can never be completed.
      if (c.current === p && !c.bodyDone) this.#broken(c, upstreamError(UPSTREAM_ERROR_CODES.aborted, 'the request body was cut short'));
    };
    const cleanup = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onCut);
      body.off('close', onCut);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onCut);
    body.once('close', onCut);
  }

  #onHead(c: Connection, h: ResponseHead): void {
    const p = c.current;
    if (p === null) throw new Error('a response without a request');
    c.gotHead = true;
    c.reusable = h.keepAlive;
    // From here a pause inside the body is bounded (the wait for this head was the balancer's deadline).
    c.socket.setTimeout(this.#opts.bodyTimeoutMs);
    if (p.settled) return;
    p.handler.onHeaders(h.status, h.rawHeaders, () => c.socket.resume(), h.reason);
  }

  #onBody(c: Connection, chunk: Buffer): void {
    const p = c.current;
    if (p === null || p.settled) return;
    if (!p.handler.onData(chunk)) c.socket.pause();
  }

  #onEnd(c: Connection): void {
    const p = c.current as Pending;
    c.current = null;
    c.socket.setTimeout(0);
    if (!p.settled) {
      p.settled = true;
      p.handler.onComplete(null);
    }
    c.socket.resume();
    if (!c.reusable || !c.bodyDone || this.#destroyed || c.dead) {
      this.#kill(c);
    } else {
      c.socket.setTimeout(this.#opts.idleTimeoutMs);
      this.#idle.push(c);
    }
    this.#pump();
  }

  #onTimeout(c: Connection): void {
    const p = c.current;
    if (p === null) {
      // Idle for idleTimeoutMs: close it quietly.
      this.#kill(c);
      return;
    }
    const err = c.connected
      ? upstreamError(UPSTREAM_ERROR_CODES.bodyTimeout, `no response body bytes for ${this.#opts.bodyTimeoutMs} ms`)
      : upstreamError(UPSTREAM_ERROR_CODES.connectTimeout, `no connection within ${this.#opts.connectTimeoutMs} ms`);
    this.#broken(c, err);
  }

  /** The connection failed or closed (err null: closed by the worker). Its request, if any, fails; the connection is gone. */
  #broken(c: Connection, err: Error | null): void {
    if (c.dead) return;
    const p = c.current;
    const failure =
      err ?? upstreamError(UPSTREAM_ERROR_CODES.socketClosed, c.gotHead ? 'the worker closed the connection inside a response' : 'the worker closed the connection before answering');
    this.#kill(c);
    if (p !== null) this.#fail(p, failure);
    this.#pump();
  }

  #kill(c: Connection): void {
    c.dead = true;
    c.current = null;
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    c.socket.destroy();
  }

  #abort(p: Pending, err: Error): void {
    if (p.settled) return;
    const i = this.#queue.indexOf(p);
    if (i >= 0) this.#queue.splice(i, 1);
    const c = p.conn;
    if (c !== null && c.current === p) {
      this.#kill(c);
      queueMicrotask(() => this.#pump());
    }
    this.#fail(p, err);
  }

  #fail(p: Pending, err: Error): void {
    if (p.settled) return;
    p.settled = true;
    p.handler.onError(err);
  }

  #closeIdle(): void {
    for (const c of [...this.#idle]) this.#kill(c);
  }
}
