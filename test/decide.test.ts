import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type PolicyState, type Sample } from '../src/scaler/decide.js';

const config = { min: 1, max: 5, scaleUp: 35, scaleDown: 15, cooldown: 15 };
const cpu = (value: number | null): Sample => ({ label: 'cpu', value, unit: ' %' });
const state = (s: Partial<PolicyState>): PolicyState => ({ desired: 1, starting: 0, ready: 1, lastScaleAt: null, ...s });

test('threshold policy: one decision per row', () => {
  const now = 100_000;
  const rows: Array<[string, number | null, Partial<PolicyState>, number, string, string]> = [
    // name, cpu, state, desired, action, reason
    ['above threshold scales out by one', 41, { desired: 2, ready: 2 }, 3, 'scale-out', 'cpu 41 % > 35 %: 2 → 3'],
    ['exactly at the threshold holds', 35, { desired: 2 }, 2, 'hold', 'cpu 35 % within 15–35 %: hold at 2'],
    ['in the band holds', 20, { desired: 3 }, 3, 'hold', 'cpu 20 % within 15–35 %: hold at 3'],
    ['at max holds', 90, { desired: 5, ready: 5 }, 5, 'hold', 'cpu 90 % > 35 % but already at max 5'],
    ['no scale-out while one is starting', 60, { desired: 2, ready: 1, starting: 1 }, 2, 'hold', 'cpu 60 % > 35 % but 1 worker still starting: wait'],
    ['below threshold scales in after cooldown', 12, { desired: 3, lastScaleAt: now - 16_000 }, 2, 'scale-in', 'cpu 12 % < 15 %: 3 → 2'],
    ['never scaled: no cooldown', 3, { desired: 2 }, 1, 'scale-in', 'cpu 3 % < 15 %: 2 → 1'],
    ['cooldown holds scale-in', 12, { desired: 3, lastScaleAt: now - 11_000 }, 3, 'hold', 'cpu 12 % < 15 % but cooldown 4 s left'],
    ['at min holds', 2.5, { desired: 1 }, 1, 'hold', 'cpu 2.5 % < 15 % but already at min 1'],
    ['missing sample holds', null, { desired: 2 }, 2, 'hold', 'no cpu sample this tick: hold at 2'],
    ['below min moves up whatever the cpu', 0, { desired: 0 }, 1, 'scale-out', 'below min 1: 0 → 1'],
    ['above max moves down whatever the cpu', 99, { desired: 7 }, 6, 'scale-in', 'above max 5: 7 → 6'],
  ];
  for (const [name, value, s, desired, action, reason] of rows) {
    const d = decide(cpu(value), state(s), config, now);
    assert.deepEqual(d, { desired, action, reason }, name);
  }
});

test('threshold policy: a sequence rises to max under load and falls back to min after it', () => {
  let s = state({});
  let now = 0;
  const trace: number[] = [];
  const run = (value: number, ticks: number) => {
    for (let i = 0; i < ticks; i++) {
      now += 3000;
      const d = decide(cpu(value), s, config, now);
      if (d.desired !== s.desired) s = { ...s, desired: d.desired, ready: d.desired, lastScaleAt: now };
      trace.push(s.desired);
    }
  };
  run(80, 6);
  run(5, 30);
  assert.deepEqual(trace.slice(0, 6), [2, 3, 4, 5, 5, 5]);
  // Last scale-out at 12 s; cooldown 15 s runs out at 27 s (the third low tick);
  // then a scale-in every 5 ticks (15 s at 3 s ticks) down to min.
  assert.deepEqual(trace.slice(6), [5, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
});
