/**
 * Counters for traffic through the balancer, clock-free: every method takes
 * the time from the caller. Latency goes into an HDR histogram in
 * microseconds (3 significant digits) that the caller resets once per tick;
 * completions go into a per-second RateWindow for true RPS/RPM.
 */
import * as hdr from 'hdr-histogram-js';
import type { TrafficStats } from '../events.js';
import { RateWindow } from './rate-window.js';

/** One hour in µs: anything slower is clamped there (the histogram would otherwise grow without bound). */
const MAX_LATENCY_US = 3_600_000_000;

export class TrafficCounter {
  readonly #window = new RateWindow(60);
  readonly #latency = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_LATENCY_US,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
  inFlight = 0;
  total = 0;
  errors = 0;

  /** A response finished at `nowMs`, `latencyMs` after its request arrived. */
  complete(nowMs: number, latencyMs: number): void {
    this.total++;
    this.#window.record(nowMs);
    const us = Math.round(latencyMs * 1000);
    this.#latency.recordValue(us < 1 ? 1 : us > MAX_LATENCY_US ? MAX_LATENCY_US : us);
  }

  stats(nowMs: number, resetLatency: boolean): TrafficStats {
    const h = this.#latency;
    const some = h.totalCount > 0;
    const stats: TrafficStats = {
      rpm: this.#window.last(60, nowMs),
      rps: this.#window.last(1, nowMs),
      p50: some ? h.getValueAtPercentile(50) / 1000 : null,
      p95: some ? h.getValueAtPercentile(95) / 1000 : null,
      p99: some ? h.getValueAtPercentile(99) / 1000 : null,
      inFlight: this.inFlight,
      total: this.total,
      errors: this.errors,
    };
    if (resetLatency) h.reset();
    return stats;
  }
}

/** Per-worker counters (no latency: the balancer-wide histogram covers that). */
export class WorkerCounter {
  readonly #window = new RateWindow(1);
  inFlight = 0;
  requests = 0;
  errors = 0;

  complete(nowMs: number): void {
    this.requests++;
    this.#window.record(nowMs);
  }

  rps(nowMs: number): number {
    return this.#window.last(1, nowMs);
  }
}
