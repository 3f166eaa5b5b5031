/** Scale to zero: the pure idle rule, and a real lab that shrinks to no worker and cold-starts one for the next request. */
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { Balancer } from '../../src/balancer/balancer.js';
import { formatPlainLine } from '../../src/dashboard/plain.js';
import type { ColdStartEvent } from '../../src/events.js';
import type { Decision } from '../../src/policy/decide.js';
import { applyIdle, policyMin, ZERO_REASON } from '../../src/policy/idle.js';
import { startLab, until } from '../helpers.js';

const hold = { desired: 2, action: 'hold', reason: 'cpu 5 % within 1–90 %: hold at 2', value: 5, values: {}, warming: 0 } as unknown as Decision;
const idle = (idleForMs: number, more: { min?: number; desired?: number; starting?: number } = {}) => ({ min: 0, idle: 60, desired: 2, starting: 0, idleForMs, ...more });

test('idle rule: only --min 0 and --idle seconds without a request take the pool to zero', () => {
  assert.equal(policyMin(0), 1);
  assert.equal(policyMin(2), 2);
  assert.equal(applyIdle(hold, idle(600_000, { min: 1 })), hold);
  assert.equal(applyIdle(hold, idle(59_999)), hold);
  assert.equal(applyIdle(hold, idle(600_000, { starting: 1 })), hold, 'a starting worker (a cold start with requests held for it) is never taken away');
  const zero = applyIdle(hold, idle(61_500));
  assert.deepEqual([zero.desired, zero.action, zero.reason], [0, 'scale-in', 'no request for 61 s (idle 60 s): 2 → 0 (scale to zero)']);
  const atZero = applyIdle({ ...hold, desired: 1, action: 'scale-out' }, idle(0, { desired: 0 }));
  assert.deepEqual([atZero.desired, atZero.action, atZero.reason], [0, 'hold', ZERO_REASON]);
});

test('--min 0: no worker after --idle, the next request is held while one cold-starts, succeeds, and its wait is reported', async (t) => {
  const cpu = { value: 50 };
  const { lab, events, scales } = await startLab(t, { min: '0', idle: '1', scaleUp: '90', scaleDown: '1' }, cpu);
  await until('scaled to zero', () => lab.supervisor.desired === 0 && lab.supervisor.records().length === 0, 20_000);
  assert.match(scales().at(-1)?.reason ?? '', /^no request for \d+ s \(idle 1 s\): 1 → 0 \(scale to zero\)$/);

  const res = await request(`${lab.balancer.url}/`, { headersTimeout: 15_000 });
  assert.equal(res.statusCode, 200);
  await res.body.json();
  const cold = events.find((e): e is ColdStartEvent => e.type === 'cold-start');
  assert.ok(cold, 'a cold-start event');
  assert.equal(cold.fromZero, true);
  assert.equal(cold.held, 1);
  assert.ok(cold.waitedMs > 0);
  assert.match(formatPlainLine(cold) ?? '', /^\+\d\d:\d\d hold {5}cold start: first request waited \d+ ms \(1 request held while a worker started\)$/);
  const wake = scales().find((s) => s.from === 0);
  assert.equal(wake?.reason, 'a request is waiting and no worker runs: cold start 0 → 1');
  // Once warm, requests go straight through (nothing held).
  const again = await request(`${lab.balancer.url}/`);
  assert.equal(again.statusCode, 200);
  await again.body.dump();
  assert.ok(lab.balancer instanceof Balancer);
  assert.equal(lab.balancer.holdStats()?.total, 1);
});

test('requests that find no worker while the only one is being replaced are held, not failed', async (t) => {
  const cpu = { value: 50 };
  const { lab, events } = await startLab(t, { min: '1', max: '1', scaleUp: '90', scaleDown: '1' }, cpu);
  await until('one ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  const [only] = lab.supervisor.records();
  process.kill(only.pid!, 'SIGKILL');
  const replies = await Promise.all(
    Array.from({ length: 5 }, async () => {
      const res = await request(`${lab.balancer.url}/`, { headersTimeout: 15_000 });
      await res.body.dump();
      return res.statusCode;
    }),
  );
  assert.deepEqual(replies, [200, 200, 200, 200, 200]);
  const held = events.filter((e): e is ColdStartEvent => e.type === 'cold-start');
  assert.ok(held.length >= 1 && held.every((e) => !e.fromZero));
  assert.match(formatPlainLine(held[0]) ?? '', /requests? held until a worker was ready: the first waited \d+ ms/);
});

test('a request that arrives while the lab is still starting waits for its first worker: no cold start, no scale event before started', async (t) => {
  // The first reading primes the sampler (slowly, as systeminformation's does): a client is faster.
  let primed: () => void = () => {};
  const firstSample = new Promise<void>((resolve) => (primed = resolve));
  let samples = 0;
  const sampler = { sample: async () => (samples++ === 0 ? firstSample.then(() => 10) : 10) };
  const { lab, events } = await startLab(t, { min: '1' }, { value: 10 }, { sampler, run: false });
  const early = request(`${lab.balancer.url}/`, { headersTimeout: 15_000 });
  await until('the early request held', () => (lab.balancer as Balancer).holdStats()?.held === 1, 5000);
  const running = lab.run();
  primed();
  await running;
  const res = await early;
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  assert.equal(events[0]?.type, 'started', `first event: ${JSON.stringify(events[0])}`);
  const scales = events.filter((e) => e.type === 'scale');
  assert.deepEqual(scales, [], 'the first worker is the lab starting, not a cold start');
  const held = events.find((e): e is ColdStartEvent => e.type === 'cold-start');
  assert.equal(held?.fromZero, false);
  assert.match(formatPlainLine(held!) ?? '', /1 request held until a worker was ready: the first waited \d+ ms/);
});

test('--min 0: a client that pipelines and hangs up leaves nothing in flight, and the lab still scales to zero', async (t) => {
  const { lab } = await startLab(t, { min: '0', idle: '4', scaleUp: '90', scaleDown: '1' }, { value: 50 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  const socket = connect(lab.balancer.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => {});
  socket.write('GET /?work=200 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3));
  await until('the first request is at the worker', () => lab.balancer.traffic().inFlight > 0, 5000);
  socket.destroy();
  await until('nothing in flight', () => lab.balancer.traffic().inFlight === 0, 5000);
  await until('scaled to zero', () => lab.supervisor.desired === 0 && lab.supervisor.records().length === 0, 20_000);
});
