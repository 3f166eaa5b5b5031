import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { HealthCheckLoop, type ProbeResult } from '../../src/balancer/health-check.js';

/** Let the probe's promise chain settle (setImmediate is not mocked). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('health loop: one probe per interval, none before start, none after stop', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  let probes = 0;
  const results: ProbeResult[] = [];
  const loop = new HealthCheckLoop(async () => ({ ok: ++probes % 2 === 1, detail: `probe ${probes}` }), 2000, (r) => results.push(r));

  mock.timers.tick(10_000);
  assert.equal(probes, 0, 'not started: no probe');

  loop.start();
  mock.timers.tick(1999);
  await settle();
  assert.equal(probes, 0, 'the first check waits one interval');
  mock.timers.tick(1);
  await settle();
  assert.equal(probes, 1);
  for (let i = 0; i < 4; i++) {
    mock.timers.tick(2000);
    await settle();
  }
  assert.equal(probes, 5);
  assert.deepEqual(results.map((r) => r.ok), [true, false, true, false, true]);

  loop.stop();
  mock.timers.tick(20_000);
  await settle();
  assert.equal(probes, 5, 'stopped: no more probes');
});

test('health loop: a slow probe delays the next one (checks never overlap); its result is dropped after stop', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  let started = 0;
  let release: ((r: ProbeResult) => void) | null = null;
  const results: ProbeResult[] = [];
  const loop = new HealthCheckLoop(
    () => {
      started++;
      return new Promise<ProbeResult>((resolve) => (release = resolve));
    },
    1000,
    (r) => results.push(r),
  );
  loop.start();
  mock.timers.tick(1000);
  await settle();
  assert.equal(started, 1);
  mock.timers.tick(5000);
  await settle();
  assert.equal(started, 1, 'no second probe while the first is pending');
  (release as unknown as (r: ProbeResult) => void)({ ok: true, detail: 'late' });
  await settle();
  assert.equal(results.length, 1);
  mock.timers.tick(1000);
  await settle();
  assert.equal(started, 2, 'next probe one interval after the previous finished');
  loop.stop();
  (release as unknown as (r: ProbeResult) => void)({ ok: false, detail: 'after stop' });
  await settle();
  assert.equal(results.length, 1, 'a result arriving after stop is ignored');
});

test('health loop: a probe that throws counts as a failed check', async (t) => {
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const results: ProbeResult[] = [];
  const loop = new HealthCheckLoop(() => Promise.reject(new Error('boom')), 500, (r) => results.push(r));
  t.after(() => loop.stop());
  loop.start();
  mock.timers.tick(500);
  await settle();
  assert.equal(results.length, 1);
  assert.equal(results[0].ok, false);
  assert.match(results[0].detail, /boom/);
});
