/** The balancer's hold queue: requests wait for a worker when none is in rotation, bounded in count and time. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test, type TestContext } from 'node:test';
import { Balancer, type ReleasedEvent } from '../../src/balancer/balancer.js';
import { startFakeWorker } from '../fixtures/balancer-fake-worker.js';

interface Reply {
  status: number;
  body: string;
  ms: number;
}

function send(url: string): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function holding(t: TestContext, max: number, timeoutMs: number): Promise<Balancer> {
  const b = new Balancer({ host: '127.0.0.1', port: 0, hold: { max, timeoutMs } });
  t.after(() => b.close());
  await b.listen();
  return b;
}

const until = async (cond: () => boolean) => {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('held requests go to the first worker that joins; a full queue answers 503 JSON at once', async (t) => {
  const b = await holding(t, 2, 10_000);
  let firstHeld = 0;
  const released: ReleasedEvent[] = [];
  b.on('held', () => firstHeld++);
  b.on('released', (e: ReleasedEvent) => released.push(e));
  const a = send(`${b.url}/`);
  const c = send(`${b.url}/`);
  await until(() => b.holdStats()?.held === 2);
  const full = await send(`${b.url}/`);
  assert.equal(full.status, 503);
  assert.equal(JSON.parse(full.body).code, 'AS_ERR_HOLD_QUEUE_FULL');
  assert.ok(full.ms < 1000, `full queue answered after ${full.ms} ms`);
  assert.equal(firstHeld, 1);

  await new Promise((r) => setTimeout(r, 150));
  const w = await startFakeWorker(1);
  t.after(() => w.close());
  b.addWorker({ id: 1, host: '127.0.0.1', port: w.port });
  const [ra, rc] = await Promise.all([a, c]);
  assert.equal(ra.status, 200);
  assert.equal(rc.status, 200);
  assert.ok(ra.ms >= 140, `held request took only ${ra.ms} ms`);
  assert.equal(released.length, 1);
  assert.equal(released[0].count, 2);
  assert.ok(released[0].firstWaitMs >= 140);
  assert.deepEqual({ ...b.holdStats() }, { held: 0, total: 2, released: 2, timedOut: 0, rejected: 1 });
  // With a worker in rotation nothing is held.
  assert.equal((await send(`${b.url}/`)).status, 200);
  assert.equal(b.holdStats()?.total, 2);
});

test('a held request gets 503 JSON after the hold timeout; a client that hangs up leaves the queue', async (t) => {
  const b = await holding(t, 10, 300);
  const r = await send(`${b.url}/`);
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body), { error: 'no worker became ready within 300 ms', code: 'AS_ERR_HOLD_TIMEOUT' });
  assert.ok(r.ms >= 280 && r.ms < 3000, `timed out after ${r.ms} ms`);

  const req = request(`${b.url}/`, { agent: false });
  req.on('error', () => {});
  req.end();
  await until(() => b.holdStats()?.held === 1);
  req.destroy();
  await until(() => b.holdStats()?.held === 0);
  const s = b.holdStats();
  assert.equal(s?.timedOut, 1);
  // The balancer's own 503 is an error, never a served request (no RPS, no latency sample).
  const snap = b.traffic();
  assert.equal(snap.errors, 1);
  assert.equal(snap.total, 0);
  assert.equal(b.latency.totalCount, 0);
});

test('closing the balancer answers held requests instead of leaving them hanging', async (t) => {
  const b = await holding(t, 10, 10_000);
  const r = send(`${b.url}/`);
  await until(() => b.holdStats()?.held === 1);
  await b.close();
  const reply = await r;
  assert.equal(reply.status, 503);
  assert.equal(JSON.parse(reply.body).code, 'AS_ERR_NO_READY_WORKER');
});
