/**
 * The lab end to end, in process: real balancer, real worker processes, a
 * scripted CPU sampler so the scaling decisions are deterministic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { isAlive, loadLoop, startLab, until } from '../helpers.js';

test('forwards to two workers in turn after a forced scale-out', async (t) => {
  const cpu = { value: 20 };
  const { lab } = await startLab(t, { max: '3' }, cpu);
  await until('first worker ready', () => lab.supervisor.counts().ready === 1);
  assert.equal(lab.scale(1), 2);
  await until('second worker ready', () => lab.supervisor.counts().ready === 2);
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await request(lab.balancer.url);
    const body = (await res.body.json()) as { id: number; port: number; pid: number };
    assert.equal(res.statusCode, 200);
    seen.push(`${body.id}`);
    assert.match(String(res.headers['x-served-by']), new RegExp(`${body.id}.*${body.port}`));
  }
  // Round-robin: strictly alternating between the two workers.
  assert.equal(new Set(seen).size, 2);
  for (let i = 2; i < seen.length; i++) assert.equal(seen[i], seen[i - 2]);
  assert.notEqual(seen[0], seen[1]);
});

test('scales out one step per tick under high CPU to max, and back to min once it drops, explaining each step', async (t) => {
  const cpu = { value: 80 };
  const { lab, scales, events } = await startLab(t, { max: '3' }, cpu);
  await until('3 ready workers', () => lab.supervisor.counts().ready === 3, 20_000);
  cpu.value = 5;
  await until('back to 1 worker', () => lab.supervisor.records().length === 1, 20_000);
  const steps = scales().map((s) => `${s.from}→${s.to}`);
  assert.deepEqual(steps, ['1→2', '2→3', '3→2', '2→1']);
  assert.match(scales()[0].reason, /cpu 80 % > 35 %: 1 → 2/);
  assert.match(scales()[2].reason, /cpu 5 % < 15 %: 3 → 2/);
  const ticks = events.filter((e) => e.type === 'tick');
  assert.ok(ticks.some((e) => e.type === 'tick' && /still starting: wait|already at max 3|still warming up: hold scale-in/.test(e.reason)), 'some tick explains why it did not act');
});

test('scale-in under steady load loses no request', async (t) => {
  const cpu = { value: 80 };
  const { lab, workers } = await startLab(t, { max: '3', work: '5' }, cpu);
  await until('3 ready workers', () => lab.supervisor.counts().ready === 3, 20_000);
  const load = loadLoop(lab.balancer.url, 6, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  cpu.value = 2;
  await until('scaled in to 1', () => lab.supervisor.records().length === 1, 20_000);
  await new Promise((r) => setTimeout(r, 300));
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  assert.ok(result.ok > 100, `only ${result.ok} requests completed`);
  // Both retired workers went through draining before they stopped.
  const drained = workers().filter((e) => e.state === 'draining').map((e) => e.id);
  assert.equal(drained.length, 2);
  assert.ok(workers().filter((e) => e.from === 'draining').every((e) => /drained \d+ in-flight/.test(e.detail)));
});

test('a worker SIGKILLed under load is replaced and no idempotent request fails', async (t) => {
  const cpu = { value: 20 };
  const { lab, workers } = await startLab(t, { min: '2', max: '2', work: '5' }, cpu);
  await until('2 ready workers', () => lab.supervisor.counts().ready === 2, 20_000);
  const load = loadLoop(lab.balancer.url, 6, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  const victim = lab.supervisor.records()[0];
  process.kill(victim.pid!, 'SIGKILL');
  await until('a replacement ready', () => workers().some((e) => e.id > 2 && e.state === 'ready'), 20_000);
  await new Promise((r) => setTimeout(r, 300));
  const result = await load.stop();
  assert.deepEqual(result.failures, []);
  assert.ok(result.ok > 50);
  assert.equal(isAlive(victim.pid!), false);
  const crash = workers().find((e) => e.id === victim.id && e.state === 'crashed');
  assert.match(crash?.detail ?? '', /SIGKILL/);
  const replacement = lab.supervisor.records().find((w) => w.id > 2);
  assert.equal(replacement?.restarts, 1);
});
