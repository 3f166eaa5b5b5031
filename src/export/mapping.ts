/**
 * How the lab's policy maps onto engines that only know "hold the metric at a
 * target": the threshold band becomes a target at its midpoint with the band
 * as tolerance, one step per tick becomes a one-pod rate limit. Pure; every
 * exporter uses it, so the same settings read the same way everywhere.
 */
import type { LabConfig } from '../settings/config.js';
import { METRICS, type MetricName } from '../policy/metrics.js';

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

