/**
 * Header rewriting at the proxy, pure. Hop-by-hop headers (RFC 9110 §7.6.1)
 * and any header named in `Connection` are dropped in both directions.
 */

const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * Headers a `Connection` token may never remove: the message's framing
 * (stripping `Content-Length` would forward an empty body, or a truncated
 * response) and `Host`. RFC 9110 §7.6.1 lets a sender nominate only
 * hop-by-hop fields; a client naming these is either confused or probing.
 */
const NEVER_NOMINATED: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * Request headers the balancer replaces or must not forward: the X-Forwarded-*
 * it rewrites, and `Expect` (node:http already answered `100-continue` to the
 * client; undici refuses to send it).
 */
const REWRITTEN_ON_REQUEST: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'expect']);

/** Tokens of all `Connection` header values, lower-cased; null when none names an extra header (the usual case). */
function connectionTokens(values: readonly string[]): Set<string> | null {
  let extra: Set<string> | null = null;
  for (const value of values) {
    if (value === 'keep-alive' || value === 'close') continue; // the usual values: nothing extra to strip
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      if (token === '' || HOP_BY_HOP.has(token) || NEVER_NOMINATED.has(token)) continue;
      (extra ??= new Set()).add(token);
    }
  }
  return extra;
}

export interface ForwardedRequestHeaders {
  /** Flat `[name, value, name, value, …]`, as undici accepts. */
  headers: string[];
  /** The request carries a body (`Transfer-Encoding`, or a `Content-Length` other than 0). */
  hasBody: boolean;
  /**
   * Why the balancer must answer this request itself instead of forwarding it, or null:
   * a protocol switch it cannot proxy (`Upgrade: websocket`, with `upgrade` in `Connection`),
   * or a `Transfer-Encoding` whose last coding is not `chunked` (the body's end would be ambiguous).
   */
  refuse: { status: 400 | 501; code: 'AS_ERR_BAD_REQUEST' | 'AS_ERR_UPGRADE_UNSUPPORTED'; message: string } | null;
}

/** Last coding of a Transfer-Encoding value (`gzip, chunked` -> `chunked`), lower-cased. */
function lastCoding(value: string): string {
  const comma = value.lastIndexOf(',');
  return (comma === -1 ? value : value.slice(comma + 1)).trim().toLowerCase();
}

/**
 * Headers to send to the worker for a request that arrived with `raw`
 * (node's `req.rawHeaders`) from `clientAddress`: hop-by-hop removed,
 * `X-Forwarded-For` extended with the client, `X-Forwarded-Proto: http`,
 * `X-Forwarded-Host` = the Host the client asked for. `Host` itself is kept.
 * `Upgrade: h2c` is dropped like any hop-by-hop header (RFC 9113 §3.1 lets a
 * server ignore it and answer in HTTP/1.1, which is what curl --http2 expects);
 * any other Upgrade asked for with `Connection: upgrade` is refused.
 */
export function forwardRequestHeaders(raw: readonly string[], clientAddress: string | undefined): ForwardedRequestHeaders {
  let connection: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 10 && name.toLowerCase() === 'connection') (connection ??= []).push(raw[i + 1]);
  }
  const extra = connection === null ? null : connectionTokens(connection);

  const headers: string[] = [];
  let hasBody = false;
  let forwardedFor = '';
  let host = '';
  let hostLines = 0;
  let upgrade: string | null = null;
  let refuse: ForwardedRequestHeaders['refuse'] = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (name === 'transfer-encoding') {
      hasBody = true;
      if (lastCoding(value) !== 'chunked') {
        refuse = { status: 400, code: 'AS_ERR_BAD_REQUEST', message: `Transfer-Encoding "${value}" does not end in chunked: the end of the body would be ambiguous` };
      }
      continue;
    }
    if (name === 'upgrade') {
      upgrade = upgrade === null ? value : `${upgrade}, ${value}`;
      continue;
    }
    if (HOP_BY_HOP.has(name) || (extra !== null && extra.has(name))) continue;
    if (REWRITTEN_ON_REQUEST.has(name)) {
      if (name === 'x-forwarded-for') forwardedFor = forwardedFor === '' ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (name === 'content-length') {
      if (value.trim() !== '0') hasBody = true;
    } else if (name === 'host') {
      // RFC 9112 §3.2: more than one Host line is a 400 (which host would the worker see?).
      if (hostLines++ > 0) refuse ??= { status: 400, code: 'AS_ERR_BAD_REQUEST', message: 'more than one Host header: which host is meant is ambiguous' };
      host = value;
    }
    headers.push(raw[i], value);
  }
  if (upgrade !== null && refuse === null && connection !== null && upgrade.trim().toLowerCase() !== 'h2c' && namesUpgrade(connection)) {
    refuse = {
      status: 501,
      code: 'AS_ERR_UPGRADE_UNSUPPORTED',
      message: `the balancer does not proxy protocol upgrades (Upgrade: ${upgrade}); WebSocket needs a worker reached directly`,
    };
  }
  if (clientAddress !== undefined) forwardedFor = forwardedFor === '' ? clientAddress : `${forwardedFor}, ${clientAddress}`;
  if (forwardedFor !== '') headers.push('x-forwarded-for', forwardedFor);
  headers.push('x-forwarded-proto', 'http');
  if (host !== '') headers.push('x-forwarded-host', host);
  return { headers, hasBody, refuse };
}

function namesUpgrade(values: readonly string[]): boolean {
  for (const v of values) for (const part of v.split(',')) if (part.trim().toLowerCase() === 'upgrade') return true;
  return false;
}

/** Lengths of the response header names that may need dropping: only those are lower-cased and looked up. */
const DROP_LENGTHS: ReadonlySet<number> = new Set([...HOP_BY_HOP, 'x-served-by'].map((n) => n.length));

const latin1 = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('latin1'));

/**
 * Headers to send to the client for a worker's response, from undici's raw
 * `[name, value, …]` (Buffers, names as the worker wrote them, repeated
 * headers repeated), hop-by-hop and `Connection`-named ones removed, plus
 * `X-Served-By: <servedBy>`. Flat `[name, value, …]` for `res.writeHead`.
 * Bytes pass through as latin1, so any octet a worker sent arrives unchanged.
 * Only names whose length matches a droppable one are lower-cased.
 */
export function forwardResponseHeaders(raw: ReadonlyArray<Buffer | string>, servedBy: string): string[] {
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    if (n.length === 10 && latin1(n).toLowerCase() === 'connection') {
      const tokens = connectionTokens([latin1(raw[i + 1])]);
      if (tokens !== null) for (const t of tokens) (extra ??= new Set()).add(t);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]);
    if (DROP_LENGTHS.has(name.length) || extra !== null) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || lower === 'x-served-by' || (extra !== null && extra.has(lower))) continue;
    }
    out.push(name, latin1(raw[i + 1]));
  }
  out.push('x-served-by', servedBy);
  return out;
}
