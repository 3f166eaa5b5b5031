import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure, type ObservedWorker } from '../../src/policy/measure.js';

const w = (o: Partial<ObservedWorker> & { id: number }): ObservedWorker => ({ state: 'ready', readyAt: 0, cpu: null, rps: 0, inFlight: 0, ...o });
const noLatency = { p50: null, p95: null, p99: null };

test('per-worker averages cover ready workers past warm-up only', () => {
  const m = measure(
    {
      t: 20_000,
      hostCpu: 55,
      latency: { p50: 3, p95: 12.5, p99: 20 },
      workers: [
        w({ id: 1, readyAt: 1000, cpu: 80, rps: 100, inFlight: 4 }),
        w({ id: 2, readyAt: 2000, cpu: 40, rps: 50, inFlight: 2 }),
        w({ id: 3, readyAt: 17_000, cpu: 5, rps: 3, inFlight: 1 }), // warming: 3 s of 6
        w({ id: 4, state: 'starting', readyAt: null }),
        w({ id: 5, state: 'draining', readyAt: 0, cpu: 90, rps: 17 }),
      ],
    },
    6000,
  );
  assert.deepEqual(m.values, { 'host-cpu': 55, 'worker-cpu': 60, rps: (100 + 50) / 2, concurrency: 3, p95: 12.5 });
  assert.equal(m.warming, 1);
  assert.equal(m.measured, 2);
});

test('nothing measurable gives nulls, not zeros', () => {
  const m = measure({ t: 1000, hostCpu: null, latency: noLatency, workers: [w({ id: 1, readyAt: 500, cpu: 30, rps: 7 })] }, 6000);
  assert.deepEqual(m.values, { 'host-cpu': null, 'worker-cpu': null, rps: null, concurrency: null, p95: null });
  assert.equal(m.warming, 1);
  const later = measure({ t: 9000, hostCpu: 10, latency: noLatency, workers: [w({ id: 1, readyAt: 500, rps: 7 })] }, 6000);
  assert.equal(later.values.rps, 7);
  assert.equal(later.values['worker-cpu'], null);
});
