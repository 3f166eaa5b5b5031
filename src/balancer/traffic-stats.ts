/**
 * Counters for traffic through the balancer, clock-free: every method takes
 * the time from the caller. Only facts, never reset by a read: lifetime
 * totals, a lifetime HDR latency histogram in microseconds (3 significant
 * digits; lab/observe.ts diffs it per tick), and a per-second RateWindow for
 * true RPS/RPM.
 */
import * as hdr from 'hdr-histogram-js';
import type { TrafficStats } from '../events.js';
import { RateWindow } from './rate-window.js';

/** One hour in µs: anything slower is clamped there (the histogram would otherwise grow without bound). */
const MAX_LATENCY_US = 3_600_000_000;

/** A latency histogram (µs) compatible with the balancer's own, so one can be added to or subtracted from the other. */
export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_LATENCY_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

/** The balancer's counters, without latency (a window over the histogram gives that). */
export type TrafficCounts = Omit<TrafficStats, 'p50' | 'p95' | 'p99'>;

export class TrafficCounter {
  readonly #window = new RateWindow(60);
  readonly #latency = newLatencyHistogram();
  inFlight = 0;
  total = 0;
  errors = 0;
  /** The balancer's own answers (no worker involved) by status class. */
  readonly ownByClass = [0, 0, 0, 0, 0, 0];
  /** Workers' answers that reached the client, by status class, lifetime (per-worker counts forget retired workers). */
  readonly servedByClass = [0, 0, 0, 0, 0, 0];

  /** Every response the clients got, by status class (index 2: 2xx … 5: 5xx), lifetime: the workers' and the balancer's own. */
  responsesByClass(): number[] {
    return this.servedByClass.map((n, i) => n + this.ownByClass[i]);
  }

  /** A response finished at `nowMs`, `latencyMs` after its request arrived. */
  complete(nowMs: number, latencyMs: number): void {
    this.total++;
    this.#window.record(nowMs);
    const us = Math.round(latencyMs * 1000);
    this.#latency.recordValue(us < 1 ? 1 : us > MAX_LATENCY_US ? MAX_LATENCY_US : us);
  }

  /** Every latency recorded since the balancer started, µs. Read it, never reset it. */
  get latency(): Readonly<hdr.Histogram> {
    return this.#latency;
  }

  counts(nowMs: number): TrafficCounts {
    return {
      rpm: this.#window.last(60, nowMs),
      rps: this.#window.last(1, nowMs),
      inFlight: this.inFlight,
      total: this.total,
      errors: this.errors,
    };
  }
}

/** Per-worker counters (no latency: the balancer-wide histogram covers that). */
export class WorkerCounter {
  readonly #window = new RateWindow(1);
  inFlight = 0;
  requests = 0;
  errors = 0;
  /** Finished responses by status class: index 2 counts 2xx, … 5 counts 5xx. */
  readonly byClass = [0, 0, 0, 0, 0, 0];
  /** Active health checks that failed. */
  healthFailures = 0;

  complete(nowMs: number): void {
    this.requests++;
    this.#window.record(nowMs);
  }

  rps(nowMs: number): number {
    return this.#window.last(1, nowMs);
  }
}
