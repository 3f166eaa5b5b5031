/**
 * What a schedule saves in `simulate`: the same policy run on the same load with and without its scheduled
 * actions, compared on the table's own figures (worker-seconds as policyRow counts them, cost at
 * --price-per-hour or the report's default price, seconds over the SLO). Pure.
 */
import { formatCount, formatDuration } from '../format.js';
import { formatZoned, type ScheduledAction } from '../policy/schedule.js';
import type { Price } from '../report/price.js';
import type { SimTick } from './engine.js';
import type { PolicyRow } from './summary.js';

export interface ScheduleSavings {
  /** Worker-hours and cost the schedule saves (negative: what it costs more). */
  workerHours: number;
  /** Worker-hours without the schedule. */
  withoutHours: number;
  cost: number;
  currency: string;
  pricePerHour: number;
  /** Seconds over the p95 SLO with and without it (null: no latency to judge, as in a replay of an L4 run). */
  overSloS: { with: number | null; without: number | null };
  /** Each action run: its name, its time (wall ms) and the count right after. */
  runs: { name: string; at: number; desired: number }[];
}

export function scheduleSavings(withRow: PolicyRow, withoutRow: PolicyRow, ticks: readonly SimTick[], origin: number, price: Price): ScheduleSavings {
  const workerHours = (withoutRow.workerSeconds - withRow.workerSeconds) / 3600;
  const runs = ticks.flatMap((k) => (k.scheduled ?? []).map((name) => ({ name, at: origin + k.t, desired: k.desired })));
  return { workerHours, withoutHours: withoutRow.workerSeconds / 3600, cost: workerHours * price.perHour, currency: price.currency, pricePerHour: price.perHour, overSloS: { with: withRow.overSloS, without: withoutRow.overSloS }, runs };
}

/** The lines under the table: when the simulation starts, what ran (the first few), and what it saved. */
export function formatSavings(s: ScheduleSavings, actions: readonly ScheduledAction[], origin: number, durationS: number, sloMs: number): string {
  const tz = actions[0]?.tz ?? 'UTC';
  const zoneOf = new Map(actions.map((a) => [a.name, a.tz]));
  const shown = s.runs.slice(0, 8).map((r) => `  ${formatZoned(r.at, zoneOf.get(r.name) ?? tz)}  "${r.name}" → count ${r.desired}`);
  const more = s.runs.length > shown.length ? [`  … ${s.runs.length - shown.length} more`] : [];
  const verb = s.workerHours >= 0 ? 'saves' : 'costs';
  const h = Math.abs(s.workerHours);
  const money = Math.abs(s.cost);
  const { with: w, without: wo } = s.overSloS;
  const slo =
    w === null || wo === null
      ? `no latency to compare against the p95 ${sloMs} ms SLO`
      : w === wo
        ? `the same ${formatCount(w)} s over p95 ${sloMs} ms`
        : `${formatCount(w)} s over p95 ${sloMs} ms instead of ${formatCount(wo)} s`;
  return [
    `schedule: ${actions.length} action(s) over ${durationS % 86_400 === 0 ? `${durationS / 86_400} day(s)` : formatDuration(durationS)} from ${formatZoned(origin, tz)}; ${s.runs.length} run(s):`,
    ...shown,
    ...more,
    `the schedule ${verb} ${h.toFixed(1)} worker-hours, ${s.withoutHours > 0 ? Math.round((100 * h) / s.withoutHours) : 0} % of ${s.withoutHours.toFixed(1)} (${s.currency === '' ? '' : `${s.currency} `}${money.toFixed(2)} at ${s.pricePerHour}/h) against the same policy without it, with ${slo}`,
  ].join('\n') + '\n';
}
