/**
 * `--policy predictive`, pure: target tracking with a forecast floor, as AWS
 * recommends running predictive scaling ("forecast and scale") beside
 * dynamic scaling — the capacity is the higher of the two. The target rule
 * answers what the history did not foresee; the forecast starts workers one
 * boot time before the load it expects, which no reactive rule can do.
 */
import type { Decision, PolicyState } from './decide.js';
import { forecastStep, initialForecastMemory, type ForecastMemory, type SeasonalProfile } from './forecast.js';
import type { Observation } from './measure.js';

export interface PredictiveConfig {
  min: number;
  max: number;
  /** Seconds between ticks (absent: 0, the look-ahead is the boot time alone). */
  interval?: number;
  /** --target: req/s per worker (--metric rps). */
  target: number;
  /** Seconds from fork to ready: --boot-delay in the lab, the model's boot in simulate and replay. */
  bootDelay?: number;
  forecast?: SeasonalProfile;
}

/** Total req/s the ready pool was sent over the tick: the ready workers' mean times the ready count (null: none ready). */
export function observedTotal(o: Observation, state: PolicyState): number | null {
  const ready = o.workers.filter((w) => w.state === 'ready');
  if (ready.length === 0 || state.ready === 0) return null;
  return (ready.reduce((s, w) => s + w.rps, 0) / ready.length) * state.ready;
}

/** The target rule's decision with the forecast's floor applied, its reason saying which one won and why. */
export function applyForecast(
  d: Decision,
  o: Observation,
  state: PolicyState,
  memory: ForecastMemory | undefined,
  config: PredictiveConfig,
  now: number,
): { decision: Decision; memory: ForecastMemory | undefined } {
  const profile = config.forecast;
  if (profile === undefined) return { decision: { ...d, reason: `${d.reason} (no forecast: --history was not loaded)` }, memory };
  const f = forecastStep(profile, memory ?? initialForecastMemory(), {
    now,
    observed: observedTotal(o, state),
    intervalS: config.interval ?? 0,
    bootS: config.bootDelay ?? 0,
    target: config.target,
  });
  const floor = Math.min(config.max, Math.max(config.min, f.capacity));
  if (floor <= d.desired) {
    return { decision: { ...d, reason: `${d.reason}; ${f.reason}; ${floor} ≤ ${d.desired}: the target rule decides` }, memory: f.memory };
  }
  const from = state.desired;
  const clamped = floor !== f.capacity ? ` (clamped to max ${config.max})` : '';
  const action = floor > from ? 'scale-out' : floor < from ? 'scale-in' : 'hold';
  const move = action === 'hold' ? `hold at ${from}` : `${from} → ${floor}`;
  return { decision: { ...d, desired: floor, action, reason: `${f.reason}${clamped}, above the target rule: ${move} (the target rule alone: ${d.reason})` }, memory: f.memory };
}
