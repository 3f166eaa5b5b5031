import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Liveness } from '../src/lab/liveness.js';

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
