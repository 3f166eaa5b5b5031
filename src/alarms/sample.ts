/**
 * One tick's readings as an alarm sample: the policy's metrics, p99, the
 * responses of the tick, unhealthy workers and whether the pool is at its
 * ceiling. Pure; the lab hands it plain numbers (alarms sit below events).
 */
import type { MetricValues } from '../metrics.js';
import type { AlarmSample } from './evaluate.js';

/** A worker as far as health goes: its lifecycle state, the supervisor's verdict, and whether the balancer sends it work. */
export interface WorkerHealth {
  state: string;
  /** false once the supervisor marked it unhealthy (it is being replaced). */
  healthy: boolean;
  /** The balancer's view (undefined: not in the balancer's pool). */
  inRotation: boolean | undefined;
}

/**
 * CloudWatch's UnHealthyHostCount in the lab: ready workers the balancer took
 * out of rotation (failed health checks, ejected on live traffic), workers the
 * supervisor marked unhealthy, and slots waiting to restart after a crash.
 */
export function countUnhealthy(workers: readonly WorkerHealth[]): number {
  let n = 0;
  for (const w of workers) {
    if (w.state === 'backoff' || w.state === 'crashed' || (w.state !== 'exited' && !w.healthy) || (w.state === 'ready' && w.inRotation === false)) n++;
  }
  return n;
}

export interface TickReadings {
  /** ms since lab start. */
  t: number;
  /** The policy's metrics this tick (policy/measure.ts). */
  metrics: MetricValues;
  p99: number | null;
  /** Responses sent during the tick (null under L4; absent: not measured). */
  responses: { total: number; serverErrors: number } | null | undefined;
  unhealthy: number;
  desired: number;
  max: number;
}

export function alarmSample(r: TickReadings): AlarmSample {
  const responses = r.responses ?? null;
  return {
    t: r.t,
    values: { ...r.metrics, p99: r.p99, '5xx': responses === null ? null : responses.serverErrors, unhealthy: r.unhealthy, 'at-max': r.desired >= r.max ? 1 : 0 },
    responses: responses === null ? null : responses.total,
  };
}
