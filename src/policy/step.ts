/**
 * The whole per-tick policy, pure: what the lab's tick, `simulate` and
 * `replay` call, and nothing else.
 *
 *   step(observation, state, memory, config, now) -> { decision, memory }
 *
 * 1. the rule with its window and cooldown (decide.ts), or, with
 *    `--policy step`, AWS step scaling driven by its two alarms
 *    (step-scaling.ts);
 * 2. scale to zero (`--min 0`): the rule's floor is one worker, and only
 *    `--idle` seconds without traffic take the pool to none (idle.ts);
 * 3. holds: while paused by the operator or held by a rolling refresh, the
 *    decision is computed and explained but the count stays.
 *
 * Its memory is plain data, changed only here: by `step` itself and by what
 * happens between ticks (`setPaused`, `setHold`, `noteManualScale`,
 * `coldStart`, `noteActivity`). A recording replays it through `remember`,
 * which maps each recorded event to the same function the lab called live.
 */
import { decide, type DecideConfig, type Decision, type PolicyState, type RuleMemory } from './decide.js';
import { applyIdle, policyMin } from './idle.js';
import type { Observation } from './measure.js';
import type { ForecastMemory, SeasonalProfile } from './forecast.js';
import { applyForecast } from './predictive.js';
import { decideStep, initialStepAlarms, type StepAlarmsMemory, type StepScalingSettings } from './step-scaling.js';

export { policyMin, ZERO_REASON } from './idle.js';
export type { Decision, PolicyState } from './decide.js';

export interface StepConfig extends DecideConfig {
  /** --idle, seconds without traffic before a `--min 0` pool goes to zero. */
  idle: number;
  /** --policy predictive: seconds from fork to ready (the forecast looks this far ahead) and the learned profile. */
  bootDelay?: number;
  forecast?: SeasonalProfile;
  /** Seconds between ticks (a step alarm's default period; the forecast adds it to its look-ahead). */
  interval: number;
  /** --policy step: its policies and alarms (null or absent under the other policies). */
  stepScaling?: StepScalingSettings | null;
}

/** What holds automatic scaling: the operator's pause, or a named hold such as a rolling refresh. */
export type Hold = 'paused' | string;

/** The policy's memory between ticks. */
export interface PolicyMemory extends RuleMemory {
  /** Autoscaling paused by the operator: decisions are computed and explained, but the count holds. */
  paused: boolean;
  /** Automatic scaling held for this reason (a rolling refresh), or null. */
  hold: string | null;
  /** ms (lab clock) of the last sign of traffic, for --idle (0: the lab's start). */
  lastActivityAt: number;
  /** --policy predictive: the forecast's recent level and running error (predictive.ts); absent for the other policies. */
  forecast?: ForecastMemory;
  /** --policy step: its two alarms' memories (absent: not yet evaluated). */
  stepAlarms?: StepAlarmsMemory;
}

export interface StepDecision extends Decision {
  /** What held the count this tick although the rule would have changed it, or null. */
  heldBy: Hold | null;
}

/** The hold a rolling refresh puts on automatic scaling (its name in the reasons). */
export const REFRESH_HOLD = 'refresh in progress';

export const COLD_START_REASON = 'a request is waiting and no worker runs: cold start 0 → 1';

export function initialMemory(): PolicyMemory {
  return { recommendations: [], lastScaleAt: null, paused: false, hold: null, lastActivityAt: 0 };
}

/** The count the lab starts with: like Knative's initial scale of 1, a `--min 0` lab starts warm. */
export function initialCount(min: number): number {
  return policyMin(min);
}

/** A manual scaling action at `now` (it starts the cooldown like an automatic one). */
export function noteManualScale(memory: PolicyMemory, now: number): PolicyMemory {
  return { ...memory, lastScaleAt: now };
}

export function setPaused(memory: PolicyMemory, paused: boolean): PolicyMemory {
  return { ...memory, paused };
}

/** Hold automatic scaling for `reason` (e.g. REFRESH_HOLD), or lift the hold with null. */
export function setHold(memory: PolicyMemory, reason: string | null): PolicyMemory {
  return { ...memory, hold: reason };
}

/** A sign of traffic between ticks (a request held or released at the balancer). */
export function noteActivity(memory: PolicyMemory, now: number): PolicyMemory {
  return { ...memory, lastActivityAt: Math.max(memory.lastActivityAt, now) };
}

/**
 * A request arrived while no worker runs (`desired` 0): start one at once (Knative's activator),
 * unless paused. Returns the new count, its reason and the memory, or null when nothing starts.
 */
export function coldStart(memory: PolicyMemory, desired: number, now: number): { desired: number; reason: string; memory: PolicyMemory } | null {
  if (desired !== 0 || memory.paused) return null;
  return { desired: 1, reason: COLD_START_REASON, memory: { ...noteActivity(memory, now), lastScaleAt: now } };
}

/** One tick of the whole policy. */
export function step(observation: Observation, state: PolicyState, memory: PolicyMemory, config: StepConfig, now: number): { decision: StepDecision; memory: PolicyMemory } {
  // With --min 0 the rule still keeps one worker; only the idle rule goes to zero.
  const ruleConfig = config.min === 0 ? { ...config, min: policyMin(0) } : config;
  const steps = config.policy === 'step' ? config.stepScaling : null;
  let stepAlarms = memory.stepAlarms;
  let r: ReturnType<typeof decide>;
  if (steps) {
    const s = decideStep(observation, state, memory.stepAlarms ?? initialStepAlarms(), { ...ruleConfig, stepScaling: steps }, now);
    stepAlarms = s.alarms;
    r = { decision: s.decision, memory: { recommendations: [], lastScaleAt: memory.lastScaleAt }, traffic: s.traffic };
  } else {
    r = decide(observation, state, memory, ruleConfig, now);
  }
  // --policy predictive: the forecast's floor over the target rule (predictive.ts).
  const p = config.policy === 'predictive' ? applyForecast(r.decision, observation, state, memory.forecast, ruleConfig, now) : { decision: r.decision, memory: memory.forecast };
  const lastActivityAt = r.traffic ? now : memory.lastActivityAt;
  const d = applyIdle(p.decision, { min: config.min, idle: config.idle, desired: state.desired, starting: state.starting, idleForMs: now - lastActivityAt });
  let { desired, action, reason } = d;
  const hold: Hold | null = memory.paused ? 'paused' : memory.hold;
  let heldBy: Hold | null = null;
  if (hold !== null && desired !== state.desired) {
    reason = `${hold} (would ${action}: ${reason})`;
    desired = state.desired;
    action = 'hold';
    heldBy = hold;
  }
  return {
    decision: { ...d, desired, action, reason, heldBy },
    memory: {
      recommendations: r.memory.recommendations,
      lastScaleAt: desired !== state.desired ? now : memory.lastScaleAt,
      paused: memory.paused,
      hold: memory.hold,
      lastActivityAt,
      ...(p.memory === undefined ? {} : { forecast: p.memory }),
      ...(stepAlarms === undefined ? {} : { stepAlarms }),
    },
  };
}

/** What a recording holds between ticks that the policy's memory follows (shapes of the lab's events). */
export type MemoryEvent =
  | { type: 'paused'; t: number; paused: boolean }
  | { type: 'scale'; t: number; from: number; to: number; manual: boolean }
  | { type: 'refresh'; t: number; phase: 'started' | 'progress' | 'done' | 'failed' }
  | { type: 'cold-start'; t: number };

/**
 * The memory after a recorded event, by the same function the lab called when it happened: a pause, a
 * manual scale, a cold start (a scale from 0 that no tick made), a refresh starting or ending, held
 * requests released. Automatic scale events change nothing: `step` already remembered them.
 */
export function remember(memory: PolicyMemory, e: MemoryEvent): PolicyMemory {
  switch (e.type) {
    case 'paused':
      return setPaused(memory, e.paused);
    case 'scale':
      if (e.manual) return noteManualScale(memory, e.t);
      if (e.from === 0 && e.to > 0) return { ...noteActivity(memory, e.t), lastScaleAt: e.t };
      return memory;
    case 'refresh':
      if (e.phase === 'started') return setHold(memory, REFRESH_HOLD);
      if (e.phase === 'done' || e.phase === 'failed') return setHold(memory, null);
      return memory;
    case 'cold-start':
      return noteActivity(memory, e.t);
  }
}
