/**
 * The simulator: offered load → capacity model → the live lab's policy,
 * one simulated second at a time, ticking like the lab. Pure and fast (no
 * timers, no processes, typed arrays per second), so a day of 1-second steps
 * for 10,000 instances takes seconds.
 */
import type { ScaleAction } from '../policy/rules.js';
import type { LabConfig } from '../settings/config.js';
import type { MetricValues } from '../policy/metrics.js';
import { Fleet } from './fleet.js';
import type { OfferedLoad } from './load.js';
import { evaluateSecond, type CapacityModel } from './model.js';
import { LivePolicy } from './policy.js';
import { initialCount } from '../policy/step.js';
import { mape } from '../policy/forecast.js';

export interface SimulateInput {
  load: OfferedLoad;
  model: CapacityModel;
  config: LabConfig;
  /** Fork → ready, ms. */
  bootMs: number;
  /** Tick times, ms since start (replay uses the recorded ones); default every --interval from one interval in. */
  tickTimes?: readonly number[];
  /** Added to the policy's metric on every tick (replay's uncertainty runs); default 0. */
  bias?: number;
}

export interface SimTick {
  t: number;
  instances: number;
  ready: number;
  warming: number;
  desired: number;
  action: ScaleAction;
  reason: string;
  value: number | null;
  metrics: MetricValues;
}

export interface SimScale {
  t: number;
  from: number;
  to: number;
}

export interface SimResult {
  durationS: number;
  ticks: SimTick[];
  scales: SimScale[];
  /** Per simulated second (index i = second [i, i + 1)). NaN where a value does not exist; p95 is Infinity when load found no ready worker. */
  offered: Float64Array;
  throughput: Float64Array;
  live: Int32Array;
  ready: Int32Array;
  hostCpu: Float64Array;
  workerCpu: Float64Array;
  rps: Float64Array;
  concurrency: Float64Array;
  p95: Float64Array;
  /** Requests that failed (no ready worker, or waited past the timeout). */
  dropped: Float64Array;
  /** ms at which each worker became ready. */
  readyTimes: number[];
  /** --policy predictive: the forecast's error over the run (policy/forecast.ts); absent for the other policies. */
  forecast?: { mape: number | null; scored: number };
}

function* defaultTicks(intervalS: number, endMs: number): Generator<number> {
  for (let k = 1; k * intervalS * 1000 < endMs; k++) yield k * intervalS * 1000;
}

export function simulate(input: SimulateInput): SimResult {
  const { load, model, config } = input;
  const D = load.perSecond.length;
  const endMs = D * 1000;
  const out: SimResult = {
    durationS: D,
    ticks: [],
    scales: [],
    offered: Float64Array.from(load.perSecond),
    throughput: new Float64Array(D),
    live: new Int32Array(D),
    ready: new Int32Array(D),
    hostCpu: new Float64Array(D),
    workerCpu: new Float64Array(D),
    rps: new Float64Array(D),
    concurrency: new Float64Array(D),
    p95: new Float64Array(D),
    dropped: new Float64Array(D),
    readyTimes: [],
  };
  const fleet = new Fleet(input.bootMs);
  // The run begins with the lab's first workers ready (--min, at least one): the system was up before the load arrived.
  fleet.setDesired(initialCount(config.min), -input.bootMs);
  // The policy's boot time is the model's (--policy predictive looks that far ahead).
  const policy = new LivePolicy({ ...config, bootDelay: input.bootMs / 1000 }, input.bias ?? 0);
  const warmupMs = config.warmup * 1000;
  const ticks = (input.tickTimes ?? defaultTicks(config.interval, endMs))[Symbol.iterator]();
  let next = ticks.next();

  // What the tick being accumulated has seen (the lab measures over the tick's interval).
  let n = 0, host = 0, workerN = 0, cpu = 0, rps = 0, conc = 0, p95w = 0, p95sum = 0;

  const tick = (T: number) => {
    fleet.advance(T);
    const warmingReadyAts = fleet.warmingReadyAts(T, warmupMs);
    const v = policy.tick({
      now: T,
      desired: fleet.desired,
      starting: fleet.starting,
      ready: fleet.ready,
      warmingReadyAts,
      hostCpu: n > 0 ? host / n : null,
      p95: p95w > 0 ? p95sum / p95w : null,
      perWorker: workerN > 0 ? { cpu: cpu / workerN, rps: rps / workerN, inFlight: conc / workerN } : null,
    });
    const before = fleet.desired;
    if (v.desired !== before) {
      out.scales.push({ t: T, from: before, to: v.desired });
      fleet.setDesired(v.desired, T);
    }
    out.ticks.push({ t: T, instances: fleet.live, ready: fleet.ready, warming: v.warming, desired: fleet.desired, action: v.action, reason: v.reason, value: v.value, metrics: v.values });
    n = host = workerN = cpu = rps = conc = p95w = p95sum = 0;
  };

  let backlog = 0;
  for (let i = 0; i < D; i++) {
    const mid = i * 1000 + 500;
    while (!next.done && next.value < mid) {
      if (next.value >= 0) tick(next.value);
      next = ticks.next();
    }
    // Scaled to zero and load arrives: the balancer holds it and a worker cold-starts at once (not at a tick).
    if (fleet.desired === 0 && load.perSecond[i] > 0) {
      const cold = policy.coldStart(0, i * 1000);
      if (cold !== null) {
        out.scales.push({ t: i * 1000, from: 0, to: cold.desired });
        fleet.setDesired(cold.desired, i * 1000);
      }
    }
    fleet.advance(mid);
    const r = evaluateSecond(model, load.perSecond[i], fleet.ready, fleet.live, backlog, i);
    backlog = r.backlog;
    out.throughput[i] = r.throughput;
    out.live[i] = fleet.live;
    out.ready[i] = fleet.ready;
    out.hostCpu[i] = r.hostCpu;
    out.workerCpu[i] = r.cpu ?? Number.NaN;
    out.rps[i] = r.rps ?? Number.NaN;
    out.concurrency[i] = r.concurrency ?? Number.NaN;
    // Offered load and nothing served (no ready worker): every request fails or waits, over any SLO.
    out.p95[i] = r.p95Ms ?? (load.perSecond[i] > 0 ? Number.POSITIVE_INFINITY : Number.NaN);
    out.dropped[i] = r.dropped;
    n++;
    host += r.hostCpu;
    if (r.cpu !== null) {
      workerN++;
      cpu += r.cpu;
      rps += r.rps ?? 0;
      conc += r.concurrency ?? 0;
    }
    if (r.p95Ms !== null && r.throughput > 0) {
      p95w += r.throughput;
      p95sum += r.p95Ms * r.throughput;
    }
  }
  while (!next.done && next.value < endMs) {
    tick(next.value);
    next = ticks.next();
  }
  out.readyTimes = fleet.readyTimes;
  const fm = policy.forecastMemory;
  if (fm !== undefined) out.forecast = { mape: mape(fm), scored: fm.scored };
  return out;
}
