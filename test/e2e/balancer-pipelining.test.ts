/**
 * Issue 19 #3: a client that pipelines and disconnects. The L7 balancer
 * cancels every request still open on a connection when it closes (node:http
 * emits no 'close' on responses queued behind the head of a pipeline), and
 * bounds pipelining at MAX_PIPELINED_REQUESTS per connection: one 503
 * AS_ERR_PIPELINE_LIMIT with `Connection: close`, nothing more forwarded.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { Balancer } from '../../src/balancer/balancer.js';
import { MAX_PIPELINED_REQUESTS } from '../../src/http-limits.js';
import { sleep, until } from '../helpers.js';

/** A worker that answers GET / after `delayMs` and counts what it received. */
async function worker(t: TestContext, delayMs: number): Promise<{ port: number; received: () => number; server: Server }> {
  let received = 0;
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.end('ok');
    received++;
    setTimeout(() => res.end('ok'), delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, received: () => received, server };
}

async function balancer(t: TestContext, ports: number[], extra: { hold?: { max: number; timeoutMs: number }; connectionsPerWorker?: number } = {}): Promise<Balancer> {
  const b = new Balancer({ host: '127.0.0.1', port: 0, ...extra });
  t.after(() => b.close());
  await b.listen();
  ports.forEach((port, i) => b.addWorker({ id: i + 1, host: '127.0.0.1', port }));
  return b;
}

const pipelined = (n: number): string => 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n);

/** Write `n` pipelined GETs in one write; then close once `closeWhen()` holds, or (null) read until the server closes. */
async function sendPipelined(port: number, n: number, closeWhen: (() => boolean) | null): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let got = '';
  socket.setEncoding('latin1').on('data', (d: string) => (got += d));
  socket.on('error', () => {});
  socket.write(pipelined(n));
  if (closeWhen === null) {
    // (events.once would reject on the reset a closing server may cause)
    await new Promise((resolve) => socket.once('close', resolve));
  } else {
    await until('ready to close', closeWhen, 5000);
    socket.destroy();
  }
  return got;
}

const count = (text: string, what: string): number => text.split(what).length - 1;

for (const n of [3, 20]) {
  test(`${n} pipelined GETs then a close: the queued requests are cancelled and in-flight returns to 0`, async (t) => {
    const w = await worker(t, 100);
    // One connection to the worker: the requests after the first wait in the balancer, where a close must cancel them.
    const b = await balancer(t, [w.port], { connectionsPerWorker: 1 });
    await sendPipelined(b.port, n, () => w.received() > 0);
    await until('nothing in flight', () => b.traffic().inFlight === 0 && b.traffic().workers[0].inFlight === 0, 3000);
    await sleep(500);
    assert.equal(w.received(), 1, 'only the request already at the worker ran');
    assert.equal(b.traffic().inFlight, 0);
  });
}

test('pipelining past the limit: the first 32 are answered, then one 503 AS_ERR_PIPELINE_LIMIT and the connection closes', async (t) => {
  const w = await worker(t, 5);
  const b = await balancer(t, [w.port]);
  const got = await sendPipelined(b.port, 2 * MAX_PIPELINED_REQUESTS, null);
  assert.equal(count(got, 'HTTP/1.1 200 OK'), MAX_PIPELINED_REQUESTS);
  assert.equal(count(got, 'HTTP/1.1 503'), 1);
  assert.match(got, /connection: close[\s\S]*"code":"AS_ERR_PIPELINE_LIMIT"/i);
  assert.ok(got.indexOf('HTTP/1.1 503') > got.lastIndexOf('HTTP/1.1 200'), 'the 503 comes after every answer owed');
  assert.equal(w.received(), MAX_PIPELINED_REQUESTS);
  await until('nothing in flight', () => b.traffic().inFlight === 0, 3000);
  assert.equal(b.traffic().rejected, MAX_PIPELINED_REQUESTS);
});

test('far past the limit, the connection is closed at once and what it had open is cancelled', async (t) => {
  const w = await worker(t, 10_000);
  const b = await balancer(t, [w.port]);
  const t0 = performance.now();
  const got = await sendPipelined(b.port, 3000, null);
  // (node still parses the rest of the chunk it read, each request refused without work: well under the worker's 10 s)
  assert.ok(performance.now() - t0 < 5000, 'closed without waiting for the worker');
  assert.equal(count(got, 'HTTP/1.1 200'), 0);
  assert.ok(w.received() <= MAX_PIPELINED_REQUESTS, `${w.received()} requests reached the worker`);
  await until('nothing in flight', () => b.traffic().inFlight === 0 && b.traffic().workers[0].inFlight === 0, 3000);
});

test('pipelining within the limit is served in order on one connection', async (t) => {
  const w = await worker(t, 1);
  const b = await balancer(t, [w.port]);
  const socket = connect(b.port, '127.0.0.1');
  await once(socket, 'connect');
  t.after(() => socket.destroy());
  let got = '';
  socket.setEncoding('latin1').on('data', (d: string) => (got += d));
  socket.write(pipelined(MAX_PIPELINED_REQUESTS));
  await until('every answer', () => count(got, 'HTTP/1.1 200 OK') === MAX_PIPELINED_REQUESTS, 5000);
  assert.equal(count(got, 'HTTP/1.1 503'), 0);
  assert.equal(socket.destroyed, false);
  // The connection stays usable.
  socket.write(pipelined(1));
  await until('one more', () => count(got, 'HTTP/1.1 200 OK') === MAX_PIPELINED_REQUESTS + 1, 5000);
});

test('scale to zero: pipelined requests held for a worker leave the hold queue when their client closes', async (t) => {
  const b = await balancer(t, [], { hold: { max: 100, timeoutMs: 10_000 } });
  await sendPipelined(b.port, 5, () => b.held() === 5);
  await until('nothing held, nothing in flight', () => b.held() === 0 && b.traffic().inFlight === 0, 3000);
  assert.equal(b.holdStats()?.timedOut, 0);
});
