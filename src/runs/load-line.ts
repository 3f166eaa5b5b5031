/**
 * One second of load: what `autoscale load` measures each second
 * (loadgen/summary.ts `addInterval`), prints live and writes as a
 * load.ndjson line (loadgen/format.ts), what the live page charts, and what
 * runs/read.ts gives back when it reads load.ndjson. One type for all of them.
 */
export interface LoadLine {
  /** End of the interval, s since that load run started. */
  t: number;
  /** Wall clock (ms since the epoch) at the end of the interval; null in lines written before autoscale load recorded it. */
  at: number | null;
  /** Interval length, s. */
  dt: number;
  sent: number;
  ok: number;
  errors: number;
  /** Achieved responses per second. */
  rps: number;
  p50: number | null;
  p99: number | null;
  /** 'closed': `threads` virtual users; 'open': `targetRate` arrivals per second. */
  mode: 'closed' | 'open';
  /** Virtual users (closed) or target arrivals per second (open). */
  level: number;
}
