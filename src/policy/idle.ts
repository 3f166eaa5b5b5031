/**
 * Scale to zero (`--min 0`), decided purely. The rule never takes the last
 * worker away on its own metric; only `--idle` seconds without a request do.
 * With no worker, nothing is decided: the next request is held by the
 * balancer and starts a worker at once, not at a tick (`coldStart` in step.ts).
 */
import type { Decision } from './decide.js';

export interface IdleState {
  /** --min (only 0 enables any of this). */
  min: number;
  /** --idle, seconds. */
  idle: number;
  /** Count the lab steers to now. */
  desired: number;
  /** Workers starting (a cold start's worker, with the held requests waiting for it): never taken away. */
  starting: number;
  /** ms since the last request arrived or was in flight (counted from lab start when none did). */
  idleForMs: number;
}

export const ZERO_REASON = 'scaled to zero: no worker until a request arrives';

/** The rule's floor: it may go down to one worker, never to none (that is the idle rule's job). */
export function policyMin(min: number): number {
  return Math.max(1, min);
}

/** The rule's decision, adjusted for scale to zero: hold at zero, or go to zero once idle long enough. */
export function applyIdle(d: Decision, s: IdleState): Decision {
  if (s.min > 0) return d;
  if (s.desired === 0) return { ...d, desired: 0, action: 'hold', reason: ZERO_REASON };
  if (s.idleForMs < s.idle * 1000 || s.starting > 0) return d;
  return { ...d, desired: 0, action: 'scale-in', reason: `no request for ${Math.floor(s.idleForMs / 1000)} s (idle ${s.idle} s): ${s.desired} → 0 (scale to zero)` };
}
