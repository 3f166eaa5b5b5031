/**
 * An arm's figures, read off the report's model of its recording (one home
 * per fact: peak, reaction, worker-seconds, cost and errors are the report's
 * own numbers from aggregate.ts) plus the two the experiment adds: seconds
 * over the SLO (ticks whose balancer p95 exceeded it, from the same latency
 * series the report charts) and what the load generator saw (its errors and
 * worst per-second p99, from load.ndjson). Pure.
 */
import type { RunModel } from '../report/aggregate.js';
import type { LoadLine } from '../runs/read.js';
import type { ClaimName } from './schema.js';

export interface ArmFigures {
  /** Most workers live at once (starting + ready). */
  peak: number;
  /** Scale actions the policy took (manual ones, from timed events, not counted). */
  scaleOuts: number;
  scaleIns: number;
  scaleActions: number;
  /** Median reaction time, s (null: none measured). */
  reaction: number | null;
  workerSeconds: number;
  cost: number;
  currency: string;
  /** Errors the balancer answered (5xx, timeouts, no worker). */
  errors: number;
  /** Requests that failed at the load generator (HTTP errors and transport errors); null without load.ndjson. */
  clientErrors: number | null;
  /** Requests the balancer completed. */
  requests: number;
  /** Seconds (tick lengths) whose balancer p95 was above the SLO. */
  secondsOverSlo: number;
  /** Worst per-second p99 the load generator measured, ms (null: none). */
  clientP99: number | null;
}

export function armFigures(model: RunModel, load: readonly LoadLine[] | null, sloP95Ms: number): ArmFigures {
  const s = model.summary;
  const policy = model.decisions.filter((d) => !d.manual);
  const { x, p95 } = model.series.latency;
  let over = 0;
  for (let i = 0; i < x.length; i++) {
    const len = i === 0 ? model.settings.interval : x[i] - x[i - 1];
    const v = p95[i];
    if (v !== null && v > sloP95Ms) over += len;
  }
  const p99s = (load ?? []).flatMap((l) => (l.p99 === null || l.p99 === undefined ? [] : [l.p99]));
  return {
    peak: s.peakInstances,
    scaleOuts: policy.filter((d) => d.direction === 'out').length,
    scaleIns: policy.filter((d) => d.direction === 'in').length,
    scaleActions: policy.length,
    reaction: s.reactionMedianSec,
    workerSeconds: s.workerSeconds,
    cost: s.cost.actual,
    currency: s.cost.price.currency,
    errors: s.errors,
    clientErrors: load === null ? null : load.reduce((n, l) => n + l.errors, 0),
    requests: s.requests,
    secondsOverSlo: Math.round(over * 10) / 10,
    clientP99: p99s.length === 0 ? null : Math.max(...p99s),
  };
}

/** The figure a claim is about. */
export function figureOf(f: ArmFigures, name: ClaimName): number | null {
  return f[name];
}
