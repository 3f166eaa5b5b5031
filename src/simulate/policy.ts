/**
 * The live lab's policy, called exactly as the lab's tick calls it:
 * decide(observation, state, memory, config, now) -> { decision, memory },
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
import { decide, initialMemory, type Decision, type PolicyMemory } from '../policy/decide.js';
import type { ObservedWorker, Observation } from '../policy/measure.js';

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
  const workers: ObservedWorker[] = v.warmingReadyAts.map((readyAt, k) => ({ id: k + 2, state: 'ready', readyAt, cpu: null, rps: 0, inFlight: 0 }));
  if (v.perWorker !== null && v.ready > v.warmingReadyAts.length) {
    workers.push({ id: 1, state: 'ready', readyAt: Number.NEGATIVE_INFINITY, cpu: v.perWorker.cpu, rps: v.perWorker.rps, inFlight: v.perWorker.inFlight });
  }
  return { t: v.now, hostCpu: v.hostCpu, latency: { p50: null, p95: v.p95, p99: null }, workers };
}

export class LivePolicy {
  readonly #config: LabConfig;
  #memory: PolicyMemory = initialMemory();

  constructor(config: LabConfig) {
    this.#config = config;
  }

  tick(v: TickView): Decision {
    const { decision, memory } = decide(observationOf(v), { desired: v.desired, starting: v.starting, ready: v.ready }, this.#memory, this.#config, v.now);
    this.#memory = memory;
    return decision;
  }
}
