/**
 * The policy owns its memory: a `step` sequence fed its own memory, over the
 * observations a live lab published (and the events between ticks folded in by
 * `remember`), makes exactly the live lab's decisions (what replay relies on),
 * scale to zero and cold starts included. And the per-worker rps in the table is the number
 * the rps metric averages.
 */
import { test } from 'node:test';
import { request } from 'undici';
import assert from 'node:assert/strict';
import type { LabEvent, TickEvent } from '../../src/events.js';
import { initialMemory, remember, step, type MemoryEvent, type PolicyMemory } from '../../src/policy/step.js';
import { isMeasured } from '../../src/policy/measure.js';
import type { LabConfig } from '../../src/settings/config.js';
import { loadLoop, sleep, startLab, until } from '../helpers.js';

/** Fold a recorded event stream through the pure policy, as replay does: step() on ticks, remember() between. */
function replay(config: LabConfig, events: readonly LabEvent[]) {
  // The policy's wall clock starts where the lab's did (scheduled actions read the time of day from it).
  const started = events.find((e) => e.type === 'started');
  let memory: PolicyMemory = initialMemory(started?.startedAt ?? 0);
  const out: Array<{ t: number; desired: number; action: string; reason: string }> = [];
  for (const e of events) {
    if (e.type === 'scale' || e.type === 'paused' || e.type === 'refresh' || e.type === 'cold-start') memory = remember(memory, e as MemoryEvent);
    else if (e.type === 'tick') {
      const r = step(JSON.parse(JSON.stringify(e.observation)), e.state, JSON.parse(JSON.stringify(memory)), config, e.t);
      memory = r.memory;
      out.push({ t: e.t, desired: r.decision.desired, action: r.decision.action, reason: r.decision.reason });
    }
  }
  return { out, memory };
}

const live = (ticks: TickEvent[]) => ticks.map((e) => ({ t: e.t, desired: e.desired, action: e.action, reason: e.reason }));

/** Replay a live lab's events: the same decision on every tick, and the same memory at the end. Returns the replayed decisions. */
function assertReplaysLive(lab: { config: LabConfig; memory: PolicyMemory }, events: readonly LabEvent[], ticks: TickEvent[]) {
  const { out, memory } = replay(lab.config, events);
  assert.deepEqual(out, live(ticks));
  assert.deepEqual(memory, lab.memory);
  return out;
}

test('target policy: replaying the observations through decide with its own memory gives the live decisions', async (t) => {
  const cpu = { value: 90 };
  const { lab, events, ticks, scales } = await startLab(t, { policy: 'target', target: '50', max: '6', 'scaleDownWindow': '1.5', warmup: '0' }, cpu);
  await until('scaled out', () => scales().some((s) => !s.manual && s.direction === 'out'), 10_000);
  await lab.command({ cmd: 'toggle-pause' }, 'dashboard');
  await sleep(700);
  await lab.command({ cmd: 'toggle-pause' }, 'dashboard');
  cpu.value = 10;
  await sleep(400);
  lab.scale(1);
  await until('back to 1', () => lab.supervisor.desired === 1, 15_000);
  await sleep(400);
  const out = assertReplaysLive(lab, events, ticks());
  assert.ok(out.length >= 5, `only ${out.length} ticks`);
  assert.ok(ticks().some((e) => /stabilisation window/.test(e.reason)), 'the recommendation window held a scale-in');
  assert.ok(ticks().some((e) => e.paused && /^paused \(would scale-out/.test(e.reason)), 'a paused tick explains what it would have done');
});

test('threshold policy: cooldown from automatic and manual scaling survives the round trip', async (t) => {
  const cpu = { value: 80 };
  const { lab, events, ticks, scales } = await startLab(t, { max: '3', cooldown: '1' }, cpu);
  await until('scaled out to 2', () => scales().some((s) => s.to === 2), 10_000);
  cpu.value = 20;
  lab.scale(1);
  cpu.value = 5;
  await until('back to 1', () => lab.supervisor.desired === 1, 15_000);
  await sleep(400);
  assertReplaysLive(lab, events, ticks());
  assert.ok(ticks().some((e) => /cooldown \d+ s left/.test(e.reason)), 'some tick waited for the cooldown');
});

test('--min 0: replaying the recorded events gives the scale to zero, the cold start and the way back to zero', async (t) => {
  const { lab, events, ticks, scales } = await startLab(t, { min: '0', idle: '1', scaleUp: '90', scaleDown: '1' }, { value: 50 });
  await until('scaled to zero', () => lab.supervisor.desired === 0 && lab.supervisor.records().length === 0, 20_000);
  const res = await request(`${lab.balancer.url}/`, { headersTimeout: 15_000 });
  await res.body.dump();
  await until('back to zero after the cold start', () => scales().filter((s) => s.to === 0).length >= 2, 20_000);
  await sleep(300);
  const out = assertReplaysLive(lab, events, ticks());
  assert.ok(out.filter((d) => d.desired === 0 && /scale to zero/.test(d.reason)).length >= 2, 'two scales to zero replayed');
  assert.ok(scales().some((s) => s.from === 0 && s.to === 1), 'a cold start happened between them');
});

test("the table's per-worker rps is the rps that scales", async (t) => {
  const { lab, ticks, events } = await startLab(t, { metric: 'rps', policy: 'target', target: '100000', warmup: '0', min: '2', max: '2' }, { value: 20 });
  await until('2 ready workers', () => lab.supervisor.counts().ready === 2, 15_000);
  const load = loadLoop(lab.balancer.url, 2, 10_000);
  try {
    await until('3 ticks with traffic', () => ticks().filter((e) => e.value !== null && e.value > 0).length >= 3, 10_000);
  } finally {
    assert.deepEqual((await load.stop()).failures, []);
  }
  for (const tick of ticks().filter((e) => e.value !== null)) {
    const measured = tick.workers.filter((w) => isMeasured({ ...w, cpu: null }, tick.t, 0));
    const mean = measured.reduce((s, w) => s + w.rps, 0) / measured.length;
    assert.ok(Math.abs(mean - tick.metrics.rps!) < 1e-9, `tick ${tick.t}: table mean ${mean} vs scaling ${tick.metrics.rps}`);
    assert.deepEqual(
      tick.observation.workers.map((w) => [w.id, w.rps]),
      tick.workers.map((w) => [w.id, w.rps]),
    );
  }
  // Between ticks the table keeps showing the rate of the last tick.
  const last = ticks().at(-1)!;
  const after = events.find((e) => e.type === 'stats' && e.t > last.t);
  if (after && after.type === 'stats' && !ticks().some((e) => e.t > last.t && e.t < after.t)) {
    assert.deepEqual(after.workers.map((w) => w.rps), last.workers.map((w) => w.rps));
  }
});

test('--policy step: a live lab steps out and in on its alarms, and the recorded observations replay to the same decisions', async (t) => {
  const cpu = { value: 40 };
  const flags = { policy: 'step', max: '4', warmup: '0', stepOut: ['60-80:+1', '80-:+2'], stepIn: ['-20:-1'], stepInAlarm: '2/2' } as unknown as Record<string, string>;
  const { lab, events, ticks, scales } = await startLab(t, flags, cpu);
  // Between the thresholds both alarms go OK; once the first worker is ready, load arrives.
  await until('first worker ready, alarms OK', () => ticks().some((e) => e.ready === 1 && /^alarms host-cpu-high OK, host-cpu-low OK/.test(e.reason)), 10_000);
  cpu.value = 90;
  await until('stepped out by 2', () => scales().some((s) => !s.manual && s.from === 1 && s.to === 3), 10_000);
  cpu.value = 10;
  await until('stepped back in to 1', () => lab.supervisor.desired === 1, 15_000);
  await sleep(400);
  assertReplaysLive(lab, events, ticks());
  assert.ok(ticks().some((e) => /^alarm host-cpu-high in ALARM \(cpu 90 % ≥ 80 %: step \+2\): capacity 1 \+ 2 = 3: 1 → 3/.test(e.reason)), 'the +2 step, explained');
  assert.ok(ticks().some((e) => /^alarm host-cpu-low in ALARM \(cpu 10 % ≤ 20 %: step −1\): capacity \d − 1 = \d: \d → \d/.test(e.reason)), 'a −1 step, explained');
});
