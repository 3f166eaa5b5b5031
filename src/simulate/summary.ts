/**
 * One row of the comparison table — peak instances, scale actions, median
 * reaction time, worker-seconds, cost, seconds over the p95 SLO — computed
 * the same way for a recorded run and for a simulated policy. Pure.
 */
import { formatCount } from '../format.js';

export interface RowInput {
  label: string;
  /** Offered load per second (reaction times are measured from its rises). */
  offered: ArrayLike<number>;
  /** Live instances (starting + ready) per second. */
  live: ArrayLike<number>;
  /** p95 latency per second, ms (NaN: none). */
  p95: ArrayLike<number>;
  scales: ReadonlyArray<{ t: number; from: number; to: number }>;
  /** ms at which each worker became ready. */
  readyTimes: readonly number[];
  /** Requests that failed, in total. */
  failed: number;
}

export interface PolicyRow {
  label: string;
  peak: number;
  scaleOut: number;
  scaleIn: number;
  /** Median seconds from a rise in offered load to the next worker ready; null when no rise got one. */
  reactionS: number | null;
  workerSeconds: number;
  /** At --price-per-hour; null when no price was given. */
  cost: number | null;
  /** Seconds whose p95 exceeded the SLO. */
  overSloS: number;
  failed: number;
}

export interface RowOptions {
  pricePerHour: number | null;
  sloMs: number;
}

/** Seconds where the offered load steps up by >= 10 % of its peak (at most one per 10 s). */
export function loadRises(offered: ArrayLike<number>): number[] {
  let peak = 0;
  for (let i = 0; i < offered.length; i++) peak = Math.max(peak, offered[i]);
  const rises: number[] = [];
  for (let i = 1; i < offered.length; i++) {
    if (peak > 0 && offered[i] - offered[i - 1] >= 0.1 * peak && (rises.length === 0 || i - rises[rises.length - 1] >= 10)) rises.push(i);
  }
  return rises;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** For each rise, seconds until the first worker ready after it (and before the next rise). */
export function reactionTimes(offered: ArrayLike<number>, readyTimes: readonly number[]): number[] {
  const rises = loadRises(offered);
  const ready = [...readyTimes].sort((a, b) => a - b);
  const out: number[] = [];
  let j = 0;
  rises.forEach((r, k) => {
    const from = r * 1000;
    const until = k + 1 < rises.length ? rises[k + 1] * 1000 : Number.POSITIVE_INFINITY;
    while (j < ready.length && ready[j] < from) j++;
    if (j < ready.length && ready[j] < until) out.push((ready[j] - from) / 1000);
  });
  return out;
}

export function policyRow(input: RowInput, opts: RowOptions): PolicyRow {
  let peak = 0;
  let workerSeconds = 0;
  for (let i = 0; i < input.live.length; i++) {
    peak = Math.max(peak, input.live[i]);
    workerSeconds += input.live[i];
  }
  let overSloS = 0;
  for (let i = 0; i < input.p95.length; i++) if (input.p95[i] > opts.sloMs) overSloS++;
  return {
    label: input.label,
    peak,
    scaleOut: input.scales.filter((s) => s.to > s.from).length,
    scaleIn: input.scales.filter((s) => s.to < s.from).length,
    reactionS: median(reactionTimes(input.offered, input.readyTimes)),
    workerSeconds,
    cost: opts.pricePerHour === null ? null : (workerSeconds / 3600) * opts.pricePerHour,
    overSloS,
    failed: input.failed,
  };
}


/** The side-by-side table, as text. */
export function formatTable(rows: readonly PolicyRow[], opts: RowOptions): string {
  const head = ['policy', 'peak', 'scale actions (out/in)', 'median reaction', 'worker-seconds', ...(opts.pricePerHour === null ? [] : [`cost at ${opts.pricePerHour}/h`]), `s over p95 ${opts.sloMs} ms`, 'failed requests'];
  const body = rows.map((r) => [
    r.label,
    String(r.peak),
    `${r.scaleOut + r.scaleIn} (${r.scaleOut}/${r.scaleIn})`,
    r.reactionS === null ? '–' : `${r.reactionS.toFixed(1)} s`,
    formatCount(r.workerSeconds),
    ...(r.cost === null ? [] : [r.cost.toFixed(2)]),
    formatCount(r.overSloS),
    formatCount(r.failed),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '─'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}

