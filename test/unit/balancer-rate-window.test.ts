import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateWindow } from '../../src/balancer/rate-window.js';

type Step = { at: number; record?: number } | { at: number; rps: number; rpm: number };

function run(steps: Step[]): void {
  const w = new RateWindow(60);
  for (const s of steps) {
    if ('rps' in s) {
      assert.equal(w.last(1, s.at), s.rps, `rps at ${s.at} ms`);
      assert.equal(w.last(60, s.at), s.rpm, `rpm at ${s.at} ms`);
    } else {
      w.record(s.at, s.record ?? 1);
    }
  }
}

test('rate window: rps is the last full second, rpm the 60 full seconds before now', () => {
  const cases: Array<{ name: string; steps: Step[] }> = [
    { name: 'empty', steps: [{ at: 0, rps: 0, rpm: 0 }, { at: 123_456, rps: 0, rpm: 0 }] },
    {
      name: 'the second in progress is not counted until it is over',
      steps: [{ at: 10_100, record: 5 }, { at: 10_900, rps: 0, rpm: 0 }, { at: 11_000, rps: 5, rpm: 5 }, { at: 11_999, rps: 5, rpm: 5 }, { at: 12_000, rps: 0, rpm: 5 }],
    },
    {
      name: 'a steady 10/s for two minutes reads 10 rps and 600 rpm, not a lifetime total',
      steps: [
        ...Array.from({ length: 120 }, (_, s) => ({ at: s * 1000 + 500, record: 10 })),
        { at: 120_000, rps: 10, rpm: 600 },
      ],
    },
    {
      name: 'a burst leaves the minute exactly 60 s after its second ended',
      steps: [
        { at: 5_000, record: 100 },
        { at: 6_000, rps: 100, rpm: 100 },
        { at: 65_999, rps: 0, rpm: 100 },
        { at: 66_000, rps: 0, rpm: 0 },
      ],
    },
    {
      name: 'a long idle gap clears the whole ring',
      steps: [{ at: 1_000, record: 7 }, { at: 500_000, record: 1 }, { at: 501_000, rps: 1, rpm: 1 }],
    },
    {
      name: 'a clock stepping back counts into the newest second',
      steps: [{ at: 9_500, record: 1 }, { at: 8_000, record: 1 }, { at: 10_000, rps: 2, rpm: 2 }],
    },
    {
      name: 'ring slots are reused without leaking old counts',
      steps: [{ at: 0, record: 3 }, { at: 61_000, record: 4 }, { at: 62_000, rps: 4, rpm: 4 }],
    },
  ];
  for (const c of cases) {
    try {
      run(c.steps);
    } catch (err) {
      (err as Error).message = `${c.name}: ${(err as Error).message}`;
      throw err;
    }
  }
});

test('rate window: last(n) for any span up to the window; the ring stays bounded', () => {
  const w = new RateWindow(60);
  for (let s = 0; s < 60; s++) w.record(s * 1000, s + 1); // second s holds s+1
  const now = 60_000;
  assert.equal(w.last(1, now), 60);
  assert.equal(w.last(3, now), 60 + 59 + 58);
  assert.equal(w.last(60, now), (60 * 61) / 2);
  assert.equal(w.last(1000, now), (60 * 61) / 2, 'a span beyond the window is capped at the window');
  assert.equal(w.last(0, now), 0);
});

test('rate window: rejects a non-positive size', () => {
  assert.throws(() => new RateWindow(0), RangeError);
  assert.throws(() => new RateWindow(1.5), RangeError);
});

test('rate window spread: a count over an interval goes to each second by its overlap', () => {
  const w = new RateWindow(60);
  w.spread(3500, 4500, 100);
  assert.equal(w.last(1, 4600), 50, 'second 3 got the half from 3.5 s to 4 s');
  assert.equal(w.last(1, 5000), 50, 'second 4 the other half');
  assert.equal(w.last(60, 5000), 100);
  const z = new RateWindow(60);
  z.spread(7000, 7000, 9);
  assert.equal(z.last(1, 8000), 9, 'no interval: all at its end');
  const old = new RateWindow(5);
  old.spread(0, 100_000, 1000);
  assert.equal(old.last(5, 100_000), 50, 'only the seconds still in the window keep their share');
});
