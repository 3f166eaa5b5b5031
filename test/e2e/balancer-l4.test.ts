/**
 * The L4 balancer with real worker processes (dist/app/main.js, forked here so
 * their IPC channel is this process's): connections handed round-robin over
 * ready workers only, connection pinning under keep-alive, the
 * --max-conn-requests remedy, and a drain that loses no request.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Pool } from 'undici';
import { L4Balancer, type PinnedEvent } from '../../src/balancer/l4.js';
import type { FromWorker } from '../../src/app/protocol.js';
import { isAlive } from '../helpers.js';

const MAIN = join(import.meta.dirname, '../../dist/app/main.js');

interface Worker {
  id: number;
  port: number;
  child: ChildProcess;
}

async function startWorker(t: TestContext, id: number, extra: string[] = []): Promise<Worker> {
  const child = fork(MAIN, ['--id', String(id), '--port', '0', '--host', '127.0.0.1', '--work', '0', ...extra], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  t.after(async () => {
    if (child.pid !== undefined && isAlive(child.pid)) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port as number));
    child.once('exit', (code) => reject(new Error(`worker ${id} exited with ${code} before ready`)));
  });
  return { id, port, child };
}

async function setup(t: TestContext, n: number, extra: string[] = []): Promise<{ b: L4Balancer; ws: Worker[]; add: (w: Worker) => void }> {
  const b = new L4Balancer({ host: '127.0.0.1', port: 0, pinnedAfterMs: 1500 });
  t.after(() => b.close());
  await b.listen();
  const ws: Worker[] = [];
  for (let i = 1; i <= n; i++) ws.push(await startWorker(t, i, extra));
  const add = (w: Worker): void => {
    b.addWorker({ id: w.id, host: '127.0.0.1', port: w.port, channel: w.child });
    w.child.on('message', (m: FromWorker) => {
      if (m.type === 'stats') b.report(w.id, m);
    });
  };
  return { b, ws, add };
}

/** GET / on a fresh connection; the worker's JSON says who served it. */
function getOnce(url: string): Promise<{ status: number; id: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, id: res.statusCode === 200 ? (JSON.parse(body) as { id: number }).id : -1 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `connections` keep-alive connections (one undici Pool) sending GET / back to back until stop(). */
function keepAliveLoad(url: string, connections: number) {
  const pool = new Pool(url, { connections, pipelining: 1 });
  const byWorker = new Map<number, number>();
  const failures: string[] = [];
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const res = await pool.request({ path: '/', method: 'GET' });
        const body = (await res.body.json()) as { id: number };
        if (res.statusCode === 200) byWorker.set(body.id, (byWorker.get(body.id) ?? 0) + 1);
        else failures.push(`HTTP ${res.statusCode}`);
      } catch (err) {
        failures.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    byWorker,
    failures,
    reset: () => byWorker.clear(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all(loops);
      await pool.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('L4: each new connection goes to the next ready worker; none in rotation -> 503 JSON', async (t) => {
  const { b, ws, add } = await setup(t, 3);
  assert.equal((await getOnce(`${b.url}/`)).status, 503);
  add(ws[0]);
  add(ws[1]); // worker 3 is running but not ready in the balancer's eyes: it gets nothing
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) seen.push((await getOnce(`${b.url}/`)).id);
  assert.deepEqual(seen, [1, 2, 1, 2]);
  add(ws[2]);
  const next: number[] = [];
  for (let i = 0; i < 3; i++) next.push((await getOnce(`${b.url}/`)).id);
  assert.deepEqual(new Set(next), new Set([1, 2, 3]));
  assert.deepEqual(b.handoffs().map((w) => w.handedOff), [3, 3, 1]);
  assert.equal(b.traffic().errors, 1, 'the 503 with no worker');
});

test('L4: a scale-out under 20 keep-alive connections leaves the new worker idle, and says so once', async (t) => {
  const { b, ws, add } = await setup(t, 3);
  add(ws[0]);
  add(ws[1]);
  const pinned: PinnedEvent[] = [];
  b.on('pinned', (e: PinnedEvent) => pinned.push(e));
  const load = keepAliveLoad(b.url, 20);
  t.after(() => load.stop());
  await sleep(800);
  add(ws[2]); // scale-out: a third worker joins while the 20 connections stay open
  load.reset();
  const deadline = Date.now() + 8000;
  while (pinned.length === 0 && Date.now() < deadline) await sleep(100);
  const after = new Map(load.byWorker);
  await load.stop();
  assert.deepEqual(load.failures, []);
  assert.ok((after.get(1) ?? 0) > 0 && (after.get(2) ?? 0) > 0, JSON.stringify([...after]));
  assert.equal(after.get(3) ?? 0, 0, 'the new worker served requests from pinned connections');
  assert.equal(pinned.length, 1);
  assert.equal(pinned[0].id, 3);
  assert.ok(pinned[0].connections >= 18, `${pinned[0].connections} connections on the others`);
  const w3 = b.handoffs().find((w) => w.id === 3);
  assert.deepEqual([b.traffic().workers.find((w) => w.id === 3)?.requests, w3?.open, w3?.handedOff], [0, 0, 0]);
});

test('L4: --max-conn-requests makes clients reconnect, so a new worker gets its share', async (t) => {
  const { b, ws, add } = await setup(t, 3, ['--max-conn-requests', '3']);
  add(ws[0]);
  add(ws[1]);
  const load = keepAliveLoad(b.url, 20);
  t.after(() => load.stop());
  await sleep(800);
  add(ws[2]);
  await sleep(500);
  load.reset();
  await sleep(2000);
  const after = new Map(load.byWorker);
  await load.stop();
  const total = [...after.values()].reduce((a, x) => a + x, 0);
  assert.deepEqual(load.failures, []);
  assert.ok(total >= 30, `only ${total} requests`);
  assert.ok((after.get(3) ?? 0) / total > 0.15, `worker 3 served ${after.get(3) ?? 0} of ${total}`);
});

test('L4: drain closes the worker’s connections without losing a request; the clients move on', async (t) => {
  const { b, ws, add } = await setup(t, 2);
  add(ws[0]);
  add(ws[1]);
  const load = keepAliveLoad(b.url, 20);
  t.after(() => load.stop());
  await sleep(1000);
  const d = await b.drainWorker(1, 8000);
  assert.equal(d.drained, true, `drain did not finish (${d.ms} ms)`);
  // What the supervisor does next: SIGTERM, the worker finishes and exits.
  ws[0].child.kill('SIGTERM');
  await new Promise((r) => ws[0].child.once('exit', r));
  load.reset();
  await sleep(1000);
  const after = new Map(load.byWorker);
  await load.stop();
  assert.deepEqual(load.failures, [], `requests were lost (drain took ${d.ms} ms)`);
  assert.equal(after.get(1) ?? 0, 0);
  assert.ok((after.get(2) ?? 0) > 0);
  assert.deepEqual(b.traffic().workers.map((w) => w.id), [2]);
});

test('L4 requests/s: reports whose period drifts against the lab second never read as a 0 req/s second while the load is flat', async (t) => {
  let now = 0;
  const b = new L4Balancer({ host: '127.0.0.1', port: 0, now: () => now });
  t.after(() => b.close());
  b.addWorker({ id: 1, host: '127.0.0.1', port: 1, channel: { send: () => true } });
  // A worker serving a flat 96 req/s reports every 1050 ms (its timer drifts); the lab reads every second at +0.5 s.
  const reads: number[] = [];
  let nextReport = 300;
  for (let second = 1; second <= 40; second++) {
    const readAt = second * 1000 + 500;
    while (nextReport <= readAt) {
      now = nextReport;
      b.report(1, { cpu: 0, rss: 0, requests: Math.round((nextReport / 1000) * 96), inFlight: 0, connections: 1, handedOver: 1 });
      nextReport += 1050;
    }
    now = readAt;
    if (second >= 3) reads.push(b.traffic().rps);
  }
  assert.ok(Math.min(...reads) >= 80 && Math.max(...reads) <= 112, `every second reads about 96 req/s: ${reads.join(' ')}`);
});
