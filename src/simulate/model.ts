/**
 * The capacity model: what one second of offered load does to a pool of
 * `ready` workers. Pure arithmetic, stated so it can be checked:
 *
 * - A request costs `cpuPerRequest` core-seconds in a worker. A worker is one
 *   Node.js thread, so it uses at most one core; all workers together use at
 *   most `cores` (the host's, or Infinity for a fleet of machines). Capacity =
 *   min(ready, cores) / cpuPerRequest requests per second.
 * - Closed loop (virtual users, no think time): N users can send at most
 *   N / baseLatency; throughput X = min(that, capacity). Every user is always
 *   waiting, so the mean response time is N / X (Little's law) and the
 *   requests in flight are N.
 * - Open loop (arrival rate λ): X = min(λ + backlog, capacity); what is not
 *   served waits as backlog for the next second, but no longer than
 *   `timeoutMs` (clients give up: the excess is dropped, like the load
 *   generator's --timeout); with no ready worker every arrival fails at once
 *   (the balancer's 503). Each worker is treated as an
 *   M/M/1 queue at utilisation ρ = X / capacity: mean response time =
 *   baseLatency + S / (1 − ρ) + backlog / capacity, with S the service time of
 *   one request (cpuPerRequest stretched when workers share fewer cores).
 * - p95 = p95Factor × mean response time (ln 20 ≈ 3.0 if response times were
 *   exponential, as in M/M/1; replay calibrates the factor from the run).
 * - Traffic is spread evenly over the ready workers (round robin), so every
 *   per-worker metric is the pool's total divided by `ready`.
 */

export type LoadMode = 'closed' | 'open';

export interface CapacityModel {
  mode: LoadMode;
  /** Core-seconds of worker CPU per request. */
  cpuPerRequest: number;
  /** Cores the workers can use together (Infinity: one machine each). */
  cores: number;
  /** Round trip of one request on an idle worker, ms (closed loop: bounds what N users can send). */
  baseLatencyMs: number;
  /** p95 / mean response time. */
  p95Factor: number;
  /** Open loop: a request waits at most this long, then its client gives up (dropped). */
  timeoutMs: number;
  /**
   * Host CPU %: 'fit' = min(100, hostBase + hostPerRps × throughput), fitted
   * on a recorded run; 'fleet' = the fleet's average CPU busy %, starting
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

export function capacity(model: CapacityModel, ready: number): number {
  return Math.min(ready, model.cores) / model.cpuPerRequest;
}

/** One second: `offered` is virtual users (closed) or arrivals in req/s (open); `live` counts starting workers too. */
export function evaluateSecond(model: CapacityModel, offered: number, ready: number, live: number, backlog: number): SecondResult {
  const cap = ready > 0 ? capacity(model, ready) : 0;
  let throughput: number;
  let meanMs: number | null;
  let inFlight: number;
  let nextBacklog = 0;
  let dropped = 0;
  if (model.mode === 'closed') {
    const users = Math.max(0, offered);
    throughput = Math.min((users * 1000) / model.baseLatencyMs, cap);
    meanMs = throughput > 0 ? (users * 1000) / throughput : null;
    inFlight = ready > 0 ? users : 0;
  } else {
    const demand = Math.max(0, offered) + backlog;
    throughput = Math.min(demand, cap);
    nextBacklog = Math.min(demand - throughput, (cap * model.timeoutMs) / 1000);
    dropped = demand - throughput - nextBacklog;
    if (throughput > 0) {
      const rho = Math.min(0.99, throughput / cap);
      const serviceMs = 1000 * model.cpuPerRequest * (ready / Math.min(ready, model.cores));
      meanMs = model.baseLatencyMs + serviceMs / (1 - rho) + (1000 * nextBacklog) / cap;
    } else meanMs = null;
    inFlight = meanMs === null ? 0 : (throughput * meanMs) / 1000;
  }
  const busyCores = throughput * model.cpuPerRequest;
  const hostCpu =
    model.host.kind === 'fit' ? Math.min(100, Math.max(0, model.host.base + model.host.perRps * throughput)) : live > 0 ? Math.min(100, (100 * busyCores) / live) : 0;
  return {
    throughput,
    backlog: nextBacklog,
    dropped,
    cpu: ready > 0 ? (100 * busyCores) / ready : null,
    rps: ready > 0 ? throughput / ready : null,
    concurrency: ready > 0 ? inFlight / ready : null,
    meanMs,
    p95Ms: meanMs === null ? null : meanMs * model.p95Factor,
    hostCpu,
  };
}
