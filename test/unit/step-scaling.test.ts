/**
 * AWS step scaling, table-driven against the EC2 Auto Scaling user guide ("Step and simple scaling
 * policies": step adjustments, scaling adjustment types, instance warm-up): bounds and their inclusivity,
 * each adjustment type and its rounding, MinAdjustmentMagnitude, warm-up, and the settings' validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyAdjustment,
  decideStepScaling,
  matchStep,
  roundPercentChange,
  type AlarmReading,
  type StepContext,
  type StepPolicySettings,
  type StepScalingSettings,
} from '../../src/policy/step-scaling.js';
import { initialMemory, step, type StepConfig } from '../../src/policy/step.js';
import type { Observation } from '../../src/policy/measure.js';
import { buildStepPolicy, resolveStepScaling } from '../../src/settings/step-scaling.js';
import { parseConfigFile, resolveConfig } from '../../src/settings/config.js';
import { resolvePolicy } from '../../src/settings/policy-flags.js';
import { AutoscaleError } from '../../src/errors.js';

const ratio = { m: 1, n: 1 };
const out = (specs: string[], minMagnitude: number | null = null) => buildStepPolicy('out', specs, { name: '--step-out', alarmName: 'high', ratio, minMagnitude });
const inn = (specs: string[], minMagnitude: number | null = null) => buildStepPolicy('in', specs, { name: '--step-in', alarmName: 'low', ratio, minMagnitude });

test("bounds: relative to the alarm threshold, as the guide's PercentChangeInCapacity example (threshold 50)", () => {
  // Scale-out: 0–10 → 0, 10–20 → +10 %, 20– → +30 %; scale-in: -10–0 → 0, -20–-10 → -10 %, –-20 → -30 %.
  const o = out(['50-60:+0%', '60-70:+10%', '70-:+30%']);
  const i = inn(['40-50:-0%', '30-40:-10%', '-30:-30%']);
  assert.equal(o.alarm.threshold, 50);
  assert.equal(i.alarm.threshold, 50);
  assert.deepEqual(o.steps, [
    { lower: 0, upper: 10, adjustment: 0 },
    { lower: 10, upper: 20, adjustment: 10 },
    { lower: 20, upper: null, adjustment: 30 },
  ]);
  assert.deepEqual(i.steps, [
    { lower: -10, upper: 0, adjustment: -0 },
    { lower: -20, upper: -10, adjustment: -10 },
    { lower: null, upper: -20, adjustment: -30 },
  ]);
  // Above the threshold the lower bound is inclusive and the upper exclusive; below, the reverse.
  const rows: Array<[StepPolicySettings, 'out' | 'in', number, number | null]> = [
    [o, 'out', 50, 0],
    [o, 'out', 59.99, 0],
    [o, 'out', 60, 10],
    [o, 'out', 70, 30],
    [o, 'out', 1e6, 30],
    [o, 'out', 49.9, null],
    [i, 'in', 50, -0],
    [i, 'in', 40.01, -0],
    [i, 'in', 40, -10], // the guide: at 40 the group loses 10 %
    [i, 'in', 30.01, -10],
    [i, 'in', 30, -30], // and at 30 another 30 %
    [i, 'in', 0, -30],
    [i, 'in', 50.1, null],
  ];
  for (const [policy, direction, value, adjustment] of rows) {
    assert.equal(matchStep(direction, policy, value)?.adjustment ?? null, adjustment, `${direction} ${value}`);
  }
});

test("adjustment types: ChangeInCapacity, ExactCapacity, PercentChangeInCapacity with AWS's rounding and MinAdjustmentMagnitude", () => {
  // The guide's rounding: 12.7 → 12, 0.67 → 1, -0.58 → -1, -6.67 → -6.
  assert.deepEqual([12.7, 0.67, 1, 0, -0.58, -1, -6.67].map(roundPercentChange), [12, 1, 1, 0, -1, -1, -6]);
  const rows: Array<[Parameters<typeof applyAdjustment>, number]> = [
    [['ChangeInCapacity', 5, 3, null], 8], // the guide: capacity 3, adjustment 5 → 8
    [['ChangeInCapacity', -2, 3, null], 1],
    [['ExactCapacity', 5, 3, null], 5], // the guide: capacity 3, exact 5 → 5
    [['PercentChangeInCapacity', 10, 10, null], 11], // the guide: 10 % of 10 → +1
    [['PercentChangeInCapacity', 30, 11, null], 14], // the guide: 30 % of 11 = 3.3 → +3
    [['PercentChangeInCapacity', -10, 14, null], 13], // -1.4 → -1
    [['PercentChangeInCapacity', -30, 13, null], 10], // -3.9 → -3
    [['PercentChangeInCapacity', 25, 4, 2], 6], // the guide: 25 % of 4 = 1, min magnitude 2 → +2
    [['PercentChangeInCapacity', 10, 3, null], 4], // 0.3 → +1
    [['PercentChangeInCapacity', -10, 3, 2], 1], // -0.3 → -1, at least -2
    [['PercentChangeInCapacity', 0, 8, 2], 8], // a 0 % step moves nothing, whatever the minimum
  ];
  for (const [args, to] of rows) assert.equal(applyAdjustment(...args).to, to, JSON.stringify(args));
  assert.equal(applyAdjustment('PercentChangeInCapacity', 25, 4, 2).arithmetic, '+25 % of 4 = 1, at least +2 (min magnitude 2): 4 + 2 = 6');
});

const settings: StepScalingSettings = { out: out(['60-80:+1', '80-:+2']), in: inn(['-20:-1']) };
const ctx = (over: Partial<StepContext> = {}): StepContext => ({ desired: 3, starting: 0, ready: 3, warming: 0, terminating: 0, ...over });
const alarm = (value: number | null, state: AlarmReading['state'] = 'ALARM'): AlarmReading => ({ state, evaluated: true, value });
const bounds = { min: 1, max: 10 };

test('decisions: the step, the warm-up, terminating instances, bounds, both alarms, each with its reason', () => {
  const rows: Array<{ name: string; out?: AlarmReading; in?: AlarmReading; ctx?: Partial<StepContext>; b?: { min: number; max: number }; desired: number; reason: RegExp }> = [
    { name: 'step +2 above 80', out: alarm(84), desired: 5, reason: /^alarm high in ALARM \(worker-cpu 84 % ≥ 80 %: step \+2\): capacity 3 \+ 2 = 5: 3 → 5$/ },
    { name: 'step +1 between 60 and 80', out: alarm(72), desired: 4, reason: /worker-cpu 72 % ≥ 60 % and < 80 %: step \+1/ },
    { name: 'the exclusive upper bound shown to its deciding decimals', out: alarm(79.96), desired: 4, reason: /worker-cpu 79\.96 % ≥ 60 % and < 80 %/ },
    // The guide's warm-up example in small: one worker added, still warming; the same step again adds nothing …
    { name: 'warm-up: a repeated breach in the same step is one activity', out: alarm(72), ctx: { desired: 4, ready: 4, warming: 1 }, desired: 4, reason: /capacity 3 \+ 1 = 4 \(1 worker still starting or warming up, not counted\), not above 4: hold at 4/ },
    // … and a higher step adds only the difference.
    { name: 'warm-up: a higher step adds the difference', out: alarm(90), ctx: { desired: 4, ready: 3, starting: 1 }, desired: 5, reason: /capacity 3 \+ 2 = 5 \(1 worker still starting or warming up, not counted\): 4 → 5/ },
    { name: 'scale-in step', in: alarm(12), desired: 2, reason: /^alarm low in ALARM \(worker-cpu 12 % ≤ 20 %: step −1\): capacity 3 − 1 = 2: 3 → 2$/ },
    { name: 'no scale-in while a scale-out is in progress', in: alarm(12), ctx: { warming: 1 }, desired: 3, reason: /a scale-out is in progress \(1 worker still warming up\)/ },
    { name: 'terminating workers count when scaling in', in: alarm(12), ctx: { desired: 2, ready: 2, terminating: 1 }, desired: 2, reason: /capacity 3 − 1 = 2 \(1 worker still terminating, counted\), not below 2: hold at 2/ },
    { name: 'clamped to max', out: alarm(95), ctx: { desired: 9, ready: 9 }, desired: 10, reason: /capacity 9 \+ 2 = 11, clamped to max 10: 9 → 10/ },
    { name: 'at max', out: alarm(95), ctx: { desired: 10, ready: 10 }, desired: 10, reason: /clamped to max 10: hold at 10/ },
    { name: 'at min', in: alarm(5), ctx: { desired: 1, ready: 1 }, desired: 1, reason: /clamped to min 1: hold at 1/ },
    { name: 'in ALARM but the datapoint is back under the threshold (M of N)', out: alarm(55), desired: 3, reason: /in ALARM but worker-cpu 55 % is below its threshold 60 %: no step applies/ },
    { name: 'in ALARM with a missing datapoint', out: alarm(null), desired: 3, reason: /in ALARM but no worker-cpu sample this tick/ },
    { name: 'in ALARM between evaluations', out: { state: 'ALARM', evaluated: false, value: null }, desired: 3, reason: /runs at the alarm's next evaluation/ },
    { name: 'both in ALARM: the larger capacity wins', out: alarm(84), in: alarm(84), desired: 5, reason: /step \+2/ },
    { name: 'OK: hold, with both states', out: alarm(45, 'OK'), in: alarm(45, 'OK'), desired: 3, reason: /^alarms high OK, low OK \(worker-cpu 45 %\): hold at 3$/ },
    { name: 'outside the bounds: back inside one at a time', out: alarm(45, 'OK'), b: { min: 4, max: 10 }, desired: 4, reason: /below min 4: 3 → 4/ },
  ];
  for (const r of rows) {
    const v = decideStepScaling(settings, { out: r.out ?? alarm(null, 'OK'), in: r.in ?? alarm(null, 'OK') }, 'worker-cpu', ctx(r.ctx), r.b ?? bounds);
    assert.equal(v.desired, r.desired, `${r.name}: ${v.reason}`);
    assert.match(v.reason, r.reason, r.name);
    assert.equal(v.action, v.desired > (r.ctx?.desired ?? 3) ? 'scale-out' : v.desired < (r.ctx?.desired ?? 3) ? 'scale-in' : 'hold', r.name);
  }
  // ExactCapacity and percent policies, end to end.
  const exact: StepScalingSettings = { out: out(['70-:=6']), in: inn(['-10:=1']) };
  assert.equal(decideStepScaling(exact, { out: alarm(75), in: null }, 'worker-cpu', ctx(), bounds).reason, 'alarm high in ALARM (worker-cpu 75 % ≥ 70 %: step = 6): exactly 6: 3 → 6');
  const pct: StepScalingSettings = { out: out(['60-:+50%'], 2), in: null };
  assert.match(decideStepScaling(pct, { out: alarm(65), in: null }, 'worker-cpu', ctx({ desired: 2, ready: 2 }), bounds).reason, /\+50 % of 2 = 1, at least \+2 \(min magnitude 2\): 2 \+ 2 = 4: 2 → 4/);
});

const obs = (t: number, cpu: number, workers = 3, readyAt = -60_000): Observation => ({
  t,
  hostCpu: cpu,
  latency: { p50: 5, p95: 10, p99: 12 },
  workers: Array.from({ length: workers }, (_, i) => ({ id: i + 1, state: 'ready', readyAt, cpu, rps: 10, inFlight: 1 })),
});

test('step(): the alarm goes to ALARM after M of N ticks, its policy acts on each evaluation, warming workers hold further steps', () => {
  const config = resolveConfig(
    { policy: 'step', metric: 'worker-cpu', stepOut: ['60-80:+1', '80-:+2'], stepIn: ['-20:-1'], stepOutAlarm: '2/3', warmup: '6' },
    {},
    { ports: false },
  ) as StepConfig;
  let memory = initialMemory();
  const log: string[] = [];
  let desired = 3;
  // Ticks every 3 s; each closes the period it measured (its datapoint sits mid-interval) and evaluates it at once.
  const cpus = [50, 85, 85];
  cpus.forEach((cpu, k) => {
    const t = (k + 1) * 3000 + 5;
    const r = step(obs(t, cpu, desired), { desired, starting: 0, ready: desired }, memory, config, t);
    memory = r.memory;
    log.push(`${r.decision.desired} ${r.decision.reason}`);
    desired = r.decision.desired;
  });
  // Tick 2 evaluates [50, 85]: 1 breaching, not yet 2 of 3; tick 3 evaluates [50, 85, 85]: ALARM, and its policy runs: +2.
  assert.match(log[1], /^3 alarms worker-cpu-high OK, worker-cpu-low OK \(worker-cpu 85 %\): hold at 3$/);
  assert.match(log[2], /^5 alarm worker-cpu-high in ALARM \(worker-cpu 85 % ≥ 80 %: step \+2\): capacity 3 \+ 2 = 5: 3 → 5$/);
  const t = 4 * 3000 + 5;
  const warmObs: Observation = { ...obs(t, 85, 5), workers: obs(t, 85, 5).workers.map((w, i) => (i >= 3 ? { ...w, readyAt: t - 1000 } : w)) };
  const r = step(warmObs, { desired: 5, starting: 0, ready: 5 }, memory, config, t);
  assert.equal(r.decision.desired, 5);
  assert.match(r.decision.reason, /capacity 3 \+ 2 = 5 \(2 workers still starting or warming up, not counted\), not above 5: hold at 5/);
});

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return [(err as AutoscaleError).code, (err as Error).message];
  }
  return null;
};

test('bad step settings: one line each, a usage code (exit 2)', () => {
  const rows: Array<[Record<string, unknown>, RegExp]> = [
    [{ policy: 'step' }, /--policy step needs at least one step/],
    [{ policy: 'step', stepOut: ['60-80+1'] }, /--step-out '60-80\+1' is not a step: expected LOW-HIGH:ADJUSTMENT/],
    [{ policy: 'step', stepOut: ['-:+1'] }, /give a lower or an upper bound/],
    [{ policy: 'step', stepOut: ['80-60:+1'] }, /the lower bound \(80\) must be below the upper bound \(60\)/],
    [{ policy: 'step', stepOut: ['60-80:+1'] }, /the highest scale-out step must have no upper bound/],
    [{ policy: 'step', stepOut: ['60-80:+1', '85-:+2'] }, /'60-80:\+1' and '85-:\+2' leave a gap/],
    [{ policy: 'step', stepOut: ['60-80:+1', '70-:+2'] }, /'60-80:\+1' and '70-:\+2' overlap/],
    [{ policy: 'step', stepOut: ['60-80:+1', '80-:+20%'] }, /mix adjustment types/],
    [{ policy: 'step', stepOut: ['60-:-1'] }, /a scale-out step adds workers/],
    [{ policy: 'step', stepIn: ['-20:+1'] }, /a scale-in step removes workers/],
    [{ policy: 'step', stepIn: ['10-20:-1'] }, /the lowest scale-in step must have no lower bound/],
    [{ policy: 'step', stepOut: ['-80:+1'] }, /the lowest scale-out step needs a lower bound/],
    [{ policy: 'step', stepOut: ['30-:+1'], stepIn: ['-40:-1'] }, /the scale-in threshold \(40 %.*must be below the scale-out threshold \(30 %/],
    [{ policy: 'step', stepOut: ['60-:+1'], stepOutAlarm: '3/2' }, /--step-out-alarm must have 1 <= M <= N/],
    [{ policy: 'step', stepOut: ['60-:+1'], stepOutAlarm: 'two' }, /--step-out-alarm must be M\/N/],
    [{ policy: 'step', stepOut: ['60-:+1'], stepMinMagnitude: '2' }, /--step-min-magnitude applies only to percent steps/],
    [{ policy: 'step', stepIn: ['-20:-1'], stepOutAlarm: '1/2' }, /--step-out-alarm is set but there is no --step-out step/],
    [{ policy: 'threshold', stepOut: ['60-:+1'] }, /apply only to --policy step/],
  ];
  for (const [flags, message] of rows) {
    const got = code(() => resolveConfig(flags, {}, { ports: false }));
    assert.ok(got, `accepted: ${JSON.stringify(flags)}`);
    assert.ok(got[0] === 'AS_ERR_CONFIG' || got[0] === 'AS_ERR_USAGE', `${got[0]}: ${got[1]}`);
    assert.match(got[1], message);
    assert.ok(!got[1].includes('\n'), 'one line');
  }
  // simulate and replay refuse the flags of the other policies, and these under them.
  assert.match(code(() => resolvePolicy({ policy: 'step', stepOut: ['60-:+1'], cooldown: '30' }))![1], /--cooldown does not apply to --policy step/);
  assert.match(code(() => resolvePolicy({ policy: 'target', stepOut: ['60-:+1'] }))![1], /--step-out does not apply to --policy target|apply only to --policy step/);
});

test('the config file\'s "step" section: the same specs, alarm M/N, names, period and missing data', () => {
  const file = { policy: 'step', metric: 'p95', step: { out: ['200-500:+1', '500-:+3'], in: ['-50:-1'], 'out-alarm': '2/3', 'out-name': 'api-slow', 'out-period': 10, 'in-treat-missing-data': 'notBreaching' } };
  const c = resolveConfig({}, parseConfigFile(JSON.stringify(file), 'x.json'), { ports: false }).stepScaling!;
  assert.equal(c.out?.alarm.name, 'api-slow');
  assert.equal(c.out?.alarm.threshold, 200);
  assert.deepEqual([c.out?.alarm.datapointsToAlarm, c.out?.alarm.evaluationPeriods, c.out?.alarm.period], [2, 3, 10]);
  assert.equal(c.in?.alarm.treatMissingData, 'notBreaching');
  assert.equal(c.in?.alarm.name, 'p95-low');
  // Flags win over the file, side by side.
  const both = resolveStepScaling({ out: ['300-:+2'] }, { out: ['200-:+1'], in: ['-50:-1'] }, 'p95');
  assert.equal(both.out?.alarm.threshold, 300);
  assert.equal(both.in?.alarm.threshold, 50);
  assert.match(code(() => parseConfigFile(JSON.stringify({ step: { outt: ['1-:+1'] } }), 'x.json'))![1], /unknown key "step.outt"/);
  assert.match(code(() => resolveConfig({}, parseConfigFile(JSON.stringify({ policy: 'step', step: { out: '60-:+1', 'out-period': 'x' } }), 'x.json'), { ports: false }))![1], /"step.out-period" in the config file must be a number of seconds/);
});

test('simulate --policy step on a spike: steps out by 2 while the alarm fires, back in by 1, beside --compare rows', async () => {
  const { runCli } = await import('../helpers.js');
  const argv = ['simulate', '--policy', 'step', '--metric', 'worker-cpu', '--step-out', '60-80:+1', '--step-out', '80-:+2', '--step-in', '-20:-1', '--max', '8'];
  const load = ['--profile', 'spike', '--peak', '400', '--base', '40', '--spike-at', '60', '--spike-length', '90', '--duration', '300'];
  const r = await runCli([...argv, ...load, '--compare', '--policy threshold --scale-up 60 --scale-down 20', '--compare', '--step-out-alarm 3/3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = (JSON.parse(r.stdout) as { rows: Array<{ label: string; peak: number; scaleOut: number; scaleIn: number }> }).rows;
  assert.deepEqual(rows.map((x) => x.label), [
    '--max 8 --metric worker-cpu --policy step --step-out 60-80:+1 --step-out 80-:+2 --step-in -20:-1',
    '+ --policy threshold --scale-up 60 --scale-down 20',
    '+ --step-out-alarm 3/3',
  ]);
  // 1 → 3 → 5 → 7 (+2 steps, each after the last one's workers warmed up), then −1 steps back to 1.
  assert.deepEqual([rows[0].peak, rows[0].scaleOut, rows[0].scaleIn], [7, 3, 6]);
  assert.equal(rows[1].scaleOut, 7, 'the threshold rule adds one per tick');
  // The text table and a bad step spec inside --compare (one line, exit 2).
  const bad = await runCli([...argv, ...load, '--compare', '--step-out 90-80:+1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--step-out '90-80:\+1': the lower bound \(90\) must be below the upper bound \(80\)/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test("a recording's step settings are replay's base: they round-trip, and a --compare flag overrides one key", () => {
  const recorded = resolveConfig(
    { policy: 'step', metric: 'worker-cpu', stepOut: ['50-60:+0%', '60-:+30%'], stepIn: ['-20:-1'], stepMinMagnitude: '2', stepOutAlarm: '2/3' },
    {},
    { ports: false },
  );
  const base = { policy: 'step', metric: 'worker-cpu', stepScaling: recorded.stepScaling };
  assert.deepEqual(resolvePolicy({}, base).stepScaling, recorded.stepScaling);
  const changed = resolvePolicy({ stepInAlarm: '10/10' }, base).stepScaling!;
  assert.deepEqual(changed.out, recorded.stepScaling!.out);
  assert.deepEqual([changed.in?.alarm.datapointsToAlarm, changed.in?.alarm.evaluationPeriods], [10, 10]);
  // Another policy over a step recording ignores the recorded steps.
  assert.equal(resolvePolicy({ policy: 'target' }, base).stepScaling, null);
});

test("the report's chart draws a step policy's two alarm thresholds, not the threshold rule's defaults", async () => {
  const { chartData } = await import('../../src/report/render-html.js');
  const settings = resolveConfig({ policy: 'step', metric: 'rps', stepOut: ['30-60:+1', '60-:+2'] }, {}, { ports: false });
  const data = chartData({ settings, endSec: 10, series: {} } as never, { label: 'rps/worker', unit: ' req/s' });
  assert.deepEqual([data.settings.scaleUp, data.settings.scaleDown], [30, null]);
});
