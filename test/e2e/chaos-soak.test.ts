/**
 * The leak soak in npm test: 60 s of load with forced scale cycles every 3 s;
 * the daemon's heap after GC, RSS and fds and the longest-lived worker's RSS
 * and fds must be flat after the first 20 s (wide margins), no zombies, 0 failed.
 * `npm run chaos -- --soak 600` is the 10-minute version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failures, formatTable } from '../../chaos/report.js';
import { soak } from '../../chaos/soak.js';

test('soak: 60 s of load and scale cycles, memory/fds flat, no zombies, 0 failed', { timeout: 180_000 }, async (t) => {
  const result = await soak({ short: true, log: () => {} }, 60);
  for (const line of formatTable([result]).trim().split('\n')) t.diagnostic(line);
  for (const s of result.samples) t.diagnostic(JSON.stringify(s));
  const f = failures(result);
  assert.equal(f, null, f?.text);
});
