/**
 * The balancer inside a real lab (real worker processes): --upstream-timeout
 * reaches it from the start config, and a passive ejection shows on the
 * lab's event stream.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { request } from 'undici';
import type { Balancer } from '../../src/balancer/balancer.js';
import type { FrontEndTraffic } from '../../src/balancer/front-end.js';
import type { HealthEvent } from '../../src/events.js';
import { resolveConfig } from '../../src/settings/config.js';
import { exposureWarning } from '../../src/lab/lab.js';
import { startLab, until } from '../helpers.js';

test('--upstream-timeout: validated, and a worker slower than it gets a 504 in about that time', async (t) => {
  assert.equal(resolveConfig({}).upstreamTimeout, 30);
  assert.throws(() => resolveConfig({ upstreamTimeout: '0' }), /--upstream-timeout must be between 0.1 and 3600/);
  assert.throws(() => resolveConfig({ upstreamTimeout: 'soon' }), /--upstream-timeout must be a number/);
  const { lab } = await startLab(t, { upstreamTimeout: '0.4' }, { value: 20 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  const t0 = performance.now();
  const res = await request(`${lab.balancer.url}/?work=1000`);
  const body = (await res.body.json()) as { code: string };
  const ms = performance.now() - t0;
  assert.equal(res.statusCode, 504);
  assert.equal(body.code, 'AS_ERR_UPSTREAM_TIMEOUT');
  assert.ok(ms >= 350 && ms < 1000, `504 after ${ms.toFixed(0)} ms`);
});

test('a passive ejection is published as a health event naming the worker and the cause', async (t) => {
  const { lab, events } = await startLab(t, {}, { value: 20 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const dead = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  (lab.balancer as Balancer).addWorker({ id: 99, host: '127.0.0.1', port: dead });
  for (let i = 0; i < 2; i++) assert.equal((await request(lab.balancer.url)).statusCode, 200, 'the GET was retried on the live worker');
  const health = events.filter((e): e is HealthEvent => e.type === 'health' && e.id === 99);
  assert.equal(health.length, 1);
  assert.deepEqual({ port: health[0].port, healthy: health[0].healthy }, { port: dead, healthy: false });
  assert.match(health[0].detail, /ejected: ECONNREFUSED on live traffic/);
});

test('--balancer l4 in a real lab: connections round-robin over the ready workers, counts come from the workers, connections show per worker', async (t) => {
  const { lab, events } = await startLab(t, { balancer: 'l4', max: '2' }, { value: 20 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  assert.equal(lab.scale(1), 2);
  await until('two ready workers', () => lab.supervisor.counts().ready === 2, 20_000);
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await request(lab.balancer.url, { reset: true }); // a fresh connection each time
    ids.push(((await res.body.json()) as { id: number }).id);
  }
  assert.equal(new Set(ids).size, 2, `served by ${ids.join(',')}`);
  for (let i = 2; i < ids.length; i++) assert.equal(ids[i], ids[i - 2], 'connections alternate');
  await until('the workers reported their requests', () => lab.balancer.traffic().total >= 6, 5000);
  const started = events.find((e) => e.type === 'started');
  assert.equal(started?.type === 'started' && started.config.balancer, 'l4');
  // The workers report once a second, the lab publishes stats once a second: wait for a row that carries connections.
  await until('a stats event with per-worker connections', () => events.some((e) => e.type === 'stats' && e.workers.some((w) => w.connections !== undefined)), 5000);
});

test('only the balancer takes --host: workers bind 127.0.0.1; a non-loopback --host gets a one-line warning', async (t) => {
  assert.equal(exposureWarning('127.0.0.1'), null);
  assert.equal(exposureWarning('localhost'), null);
  assert.equal(exposureWarning('::1'), null);
  assert.equal(exposureWarning('0.0.0.0'), 'warning: --host 0.0.0.0 makes the balancer reachable from other machines (workers stay on 127.0.0.1)');
  // 127.0.0.2 is loopback too, but not the workers' address: it shows who binds where.
  const { lab, workers } = await startLab(t, { host: '127.0.0.2' }, { value: 20 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  assert.match(lab.balancer.url, /^http:\/\/127\.0\.0\.2:/);
  const ready = workers().find((e) => e.state === 'ready');
  assert.match(String(ready?.detail), /listening on 127\.0\.0\.1:\d+/);
  assert.equal((await request(lab.balancer.url)).statusCode, 200);
});

test('--host ::1: a refresh checks the new worker where workers listen (127.0.0.1), not on the balancer host', async (t) => {
  const { lab } = await startLab(t, { host: '::1', min: '1', max: '2' }, { value: 20 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  assert.match(lab.balancer.url, /^http:\/\/\[::1\]:\d+$/);
  const r = await lab.command({ cmd: 'refresh', minHealthy: 100 }, 'control socket');
  assert.equal(r.ok, true, r.message);
  assert.equal((await request(`${lab.balancer.url}/`)).statusCode, 200);
});

test("a tick (and a stats period) reads the balancer's traffic once, whatever reads it within that turn", async (t) => {
  const { lab, ticks } = await startLab(t, {}, { value: 20 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  const balancer = lab.balancer as { traffic: () => FrontEndTraffic };
  const read = balancer.traffic.bind(lab.balancer);
  const perTurn: number[] = [];
  let reads = 0;
  balancer.traffic = () => {
    if (reads++ === 0) queueMicrotask(() => void (perTurn.push(reads), (reads = 0)));
    return read();
  };
  const before = ticks().length;
  await until('three more ticks', () => ticks().length >= before + 3, 10_000);
  assert.ok(perTurn.length >= 3, `turns that read it: ${perTurn.length}`);
  assert.deepEqual(perTurn.filter((n) => n !== 1), [], `reads per turn: ${perTurn.join(' ')}`);
});
