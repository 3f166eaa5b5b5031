/**
 * The scaling policy, as a pure function: no timers, no I/O.
 * (sample, state, config, now) -> { desired, action, reason }.
 * The reason always says why it acted or why it did not, with the numbers.
 */
import type { ScaleAction } from '../events.js';

export interface PolicyState {
  /** The instance count the lab is currently steering to. */
  desired: number;
  /** Workers forked but not yet ready. */
  starting: number;
  /** Workers in rotation. */
  ready: number;
  /** ms timestamp (same clock as `now`) of the last scaling action, manual or automatic; null if none yet. */
  lastScaleAt: number | null;
}

export interface PolicyConfig {
  min: number;
  max: number;
  scaleUp: number;
  scaleDown: number;
  /** Seconds after the last scaling action during which no scale-in happens. */
  cooldown: number;
}

export interface Sample {
  /** Name shown in reasons, e.g. "cpu". */
  label: string;
  /** The metric's value (%, for CPU); null when sampling failed. */
  value: number | null;
  /** Unit suffix shown after the value, e.g. " %". */
  unit: string;
}

export interface Decision {
  desired: number;
  action: ScaleAction;
  reason: string;
}

const fmt = (v: number) => (Math.abs(v) >= 10 || Number.isInteger(v) ? Math.round(v).toString() : v.toFixed(1));

/** Threshold policy: one step per tick, clamped to [min, max]. */
export function decide(sample: Sample, state: PolicyState, config: PolicyConfig, now: number): Decision {
  const { min, max, scaleUp, scaleDown } = config;
  const current = state.desired;

  // Out of bounds (e.g. min/max changed): move back inside first, one step at a time.
  if (current < min) {
    return { desired: current + 1, action: 'scale-out', reason: `below min ${min}: ${current} → ${current + 1}` };
  }
  if (current > max) {
    return { desired: current - 1, action: 'scale-in', reason: `above max ${max}: ${current} → ${current - 1}` };
  }
  if (sample.value === null) {
    return { desired: current, action: 'hold', reason: `no ${sample.label} sample this tick: hold at ${current}` };
  }

  const v = `${sample.label} ${fmt(sample.value)}${sample.unit}`;
  if (sample.value > scaleUp) {
    const over = `${v} > ${fmt(scaleUp)}${sample.unit}`;
    if (current >= max) return { desired: current, action: 'hold', reason: `${over} but already at max ${max}` };
    if (state.starting > 0) {
      const n = state.starting;
      return { desired: current, action: 'hold', reason: `${over} but ${n} worker${n > 1 ? 's' : ''} still starting: wait` };
    }
    return { desired: current + 1, action: 'scale-out', reason: `${over}: ${current} → ${current + 1}` };
  }
  if (sample.value < scaleDown) {
    const under = `${v} < ${fmt(scaleDown)}${sample.unit}`;
    if (current <= min) return { desired: current, action: 'hold', reason: `${under} but already at min ${min}` };
    const left = state.lastScaleAt === null ? 0 : state.lastScaleAt + config.cooldown * 1000 - now;
    if (left > 0) {
      return { desired: current, action: 'hold', reason: `${under} but cooldown ${Math.ceil(left / 1000)} s left` };
    }
    return { desired: current - 1, action: 'scale-in', reason: `${under}: ${current} → ${current - 1}` };
  }
  return {
    desired: current,
    action: 'hold',
    reason: `${v} within ${fmt(scaleDown)}–${fmt(scaleUp)}${sample.unit}: hold at ${current}`,
  };
}
