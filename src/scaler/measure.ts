/**
 * Turns what was observed over one tick into every metric's value. Pure: the
 * daemon collects the raw observations and calls this once per tick.
 */
import type { WorkerState } from '../events.js';
import type { MetricValues } from './metrics.js';

export interface ObservedWorker {
  id: number;
  state: WorkerState;
  /** ms since lab start when it became ready, or null. */
  readyAt: number | null;
  /** Mean of the worker's own CPU % reports received this tick (null if none arrived). */
  cpu: number | null;
  /** Lifetime requests the balancer sent it. */
  requests: number;
  /** Mean in-flight requests to it over this tick's samples. */
  inFlight: number;
  /** Requests in the last full second (used when there is no previous count to diff against). */
  rps: number;
}

export interface Observation {
  now: number;
  warmupMs: number;
  hostCpu: number | null;
  p95: number | null;
  workers: readonly ObservedWorker[];
  /** Each worker's request count at the previous tick. */
  previous: ReadonlyMap<number, { at: number; requests: number }>;
}

export interface Measurement {
  values: MetricValues;
  /** Ready workers inside their warm-up. */
  warming: number;
  /** Ready workers past warm-up: what the per-worker averages cover. */
  measured: number;
  /** Request counts to diff against next tick. */
  next: Map<number, { at: number; requests: number }>;
}

const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

export function measure(o: Observation): Measurement {
  const next = new Map<number, { at: number; requests: number }>();
  const cpu: number[] = [];
  const rps: number[] = [];
  const conc: number[] = [];
  let warming = 0;
  for (const w of o.workers) {
    next.set(w.id, { at: o.now, requests: w.requests });
    if (w.state !== 'ready' || w.readyAt === null) continue;
    if (o.now - w.readyAt < o.warmupMs) {
      warming++;
      continue;
    }
    if (w.cpu !== null) cpu.push(w.cpu);
    const prev = o.previous.get(w.id);
    rps.push(prev && o.now > prev.at ? ((w.requests - prev.requests) * 1000) / (o.now - prev.at) : w.rps);
    conc.push(w.inFlight);
  }
  return {
    values: { 'host-cpu': o.hostCpu, 'worker-cpu': mean(cpu), rps: mean(rps), concurrency: mean(conc), p95: o.p95 },
    warming,
    measured: rps.length,
    next,
  };
}
