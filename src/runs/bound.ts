/**
 * The size bound of events.ndjson, as a pure decision per event:
 *
 * - `stats` (1 s heartbeat) lines are kept every second for the first hour,
 *   then one per `thinEveryMs` (10 s); a note line says when thinning began.
 * - At `softCapBytes` (64 MiB) a note is written and from then on only the
 *   events that explain the run are kept (scale, worker, health, paused,
 *   stopped); ticks and stats are dropped.
 * - At `hardCapBytes` (65 MiB) a last note is written and nothing but the
 *   final `stopped` line follows.
 */
import type { LabEvent } from '../events.js';

export interface BoundLimits {
  thinAfterMs: number;
  thinEveryMs: number;
  softCapBytes: number;
  hardCapBytes: number;
}

export const DEFAULT_LIMITS: BoundLimits = {
  thinAfterMs: 3_600_000,
  thinEveryMs: 10_000,
  softCapBytes: 64 * 1024 * 1024,
  hardCapBytes: 65 * 1024 * 1024,
};

export interface BoundState {
  bytes: number;
  lastStatsAt: number | null;
  thinning: boolean;
  level: 'all' | 'essential' | 'closed';
}

export const initialBound = (): BoundState => ({ bytes: 0, lastStatsAt: null, thinning: false, level: 'all' });

export interface Admission {
  write: boolean;
  /** A note to write before the event (the reader shows it in the report). */
  note: string | null;
}

const ESSENTIAL = new Set<LabEvent['type']>(['started', 'scale', 'worker', 'health', 'paused', 'stopped']);

/** Decide whether `e` is written (lineBytes long); mutates nothing, returns the next state. */
export function admit(e: LabEvent, lineBytes: number, s: BoundState, limits: BoundLimits = DEFAULT_LIMITS): { admission: Admission; next: BoundState } {
  let next = { ...s };
  let note: string | null = null;
  if (e.type === 'stopped') {
    return { admission: { write: true, note: null }, next: { ...next, bytes: next.bytes + lineBytes } };
  }
  if (next.level === 'all' && next.bytes + lineBytes > limits.softCapBytes) {
    next.level = 'essential';
    note = `events.ndjson reached ${mib(limits.softCapBytes)}: from here on only scale, worker, health and pause events are recorded (no ticks, no stats)`;
  }
  if (next.level === 'essential' && next.bytes + lineBytes > limits.hardCapBytes) {
    next.level = 'closed';
    note = `events.ndjson reached ${mib(limits.hardCapBytes)}: nothing more is recorded but the final stopped line`;
  }
  if (next.level === 'closed' || (next.level === 'essential' && !ESSENTIAL.has(e.type))) {
    return { admission: { write: false, note }, next };
  }
  if (e.type === 'stats') {
    if (e.t >= limits.thinAfterMs) {
      if (!next.thinning) {
        next.thinning = true;
        note = `after ${Math.round(limits.thinAfterMs / 60_000)} min, stats lines are kept one per ${limits.thinEveryMs / 1000} s (ticks and events still all kept)`;
      }
      if (next.lastStatsAt !== null && e.t - next.lastStatsAt < limits.thinEveryMs) {
        return { admission: { write: false, note }, next };
      }
    }
    next.lastStatsAt = e.t;
  }
  next = { ...next, bytes: next.bytes + lineBytes };
  return { admission: { write: true, note }, next };
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}
