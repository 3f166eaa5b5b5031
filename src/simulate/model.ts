/**
 * The capacity model: what one second of offered load does to a pool of
 * `ready` workers. Pure arithmetic, stated so it can be checked:
 *
 * - A request holds one worker for `serviceMs` (the lab's `--work` busy-loop
 *   is wall-clock time), so `ready` workers serve at most
 *   ready × 1000 / serviceMs requests per second, and never more than the
 *   host's cores can pay for (cores / CPU per request). Traffic is spread evenly
 *   (round robin): every per-worker metric is the pool's total / `ready`.
 * - CPU: a busy worker is one Node.js thread, so it uses at most one core,
 *   and on a shared host only a share of one: min(1, cores / ready) on an
 *   otherwise idle host, or the share measured in second i of a recorded run
 *   (`share[i]`). Worker CPU % = 100 × utilisation × share. (A fleet:
 *   cores = Infinity, share 1.) Replay also takes `service[i]`, the wall time
 *   per request measured in second i, instead of a constant serviceMs.
 * - Closed loop (virtual users, no think time): N users can send at most
 *   N × 1000 / baseLatencyMs; throughput X = min(that, capacity). Every user
 *   is always waiting, so the mean response time is N / X (Little's law) and
 *   the requests in flight are N.
 * - Open loop (arrival rate λ): X = min(λ + backlog, capacity); what is not
 *   served waits as backlog for the next second, but no longer than
 *   `timeoutMs` (clients give up: the excess is dropped, like the load
 *   generator's --timeout); with no ready worker every arrival fails at once
 *   (the balancer's 503). Each worker is an M/M/1 queue at utilisation
 *   ρ = X / capacity: mean response time = baseLatencyMs + serviceMs / (1 − ρ)
 *   + the wait behind the backlog.
 * - p95 = p95Factor × mean response time (ln 20 ≈ 3.0 if response times were
 *   exponential, as in M/M/1; replay calibrates the factor from the run).
 */

export type LoadMode = 'closed' | 'open';

export interface CapacityModel {
  mode: LoadMode;
  /** Wall time one request holds a worker, ms. */
  serviceMs: number;
  /** Host cores (Infinity: every instance on its own machine, always a full core). */
  cores: number;
  /** Per second: the wall time per request (replay, measured); absent: serviceMs. */
  service?: Float64Array;
  /** Core-seconds of worker CPU per request. */
  cpuPerRequest: number;
  /** Per second: the CPU per request (replay, measured); absent: cpuPerRequest. */
  cpu?: Float64Array;
  /** Round trip of one request on an idle worker, ms (closed loop: bounds what N users can send; open loop: the fixed overhead). */
  baseLatencyMs: number;
  /** p95 / mean response time. */
  p95Factor: number;
  /** Open loop: a request waits at most this long, then its client gives up (dropped). */
  timeoutMs: number;
  /**
   * Host CPU %: 'fit' = min(100, base + perRps × throughput), fitted on a
   * recorded run; 'fleet' = the fleet's average CPU busy %, starting
   * instances counted as idle (there is no single host past one machine).
   */
  host: { kind: 'fit'; base: number; perRps: number } | { kind: 'fleet' };
}

export const EXPONENTIAL_P95 = Math.log(20);

export interface SecondResult {
  throughput: number;
  /** Open loop: requests still waiting at the end of the second. */
  backlog: number;
  /** Requests that failed this second (no ready worker, or waited past the timeout). */
  dropped: number;
  /** Per ready worker; null with no ready worker. */
  cpu: number | null;
  rps: number | null;
  concurrency: number | null;
  /** ms; null when nothing was served. */
  meanMs: number | null;
  p95Ms: number | null;
  hostCpu: number;
}

/** Wall time per request in second `i`, ms. */
export function serviceAt(model: CapacityModel, i: number): number {
  return model.service?.[i] ?? model.serviceMs;
}

/** Requests per second `ready` workers can serve in second `i`: service time bound, and CPU bound by the host's cores. */
export function capacity(model: CapacityModel, ready: number, i = 0): number {
  return Math.min((Math.max(0, ready) * 1000) / serviceAt(model, i), model.cores / cpuAt(model, i));
}

/** Worker CPU per request in second `i`, core-seconds. */
export function cpuAt(model: CapacityModel, i: number): number {
  return model.cpu?.[i] ?? model.cpuPerRequest;
}

/** Second `i`: `offered` is virtual users (closed) or arrivals in req/s (open); `live` counts starting workers too. */
export function evaluateSecond(model: CapacityModel, offered: number, ready: number, live: number, backlog: number, i = 0): SecondResult {
  const cap = capacity(model, ready, i);
  const serviceMs = serviceAt(model, i);
  let throughput: number;
  let meanMs: number | null;
  let inFlight: number;
  let nextBacklog = 0;
  let dropped = 0;
  if (model.mode === 'closed') {
    const users = Math.max(0, offered);
    throughput = Math.min((users * 1000) / Math.max(model.baseLatencyMs, serviceMs), cap);
    meanMs = throughput > 0 ? (users * 1000) / throughput : null;
    inFlight = ready > 0 ? users : 0;
  } else {
    const demand = Math.max(0, offered) + backlog;
    throughput = Math.min(demand, cap);
    nextBacklog = Math.min(demand - throughput, (cap * model.timeoutMs) / 1000);
    dropped = demand - throughput - nextBacklog;
    if (throughput > 0) {
      const rho = Math.min(0.99, throughput / cap);
      meanMs = model.baseLatencyMs + serviceMs / (1 - rho) + (1000 * nextBacklog) / cap;
    } else meanMs = null;
    inFlight = meanMs === null ? 0 : (throughput * meanMs) / 1000;
  }
  const busyCores = Math.min(throughput * cpuAt(model, i), ready, model.cores);
  const cpu = ready > 0 ? (100 * busyCores) / ready : null;
  const hostCpu =
    model.host.kind === 'fit'
      ? Math.min(100, Math.max(0, model.host.base + model.host.perRps * throughput))
      : live > 0 && cpu !== null ? Math.min(100, (cpu * ready) / live) : 0;
  return {
    throughput,
    backlog: nextBacklog,
    dropped,
    cpu,
    rps: ready > 0 ? throughput / ready : null,
    concurrency: ready > 0 ? inFlight / ready : null,
    meanMs,
    p95Ms: meanMs === null ? null : meanMs * model.p95Factor,
    hostCpu,
  };
}
