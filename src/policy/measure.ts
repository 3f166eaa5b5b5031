/**
 * What the policy sees of one tick (`Observation`, built by lab/observe.ts)
 * and every metric's value computed from it. Pure, and plain data only: an
 * observation can be written to NDJSON and fed back to `decide` unchanged.
 */
import type { MetricValues } from './metrics.js';

export interface ObservedWorker {
  id: number;
  /** The supervisor's lifecycle state; only 'ready' workers count. */
  state: string;
  /** ms since lab start when it became ready, or null. */
  readyAt: number | null;
  /** Mean of the worker's own CPU % reports received this tick (null if none arrived). */
  cpu: number | null;
  /** Requests per second the balancer sent it over this tick (the number the table shows). */
  rps: number;
  /** Mean in-flight requests to it over this tick's samples. */
  inFlight: number;
}

export interface Observation {
  /** ms since lab start when the tick window was taken. */
  t: number;
  /** Host CPU busy % over the tick (null if the sample failed). */
  hostCpu: number | null;
  /**
   * The lab's own processes (daemon and workers) over the tick, in the same
   * unit as hostCpu; the rest of hostCpu is every other process on the host.
   * Absent in recordings made before it was measured, null when unreadable.
   */
  hostCpuLab?: number | null;
  /** Latency through the balancer over the tick, ms (null when no request completed). */
  latency: { p50: number | null; p95: number | null; p99: number | null };
  workers: ObservedWorker[];
  /**
   * Responses sent to clients over the tick, all and 5xx (alarms watch them);
   * null when the front end does not see responses (--balancer l4), absent in
   * recordings made before alarms.
   */
  responses?: { total: number; serverErrors: number } | null;
}

export interface Measurement {
  values: MetricValues;
  /** Ready workers inside their warm-up. */
  warming: number;
  /** Ready workers past warm-up: what the per-worker averages cover. */
  measured: number;
  /** Some worker was sent a request or had one in flight this tick, or a request completed at the balancer. */
  traffic: boolean;
}

const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

/** True for a worker whose numbers count in per-worker averages at `now`. */
export function isMeasured(w: ObservedWorker, now: number, warmupMs: number): boolean {
  return w.state === 'ready' && w.readyAt !== null && now - w.readyAt >= warmupMs;
}

export function measure(o: Observation, warmupMs: number): Measurement {
  const cpu: number[] = [];
  const rps: number[] = [];
  const conc: number[] = [];
  let warming = 0;
  let traffic = o.latency.p95 !== null || o.latency.p50 !== null;
  for (const w of o.workers) {
    if (w.rps > 0 || w.inFlight > 0) traffic = true;
    if (w.state !== 'ready' || w.readyAt === null) continue;
    if (!isMeasured(w, o.t, warmupMs)) {
      warming++;
      continue;
    }
    if (w.cpu !== null) cpu.push(w.cpu);
    rps.push(w.rps);
    conc.push(w.inFlight);
  }
  return {
    values: { 'host-cpu': o.hostCpu, 'worker-cpu': mean(cpu), rps: mean(rps), concurrency: mean(conc), p95: o.latency.p95 },
    warming,
    measured: rps.length,
    traffic,
  };
}
