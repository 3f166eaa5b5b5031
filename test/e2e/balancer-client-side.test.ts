/**
 * The lean client side (src/balancer/lean/client-side.ts, the default) against
 * node:http's server (AUTOSCALE_CLIENT_SIDE=node), byte for byte where it
 * matters: the same raw requests, sent to a balancer of each kind in front of
 * the same worker, must get the same answers (status, headers but Date, body,
 * and whether the server closed the connection). Then what the lean side does
 * on its own: answers after a `Connection: close` request, pipelined bytes
 * after an ignored Upgrade, bodies nobody reads, a client that does not read.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Balancer, defaultClientSide, type ClientSideKind } from '../../src/balancer/balancer.js';
import { FIN, rawExchange, sleep, until } from '../helpers.js';

/** A worker with one path per response shape the client side must frame. */
async function worker(t: TestContext): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/health') return void res.end('ok');
    if (url === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    req.resume();
    if (url === '/204') {
      res.writeHead(204, { 'x-kind': 'none' });
      return void res.end();
    }
    if (url === '/304') {
      res.writeHead(304, { etag: '"a"' });
      return void res.end();
    }
    if (url === '/chunked') {
      // No Content-Length: the balancer frames it (chunked for HTTP/1.1, close-delimited for 1.0).
      res.writeHead(200, { 'content-type': 'text/plain', 'x-reason': 'yes' });
      res.write('first,');
      setTimeout(() => res.end('second'), 20);
      return;
    }
    if (url === '/big') {
      const body = Buffer.alloc(1024 * 1024, 'x');
      res.writeHead(200, { 'content-length': body.length });
      return void res.end(body);
    }
    if (url === '/reason') {
      res.writeHead(299, 'Custom Reason', { 'content-length': 2 });
      return void res.end('ok');
    }
    const body = JSON.stringify({ method: req.method, url, host: req.headers.host ?? null });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return server;
}

async function balancer(t: TestContext, port: number, clientSide: ClientSideKind): Promise<Balancer> {
  const b = new Balancer({ host: '127.0.0.1', port: 0, clientSide });
  t.after(() => b.close());
  await b.listen();
  b.addWorker({ id: 1, host: '127.0.0.1', port });
  return b;
}

const exchange = rawExchange;

interface Parsed {
  status: string;
  headers: string[];
  body: string;
}

/** Splits raw HTTP/1.1 responses: status line, headers (lower-cased, sorted, Date's value and the worker's port masked), decoded body. */
function parseResponses(text: string, heads: string[] = []): Parsed[] {
  const out: Parsed[] = [];
  let rest = text;
  let n = 0;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) {
      out.push({ status: 'TRUNCATED', headers: [], body: rest });
      break;
    }
    const [status, ...lines] = rest.slice(0, end).split('\r\n');
    rest = rest.slice(end + 4);
    const headers = lines
      .map((l) => {
        const i = l.indexOf(':');
        const name = l.slice(0, i).toLowerCase();
        const value = l.slice(i + 1).trim();
        return `${name}: ${name === 'date' ? '<date>' : value.replace(/@\d+$/, '@<port>')}`;
      })
      .sort();
    const get = (name: string): string | undefined => headers.find((h) => h.startsWith(`${name}: `))?.slice(name.length + 2);
    const code = Number(status.split(' ')[1]);
    const isHead = heads[n++] === 'HEAD';
    let body = '';
    if (isHead || code === 204 || code === 304 || code < 200) body = '';
    else if (get('content-length') !== undefined) {
      const len = Number(get('content-length'));
      body = rest.slice(0, len);
      rest = rest.slice(len);
    } else if (get('transfer-encoding') === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = lineEnd === -1 ? Number.NaN : parseInt(rest.slice(0, lineEnd), 16);
        if (Number.isNaN(size) || rest.length < lineEnd + 2 + size) {
          body += '<TRUNCATED>';
          rest = '';
          break;
        }
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      body = rest;
      rest = '';
    }
    out.push({ status, headers, body });
  }
  return out;
}

const CASES: Array<{ name: string; parts: string[]; heads?: string[] }> = [
  { name: 'two GETs on one keep-alive connection', parts: ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n'] },
  { name: 'HTTP/1.0 without keep-alive', parts: ['GET /a HTTP/1.0\r\n\r\n'] },
  { name: 'HTTP/1.0 with keep-alive', parts: ['GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'] },
  { name: 'Connection: close', parts: ['GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'] },
  { name: 'HEAD', parts: ['HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n'], heads: ['HEAD'] },
  { name: 'a body of unknown length, HTTP/1.1 (chunked)', parts: ['GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n'] },
  { name: 'a body of unknown length, HTTP/1.0 (until close)', parts: ['GET /chunked HTTP/1.0\r\n\r\n'] },
  { name: '204 and 304 carry no body', parts: ['GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n'] },
  { name: "the worker's reason phrase", parts: ['GET /reason HTTP/1.1\r\nHost: x\r\n\r\n'] },
  { name: 'a Content-Length body', parts: ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'] },
  { name: 'a chunked body in pieces', parts: ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', '2\r\nde\r\n0\r\n\r\n'] },
  { name: 'Expect: 100-continue', parts: ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n', 'abc'] },
  { name: 'an expectation nobody meets -> 417', parts: ['GET /a HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n'] },
  { name: 'HTTP/1.1 without Host -> 400', parts: ['GET /a HTTP/1.1\r\n\r\n'] },
  { name: 'three pipelined GETs, answered in order', parts: ['GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n'] },
  { name: 'Content-Length with Transfer-Encoding (smuggling) -> 400', parts: ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'] },
  { name: 'two Content-Lengths -> 400', parts: ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'] },
  { name: 'a bare LF in a header -> 400', parts: ['GET /a HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n'] },
  { name: 'garbage -> 400', parts: ['HELLO\r\n\r\n'] },
  { name: 'an absolute-form target', parts: ['GET http://x/abs HTTP/1.1\r\nHost: x\r\n\r\n'] },
  { name: 'oversized headers -> 431', parts: [`GET /a HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`] },
  { name: 'Upgrade: websocket -> 501', parts: ['GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'] },
  { name: 'CONNECT -> closed without an answer', parts: ['CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n'] },
  { name: 'a request cut short by FIN', parts: ['POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', FIN] },
  { name: 'FIN after a whole request', parts: ['GET /a?delay HTTP/1.1\r\nHost: x\r\n\r\n', FIN] },
];

test('the lean client side answers every case as node:http does', async (t) => {
  const w = await worker(t);
  const port = (w.address() as AddressInfo).port;
  const lean = await balancer(t, port, 'lean');
  const node = await balancer(t, port, 'node');
  for (const c of CASES) {
    const [a, b] = await Promise.all([exchange(lean.port, c.parts), exchange(node.port, c.parts)]);
    assert.deepEqual(parseResponses(a.text, c.heads), parseResponses(b.text, c.heads), `${c.name}: lean vs node:http\n--- lean\n${a.text}\n--- node\n${b.text}`);
    assert.equal(a.closedByServer, b.closedByServer, `${c.name}: closed by the server (lean ${a.closedByServer}, node:http ${b.closedByServer})`);
  }
  assert.equal(lean.traffic().inFlight, 0);
  assert.equal(lean.traffic().rejected, node.traffic().rejected + 2, 'the lean side also counts its own 400 (no Host) and 417 as refused');
});

test('the default client side is lean; AUTOSCALE_CLIENT_SIDE=node switches back; anything else is refused', () => {
  assert.equal(defaultClientSide({}), 'lean');
  assert.equal(defaultClientSide({ AUTOSCALE_CLIENT_SIDE: 'node' }), 'node');
  assert.throws(() => defaultClientSide({ AUTOSCALE_CLIENT_SIDE: 'nginx' }), /expected one of lean, node, received "nginx"/);
});

test('lean: bytes after a Connection: close request are ignored, and the answer owed still arrives', async (t) => {
  const w = await worker(t);
  const b = await balancer(t, (w.address() as AddressInfo).port, 'lean');
  const { text, closedByServer } = await exchange(b.port, ['GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n']);
  const rs = parseResponses(text);
  assert.equal(rs.length, 1, text);
  assert.match(rs[0].status, /^HTTP\/1\.1 200/);
  assert.equal(JSON.parse(rs[0].body).url, '/a');
  assert.ok(closedByServer);
});

test('lean: a request pipelined after an h2c Upgrade (served as HTTP/1.1) is served too', async (t) => {
  const w = await worker(t);
  const b = await balancer(t, (w.address() as AddressInfo).port, 'lean');
  const { text } = await exchange(b.port, ['GET /a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.deepEqual(
    parseResponses(text).map((r) => JSON.parse(r.body).url),
    ['/a', '/b'],
  );
});

test('lean: a body nobody reads (the balancer answered first) is dropped and the connection goes on', async (t) => {
  const w = await worker(t);
  const b = await balancer(t, (w.address() as AddressInfo).port, 'lean');
  await b.removeWorker(1); // no worker: 503 at once, before the body
  const body = 'x'.repeat(200_000);
  const { text } = await exchange(b.port, [`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`, body, 'GET /after HTTP/1.1\r\nHost: x\r\n\r\n'], 1500);
  const rs = parseResponses(text);
  assert.deepEqual(
    rs.map((r) => r.status.split(' ')[1]),
    ['503', '503'],
    text.slice(0, 400),
  );
});

test('lean: a client that pipelines and never reads its answers: closing it frees everything', async (t) => {
  const w = await worker(t);
  const b = await balancer(t, (w.address() as AddressInfo).port, 'lean');
  const c = connect(b.port, '127.0.0.1');
  c.on('error', () => {});
  await once(c, 'connect');
  c.pause(); // never reads
  // 8 answers of 1 MiB: far more than the socket buffers hold, so responses wait in the balancer.
  c.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(8));
  await until('answers waiting for the client', () => b.traffic().inFlight > 0, 3000);
  await sleep(300);
  assert.ok(b.traffic().inFlight > 0, 'the client read nothing, yet every answer went out');
  c.destroy();
  await until('nothing in flight', () => b.traffic().inFlight === 0, 3000);
});

for (const kind of ['lean', 'node'] as const) {
  test(`${kind}: timeouts: a silent connection gets 408, a second head trickled too long is cut, an idle one closes after keep-alive + 1 s`, async (t) => {
    const w = await worker(t);
    const b = new Balancer({ host: '127.0.0.1', port: 0, clientSide: kind, headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300 });
    t.after(() => b.close());
    await b.listen();
    b.addWorker({ id: 1, host: '127.0.0.1', port: (w.address() as AddressInfo).port });
    const t0 = performance.now();
    const [silent, trickled, idle] = await Promise.all([
      exchange(b.port, [], 5000),
      // A first request answered, then a second whose head never ends: no 408 over an answered connection, just a close.
      exchange(b.port, ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\n', ...Array.from({ length: 40 }, () => 'X-A: b\r\n')], 5000, 100),
      exchange(b.port, ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n'], 5000),
    ]);
    const elapsed = performance.now() - t0;
    assert.ok(silent.closedByServer && trickled.closedByServer && idle.closedByServer, 'every connection closed by the server');
    assert.match(silent.text, /^HTTP\/1\.1 408 /);
    assert.deepEqual(
      parseResponses(trickled.text).map((r) => r.status),
      ['HTTP/1.1 200 OK'],
    );
    assert.deepEqual(
      parseResponses(idle.text).map((r) => r.status),
      ['HTTP/1.1 200 OK'],
    );
    assert.ok(elapsed < 4000, `all three closed within ${elapsed.toFixed(0)} ms`);
  });
}
