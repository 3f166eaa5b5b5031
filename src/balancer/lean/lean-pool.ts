/**
 * The lean upstream path (the default; AUTOSCALE_UPSTREAM=undici switches to
 * undici's Pool for comparison): the hop from the L7 balancer to one worker over
 * pooled keep-alive `net.Socket`s, instead of undici's general-purpose Pool. One request at a time per connection (no
 * pipelining), at most `connections` connections, FIFO queue beyond that.
 *
 * It speaks to the same handler as undici's native dispatch API (onConnect,
 * onHeaders with raw header Buffers, onData returning false to pause,
 * onComplete, onError), so forward.ts's Exchange works with either. Deadlines
 * as today: the wait for response headers is the balancer's own deadline
 * queue; a pause of more than `bodyTimeoutMs` inside a response body is
 * AS_UPSTREAM_BODY_TIMEOUT; a connect that takes more than `connectTimeoutMs`
 * is AS_UPSTREAM_CONNECT_TIMEOUT. These three and the idle timeout are kept
 * by one coarse sweep per pool (an eighth of the shortest, 10 to 500 ms: a
 * timeout fires up to one sweep late, never early), not by a timer armed and
 * cleared per request. Reads land in one reused buffer (net's `onread`, no
 * allocation and no stream machinery per read); body bytes are copied once,
 * since the client's socket may keep them queued. Failures before any response byte carry
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

/**
 * undici's native dispatch-handler shape (what forward.ts's Exchange implements). The lean pool
 * hands header names and values as latin1 strings, and the bytes that complete a Content-Length
 * body to onComplete as `last` (so the client's response can end with them in one write);
 * undici hands Buffers and no `last`.
 */
export interface DispatchHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: ReadonlyArray<Buffer | string>, resume: () => void, statusMessage: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: null, last?: Buffer): void;
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

/** Bounds of the timeout sweep's period. */
const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 500;

/**
 * Every connection's reads land here (net's `onread`): read callbacks run one at a time on the
 * event loop and nothing keeps a view of it past the callback (the parser copies an unfinished
 * head, the pool copies body bytes), so one buffer serves every pool.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function upstreamError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Pending {
  opts: DispatchOptions;
  handler: DispatchHandler;
  conn: Connection | null;
  /** onError or onComplete was called: nothing more for this handler. */
  settled: boolean;
  /** Already resent once after a kept-alive connection turned out closed. */
  resent: boolean;
}

/** Methods whose request may be sent twice (RFC 9110 §9.2.2). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Errors of a kept-alive connection that the worker closed while it sat idle (its FIN or RST raced our request). */
const STALE: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', UPSTREAM_ERROR_CODES.socketClosed]);

/** What a connection is waiting for, as far as the sweep is concerned ('head': the balancer's own deadline covers it). */
type Phase = 'connecting' | 'head' | 'body' | 'idle';

class Connection {
  readonly socket: Socket;
  readonly parser: ResponseParser;
  /** The parser's resume callback for the handler (one per connection, not per request). */
  readonly resume: () => void;
  current: Pending | null = null;
  connected = false;
  /** The current request's body is completely written. */
  bodyDone = true;
  /** The current response said Connection: close (or the request body was cut short). */
  reusable = true;
  gotHead = false;
  dead = false;
  /** Responses completed on it (more than 0: a kept-alive connection being reused). */
  served = 0;
  /** The current request went out on a connection that had served before. */
  reused = false;
  /** `reads` when the current request went out. */
  readsAtStart = 0;
  /** Reading is paused for backpressure. */
  paused = false;
  /** The bytes that completed the current body, copied, for onComplete. */
  last: Buffer | undefined = undefined;
  phase: Phase = 'connecting';
  /** Reads so far, and the count the sweep saw last. */
  reads = 0;
  seenReads = 0;
  /** How long the sweep has seen neither a read nor a phase change, ms. */
  quietMs = 0;

  constructor(socket: Socket, parser: ResponseParser, resume: () => void) {
    this.socket = socket;
    this.parser = parser;
    this.resume = resume;
  }

  enter(phase: Phase): void {
    this.phase = phase;
    this.quietMs = 0;
    this.seenReads = this.reads;
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
  readonly #sweepMs: number;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(host: string, port: number, opts: LeanPoolOptions) {
    this.#host = host;
    this.#port = port;
    this.#opts = { idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS, ...opts };
    const shortest = Math.min(this.#opts.bodyTimeoutMs, this.#opts.connectTimeoutMs, this.#opts.idleTimeoutMs);
    this.#sweepMs = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(shortest / 8)));
  }

  dispatch(opts: DispatchOptions, handler: DispatchHandler): void {
    const p: Pending = { opts, handler, conn: null, settled: false, resent: false };
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
    let c: Connection | null = null;
    const socket = connect({
      host: this.#host,
      port: this.#port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          const conn = c as Connection;
          conn.reads++;
          try {
            conn.parser.feed(buf as Buffer, n);
          } catch (err) {
            this.#broken(conn, err as Error);
            return false;
          }
          return !conn.paused;
        },
      },
    });
    const parser = new ResponseParser({
      head: (h) => this.#onHead(c as Connection, h),
      body: (buf, start, end, last) => this.#onBody(c as Connection, buf, start, end, last),
      end: () => this.#onEnd(c as Connection),
    });
    const conn = new Connection(socket, parser, () => {
      if (!conn.paused) return;
      conn.paused = false;
      if (!conn.dead) socket.resume();
    });
    c = conn;
    this.#all.add(conn);
    socket.once('connect', () => {
      conn.connected = true;
      if (conn.phase === 'connecting') conn.enter(conn.current === null ? 'idle' : 'head');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.#broken(conn, err));
    socket.on('close', () => this.#broken(conn, null));
    this.#sweeper ??= setInterval(() => this.#sweep(), this.#sweepMs).unref();
    return conn;
  }

  /** Every connection that has been quiet too long for its phase times out (connect, body) or is closed (idle). */
  #sweep(): void {
    const tick = this.#sweepMs;
    for (const c of this.#all) {
      if (c.reads !== c.seenReads) {
        c.seenReads = c.reads;
        c.quietMs = 0;
        continue;
      }
      c.quietMs += tick;
      if (c.phase === 'head') continue;
      const limit = c.phase === 'connecting' ? this.#opts.connectTimeoutMs : c.phase === 'body' ? this.#opts.bodyTimeoutMs : this.#opts.idleTimeoutMs;
      if (c.quietMs >= limit) this.#onTimeout(c);
    }
    if (this.#all.size === 0) this.#stopSweep();
  }

  #stopSweep(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  #start(c: Connection, p: Pending): void {
    p.conn = c;
    c.current = p;
    c.gotHead = false;
    c.reusable = true;
    c.last = undefined;
    c.reused = c.served > 0;
    c.readsAtStart = c.reads;
    if (c.connected) c.enter('head');
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
    c.enter('body');
    if (p.settled) return;
    p.handler.onHeaders(h.status, h.rawHeaders, c.resume, h.reason);
  }

  #onBody(c: Connection, buf: Buffer, start: number, end: number, last: boolean): void {
    const p = c.current;
    if (p === null || p.settled) return;
    // A copy: `buf` is the shared read buffer, and the client's socket may keep the bytes queued.
    const chunk = Buffer.allocUnsafe(end - start);
    buf.copy(chunk, 0, start, end);
    if (last) {
      c.last = chunk;
      return;
    }
    if (!p.handler.onData(chunk)) c.paused = true;
  }

  #onEnd(c: Connection): void {
    const p = c.current as Pending;
    c.current = null;
    c.served++;
    const last = c.last;
    c.last = undefined;
    if (!p.settled) {
      p.settled = true;
      p.handler.onComplete(null, last);
    }
    if (c.paused) {
      c.paused = false;
      if (!c.dead) c.socket.resume();
    }
    if (!c.reusable || !c.bodyDone || this.#destroyed || c.dead) {
      this.#kill(c);
    } else {
      c.enter('idle');
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
    if (p !== null) {
      const code = (failure as NodeJS.ErrnoException).code ?? '';
      if (c.reused && c.reads === c.readsAtStart && !p.resent && !p.settled && p.opts.body === null && IDEMPOTENT.has(p.opts.method) && STALE.has(code)) {
        // The worker closed this idle kept-alive connection as we reused it: not the worker failing.
        // Send once more on a fresh connection (nothing of a response arrived; no body to replay).
        p.resent = true;
        p.conn = null;
        this.#queue.unshift(p);
      } else {
        this.#fail(p, failure);
      }
    }
    this.#pump();
  }

  #kill(c: Connection): void {
    c.dead = true;
    c.current = null;
    c.last = undefined;
    this.#all.delete(c);
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    c.socket.destroy();
    if (this.#all.size === 0) this.#stopSweep();
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
