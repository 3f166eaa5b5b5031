/**
 * One pool, two front ends: the same table of cases (validation, rotation,
 * health, ejection, drain, removal) runs against the L7 proxy and the L4
 * handoff, since both use src/balancer/members.ts. The workers are small
 * in-process HTTP servers; under L4 each is reached through an in-process
 * "channel" that serves the handed-over socket on that server, exactly what a
 * forked worker does with a socket that arrives over IPC.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Balancer } from '../../src/balancer/balancer.js';
import type { FrontEnd, FrontEndTarget, WorkerChannel } from '../../src/balancer/front-end.js';
import { L4Balancer } from '../../src/balancer/l4.js';
import type { HealthCheckOptions } from '../../src/balancer/members.js';
import { nextEvent, until } from '../helpers.js';

/** A worker: answers GET / with its id (after `delayMs`), /health with 200 or 503. */
interface FakeWorker {
  id: number;
  port: number;
  server: Server;
  healthy: boolean;
  delayMs: number;
  served: number;
  /** Refuse handed-over sockets (L4: the worker's channel is closing). */
  channelBroken: boolean;
}

async function startWorker(t: TestContext, id: number): Promise<FakeWorker> {
  const w: FakeWorker = { id, port: 0, server: null as unknown as Server, healthy: true, delayMs: 0, served: 0, channelBroken: false };
  w.server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(w.healthy ? 200 : 503).end();
      return;
    }
    setTimeout(() => {
      w.served++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
    }, w.delayMs);
  });
  w.server.listen(0, '127.0.0.1');
  await once(w.server, 'listening');
  w.port = (w.server.address() as AddressInfo).port;
  t.after(() => {
    w.server.closeAllConnections();
    w.server.close();
  });
  return w;
}

/** What a forked worker does with a socket the L4 balancer hands over (src/app/connections.ts adopt). */
function inProcessChannel(w: FakeWorker): WorkerChannel {
  return {
    send(_message, handle, _options, callback) {
      if (w.channelBroken) {
        const err = Object.assign(new Error('channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' });
        queueMicrotask(() => callback?.(err));
        return false;
      }
      if (handle !== undefined) {
        w.server.emit('connection', handle);
        (handle as Socket).resume();
      }
      queueMicrotask(() => callback?.(null));
      return true;
    },
  };
}

/** GET / on a fresh connection (so L4 picks a worker per request too). */
function getOnce(url: string): Promise<{ status: number; id: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/`, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, id: res.statusCode === 200 ? (JSON.parse(body) as { id: number }).id : -1 }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface FrontEndCase {
  name: string;
  make(health?: Partial<HealthCheckOptions>): FrontEnd;
  target(w: FakeWorker): FrontEndTarget;
  /** Give the worker work the front end knows is under way; resolves a function that finishes it. */
  occupy(b: FrontEnd, w: FakeWorker): Promise<() => Promise<void>>;
}

const FAST_HEALTH: Partial<HealthCheckOptions> = { intervalMs: 60, timeoutMs: 50, healthyThreshold: 2, unhealthyThreshold: 2 };

const FRONT_ENDS: FrontEndCase[] = [
  {
    name: 'L7',
    make: (health) => new Balancer({ host: '127.0.0.1', port: 0, health }),
    target: (w) => ({ id: w.id, host: '127.0.0.1', port: w.port, channel: inProcessChannel(w) }),
    async occupy(b, w) {
      // A slow request through the proxy: in flight until the worker answers.
      w.delayMs = 400;
      const pending = getOnce(b.url);
      await until('the request is in flight', () => b.traffic().workers.some((u) => u.id === w.id && u.inFlight === 1), 2000);
      return async () => {
        await pending;
      };
    },
  },
  {
    name: 'L4',
    make: (health) => new L4Balancer({ host: '127.0.0.1', port: 0, health }),
    target: (w) => ({ id: w.id, host: '127.0.0.1', port: w.port, channel: inProcessChannel(w) }),
    async occupy(b, w) {
      // Under L4 the worker says what it has in flight (its IPC stats).
      b.report(w.id, { cpu: 0, rss: 0, requests: 1, inFlight: 1, connections: 1, handedOver: 1 });
      return async () => {
        b.report(w.id, { cpu: 0, rss: 0, requests: 2, inFlight: 0, connections: 0, handedOver: 0 });
      };
    },
  },
];

async function setup(t: TestContext, fe: FrontEndCase, n: number, health: Partial<HealthCheckOptions> = {}): Promise<{ b: FrontEnd; ws: FakeWorker[] }> {
  const b = fe.make(health);
  t.after(() => b.close());
  await b.listen();
  const ws: FakeWorker[] = [];
  for (let i = 1; i <= n; i++) {
    const w = await startWorker(t, i);
    b.addWorker(fe.target(w));
    ws.push(w);
  }
  return { b, ws };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

for (const fe of FRONT_ENDS) {
  test(`${fe.name}: health settings are validated like any other (AS_ERR_INTERNAL)`, () => {
    assert.equal(code(() => fe.make({ timeoutMs: 2000, intervalMs: 1000 })), 'AS_ERR_INTERNAL');
    assert.equal(code(() => fe.make({ path: 'health' })), 'AS_ERR_INTERNAL');
    assert.equal(code(() => fe.make({ unhealthyThreshold: 0 })), 'AS_ERR_INTERNAL');
    assert.equal(code(() => fe.make({ intervalMs: 1.5 })), 'AS_ERR_INTERNAL');
  });

  test(`${fe.name}: addWorker refuses a duplicate id, a bad port and a closed balancer with a coded error`, async (t) => {
    const { b, ws } = await setup(t, fe, 1);
    assert.equal(code(() => b.addWorker(fe.target(ws[0]))), 'AS_ERR_INTERNAL');
    assert.equal(code(() => b.addWorker({ ...fe.target(ws[0]), id: 9, port: 0 })), 'AS_ERR_INTERNAL');
    assert.equal(code(() => b.addWorker({ ...fe.target(ws[0]), id: 9, port: 70000 })), 'AS_ERR_INTERNAL');
    assert.equal(code(() => b.addWorker({ ...fe.target(ws[0]), id: 1.5 })), 'AS_ERR_INTERNAL');
    await b.close();
    assert.equal(code(() => b.addWorker({ ...fe.target(ws[0]), id: 10 })), 'AS_ERR_INTERNAL');
  });

  test(`${fe.name}: round-robin over the workers in rotation`, async (t) => {
    const { b, ws } = await setup(t, fe, 3);
    assert.equal(b.readyCount(), 3);
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push((await getOnce(b.url)).id);
    assert.deepEqual(ids, [1, 2, 3, 1, 2, 3]);
    assert.deepEqual(
      b.traffic().workers.map((w) => [w.id, w.inRotation]),
      ws.map((w) => [w.id, true]),
    );
  });

  test(`${fe.name}: no worker in rotation: the client gets 503 AS_ERR_NO_READY_WORKER at once`, async (t) => {
    const { b } = await setup(t, fe, 0);
    const r = await getOnce(b.url);
    assert.equal(r.status, 503);
    assert.equal(b.traffic().errors, 1);
  });

  test(`${fe.name}: failing health checks take a worker out of rotation, passing ones bring it back`, async (t) => {
    const { b, ws } = await setup(t, fe, 2, FAST_HEALTH);
    ws[0].healthy = false;
    const down = await nextEvent<{ id: number; healthy: boolean }>(b as never, 'health', (e) => e.id === 1, 3000);
    assert.equal(down.healthy, false);
    assert.equal(b.readyCount(), 1);
    for (let i = 0; i < 3; i++) assert.equal((await getOnce(b.url)).id, 2);
    ws[0].healthy = true;
    const up = await nextEvent<{ id: number; healthy: boolean }>(b as never, 'health', (e) => e.id === 1, 3000);
    assert.equal(up.healthy, true);
    assert.equal(b.readyCount(), 2);
  });

  test(`${fe.name}: a worker live traffic cannot reach is ejected at once (one upstream-error) and the request is still answered`, async (t) => {
    const { b, ws } = await setup(t, fe, 2);
    // L7: its port refuses connections; L4: its channel refuses the socket.
    ws[0].channelBroken = true;
    ws[0].server.closeAllConnections();
    ws[0].server.close();
    await once(ws[0].server, 'close');
    const errors: Array<{ id: number }> = [];
    b.on('upstream-error', (e: { id: number }) => errors.push(e));
    const first = await getOnce(b.url);
    // L7 retries a GET on the next worker; L4 answers 503 on that connection (the bytes were never read).
    assert.ok(first.status === 200 || first.status === 503, `status ${first.status}`);
    assert.deepEqual(errors.map((e) => e.id), [1]);
    assert.equal(b.readyCount(), 1);
    for (let i = 0; i < 3; i++) assert.equal((await getOnce(b.url)).id, 2);
    assert.equal(errors.length, 1);
  });

  test(`${fe.name}: drain takes the worker out of rotation at once and waits for its work`, async (t) => {
    const { b, ws } = await setup(t, fe, 2);
    const finish = await fe.occupy(b, ws[0]);
    const draining = b.drainWorker(1, 5000);
    assert.equal(b.readyCount(), 1);
    assert.deepEqual(b.traffic().workers.find((w) => w.id === 1)?.inRotation, false);
    for (let i = 0; i < 2; i++) assert.equal((await getOnce(b.url)).id, 2);
    await finish();
    const r = await draining;
    assert.equal(r.drained, true);
    assert.equal(r.inFlightAtStart, 1);
    assert.deepEqual(b.traffic().workers.map((w) => w.id), [2]);
    // Draining again (or an unknown worker) is a no-op.
    assert.deepEqual(await b.drainWorker(1, 100), { inFlightAtStart: 0, drained: true, ms: 0 });
  });

  test(`${fe.name}: a drain that runs out of time reports drained: false`, async (t) => {
    const { b, ws } = await setup(t, fe, 1);
    const finish = await fe.occupy(b, ws[0]);
    t.after(finish);
    const r = await b.drainWorker(1, 100);
    assert.equal(r.drained, false);
    assert.ok(r.ms >= 90, `ms ${r.ms}`);
    assert.equal(b.traffic().workers.length, 0);
  });

  test(`${fe.name}: removing a worker during its drain ends the drain as not drained`, async (t) => {
    const { b, ws } = await setup(t, fe, 1);
    const finish = await fe.occupy(b, ws[0]);
    t.after(finish);
    const draining = b.drainWorker(1, 5000);
    await b.removeWorker(1);
    const r = await draining;
    assert.equal(r.drained, false);
    assert.equal(b.readyCount(), 0);
    assert.deepEqual(b.traffic().workers, []);
  });
}
