import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { candidatePorts, findFreePort, isPortFree } from '../../src/supervisor/ports.js';

test('candidate ports skip our own workers and stop at the limit', () => {
  assert.deepEqual([...candidatePorts(5000, new Set([5000, 5002]), 4)], [5001, 5003, 5004, 5005]);
  assert.deepEqual([...candidatePorts(65_534, new Set(), 10)], [65_534, 65_535]);
  // Privileged ports are never candidates (and not mistaken for "taken").
  assert.deepEqual([...candidatePorts(1022, new Set(), 3)], [1024, 1025, 1026]);
});

test('a port that cannot be bound for another reason is a clear error, not "taken"', async () => {
  const denied = async () => {
    throw Object.assign(new Error('listen EACCES'), { code: 'EACCES' });
  };
  await assert.rejects(findFreePort('127.0.0.1', 5000, new Set(), 3, denied), { code: 'AS_ERR_NO_FREE_PORT', message: /cannot bind 127\.0\.0\.1:5000 \(EACCES\)/ });
});

test('a port taken by something else is skipped, not fatal', async (t) => {
  const taken = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  const base = (taken.address() as { port: number }).port;
  assert.equal(await isPortFree('127.0.0.1', base), false);
  const port = await findFreePort('127.0.0.1', base, new Set());
  assert.ok(port > base, `expected a port above the taken ${base}, got ${port}`);
  assert.equal(await isPortFree('127.0.0.1', port), true);
});

test('gives up with a coded error when every candidate is taken', async () => {
  await assert.rejects(findFreePort('127.0.0.1', 5000, new Set(), 3, async () => false), { code: 'AS_ERR_NO_FREE_PORT' });
});
