/**
 * Reaction time — the one definition `autoscale report` (recorded events) and
 * `autoscale simulate` / `replay` (simulated ticks) share: from the first tick
 * whose metric crossed the scale-out threshold (the previous tick was not
 * above it) to the first worker added by the policy's next scale-out becoming
 * ready. Each occurrence, and the median of those that have a number. Pure;
 * callers turn their own events into ReactionEvents.
 *
 * A scale from zero (`--min 0`) is not the metric's doing: with no worker the
 * metric drives nothing (host CPU at zero is other processes), and a request
 * the balancer holds starts a worker at once. Its reaction runs from that
 * scale-out (the first held request) to the started worker ready; ticks at
 * zero, and ticks while that worker starts, neither open nor count as a
 * crossing (a crossing with the pool up counts from the tick after).
 */
import type { PolicyName } from './rules.js';
import { usesTargetRule } from './rules.js';
import type { StepScalingSettings } from './step-scaling.js';

/**
 * What happened, in time order. At equal times a tick comes before the scale
 * action it caused; a fork may come before or after its scale event.
 */
export type ReactionEvent =
  | { kind: 'tick'; t: number; value: number | null; desired: number }
  | { kind: 'scale-out'; t: number; manual: boolean; from: number }
  | { kind: 'fork'; t: number; id: number }
  | { kind: 'ready'; t: number; id: number };

export interface ScaleOutThreshold {
  policy: PolicyName;
  scaleUp: number;
  target: number;
  tolerance: number;
  max: number;
  /** Step policy: its scale-out alarm's threshold is the line (absent in older recordings). */
  stepScaling?: StepScalingSettings | null;
}

export interface Reaction {
  /** 'metric': a tick crossed the scale-out threshold; 'from zero': a request arrived with no worker (a cold start). */
  trigger: 'metric' | 'from zero';
  /** Seconds since the start of the tick whose metric crossed the scale-out threshold, or of the cold start. */
  crossedAt: number;
  /** When the policy scaled out (null: it did not, e.g. already at max or the metric fell back). */
  scaledAt: number | null;
  /** When the first worker added by that scale-out was ready (null: not before the end / no scale-out). */
  readyAt: number | null;
  /** readyAt − crossedAt in seconds, or null. */
  seconds: number | null;
  /** Why there is no number, when there is none. */
  note: string | null;
}

/**
 * Above the scale-out threshold: threshold policy `value > scaleUp`, target policy `value / target > 1 +
 * tolerance`, step policy `value >= its scale-out alarm's threshold` (never, without a scale-out policy).
 */
export function aboveScaleOut(value: number | null, s: Pick<ScaleOutThreshold, 'policy' | 'scaleUp' | 'target' | 'tolerance' | 'stepScaling'>): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  if (s.policy === 'step') {
    const out = s.stepScaling?.out;
    return out !== null && out !== undefined && value >= out.alarm.threshold;
  }
  return usesTargetRule(s.policy) ? value / s.target > 1 + s.tolerance : value > s.scaleUp;
}

const sec = (ms: number) => ms / 1000;

/** Every crossing of the scale-out threshold, with its reaction time when the policy answered it. Times in ms in, seconds out. */
export function reactionTimes(events: Iterable<ReactionEvent>, s: ScaleOutThreshold): Reaction[] {
  const out: Reaction[] = [];
  let wasAbove = false;
  let open: { trigger: Reaction['trigger']; crossedAt: number; scaledAt: number | null; candidates: Set<number>; atMax: boolean } | null = null;
  // Workers forked at the latest fork time: a cold start's worker may be forked just before its scale event is seen.
  let lastForks: { t: number; ids: number[] } = { t: Number.NaN, ids: [] };
  const close = (readyAt: number | null, note: string | null) => {
    if (!open) return;
    out.push({
      trigger: open.trigger,
      crossedAt: sec(open.crossedAt),
      scaledAt: open.scaledAt === null ? null : sec(open.scaledAt),
      readyAt: readyAt === null ? null : sec(readyAt),
      seconds: readyAt === null ? null : sec(readyAt - open.crossedAt),
      note,
    });
    open = null;
  };
  for (const e of events) {
    if (e.kind === 'tick') {
      if (e.desired === 0) {
        // At zero the metric drives nothing: no crossing, and one still waiting for a scale-out is over.
        if (open !== null && open.scaledAt === null) close(null, 'the pool went to zero before the policy scaled out');
        wasAbove = false;
        continue;
      }
      if (open !== null && open.trigger === 'from zero') {
        // Its worker is still starting: the metric counts from the first tick after it is ready.
        wasAbove = false;
        continue;
      }
      const above = aboveScaleOut(e.value, s);
      if (above && !wasAbove && open === null) open = { trigger: 'metric', crossedAt: e.t, scaledAt: null, candidates: new Set(), atMax: e.desired >= s.max };
      else if (!above && open !== null && open.scaledAt === null) close(null, open.atMax ? `already at max ${s.max}` : 'the metric fell back before the policy scaled out');
      wasAbove = above;
    } else if (e.kind === 'scale-out') {
      if (e.manual) continue;
      if (e.from === 0) {
        // A cold start: its own reaction, from the held request that started it to its worker ready.
        if (open !== null) close(null, open.scaledAt === null ? 'the pool went to zero before the policy scaled out' : 'the pool went to zero before the added worker was ready');
        open = { trigger: 'from zero', crossedAt: e.t, scaledAt: e.t, candidates: new Set(lastForks.t === e.t ? lastForks.ids : []), atMax: false };
      } else if (open !== null && open.scaledAt === null) open.scaledAt = e.t;
    } else if (e.kind === 'fork') {
      lastForks = lastForks.t === e.t ? { t: e.t, ids: [...lastForks.ids, e.id] } : { t: e.t, ids: [e.id] };
      // Workers forked since the crossing are the candidates (a fork may come just before its scale event).
      if (open !== null) open.candidates.add(e.id);
    } else if (open !== null && open.scaledAt !== null && open.candidates.has(e.id)) {
      close(e.t, null);
    }
  }
  if (open !== null) {
    const o = open as { scaledAt: number | null };
    close(null, o.scaledAt === null ? 'the run ended before the policy scaled out' : 'the run ended before the added worker was ready');
  }
  return out;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median seconds of the reactions of one trigger (default: the metric's crossings) that have a number, or null. */
export function medianReaction(rs: readonly Reaction[], trigger: Reaction['trigger'] = 'metric'): number | null {
  return median(rs.flatMap((r) => (r.seconds === null || r.trigger !== trigger ? [] : [r.seconds])));
}

/**
 * A simulated timeline as ReactionEvents: the simulator's ticks and scale
 * actions, each added worker forked at its scale action and ready `bootMs`
 * later if a scale-in did not cancel it (the fleet's ready times say which).
 */
export function simulatedReactionEvents(
  ticks: ReadonlyArray<{ t: number; value: number | null; desired: number }>,
  scales: ReadonlyArray<{ t: number; from: number; to: number }>,
  readyTimes: readonly number[],
  bootMs: number,
): ReactionEvent[] {
  const out: Array<ReactionEvent & { rank: number }> = ticks.map((k) => ({ kind: 'tick' as const, t: k.t, value: k.value, desired: k.desired, rank: 0 }));
  // Workers forked at one scale action share a ready time: the first of them ready is what counts.
  const forkOf = new Map<number, number>();
  scales.forEach((s, id) => {
    if (s.to <= s.from) return;
    out.push({ kind: 'fork', t: s.t, id, rank: 1 }, { kind: 'scale-out', t: s.t, manual: false, from: s.from, rank: 2 });
    forkOf.set(s.t + bootMs, id);
  });
  const seen = new Set<number>();
  for (const r of readyTimes) {
    const id = forkOf.get(r);
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    out.push({ kind: 'ready', t: r, id, rank: 3 });
  }
  out.sort((a, b) => a.t - b.t || a.rank - b.rank);
  return out.map(({ rank: _rank, ...e }) => e as ReactionEvent);
}
