/**
 * The lean upstream path (the default; AUTOSCALE_UPSTREAM=undici for comparison): the strict response
 * parser, table-driven and fed at every split point, then the pool behind a
 * real balancer against raw TCP "workers" that answer exactly the bytes a
 * case needs: strict refusal (502, connection closed), keep-alive reuse,
 * Connection: close, the body timeout (504 before headers are sent; a cut
 * response after).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Balancer, defaultUpstream } from '../../src/balancer/balancer.js';
import { ResponseParser, type ResponseHead } from '../../src/balancer/lean/response-parser.js';

interface Parsed {
  heads: Array<{ status: number; reason: string; headers: string[]; keepAlive: boolean }>;
  body: string;
  ends: number;
}

/** Parse `bytes` fed in two pieces split at `at` (or whole). */
function parse(bytes: string, method = 'GET', at?: number): Parsed {
  const out: Parsed = { heads: [], body: '', ends: 0 };
  const p = new ResponseParser({
    head: (h: ResponseHead) => out.heads.push({ status: h.status, reason: h.reason, headers: [...h.rawHeaders], keepAlive: h.keepAlive }),
    body: (b, start, end) => (out.body += b.toString('latin1', start, end)),
    end: () => out.ends++,
  });
  p.expect(method);
  const buf = Buffer.from(bytes, 'latin1');
  if (at === undefined) p.feed(buf);
  else {
    p.feed(buf.subarray(0, at));
    p.feed(buf.subarray(at));
  }
  return out;
}

const GOOD: Array<{ name: string; bytes: string; method?: string; status: number; body: string; keepAlive?: boolean }> = [
  { name: 'Content-Length', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', status: 200, body: 'hello' },
  { name: 'chunked, with an extension and a trailer', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n', status: 200, body: 'hello!' },
  { name: 'empty reason phrase', bytes: 'HTTP/1.1 404 \r\ncontent-length: 0\r\n\r\n', status: 404, body: '' },
  { name: '204 has no body', bytes: 'HTTP/1.1 204 No Content\r\n\r\n', status: 204, body: '' },
  { name: 'HEAD: Content-Length names the GET body', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', method: 'HEAD', status: 200, body: '' },
  { name: '100 Continue before the final response', bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', status: 201, body: 'ok' },
  { name: 'Connection: close', bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x', keepAlive: false },
  { name: 'same Content-Length twice', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx', status: 200, body: 'x' },
];

for (const c of GOOD) {
  test(`parser accepts: ${c.name} (at every split point)`, () => {
    for (let at = 0; at <= c.bytes.length; at++) {
      const r = parse(c.bytes, c.method, at);
      assert.equal(r.heads.length, 1, `split at ${at}`);
      assert.equal(r.heads[0].status, c.status);
      assert.equal(r.heads[0].keepAlive, c.keepAlive ?? true);
      assert.equal(r.body, c.body, `split at ${at}`);
      assert.equal(r.ends, 1, `split at ${at}`);
    }
  });
}

const BAD: Array<{ name: string; bytes: string }> = [
  { name: 'HTTP/1.0', bytes: 'HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n' },
  { name: 'a garbage status line', bytes: 'HTTP/1.1 2000 OK\r\n\r\n' },
  { name: 'no framing (read until close)', bytes: 'HTTP/1.1 200 OK\r\n\r\nhello' },
  { name: 'two different Content-Lengths', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx' },
  { name: 'a Content-Length list', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx' },
  { name: 'Content-Length and chunked', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' },
  { name: 'gzip, chunked', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' },
  { name: 'obs-fold', bytes: 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n' },
  { name: 'space before the colon', bytes: 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n' },
  { name: 'bare LF inside the head', bytes: 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n' },
  { name: 'a chunk size that is not hex', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' },
  { name: 'chunk data without its CRLF', bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n' },
  { name: 'bytes after the response', bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n' },
  { name: '101 Switching Protocols', bytes: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n' },
  { name: 'a head over 16 KiB', bytes: `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\nContent-Length: 0\r\n\r\n` },
];

for (const c of BAD) {
  test(`parser refuses: ${c.name} (AS_UPSTREAM_BAD_RESPONSE, at every split point)`, () => {
    const step = Math.max(1, Math.floor(c.bytes.length / 200));
    for (let at = 0; at <= c.bytes.length; at += step) {
      assert.throws(() => parse(c.bytes, 'GET', at), (err: { code?: string }) => err.code === 'AS_UPSTREAM_BAD_RESPONSE', `split at ${at}`);
    }
  });
}

test('parser: a close inside a response is an error, a close between responses is not', () => {
  const p = new ResponseParser({ head: () => {}, body: () => {}, end: () => {} });
  p.expect('GET');
  p.closed();
  p.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe'));
  assert.throws(() => p.closed(), (err: { code?: string }) => err.code === 'AS_UPSTREAM_BAD_RESPONSE');
});

/** A raw TCP worker: `answer(socket, request)` writes whatever bytes the case needs; counts connections and requests. */
async function rawWorker(t: TestContext, answer: (s: Socket, n: number) => void): Promise<{ port: number; connections: () => number; requests: () => number }> {
  let connections = 0;
  let requests = 0;
  const server = createServer((s) => {
    connections++;
    s.on('error', () => {});
    let buf = '';
    s.setEncoding('latin1').on('data', (d: string) => {
      buf += d;
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        buf = buf.slice(end + 4);
        answer(s, ++requests);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, connections: () => connections, requests: () => requests };
}

async function leanBalancer(t: TestContext, port: number, upstreamTimeoutMs = 30_000): Promise<Balancer> {
  const b = new Balancer({ host: '127.0.0.1', port: 0, upstream: 'lean', upstreamTimeoutMs });
  t.after(() => b.close());
  await b.listen();
  b.addWorker({ id: 1, host: '127.0.0.1', port });
  return b;
}

function get(url: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('latin1').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    req.end();
  });
}

test('lean: keep-alive connections are reused; Connection: close is honoured', async (t) => {
  const w = await rawWorker(t, (s, n) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(n).length}\r\n${n === 3 ? 'Connection: close\r\n' : ''}\r\n${n}`));
  const b = await leanBalancer(t, w.port);
  for (let i = 1; i <= 5; i++) {
    const r = await get(`${b.url}/`);
    assert.deepEqual([r.status, r.body], [200, String(i)]);
  }
  // Requests 1-3 on the first connection (closed after 3), 4-5 on a second one.
  assert.equal(w.connections(), 2);
});

test('lean: a response the parser refuses is a 502 and its connection is closed, never reused', async (t) => {
  const w = await rawWorker(t, (s, n) => s.write(n === 1 ? 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const b = await leanBalancer(t, w.port);
  const bad = await get(`${b.url}/`);
  assert.equal(bad.status, 502);
  assert.match(bad.body, /AS_ERR_TARGET_UNREACHABLE.*|AS_UPSTREAM_BAD_RESPONSE/);
  const good = await get(`${b.url}/`);
  assert.deepEqual([good.status, good.body], [200, 'ok']);
  assert.equal(w.connections(), 2);
});

test('lean: a body that stalls past the upstream timeout cuts the response; headers that never come are a 504', async (t) => {
  const stall = await rawWorker(t, (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  const b = await leanBalancer(t, stall.port, 300);
  const r = await get(`${b.url}/`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'abc');
  assert.ok(r.error !== undefined, 'the client sees the response cut short');
  const silent = await rawWorker(t, () => {});
  const b2 = await leanBalancer(t, silent.port, 300);
  const r2 = await get(`${b2.url}/`);
  assert.equal(r2.status, 504);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(b2.traffic().inFlight, 0);
});

test('the upstream path: lean by default, AUTOSCALE_UPSTREAM=undici for comparison, anything else refused', () => {
  assert.equal(defaultUpstream({}), 'lean');
  assert.equal(defaultUpstream({ AUTOSCALE_UPSTREAM: '' }), 'lean');
  assert.equal(defaultUpstream({ AUTOSCALE_UPSTREAM: 'lean' }), 'lean');
  assert.equal(defaultUpstream({ AUTOSCALE_UPSTREAM: 'undici' }), 'undici');
  assert.throws(() => defaultUpstream({ AUTOSCALE_UPSTREAM: 'fast' }), (err: { code?: string }) => err.code === 'AS_ERR_INTERNAL');
  assert.throws(() => new Balancer({ host: '127.0.0.1', port: 0, upstream: 'h2' as never }), (err: { code?: string }) => err.code === 'AS_ERR_INTERNAL');
});

test('lean: a worker that closes inside a response body cuts the client response (never completed, never waits for a timeout)', { timeout: 10_000 }, async (t) => {
  const w = await rawWorker(t, (s, n) => {
    if (n === 1) {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      setTimeout(() => s.destroy(), 50);
    } else {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
  const b = await leanBalancer(t, w.port);
  const started = Date.now();
  const cut = await get(`${b.url}/`);
  assert.equal(cut.status, 200);
  assert.equal(cut.body, 'abc');
  assert.ok(cut.error !== undefined, 'the client sees the response cut short');
  assert.ok(Date.now() - started < 5000, 'cut when the worker closed, not at the 30 s upstream timeout');
  const next = await get(`${b.url}/`);
  assert.deepEqual([next.status, next.body], [200, 'ok']);
  assert.equal(w.connections(), 2, 'the closed connection is not reused');
});

test('lean: a worker that closes before answering a POST is a 502 (not retried: the request is not idempotent)', { timeout: 10_000 }, async (t) => {
  const w = await rawWorker(t, (s) => s.destroy());
  const b = await leanBalancer(t, w.port);
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${b.url}/`, { method: 'POST', agent: false, headers: { 'content-length': '0' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(r.status, 502);
  assert.match(r.body, /AS_UPSTREAM_SOCKET_CLOSED/);
  assert.equal(w.requests(), 1);
});

test('lean: a bad chunk size after the headers went out cuts the response and closes that connection', { timeout: 10_000 }, async (t) => {
  const w = await rawWorker(t, (s, n) => {
    if (n === 1) {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      setTimeout(() => s.write('zz\r\n'), 100);
    } else {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    }
  });
  const b = await leanBalancer(t, w.port);
  const cut = await get(`${b.url}/`);
  assert.deepEqual([cut.status, cut.body], [200, 'abc']);
  assert.ok(cut.error !== undefined, 'the client sees the response cut short');
  const next = await get(`${b.url}/`);
  assert.deepEqual([next.status, next.body], [200, 'ok']);
  assert.equal(w.connections(), 2, 'the connection that sent garbage is not reused');
});

test('lean: a head split across reads survives other connections reading into the shared buffer meanwhile', { timeout: 10_000 }, async (t) => {
  const head = 'HTTP/1.1 200 OK\r\nX-Which: first-response\r\nContent-Length: 5\r\n\r\n';
  const w = await rawWorker(t, (s, n) => {
    if (n === 1) {
      s.write(head.slice(0, 30));
      setTimeout(() => s.write(`${head.slice(30)}first`), 300);
    } else {
      // Same length as the first head, different bytes: lands in the read buffer while the first head waits.
      s.write('HTTP/1.1 201 OK\r\nX-Which: other-response\r\nContent-Length: 5\r\n\r\nother');
    }
  });
  const b = await leanBalancer(t, w.port);
  const first = get(`${b.url}/`);
  await new Promise((r) => setTimeout(r, 100));
  const second = await get(`${b.url}/`);
  assert.deepEqual([second.status, second.body], [201, 'other']);
  const r = await first;
  assert.deepEqual([r.status, r.body], [200, 'first']);
});

test('lean: a large body through a slow client arrives intact (body bytes are not views into the reused read buffer)', { timeout: 20_000 }, async (t) => {
  const size = 8 * 1024 * 1024;
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 11)) & 0xff;
  const w = await rawWorker(t, (s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
    s.write(body);
  });
  // A second worker keeps reads landing in the shared buffer while the first response sits in queues.
  // Its answers fill the whole read buffer, so a queued view into it would be overwritten.
  const filler = 'z'.repeat(60_000);
  const chatter = await rawWorker(t, (s) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${filler.length}\r\n\r\n${filler}`));
  const b = await leanBalancer(t, w.port);
  const b2 = await leanBalancer(t, chatter.port);
  const got = await new Promise<Buffer>((resolve, reject) => {
    const req = request(`${b.url}/`, { agent: false }, (res) => {
      res.pause();
      const parts: Buffer[] = [];
      // While this client reads nothing, other responses pass through the same process's read buffer.
      void (async () => {
        await new Promise((r) => setTimeout(r, 200));
        for (let i = 0; i < 20; i++) assert.equal((await get(`${b2.url}/`)).body, filler);
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.resume();
      })().catch(reject);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(got.length, size);
  assert.ok(got.equals(body), 'every byte as the worker sent it');
});

test('lean: a kept-alive connection the worker closed as it was reused: the GET goes out once more on a fresh one, the worker stays in rotation', { timeout: 10_000 }, async (t) => {
  const w = await rawWorker(t, (s, n) => {
    if (n === 2) s.destroy(); // the idle-close race: the worker drops the connection instead of answering
    else s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(n).length}\r\n\r\n${n}`);
  });
  const b = await leanBalancer(t, w.port);
  const ejected: unknown[] = [];
  b.on('upstream-error', (e) => ejected.push(e));
  assert.deepEqual([(await get(`${b.url}/`)).body, (await get(`${b.url}/`)).body], ['1', '3']);
  assert.deepEqual(ejected, []);
  assert.equal(b.readyCount(), 1);
  assert.equal(w.connections(), 2);
});

test('a worker that answers before the request body is complete: the client gets the answer and its connection closes (a trickling body does not hold it open)', { timeout: 15_000 }, async (t) => {
  for (const upstream of ['lean', 'undici'] as const) {
    const w = await rawWorker(t, (s) => s.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nnope'));
    const b = new Balancer({ host: '127.0.0.1', port: 0, upstream });
    t.after(() => b.close());
    await b.listen();
    b.addWorker({ id: 1, host: '127.0.0.1', port: w.port });
    const sock = connect(b.port, '127.0.0.1');
    t.after(() => sock.destroy());
    let text = '';
    sock.setEncoding('latin1').on('data', (d: string) => (text += d));
    sock.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nfirst bytes');
    const drip = setInterval(() => sock.write('x'), 100);
    t.after(() => clearInterval(drip));
    const started = Date.now();
    await once(sock, 'close');
    clearInterval(drip);
    assert.match(text, /^HTTP\/1\.1 413 /, upstream);
    assert.match(text, /\r\nconnection: close\r\n/i, upstream);
    assert.ok(text.endsWith('nope'), upstream);
    assert.ok(Date.now() - started < 5000, `${upstream}: closed after ${Date.now() - started} ms`);
  }
});
