import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeThreadsAt, levelAt, nextArrival, shareOf, type Profile } from '../../src/loadgen/profile.js';

const PEAK = 40;

test('each profile follows its definition over time', () => {
  const cases: { profile: Profile; points: [number, number][] }[] = [
    { profile: { name: 'constant' }, points: [[0, 40], [5, 40], [1e6, 40]] },
    {
      profile: { name: 'burst', base: 0, onSec: 5, offSec: 3 },
      // on [0,5), off [5,8), on [8,13), ...
      points: [[0, 40], [4.99, 40], [5, 0], [7.99, 0], [8, 40], [12.99, 40], [13, 0], [16, 40]],
    },
    { profile: { name: 'burst', base: 10, onSec: 1, offSec: 1 }, points: [[0.5, 40], [1.5, 10], [2.5, 40]] },
    {
      profile: { name: 'ramp', base: 0, rampSec: 10 },
      points: [[0, 0], [2.5, 10], [5, 20], [7.5, 30], [10, 40], [20, 40]],
    },
    { profile: { name: 'ramp', base: 10, rampSec: 30 }, points: [[0, 10], [15, 25], [30, 40]] },
    {
      profile: { name: 'step', base: 0, steps: 4, stepSec: 10 },
      points: [[0, 10], [9.99, 10], [10, 20], [20, 30], [30, 40], [39.99, 40], [100, 40]],
    },
    { profile: { name: 'step', base: 20, steps: 2, stepSec: 5 }, points: [[0, 30], [5, 40]] },
    { profile: { name: 'step', base: 0, steps: 1, stepSec: 5 }, points: [[0, 40], [6, 40]] },
    {
      profile: { name: 'spike', base: 4, atSec: 10, lengthSec: 2 },
      points: [[0, 4], [9.99, 4], [10, 40], [11.99, 40], [12, 4], [100, 4]],
    },
    {
      profile: { name: 'sine', base: 0, periodSec: 20 },
      points: [[0, 0], [5, 20], [10, 40], [15, 20], [20, 0], [30, 40]],
    },
    { profile: { name: 'sine', base: 10, periodSec: 4 }, points: [[0, 10], [1, 25], [2, 40]] },
  ];
  for (const { profile, points } of cases) {
    for (const [t, expected] of points) {
      const got = levelAt(profile, PEAK, t);
      assert.ok(Math.abs(got - expected) < 1e-9, `${JSON.stringify(profile)} at t=${t}: expected ${expected}, got ${got}`);
    }
  }
});

test('closed loop: active threads are the level rounded and kept within 0..threads', () => {
  const ramp: Profile = { name: 'ramp', base: 0, rampSec: 10 };
  assert.equal(activeThreadsAt(ramp, 20, 0), 0);
  assert.equal(activeThreadsAt(ramp, 20, 0.26), 1); // 0.52 -> 1
  assert.equal(activeThreadsAt(ramp, 20, 5), 10);
  assert.equal(activeThreadsAt(ramp, 20, 99), 20);
  assert.equal(activeThreadsAt({ name: 'constant' }, 7, 3), 7);
  assert.equal(activeThreadsAt({ name: 'spike', base: 2, atSec: 1, lengthSec: 1 }, 20, 0.5), 2);
  assert.equal(activeThreadsAt({ name: 'spike', base: 2, atSec: 1, lengthSec: 1 }, 20, 1.5), 20);
});

test('shareOf splits units i -> shard i mod shards, exactly covering the total', () => {
  assert.deepEqual([0, 1, 2].map((s) => shareOf(10, s, 3)), [4, 3, 3]);
  assert.deepEqual([0, 1, 2].map((s) => shareOf(2, s, 3)), [1, 1, 0]);
  assert.deepEqual([0, 1].map((s) => shareOf(0, s, 2)), [0, 0]);
  for (let total = 0; total < 50; total++) {
    for (let shards = 1; shards <= 5; shards++) {
      let sum = 0;
      for (let s = 0; s < shards; s++) sum += shareOf(total, s, shards);
      assert.equal(sum, total, `total ${total} over ${shards} shards`);
    }
  }
});

function arrivals(rateAt: (t: number) => number, endSec: number): number[] {
  const times: number[] = [];
  let t = nextArrival(0, rateAt, endSec);
  while (t !== null) {
    times.push(t);
    t = nextArrival(t, rateAt, endSec);
  }
  return times;
}

test('open loop arrivals: a constant rate gives exactly rate x duration, evenly spaced', () => {
  const times = arrivals(() => 500, 10);
  // The 5000th arrival falls exactly at t = 10 (the end), which is excluded.
  assert.ok(times.length === 4999 || times.length === 5000, `got ${times.length}`);
  assert.ok(Math.abs(times[0] - 0.002) < 1e-9);
  for (let i = 1; i < 100; i++) assert.ok(Math.abs(times[i] - times[i - 1] - 0.002) < 1e-9);
});

test('open loop arrivals follow a shaped rate: ramp from 0 and bursts with pauses', () => {
  // Ramp 0 -> 1000 req/s over 10 s: integral 5000; the first half holds a quarter of them.
  const ramp = arrivals((t) => levelAt({ name: 'ramp', base: 0, rampSec: 10 }, 1000, t), 10);
  assert.ok(Math.abs(ramp.length - 5000) <= 2, `ramp total ${ramp.length}`);
  const firstHalf = ramp.filter((t) => t < 5).length;
  assert.ok(Math.abs(firstHalf - 1250) <= 2, `ramp first half ${firstHalf}`);
  // The first arrival is where the integral 50·t² reaches 1: t = sqrt(1/50) (not a full 1/rate(0) = infinite wait).
  assert.ok(Math.abs(ramp[0] - Math.sqrt(1 / 50)) < 0.002, `first ramp arrival at ${ramp[0]}`);

  // Burst 200 req/s for 1 s, 0 for 1 s: nothing scheduled during the pauses.
  const burst = arrivals((t) => levelAt({ name: 'burst', base: 0, onSec: 1, offSec: 1 }, 200, t), 4);
  assert.ok(Math.abs(burst.length - 400) <= 1, `burst total ${burst.length}`);
  assert.equal(burst.filter((t) => (t > 1.001 && t < 2) || (t > 3.001 && t < 4)).length, 0);
});

test('open loop arrivals: none when the rate stays 0, and very high rates are exact', () => {
  assert.equal(nextArrival(0, () => 0, 5), null);
  const fast = arrivals(() => 100_000, 0.5);
  assert.ok(Math.abs(fast.length - 50_000) <= 1, `got ${fast.length}`);
});
