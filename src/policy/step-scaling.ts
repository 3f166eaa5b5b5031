/**
 * AWS step scaling, pure: two policies, each attached to an alarm on the
 * policy's metric — a scale-out policy whose alarm fires at or above its
 * threshold and a scale-in policy whose alarm fires at or below it — each a
 * list of step adjustments whose bounds are relative to that threshold,
 * exactly as PutScalingPolicy's MetricIntervalLowerBound/UpperBound:
 *
 *   - above the threshold a step's lower bound is inclusive and its upper
 *     bound exclusive; below it, the lower bound is exclusive and the upper
 *     inclusive; a missing bound is infinite;
 *   - ChangeInCapacity adds, ExactCapacity sets, PercentChangeInCapacity adds
 *     a percentage of the current capacity, rounded as AWS rounds it (down
 *     above 1, to 1 between 0 and 1, to -1 between -1 and 0, up below -1),
 *     then at least MinAdjustmentMagnitude;
 *   - instance warm-up (EC2 Auto Scaling): while scaling out, instances still
 *     starting or warming up do not count toward the current capacity, and
 *     the desired count only ever rises to `capacity + step`, so repeated
 *     breaches in the same step are one scaling activity; while scaling in,
 *     instances still terminating do count, and no scale-in starts while a
 *     scale-out is in progress (a worker starting or warming up);
 *   - when both alarms are in ALARM, the policy giving the larger capacity
 *     wins (as EC2 Auto Scaling chooses between policies).
 *
 * The alarms themselves (M out of N, missing data, states) are evaluated by
 * src/alarms; this file takes their states. `step.ts` calls it every tick.
 */
import { initialAlarmMemory, observeAlarm, type AlarmMemory, type AlarmState } from '../alarms/evaluate.js';
import { fmtSeconds, type AlarmRule, type TreatMissing } from '../alarms/rule.js';
import { formatComparison, formatValue, plural } from '../format.js';
import type { Decision, PolicyState } from './decide.js';
import { measure, type Observation } from './measure.js';
import { METRICS, type MetricName } from './metrics.js';
import { readSample, type ScaleAction } from './rules.js';

export type AdjustmentType = 'ChangeInCapacity' | 'PercentChangeInCapacity' | 'ExactCapacity';
export const ADJUSTMENT_TYPES: readonly AdjustmentType[] = ['ChangeInCapacity', 'PercentChangeInCapacity', 'ExactCapacity'];

/** One step adjustment, bounds relative to the alarm threshold (null: infinite), as AWS's StepAdjustment. */
export interface StepAdjustment {
  lower: number | null;
  upper: number | null;
  /** ScalingAdjustment: instances, percent, or the exact count, by the policy's adjustment type. */
  adjustment: number;
}

/** The alarm a step policy is attached to: the policy's metric against `threshold`, M out of N periods. */
export interface StepAlarmSettings {
  name: string;
  threshold: number;
  /** DatapointsToAlarm (M) out of EvaluationPeriods (N). */
  datapointsToAlarm: number;
  evaluationPeriods: number;
  /** Seconds per datapoint; null: one tick (the lab's --interval). */
  period: number | null;
  treatMissingData: TreatMissing;
}

export type StepDirection = 'out' | 'in';

export interface StepPolicySettings {
  alarm: StepAlarmSettings;
  adjustmentType: AdjustmentType;
  /** PercentChangeInCapacity only: change the count by at least this many; null = no minimum. */
  minAdjustmentMagnitude: number | null;
  /** Ordered from the threshold outwards (out: ascending; in: descending). */
  steps: StepAdjustment[];
}

/** `--policy step`: a scale-out policy and/or a scale-in policy (at least one). */
export interface StepScalingSettings {
  out: StepPolicySettings | null;
  in: StepPolicySettings | null;
}

export type AlarmStateName = AlarmState;

/** What a step policy's alarm said this tick. */
export interface AlarmReading {
  state: AlarmState;
  /** A period closed and was evaluated this tick (AWS runs a policy on each evaluation while its alarm is in ALARM). */
  evaluated: boolean;
  /** That period's datapoint (the average of its ticks), null when missing. */
  value: number | null;
}

/** What the step policy knows of the supervisor this tick. */
export interface StepContext {
  desired: number;
  starting: number;
  ready: number;
  /** Ready workers inside the warm-up. */
  warming: number;
  /** Workers draining or stopping (scale-in counts them, as AWS counts terminating instances). */
  terminating: number;
}

export interface StepVerdict {
  desired: number;
  action: ScaleAction;
  reason: string;
}

const lowerOf = (s: StepAdjustment) => s.lower ?? -Infinity;
const upperOf = (s: StepAdjustment) => s.upper ?? Infinity;

/**
 * The step that `value` falls in, with AWS's inclusivity: a scale-out policy's metric is at or above the
 * threshold (lower bound inclusive, upper exclusive), a scale-in policy's at or below (lower exclusive,
 * upper inclusive). Null when no step covers it (e.g. the value is on the other side of the threshold).
 */
export function matchStep(direction: StepDirection, policy: StepPolicySettings, value: number): StepAdjustment | null {
  const d = value - policy.alarm.threshold;
  for (const s of policy.steps) {
    const inside = direction === 'out' ? d >= lowerOf(s) && d < upperOf(s) : d > lowerOf(s) && d <= upperOf(s);
    if (inside) return s;
  }
  return null;
}

/** AWS's rounding of a PercentChangeInCapacity result. */
export function roundPercentChange(raw: number): number {
  if (raw > 1) return Math.floor(raw);
  if (raw > 0) return 1;
  if (raw === 0) return 0;
  if (raw >= -1) return -1;
  return Math.ceil(raw);
}

/** The count a step asks for from `capacity`, and its arithmetic in words ("+25 % of 4 = 1, at least 2 (min magnitude): 4 + 2 = 6"). */
export function applyAdjustment(type: AdjustmentType, adjustment: number, capacity: number, minMagnitude: number | null): { to: number; arithmetic: string } {
  const sign = (n: number) => (n >= 0 ? `+${n}` : `${n}`);
  if (type === 'ExactCapacity') return { to: adjustment, arithmetic: `exactly ${adjustment}` };
  if (type === 'ChangeInCapacity') return { to: capacity + adjustment, arithmetic: `${capacity} ${adjustment >= 0 ? '+' : '−'} ${Math.abs(adjustment)} = ${capacity + adjustment}` };
  const raw = (capacity * adjustment) / 100;
  let delta = roundPercentChange(raw);
  let text = `${sign(adjustment)} % of ${capacity} = ${formatValue(raw)}`;
  if (delta !== raw) text += ` → ${sign(delta)}`;
  if (minMagnitude !== null && delta !== 0 && Math.abs(delta) < minMagnitude) {
    delta = Math.sign(delta) * minMagnitude;
    text += `, at least ${sign(delta)} (min magnitude ${minMagnitude})`;
  }
  return { to: capacity + delta, arithmetic: `${text}: ${capacity} ${delta >= 0 ? '+' : '−'} ${Math.abs(delta)} = ${capacity + delta}` };
}

/** "+2", "−1", "+10 %", "= 3": a step's adjustment as the reasons print it. */
export function adjustmentLabel(type: AdjustmentType, adjustment: number): string {
  if (type === 'ExactCapacity') return `= ${adjustment}`;
  const n = adjustment >= 0 ? `+${adjustment}` : `−${Math.abs(adjustment)}`;
  return type === 'PercentChangeInCapacity' ? `${n} %` : n;
}

/**
 * Where the value sits in its step, the bound on the threshold's side first (inclusive) and the far bound
 * after (exclusive, printed to the decimals that decide it): "worker-cpu 84 % ≥ 80 %",
 * "worker-cpu 72 % ≥ 60 % and < 80 %", "worker-cpu 15 % ≤ 20 % and > 10 %".
 */
export function describeStep(direction: StepDirection, policy: StepPolicySettings, step: StepAdjustment, metric: MetricName, value: number): string {
  const { label, unit } = METRICS[metric];
  const t = policy.alarm.threshold;
  const near = direction === 'out' ? step.lower : step.upper;
  const far = direction === 'out' ? step.upper : step.lower;
  const op = direction === 'out' ? '<' : '>';
  // The value as the far (strict) comparison needs it: never "80 % < 80 %".
  const shown = far === null ? formatValue(value, unit) : formatComparison(value, op, t + far, unit).split(` ${op} `)[0];
  const parts: string[] = [];
  if (near !== null) parts.push(`${direction === 'out' ? '≥' : '≤'} ${formatValue(t + near, unit)}`);
  if (far !== null) parts.push(`${op} ${formatValue(t + far, unit)}`);
  return `${label} ${shown}${parts.length > 0 ? ' ' + parts.join(' and ') : ''}`;
}

function act(from: number, to: number, reason: string): StepVerdict {
  return { desired: to, action: to > from ? 'scale-out' : to < from ? 'scale-in' : 'hold', reason };
}

/** One side's proposal: the count it asks for (already inside [min, max]) and why, or why it asks for nothing. */
interface Proposal {
  to: number | null;
  reason: string;
}

function propose(
  direction: StepDirection,
  policy: StepPolicySettings,
  metric: MetricName,
  value: number | null,
  ctx: StepContext,
  bounds: { min: number; max: number },
): Proposal {
  const name = `alarm ${policy.alarm.name} in ALARM`;
  const { label, unit } = METRICS[metric];
  if (value === null) return { to: null, reason: `${name} but no ${label} sample this tick: hold at ${ctx.desired}` };
  const step = matchStep(direction, policy, value);
  if (step === null) {
    const side = direction === 'out' ? 'below' : 'above';
    return { to: null, reason: `${name} but ${label} ${formatValue(value, unit)} is ${side} its threshold ${formatValue(policy.alarm.threshold, unit)}: no step applies, hold at ${ctx.desired}` };
  }
  const why = `${name} (${describeStep(direction, policy, step, metric, value)}: step ${adjustmentLabel(policy.adjustmentType, step.adjustment)})`;
  if (direction === 'in' && (ctx.starting > 0 || ctx.warming > 0)) {
    const busy = ctx.starting > 0 ? `${plural(ctx.starting, 'worker')} still starting` : `${plural(ctx.warming, 'worker')} still warming up`;
    return { to: null, reason: `${why} but a scale-out is in progress (${busy}): no scale-in yet, hold at ${ctx.desired}` };
  }
  // Warm-up: scaling out, starting and warming workers are not part of the current capacity; scaling in,
  // terminating ones are.
  const unready = direction === 'out' ? ctx.starting + ctx.warming : 0;
  const capacity = direction === 'out' ? Math.max(0, ctx.desired - unready) : ctx.ready + ctx.terminating;
  const note =
    direction === 'out' && unready > 0
      ? ` (${plural(unready, 'worker')} still starting or warming up, not counted)`
      : direction === 'in' && ctx.terminating > 0
        ? ` (${plural(ctx.terminating, 'worker')} still terminating, counted)`
        : '';
  const a = applyAdjustment(policy.adjustmentType, step.adjustment, capacity, policy.minAdjustmentMagnitude);
  let arithmetic = policy.adjustmentType === 'ExactCapacity' ? a.arithmetic : `capacity ${a.arithmetic}${note}`;
  let to = Math.min(bounds.max, Math.max(bounds.min, a.to));
  if (to !== a.to) arithmetic += `, clamped to ${to > a.to ? 'min' : 'max'} ${to}`;
  // A policy only moves the count its own way (the console's Add/Remove): out never lowers it, in never raises it.
  if (direction === 'out' ? to <= ctx.desired : to >= ctx.desired) {
    const atBound = to === ctx.desired && to !== a.to;
    return { to: null, reason: `${why}: ${arithmetic}${atBound ? '' : `, not ${direction === 'out' ? 'above' : 'below'} ${ctx.desired}`}: hold at ${ctx.desired}` };
  }
  to = Math.round(to);
  return { to, reason: `${why}: ${arithmetic}: ${ctx.desired} → ${to}` };
}

/**
 * One tick of step scaling: the alarms' readings (from the alarm evaluator), the supervisor's counts, the
 * bounds. Pure; the reason always shows the alarm, the step and its arithmetic.
 */
export function decideStepScaling(
  settings: StepScalingSettings,
  readings: { out: AlarmReading | null; in: AlarmReading | null },
  metric: MetricName,
  ctx: StepContext,
  bounds: { min: number; max: number },
): StepVerdict {
  const current = ctx.desired;
  const { min, max } = bounds;
  // Out of bounds (after a crash or a manual scale): back inside one step at a time, as the other rules.
  if (current < min) return act(current, current + 1, `below min ${min}: ${current} → ${current + 1}`);
  if (current > max) return act(current, current - 1, `above max ${max}: ${current} → ${current - 1}`);
  const proposals: Proposal[] = [];
  const sides = [['out', settings.out, readings.out], ['in', settings.in, readings.in]] as const;
  for (const [direction, policy, reading] of sides) {
    if (policy === null || reading === null || reading.state !== 'ALARM') continue;
    if (!reading.evaluated) {
      proposals.push({ to: null, reason: `alarm ${policy.alarm.name} in ALARM: its policy runs at the alarm's next evaluation; hold at ${current}` });
      continue;
    }
    proposals.push(propose(direction, policy, metric, reading.value, ctx, bounds));
  }
  if (proposals.length === 0) {
    const { label, unit } = METRICS[metric];
    const said = sides
      .filter(([, policy]) => policy !== null)
      .map(([, policy, reading]) => `${policy!.alarm.name} ${reading?.state ?? 'INSUFFICIENT_DATA'}`)
      .join(', ');
    const last = readings.out?.evaluated ? readings.out.value : readings.in?.evaluated ? readings.in.value : undefined;
    const shown = last === undefined ? '' : last === null ? ` (no ${label} datapoint)` : ` (${label} ${formatValue(last, unit)})`;
    return act(current, current, `alarms ${said}${shown}: hold at ${current}`);
  }
  // Both alarms in ALARM (M-of-N memory across a quick swing): the larger capacity wins, as EC2 Auto Scaling chooses.
  const acting = proposals.filter((p) => p.to !== null);
  if (acting.length === 0) return act(current, current, proposals.map((p) => p.reason).join('; '));
  const best = acting.reduce((a, b) => ((b.to as number) > (a.to as number) ? b : a));
  return act(current, best.to as number, best.reason);
}

/** The two alarms' memories (the evaluator's, plain data). */
export interface StepAlarmsMemory {
  out: AlarmMemory;
  in: AlarmMemory;
}

export function initialStepAlarms(): StepAlarmsMemory {
  return { out: initialAlarmMemory(), in: initialAlarmMemory() };
}

/** The CloudWatch alarm a step policy is attached to, as the alarm evaluator (and the export) take it. */
export function stepAlarmRule(direction: StepDirection, policy: StepPolicySettings, metric: MetricName, intervalS: number): AlarmRule {
  const a = policy.alarm;
  return {
    name: a.name,
    metric,
    comparison: direction === 'out' ? '>=' : '<=',
    threshold: a.threshold,
    period: a.period ?? intervalS,
    evaluationPeriods: a.evaluationPeriods,
    datapointsToAlarm: a.datapointsToAlarm,
    treatMissingData: a.treatMissingData,
    // MetricAggregationType Average: the period's datapoint is the mean of its ticks.
    statistic: 'average',
  };
}

/** "worker-cpu ≥ 60 % (2 of 3 periods of 3 s)": an alarm in one line, for the started line and the docs. */
export function describeStepAlarm(direction: StepDirection, policy: StepPolicySettings, metric: MetricName, intervalS: number): string {
  const r = stepAlarmRule(direction, policy, metric, intervalS);
  const { label, unit } = METRICS[metric];
  return `${r.name}: ${label} ${direction === 'out' ? '≥' : '≤'} ${formatValue(r.threshold, unit)} (${r.datapointsToAlarm} of ${r.evaluationPeriods} periods of ${fmtSeconds(r.period)})`;
}

/** The step policy's whole configuration, as decide's. */
export interface StepTickConfig {
  metric: MetricName;
  min: number;
  max: number;
  warmup: number;
  interval: number;
  stepScaling: StepScalingSettings;
}

/**
 * The step policy's tick, in decide's shape: measure the observation (the same per-worker averages and
 * warm-up as the other rules; an idle pool reads as zero load), feed the datapoint to both alarms, run the
 * policy of each alarm in ALARM that was evaluated this tick.
 */
export function decideStep(
  observation: Observation,
  state: PolicyState,
  alarms: StepAlarmsMemory,
  config: StepTickConfig,
  now: number,
): { decision: Decision; alarms: StepAlarmsMemory; traffic: boolean } {
  const m = measure(observation, config.warmup * 1000);
  const raw = m.values[config.metric];
  // An idle pool reads as zero load, as under every other policy.
  const { value } = readSample(config.metric, raw, { ready: state.ready, warming: m.warming, idle: !m.traffic });
  // The tick measured the interval that ends now: its datapoint belongs to the middle of that interval, and
  // every period that has ended by now is closed and evaluated at once (an empty sample at `now` closes them),
  // so the alarm acts on this tick's numbers, not on the previous tick's.
  const sample = { t: Math.max(0, now - (config.interval * 1000) / 2), values: { [config.metric]: value }, responses: null };
  const closeAt = { t: now, values: {}, responses: null };
  const s = config.stepScaling;
  const next: StepAlarmsMemory = { ...alarms };
  const readings: { out: AlarmReading | null; in: AlarmReading | null } = { out: null, in: null };
  for (const direction of ['out', 'in'] as const) {
    const policy = s[direction];
    if (policy === null) continue;
    const rule = stepAlarmRule(direction, policy, config.metric, config.interval);
    const a = observeAlarm(rule, alarms[direction], sample);
    const b = observeAlarm(rule, a.memory, closeAt);
    next[direction] = b.memory;
    const last = [...a.evaluations, ...b.evaluations].at(-1);
    readings[direction] = { state: b.memory.state, evaluated: last !== undefined, value: last?.value ?? null };
  }
  const terminating = observation.workers.filter((w) => w.state === 'draining' || w.state === 'stopping').length;
  const v = decideStepScaling(s, readings, config.metric, { ...state, warming: m.warming, terminating }, { min: config.min, max: config.max });
  return {
    decision: { desired: v.desired, action: v.action, reason: v.reason, value: raw, values: m.values, warming: m.warming },
    alarms: next,
    traffic: m.traffic,
  };
}

/** A policy's steps in the flags' own syntax, absolute ('60-80:+1', '80-:+2', '-20:-1', '70-:=6', '60-:+50%'). */
export function stepSpecs(policy: StepPolicySettings): string[] {
  const t = policy.alarm.threshold;
  const abs = (v: number | null) => (v === null ? '' : formatValue(Math.round((t + v) * 1e6) / 1e6));
  const adj = (a: number) =>
    policy.adjustmentType === 'ExactCapacity'
      ? `=${a}`
      : `${a < 0 || Object.is(a, -0) ? '-' : '+'}${Math.abs(a)}${policy.adjustmentType === 'PercentChangeInCapacity' ? '%' : ''}`;
  return policy.steps.map((s) => `${abs(s.lower)}-${abs(s.upper)}:${adj(s.adjustment)}`);
}

/** "out 60-80:+1 80-:+2, in -20:-1": the step policy in one line (started line, status, replay, docs). */
export function describeStepScaling(s: StepScalingSettings | null | undefined): string {
  if (!s) return 'step (no steps)';
  const sides = [s.out && `out ${stepSpecs(s.out).join(' ')}`, s.in && `in ${stepSpecs(s.in).join(' ')}`].filter(Boolean);
  return `steps ${sides.join(', ')}`;
}
