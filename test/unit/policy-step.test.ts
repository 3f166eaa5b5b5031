/**
 * The whole per-tick policy (policy/step.ts), pure: holds as a field, scale to
 * zero by --idle, cold starts, the memory a recording folds back in, and the
 * simulator (what replay runs) taking a --min 0 pool to zero and back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, type LabConfig } from '../../src/settings/config.js';
import type { Observation } from '../../src/policy/measure.js';
import { coldStart, initialMemory, remember, REFRESH_HOLD, setHold, setPaused, step, ZERO_REASON, type PolicyMemory } from '../../src/policy/step.js';
import { simulate } from '../../src/simulate/engine.js';
import { EXPONENTIAL_P95, type CapacityModel } from '../../src/simulate/model.js';

const config = (c: Partial<LabConfig> = {}): LabConfig => ({ ...DEFAULTS, warmup: 0, ...c });
const obs = (t: number, rps: number, hostCpu = 5): Observation => ({
  t,
  hostCpu,
  latency: { p50: rps > 0 ? 2 : null, p95: rps > 0 ? 4 : null, p99: null },
  workers: [{ id: 1, state: 'ready', readyAt: 0, cpu: rps > 0 ? 30 : 0.5, rps, inFlight: 0 }],
});
const one = { desired: 1, starting: 0, ready: 1 };

/** Ticks every 3 s from `from` to `to` with `rps` per tick; the memory threaded like the lab does. */
function run(cfg: LabConfig, memory: PolicyMemory, from: number, to: number, rps: number, state = one) {
  const out = [];
  for (let t = from; t <= to; t += 3000) {
    const r = step(obs(t, rps), state, memory, cfg, t);
    memory = r.memory;
    out.push(r.decision);
  }
  return { out, memory };
}

test('--min 0: the rule keeps one worker; --idle seconds without traffic take the pool to zero, traffic resets the clock', () => {
  const cfg = config({ min: 0, idle: 10 });
  const busy = run(cfg, initialMemory(), 3000, 9000, 20);
  assert.ok(busy.out.every((d) => d.desired === 1), 'traffic: the rule floor is one worker');
  assert.equal(busy.memory.lastActivityAt, 9000);
  const quiet = run(cfg, busy.memory, 12_000, 21_000, 0);
  assert.deepEqual(quiet.out.map((d) => d.desired), [1, 1, 1, 0]);
  assert.equal(quiet.out[3].reason, 'no request for 12 s (idle 10 s): 1 → 0 (scale to zero)');
  assert.equal(quiet.memory.lastScaleAt, 21_000);
  const zero = step(obs(24_000, 0), { desired: 0, starting: 0, ready: 0 }, quiet.memory, cfg, 24_000);
  assert.deepEqual([zero.decision.desired, zero.decision.action, zero.decision.reason], [0, 'hold', ZERO_REASON]);
  // With --min 1 the same silence keeps one worker.
  assert.ok(run(config({ min: 1, idle: 10 }), busy.memory, 12_000, 60_000, 0).out.every((d) => d.desired === 1));
});

test('holds are a field: paused and a refresh keep the count, name themselves in the reason, and record heldBy', () => {
  const cfg = config({ min: 0, idle: 1 });
  const hot = (m: PolicyMemory) => step(obs(30_000, 10, 90), { desired: 2, starting: 0, ready: 2 }, m, cfg, 30_000).decision;
  const free = hot(initialMemory());
  assert.deepEqual([free.desired, free.heldBy], [3, null]);
  const paused = hot(setPaused(initialMemory(), true));
  assert.deepEqual([paused.desired, paused.action, paused.heldBy], [2, 'hold', 'paused']);
  assert.equal(paused.reason, 'paused (would scale-out: cpu 90 % > 35 %: 2 → 3)');
  const refresh = hot(setHold(initialMemory(), REFRESH_HOLD));
  assert.equal(refresh.reason, 'refresh in progress (would scale-out: cpu 90 % > 35 %: 2 → 3)');
  assert.equal(refresh.heldBy, REFRESH_HOLD);
  // The idle rule under a hold: held too, and the reason says what it would have done.
  const idleHeld = run(cfg, setHold(initialMemory(), REFRESH_HOLD), 3000, 3000, 0).out[0];
  assert.deepEqual([idleHeld.desired, idleHeld.heldBy], [1, REFRESH_HOLD]);
  assert.match(idleHeld.reason, /^refresh in progress \(would scale-in: no request for 3 s \(idle 1 s\): 1 → 0 \(scale to zero\)\)$/);
});

test('cold start: a request at zero starts one worker at once, unless paused; it counts as traffic and as a scaling action', () => {
  const m = initialMemory();
  assert.equal(coldStart(m, 1, 5000), null, 'a worker runs: nothing to start');
  assert.equal(coldStart(setPaused(m, true), 0, 5000), null, 'paused: the request waits');
  const c = coldStart(m, 0, 5000)!;
  assert.equal(c.desired, 1);
  assert.deepEqual([c.memory.lastActivityAt, c.memory.lastScaleAt], [5000, 5000]);
});

test('remember: the recorded events between ticks change the memory as the lab changed it', () => {
  let m = initialMemory();
  m = remember(m, { type: 'paused', t: 1000, paused: true });
  assert.equal(m.paused, true);
  m = remember(m, { type: 'paused', t: 2000, paused: false });
  m = remember(m, { type: 'scale', t: 3000, from: 1, to: 2, manual: true });
  assert.equal(m.lastScaleAt, 3000);
  assert.equal(remember(m, { type: 'scale', t: 4000, from: 2, to: 3, manual: false }), m, 'automatic: step remembered it already');
  m = remember(m, { type: 'refresh', t: 5000, phase: 'started' });
  assert.equal(m.hold, REFRESH_HOLD);
  assert.equal(remember(m, { type: 'refresh', t: 6000, phase: 'progress' }).hold, REFRESH_HOLD);
  m = remember(m, { type: 'refresh', t: 7000, phase: 'done' });
  assert.equal(m.hold, null);
  m = remember(m, { type: 'scale', t: 8000, from: 0, to: 1, manual: false });
  assert.deepEqual([m.lastScaleAt, m.lastActivityAt], [8000, 8000], 'a cold start');
  assert.equal(remember(m, { type: 'cold-start', t: 9000 }).lastActivityAt, 9000);
});

test('the simulator (what replay runs) takes a --min 0 pool to zero after --idle, cold-starts it for the next burst, and back', () => {
  const perSecond = new Float64Array(120);
  for (let i = 0; i < 20; i++) perSecond[i] = 20;
  for (let i = 70; i < 80; i++) perSecond[i] = 20;
  const model: CapacityModel = { mode: 'open', serviceMs: 10, cpuPerRequest: 0.01, cores: Number.POSITIVE_INFINITY, baseLatencyMs: 0, p95Factor: EXPONENTIAL_P95, timeoutMs: 10_000, host: { kind: 'fleet' } };
  const sim = simulate({ load: { mode: 'open', perSecond, source: 'test' }, model, config: config({ min: 0, idle: 15, scaleUp: 90, scaleDown: 1 }), bootMs: 500 });
  const toZero = sim.scales.filter((s) => s.to === 0);
  assert.equal(toZero.length, 2, JSON.stringify(sim.scales));
  assert.ok(toZero[0].t >= 35_000 && toZero[0].t <= 39_000, `first scale to zero at ${toZero[0].t} ms (idle 15 s after +20 s)`);
  assert.deepEqual(sim.scales.find((s) => s.from === 0), { t: 70_000, from: 0, to: 1 }, 'cold start when the burst arrives');
  assert.equal(sim.live[60], 0);
  assert.equal(sim.live[75], 1);
  assert.equal(sim.live[119], 0);
  // With --min 1 the same load never empties the pool.
  const warm = simulate({ load: { mode: 'open', perSecond, source: 'test' }, model, config: config({ min: 1, idle: 15, scaleUp: 90, scaleDown: 1 }), bootMs: 500 });
  assert.ok([...warm.live].every((n) => n >= 1));
});
