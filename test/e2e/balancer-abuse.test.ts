/**
 * The balancer under malformed, hostile or unlucky traffic: framing headers
 * named in `Connection`, request smuggling, oversized headers, slow clients,
 * Upgrade requests, a queue for pooled connections, an outage. Raw sockets
 * where node's own HTTP client would refuse to send the bytes.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type OutgoingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Balancer, type BalancerOptions } from '../../src/balancer/balancer.js';
import { startFakeWorker, type FakeWorker } from '../fixtures/balancer-fake-worker.js';
import { rawExchange } from '../helpers.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

function send(url: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {}): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function setup(t: TestContext, n: number, opts: Partial<BalancerOptions> = {}): Promise<{ b: Balancer; ws: FakeWorker[] }> {
  const ws: FakeWorker[] = [];
  for (let i = 1; i <= n; i++) ws.push(await startFakeWorker(i));
  const b = new Balancer({ host: '127.0.0.1', port: 0, ...opts });
  t.after(async () => {
    await b.close();
    await Promise.all(ws.map((w) => w.close()));
  });
  await b.listen();
  for (const w of ws) b.addWorker({ id: w.id, host: '127.0.0.1', port: w.port });
  return { b, ws };
}

/** Write `data` on a fresh connection; resolve with everything read until the server closes it (or `ms` passes). */
const raw = (port: number, data: string, ms = 2000): Promise<{ text: string; closedByServer: boolean }> => rawExchange(port, [data], ms);

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test('Connection: content-length keeps the body and its framing; such a PUT is still not retried', async (t) => {
  const { b, ws } = await setup(t, 1);
  const r = await send(`${b.url}/echo`, { method: 'PUT', headers: { Connection: 'content-length, transfer-encoding, host', 'Content-Length': '7' }, body: 'payload' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'payload', 'the worker got the whole body');
  assert.equal(ws[0].lastHeaders?.['content-length'], '7');
  assert.equal(ws[0].lastHeaders?.host, `127.0.0.1:${b.port}`);

  // A PUT with a body to a dead worker: 502, never replayed on the live one (its body was already consumed).
  const dead = await closedPort();
  await b.removeWorker(1);
  b.addWorker({ id: 9, host: '127.0.0.1', port: dead });
  b.addWorker({ id: 1, host: '127.0.0.1', port: ws[0].port });
  const before = ws[0].requests;
  const put = await send(`${b.url}/echo`, { method: 'PUT', headers: { Connection: 'content-length', 'Content-Length': '7' }, body: 'payload' });
  assert.equal(put.status, 502);
  assert.equal(ws[0].requests, before, 'the PUT was retried on the other worker');
});

test('504 is an upper bound that includes the wait for a pooled connection', async (t) => {
  const { b } = await setup(t, 1, { upstreamTimeoutMs: 1000, connectionsPerWorker: 1 });
  const first = send(`${b.url}/?delay=8000`);
  await new Promise((r) => setTimeout(r, 100));
  const queued = await send(`${b.url}/?delay=8000`); // waits for the only connection, which the first holds
  assert.equal(queued.status, 504);
  assert.equal(JSON.parse(queued.body).code, 'AS_ERR_UPSTREAM_TIMEOUT');
  // Without the queue time it would take ~1000 ms queued + 1000 ms on the wire.
  assert.ok(queued.ms >= 900 && queued.ms < 1800, `queued request answered after ${queued.ms.toFixed(0)} ms`);
  assert.equal((await first).status, 504);
  const s = b.traffic();
  assert.equal(s.errors, 2);
  assert.equal(s.inFlight, 0);
  assert.equal(s.workers[0].inFlight, 0);
});

test("the balancer's own 503s are errors, not served requests: RPS, RPM, totals and latency leave them out", async (t) => {
  let clock = 5_000;
  const { b, ws } = await setup(t, 1, { now: () => clock });
  const served = send(`${b.url}/?delay=300`);
  while (ws[0].inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  clock = 5_200; // the one served request takes 200 ms on the injected clock
  assert.equal((await served).status, 200);
  await b.removeWorker(1);
  for (let i = 0; i < 20; i++) assert.equal((await send(`${b.url}/`)).status, 503);
  clock = 6_000;
  const s = b.traffic();
  assert.equal(s.total, 1, 'total counts served requests only');
  assert.equal(s.errors, 20);
  assert.equal(s.rps, 1);
  assert.equal(s.rpm, 1);
  assert.equal(b.latency.totalCount, 1, 'only the served request is in the latency histogram');
  const p95 = b.latency.getValueAtPercentile(95) / 1000;
  assert.ok(p95 >= 199, `p95 ${p95} ms: the outage's instant 503s pulled it down`);
  assert.equal(ws[0].requests, 1);
});

test('passive ejection and the way back are both reported', async (t) => {
  const { b } = await setup(t, 1, { health: { intervalMs: 100, timeoutMs: 80, healthyThreshold: 2, unhealthyThreshold: 3 } });
  const events: Array<{ type: string; id: number; code?: string }> = [];
  b.on('upstream-error', (e: { id: number; code: string }) => events.push({ type: 'ejected', ...e }));
  b.on('upstream-restored', (e: { id: number }) => events.push({ type: 'restored', ...e }));
  // A worker that refuses the first connection and listens afterwards (a restart on the same port).
  const port = await closedPort();
  b.addWorker({ id: 7, host: '127.0.0.1', port });
  for (let i = 0; i < 2; i++) await send(`${b.url}/`);
  assert.deepEqual(events, [{ type: 'ejected', id: 7, code: 'ECONNREFUSED', port }]);
  const late = createServer((_req, res) => res.end('ok'));
  late.listen(port, '127.0.0.1');
  await once(late, 'listening');
  t.after(() => {
    late.closeAllConnections();
    late.close();
  });
  const deadline = Date.now() + 5000;
  while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(events[1], { type: 'restored', id: 7, port });
  assert.equal(b.readyCount(), 2);
});

test('request smuggling attempts are rejected at the balancer and never reach a worker', async (t) => {
  const { b, ws } = await setup(t, 1);
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  const attempts: Record<string, string> = {
    'CL + TE': `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'TE + CL': `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n${smuggled}`,
    'duplicate CL (same)': `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello${smuggled}`,
    'duplicate CL (different)': `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    'CL list': `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 5\r\n\r\nhello`,
    'obs-fold': `GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n`,
    'obs-fold TE': `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'TE not chunked': `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'TE chunked, identity': `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
    'space before colon': `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${smuggled}`,
    'bare LF': `GET / HTTP/1.1\nHost: x\n\n${smuggled}`,
    'bare CR in a value': `GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n`,
    'duplicate Host': `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`,
  };
  for (const [name, bytes] of Object.entries(attempts)) {
    const { text, closedByServer } = await raw(b.port, bytes);
    assert.equal(statusOf(text), 400, `${name}: ${JSON.stringify(text.slice(0, 60))}`);
    assert.equal(closedByServer, true, `${name}: connection left open`);
    assert.equal(text.match(/HTTP\/1\.1/g)?.length, 1, `${name}: answered as more than one request`);
  }
  assert.equal(ws[0].requests, 0, 'a worker saw a request');
  assert.equal(b.traffic().rejected, Object.keys(attempts).length);
});

test('oversized headers -> 431; more than 2000 headers are not silently dropped (framing included)', async (t) => {
  const { b, ws } = await setup(t, 1);
  const { text } = await raw(b.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.equal(statusOf(text), 431);
  assert.equal(ws[0].requests, 0);
  // 2100 tiny headers fit in 16 KiB; node would keep only the first 2000 by default, losing a Content-Length at the end.
  let many = 'PUT /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n';
  for (let i = 0; i < 2100; i++) many += `a${i % 10}: 1\r\n`;
  many += 'Content-Length: 5\r\n\r\nhello';
  const r = await raw(b.port, many, 4000);
  assert.equal(statusOf(r.text), 200, r.text.slice(0, 80));
  assert.match(r.text, /\r\n\r\n(5\r\n)?hello/, 'the body was lost');
});

test('Upgrade: websocket -> a clear 501 JSON, never a silent downgrade; h2c is ignored as HTTP/1.1 allows', async (t) => {
  const { b, ws } = await setup(t, 1);
  const { text } = await raw(
    b.port,
    'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    1000,
  );
  assert.equal(statusOf(text), 501, text.slice(0, 80));
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { code: string; error: string };
  assert.equal(body.code, 'AS_ERR_UPGRADE_UNSUPPORTED');
  assert.match(body.error, /websocket/);
  assert.equal(ws[0].requests, 0);
  const h2c = await send(`${b.url}/`, { headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
  assert.equal(h2c.status, 200);
  assert.equal(ws[0].lastHeaders?.upgrade, undefined);
});

test('slow clients (slowloris headers, a trickled body, idle keep-alive) are dropped on time without blocking others', async (t) => {
  const { b } = await setup(t, 1, { headersTimeoutMs: 600, requestTimeoutMs: 1200, keepAliveTimeoutMs: 400 });
  const sockets: Socket[] = [];
  const closedAt: number[] = [];
  const t0 = performance.now();
  const open = (first: string, drip: string): void => {
    const c = connect(b.port, '127.0.0.1');
    c.on('error', () => {});
    c.on('close', () => closedAt.push(performance.now() - t0));
    c.write(first);
    const timer = setInterval(() => c.writable && c.write(drip), 100);
    c.on('close', () => clearInterval(timer));
    sockets.push(c);
  };
  t.after(() => sockets.forEach((s) => s.destroy()));
  for (let i = 0; i < 20; i++) open('GET / HTTP/1.1\r\nHost: x\r\n', 'X-A: b\r\n');
  for (let i = 0; i < 5; i++) open('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n', 'x');
  // Meanwhile everyone else is served promptly.
  const others: number[] = [];
  for (let i = 0; i < 20; i++) others.push((await send(`${b.url}/`)).ms);
  assert.ok(Math.max(...others) < 500, `other clients waited up to ${Math.max(...others).toFixed(0)} ms`);
  // Idle keep-alive connection: closed after keepAliveTimeoutMs.
  const idle = connect(b.port, '127.0.0.1');
  sockets.push(idle);
  idle.on('error', () => {});
  idle.resume();
  idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const deadline = Date.now() + 6000;
  while ((closedAt.length < 25 || !idle.destroyed) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(closedAt.length, 25, `${closedAt.length} of 25 slow clients dropped`);
  assert.ok(Math.max(...closedAt) < 5000, `slowest drop after ${Math.max(...closedAt).toFixed(0)} ms`);
  assert.ok(idle.destroyed, 'idle keep-alive connection still open');
});
