/**
 * The lean client side of the L7 balancer (the default; AUTOSCALE_CLIENT_SIDE=node
 * switches back to node:http's server, for comparison): HTTP/1.1 served
 * straight on each client connection, with node's own request parser and none
 * of node:http's per-request machinery (IncomingMessage and ServerResponse are
 * streams with dozens of fields each; here a request is a plain object, its
 * body a stream only when it has one, and a response is a head string plus the
 * bytes that follow, written once).
 *
 * The parser is node's llhttp binding, the very one node:http uses (from
 * `_http_common`, strict: no lenient flags), so what it refuses (smuggling
 * shapes, bad framing, oversized heads) is refused exactly as before. As in
 * node:http, it reads straight from each socket's libuv stream (`consume`), so
 * a read costs no Buffer, stream or event in JS. What node:http's server does
 * on top of the parser is done here, the same way unless said (and
 * test/e2e/balancer-client-side.test.ts sends the same raw requests to both
 * and compares the answers):
 *
 * - keep-alive, `Connection: close` and HTTP/1.0 framing; `Date`,
 *   `Connection` and `Keep-Alive: timeout=N` on every response; chunked
 *   encoding for a body of unknown length (close-delimited for HTTP/1.0);
 *   no body for HEAD, 204 or 304;
 * - pipelining: requests are handed on as they are parsed; their responses
 *   leave in order (a later one is buffered until those before it ended);
 * - a request body is a Readable with backpressure (a full buffer stops
 *   reading the socket); a body nobody reads is dropped once its response ended;
 * - `Expect: 100-continue` gets `100 Continue` at once, any other expectation
 *   417; an HTTP/1.1 request without Host gets 400; CONNECT and `PRI` close
 *   the connection; parse errors go to `onClientError` (the balancer answers
 *   400/431 and closes);
 * - timeouts (one coarse sweep for all connections, as node's
 *   connectionsCheckingInterval): the head of a request within `headersTimeoutMs`
 *   of its first byte (or of the connection), the whole request within
 *   `requestTimeoutMs` (both: 408 through `onClientError`); an idle keep-alive
 *   connection is closed `keepAliveTimeoutMs` + 1 s after its last response;
 * - reading pauses while the client does not read its responses.
 *
 * Where it differs from node:http, deliberately:
 * - bytes after a `Connection: close` request are ignored, not answered with
 *   400 over the response the client is owed;
 * - pipelined bytes after an `Upgrade` request the balancer refuses or ignores
 *   (h2c) are parsed, not dropped.
 */
import { createRequire } from 'node:module';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { METHODS, STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { ClientRequestLike, ClientResponseLike } from '../forward.js';

/** node's llhttp binding as `_http_common` exports it (the methods used here). */
interface HTTPParserBinding {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** ms since the first byte of the request being parsed; 0 when none is under way. */
  duration(): number;
  /** The head of the request being parsed is complete. */
  headersCompleted(): boolean;
  execute(data: Buffer): number | ParseError;
  finish(): undefined | ParseError;
  free(): void;
  close(): void;
  consume(handle: object): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
  [callback: number]: unknown;
}

/** The libuv stream under a net.Socket (node:http hands it to the parser the same way). */
interface StreamHandle {
  isStreamBase?: boolean;
  _consumed?: boolean;
  reading?: boolean;
  readStart(): number;
  readStop(): number;
}
interface HTTPParserClass {
  new (): HTTPParserBinding;
  REQUEST: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kLenientNone: number;
}
export interface ParseError extends Error {
  code: string;
  reason?: string;
  bytesParsed?: number;
}

const { HTTPParser, continueExpression } = createRequire(import.meta.url)('_http_common') as { HTTPParser: HTTPParserClass; continueExpression: RegExp };
const kOnHeaders = HTTPParser.kOnHeaders | 0;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
const kOnBody = HTTPParser.kOnBody | 0;
const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;
const kOnExecute = HTTPParser.kOnExecute | 0;

/**
 * The parser hands a request's method as llhttp's method number; node maps it through a table it
 * does not export. The same table, learnt once by parsing one request per method node knows.
 */
const METHOD_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const name of METHODS) {
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
    p[kOnHeaders] = () => {};
    p[kOnBody] = () => {};
    p[kOnMessageComplete] = () => {};
    p[kOnHeadersComplete] = (_a: number, _b: number, _h: unknown, method: number) => {
      names[method] = name;
      return 0;
    };
    p.execute(Buffer.from(`${name} / HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1'));
    p.close();
  }
  return names;
})();

export interface ClientSideOptions {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  /** How often timeouts are checked (node's connectionsCheckingInterval). */
  checkIntervalMs: number;
  onRequest(req: LeanRequest, res: LeanResponse): void;
  /** The connection broke the protocol, timed out or failed: answer (or not) and destroy it. */
  onClientError(err: ParseError | NodeJS.ErrnoException, socket: Socket): void;
  /** The client side answered a request itself (400 without Host, 417): counted by the balancer. */
  onRefused(status: number): void;
}

/** node:http keeps an idle connection this much longer than the Keep-Alive timeout it announces (fewer races with a client reusing it). */
const KEEP_ALIVE_GRACE_MS = 1000;
/** Bytes a response waiting behind others may buffer before write() asks its writer to wait (as a socket's default high-water mark). */
const QUEUED_HIGH_WATER = 16 * 1024;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EMPTY = Buffer.alloc(0);
/** Bodies up to this size are copied behind their head into one allocated buffer; larger ones are joined with Buffer.concat (one write either way). */
const JOIN_LIMIT = 16 * 1024;

let dateText = '';
let dateAt = 0;
/** The Date header value, recomputed at most once per second (node's utcDate does the same). */
function httpDate(): string {
  const now = Date.now();
  if (now - dateAt >= 1000 || now < dateAt) {
    dateAt = now - (now % 1000);
    dateText = new Date(dateAt).toUTCString();
  }
  return dateText;
}

/** One client request: a plain object; its body a Readable made on demand. */
export class LeanRequest implements ClientRequestLike {
  readonly method: string;
  readonly url: string;
  /** Flat `[name, value, …]` as the client sent them. */
  readonly rawHeaders: string[];
  readonly httpVersionMinor: number;
  readonly socket: Socket;
  complete = false;
  #body: Readable | null = null;
  /** Nobody will read the body (its response ended first): further bytes are dropped. */
  #dumped = false;
  readonly #conn: Connection;

  constructor(conn: Connection, method: string, url: string, rawHeaders: string[], minor: number) {
    this.#conn = conn;
    this.socket = conn.socket;
    this.method = method;
    this.url = url;
    this.rawHeaders = rawHeaders;
    this.httpVersionMinor = minor;
  }

  /** The body as a stream (made on first use; ended at once when the whole request is already in). */
  body(): Readable {
    if (this.#body === null) {
      const conn = this.#conn;
      this.#body = new Readable({ read: () => conn.resumeFor(READING_BODY) });
      if (this.complete) this.#body.push(null);
    }
    return this.#body;
  }

  /** @internal body bytes from the parser */
  onBody(chunk: Buffer): void {
    if (this.#dumped) return;
    if (!this.body().push(chunk)) this.#conn.pauseFor(READING_BODY);
  }

  /** @internal the parser reached the end of the request */
  onComplete(): void {
    this.complete = true;
    if (this.#body !== null && !this.#dumped) this.#body.push(null);
  }

  /** @internal its response ended: nobody reads the rest of the body */
  dump(): void {
    if (this.complete || this.#dumped) return;
    this.#dumped = true;
    const body = this.#body;
    if (body !== null && !body.destroyed) {
      body.destroy();
      this.#conn.resumeFor(READING_BODY);
    }
  }

  /** @internal the connection closed before the request was complete */
  abort(): void {
    if (this.complete) return;
    this.#dumped = true;
    this.#body?.destroy();
  }
}

type Listener = (this: LeanResponse) => void;

/**
 * One response: writeHead keeps the head as a string; the first write sends it together with the
 * first body bytes. What node's ServerResponse offers the balancer (forward.ts's ClientResponseLike),
 * nothing more.
 */
export class LeanResponse implements ClientResponseLike {
  statusCode = 200;
  /** false: the connection closes after this response. */
  shouldKeepAlive: boolean;
  headersSent = false;
  /** end() was called. */
  finished = false;
  /** Every byte of it went to the kernel. */
  writableFinished = false;
  destroyed = false;
  #closeEmitted = false;
  readonly req: LeanRequest;
  readonly #conn: Connection;
  #head = '';
  #chunked = false;
  #hasBody: boolean;
  /** Output held while a response before it is still being sent. */
  #queued: Buffer[] | null = null;
  #queuedBytes = 0;
  #needDrain = false;
  #closeListeners: Listener[] | null = null;
  #drainListener: Listener | null = null;
  /** Next response on the same connection (a queue of pipelined responses). */
  next: LeanResponse | null = null;

  constructor(conn: Connection, req: LeanRequest, keepAlive: boolean) {
    this.#conn = conn;
    this.req = req;
    this.shouldKeepAlive = keepAlive;
    this.#hasBody = req.method !== 'HEAD';
  }

  on(_event: 'close', listener: Listener): this {
    (this.#closeListeners ??= []).push(listener);
    return this;
  }

  once(event: 'close' | 'drain', listener: Listener): this {
    if (event === 'drain') this.#drainListener = listener;
    else {
      const wrapped: Listener = function (this: LeanResponse) {
        this.off('close', wrapped);
        listener.call(this);
      };
      (wrapped as { listener?: Listener }).listener = listener;
      this.on('close', wrapped);
    }
    return this;
  }

  off(_event: 'close', listener: Listener): this {
    const ls = this.#closeListeners;
    if (ls === null) return this;
    const i = ls.findIndex((l) => l === listener || (l as { listener?: Listener }).listener === listener);
    if (i !== -1) ls.splice(i, 1);
    return this;
  }

  writeHead(statusCode: number, messageOrHeaders?: string | OutgoingHttpHeaders | string[], maybeHeaders?: OutgoingHttpHeaders | string[]): this {
    if (this.headersSent) throw new Error('writeHead: the head of this response was already written');
    const message = typeof messageOrHeaders === 'string' ? messageOrHeaders : (STATUS_CODES[statusCode] ?? 'unknown');
    const headers = typeof messageOrHeaders === 'string' ? maybeHeaders : messageOrHeaders;
    this.statusCode = statusCode;
    this.headersSent = true;
    if (statusCode === 204 || statusCode === 304 || statusCode < 200) this.#hasBody = false;
    let head = `HTTP/1.1 ${statusCode} ${message}\r\n`;
    let seen = 0;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i];
        const value = headers[i + 1];
        const kind = framingHeader(name);
        if (kind === CONNECTION) this.#connectionHeader(value);
        else head += `${name}: ${value}\r\n`;
        seen |= kind;
      }
    } else if (headers !== undefined) {
      for (const name of Object.keys(headers)) {
        const v = headers[name];
        if (v === undefined) continue;
        const kind = framingHeader(name);
        seen |= kind;
        for (const value of Array.isArray(v) ? v : [String(v)]) {
          if (kind === CONNECTION) this.#connectionHeader(value);
          else head += `${name}: ${value}\r\n`;
        }
      }
    }
    const date = (seen & DATE) !== 0;
    const length = (seen & CONTENT_LENGTH) !== 0;
    if (!date) head += `Date: ${httpDate()}\r\n`;
    if (!length && this.#hasBody) {
      if (this.req.httpVersionMinor >= 1) {
        this.#chunked = true;
        head += 'Transfer-Encoding: chunked\r\n';
      } else this.shouldKeepAlive = false; // HTTP/1.0: the body ends with the connection
    }
    const conn = this.#conn;
    if (this.shouldKeepAlive && conn.keepsAlive()) {
      head += conn.keepAliveHeaders;
    } else {
      this.shouldKeepAlive = false;
      head += 'Connection: close\r\n';
    }
    this.#head = `${head}\r\n`;
    return this;
  }

  /** A `Connection` header given to writeHead: not written as is (the connection's own goes out), but `close` is honoured. */
  #connectionHeader(value: string): void {
    if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) this.shouldKeepAlive = false;
  }

  /** Body bytes; false: wait for 'drain' before the next. */
  write(chunk: Buffer | string): boolean {
    if (this.finished || this.destroyed) return true;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const data = this.#frame(chunk, false);
    return data === null ? true : this.#send(data);
  }

  end(chunk?: Buffer | string): this {
    if (this.finished || this.destroyed) return this;
    if (!this.headersSent) {
      const length = chunk === undefined ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      this.writeHead(this.statusCode, ['Content-Length', String(length)]);
    }
    this.finished = true;
    const data = this.#frame(chunk ?? EMPTY, true);
    this.#send(data ?? EMPTY, true);
    return this;
  }

  destroy(_err?: Error): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.#conn.socket.destroy();
    }
    return this;
  }

  /** Head (if not yet sent) plus the body bytes as they go on the wire, in one buffer; null: nothing to send. */
  #frame(chunk: Buffer | string, last: boolean): Buffer | null {
    const head = this.#head;
    this.#head = '';
    const body = !this.#hasBody ? EMPTY : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#chunked) {
      const size = body.length === 0 ? '' : `${body.length.toString(16)}\r\n`;
      const tail = `${body.length === 0 ? '' : '\r\n'}${last ? '0\r\n\r\n' : ''}`;
      return head === '' && size === '' && tail === '' ? null : joined(`${head}${size}`, body, tail);
    }
    if (head === '') return body.length === 0 ? null : body;
    return joined(head, body, '');
  }

  /** Bytes go to the socket if this response is at the head of its connection's queue, else they wait. */
  #send(data: Buffer, last = false): boolean {
    const conn = this.#conn;
    if (conn.current !== this) {
      if (data.length > 0) {
        (this.#queued ??= []).push(data);
        this.#queuedBytes += data.length;
      }
      const ok = this.#queuedBytes < QUEUED_HIGH_WATER;
      if (!ok) this.#needDrain = true;
      return ok;
    }
    const ok = data.length === 0 ? true : conn.write(data);
    if (!ok) this.#needDrain = true;
    if (last) conn.flushed(this);
    return ok;
  }

  /** @internal it is now at the head of the queue: what it buffered goes out */
  promote(): void {
    const queued = this.#queued;
    this.#queued = null;
    this.#queuedBytes = 0;
    const conn = this.#conn;
    let ok = true;
    if (queued !== null) ok = conn.write(queued.length === 1 ? queued[0] : Buffer.concat(queued));
    if (this.finished) conn.flushed(this);
    else if (ok) this.drained();
  }

  /** @internal the socket took what was written: a writer waiting for 'drain' may go on */
  drained(): void {
    if (!this.#needDrain) return;
    this.#needDrain = false;
    const l = this.#drainListener;
    this.#drainListener = null;
    l?.call(this);
  }

  /** @internal every byte went out (or the connection closed): emit 'close' once */
  closed(finished: boolean): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    if (finished) this.writableFinished = true;
    else this.destroyed = true;
    const ls = this.#closeListeners;
    this.#closeListeners = null;
    if (ls !== null) for (const l of ls) l.call(this);
  }
}

const CONTENT_LENGTH = 1;
const DATE = 2;
const CONNECTION = 4;

/** Which of the headers writeHead must know about `name` is (0: none); only names of their lengths are lower-cased. */
function framingHeader(name: string): number {
  const n = name.length;
  if (n !== 14 && n !== 4 && n !== 10) return 0;
  const lower = name.toLowerCase();
  return lower === 'content-length' ? CONTENT_LENGTH : lower === 'date' ? DATE : lower === 'connection' ? CONNECTION : 0;
}

/** Head and body in one buffer for small bodies (one write); a head string then the body otherwise. */
function joined(head: string, body: Buffer, tail: string): Buffer {
  if (body.length > JOIN_LIMIT) return Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from(tail, 'latin1')]);
  const h = head.length;
  const out = Buffer.allocUnsafe(h + body.length + tail.length);
  out.write(head, 0, h, 'latin1');
  body.copy(out, h);
  if (tail !== '') out.write(tail, h + body.length, tail.length, 'latin1');
  return out;
}

/** Why reading is paused (a bit each): a request body nobody reads yet, or responses the client does not read. */
const READING_BODY = 1;
const WRITING_BEHIND = 2;

/** One client connection: its parser, the request being parsed, the queue of responses. */
class Connection {
  readonly socket: Socket;
  readonly #side: LeanClientSide;
  readonly #parser: HTTPParserBinding;
  /** The response being sent (head of the queue) and the last one queued. */
  current: LeanResponse | null = null;
  #last: LeanResponse | null = null;
  /** The request whose body the parser is reading. */
  #request: LeanRequest | null = null;
  #headers: string[] = [];
  #url = '';
  /** When the connection was accepted. */
  readonly acceptedAt: number;
  /** No request has been completely read yet (node times the first one from the connection's start). */
  #first = true;
  #timedOut = false;
  /** When the connection went idle (nothing open, nothing being read), or -1. */
  idleSince = -1;
  #paused = 0;
  /** The last request parsed asked for an Upgrade: llhttp stopped after its head. */
  #upgraded = false;
  /** The socket's stream, when the parser reads from it directly. */
  #handle: StreamHandle | null = null;
  /** Parsing stopped: no more requests will be served on this connection. */
  #stopped = false;
  #closed = false;
  readonly keepAliveHeaders: string;

  constructor(side: LeanClientSide, socket: Socket, parser: HTTPParserBinding, now: number) {
    this.#side = side;
    this.socket = socket;
    this.#parser = parser;
    this.acceptedAt = now;
    this.keepAliveHeaders = side.keepAliveHeaders;
    parser[kOnHeaders] = (headers: string[], url: string) => {
      for (const h of headers) this.#headers.push(h);
      this.#url += url;
    };
    parser[kOnHeadersComplete] = (major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _s: unknown, _m: unknown, upgrade: boolean, keepAlive: boolean) =>
      this.#onHeadersComplete(major, minor, headers, method, url, upgrade, keepAlive);
    parser[kOnBody] = (chunk: Buffer) => this.#request?.onBody(chunk);
    parser[kOnMessageComplete] = () => this.#onMessageComplete();
    // Reads go straight from the socket's libuv stream into the parser, as node:http does: no
    // Buffer, no stream machinery and no 'data' event per read (kOnExecute reports each one). A
    // socket without such a stream (never, from a net.Server) is read through 'data'.
    socket.on('data', (d: Buffer) => this.#onData(d));
    const handle = (socket as unknown as { _handle: StreamHandle | null })._handle;
    if (handle !== null && handle.isStreamBase === true && handle._consumed !== true) {
      handle._consumed = true;
      this.#handle = handle;
      parser[kOnExecute] = (ret: number | ParseError) => this.#onExecute(ret);
      parser.consume(handle);
    }
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(err));
    socket.on('drain', () => this.#onDrain());
    socket.on('close', () => this.#onClose());
  }

  /** The socket may take more: false when it is backed up. */
  write(data: string | Buffer): boolean {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return true;
    return typeof data === 'string' ? s.write(data, 'latin1') : s.write(data);
  }

  keepsAlive(): boolean {
    return !this.#stopped;
  }

  pauseFor(reason: number): void {
    if (this.#paused === 0) this.#readStop();
    this.#paused |= reason;
  }

  resumeFor(reason: number): void {
    if ((this.#paused & reason) === 0) return;
    this.#paused &= ~reason;
    if (this.#paused === 0 && !this.#closed) this.#readStart();
  }

  #readStop(): void {
    const h = this.#handle;
    if (h === null) this.socket.pause();
    else if (h.reading !== false) {
      h.reading = false;
      h.readStop();
    }
  }

  #readStart(): void {
    const h = this.#handle;
    if (h === null) this.socket.resume();
    else if (h.reading === false) {
      h.reading = true;
      h.readStart();
    }
  }

  /** A read went through the parser (consumed socket): what it returned. */
  #onExecute(ret: number | ParseError): void {
    if (this.#stopped) return;
    if (typeof ret !== 'number') {
      this.#parseError(ret);
      return;
    }
    // Only a request that asked for an Upgrade stops llhttp before the end of a read (the rest is
    // parsed on); asking for the read's bytes copies them, so only then.
    if (!this.#upgraded) return;
    this.#upgraded = false;
    const buf = this.#parser.getCurrentBuffer();
    if (ret < buf.length) this.#onData(buf.subarray(ret));
  }

  #parseError(err: ParseError): void {
    // After a `Connection: close` request nothing more is read; the answers owed still go out.
    if (err.code === 'HPE_CLOSED_CONNECTION') {
      this.#stopped = true;
      this.#readStop();
    } else this.#fail(err);
  }

  #onData(d: Buffer): void {
    if (this.#stopped) return;
    let data = d;
    for (;;) {
      const ret = this.#parser.execute(data);
      if (typeof ret !== 'number') {
        this.#parseError(ret);
        return;
      }
      if (this.#stopped || ret >= data.length) return;
      // llhttp stops after the head of a request that asks for an Upgrade; it is served as plain HTTP, so parsing goes on.
      data = data.subarray(ret);
    }
  }

  #onHeadersComplete(_major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    this.idleSince = -1;
    if (headers === undefined) {
      headers = this.#headers;
      this.#headers = [];
    }
    if (url === undefined) {
      url = this.#url;
      this.#url = '';
    }
    const name = METHOD_NAMES[method];
    if (name === undefined || name === 'CONNECT' || (upgrade && name === 'PRI')) {
      // No tunnels (node:http without a 'connect' listener does the same).
      this.#stopped = true;
      this.socket.destroy();
      return 0;
    }
    if (upgrade) this.#upgraded = true;
    const req = new LeanRequest(this, name, url, headers, minor);
    this.#request = req;
    // (Not keep-alive: its body is still read; llhttp refuses any byte after it, see #onData.)
    const res = new LeanResponse(this, req, keepAlive);
    this.#enqueue(res);
    // A client that does not read its answers: stop reading its requests (node:http does the same).
    if (this.socket.writableNeedDrain) this.pauseFor(WRITING_BEHIND);
    if (minor === 1) {
      let host = false;
      let expect: string | null = null;
      for (let i = 0; i < headers.length; i += 2) {
        const n = headers[i];
        if (n.length === 4 && n.toLowerCase() === 'host') host = true;
        else if (n.length === 6 && n.toLowerCase() === 'expect') expect = headers[i + 1];
      }
      if (!host) return this.#refuse(res, 400);
      if (expect !== null) {
        if (!continueExpression.test(expect)) return this.#refuse(res, 417);
        if (this.current === res) this.write(CONTINUE);
      }
    }
    this.#side.onRequest(req, res);
    return 0;
  }

  /** Answered here, never handed on (RFC 9112: 400 for an HTTP/1.1 request without Host; 417 for an expectation nobody meets). */
  #refuse(res: LeanResponse, status: number): number {
    this.#side.onRefused(status);
    res.writeHead(status, status === 400 ? ['Connection', 'close'] : []);
    res.end();
    return 0;
  }

  #onMessageComplete(): void {
    const req = this.#request;
    this.#request = null;
    this.#first = false;
    req?.onComplete();
    this.#checkIdle();
  }

  #enqueue(res: LeanResponse): void {
    if (this.#last === null) {
      this.current = res;
      this.#last = res;
    } else {
      this.#last.next = res;
      this.#last = res;
    }
  }

  /** @internal the current response's last bytes were written: it is finished once the socket took them */
  flushed(res: LeanResponse): void {
    const s = this.socket;
    if (s.writableLength === 0 || s.destroyed) this.#finished(res);
    else s.write(EMPTY, () => this.#finished(res));
  }

  #finished(res: LeanResponse): void {
    if (this.current !== res) return;
    const next = res.next;
    res.next = null;
    this.current = next;
    if (next === null) this.#last = null;
    res.req.dump();
    res.closed(!this.socket.destroyed);
    if (!res.shouldKeepAlive) {
      this.#stopped = true;
      this.#closeSoon();
      return;
    }
    if (next !== null) next.promote();
    else this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#request === null && this.current === null) this.idleSince = performance.now();
  }

  #closeSoon(): void {
    const s = this.socket;
    if (s.destroyed) return;
    s.end(() => s.destroy());
  }

  #onDrain(): void {
    this.resumeFor(WRITING_BEHIND);
    this.current?.drained();
  }

  /**
   * The client sent FIN: like node:http (whose default is the same), that is a client gone. A
   * request cut short is a parse error (400 when nothing was answered yet); otherwise the
   * connection closes, and with it every request still open on it is cancelled (a load tool
   * that stops, a browser tab closed: nobody reads those answers).
   */
  #onEnd(): void {
    const err = this.#parser.finish();
    if (err !== undefined && !this.#stopped) {
      this.#fail(err);
      return;
    }
    this.#stopped = true;
    this.socket.destroy();
  }

  #fail(err: ParseError | NodeJS.ErrnoException): void {
    if (this.#closed) return;
    this.#stopped = true;
    this.#side.onClientError(err, this.socket);
  }

  /**
   * @internal The sweep: a request whose head (or whole) took too long is refused (408); an idle
   * keep-alive connection past its time is closed. When a request began is the parser's own record
   * (node's binding keeps it for its connections list), so no callback per request is needed for it.
   */
  sweep(now: number, headersTimeoutMs: number, requestTimeoutMs: number, idleMs: number): void {
    if (this.#timedOut || this.#closed) return;
    const p = this.#parser;
    const age = this.#first ? now - this.acceptedAt : p.duration();
    if (age > 0) {
      if ((age > headersTimeoutMs && !p.headersCompleted()) || age > requestTimeoutMs) this.#timeout();
    } else if (this.idleSince >= 0 && now - this.idleSince > idleMs) {
      this.socket.destroy();
    }
  }

  #timeout(): void {
    this.#timedOut = true;
    const err = new Error('request timeout') as NodeJS.ErrnoException;
    err.code = 'ERR_HTTP_REQUEST_TIMEOUT';
    this.#fail(err);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    if (this.#handle !== null) {
      this.#parser.unconsume();
      this.#handle = null;
    }
    this.#side.forget(this, this.#parser);
    this.#request?.abort();
    this.#request = null;
    for (let r = this.current; r !== null; ) {
      const next: LeanResponse | null = r.next;
      r.next = null;
      r.req.abort();
      r.closed(false);
      r = next;
    }
    this.current = null;
    this.#last = null;
  }
}

/** The listening side: a net.Server, every open connection, and the timeout sweep. */
export class LeanClientSide {
  readonly server: Server;
  readonly keepAliveHeaders: string;
  readonly #opts: ClientSideOptions;
  readonly #connections = new Set<Connection>();
  readonly #parsers: HTTPParserBinding[] = [];
  readonly #sweep: NodeJS.Timeout;

  constructor(opts: ClientSideOptions) {
    this.#opts = opts;
    this.keepAliveHeaders = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(opts.keepAliveTimeoutMs / 1000)}\r\n`;
    // Half-open allowed, as node:http does (a client's FIN is handled in #onEnd), and no Nagle delay on small answers.
    this.server = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
    this.#sweep = setInterval(() => this.#check(), opts.checkIntervalMs);
    this.#sweep.unref();
  }

  onRequest(req: LeanRequest, res: LeanResponse): void {
    this.#opts.onRequest(req, res);
  }

  onClientError(err: ParseError | NodeJS.ErrnoException, socket: Socket): void {
    this.#opts.onClientError(err, socket);
  }

  onRefused(status: number): void {
    this.#opts.onRefused(status);
  }

  #accept(socket: Socket): void {
    const parser = this.#parsers.pop() ?? new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, this.#opts.maxHeaderBytes, HTTPParser.kLenientNone);
    this.#connections.add(new Connection(this, socket, parser, performance.now()));
  }

  /** @internal a connection closed: its parser is kept for the next one (a few), or closed */
  forget(c: Connection, parser: HTTPParserBinding): void {
    this.#connections.delete(c);
    for (const k of [kOnHeaders, kOnHeadersComplete, kOnBody, kOnMessageComplete, kOnExecute]) parser[k] = null;
    // After the current parse (if any) has returned: the close may come from inside one of its callbacks.
    setImmediate(() => {
      if (this.#parsers.length < 64) {
        parser.free();
        this.#parsers.push(parser);
      } else parser.close();
    });
  }

  #check(): void {
    // Real time, as node:http's timeouts (the parser's own record of when a request began is too).
    const now = performance.now();
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = this.#opts;
    for (const c of this.#connections) {
      c.sweep(now, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs + KEEP_ALIVE_GRACE_MS);
    }
  }

  /** Stop accepting; resolves once the listener is closed (connections are closed by closeAllConnections). */
  close(): Promise<void> {
    clearInterval(this.#sweep);
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  closeAllConnections(): void {
    for (const c of this.#connections) c.socket.destroy();
  }
}
