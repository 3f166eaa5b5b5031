/**
 * The timeline runner with a fake clock: steps fire at their times, in order,
 * the same for every arm, whatever the acts cost; stop() ends it at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTimeline, TimelineRunner, type Scheduler, type Step } from '../../src/experiment/timeline.js';
import { parseExperiment } from '../../src/experiment/schema.js';
import { describeStep } from '../../src/experiment/describe.js';

const FILE = `title: t
teaches: Timing.
arms:
  - name: a
  - name: b
    cooldown: 0
load:
  - name: warm
    duration: 10
  - name: quiet
    threads: 0
    duration: 5
  - name: hot
    threads: 20
    duration: 15
events:
  - at: 12
    action: sigstop
    worker: oldest
    for: 3
  - at: 4
    action: sigkill
    worker: newest
  - at: 10
    action: scale
    n: 3
  - at: 10
    action: noisy-neighbour
    for: 40
`;

/** A clock that moves only when told to; timers fire in due order. */
class FakeClock implements Scheduler {
  t = 0;
  #timers: Array<{ due: number; fn: () => void; id: number }> = [];
  #id = 0;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.#id;
    this.#timers.push({ due: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.#timers = this.#timers.filter((x) => x.id !== h);
  };
  /** Advance to `to` ms, firing due timers in order (each may add more). */
  advance(to: number): void {
    for (;;) {
      this.#timers.sort((a, b) => a.due - b.due || a.id - b.id);
      const next = this.#timers[0];
      if (next === undefined || next.due > to) break;
      this.#timers.shift();
      this.t = next.due;
      next.fn();
    }
    this.t = to;
  }
  get pending(): number {
    return this.#timers.length;
  }
}

function runArm(steps: readonly Step[], actCost = 0): Array<{ t: number; what: string }> {
  const clock = new FakeClock();
  const fired: Array<{ t: number; what: string }> = [];
  const runner = new TimelineRunner(steps, clock, (s) => {
    fired.push({ t: clock.now(), what: describeStep(s) });
    clock.t += actCost; // an act that takes time (spawning a process) must not shift later steps
  });
  clock.t = 1000; // the arm's lab started a while ago: times are relative to start()
  runner.start();
  clock.advance(1000 + 60_000);
  return fired.map((f) => ({ t: f.t - 1000, what: f.what }));
}

test('the timeline: phases at their starts, events in time order, lasting ones ended, the neighbour cut at the end of the load', () => {
  const exp = parseExperiment(FILE, 'f.yaml');
  const steps = buildTimeline(exp);
  assert.deepEqual(
    steps.map((s) => [s.at, s.kind]),
    [[0, 'phase'], [4, 'event'], [10, 'phase'], [10, 'event'], [10, 'event'], [12, 'event'], [15, 'event-end'], [15, 'phase'], [30, 'event-end'], [30, 'end']],
  );
  // At 10 s: the phase first, then the events in the file's order (scale before the neighbour).
  assert.equal(describeStep(steps[3]), 'manual scale to 3');
  assert.match(describeStep(steps[4]), /^noisy neighbour: 1 busy core/);
});

test('the runner fires every step at its time, in order, and the same for every arm', () => {
  const exp = parseExperiment(FILE, 'f.yaml');
  const steps = buildTimeline(exp);
  const armA = runArm(steps);
  const armB = runArm(steps);
  assert.deepEqual(armA, armB, 'identical for every arm');
  assert.deepEqual(armA.map((f) => f.t), [0, 4000, 10_000, 10_000, 10_000, 12_000, 15_000, 15_000, 30_000, 30_000]);
  assert.equal(armA.at(-1)!.what, 'end of the load');
  // Acts that take 300 ms each do not push later steps back: each is due at start + at.
  const slow = runArm(steps, 300);
  assert.deepEqual(slow.map((f) => f.what), armA.map((f) => f.what), 'same order');
  // Late only by the acts due at the same moment before it, never by the sum of all earlier acts.
  for (let i = 0; i < slow.length; i++) {
    const sameTimeBefore = armA.slice(0, i).filter((f) => f.t === armA[i].t).length;
    assert.equal(slow[i].t, armA[i].t + 300 * sameTimeBefore, `step ${i}`);
  }
});

test('the runner: upcoming(), elapsed(), done resolves "finished"; stop() clears its timer and resolves "stopped"', async () => {
  const steps = buildTimeline(parseExperiment(FILE, 'f.yaml'));
  const clock = new FakeClock();
  const seen: string[] = [];
  const runner = new TimelineRunner(steps, clock, (s) => void seen.push(s.kind));
  assert.equal(runner.elapsed(), 0);
  runner.start();
  clock.advance(4500);
  assert.equal(runner.elapsed(), 4.5);
  assert.deepEqual(seen, ['phase', 'event']);
  assert.equal(runner.upcoming()?.at, 10);
  runner.stop();
  assert.equal(clock.pending, 0, 'no timer left');
  clock.advance(60_000);
  assert.deepEqual(seen, ['phase', 'event'], 'nothing fires after stop');
  assert.equal(await runner.done, 'stopped');

  const full = new TimelineRunner(steps, clock, () => {});
  full.start();
  clock.advance(clock.t + 31_000);
  assert.equal(await full.done, 'finished');
  assert.equal(full.upcoming(), null);
});
