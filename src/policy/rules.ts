/**
 * The two scaling rules, as pure functions: no timers, no I/O, no memory of
 * their own. (sample, context, config, now) -> { desired, action, reason }.
 * The reason always says why it acted or why it did not, with the arithmetic.
 * `decide.ts` wraps them with the policy's memory; tests drive them directly.
 */
import { formatComparison, formatValue, plural } from '../format.js';
import { METRICS, type MetricName } from './metrics.js';

export type ScaleAction = 'scale-out' | 'scale-in' | 'hold';

export type PolicyName = 'threshold' | 'target' | 'predictive' | 'step';
export const POLICY_NAMES: readonly PolicyName[] = ['threshold', 'target', 'predictive', 'step'];

/** The policies whose rule is target tracking: `target`, and `predictive` (target tracking with a forecast floor, step.ts). */
export function usesTargetRule(policy: PolicyName): boolean {
  return policy === 'target' || policy === 'predictive';
}

export interface Recommendation {
  /** ms, same clock as `now`. */
  at: number;
  desired: number;
}

/** What a rule sees: the supervisor's counts, the warm-up count and the policy's memory. */
export interface RuleContext {
  /** The instance count the lab is currently steering to (starting workers count toward it). */
  desired: number;
  /** Workers forked but not yet ready. */
  starting: number;
  /** Workers in rotation. */
  ready: number;
  /** Ready workers still inside their warm-up: left out of per-worker averages. */
  warming: number;
  /** ms timestamp (same clock as `now`) of the last scaling action, manual or automatic; null if none yet. */
  lastScaleAt: number | null;
  /** Recent target-policy recommendations, for the scale-in stabilisation window. */
  recommendations: readonly Recommendation[];
  /**
   * The ready pool got no request this tick (none sent, none in flight, none completed). A metric with no
   * sample then reads as zero load (no traffic is the lowest load there is), so an idle pool scales in
   * under every metric. Absent: false.
   */
  idle?: boolean;
}

export interface PolicyConfig {
  policy: PolicyName;
  min: number;
  max: number;
  /** Threshold policy: scale out above, in below. */
  scaleUp: number;
  scaleDown: number;
  /** Threshold policy: seconds after the last scaling action during which no scale-in happens. */
  cooldown: number;
  /** Target policy: the metric value each worker should run at. */
  target: number;
  /** Target policy: no action while |metric / target - 1| <= tolerance. */
  tolerance: number;
  /** Target policy: seconds of recommendations whose highest bounds a scale-in. */
  scaleDownWindow: number;
  /** Target policy: one tick may add this many workers, or this percentage of the current count, whichever is more. */
  maxStepPods: number;
  maxStepPercent: number;
}

export interface Sample {
  metric: MetricName;
  /** For per-worker metrics, the average over the ready workers past warm-up; null when nothing could be measured. */
  value: number | null;
}

export interface Verdict {
  desired: number;
  action: ScaleAction;
  reason: string;
  /** Target policy: this tick's recommendation before stabilisation (decide keeps a window of them). */
  recommendation: number | null;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

function act(from: number, to: number, reason: string, recommendation: number | null = null): Verdict {
  return { desired: to, action: to > from ? 'scale-out' : to < from ? 'scale-in' : 'hold', reason, recommendation };
}

/**
 * How every policy reads a tick's sample of `metric`. A per-worker metric while every ready worker is
 * still warming up has nothing to read (`allWarming`). Otherwise a ready pool that got no request this
 * tick and so has no sample (p95 has none without a completed request) reads as 0, the lowest load
 * there is (`idleZero`), so an idle pool scales in under every metric.
 */
export function readSample(
  metric: MetricName,
  value: number | null,
  pool: { ready: number; warming: number; idle?: boolean },
): { value: number | null; idleZero: boolean; allWarming: boolean } {
  const allWarming = METRICS[metric].perWorker && pool.ready > 0 && pool.ready === pool.warming;
  const idleZero = value === null && !allWarming && pool.idle === true && pool.ready > 0;
  return { value: idleZero ? 0 : value, idleZero, allWarming };
}

export function applyRule(sample: Sample, state: RuleContext, config: PolicyConfig, now: number): Verdict {
  const { min, max } = config;
  const current = state.desired;
  // Out of bounds (e.g. after a crash or a config change): move back inside, one step at a time.
  if (current < min) return act(current, current + 1, `below min ${min}: ${current} → ${current + 1}`);
  if (current > max) return act(current, current - 1, `above max ${max}: ${current} → ${current - 1}`);
  const info = METRICS[sample.metric];
  if (sample.value === null) {
    const read = readSample(sample.metric, null, state);
    if (read.idleZero) {
      const v = usesTargetRule(config.policy) ? decideTarget(0, state, config, now, sample.metric) : decideThreshold(0, state, config, now, sample.metric);
      return { ...v, reason: `idle pool (no request this tick, so no ${info.label} sample; read as 0): ${v.reason}` };
    }
    const why = read.allWarming ? `every ready worker still warming up` : `no ${info.label} sample this tick`;
    return act(current, current, `${why}: hold at ${current}`);
  }
  return usesTargetRule(config.policy) ? decideTarget(sample.value, state, config, now, sample.metric) : decideThreshold(sample.value, state, config, now, sample.metric);
}

/**
 * Scale out by one above --scale-up, in by one below --scale-down. For a
 * per-worker metric, warming workers count as capacity with no load, and a
 * scale-in that would push the average over --scale-up is refused (Azure's
 * flapping protection).
 */
function decideThreshold(value: number, state: RuleContext, config: PolicyConfig, now: number, metric: MetricName): Verdict {
  const { min, max, scaleUp, scaleDown } = config;
  const info = METRICS[metric];
  const f = (v: number) => formatValue(v, info.unit);
  const current = state.desired;
  const measured = state.ready - state.warming;
  const diluted = info.perWorker && state.warming > 0 && measured > 0;
  const eff = diluted ? (value * measured) / state.ready : value;
  const note = diluted ? ` (${f(value)} on ${measured} measured, ${plural(state.warming, 'warming worker')} counted as idle)` : '';
  const v = `${info.label} ${f(eff)}${note}`;
  // The compared value is printed to the decimals that decided it: never "35 % > 35 %".
  const cmp = (op: '>' | '<', bound: number) => `${info.label} ${formatComparison(eff, op, bound, info.unit, note)}`;

  if (eff > scaleUp) {
    const over = cmp('>', scaleUp);
    if (current >= max) return act(current, current, `${over} but already at max ${max}`);
    if (state.starting > 0) return act(current, current, `${over} but ${plural(state.starting, 'worker')} still starting: wait`);
    return act(current, current + 1, `${over}: ${current} → ${current + 1}`);
  }
  if (eff < scaleDown) {
    const under = cmp('<', scaleDown);
    if (current <= min) return act(current, current, `${under} but already at min ${min}`);
    if (state.warming > 0) return act(current, current, `${under} but ${plural(state.warming, 'worker')} still warming up: hold scale-in`);
    const left = state.lastScaleAt === null ? 0 : state.lastScaleAt + config.cooldown * 1000 - now;
    if (left > 0) return act(current, current, `${under} but cooldown ${Math.ceil(left / 1000)} s left`);
    if (info.perWorker) {
      const after = (eff * current) / (current - 1);
      if (after > scaleUp) {
        return act(current, current, `${under}, but after scale-in ≈ ${formatComparison(after, '>', scaleUp, info.unit)}: hold (flapping protection)`);
      }
    }
    return act(current, current - 1, `${under}: ${current} → ${current - 1}`);
  }
  return act(current, current, `${v} within ${f(scaleDown)}–${f(scaleUp)}: hold at ${current}`);
}

/**
 * Kubernetes HPA's rule: desired = ceil(current × metric / target), nothing
 * within the tolerance, scale-out limited per tick, scale-in only down to the
 * highest recommendation of the stabilisation window, clamped to [min, max].
 * Starting and warming workers count toward `current` with no load, so a burst
 * is not answered twice.
 */
function decideTarget(value: number, state: RuleContext, config: PolicyConfig, now: number, metric: MetricName): Verdict {
  const { min, max, target, tolerance } = config;
  const current = state.desired;
  const info = METRICS[metric];
  const f = (v: number) => formatValue(v, info.unit);
  const measured = state.ready - state.warming;
  const unmeasured = current - measured;
  // Per-worker average over all `current` workers, unmeasured ones counted as idle.
  const avg = info.perWorker && unmeasured > 0 && measured > 0 ? (value * measured) / current : value;
  const note = avg !== value ? ` (${f(value)} on ${measured} measured, ${plural(unmeasured, 'starting/warming worker')} counted as idle)` : '';
  const ratio = avg / target;

  if (Math.abs(ratio - 1) <= tolerance) {
    return act(current, current, `target: ${info.label} ${f(avg)}${note} / ${f(target)} = ${ratio.toFixed(2)}, within tolerance ${tolerance}: hold at ${current}`, current);
  }
  const raw = Math.ceil(current * ratio);
  let reason = `target: ceil(${current} × ${f(avg)} / ${f(target)}) = ${raw}${note}`;
  let rec = clamp(raw, min, max);
  if (rec !== raw) reason += `, clamped to ${rec > raw ? 'min' : 'max'} ${rec}`;
  const recommendation = rec;

  if (rec > current) {
    const limit = Math.max(Math.floor((current * (100 + config.maxStepPercent)) / 100), current + config.maxStepPods);
    if (rec > limit) {
      rec = limit;
      reason += `, limited to ${limit} by max-step`;
    }
    return act(current, rec, `${reason}: ${current} → ${rec}`, recommendation);
  }
  if (rec < current) {
    const since = now - config.scaleDownWindow * 1000;
    const highest = Math.max(rec, ...state.recommendations.filter((r) => r.at > since).map((r) => r.desired));
    if (highest > rec) {
      const to = Math.min(highest, current);
      reason += `, but highest recommendation in the last ${config.scaleDownWindow} s is ${highest}`;
      if (to >= current) return act(current, current, `${reason}: hold at ${current} (stabilisation window)`, recommendation);
      rec = to;
    }
    if (state.warming > 0) return act(current, current, `${reason}, but ${plural(state.warming, 'worker')} still warming up: hold scale-in`, recommendation);
    return act(current, rec, `${reason}: ${current} → ${rec}`, recommendation);
  }
  return act(current, current, `${reason}: hold at ${current}`, recommendation);
}

/**
 * The suffix of a host-cpu reason: how much of the host figure is the lab's
 * own processes and how much everything else ("(lab 8 %, other processes 53 %)").
 * Empty when the split was not measured.
 */
export function hostCpuSplitSuffix(hostCpu: number | null, lab: number | null | undefined): string {
  if (hostCpu === null || lab === null || lab === undefined) return '';
  return ` (lab ${Math.round(lab)} %, other processes ${Math.round(Math.max(0, hostCpu - lab))} %)`;
}
