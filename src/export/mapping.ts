/**
 * How the lab's policy maps onto engines that only know "hold the metric at a
 * target": the threshold band becomes a target at its midpoint with the band
 * as tolerance, one step per tick becomes a one-pod rate limit. Pure; every
 * exporter uses it, so the same settings read the same way everywhere.
 */
import type { LabConfig } from '../settings/config.js';
import { METRICS, type MetricName } from '../policy/metrics.js';
import { stepSpecs, type StepPolicySettings, type StepScalingSettings } from '../policy/step-scaling.js';

export interface TargetMapping {
  /** The value to hold, in the lab's unit for the metric. */
  target: number;
  /** |metric / target - 1| within which nothing happens. */
  tolerance: number;
  /** Most instances one period may add; null means only the percentage limit. */
  maxUpPods: number;
  /** Most percent of the current count one period may add (0: no percentage policy). */
  maxUpPercent: number;
  /** Most instances one period may remove; null = no limit (100 % per period). */
  maxDownPods: number | null;
  /** Seconds of recommendations whose highest bounds a scale-in. */
  scaleDownWindow: number;
  /** The lab never scales this way (a step policy without that side): the engine's policy for it is disabled. */
  disableUp?: boolean;
  disableDown?: boolean;
  /** Human explanation, one line each, for comments and notes. */
  notes: string[];
}

export function targetMapping(c: LabConfig): TargetMapping {
  const unit = METRICS[c.metric].unit;
  if (c.policy === 'target') {
    return {
      target: c.target,
      tolerance: c.tolerance,
      maxUpPods: c.maxStepPods,
      maxUpPercent: c.maxStepPercent,
      maxDownPods: null,
      scaleDownWindow: c.scaleDownWindow,
      notes: [
        `lab policy: target ${c.target}${unit}${METRICS[c.metric].perWorker ? ' per instance' : ''}, tolerance ${c.tolerance}, scale-out at most +${c.maxStepPods} or +${c.maxStepPercent} % per tick, scale-in window ${c.scaleDownWindow} s`,
      ],
    };
  }
  if (c.policy === 'step' && c.stepScaling) return stepMapping(c, c.stepScaling);
  const target = (c.scaleUp + c.scaleDown) / 2;
  const tolerance = (c.scaleUp - c.scaleDown) / (c.scaleUp + c.scaleDown);
  return {
    target,
    tolerance,
    maxUpPods: 1,
    maxUpPercent: 0,
    maxDownPods: 1,
    scaleDownWindow: c.cooldown,
    notes: [
      `lab policy: threshold, out above ${c.scaleUp}${unit}, in below ${c.scaleDown}${unit}, one step per ${c.interval} s tick, ${c.cooldown} s cooldown before a scale-in`,
      `no threshold band here: mapped to target ${round(target)}${unit} (the band's midpoint) with tolerance ${round(tolerance)} (the band's half-width / midpoint), so nothing happens between ${c.scaleDown} and ${c.scaleUp}`,
      `one step per tick mapped to a rate limit of one instance per ${periodSeconds(c)} s each way; the engine still computes ceil(n × metric / target) and then applies that limit`,
      `the ${c.cooldown} s cooldown (no scale-in within it after any scaling action) mapped to a ${c.cooldown} s scale-down stabilisation window (scale in only to the highest recommendation of that window): close, not identical`,
    ],
  };
}

/**
 * Step scaling onto a target engine: one target between the two alarm thresholds (nothing happens between
 * them), the largest step as the per-period rate limit, the scale-in alarm's M of N as the scale-down window.
 */
function stepMapping(c: LabConfig, s: StepScalingSettings): TargetMapping {
  const unit = METRICS[c.metric].unit;
  const { out, in: inn } = s;
  const hi = out?.alarm.threshold ?? null;
  const lo = inn?.alarm.threshold ?? null;
  const target = hi !== null && lo !== null ? (hi + lo) / 2 : (hi ?? lo ?? 0);
  const tolerance = hi !== null && lo !== null && hi + lo > 0 ? (hi - lo) / (hi + lo) : 0;
  const largest = (p: StepPolicySettings) => Math.max(...p.steps.map((x) => Math.abs(x.adjustment)));
  const maxUpPods = !out ? 1 : out.adjustmentType === 'ChangeInCapacity' ? Math.max(1, largest(out)) : out.adjustmentType === 'ExactCapacity' ? c.max : Math.max(1, out.minAdjustmentMagnitude ?? 1);
  const maxUpPercent = out?.adjustmentType === 'PercentChangeInCapacity' ? largest(out) : 0;
  const maxDownPods = inn?.adjustmentType === 'ChangeInCapacity' ? Math.max(1, largest(inn)) : null;
  const alarmSeconds = (p: StepPolicySettings) => p.alarm.evaluationPeriods * (p.alarm.period ?? c.interval);
  const scaleDownWindow = inn ? alarmSeconds(inn) : c.cooldown;
  const side = (p: StepPolicySettings | null, d: 'out' | 'in') =>
    p
      ? `${d} ${stepSpecs(p).join(' ')} (${p.adjustmentType}${p.minAdjustmentMagnitude !== null ? `, at least ${p.minAdjustmentMagnitude}` : ''}; alarm ${p.alarm.name} ${d === 'out' ? '≥' : '≤'} ${p.alarm.threshold}${unit}, ${p.alarm.datapointsToAlarm} of ${p.alarm.evaluationPeriods} periods of ${p.alarm.period ?? c.interval} s)`
      : `no scale-${d} policy`;
  const notes = [
    `lab policy: AWS step scaling, ${side(out, 'out')}; ${side(inn, 'in')}`,
    `no steps here: the engine holds one target and adds in proportion to ceil(n × metric / target). Mapped to target ${round(target)}${unit}` +
      (hi !== null && lo !== null ? ` (midway between the alarm thresholds ${lo} and ${hi}) with tolerance ${round(tolerance)}, so nothing happens between them` : ` (the only alarm's threshold)`) +
      `; the largest step becomes the rate limit (${maxUpPercent > 0 ? `+${maxUpPercent} % or ` : ''}+${maxUpPods} per ${periodSeconds(c)} s out${maxDownPods !== null ? `, −${maxDownPods} in` : ''}), where AWS picks the step by how far the metric is past the threshold`,
    inn
      ? `the scale-in alarm (${inn.alarm.datapointsToAlarm} of ${inn.alarm.evaluationPeriods} periods, ${alarmSeconds(inn)} s) mapped to a ${scaleDownWindow} s scale-down stabilisation window: close, not identical`
      : 'the lab never scales in (no scale-in policy): scale-down is disabled',
    ...(out ? [] : ['the lab never scales out (no scale-out policy): scale-up is disabled']),
    "warm-up: AWS leaves instances that are starting or warming up out of the current capacity when it steps out; the engine leaves not-ready pods out of its metric, which is close",
  ];
  return { target, tolerance, maxUpPods, maxUpPercent, maxDownPods, scaleDownWindow, disableUp: !out, disableDown: !inn, notes };
}

/** The longest period an HPA scaling policy may have (autoscaling validation's MaxPeriodSeconds). */
export const HPA_MAX_PERIOD_SECONDS = 1800;

/** A policy period in whole seconds: the lab's tick, from 1 s (engines take no less) to the HPA's 1800 s. */
export function periodSeconds(c: LabConfig): number {
  return Math.min(HPA_MAX_PERIOD_SECONDS, Math.max(1, Math.round(c.interval)));
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Kubernetes resource quantity for a plain number: "25", "0.4" (decimal form, valid for the Quantity grammar). */
export function quantity(n: number): string {
  return String(round(n));
}

/** Why host CPU does not exist on a cluster, worded once. */
export function hostCpuNote(metric: MetricName): string | null {
  return metric === 'host-cpu'
    ? 'host-cpu has no equivalent: on one laptop it is the whole machine (load generator included); on a cluster the closest honest signal is the average CPU utilisation of the instances themselves, used here with the same numbers'
    : null;
}

