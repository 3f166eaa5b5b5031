/**
 * The residual model: replay a recording under another policy by keeping
 * what the policy cannot change. Each tick starts from the RECORDED
 * observation and changes only what a different number of ready workers
 * changes:
 *
 * - open loop (an arrival rate): the same arrivals (the recorded requests per
 *   second, plus what is still waiting) spread over the replayed ready
 *   workers: per-worker requests per second, CPU and in-flight scale by
 *   recorded ready / replayed ready;
 * - closed loop (N virtual users, each sending when answered): the users stay
 *   in flight, and how fast they send depends on how fast the pool answers.
 *   Each worker is a queue shared by N / r users who spend `outsideMs` of
 *   each round trip outside the pool (load generator, balancer); the tick's
 *   own throughput, users and ready workers give the service time a worker
 *   had at that moment (the host's contention as it was then), and the same
 *   queue with N / r' users gives the replayed throughput and in-flight
 *   requests (mean-value analysis, Schweitzer's approximation; `closedLoop`).
 *   So a pool that was the bottleneck serves more with more workers and less
 *   with fewer, a pool the users did not keep busy serves the same, and the
 *   same count gives the recorded figures back;
 * - saturation: the pool serves at most r × 1000 / serviceMs requests per
 *   second, and its workers use at most the host's cores; what is not served
 *   waits (queueing growth) for at most `timeoutMs`, then fails;
 * - latency: the recorded percentiles × (1 − ρ recorded) / (1 − ρ replayed)
 *   (M/M/1 per worker, ρ = a worker's busy share) plus the wait behind the
 *   queue;
 * - host CPU: the recorded figure minus the recorded pool's share of it plus
 *   the replayed pool's; the rest of the host (other processes, the load
 *   generator, the balancer) is kept as recorded.
 *
 * Where the counts agree and nothing is queued, the replayed observation IS
 * the recorded one: the recording's own noise (a slow worker, GC, the host's
 * other processes) stays in. `replayResidual` runs the live policy's step()
 * over a recording this way. Pure.
 */
import type { LabConfig } from '../settings/config.js';
import type { Observation, ObservedWorker } from '../policy/measure.js';
import { mape } from '../policy/forecast.js';
import { coldStart, initialCount, initialMemory, remember, step, type PolicyMemory } from '../policy/step.js';
import type { SimResult, SimScale, SimTick } from '../simulate/engine.js';
import { Fleet } from '../simulate/fleet.js';
import type { OfferedLoad } from '../simulate/load.js';
import { biasObservation, observationOf } from '../simulate/policy.js';
import type { Calibration } from './calibrate.js';
import type { RecordedRun } from './recording.js';

/** What saturates the replayed pool (from the run's calibration). */
export interface ResidualLimits {
  /** Wall time one request holds a worker, ms. */
  serviceMs: number;
  /** The host's cores: all workers together use at most this many. */
  cores: number;
  /** A request waits at most this long for a worker, then fails, ms. */
  timeoutMs: number;
  /**
   * Requests per second one worker was seen to serve at most in the run (`workerMaxRps`): what a worker
   * can take on this host, contention included. Absent: 1000 / serviceMs.
   */
  workerMaxRps?: number;
  /** Closed loop: the part of a user's round trip spent outside the pool, ms (`outsideMs`; absent: 0). */
  outsideMs?: number;
}

/** The limits of the residual model for a run, from its calibration: the one place they are put together. */
export function residualLimits(run: RecordedRun, cal: Calibration): ResidualLimits {
  const m = cal.model;
  return { serviceMs: m.serviceMs, cores: m.cores, timeoutMs: m.timeoutMs, workerMaxRps: workerMaxRps(run) ?? undefined, outsideMs: outsideMs(run, cal.load) ?? undefined };
}

/**
 * Closed loop: what N users do with `workers` single-server queues, each request needing `serviceS` at a
 * worker and `outsideS` outside the pool (mean-value analysis with Schweitzer's approximation, N / workers
 * users per queue). Returns the throughput (req/s, all workers) and the requests in flight at each worker.
 */
export function closedLoop(users: number, workers: number, serviceS: number, outsideS: number): { throughput: number; inFlight: number } {
  if (users <= 0 || workers <= 0 || serviceS <= 0) return { throughput: 0, inFlight: 0 };
  const n = users / workers;
  const share = Math.max(0, (n - 1) / n);
  let q = n / 2;
  let x = 0;
  let rt = serviceS;
  for (let i = 0; i < 200; i++) {
    rt = serviceS * (1 + share * q);
    x = n / (outsideS + rt);
    const next = x * rt;
    if (Math.abs(next - q) < 1e-12) break;
    q = (q + next) / 2;
  }
  return { throughput: x * workers, inFlight: x * rt };
}

/**
 * The service time one worker had on a closed-loop tick: the S for which `closedLoop` gives the recorded
 * throughput (the inverse of its fixed point, in closed form). Null when the users were not waiting on
 * the pool at all (their round trip no longer than the time outside it).
 */
export function tickServiceS(users: number, workers: number, throughput: number, outsideS: number): number | null {
  if (users <= 0 || workers <= 0 || throughput <= 0) return null;
  const n = users / workers;
  const x = throughput / workers;
  const rt = n / x - outsideS;
  if (rt <= 0) return null;
  return rt / (1 + Math.max(0, (n - 1) / n) * x * rt);
}

export interface ResidualTickInput {
  /** The recorded observation of this tick. */
  recorded: Observation;
  /** Ready workers in the recording at this tick. */
  recordedReady: number;
  /** The replayed pool at this tick: ready workers, and the readyAt of those still warming up. */
  ready: number;
  warmingReadyAts: readonly number[];
  /** Requests still waiting from the previous replayed tick. */
  backlog: number;
  /** The tick's length, s. */
  dt: number;
  limits: ResidualLimits;
  /** Closed loop: the virtual users over this tick (null or absent: open loop, the recorded arrivals stand). */
  users?: number | null;
}

export interface ResidualTick {
  observation: Observation;
  /** Requests served per second over the tick, and still waiting / failed at its end. */
  served: number;
  backlog: number;
  dropped: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** One tick of the residual model. */
export function residualTick(x: ResidualTickInput): ResidualTick {
  const o = x.recorded;
  const readyRec = o.workers.filter((w) => w.state === 'ready');
  const arrivals = sum(readyRec.map((w) => w.rps));
  if (x.ready === x.recordedReady && x.backlog === 0) return { observation: o, served: arrivals, backlog: 0, dropped: 0 };

  const R = Math.max(x.recordedReady, readyRec.length);
  const r = x.ready;
  const { serviceMs, cores, timeoutMs } = x.limits;
  const cpus = readyRec.flatMap((w) => (w.cpu === null ? [] : [w.cpu]));
  const cpuRec = cpus.length === 0 ? null : sum(cpus) / cpus.length;
  // Core-seconds per request as this tick measured it (the recording's own contention), else the service time's.
  const cpuPerRequest = cpuRec !== null && arrivals > 0 && R > 0 ? (cpuRec * R) / 100 / arrivals : serviceMs / 1000;
  const users = x.users ?? null;
  // What one worker can serve: the most one was seen to serve in the run, else the service time's bound.
  const perWorker = x.limits.workerMaxRps ?? 1000 / serviceMs;
  const coreBound = cpuPerRequest > 0 ? cores / cpuPerRequest : Number.POSITIVE_INFINITY;
  // Closed loop: the users send as fast as they are answered (none wait in a queue of their own): the same
  // queue as recorded, with the replayed number of workers (closedLoop). Ticks where the users were not
  // waiting on the pool keep their throughput, at most what the replayed workers can serve.
  const outsideS = (x.limits.outsideMs ?? 0) / 1000;
  const S = users === null ? null : tickServiceS(users, R, arrivals, outsideS);
  const queue = S === null || users === null || r === 0 ? null : closedLoop(users, r, S, outsideS);
  const capacity = r === 0 ? 0 : queue !== null ? Math.min(queue.throughput, coreBound) : Math.min(r * perWorker, coreBound);
  const demand = users === null ? arrivals + x.backlog / x.dt : queue !== null ? queue.throughput : arrivals;
  const served = Math.min(demand, capacity);
  // Open loop: what is not served waits, at most timeoutMs, then fails. Closed loop: the users wait (no queue of arrivals).
  const left = users === null ? (demand - served) * x.dt : 0;
  const backlog = Math.min(left, (Math.max(capacity, arrivals) * timeoutMs) / 1000);
  const dropped = left - backlog;

  const perRps = r > 0 ? served / r : 0;
  // A worker's CPU: its recorded CPU × its share of the served load, at most one core, all at most the cores.
  const idleCpu = cpuRec ?? 0;
  const cpu = cpuRec === null ? null : Math.min(100, (100 * cores) / Math.max(1, r), arrivals > 0 ? (cpuRec * (R > 0 ? R : 1) * (served / arrivals)) / Math.max(1, r) : idleCpu);
  const rho = (rps: number) => Math.min(0.99, (rps * serviceMs) / 1000);
  const rhoRec = R > 0 ? rho(arrivals / R) : 0;
  // Open loop: M/M/1 per worker. Closed loop: Little's law, the time at the pool = users / throughput − the time outside.
  const poolTime = (through: number) => (users ?? 0) / through - outsideS;
  const factor =
    queue !== null && served > 0 && poolTime(served) > 0
      ? poolTime(served) / poolTime(arrivals)
      : users !== null && served > 0 && arrivals > 0
        ? arrivals / served
        : (1 - rhoRec) / (1 - rho(perRps));
  const waitMs = capacity > 0 ? (1000 * backlog) / capacity : 0;
  const lat = (v: number | null) => (v === null ? null : v * factor + waitMs);
  const inFlightRec = sum(readyRec.map((w) => w.inFlight));
  const inFlight =
    r === 0
      ? 0
      : queue !== null
        ? // The recorded in-flight requests (with their noise), times the queue's change from R to r workers;
          // all together at most the users (each has one request out), or what was recorded if more.
          Math.min(
            (inFlightRec / Math.max(1, R)) * (queue.inFlight / Math.max(1e-9, closedLoop(users ?? 0, R, S ?? 0, outsideS).inFlight)) * (served / Math.max(1e-9, queue.throughput)),
            Math.max(inFlightRec, users ?? 0) / r,
          )
        : users !== null || arrivals === 0
          ? inFlightRec / r
          : (inFlightRec * (served / arrivals) * factor) / r + backlog / r;

  // Host CPU: the recorded pool's share out, the replayed pool's in (cpu % of one core → % of the host).
  const poolRec = sum(o.workers.map((w) => w.cpu ?? 0)) / cores;
  const poolNew = cpu === null ? poolRec : (cpu * r) / cores;
  const hostCpu = o.hostCpu === null ? null : Math.min(100, Math.max(0, o.hostCpu - poolRec + poolNew));

  const base = observationOf({
    now: o.t,
    desired: r,
    starting: 0,
    ready: r,
    warmingReadyAts: x.warmingReadyAts,
    hostCpu,
    p95: null,
    perWorker: r > 0 ? { cpu: cpu ?? 0, rps: perRps, inFlight } : null,
  });
  const workers: ObservedWorker[] = cpu === null ? base.workers.map((w) => ({ ...w, cpu: null })) : base.workers;
  const completed = served > 0;
  return {
    observation: {
      t: o.t,
      hostCpu,
      latency: completed ? { p50: lat(o.latency.p50), p95: lat(o.latency.p95), p99: lat(o.latency.p99) } : { p50: null, p95: null, p99: null },
      workers,
    },
    served,
    backlog,
    dropped,
  };
}

/**
 * The most requests per second one worker was seen to serve in the run: the 95th percentile of the
 * per-worker rates of the ready workers on the ticks that had traffic (null: none).
 */
export function workerMaxRps(run: RecordedRun): number | null {
  const rates: number[] = [];
  for (const k of run.ticks) for (const w of k.observation?.workers ?? []) if (w.state === 'ready' && w.rps > 0) rates.push(w.rps);
  if (rates.length === 0) return null;
  rates.sort((a, b) => a - b);
  return rates[Math.min(rates.length - 1, Math.ceil(0.95 * rates.length) - 1)];
}

/** Mean of a per-second series over the seconds of [fromMs, toMs). */
export function meanOver(xs: ArrayLike<number>, fromMs: number, toMs: number): number {
  let sumX = 0;
  let n = 0;
  for (let i = Math.max(0, Math.floor(fromMs / 1000)); i < Math.min(xs.length, Math.max(Math.floor(fromMs / 1000) + 1, Math.ceil(toMs / 1000))); i++) {
    sumX += xs[i];
    n++;
  }
  return n === 0 ? 0 : sumX / n;
}

/**
 * Closed loop: the part of a round trip the users spent outside the pool (load generator, balancer), ms:
 * the mean over the ticks with traffic of (users − requests in flight at the workers) / throughput
 * (Little's law on the whole loop and on the pool). Null for an open-loop run or without such ticks.
 */
export function outsideMs(run: RecordedRun, load: OfferedLoad): number | null {
  if (load.mode !== 'closed') return null;
  const xs: number[] = [];
  let prev = 0;
  for (const k of run.ticks) {
    const users = meanOver(load.perSecond, prev, k.t);
    prev = k.t;
    const ready = (k.observation?.workers ?? []).filter((w) => w.state === 'ready');
    const through = sum(ready.map((w) => w.rps));
    if (users < 1 || through <= 0) continue;
    xs.push(Math.max(0, (1000 * (users - sum(ready.map((w) => w.inFlight)))) / through));
  }
  // The mean, not the median: the in-flight count is an instant's sample, so saturated ticks often read
  // more requests in flight than the tick's mean users and clamp to 0, which pulls a median to 0.
  return xs.length === 0 ? null : sum(xs) / xs.length;
}

export interface ResidualOptions {
  limits: ResidualLimits;
  /** The offered load on the run's clock (calibrate's): closed loop gives the users per tick; open loop is not used. */
  load: OfferedLoad;
  /** Fork → ready, ms (the run's median). */
  bootMs: number;
  /** Added to the policy's metric on every replayed tick (0: none). */
  bias?: number;
}

/**
 * The live policy's step() over the recording's ticks, under `config`, each tick's observation from the
 * residual model. Pauses, refreshes and released requests of the recording are folded into the memory as
 * the lab did; manual scaling is not replayed (it answered the recorded count). A pool at zero cold-starts
 * when the recording shows a request arriving. Returns a SimResult (per-second arrays from the ticks).
 */
export function replayResidual(run: RecordedRun, config: LabConfig, opts: ResidualOptions): SimResult {
  const D = Math.max(1, Math.ceil(run.durationMs / 1000));
  const nan = () => new Float64Array(D).fill(Number.NaN);
  const out: SimResult = {
    durationS: D,
    ticks: [],
    scales: [],
    offered: nan(),
    throughput: nan(),
    live: new Int32Array(D),
    ready: new Int32Array(D),
    hostCpu: nan(),
    workerCpu: nan(),
    rps: nan(),
    concurrency: nan(),
    p95: nan(),
    dropped: new Float64Array(D),
    readyTimes: [],
  };
  const fleet = new Fleet(opts.bootMs);
  fleet.setDesired(initialCount(config.min), -opts.bootMs);
  let memory: PolicyMemory = initialMemory();
  const events = run.memoryEvents.filter((e) => e.type !== 'scale' || !e.manual);
  let j = 0;
  let backlog = 0;
  let prevT = 0;
  let s = 0;
  const scale = (t: number, to: number) => {
    const from = fleet.desired;
    if (to === from) return;
    out.scales.push({ t, from, to } satisfies SimScale);
    fleet.setDesired(to, t);
  };
  const fillSeconds = (until: number, f: (i: number) => void) => {
    for (; s < Math.min(D, Math.ceil(until / 1000)); s++) f(s);
  };
  const liveAt = (i: number) => {
    fleet.advance(i * 1000 + 500);
    out.live[i] = fleet.live;
    out.ready[i] = fleet.ready;
  };
  for (const k of run.ticks) {
    if (k.observation === undefined || k.state === undefined) continue;
    while (j < events.length && events[j].t < k.t) {
      const e = events[j++];
      // A recorded cold start is the recording's pool at zero; the replayed pool follows its own count.
      if (e.type === 'scale') continue;
      memory = remember(memory, e);
    }
    // Arrivals while the replayed pool is at zero start a worker at once (the balancer holds them meanwhile).
    if (fleet.desired === 0) {
      const first = run.stats.find((x) => x.t > prevT && x.t <= k.t + 1000 && x.rps > 0);
      const recTraffic = k.observation.workers.some((w) => w.rps > 0 || w.inFlight > 0) || k.observation.latency.p95 !== null;
      if (first !== undefined || recTraffic) {
        const at = Math.max(prevT, first === undefined ? prevT : first.t - 1000);
        const c = coldStart(memory, 0, at);
        if (c !== null) {
          memory = c.memory;
          fillSeconds(at, liveAt);
          scale(at, c.desired);
        }
      }
    }
    fillSeconds(k.t, liveAt);
    fleet.advance(k.t);
    const dt = Math.max(0.001, (k.t - prevT) / 1000);
    const warmingReadyAts = fleet.warmingReadyAts(k.t, config.warmup * 1000);
    const users = opts.load.mode === 'closed' ? meanOver(opts.load.perSecond, prevT, k.t) : null;
    const res = residualTick({ recorded: k.observation, recordedReady: k.state.ready, ready: fleet.ready, warmingReadyAts, backlog, dt, limits: opts.limits, users });
    backlog = res.backlog;
    const observation = biasObservation(res.observation, config.metric, opts.bias ?? 0);
    const state = { desired: fleet.desired, starting: fleet.starting, ready: fleet.ready };
    // The policy's boot time is the replay's (--policy predictive looks that far ahead).
    const r = step(observation, state, memory, { ...config, bootDelay: opts.bootMs / 1000 }, k.t);
    memory = r.memory;
    scale(k.t, r.decision.desired);
    const d = r.decision;
    out.ticks.push({ t: k.t, instances: fleet.live, ready: fleet.ready, warming: d.warming, desired: fleet.desired, action: d.action, reason: d.reason, value: d.value, metrics: d.values } satisfies SimTick);
    // The tick's window, per second: served, failed, the metrics as measured.
    for (let i = Math.max(0, Math.floor(prevT / 1000)); i < Math.min(D, Math.ceil(k.t / 1000)); i++) {
      out.throughput[i] = res.served;
      out.dropped[i] = res.dropped / Math.max(1, Math.ceil(k.t / 1000) - Math.floor(prevT / 1000));
      out.p95[i] = observation.latency.p95 ?? (res.served === 0 && res.backlog + res.dropped > 0 ? Number.POSITIVE_INFINITY : Number.NaN);
      out.hostCpu[i] = observation.hostCpu ?? Number.NaN;
      out.workerCpu[i] = d.values['worker-cpu'] ?? Number.NaN;
      out.rps[i] = d.values.rps ?? Number.NaN;
      out.concurrency[i] = d.values.concurrency ?? Number.NaN;
    }
    prevT = k.t;
  }
  fillSeconds(D * 1000, liveAt);
  out.readyTimes = fleet.readyTimes;
  if (memory.forecast !== undefined) out.forecast = { mape: mape(memory.forecast), scored: memory.forecast.scored };
  return out;
}
