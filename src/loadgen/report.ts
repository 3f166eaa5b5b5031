import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * What one shard (the main thread, or one worker thread) measured since its
 * previous report. Counters are deltas; `latency` holds the latencies (µs) of
 * the responses received in the interval.
 */
export interface IntervalReport {
  /** Requests handed to a connection. */
  sent: number;
  /** Responses with a status below 400. */
  ok: number;
  /** Responses with status >= 400 (or an unexpected 1xx), by status code. */
  httpErrors: Record<string, number>;
  /** Requests that got no HTTP response, by error code (see classify.ts). */
  transportErrors: Record<string, number>;
  /** In-flight requests cancelled because the run was interrupted. */
  aborted: number;
  /** Open loop: requests sent more than LATE_THRESHOLD_MS after their scheduled time. */
  late: number;
  /** Open loop: scheduled requests still waiting for a connection when the run stopped. */
  unsent: number;
  /** Responses by the value of their X-Served-By header (absent header: not counted). */
  servedBy: Record<string, number>;
  /** --mix: the mixed-in requests alone (they are also in every count above); absent without --mix. */
  mixed?: MixedCounts;
  latency: Histogram;
}

/** Requests of the --mix kind: sent, answered below 400, and failed (HTTP >= 400 or no response). */
export interface MixedCounts {
  sent: number;
  ok: number;
  failed: number;
}

/** An IntervalReport as it crosses a worker_threads boundary (histogram encoded). */
export type WireReport = Omit<IntervalReport, 'latency'> & { latency: string };

/** Open loop: a request dispatched this long after its scheduled time counts as late. */
export const LATE_THRESHOLD_MS = 10;

/** Latencies are recorded in microseconds, 3 significant digits, auto-resizing. */
export function newLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

export function emptyReport(): IntervalReport {
  return { sent: 0, ok: 0, httpErrors: {}, transportErrors: {}, aborted: 0, late: 0, unsent: 0, servedBy: {}, latency: newLatencyHistogram() };
}

export function encodeReport(report: IntervalReport): WireReport {
  return { ...report, latency: hdr.encodeIntoCompressedBase64(report.latency) };
}

export function decodeReport(wire: WireReport): IntervalReport {
  const latency = newLatencyHistogram();
  if (wire.latency !== '') latency.add(hdr.decodeFromCompressedBase64(wire.latency));
  return { ...wire, latency };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

/** Adds `from` into `into` (counters and histogram). Returns `into`. */
export function mergeReport(into: IntervalReport, from: IntervalReport): IntervalReport {
  into.sent += from.sent;
  into.ok += from.ok;
  into.aborted += from.aborted;
  into.late += from.late;
  into.unsent += from.unsent;
  addCounts(into.httpErrors, from.httpErrors);
  addCounts(into.transportErrors, from.transportErrors);
  addCounts(into.servedBy, from.servedBy);
  if (from.mixed !== undefined) {
    const m = (into.mixed ??= { sent: 0, ok: 0, failed: 0 });
    m.sent += from.mixed.sent;
    m.ok += from.mixed.ok;
    m.failed += from.mixed.failed;
  }
  if (from.latency.totalCount > 0) into.latency.add(from.latency);
  return into;
}

export function sumCounts(counts: Record<string, number>): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}
