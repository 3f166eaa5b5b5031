import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Balancer, type BalancerHealthEvent, type BalancerOptions, type UpstreamErrorEvent } from '../../src/balancer/balancer.js';
import { UPSTREAM_ERROR_CODES } from '../../src/errors.js';
import { LatencyWindow } from '../../src/lab/observe.js';
import { closedPort, nextEvent } from '../helpers.js';
import { startFakeWorker, type FakeWorker } from '../fixtures/balancer-fake-worker.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One request on a fresh connection (agent: false): nothing pooled outlives the test. */
function send(url: string, opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {}): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function workers(t: TestContext, n: number): Promise<FakeWorker[]> {
  const ws: FakeWorker[] = [];
  for (let i = 1; i <= n; i++) ws.push(await startFakeWorker(i));
  t.after(() => Promise.all(ws.map((w) => w.close())));
  return ws;
}

async function balancer(t: TestContext, ws: FakeWorker[], opts: Partial<BalancerOptions> = {}): Promise<Balancer> {
  const b = new Balancer({ host: '127.0.0.1', port: 0, ...opts });
  t.after(() => b.close());
  await b.listen();
  for (const w of ws) b.addWorker({ id: w.id, host: '127.0.0.1', port: w.port });
  return b;
}

function servedBy(r: Reply): string {
  return String(r.headers['x-served-by']);
}


test('round-robin over workers in rotation; a draining worker gets nothing', async (t) => {
  const ws = await workers(t, 3);
  const b = await balancer(t, ws);
  assert.equal(b.readyCount(), 3);
  assert.match(b.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) seen.push(servedBy(await send(`${b.url}/`)));
  const names = ws.map((w) => `worker-${w.id}@${w.port}`);
  assert.deepEqual(seen, [...names, ...names]);

  const drain = await b.drainWorker(2, 1000);
  assert.deepEqual({ inFlightAtStart: drain.inFlightAtStart, drained: drain.drained }, { inFlightAtStart: 0, drained: true });
  assert.equal(b.readyCount(), 2);
  const after: string[] = [];
  for (let i = 0; i < 4; i++) after.push(servedBy(await send(`${b.url}/`)));
  assert.ok(!after.includes(names[1]), `drained worker got traffic: ${after.join(',')}`);
  assert.deepEqual(new Set(after), new Set([names[0], names[2]]));
  assert.equal(ws[1].requests, 2, 'worker 2 served only its two turns before the drain');
  assert.deepEqual(b.traffic().workers.map((w) => w.id), [1, 3]);
});

test('headers: hop-by-hop stripped both ways, X-Forwarded-* set, X-Served-By added', async (t) => {
  const [w] = await workers(t, 1);
  const b = await balancer(t, [w]);
  const r = await send(`${b.url}/headers`, {
    headers: {
      Connection: 'close, X-Private',
      'X-Private': 'secret',
      'Keep-Alive': 'timeout=9',
      TE: 'trailers',
      'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
      'X-Forwarded-For': '10.1.2.3',
      'X-Custom': 'kept',
    },
  });
  assert.equal(r.status, 200);
  const got = w.lastHeaders as IncomingHttpHeaders;
  for (const h of ['x-private', 'te', 'proxy-authorization', 'trailer', 'upgrade', 'proxy-connection']) assert.equal(got[h], undefined, `${h} reached the worker`);
  assert.notEqual(got['keep-alive'], 'timeout=9', 'the client Keep-Alive header reached the worker');
  assert.equal(got['x-custom'], 'kept');
  assert.equal(got['x-forwarded-for'], '10.1.2.3, 127.0.0.1');
  assert.equal(got['x-forwarded-proto'], 'http');
  assert.equal(got['x-forwarded-host'], `127.0.0.1:${b.port}`);
  assert.equal(got.host, `127.0.0.1:${b.port}`);

  assert.equal(r.headers['x-served-by'], `worker-1@${w.port}`);
  assert.equal(r.headers['x-normal'], 'yes');
  assert.equal(r.headers['x-secret'], undefined, 'header named in the worker Connection header leaked');
  assert.equal(r.headers['proxy-authenticate'], undefined);
  assert.notEqual(r.headers['keep-alive'], 'timeout=5', "the worker's Keep-Alive leaked (front end said Connection: close)");
  assert.deepEqual(JSON.parse(r.body)['x-served-by'], undefined);
});

test('bodies stream both ways: the echo of the first chunk comes back before the rest is sent', async (t) => {
  const [w] = await workers(t, 1);
  const b = await balancer(t, [w]);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const rest = Buffer.alloc(8 * 1024 * 1024, 'b');
  const expected = createHash('sha256').update(chunk).update(rest).digest('hex');

  const result = await new Promise<{ status: number; bytes: number; hash: string; echoedBeforeEnd: boolean }>((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let sentRest = false;
    const deadline = setTimeout(() => reject(new Error('first chunk never came back: a body is being buffered')), 5000);
    const req = request(`${b.url}/echo`, { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      res.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        if (!sentRest && bytes >= chunk.length) {
          sentRest = true;
          clearTimeout(deadline);
          req.end(rest);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, hash: hash.digest('hex'), echoedBeforeEnd: sentRest }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(chunk); // chunked; the request stays open until the echo arrives
  });
  assert.equal(result.status, 200);
  assert.equal(result.echoedBeforeEnd, true);
  assert.equal(result.bytes, chunk.length + rest.length);
  assert.equal(result.hash, expected);

  const big = await send(`${b.url}/big?bytes=${5 * 1024 * 1024 + 7}`);
  assert.equal(big.status, 200);
  assert.equal(Buffer.byteLength(big.body), 5 * 1024 * 1024 + 7);
  assert.equal(big.headers['content-length'], String(5 * 1024 * 1024 + 7));
});

test('no worker in rotation -> 503 JSON at once, never a hang', async (t) => {
  const b = await balancer(t, []);
  const r = await send(`${b.url}/`);
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body), { error: 'no ready worker', code: 'AS_ERR_NO_READY_WORKER' });
  assert.match(String(r.headers['content-type']), /application\/json/);
  assert.ok(r.ms < 1000, `took ${r.ms} ms`);
  const post = await send(`${b.url}/`, { method: 'POST', body: 'x'.repeat(100_000) });
  assert.equal(post.status, 503);
  const s = b.traffic();
  assert.equal(s.errors, 2);
  assert.equal(s.total, 0, "the balancer's own 503s are not served requests");
});

test('worker too slow -> 504 JSON after upstreamTimeoutMs', async (t) => {
  const [w] = await workers(t, 1);
  const b = await balancer(t, [w], { upstreamTimeoutMs: 300 });
  const r = await send(`${b.url}/?delay=5000`);
  assert.equal(r.status, 504);
  assert.equal(JSON.parse(r.body).code, 'AS_ERR_UPSTREAM_TIMEOUT');
  assert.ok(r.ms >= 250 && r.ms < 3000, `took ${r.ms} ms`);
  assert.equal(b.readyCount(), 1, 'a slow worker is not ejected');
  const s = b.traffic();
  assert.equal(s.errors, 1);
  assert.equal(s.workers[0].errors, 1);
});

test('connection refused: retried once on another worker, client sees no error, dead worker ejected', async (t) => {
  const [live] = await workers(t, 1);
  const b = await balancer(t, []);
  const dead = await closedPort();
  const errors: UpstreamErrorEvent[] = [];
  b.on('upstream-error', (e: UpstreamErrorEvent) => errors.push(e));
  b.addWorker({ id: 9, host: '127.0.0.1', port: dead }); // first in rotation
  b.addWorker({ id: live.id, host: '127.0.0.1', port: live.port });
  const r = await send(`${b.url}/`);
  assert.equal(r.status, 200);
  assert.equal(servedBy(r), `worker-1@${live.port}`);
  assert.deepEqual(errors, [{ id: 9, port: dead, code: 'ECONNREFUSED' }]);
  assert.equal(b.readyCount(), 1);
  for (let i = 0; i < 3; i++) assert.equal(servedBy(await send(`${b.url}/`)), `worker-1@${live.port}`);
  const s = b.traffic();
  assert.equal(s.errors, 0, 'the client saw no error');
  assert.equal(s.workers.find((x) => x.id === 9)?.errors, 1);
  assert.equal(s.workers.find((x) => x.id === 9)?.inRotation, false);
});

test('socket closed before any response byte (worker killed): idempotent request retried elsewhere', async (t) => {
  const [a, live] = await workers(t, 2);
  const b = await balancer(t, [a, live]);
  a.hangUp = true;
  const errors: UpstreamErrorEvent[] = [];
  b.on('upstream-error', (e: UpstreamErrorEvent) => errors.push(e));
  const r = await send(`${b.url}/`, { method: 'DELETE' });
  assert.equal(r.status, 200);
  assert.equal(servedBy(r), `worker-2@${live.port}`);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].id, 1);
  assert.ok(['UND_ERR_SOCKET', 'ECONNRESET', UPSTREAM_ERROR_CODES.socketClosed].includes(errors[0].code), errors[0].code);
});

test('a POST to a dead worker is not retried: 502 JSON, the other worker never sees it', async (t) => {
  const [live] = await workers(t, 1);
  const b = await balancer(t, []);
  b.addWorker({ id: 9, host: '127.0.0.1', port: await closedPort() });
  b.addWorker({ id: live.id, host: '127.0.0.1', port: live.port });
  const r = await send(`${b.url}/echo`, { method: 'POST', body: 'payload' });
  assert.equal(r.status, 502);
  assert.equal(JSON.parse(r.body).code, 'AS_ERR_TARGET_UNREACHABLE');
  assert.equal(live.requests, 0);
  assert.equal(b.readyCount(), 1, 'still ejected: the passive check does not depend on retrying');
  const get = await send(`${b.url}/`);
  assert.equal(get.status, 200);
});

test('health: /health 503 -> out of rotation after 3 failures with a health event; back after 2 successes', async (t) => {
  const [a, other] = await workers(t, 2);
  // Short real intervals, but a timeout wide enough that a busy 2-core host does not fail checks on its own.
  const b = await balancer(t, [a, other], { health: { intervalMs: 150, timeoutMs: 120, unhealthyThreshold: 3, healthyThreshold: 2 } });
  const events: BalancerHealthEvent[] = [];
  b.on('health', (e: BalancerHealthEvent) => events.push(e));

  const checksBefore = a.healthChecks;
  a.healthStatus = 503;
  const down = await nextEvent<BalancerHealthEvent>(b, 'health', (e) => e.id === 1, 5000);
  assert.equal(down.healthy, false);
  assert.match(down.detail, /503/);
  assert.ok(a.healthChecks - checksBefore >= 3, `only ${a.healthChecks - checksBefore} checks before leaving`);
  assert.equal(b.readyCount(), 1);
  const served = new Set<string>();
  for (let i = 0; i < 4; i++) served.add(servedBy(await send(`${b.url}/`)));
  assert.deepEqual([...served], [`worker-2@${other.port}`]);

  a.healthStatus = 200;
  const up = await nextEvent<BalancerHealthEvent>(b, 'health', (e) => e.id === 1, 5000);
  assert.equal(up.healthy, true);
  assert.equal(b.readyCount(), 2);
  assert.deepEqual(
    events.filter((e) => e.id === 1).map((e) => e.healthy),
    [false, true],
    'exactly one transition each way',
  );
});

test('health: a dead port counts as failed checks', async (t) => {
  const b = await balancer(t, [], { health: { intervalMs: 40, timeoutMs: 30, unhealthyThreshold: 2, healthyThreshold: 2 } });
  b.addWorker({ id: 5, host: '127.0.0.1', port: await closedPort() });
  const e = await nextEvent<BalancerHealthEvent>(b, 'health', () => true, 5000);
  assert.deepEqual({ id: e.id, healthy: e.healthy }, { id: 5, healthy: false });
  assert.match(e.detail, /ECONNREFUSED/);
  assert.equal(b.readyCount(), 0);
  const r = await send(`${b.url}/`);
  assert.equal(r.status, 503);
});

test('drain: waits for the in-flight slow request; a request arriving meanwhile goes to the other worker', async (t) => {
  const [a, other] = await workers(t, 2);
  const b = await balancer(t, [a, other]);
  const slow = send(`${b.url}/?delay=600`); // worker 1 (first in rotation)
  while (a.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(b.traffic().workers.find((w) => w.id === 1)?.inFlight, 1);
  const draining = b.drainWorker(1, 5000);
  const during = await send(`${b.url}/`);
  assert.equal(servedBy(during), `worker-2@${other.port}`);
  const d = await draining;
  assert.equal(d.inFlightAtStart, 1);
  assert.equal(d.drained, true);
  assert.ok(d.ms >= 300 && d.ms < 5000, `drain took ${d.ms} ms`);
  const s = await slow;
  assert.equal(s.status, 200);
  assert.equal(servedBy(s), `worker-1@${a.port}`);
  assert.equal(a.requests, 1);
});

test('drain timeout: resolves drained:false on time; the cut-off GET is retried on another worker', async (t) => {
  const [a, other] = await workers(t, 2);
  const b = await balancer(t, [a, other]);
  const slow = send(`${b.url}/?delay=4000`);
  while (a.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  const d = await b.drainWorker(1, 200);
  assert.equal(d.drained, false);
  assert.equal(d.inFlightAtStart, 1);
  assert.ok(d.ms >= 150 && d.ms < 2000, `drain took ${d.ms} ms`);
  const s = await slow;
  assert.equal(s.status, 200);
  assert.equal(servedBy(s), `worker-2@${other.port}`);
});

test('drain cut short by removeWorker (the worker crashed meanwhile) reports drained:false', async (t) => {
  const [a, other] = await workers(t, 2);
  const b = await balancer(t, [a, other]);
  const slow = send(`${b.url}/?delay=3000`);
  while (a.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  const draining = b.drainWorker(1, 10_000);
  await b.removeWorker(1);
  const d = await draining;
  assert.equal(d.drained, false);
  assert.equal(d.inFlightAtStart, 1);
  assert.equal((await slow).status, 200, 'the cut GET was retried on the other worker');
});

test('removeWorker: out of rotation at once', async (t) => {
  const [a, other] = await workers(t, 2);
  const b = await balancer(t, [a, other]);
  await b.removeWorker(1);
  assert.equal(b.readyCount(), 1);
  for (let i = 0; i < 3; i++) assert.equal(servedBy(await send(`${b.url}/`)), `worker-2@${other.port}`);
  await b.removeWorker(1); // idempotent
});

test('a client that gives up aborts the request to the worker; in-flight counts return to 0', async (t) => {
  const [w] = await workers(t, 1);
  const b = await balancer(t, [w]);
  const req = request(`${b.url}/?delay=5000`, { agent: false });
  req.on('error', () => {});
  req.end();
  while (w.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal(b.traffic().inFlight, 1);
  req.destroy();
  const deadline = Date.now() + 3000;
  while ((w.inFlight > 0 || b.traffic().inFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(w.inFlight, 0, 'the worker still holds the abandoned request');
  const s = b.traffic();
  assert.equal(s.inFlight, 0);
  assert.equal(s.workers[0].inFlight, 0);
  assert.equal(s.errors, 0, 'a client giving up is not a server error');
});

test('stats: counts, latency percentiles per window over a lifetime histogram, rpm/rps over true windows with an injected clock', async (t) => {
  const [a, c] = await workers(t, 2);
  let clock = 10_000;
  const b = await balancer(t, [a, c], { now: () => clock });
  const window = new LatencyWindow(() => b.latency);
  for (let i = 0; i < 6; i++) await send(`${b.url}/`);
  clock = 10_500;
  for (let i = 0; i < 4; i++) await send(`${b.url}/`);

  clock = 11_000; // second 10 is over: 10 responses in it
  let s = b.traffic();
  assert.equal(s.total, 10);
  assert.equal(s.rps, 10);
  assert.equal(s.rpm, 10);
  assert.equal(s.inFlight, 0);
  assert.equal(s.errors, 0);
  assert.deepEqual(
    s.workers.map((w) => [w.id, w.requests, w.rps, w.inFlight, w.errors]),
    [
      [1, 5, 5, 0, 0],
      [2, 5, 5, 0, 0],
    ],
  );
  // Latency is a lifetime histogram (a fact, never reset by a read); a window over it gives per-period percentiles.
  assert.equal(b.latency.totalCount, 10);
  const l = window.take();
  assert.ok(l.p50 !== null && l.p95 !== null && l.p99 !== null);
  assert.ok(l.p50 >= 0 && l.p50 <= l.p95 && l.p95 <= l.p99, JSON.stringify(l));
  assert.equal(window.take().p50, null, 'latency window restarted');
  assert.equal(b.latency.totalCount, 10, 'the balancer histogram is lifetime');
  s = b.traffic();
  assert.equal(s.total, 10, 'totals are lifetime');

  clock = 30_000;
  await send(`${b.url}/`);
  clock = 31_000;
  s = b.traffic();
  assert.deepEqual([s.rps, s.rpm], [1, 11]);
  clock = 70_999; // second 10 still inside the last 60 full seconds
  assert.equal(b.traffic().rpm, 11);
  clock = 71_000;
  assert.equal(b.traffic().rpm, 1);
  clock = 91_000;
  assert.deepEqual([b.traffic().rps, b.traffic().rpm], [0, 0]);
});

test('listen: a taken port rejects with PortInUseError naming host:port', async (t) => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as AddressInfo).port;
  const b = new Balancer({ host: '127.0.0.1', port });
  t.after(() => b.close());
  await assert.rejects(b.listen(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'AS_ERR_PORT_IN_USE');
    assert.ok(err.message.includes(`127.0.0.1:${port}`), err.message);
    return true;
  });
});

test('options are validated once, with expected/received messages', () => {
  const bad: Array<[Partial<BalancerOptions>, RegExp]> = [
    [{ port: -1 }, /port.*received -1/],
    [{ port: 70000 }, /port.*received 70000/],
    [{ upstreamTimeoutMs: 0 }, /upstreamTimeoutMs: expected a positive integer, received 0/],
    [{ connectionsPerWorker: 1.5 }, /connectionsPerWorker/],
    [{ health: { path: 'health' } }, /health.path/],
    [{ health: { intervalMs: 1000, timeoutMs: 1000 } }, /timeoutMs \(1000\) must be < health.intervalMs \(1000\)/],
  ];
  for (const [opts, re] of bad) {
    assert.throws(() => new Balancer({ host: '127.0.0.1', port: 0, ...opts }), (err: Error & { code?: string }) => {
      // Options come from code (the lab's config is validated at the edge): misuse is internal, not the user's config.
      assert.equal(err.code, 'AS_ERR_INTERNAL');
      assert.match(err.message, re);
      return true;
    });
  }
});

test('misuse of the balancer by the code (not the user) is an internal error, not a config error', async (t) => {
  assert.throws(() => new Balancer({ host: '127.0.0.1', port: 0, connectionsPerWorker: 0 }), { code: 'AS_ERR_INTERNAL', name: 'InternalError' });
  const b = new Balancer({ host: '127.0.0.1', port: 0 });
  await b.listen();
  t.after(() => b.close());
  b.addWorker({ id: 1, host: '127.0.0.1', port: 9 });
  assert.throws(() => b.addWorker({ id: 1, host: '127.0.0.1', port: 9 }), (err: Error & { code?: string; exitCode?: number }) => err.code === 'AS_ERR_INTERNAL' && err.exitCode === 1);
  await b.close();
  assert.throws(() => b.addWorker({ id: 2, host: '127.0.0.1', port: 9 }), { code: 'AS_ERR_INTERNAL' });
});
