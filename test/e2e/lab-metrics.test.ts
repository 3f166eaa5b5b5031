/** One real run per per-worker metric: real load scales the lab out, and it scales back in when the load stops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLoop, startLab, until } from '../helpers.js';

const common = { min: '1', max: '3', interval: '0.5', cooldown: '0', warmup: '1' };

test('threshold on worker-cpu: busy workers scale out, idle ones scale back in', async (t) => {
  // Host CPU is held in the band so that only the worker-cpu metric can act.
  const { lab, scales, ticks } = await startLab(t, { ...common, metric: 'worker-cpu', 'scaleUp': '50', scaleDown: '10', work: '20' }, { value: 25 });
  await until('a ready worker', () => lab.supervisor.counts().ready === 1);
  const load = loadLoop(lab.balancer.url, 4, 40_000);
  try {
    await until('scaled out on worker-cpu', () => scales().some((s) => s.direction === 'out'), 20_000);
  } finally {
    const r = await load.stop();
    assert.deepEqual(r.failures, []);
  }
  const out = scales().find((s) => s.direction === 'out')!;
  // A value a hair over 50 is printed with the decimals that decided it (never "50 % > 50 %").
  assert.match(out.reason, /^worker-cpu [\d.]+ % (\(.*\) )?> 50 %: 1 → 2$/);
  await until('back to 1 worker', () => lab.supervisor.desired === 1 && lab.supervisor.records().length === 1, 20_000);
  // Either a tick still carried the workers' last samples, or the pool was already idle (no sample: read as 0, and said so).
  assert.match(scales().at(-1)!.reason, /^(idle pool \(no request this tick, so no worker-cpu sample; read as 0\): )?worker-cpu [\d.]+ % < 10 %: 2 → 1$/);
  // Every tick shows every metric, whichever drives scaling.
  assert.deepEqual(Object.keys(ticks().at(-1)!.metrics).sort(), ['concurrency', 'host-cpu', 'p95', 'rps', 'worker-cpu']);
});

test('target on rps: request rate per worker drives the count, and it drops back after the window', async (t) => {
  const { lab, scales } = await startLab(
    t,
    { ...common, metric: 'rps', policy: 'target', target: '40', 'scaleDownWindow': '2', work: '0' },
    { value: 25 },
  );
  await until('a ready worker', () => lab.supervisor.counts().ready === 1);
  const load = loadLoop(lab.balancer.url, 2, 40_000);
  try {
    await until('scaled out on rps', () => scales().some((s) => s.direction === 'out'), 20_000);
  } finally {
    const r = await load.stop();
    assert.deepEqual(r.failures, []);
  }
  assert.match(scales().find((s) => s.direction === 'out')!.reason, /^target: ceil\(1 × \d+ req\/s \/ 40 req\/s\) = \d+.*: 1 → [23]$/);
  await until('back to 1 worker', () => lab.supervisor.desired === 1, 20_000);
  assert.match(scales().at(-1)!.reason, /^target: ceil\(\d × [\d.]+ req\/s \/ 40 req\/s\) = \d+.*→ 1$/);
});
