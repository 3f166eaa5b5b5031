/**
 * One row of the comparison table — peak instances, scale actions, median
 * reaction time, worker-seconds, cost, seconds over the p95 SLO — computed
 * the same way for a recorded run and for a simulated policy. Pure.
 */
import { formatCount } from '../format.js';
import { median, medianReaction, type Reaction } from '../policy/reaction.js';

export interface RowInput {
  label: string;
  /** Live instances (starting + ready) per second. */
  live: ArrayLike<number>;
  /** p95 latency per second, ms (NaN: none). */
  p95: ArrayLike<number>;
  scales: ReadonlyArray<{ t: number; from: number; to: number }>;
  /** Every crossing of the scale-out threshold and its reaction (src/policy/reaction.ts). */
  reactions: readonly Reaction[];
  /** Requests that failed, in total. */
  failed: number;
  /** Why this row has no latency to count seconds over the SLO in (e.g. a run recorded under L4): its figure is then null, not 0. */
  noLatency?: string;
  /**
   * A recorded run's worker-seconds, measured on its events (src/policy/worker-seconds.ts); simulated rows
   * leave it out and count `live` per second.
   */
  workerSeconds?: number;
}

export interface PolicyRow {
  label: string;
  peak: number;
  scaleOut: number;
  scaleIn: number;
  /** Median seconds from the tick that crossed the scale-out threshold to the added worker ready; null when none got one. */
  reactionS: number | null;
  workerSeconds: number;
  /** At --price-per-hour; null when no price was given. */
  cost: number | null;
  /** Seconds whose p95 exceeded the SLO; null when the row has no latency (`noLatency` says why). */
  overSloS: number | null;
  noLatency?: string;
  failed: number;
}

export interface RowOptions {
  pricePerHour: number | null;
  sloMs: number;
}

export { median };

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
    reactionS: medianReaction(input.reactions),
    workerSeconds: input.workerSeconds ?? workerSeconds,
    cost: opts.pricePerHour === null ? null : ((input.workerSeconds ?? workerSeconds) / 3600) * opts.pricePerHour,
    overSloS: input.noLatency === undefined ? overSloS : null,
    ...(input.noLatency === undefined ? {} : { noLatency: input.noLatency }),
    failed: input.failed,
  };
}


/** The side-by-side table, cell by cell (the text table below and the report's "What if" table), and the notes under it. */
export function tableCells(rows: readonly PolicyRow[], opts: RowOptions): { header: string[]; rows: string[][]; notes: string[] } {
  const header = ['policy', 'peak', 'scale actions (out/in)', 'median reaction (threshold → ready)', 'worker-seconds', ...(opts.pricePerHour === null ? [] : [`cost at ${opts.pricePerHour}/h`]), `s over p95 ${opts.sloMs} ms`, 'failed requests'];
  const body = rows.map((r) => [
    r.label,
    String(r.peak),
    `${r.scaleOut + r.scaleIn} (${r.scaleOut}/${r.scaleIn})`,
    r.reactionS === null ? '–' : `${r.reactionS.toFixed(1)} s`,
    formatCount(r.workerSeconds),
    ...(r.cost === null ? [] : [r.cost.toFixed(2)]),
    r.overSloS === null ? '–' : formatCount(r.overSloS),
    formatCount(r.failed),
  ]);
  const notes = rows.flatMap((r) =>
    r.noLatency === undefined ? [] : [`s over p95 of the ${r.label}: not compared (${r.noLatency}); the other rows' figures are the model's alone`],
  );
  return { header, rows: body, notes };
}

/** The side-by-side table, as text. */
export function formatTable(rows: readonly PolicyRow[], opts: RowOptions): string {
  const { header: head, rows: body, notes } = tableCells(rows, opts);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '─'.repeat(w))), ...body.map(line), ...notes.map((n) => `note: ${n}`)].join('\n') + '\n';
}
