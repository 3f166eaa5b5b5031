/**
 * The whole scaling policy of one tick, pure:
 *   decide(observation, state, memory, config, now) -> { decision, memory }
 * It measures the observation, applies the configured rule, and returns its
 * memory (recommendation window, last scaling time, paused flag) for the next
 * tick. Everything in and out is plain serialisable data, so a recorded run
 * replayed through `decide` — each call fed the memory the previous one
 * returned — makes exactly the live lab's decisions.
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

/** The policy's memory between ticks. */
export interface PolicyMemory {
  /** Target policy: recommendations inside the scale-in stabilisation window, oldest first. */
  recommendations: Recommendation[];
  /** ms (lab clock) of the last scaling action, automatic or manual; null if none yet. */
  lastScaleAt: number | null;
  /** Autoscaling paused: decisions are computed and explained, but the count holds. */
  paused: boolean;
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

export function initialMemory(): PolicyMemory {
  return { recommendations: [], lastScaleAt: null, paused: false };
}

/** A manual scaling action at `now` (it starts the cooldown like an automatic one). */
export function noteManualScale(memory: PolicyMemory, now: number): PolicyMemory {
  return { ...memory, lastScaleAt: now };
}

export function setPaused(memory: PolicyMemory, paused: boolean): PolicyMemory {
  return { ...memory, paused };
}

export function decide(
  observation: Observation,
  state: PolicyState,
  memory: PolicyMemory,
  config: DecideConfig,
  now: number,
): { decision: Decision; memory: PolicyMemory } {
  const m = measure(observation, config.warmup * 1000);
  const value = m.values[config.metric];
  const since = now - config.scaleDownWindow * 1000;
  const window = memory.recommendations.filter((r) => r.at > since);
  const verdict = applyRule(
    { metric: config.metric, value },
    { ...state, warming: m.warming, lastScaleAt: memory.lastScaleAt, recommendations: window },
    config,
    now,
  );
  const recommendations = verdict.recommendation === null ? window : [...window, { at: now, desired: verdict.recommendation }];
  let { desired, action, reason } = verdict;
  if (config.metric === 'host-cpu') reason += hostCpuSplitSuffix(observation.hostCpu, observation.hostCpuLab);
  if (memory.paused && desired !== state.desired) {
    reason = `paused (would ${action}: ${reason})`;
    desired = state.desired;
    action = 'hold';
  }
  const lastScaleAt = desired !== state.desired ? now : memory.lastScaleAt;
  return {
    decision: { desired, action, reason, value, values: m.values, warming: m.warming },
    memory: { recommendations, lastScaleAt, paused: memory.paused },
  };
}
