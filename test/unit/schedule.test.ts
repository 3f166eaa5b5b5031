/**
 * Scheduled actions (policy/schedule.ts and their place in policy/step.ts):
 * parsing with one-line errors, cron times on an injected clock across a day
 * boundary and both Europe/Berlin DST changes, and AWS's semantics as a table
 * (min/max persist, desired once and clipped, nothing retroactive).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoscaleError } from '../../src/errors.js';
import { DEFAULTS, resolveConfig, parseConfigFile, type LabConfig } from '../../src/settings/config.js';
import type { Observation } from '../../src/policy/measure.js';
import { initialMemory, setPaused, step, type PolicyMemory, type StepDecision } from '../../src/policy/step.js';
import { formatZoned, nextTime, parseScheduleFlag, type ScheduledAction } from '../../src/policy/schedule.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const at = (s: string) => Date.parse(s);

/** The error a call throws: its code and message (the code is what tests rely on; the message must name the culprit). */
function refusal(f: () => unknown): { code: string; exitCode: number; message: string } {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof AutoscaleError, `expected an AutoscaleError, got ${String(err)}`);
    return { code: err.code, exitCode: err.exitCode, message: err.message };
  }
  assert.fail('expected a refusal');
}

test('--schedule flag syntax: cron words up to the next key, quotes optional, defaults named', () => {
  assert.deepEqual(parseScheduleFlag('cron=0 8 * * MON-FRI min=3 tz=Europe/Berlin', 0, 64), { name: 'action-1', cron: '0 8 * * MON-FRI', tz: 'Europe/Berlin', min: 3 });
  assert.deepEqual(parseScheduleFlag(`name=night cron='0 20 * * *' max=2 desired=1`, 1, 64), { name: 'night', cron: '0 20 * * *', tz: 'UTC', max: 2, desired: 1 });
});

test('bad rules: one line naming the part, AS_ERR_CONFIG, exit 2', () => {
  const cases: [string, RegExp][] = [
    ['cron=0 8 * * MOX min=3', /day of week field "MOX"/],
    ['cron=0 25 * * * min=3', /hour 25 is outside 0–23/],
    ['cron=0 8 * * min=3', /must have 5 fields .* it has 4/],
    ['cron=0 8 * * * 2027 min=3', /must have 5 fields .* it has 6/],
    ['cron=0 8 ? * MON min=3', /day of month field "\?"/],
    ['cron=*/0 * * * * min=3', /step \/0/],
    ['cron=0 8 * * * mni=3', /unknown key "mni"/],
    ['cron=0 8 * * * min=3 tz=Europe/Berlinn', /tz "Europe\/Berlinn" is not a time zone/],
    ['cron=0 8 * * * min=0', /min must be a whole number from 1 to 64 .*scale to zero/],
    ['cron=0 8 * * * min=4 max=2', /min \(4\) must be <= max \(2\)/],
    ['cron=0 8 * * *', /sets none of min, max, desired/],
    ['min=3', /cron is missing/],
    ['cron=0 8 * * * min=3 min=4', /min is given twice/],
  ];
  for (const [flag, why] of cases) {
    const r = refusal(() => resolveConfig({ schedule: [flag] }));
    assert.equal(r.code, 'AS_ERR_CONFIG', flag);
    assert.equal(r.exitCode, 2, flag);
    assert.match(r.message, why, flag);
    assert.ok(!r.message.includes('\n'), `one line: ${r.message}`);
    assert.ok(r.message.startsWith(`--schedule '${flag}'`), r.message);
  }
});

test('a min that could end up above a max is refused, whichever runs last', () => {
  assert.match(refusal(() => resolveConfig({ max: '5', schedule: ['cron=0 8 * * * min=6'] })).message, /min 6 of "action-1" is above --max 5/);
  assert.match(refusal(() => resolveConfig({ schedule: ['name=a cron=0 8 * * * min=3', 'name=b cron=0 20 * * * max=2'] })).message, /min 3 of "a" is above max 2 of "b"/);
  assert.match(refusal(() => resolveConfig({ min: '3', schedule: ['cron=0 20 * * * max=2'] })).message, /--min 3 is above max 2 of "action-1"/);
  assert.match(refusal(() => resolveConfig({ schedule: ['name=a cron=0 8 * * * min=2', 'name=a cron=0 9 * * * min=2'] })).message, /two actions are named "a"/);
});

test('config file: "schedule" as objects or flag strings; an unknown key in an action names it; --schedule replaces the file', () => {
  const file = parseConfigFile(JSON.stringify({ max: 8, schedule: [{ name: 'day', cron: '0 8 * * MON-FRI', tz: 'Europe/Berlin', min: 3 }, 'name=night cron=0 20 * * * min=1'] }), 'c.json');
  const c = resolveConfig({}, file);
  assert.deepEqual(c.schedule.map((a) => [a.name, a.cron, a.tz, a.min]), [['day', '0 8 * * MON-FRI', 'Europe/Berlin', 3], ['night', '0 20 * * *', 'UTC', 1]]);
  const bad = refusal(() => resolveConfig({}, parseConfigFile(JSON.stringify({ schedule: [{ cron: '0 8 * * *', minimum: 3 }] }), 'c.json')));
  assert.equal(bad.code, 'AS_ERR_CONFIG');
  assert.match(bad.message, /"schedule" in the config file, action 1: unknown key "minimum"/);
  assert.match(refusal(() => resolveConfig({}, parseConfigFile('{"schedule": {"cron": "0 8 * * *"}}', 'c.json'))).message, /must be a list of actions/);
  assert.deepEqual(resolveConfig({ schedule: ['cron=0 9 * * * max=3'] }, file).schedule.map((a) => a.cron), ['0 9 * * *']);
  assert.deepEqual(resolveConfig({}).schedule, []);
});

test('cron times across a day boundary (UTC)', () => {
  const a = { cron: '0 20 * * *', tz: 'UTC' };
  const b = { cron: '0 6 * * MON-FRI', tz: 'UTC' };
  assert.equal(iso(nextTime(a, at('2026-12-06T19:59:00Z'))), '2026-12-06T20:00:00.000Z');
  // Strictly after: at 20:00 itself the next is tomorrow's.
  assert.equal(iso(nextTime(a, at('2026-12-06T20:00:00Z'))), '2026-12-07T20:00:00.000Z');
  // Sunday evening → Monday morning; Friday evening → Monday morning.
  assert.equal(iso(nextTime(b, at('2026-12-06T20:00:00Z'))), '2026-12-07T06:00:00.000Z');
  assert.equal(iso(nextTime(b, at('2026-12-11T07:00:00Z'))), '2026-12-14T06:00:00.000Z');
  // Vixie cron's OR when both day fields are restricted: the 1st of the month or any Monday.
  const c = { cron: '0 6 1 * MON', tz: 'UTC' };
  assert.equal(iso(nextTime(c, at('2026-12-28T07:00:00Z'))), '2027-01-01T06:00:00.000Z');
});

test('Europe/Berlin across both DST changes of 2026 (29 March, 25 October)', () => {
  const eight = { cron: '0 8 * * *', tz: 'Europe/Berlin' };
  // 08:00 local is 07:00 UTC in winter, 06:00 UTC in summer.
  assert.equal(iso(nextTime(eight, at('2026-03-28T00:00:00Z'))), '2026-03-28T07:00:00.000Z');
  assert.equal(iso(nextTime(eight, at('2026-03-28T07:00:00Z'))), '2026-03-29T06:00:00.000Z');
  assert.equal(iso(nextTime(eight, at('2026-10-24T07:00:00Z'))), '2026-10-25T07:00:00.000Z');
  // 02:30 does not exist on 29 March (02:00 → 03:00): it runs right after the gap, at 03:00 CEST, once.
  const half = { cron: '30 2 * * *', tz: 'Europe/Berlin' };
  assert.equal(iso(nextTime(half, at('2026-03-28T02:00:00Z'))), '2026-03-29T01:00:00.000Z');
  assert.equal(iso(nextTime(half, at('2026-03-29T01:00:00Z'))), '2026-03-30T00:30:00.000Z');
  // 02:30 happens twice on 25 October (03:00 CEST → 02:00 CET): it runs once, at the first.
  assert.equal(iso(nextTime(half, at('2026-10-24T02:00:00Z'))), '2026-10-25T00:30:00.000Z');
  assert.equal(iso(nextTime(half, at('2026-10-25T00:30:00Z'))), '2026-10-26T01:30:00.000Z');
  // Shown in the zone's local time.
  assert.equal(formatZoned(at('2026-03-29T06:00:00Z'), 'Europe/Berlin'), '08:00 Sun 29 Mar Europe/Berlin');
  assert.equal(formatZoned(at('2026-10-25T07:00:00Z'), 'Europe/Berlin'), '08:00 Sun 25 Oct Europe/Berlin');
});

// ---- in the per-tick policy, on an injected clock ----

const config = (schedule: ScheduledAction[], c: Partial<LabConfig> = {}): LabConfig => ({ ...DEFAULTS, warmup: 0, cooldown: 0, max: 10, ...c, schedule });
const obs = (t: number, cpu: number): Observation => ({
  t,
  hostCpu: cpu,
  latency: { p50: 2, p95: 4, p99: null },
  workers: [{ id: 1, state: 'ready', readyAt: 0, cpu, rps: 10, inFlight: 0 }],
});
const MID = 25; // between --scale-down 15 and --scale-up 35: the rule holds
const act = (s: string, i = 0) => parseScheduleFlag(s, i, 64);

/** The lab's loop without processes: ticks every 3 s on the lab clock from `origin` (wall ms), the count following each decision. */
function ticks(cfg: LabConfig, origin: number, seconds: number, cpu: (t: number) => number, start = 2, memory: PolicyMemory = initialMemory(origin)) {
  let desired = start;
  const out: { t: number; wall: string; before: number; d: StepDecision }[] = [];
  for (let t = 3000; t <= seconds * 1000; t += 3000) {
    const r = step(obs(t, cpu(t)), { desired, starting: 0, ready: desired }, memory, cfg, t);
    memory = r.memory;
    out.push({ t, wall: new Date(origin + t).toISOString(), before: desired, d: r.decision });
    desired = r.decision.desired;
  }
  return { out, memory, desired };
}

test('a day boundary on the fake clock: night max 2 at 22:00 scales in at once, morning min 4 max 10 at 06:00 scales out at once', () => {
  const cfg = config([act('name=night cron=0 22 * * * max=2'), act('name=morning cron=0 6 * * * min=4 max=10', 1)]);
  // From 21:59 for 8 h 2 min with the rule holding (mid load) at 5.
  const { out } = ticks(cfg, at('2026-12-06T21:59:00Z'), 8 * 3600 + 120, () => MID, 5);
  const changes = out.filter((o) => o.d.desired !== o.before).map((o) => [o.wall, o.before, o.d.desired]);
  assert.deepEqual(changes, [
    ['2026-12-06T22:00:00.000Z', 5, 2],
    ['2026-12-07T06:00:00.000Z', 2, 4],
  ]);
  const night = out.find((o) => o.wall === '2026-12-06T22:00:00.000Z')!.d;
  assert.equal(night.reason, 'scheduled "night" at 22:00 Sun 6 Dec UTC (max 2): count 5 outside min 1, max 2: 5 → 2');
  assert.deepEqual(night.schedule?.next, { name: 'morning', at: at('2026-12-07T06:00:00Z'), tz: 'UTC' });
});

test('semantics table: what one action does at its tick, and what the policy does after it', () => {
  const origin = at('2026-12-07T07:59:58Z'); // the action at 08:00 runs at the tick t = 3 s
  const rows: { name: string; action: string; cfg?: Partial<LabConfig>; start: number; cpu: number; atTick: number; after: number; bounds: [number, number] }[] = [
    { name: 'min above the count: scale out to it at once', action: 'min=4', start: 2, cpu: MID, atTick: 4, after: 4, bounds: [4, 10] },
    { name: 'max below the count: scale in to it at once', action: 'max=3', start: 6, cpu: MID, atTick: 3, after: 3, bounds: [1, 3] },
    { name: 'count already inside new bounds: nothing moves', action: 'min=2 max=8', start: 5, cpu: MID, atTick: 5, after: 5, bounds: [2, 8] },
    { name: 'desired is applied once, then the rule takes over (idle → scale in by one per tick)', action: 'desired=6', start: 2, cpu: 5, atTick: 6, after: 5, bounds: [1, 10] },
    { name: 'desired above the max in force is clipped to it', action: 'desired=9', cfg: { max: 7 }, start: 2, cpu: MID, atTick: 7, after: 7, bounds: [1, 7] },
    { name: 'desired below the min set with it is clipped up', action: 'min=5 desired=3', start: 2, cpu: MID, atTick: 5, after: 5, bounds: [5, 10] },
    { name: 'min persists: an idle pool scales in only down to it', action: 'min=3', start: 6, cpu: 5, atTick: 5, after: 4, bounds: [3, 10] },
    { name: 'max persists: a hot pool scales out only up to it', action: 'max=4', start: 2, cpu: 90, atTick: 3, after: 4, bounds: [1, 4] },
  ];
  for (const r of rows) {
    const cfg = config([act(`cron=0 8 * * * ${r.action}`)], r.cfg);
    const { out, desired } = ticks(cfg, origin, 60, () => r.cpu, r.start);
    assert.equal(out[0].d.desired, r.atTick, `${r.name}: at the action's tick`);
    assert.match(out[0].d.reason, /^scheduled "action-1" at 08:00 Mon 7 Dec UTC/, r.name);
    assert.equal(out[1].d.desired, r.after, `${r.name}: the tick after`);
    assert.doesNotMatch(out[1].d.reason, /scheduled/, `${r.name}: the rule decides after`);
    assert.deepEqual([out[0].d.schedule?.min, out[0].d.schedule?.max], r.bounds, r.name);
    // 20 ticks later the bounds still hold.
    assert.ok(desired >= r.bounds[0] && desired <= r.bounds[1], `${r.name}: ended at ${desired}`);
    assert.deepEqual([out.at(-1)!.d.schedule?.min, out.at(-1)!.d.schedule?.max], r.bounds, `${r.name}: bounds persist`);
  }
});

test('nothing retroactive: a lab started at 14:00 does not run the 08:00 action until tomorrow', () => {
  const cfg = config([act('cron=0 8 * * * min=4')]);
  const { out } = ticks(cfg, at('2026-12-07T14:00:00Z'), 30, () => MID, 2);
  assert.ok(out.every((o) => o.d.desired === 2 && o.d.schedule?.fired.length === 0));
  assert.deepEqual(out[0].d.schedule?.next, { name: 'action-1', at: at('2026-12-08T08:00:00Z'), tz: 'UTC' });
});

test('paused: the action is explained and held, and its bounds are in force once resumed', () => {
  const origin = at('2026-12-07T07:59:58Z');
  const cfg = config([act('cron=0 8 * * * min=4')]);
  const paused = ticks(cfg, origin, 3, () => MID, 2, setPaused(initialMemory(origin), true));
  assert.equal(paused.out[0].d.desired, 2);
  assert.equal(paused.out[0].d.heldBy, 'paused');
  assert.match(paused.out[0].d.reason, /^paused \(would scale-out: scheduled "action-1"/);
  const r = step(obs(6000, MID), { desired: 2, starting: 0, ready: 2 }, setPaused(paused.memory, false), cfg, 6000);
  assert.deepEqual([r.decision.schedule?.min, r.decision.desired], [4, 3]); // back inside one step at a time, as the rule moves a count out of bounds
});

test('without a schedule the decision carries none (the lab, simulate and replay unchanged)', () => {
  const r = step(obs(3000, MID), { desired: 2, starting: 0, ready: 2 }, initialMemory(), config([]), 3000);
  assert.equal(r.decision.schedule, undefined);
});
