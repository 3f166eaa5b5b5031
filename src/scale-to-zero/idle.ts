/**
 * Scale to zero (`--min 0`), decided purely. The policy never takes the last
 * worker away on its own metric; only `--idle` seconds without a request do.
 * With no worker, nothing is decided: the next request is held by the
 * balancer and starts a worker (the lab does that at once, not at a tick).
 */
import type { Decision } from '../policy/decide.js';

export interface IdleState {
  /** --min (only 0 enables any of this). */
  min: number;
  /** --idle, seconds. */
  idle: number;
  /** Count the lab steers to now. */
  desired: number;
  /** ms since the last request arrived or was in flight (counted from lab start when none did). */
  idleForMs: number;
  /** Automatic scaling is paused or held (a refresh): the pool does not shrink by itself either. */
  held: boolean;
}

export const ZERO_REASON = 'scaled to zero: no worker until a request arrives';

/** The policy's floor: it may go down to one worker, never to none (that is the idle rule's job). */
export function policyMin(min: number): number {
  return Math.max(1, min);
}

/** The policy's decision, adjusted for scale to zero: hold at zero, or go to zero once idle long enough. */
export function applyIdle(d: Decision, s: IdleState): Decision {
  if (s.min > 0) return d;
  if (s.desired === 0) return { ...d, desired: 0, action: 'hold', reason: ZERO_REASON };
  if (s.held || s.idleForMs < s.idle * 1000) return d;
  return { ...d, desired: 0, action: 'scale-in', reason: `no request for ${Math.floor(s.idleForMs / 1000)} s (idle ${s.idle} s): ${s.desired} → 0 (scale to zero)` };
}
