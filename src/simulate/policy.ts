/**
 * The live lab's policy, called exactly as the lab's tick calls it:
 * step(observation, state, memory, config, now) -> { decision, memory },
 * each call fed the memory the previous one returned. Nothing of the policy
 * lives here; this file only builds the Observation a simulated tick makes.
 *
 * The simulated workers are identical (traffic spread evenly), so instead of
 * one entry per worker the observation holds one worker past warm-up carrying
 * the pool's per-worker values, plus one entry per worker still warming up:
 * measure() computes exactly the same means and warm-up count, and a tick
 * costs O(warming workers), not O(pool), even at 10,000 instances.
 */
import type { LabConfig } from '../settings/config.js';
import { coldStart, initialMemory, step, type PolicyMemory, type StepDecision } from '../policy/step.js';
import type { ObservedWorker, Observation } from '../policy/measure.js';
import type { MetricName } from '../policy/metrics.js';
import type { ForecastMemory } from '../policy/forecast.js';

/** What the simulated pool looks like at a tick. */
export interface TickView {
  now: number;
  desired: number;
  starting: number;
  ready: number;
  /** readyAt (ms) of the ready workers still inside their warm-up. */
  warmingReadyAts: readonly number[];
  /** Host CPU %, and each measured worker's CPU %, rps and in-flight requests over the tick (null: nothing measured). */
  hostCpu: number | null;
  p95: number | null;
  perWorker: { cpu: number; rps: number; inFlight: number } | null;
}

export function observationOf(v: TickView): Observation {
  // Warming workers take their share of the traffic too (measure() leaves them out of the averages).
  const rps = v.perWorker?.rps ?? 0;
  const inFlight = v.perWorker?.inFlight ?? 0;
  const workers: ObservedWorker[] = v.warmingReadyAts.map((readyAt, k) => ({ id: k + 2, state: 'ready', readyAt, cpu: null, rps, inFlight }));
  if (v.perWorker !== null && v.ready > v.warmingReadyAts.length) {
    workers.push({ id: 1, state: 'ready', readyAt: Number.NEGATIVE_INFINITY, cpu: v.perWorker.cpu, rps: v.perWorker.rps, inFlight: v.perWorker.inFlight });
  }
  return { t: v.now, hostCpu: v.hostCpu, latency: { p50: null, p95: v.p95, p99: null }, workers };
}

/** The policy's metric moved by `bias` (replay's uncertainty runs: the model's measured error either way). */
export function biasObservation(o: Observation, metric: MetricName, bias: number): Observation {
  if (bias === 0) return o;
  switch (metric) {
    case 'host-cpu':
      return { ...o, hostCpu: o.hostCpu === null ? null : Math.min(100, Math.max(0, o.hostCpu + bias)) };
    case 'p95':
      return { ...o, latency: { ...o.latency, p95: o.latency.p95 === null ? null : Math.max(0, o.latency.p95 + bias) } };
    case 'worker-cpu':
      return { ...o, workers: o.workers.map((w) => ({ ...w, cpu: w.cpu === null ? null : Math.max(0, w.cpu + bias) })) };
    case 'rps':
      return { ...o, workers: o.workers.map((w) => ({ ...w, rps: w.rps > 0 ? Math.max(0, w.rps + bias) : 0 })) };
    case 'concurrency':
      return { ...o, workers: o.workers.map((w) => ({ ...w, inFlight: w.inFlight > 0 ? Math.max(0, w.inFlight + bias) : 0 })) };
  }
}

export class LivePolicy {
  readonly #config: LabConfig;
  readonly #bias: number;
  #memory: PolicyMemory = initialMemory();

  /** `bias`: added to the policy's metric on every tick (0: the model as it is). */
  constructor(config: LabConfig, bias = 0) {
    this.#config = config;
    this.#bias = bias;
  }

  tick(v: TickView): StepDecision {
    const { decision, memory } = step(biasObservation(observationOf(v), this.#config.metric, this.#bias), { desired: v.desired, starting: v.starting, ready: v.ready }, this.#memory, this.#config, v.now);
    this.#memory = memory;
    return decision;
  }

  /** --policy predictive: the forecast's memory (its running error), or undefined. */
  get forecastMemory(): ForecastMemory | undefined {
    return this.#memory.forecast;
  }

  /** Load arrived while the pool is at zero: the count to start (1), as the lab's balancer asks for it, or null. */
  coldStart(desired: number, now: number): { desired: number; reason: string } | null {
    const c = coldStart(this.#memory, desired, now);
    if (c === null) return null;
    this.#memory = c.memory;
    return { desired: c.desired, reason: c.reason };
  }
}
