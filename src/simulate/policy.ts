/**
 * The live lab's policy, called the way the lab's tick loop calls it. This
 * is the one seam between the simulator and the policy: it keeps no rule of
 * its own, only the policy's memory between ticks (the target policy's
 * recommendation window and the time of the last scaling action), exactly as
 * the daemon does.
 */
import type { LabConfig } from '../scaler/config.js';
import { decide, type Recommendation } from '../scaler/decide.js';
import type { ScaleAction } from '../events.js';
import type { MetricValues } from '../scaler/metrics.js';

/** What the simulated pool looks like at a tick. */
export interface TickView {
  now: number;
  desired: number;
  starting: number;
  ready: number;
  warming: number;
  /** Every metric as the lab's measure() would compute it (per-worker ones null when no ready worker is past warm-up). */
  values: MetricValues;
}

export interface PolicyVerdict {
  desired: number;
  action: ScaleAction;
  reason: string;
  value: number | null;
}

export class LivePolicy {
  readonly #config: LabConfig;
  #recommendations: Recommendation[] = [];
  #lastScaleAt: number | null = null;

  constructor(config: LabConfig) {
    this.#config = config;
  }

  tick(v: TickView): PolicyVerdict {
    const c = this.#config;
    const since = v.now - c.scaleDownWindow * 1000;
    this.#recommendations = this.#recommendations.filter((r) => r.at > since);
    const value = v.values[c.metric];
    const d = decide(
      { metric: c.metric, value },
      { desired: v.desired, starting: v.starting, ready: v.ready, warming: v.warming, lastScaleAt: this.#lastScaleAt, recommendations: this.#recommendations },
      c,
      v.now,
    );
    if (d.recommendation !== null) this.#recommendations.push({ at: v.now, desired: d.recommendation });
    if (d.desired !== v.desired) this.#lastScaleAt = v.now;
    return { desired: d.desired, action: d.action, reason: d.reason, value };
  }
}
