/**
 * The scaling rule with its memory, pure:
 *   decide(observation, state, memory, config, now) -> { decision, memory }
 * It measures the observation, applies the configured rule, and returns its
 * memory (recommendation window, last scaling time) for the next tick.
 * Everything in and out is plain serialisable data. The whole per-tick policy
 * (pause and refresh holds, scale to zero, manual scaling) is `step()` in
 * step.ts, which calls this; the lab, simulate and replay call `step()`.
 */
import { measure, type Observation } from './measure.js';
import type { MetricName, MetricValues } from './metrics.js';
import { applyRule, hostCpuSplitSuffix, type PolicyConfig, type Recommendation, type ScaleAction } from './rules.js';

/** What the supervisor says before the decision. */
export interface PolicyState {
  /** The instance count the lab is steering to (starting workers count toward it). */
  desired: number;
  /** Workers forked or waiting to be, not yet ready. */
  starting: number;
  /** Workers in rotation. */
  ready: number;
}

/** The rule's memory between ticks. */
export interface RuleMemory {
  /** Target policy: recommendations inside the scale-in stabilisation window, oldest first. */
  recommendations: Recommendation[];
  /** ms (lab clock) of the last scaling action, automatic or manual; null if none yet. */
  lastScaleAt: number | null;
}

export interface DecideConfig extends PolicyConfig {
  metric: MetricName;
  /** Seconds a newly ready worker stays out of per-worker averages. */
  warmup: number;
}

export interface Decision {
  desired: number;
  action: ScaleAction;
  reason: string;
  /** The value of the metric that drives scaling. */
  value: number | null;
  /** Every metric's value this tick. */
  values: MetricValues;
  /** Ready workers still warming up. */
  warming: number;
}

export function decide(
  observation: Observation,
  state: PolicyState,
  memory: RuleMemory,
  config: DecideConfig,
  now: number,
): { decision: Decision; memory: RuleMemory; traffic: boolean } {
  const m = measure(observation, config.warmup * 1000);
  const value = m.values[config.metric];
  const since = now - config.scaleDownWindow * 1000;
  const window = memory.recommendations.filter((r) => r.at > since);
  const verdict = applyRule(
    { metric: config.metric, value },
    { ...state, warming: m.warming, lastScaleAt: memory.lastScaleAt, recommendations: window, idle: !m.traffic },
    config,
    now,
  );
  const recommendations = verdict.recommendation === null ? window : [...window, { at: now, desired: verdict.recommendation }];
  const { desired, action } = verdict;
  let { reason } = verdict;
  if (config.metric === 'host-cpu') reason += hostCpuSplitSuffix(observation.hostCpu, observation.hostCpuLab);
  const lastScaleAt = desired !== state.desired ? now : memory.lastScaleAt;
  return {
    decision: { desired, action, reason, value, values: m.values, warming: m.warming },
    memory: { recommendations, lastScaleAt },
    traffic: m.traffic,
  };
}
