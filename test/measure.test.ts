import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure, type ObservedWorker } from '../src/scaler/measure.js';

const w = (o: Partial<ObservedWorker> & { id: number }): ObservedWorker => ({ state: 'ready', readyAt: 0, cpu: null, requests: 0, inFlight: 0, rps: 0, ...o });

test('per-worker averages cover ready workers past warm-up only', () => {
  const m = measure({
    now: 20_000,
    warmupMs: 6000,
    hostCpu: 55,
    p95: 12.5,
    workers: [
      w({ id: 1, readyAt: 1000, cpu: 80, requests: 900, inFlight: 4 }),
      w({ id: 2, readyAt: 2000, cpu: 40, requests: 600, inFlight: 2 }),
      w({ id: 3, readyAt: 17_000, cpu: 5, requests: 10, inFlight: 1 }), // warming: 3 s of 6
      w({ id: 4, state: 'starting', readyAt: null }),
      w({ id: 5, state: 'draining', readyAt: 0, cpu: 90, requests: 50 }),
    ],
    previous: new Map([
      [1, { at: 17_000, requests: 600 }],
      [2, { at: 17_000, requests: 450 }],
    ]),
  });
  assert.deepEqual(m.values, { 'host-cpu': 55, 'worker-cpu': 60, rps: (100 + 50) / 2, concurrency: 3, p95: 12.5 });
  assert.equal(m.warming, 1);
  assert.equal(m.measured, 2);
  assert.deepEqual(m.next.get(3), { at: 20_000, requests: 10 });
});

test('nothing measurable gives nulls, not zeros', () => {
  const m = measure({ now: 1000, warmupMs: 6000, hostCpu: null, p95: null, workers: [w({ id: 1, readyAt: 500, cpu: 30, rps: 7 })], previous: new Map() });
  assert.deepEqual(m.values, { 'host-cpu': null, 'worker-cpu': null, rps: null, concurrency: null, p95: null });
  assert.equal(m.warming, 1);
  // Past warm-up with no previous count: the last full second's rate stands in.
  const later = measure({ now: 9000, warmupMs: 6000, hostCpu: 10, p95: null, workers: [w({ id: 1, readyAt: 500, rps: 7 })], previous: new Map() });
  assert.equal(later.values.rps, 7);
  assert.equal(later.values['worker-cpu'], null);
});
