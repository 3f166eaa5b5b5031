/**
 * The one tick window: the only place where per-tick data builds up. The
 * balancer and the supervisor expose facts (lifetime counters, the latest
 * process stats); this window keeps the baselines of the previous tick, one
 * in-flight sample a second, and turns the difference into one plain
 * `Observation` when the tick takes it. Nothing else resets on a read.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { WorkerTraffic } from '../balancer/front-end.js';
import { newLatencyHistogram } from '../balancer/traffic-stats.js';
import type { Observation, ObservedWorker } from '../policy/measure.js';
import type { WorkerRecord } from '../supervisor/supervisor.js';

export interface ObserveSources {
  /** The supervisor's records: lifecycle and lifetime counters of each worker's own stats. */
  workers(): readonly WorkerRecord[];
  /** The balancer's traffic to each worker (lifetime `requests`, `inFlight` now, `rps` in the last full second). */
  upstreams(): readonly WorkerTraffic[];
  /** The balancer's lifetime latency histogram, µs. */
  latency(): Readonly<Histogram>;
  /** Lifetime responses by status class (index 5: 5xx), or null when the front end cannot see responses (L4). */
  responsesByClass?(): readonly number[] | null;
}

export interface LatencyPercentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Percentiles of the latencies recorded since the previous take, from a lifetime histogram that is never reset. */
export class LatencyWindow {
  readonly #source: () => Readonly<Histogram>;
  readonly #baseline = newLatencyHistogram();
  readonly #delta = newLatencyHistogram();

  constructor(source: () => Readonly<Histogram>) {
    this.#source = source;
    this.#baseline.add(source() as Histogram);
  }

  take(): LatencyPercentiles {
    const now = this.#source() as Histogram;
    const d = this.#delta;
    d.reset();
    d.add(now);
    d.subtract(this.#baseline);
    this.#baseline.reset();
    this.#baseline.add(now);
    if (d.totalCount <= 0) return { p50: null, p95: null, p99: null };
    return { p50: d.getValueAtPercentile(50) / 1000, p95: d.getValueAtPercentile(95) / 1000, p99: d.getValueAtPercentile(99) / 1000 };
  }
}

interface Baseline {
  at: number;
  requests: number | null;
  cpuReportSum: number;
  cpuReports: number;
}

export class TickWindow {
  readonly #sources: ObserveSources;
  readonly #latency: LatencyWindow;
  /** Per worker, the counters at the previous take. */
  #baselines = new Map<number, Baseline>();
  /** Per worker, in-flight samples since the previous take. */
  #inFlight = new Map<number, { sum: number; n: number }>();
  /** Per worker, the request rate of the last take (shown between ticks). */
  #rates = new Map<number, number>();
  /** Lifetime responses (all, 5xx) at the previous take. */
  #responses: { total: number; serverErrors: number } | null;

  constructor(sources: ObserveSources) {
    this.#sources = sources;
    this.#latency = new LatencyWindow(() => sources.latency());
    this.#responses = this.#lifetimeResponses();
  }

  #lifetimeResponses(): { total: number; serverErrors: number } | null {
    const byClass = this.#sources.responsesByClass?.() ?? null;
    return byClass === null ? null : { total: byClass.reduce((a, b) => a + b, 0), serverErrors: byClass[5] ?? 0 };
  }

  /** One in-flight sample per upstream; the lab calls this once a second (take adds one more). */
  sample(): void {
    for (const u of this.#sources.upstreams()) {
      const acc = this.#inFlight.get(u.id) ?? { sum: 0, n: 0 };
      acc.sum += u.inFlight;
      acc.n++;
      this.#inFlight.set(u.id, acc);
    }
  }

  /** Requests per second worker `id` served over the last tick (0 before its first). */
  rateOf(id: number): number {
    return this.#rates.get(id) ?? 0;
  }

  /**
   * Close the window at `now`: one Observation, and a fresh window from here.
   * `labCpu` is the lab's own processes' share of `hostCpu` (ProcessCpuMeter), kept at most hostCpu:
   * the two are read a moment apart, and the lab cannot use more of the host than the host used.
   */
  take(now: number, hostCpu: number | null, labCpu: number | null = null): Observation {
    this.sample();
    const upstreams = new Map(this.#sources.upstreams().map((u) => [u.id, u]));
    const baselines = new Map<number, Baseline>();
    const rates = new Map<number, number>();
    const workers: ObservedWorker[] = [];
    for (const w of this.#sources.workers()) {
      const u = upstreams.get(w.id);
      const prev = this.#baselines.get(w.id);
      const rps =
        u === undefined ? 0 : prev !== undefined && prev.requests !== null && now > prev.at ? ((u.requests - prev.requests) * 1000) / (now - prev.at) : u.rps;
      const reports = w.cpuReports - (prev?.cpuReports ?? 0);
      const cpu = reports > 0 ? (w.cpuReportSum - (prev?.cpuReportSum ?? 0)) / reports : null;
      const f = this.#inFlight.get(w.id);
      workers.push({ id: w.id, state: w.state, readyAt: w.readyAt, cpu, rps, inFlight: f && f.n > 0 ? f.sum / f.n : 0 });
      baselines.set(w.id, { at: now, requests: u?.requests ?? null, cpuReportSum: w.cpuReportSum, cpuReports: w.cpuReports });
      rates.set(w.id, rps);
    }
    this.#baselines = baselines;
    this.#rates = rates;
    this.#inFlight.clear();
    const hostCpuLab = hostCpu === null || labCpu === null ? null : Math.min(labCpu, hostCpu);
    const lifetime = this.#lifetimeResponses();
    const before = this.#responses;
    this.#responses = lifetime;
    const responses = lifetime === null ? null : { total: lifetime.total - (before?.total ?? 0), serverErrors: lifetime.serverErrors - (before?.serverErrors ?? 0) };
    return { t: now, hostCpu, hostCpuLab, latency: this.#latency.take(), workers, responses };
  }
}
