/** The two scaling rules (policy/rules.ts applyRule), one decision per table row; the memory around them is step.ts (policy-step.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRule, type PolicyConfig, type RuleContext, type Recommendation } from '../../src/policy/rules.js';
import type { MetricName } from '../../src/policy/metrics.js';

const threshold: PolicyConfig = {
  policy: 'threshold',
  min: 1,
  max: 5,
  scaleUp: 35,
  scaleDown: 15,
  cooldown: 15,
  target: 50,
  tolerance: 0.1,
  scaleDownWindow: 30,
  maxStepPods: 4,
  maxStepPercent: 100,
};
const target: PolicyConfig = { ...threshold, policy: 'target', max: 10 };
const state = (s: Partial<RuleContext>): RuleContext => ({ desired: 1, starting: 0, ready: s.desired ?? 1, warming: 0, lastScaleAt: null, recommendations: [], ...s });

type Row = [name: string, metric: MetricName, value: number | null, state: Partial<RuleContext>, desired: number, action: string, reason: string];

function check(config: PolicyConfig, rows: Row[], now = 100_000) {
  for (const [name, metric, value, s, desired, action, reason] of rows) {
    const d = applyRule({ metric, value }, state(s), config, now);
    assert.deepEqual({ desired: d.desired, action: d.action, reason: d.reason }, { desired, action, reason }, name);
  }
}

test('threshold policy on host CPU: one decision per row', () => {
  const now = 100_000;
  check(threshold, [
    ['above threshold scales out by one', 'host-cpu', 41, { desired: 2 }, 3, 'scale-out', 'cpu 41 % > 35 %: 2 → 3'],
    ['exactly at the threshold holds', 'host-cpu', 35, { desired: 2 }, 2, 'hold', 'cpu 35 % within 15 %–35 %: hold at 2'],
    ['in the band holds', 'host-cpu', 20, { desired: 3 }, 3, 'hold', 'cpu 20 % within 15 %–35 %: hold at 3'],
    ['at max holds', 'host-cpu', 90, { desired: 5 }, 5, 'hold', 'cpu 90 % > 35 % but already at max 5'],
    ['no scale-out while one is starting', 'host-cpu', 60, { desired: 2, ready: 1, starting: 1 }, 2, 'hold', 'cpu 60 % > 35 % but 1 worker still starting: wait'],
    ['below threshold scales in after cooldown', 'host-cpu', 12, { desired: 3, lastScaleAt: now - 16_000 }, 2, 'scale-in', 'cpu 12 % < 15 %: 3 → 2'],
    ['never scaled: no cooldown', 'host-cpu', 3, { desired: 2 }, 1, 'scale-in', 'cpu 3 % < 15 %: 2 → 1'],
    ['cooldown holds scale-in', 'host-cpu', 12, { desired: 3, lastScaleAt: now - 11_000 }, 3, 'hold', 'cpu 12 % < 15 % but cooldown 4 s left'],
    ['at min holds', 'host-cpu', 2.5, { desired: 1 }, 1, 'hold', 'cpu 2.5 % < 15 % but already at min 1'],
    ['missing sample holds', 'host-cpu', null, { desired: 2 }, 2, 'hold', 'no cpu sample this tick: hold at 2'],
    ['below min moves up whatever the cpu', 'host-cpu', 0, { desired: 0, ready: 0 }, 1, 'scale-out', 'below min 1: 0 → 1'],
    ['above max moves down whatever the cpu', 'host-cpu', 99, { desired: 7 }, 6, 'scale-in', 'above max 5: 7 → 6'],
    ['host CPU is not per worker: no flapping estimate', 'host-cpu', 14, { desired: 2 }, 1, 'scale-in', 'cpu 14 % < 15 %: 2 → 1'],
  ], now);
});

test('threshold policy on per-worker metrics: flapping protection and warm-up', () => {
  const narrow = { ...threshold, scaleUp: 40, scaleDown: 25 };
  check(narrow, [
    ['scale-in that would cross scale-up is refused', 'worker-cpu', 24, { desired: 2 }, 2, 'hold', 'worker-cpu 24 % < 25 %, but after scale-in ≈ 48 % > 40 %: hold (flapping protection)'],
    ['scale-in that stays below scale-up goes ahead', 'worker-cpu', 24, { desired: 3 }, 2, 'scale-in', 'worker-cpu 24 % < 25 %: 3 → 2'],
    ['rps too', 'rps', 21, { desired: 2 }, 2, 'hold', 'rps/worker 21 req/s < 25 req/s, but after scale-in ≈ 42 req/s > 40 req/s: hold (flapping protection)'],
    ['exactly reaching scale-up after scale-in is allowed', 'rps', 20, { desired: 2 }, 1, 'scale-in', 'rps/worker 20 req/s < 25 req/s: 2 → 1'],
    ['warming workers hold scale-in', 'worker-cpu', 5, { desired: 3, warming: 1 }, 3, 'hold', 'worker-cpu 3.3 % (5 % on 2 measured, 1 warming worker counted as idle) < 25 % but 1 worker still warming up: hold scale-in'],
    ['a warming worker counts as idle capacity before another scale-out', 'worker-cpu', 60, { desired: 2, warming: 1 }, 2, 'hold', 'worker-cpu 30 % (60 % on 1 measured, 1 warming worker counted as idle) within 25 %–40 %: hold at 2'],
    ['every ready worker warming: no value', 'worker-cpu', null, { desired: 2, warming: 2 }, 2, 'hold', 'every ready worker still warming up: hold at 2'],
  ]);
});

test('target policy (HPA rule): arithmetic in the reason, tolerance, max-step, clamp', () => {
  check(target, [
    ['ceil(current × metric / target)', 'worker-cpu', 71, { desired: 3 }, 5, 'scale-out', 'target: ceil(3 × 71 % / 50 %) = 5: 3 → 5'],
    ['within tolerance', 'worker-cpu', 48, { desired: 3 }, 3, 'hold', 'target: worker-cpu 48 % / 50 % = 0.96, within tolerance 0.1: hold at 3'],
    ['limited by max-step (double or +4, whichever is more)', 'worker-cpu', 400, { desired: 1 }, 5, 'scale-out', 'target: ceil(1 × 400 % / 50 %) = 8, limited to 5 by max-step: 1 → 5'],
    ['doubling beats +4 from 6', 'rps', 500, { desired: 6 }, 10, 'scale-out', 'target: ceil(6 × 500 req/s / 50 req/s) = 60, clamped to max 10: 6 → 10'],
    ['clamped to min', 'worker-cpu', 1, { desired: 3 }, 1, 'scale-in', 'target: ceil(3 × 1 % / 50 %) = 1: 3 → 1'],
    ['starting and warming workers count as idle capacity', 'worker-cpu', 90, { desired: 3, ready: 2, starting: 1, warming: 1 }, 3, 'hold', 'target: ceil(3 × 30 % / 50 %) = 2 (90 % on 1 measured, 2 starting/warming workers counted as idle), but 1 worker still warming up: hold scale-in'],
  ]);
});

test('target policy: scale-in only down to the highest recommendation in the stabilisation window', () => {
  const now = 100_000;
  const recent: Recommendation[] = [
    { at: now - 40_000, desired: 6 }, // outside the 30 s window
    { at: now - 20_000, desired: 4 },
    { at: now - 10_000, desired: 3 },
  ];
  check(target, [
    ['held by a recent higher recommendation', 'worker-cpu', 10, { desired: 4, recommendations: recent }, 4, 'hold', 'target: ceil(4 × 10 % / 50 %) = 1, but highest recommendation in the last 30 s is 4: hold at 4 (stabilisation window)'],
    ['partly held', 'worker-cpu', 10, { desired: 5, recommendations: recent }, 4, 'scale-in', 'target: ceil(5 × 10 % / 50 %) = 1, but highest recommendation in the last 30 s is 4: 5 → 4'],
  ], now);
});

/** Run a policy over a sequence of samples, feeding its decisions back as the daemon does. */
function simulate(config: PolicyConfig, metric: MetricName, values: Array<number | null>, tickMs = 3000) {
  let s = state({});
  let now = 0;
  const recs: Recommendation[] = [];
  const trace: number[] = [];
  for (const value of values) {
    now += tickMs;
    const d = applyRule({ metric, value }, { ...s, recommendations: recs.filter((r) => r.at > now - config.scaleDownWindow * 1000) }, config, now);
    if (d.recommendation !== null) recs.push({ at: now, desired: d.recommendation });
    if (d.desired !== s.desired) s = { ...s, desired: d.desired, ready: d.desired, lastScaleAt: now };
    trace.push(s.desired);
  }
  return trace;
}

test('threshold sequence: rises to max under load, falls back to min after it, one cooldown apart', () => {
  const trace = simulate(threshold, 'host-cpu', [...Array(6).fill(80), ...Array(30).fill(5)]);
  assert.deepEqual(trace.slice(0, 6), [2, 3, 4, 5, 5, 5]);
  // Last scale-out at 12 s; cooldown 15 s runs out at 27 s (the third low tick);
  // then a scale-in every 5 ticks (15 s at 3 s ticks) down to min.
  assert.deepEqual(trace.slice(6), [5, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('sequences: oscillating around a threshold, a spike, missing samples', () => {
  // Host CPU flickering across 35 %: one step up per crossing tick, never down (15 % is far away).
  assert.deepEqual(simulate(threshold, 'host-cpu', [36, 34, 36, 34, 36, 34]), [2, 2, 3, 3, 4, 4]);
  // Missing samples hold; they neither scale out nor in.
  assert.deepEqual(simulate(threshold, 'host-cpu', [null, null, 80, null, 5]), [1, 1, 2, 2, 2]);
  // Target policy: a one-tick spike (8× the target) jumps 1 → 5 at once (max-step), then per-worker load
  // falls to 10 req/s; the spike's recommendation (8) holds the capacity until it leaves the 30 s window.
  const spike = simulate(target, 'rps', [50, 400, ...Array(11).fill(10)]);
  assert.deepEqual(spike, [1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 1, 1]);
  // Target policy oscillating ±5 % around the target: within tolerance, never acts.
  assert.deepEqual(simulate({ ...target }, 'worker-cpu', [52, 48, 52, 48, 52]), [1, 1, 1, 1, 1]);
});

test('a reason never prints a comparison its own numbers contradict: the deciding decimals are shown', () => {
  check(threshold, [
    ['a hair over scale-up', 'host-cpu', 35.04, { desired: 2 }, 3, 'scale-out', 'cpu 35.04 % > 35 %: 2 → 3'],
    ['a hair under scale-down', 'host-cpu', 14.96, { desired: 2 }, 1, 'scale-in', 'cpu 14.96 % < 15 %: 2 → 1'],
    ['rounding up to the threshold is not enough', 'host-cpu', 35.4, { desired: 2 }, 3, 'scale-out', 'cpu 35.4 % > 35 %: 2 → 3'],
    ['far from it: as before', 'host-cpu', 41.3, { desired: 2 }, 3, 'scale-out', 'cpu 41 % > 35 %: 2 → 3'],
  ]);
  check({ ...threshold, scaleUp: 40, scaleDown: 25 }, [
    ['flapping estimate a hair over', 'rps', 20.01, { desired: 2 }, 2, 'hold', 'rps/worker 20 req/s < 25 req/s, but after scale-in ≈ 40.02 req/s > 40 req/s: hold (flapping protection)'],
  ]);
});

test('no traffic is the lowest load there is: an idle pool scales in on p95, under both rules, and says so', () => {
  const p95 = { ...threshold, scaleUp: 200, scaleDown: 50 };
  check(p95, [
    ['idle: read as 0, scale in', 'p95', null, { desired: 5, idle: true }, 4, 'scale-in', 'idle pool (no request this tick, so no p95 sample; read as 0): p95 0 ms < 50 ms: 5 → 4'],
    ['idle at min: hold', 'p95', null, { desired: 1, idle: true }, 1, 'hold', 'idle pool (no request this tick, so no p95 sample; read as 0): p95 0 ms < 50 ms but already at min 1'],
    ['not idle, no sample: hold as before', 'p95', null, { desired: 5 }, 5, 'hold', 'no p95 sample this tick: hold at 5'],
    ['no ready worker: nothing is idle', 'p95', null, { desired: 2, ready: 0, starting: 2, idle: true }, 2, 'hold', 'no p95 sample this tick: hold at 2'],
  ]);
  check({ ...target, target: 100 }, [
    ['target: ceil(n × 0 / target) clamps to min', 'p95', null, { desired: 5, idle: true }, 1, 'scale-in', 'idle pool (no request this tick, so no p95 sample; read as 0): target: ceil(5 × 0 ms / 100 ms) = 0, clamped to min 1: 5 → 1'],
  ]);
});
