import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { startWorker, type RunningWorker } from '../../src/app/worker.js';

// One agent for the file so pooled keep-alive connections are ours to close.
const agent = new Agent({ keepAliveTimeout: 10_000 });
test.after(() => agent.close());

async function call(w: RunningWorker, path: string, method: 'GET' | 'POST' = 'GET') {
  const res = await request(`${w.url}${path}`, { method, dispatcher: agent });
  const text = await res.body.text();
  const type = String(res.headers['content-type'] ?? '');
  return { status: res.statusCode, headers: res.headers, text, json: type.includes('json') ? JSON.parse(text) : undefined };
}

async function start(t: { after: (fn: () => unknown) => void }, work = 0, id = 1): Promise<RunningWorker> {
  const w = await startWorker({ id, port: 0, work });
  t.after(() => w.close({ timeoutMs: 500 }));
  return w;
}

test('GET / answers id, port, pid, work and a lifetime count that increments', async (t) => {
  const w = await start(t, 0, 7);
  const first = await call(w, '/');
  assert.equal(first.status, 200);
  assert.deepEqual(first.json, { id: 7, port: w.port, pid: process.pid, requests: 1, work: 0 });
  const second = await call(w, '/?work=3');
  assert.deepEqual(second.json, { id: 7, port: w.port, pid: process.pid, requests: 2, work: 3 });
  assert.equal(w.state.requests, 2);
  assert.equal(first.headers.etag, undefined);
  assert.equal(first.headers['x-powered-by'], undefined);
});

test('GET / uses the configured work by default and really busy-waits that long', async (t) => {
  const w = await start(t, 60);
  const t0 = performance.now();
  const res = await call(w, '/');
  const took = performance.now() - t0;
  assert.equal(res.json.work, 60);
  assert.ok(took >= 58, `took ${took} ms for 60 ms of work`);
  const t1 = performance.now();
  await call(w, '/?work=0');
  assert.ok(performance.now() - t1 < 50, 'work=0 does no busy loop');
});

test('?work outside 0..1000 or not an integer -> 400 saying expected/received, not counted', async (t) => {
  const w = await start(t);
  for (const bad of ['-1', '1001', 'abc', '1.5', '', '1e3', '99999999']) {
    const res = await call(w, `/?work=${encodeURIComponent(bad)}`);
    assert.equal(res.status, 400, `work=${bad}`);
    assert.match(res.json.error, /expected \?work to be an integer from 0 to 1000/);
    assert.ok(res.json.error.includes(`received ${JSON.stringify(bad)}`), res.json.error);
  }
  const repeated = await call(w, '/?work=1&work=2');
  assert.equal(repeated.status, 400);
  assert.equal(w.state.requests, 0);
  assert.equal((await call(w, '/requests')).json.requests, 0);
});

test('/health is 200 while serving and 503 after drain(); / keeps serving', async (t) => {
  const w = await start(t, 0, 2);
  const ok = await call(w, '/health');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, { status: 'ok', id: 2, port: w.port, pid: process.pid });
  w.drain();
  const draining = await call(w, '/health');
  assert.equal(draining.status, 503);
  assert.deepEqual(draining.json, { status: 'draining' });
  assert.equal((await call(w, '/')).status, 200);
});

test('/requests counts only / requests', async (t) => {
  const w = await start(t);
  await call(w, '/');
  await call(w, '/health');
  await call(w, '/');
  await call(w, '/nope');
  assert.deepEqual((await call(w, '/requests')).json, { requests: 2 });
});

test('unknown routes -> 404 JSON; errors carry no stack', async (t) => {
  const w = await start(t);
  for (const [method, path] of [['GET', '/nope'], ['POST', '/'], ['GET', '/%E0%A4%A']] as const) {
    const res = await call(w, path, method);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(typeof res.json.error, 'string');
    assert.doesNotMatch(res.text, /at .*\.(js|ts):\d+/);
  }
});

test('/metrics: per-route counter and histogram in its own registry per worker', async (t) => {
  const a = await start(t, 0, 1);
  const b = await start(t, 0, 2);
  await call(a, '/');
  await call(a, '/');
  await call(a, '/?work=x');
  await call(a, '/health');
  await call(b, '/');
  const res = await call(a, '/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /text\/plain/);
  assert.match(res.text, /^http_requests_total\{method="GET",route="\/",status="200"\} 2$/m);
  assert.match(res.text, /^http_requests_total\{method="GET",route="\/",status="400"\} 1$/m);
  assert.match(res.text, /^http_requests_total\{method="GET",route="\/health",status="200"\} 1$/m);
  assert.match(res.text, /^http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/"\} \d+$/m);
  assert.match(res.text, /^http_request_duration_seconds_count\{method="GET",route="\/"\} 3$/m);
  assert.match(res.text, /^process_cpu_user_seconds_total \S+$/m);
  const other = await call(b, '/metrics');
  assert.match(other.text, /^http_requests_total\{method="GET",route="\/",status="200"\} 1$/m);
  assert.doesNotMatch(other.text, /route="\/health"/);
});

test('POST /stress -> 202, 409 while burning, event loop stays responsive, burn ends by itself', async (t) => {
  const w = await start(t);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const started = await call(w, '/stress?seconds=1', 'POST');
  assert.equal(started.status, 202);
  assert.equal(started.json.seconds, 1);
  assert.ok(Math.abs(started.json.until - (Date.now() + 1000)) < 500, `until ${started.json.until}`);
  const again = await call(w, '/stress?seconds=5', 'POST');
  assert.equal(again.status, 409);
  assert.equal((await call(w, '/stress')).json.running, true);

  let slowest = 0;
  for (let i = 0; i < 5; i += 1) {
    const t0 = performance.now();
    assert.equal((await call(w, '/health')).status, 200);
    slowest = Math.max(slowest, performance.now() - t0);
    await sleep(60);
  }
  assert.ok(slowest < 200, `/health took ${slowest} ms during a burn`);
  const cpu = process.cpuUsage(cpuBefore);
  const share = (cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore);
  assert.ok(share > 0.25, `process used ${Math.round(share * 100)} % of a core during the burn`);

  const deadline = Date.now() + 3000;
  while ((await call(w, '/stress')).json.running && Date.now() < deadline) await sleep(50);
  assert.equal((await call(w, '/stress')).json.running, false, 'burn still running 3 s after a 1 s burn began');
  assert.equal((await call(w, '/stress?seconds=1', 'POST')).status, 202, 'a new burn may start once the last ended');
});

test('POST /stress with seconds outside 1..60 -> 400', async (t) => {
  const w = await start(t);
  for (const q of ['?seconds=0', '?seconds=61', '?seconds=abc', '?seconds=1.5', '']) {
    const res = await call(w, `/stress${q}`, 'POST');
    assert.equal(res.status, 400, q);
    assert.match(res.json.error, /expected \?seconds to be an integer from 1 to 60/);
  }
  assert.equal(w.state.stress.running, false);
});

test('close() terminates a running burn at once', async (t) => {
  const w = await startWorker({ port: 0, work: 0 });
  t.after(() => w.close());
  assert.equal((await call(w, '/stress?seconds=60', 'POST')).status, 202);
  assert.equal(w.state.stress.running, true);
  const t0 = performance.now();
  const result = await w.close();
  assert.ok(performance.now() - t0 < 1000, 'close waited for the burn');
  assert.equal(result.forced, false);
  assert.equal(w.state.stress.running, false);
});

/** A raw connection that has sent part of a request: the server sees it as busy, not idle. */
async function partialRequest(w: RunningWorker, path: string) {
  const socket = net.connect(w.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  return { socket, finish: () => socket.write('\r\n'), ended };
}

test('graceful close lets an in-flight request finish, refuses new connections, drops idle keep-alive ones', async (t) => {
  const w = await startWorker({ port: 0, work: 0 });
  t.after(() => w.close());
  await call(w, '/health'); // leaves an idle keep-alive connection in the agent's pool
  const inflight = await partialRequest(w, '/?work=300');
  t.after(() => inflight.socket.destroy());
  await sleep(20);

  let inFlightAtClose = -1;
  const closing = w.close({ timeoutMs: 3000 }).then((r) => {
    inFlightAtClose = w.state.inFlight;
    return r;
  });
  await sleep(20);
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(w.port, '127.0.0.1').on('connect', resolve).on('error', reject)),
    { code: 'ECONNREFUSED' },
  );
  inflight.finish();
  const raw = await inflight.ended;
  assert.match(raw, /^HTTP\/1\.1 200 /);
  assert.match(raw, /\r\nConnection: close\r\n/i);
  assert.match(raw, /"work":300/);
  const result = await closing;
  assert.equal(result.forced, false);
  // Both ends live in this process, so which callback runs first is up to the event loop: what matters is
  // that close waited until the in-flight response had been sent in full.
  assert.equal(inFlightAtClose, 0, 'close resolved while the request was still in flight');
  assert.equal(w.state.inFlight, 0);
});

test('close() cuts a request that does not finish within timeoutMs', async (t) => {
  const w = await startWorker({ port: 0, work: 0 });
  t.after(() => w.close());
  const stuck = await partialRequest(w, '/');
  t.after(() => stuck.socket.destroy());
  await sleep(20);
  const t0 = performance.now();
  const result = await w.close({ timeoutMs: 200 });
  const took = performance.now() - t0;
  assert.equal(result.forced, true);
  assert.ok(took >= 190 && took < 1500, `close took ${took} ms`);
  await stuck.ended;
});

test('startWorker rejects with the system code when the port is taken', async (t) => {
  const w = await start(t);
  await assert.rejects(startWorker({ port: w.port }), { code: 'EADDRINUSE' });
});
