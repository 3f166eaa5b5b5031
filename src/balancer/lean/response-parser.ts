/**
 * A strict, incremental HTTP/1.1 response parser for the one hop from the
 * balancer to a worker we wrote (Express on node:http). It accepts what such
 * a worker sends and nothing else: an `HTTP/1.1` status line, headers without
 * obs-fold or bare CR/LF, a body framed by one `Content-Length` or by
 * `Transfer-Encoding: chunked`, or no body (HEAD, 204, 304, 1xx). Anything
 * else (read-until-close bodies, two different lengths, chunked after other
 * codings, a head over 16 KiB, a chunk size that is not hex) throws a
 * ResponseParseError: the caller answers 502 and closes the connection,
 * never guesses. Body bytes are handed on as ranges of the input (no copy,
 * no re-encoding; the caller copies what it keeps beyond the call, since the
 * input may be a read buffer that the next read overwrites); chunked framing
 * is removed (node:http on the client side frames the response again). The
 * parser itself keeps no view of an input past `feed` (an unfinished head or
 * chunk line is copied).
 */

import { UPSTREAM_ERROR_CODES } from '../../errors.js';

export class ResponseParseError extends Error {
  readonly code = UPSTREAM_ERROR_CODES.badResponse;
  constructor(message: string) {
    super(`malformed response from the worker: ${message}`);
    this.name = 'ResponseParseError';
  }
}

export interface ResponseHead {
  status: number;
  reason: string;
  /** `[name, value, name, value, …]` as received (latin1 strings: every octet kept; values trimmed of SP/HTAB). */
  rawHeaders: string[];
  /** The worker keeps the connection open after this response. */
  keepAlive: boolean;
}

export interface ParserSink {
  /** A final (non-1xx) response head. */
  head(h: ResponseHead): void;
  /**
   * Body bytes `buf[start, end)` of the input, valid only during the call (no view is made:
   * the sink copies what it keeps). `last`: these bytes complete a Content-Length body, and
   * end() follows at once.
   */
  body(buf: Buffer, start: number, end: number, last: boolean): void;
  /** The response is complete. */
  end(): void;
}

/** Largest response head accepted (node's own default limit for headers). */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Largest chunk-size line (hex digits plus extensions). */
const MAX_CHUNK_LINE = 1024;

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL.
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/**
 * The same rule for a whole head at once (one scan instead of one per value): a control
 * character other than HTAB, or a CR or LF that is not part of a CRLF line end.
 */
// eslint-disable-next-line no-control-regex
const BAD_HEAD = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;
const STATUS_LINE = /^HTTP\/1\.1 [1-9]\d\d(?: [\t\x20-\x7e\x80-\xff]*)?$/;

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-data-crlf' | 'trailers' | 'done';

export class ResponseParser {
  readonly #sink: ParserSink;
  #state: State = 'head';
  #pending: Buffer | null = null;
  #remaining = 0;
  /** The request was HEAD: no body whatever the headers say. */
  #noBody = false;

  constructor(sink: ParserSink) {
    this.#sink = sink;
  }

  /** Ready for the next response on a kept-alive connection. */
  expect(method: string): void {
    if (this.#state !== 'head' && this.#state !== 'done') throw new ResponseParseError('a new request while a response is still being read');
    this.#state = 'head';
    this.#noBody = method === 'HEAD';
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Between responses: nothing read of the next one yet. */
  get idle(): boolean {
    return (this.#state === 'head' || this.#state === 'done') && this.#pending === null;
  }

  /** Feed bytes from the socket; throws ResponseParseError on anything unexpected, including bytes after a complete response. */
  feed(input: Buffer, length = input.length): void {
    let buf = input;
    let n = length;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, input.subarray(0, length)]);
      n = buf.length;
      this.#pending = null;
    }
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case 'done':
          throw new ResponseParseError('bytes after the end of the response');
        case 'head': {
          const end = buf.indexOf(CRLFCRLF, i);
          if (end === -1 || end + 4 > n) {
            if (n - i > MAX_HEAD_BYTES) throw new ResponseParseError(`head larger than ${MAX_HEAD_BYTES} bytes`);
            this.#keep(buf, i, n);
            return;
          }
          if (end - i > MAX_HEAD_BYTES) throw new ResponseParseError(`head larger than ${MAX_HEAD_BYTES} bytes`);
          this.#head(buf.toString('latin1', i, end));
          i = end + 4;
          break;
        }
        case 'length': {
          const take = Math.min(this.#remaining, n - i);
          const from = i;
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            this.#state = 'done';
            this.#sink.body(buf, from, i, true);
            this.#sink.end();
          } else {
            this.#sink.body(buf, from, i, false);
          }
          break;
        }
        case 'chunk-size': {
          const end = buf.indexOf(CRLF, i);
          if (end === -1 || end + 2 > n) {
            if (n - i > MAX_CHUNK_LINE) throw new ResponseParseError('chunk size line too long');
            this.#keep(buf, i, n);
            return;
          }
          const line = buf.toString('latin1', i, end);
          const semi = line.indexOf(';');
          const hex = semi === -1 ? line : line.slice(0, semi);
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw new ResponseParseError(`chunk size ${JSON.stringify(hex)} is not hexadecimal`);
          const size = parseInt(hex, 16);
          i = end + 2;
          if (size === 0) {
            this.#state = 'trailers';
          } else {
            this.#remaining = size;
            this.#state = 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.#remaining, n - i);
          const from = i;
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = 'chunk-data-crlf';
          this.#sink.body(buf, from, i, false);
          break;
        }
        case 'chunk-data-crlf': {
          if (n - i < 2) {
            this.#keep(buf, i, n);
            return;
          }
          if (buf[i] !== 13 || buf[i + 1] !== 10) throw new ResponseParseError('chunk data not followed by CRLF');
          i += 2;
          this.#state = 'chunk-size';
          break;
        }
        case 'trailers': {
          // Trailer fields are dropped (node:http sends none unless asked); the section ends with an empty line.
          const end = buf.indexOf(CRLF, i);
          if (end === -1 || end + 2 > n) {
            if (n - i > MAX_HEAD_BYTES) throw new ResponseParseError('trailers too large');
            this.#keep(buf, i, n);
            return;
          }
          const line = buf.toString('latin1', i, end);
          i = end + 2;
          if (line === '') {
            this.#state = 'done';
            this.#sink.end();
          } else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(line) || BAD_VALUE.test(line)) {
            throw new ResponseParseError('malformed trailer line');
          }
          break;
        }
      }
    }
  }

  /** The connection closed: fine between responses, an error inside one. */
  closed(): void {
    if (this.#state === 'done' || (this.#state === 'head' && this.#pending === null)) return;
    throw new ResponseParseError('connection closed in the middle of a response');
  }

  /** Keep the unread rest of `buf` for the next feed, as a copy (`buf` may be a reused read buffer). */
  #keep(buf: Buffer, from: number, to: number): void {
    this.#pending = Buffer.from(buf.subarray(from, to));
  }

  /** `text`: the head as latin1 (every octet one char), without its final CRLFCRLF. */
  #head(text: string): void {
    const n = text.length;
    const eol = text.indexOf('\r\n');
    const statusLine = eol === -1 ? text : text.slice(0, eol);
    if (!STATUS_LINE.test(statusLine)) throw new ResponseParseError(`status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    // "HTTP/1.1 " is 9 characters; the code is the 3 digits after it, the reason whatever follows its space.
    const status = (text.charCodeAt(9) - 48) * 100 + (text.charCodeAt(10) - 48) * 10 + (text.charCodeAt(11) - 48);
    const reason = statusLine.length > 13 ? statusLine.slice(13) : '';
    if (BAD_HEAD.test(text)) throw new ResponseParseError('a control character, or a bare CR or LF, in the head');
    const rawHeaders: string[] = [];
    let length: number | null = null;
    let chunked = false;
    let close = false;
    for (let pos = eol === -1 ? n : eol + 2; pos < n; ) {
      let end = text.indexOf('\r\n', pos);
      if (end === -1) end = n;
      const colon = text.indexOf(':', pos);
      if (colon <= pos || colon >= end) throw new ResponseParseError(`header line ${JSON.stringify(text.slice(pos, Math.min(end, pos + 80)))}`);
      const name = text.slice(pos, colon);
      if (!TOKEN.test(name)) throw new ResponseParseError(`header name ${JSON.stringify(name.slice(0, 80))}`);
      // The value without the optional whitespace around it (SP and HTAB only).
      let a = colon + 1;
      let b = end;
      while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
      while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
      const value = text.slice(a, b);
      pos = end + 2;
      const lower = name.length === 14 || name.length === 17 || name.length === 10 ? name.toLowerCase() : '';
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) throw new ResponseParseError(`Content-Length ${JSON.stringify(value)}`);
        const len = Number(value);
        if (length !== null && length !== len) throw new ResponseParseError('two different Content-Length values');
        length = len;
      } else if (lower === 'transfer-encoding') {
        if (value.toLowerCase() !== 'chunked' || chunked) throw new ResponseParseError(`Transfer-Encoding ${JSON.stringify(value)}`);
        chunked = true;
      } else if (lower === 'connection') {
        for (const token of value.toLowerCase().split(',')) if (token.trim() === 'close') close = true;
      }
      rawHeaders.push(name, value);
    }
    if (chunked && length !== null) throw new ResponseParseError('both Content-Length and Transfer-Encoding');
    if (status < 200) {
      if (status === 101) throw new ResponseParseError('101 Switching Protocols on a proxied request');
      // 1xx (100 Continue, 103 Early Hints): skipped; the final response follows.
      return;
    }
    const bodiless = this.#noBody || status === 204 || status === 304;
    if (!bodiless && !chunked && length === null) throw new ResponseParseError('neither Content-Length nor chunked framing (a read-until-close body)');
    this.#sink.head({ status, reason, rawHeaders, keepAlive: !close });
    if (bodiless || length === 0) {
      this.#state = 'done';
      this.#sink.end();
    } else if (chunked) {
      this.#state = 'chunk-size';
    } else {
      this.#remaining = length as number;
      this.#state = 'length';
    }
  }
}
