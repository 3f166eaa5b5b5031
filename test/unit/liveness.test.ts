import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Liveness } from '../../src/lab/liveness.js';

test('an unhealthy worker that keeps completing requests is held, not replaced; back to healthy clears it', () => {
  const l = new Liveness(10_000);
  l.observe([{ id: 1, requests: 0 }], 0);
  l.observe([{ id: 1, requests: 40 }], 8000);
  assert.equal(l.unhealthy(1, 9000), 'hold');
  assert.deepEqual(l.observe([{ id: 1, requests: 45 }], 12_000), [], 'still completing requests');
  assert.equal(l.healthy(1), true);
  assert.deepEqual(l.observe([{ id: 1, requests: 45 }], 30_000), [], 'healthy again: nothing to replace however idle');
});

test('a held worker that stops completing requests is replaced once the window passes', () => {
  const l = new Liveness(10_000);
  l.observe([{ id: 1, requests: 5 }], 0);
  l.observe([{ id: 1, requests: 9 }], 2000);
  assert.equal(l.unhealthy(1, 3000), 'hold');
  assert.deepEqual(l.observe([{ id: 1, requests: 9 }], 11_999), []);
  assert.deepEqual(l.observe([{ id: 1, requests: 9 }], 12_000), [1]);
  assert.deepEqual(l.observe([{ id: 1, requests: 9 }], 13_000), [], 'reported once');
});

test('a hung worker (no request completed for the window) is replaced at once; unknown or gone workers too', () => {
  const l = new Liveness(10_000);
  l.observe([{ id: 1, requests: 3 }, { id: 2, requests: 0 }], 0);
  assert.equal(l.unhealthy(1, 10_000), 'replace');
  assert.equal(l.unhealthy(9, 10_000), 'replace', 'never seen');
  assert.equal(l.unhealthy(2, 5000), 'hold');
  assert.deepEqual(l.observe([{ id: 1, requests: 3 }], 20_000), [], 'worker 2 left the balancer: forgotten');
});

test('a held worker that keeps failing with nothing in flight is broken, not busy: replaced after the idle window', () => {
  const l = new Liveness(10_000, 8000);
  l.observe([{ id: 1, requests: 10, inFlight: 3 }], 0);
  assert.equal(l.unhealthy(1, 1000), 'hold');
  assert.deepEqual(l.observe([{ id: 1, requests: 20, inFlight: 2 }], 2000), [], 'still working off its queue');
  assert.deepEqual(l.observe([{ id: 1, requests: 30, inFlight: 0 }], 3000), [], 'drained at 3 s');
  assert.deepEqual(l.observe([{ id: 1, requests: 40, inFlight: 0 }], 10_999), [], 'heartbeats keep coming, but no check passed yet');
  assert.deepEqual(l.observe([{ id: 1, requests: 41, inFlight: 0 }], 11_000), [1]);
});
