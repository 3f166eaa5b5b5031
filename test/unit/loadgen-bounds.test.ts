/**
 * The load generator stays bounded whatever the target does: an open loop
 * against a dead or stalled target keeps a constant-size backlog (overflow
 * counted as unsent, every scheduled arrival accounted for), and a duration
 * beyond what Node timers can hold is refused instead of ending the run at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { LoadEngine, MAX_BACKLOG, type EngineConfig } from '../../src/loadgen/engine.js';
import { MAX_RATE, parseLoadOptions } from '../../src/loadgen/options.js';
import { AutoscaleError } from '../../src/errors.js';
import { startTarget } from '../fixtures/loadgen-server.js';
import { closedPort } from '../helpers.js';

function openLoop(origin: string, rate: number, durationSec: number, maxBacklog?: number): EngineConfig {
  return {
    origin,
    path: '/',
    method: 'GET',
    headers: [],
    body: null,
    timeoutMs: 60_000,
    durationSec,
    mode: 'open',
    threads: 2,
    rate,
    profile: { name: 'constant' },
    shard: 0,
    shards: 1,
    maxBacklog,
  };
}

async function runEngine(cfg: EngineConfig) {
  const engine = new LoadEngine(cfg);
  let maxPending = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  let heapMax = heapBefore;
  const probe = setInterval(() => {
    maxPending = Math.max(maxPending, engine.pending);
    heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
  }, 20);
  engine.start(performance.now());
  await new Promise((r) => setTimeout(r, cfg.durationSec * 1000 + 50));
  const before = engine.collect();
  await engine.stop(true);
  clearInterval(probe);
  const after = engine.collect();
  return { sent: before.sent + after.sent, unsent: before.unsent + after.unsent, aborted: before.aborted + after.aborted, maxPending, heapGrowth: heapMax - heapBefore };
}

test('open loop against a stalled target: the backlog never exceeds its cap, overflow is unsent, every arrival is counted', async (t) => {
  const target = await startTarget(t, { kind: 'delay', ms: 60_000 });
  const rate = 20_000;
  const r = await runEngine(openLoop(new URL(target.url).origin, rate, 1.5, 2000));
  t.diagnostic(`sent ${r.sent}, unsent ${r.unsent}, max backlog ${r.maxPending}, heap growth ${(r.heapGrowth / 1e6).toFixed(1)} MB`);
  assert.ok(r.maxPending <= 2000, `backlog reached ${r.maxPending}`);
  assert.ok(r.sent <= 2, 'both connections hang on their first request');
  // 20 000 req/s for 1.5 s is 30 000 arrivals, all either sent or unsent (the pump may stop within a ms of the end).
  const total = r.sent + r.unsent;
  assert.ok(total >= 29_000 && total <= 30_000, `accounted for ${total} of 30 000 arrivals`);
  assert.equal(r.aborted, r.sent, 'the hung requests were cancelled at stop');
});

test('open loop against a dead target: memory stays flat (constant-size backlog), the default cap holds', async (t) => {
  const port = await closedPort();
  // 60 000 req/s for 2 s: 120 000 arrivals, more than the default cap of MAX_BACKLOG.
  const r = await runEngine(openLoop(`http://127.0.0.1:${port}`, 60_000, 2));
  t.diagnostic(`sent ${r.sent}, unsent ${r.unsent}, max backlog ${r.maxPending}, heap growth ${(r.heapGrowth / 1e6).toFixed(1)} MB`);
  assert.ok(r.maxPending <= MAX_BACKLOG);
  assert.ok(r.unsent > 100_000, `unsent ${r.unsent}`);
  // A number per arrival was ~1 MB per 120 000; the bounded backlog holds two numbers. Wide margin for GC noise.
  assert.ok(r.heapGrowth < 20e6, `heap grew ${r.heapGrowth} bytes`);
});

test('--duration beyond 24h is a usage error (600h used to overflow setTimeout and stop sending at once)', () => {
  assert.equal(parseLoadOptions(undefined, { duration: '24h' }).durationSec, 86_400);
  for (const duration of ['600h', '86401', '1441m']) {
    assert.throws(
      () => parseLoadOptions(undefined, { duration }),
      (err: unknown) => err instanceof AutoscaleError && err.code === 'AS_ERR_USAGE' && /--duration must be at most 24h/.test(err.message),
      duration,
    );
  }
});

test('--rate above 100000 req/s is refused at once (exit 2); 100000 req/s against a dead port ends on time', async () => {
  assert.throws(() => parseLoadOptions(undefined, { rate: '1000000000', duration: '3' }), (err: unknown) => err instanceof AutoscaleError && err.exitCode === 2 && /^--rate must be at most 100000 req\/s \(received 1000000000\)/.test(err.message));
  assert.equal(parseLoadOptions(undefined, { rate: String(MAX_RATE) }).rate, MAX_RATE);
  const port = await closedPort();
  const t0 = performance.now();
  const r = await runEngine(openLoop(`http://127.0.0.1:${port}`, MAX_RATE, 2));
  const ms = performance.now() - t0;
  // Used to grow with the rate (1e9 req/s for 3 s ran 55 s). At the cap it is the duration plus the stop.
  assert.ok(ms < 5000, `took ${Math.round(ms)} ms for a 2 s run`);
  assert.ok(r.unsent > 0);
});
