/**
 * Health of one worker as the balancer sees it, decided purely (like an ALB
 * target group): `unhealthyThreshold` consecutive failed checks make a
 * healthy worker unhealthy, `healthyThreshold` consecutive successes make an
 * unhealthy one healthy again.
 *
 * Separate from that, a connection failure on live traffic *ejects* the
 * worker at once (passive check). An ejected worker returns to rotation after
 * `healthyThreshold` consecutive successful active checks counted from the
 * ejection; ejection alone is not a health transition (no 'health' event).
 */
export interface HealthThresholds {
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface HealthState {
  healthy: boolean;
  ejected: boolean;
  /** Consecutive successful active checks. */
  successes: number;
  /** Consecutive failed active checks. */
  failures: number;
}

export type HealthTransition = 'healthy' | 'unhealthy' | null;

export const initialHealth: HealthState = Object.freeze({ healthy: true, ejected: false, successes: 0, failures: 0 });

/**
 * Fold one active check result into the state. `transition` is set only when `healthy` flips;
 * `rotationChanged` when the worker enters or leaves rotation; `restored` when an ejected worker is back.
 */
export function applyCheck(
  state: HealthState,
  ok: boolean,
  t: HealthThresholds,
): { state: HealthState; transition: HealthTransition; rotationChanged: boolean; restored: boolean } {
  const successes = ok ? state.successes + 1 : 0;
  const failures = ok ? 0 : state.failures + 1;
  let healthy = state.healthy;
  let transition: HealthTransition = null;
  if (healthy && failures >= t.unhealthyThreshold) {
    healthy = false;
    transition = 'unhealthy';
  } else if (!healthy && successes >= t.healthyThreshold) {
    healthy = true;
    transition = 'healthy';
  }
  const ejected = state.ejected && successes < t.healthyThreshold;
  const next = { healthy, ejected, successes, failures };
  return { state: next, transition, rotationChanged: inRotation(next) !== inRotation(state), restored: state.ejected && !ejected };
}

/** A connection to the worker failed on live traffic: out of rotation now; its success streak restarts. */
export function eject(state: HealthState): HealthState {
  return { healthy: state.healthy, ejected: true, successes: 0, failures: state.failures };
}

export function inRotation(state: HealthState): boolean {
  return state.healthy && !state.ejected;
}
