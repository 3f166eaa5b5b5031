/**
 * Readiness is not liveness. Kubernetes keeps the two probes apart: a failing
 * readiness probe only takes a pod out of the Service, a failing liveness
 * probe restarts it. Our health check shares the worker's event loop with the
 * `--work` busy-wait, so an overloaded worker answers /health late and fails
 * it while doing nothing wrong; replacing it throws away its queue and makes
 * the overload worse. So a failed health check means "out of rotation" (the
 * balancer does that), and the lab replaces the worker only when it is also
 * not *live*: for LIVENESS_MS it completed no request through the balancer
 * and sent no IPC heartbeat (its stats timer fires once a second whenever its
 * event loop turns, between busy-waits too: pipelined requests are served one
 * per turn, at most 32 per connection, see app/pipeline.ts, so no packet can
 * hold the loop for more than one request's work). A busy worker drains its queue
 * out of rotation, passes its checks and comes back; a hung one (SIGSTOP, an
 * infinite loop) shows no progress and is replaced.
 *
 * Pure bookkeeping: the caller feeds a progress count per worker (completed
 * requests + heartbeats) and the time.
 */

/**
 * 10 s: a live worker beats once a second and completes at least one request
 * a second even under the heaviest `--work` (1000 ms); an unhealthy busy one catches up and passes
 * two checks (~4 s) well within it; a hung one is replaced about 10 s after
 * it stopped (its health checks fail after ~9 s anyway).
 */
export const LIVENESS_MS = 10_000;

/**
 * A held worker that still fails its checks this long after its last
 * balancer request finished is broken, not busy: out of rotation it has no
 * queue to work off, and a busy one passes two checks (~4 s) once drained.
 */
export const BROKEN_WHEN_IDLE_MS = 10_000;

export interface Progress {
  id: number;
  /** Any monotonic sign of life: completed requests + heartbeats. */
  requests: number;
  /** Requests the balancer has in flight to it now. */
  inFlight?: number;
}

export class Liveness {
  readonly #windowMs: number;
  /** Per worker: last completed-request count seen, and when it last moved. */
  #progress = new Map<number, { requests: number; at: number }>();
  /** Unhealthy but live: kept out of rotation, not replaced (yet); value = since when nothing is in flight to it (or null). */
  #held = new Map<number, number | null>();
  readonly #idleMs: number;

  constructor(windowMs = LIVENESS_MS, brokenWhenIdleMs = BROKEN_WHEN_IDLE_MS) {
    this.#windowMs = windowMs;
    this.#idleMs = brokenWhenIdleMs;
  }

  /** Ms since the worker last completed a request (or was first seen). */
  idleMs(id: number, now: number): number {
    const p = this.#progress.get(id);
    return p === undefined ? Infinity : now - p.at;
  }

  /**
   * Feed every worker's lifetime completed-request count. Returns the held
   * workers that have now made no progress for the window: replace them.
   */
  observe(counts: ReadonlyArray<Progress>, now: number): number[] {
    const seen = new Set<number>();
    for (const { id, requests, inFlight } of counts) {
      seen.add(id);
      const p = this.#progress.get(id);
      if (p === undefined || requests !== p.requests) this.#progress.set(id, { requests, at: now });
      if (this.#held.has(id)) {
        const idleSince = this.#held.get(id) ?? null;
        this.#held.set(id, (inFlight ?? 0) > 0 ? null : (idleSince ?? now));
      }
    }
    for (const id of this.#progress.keys()) {
      if (!seen.has(id)) {
        this.#progress.delete(id);
        this.#held.delete(id);
      }
    }
    const due: number[] = [];
    for (const [id, idleSince] of this.#held) {
      if (this.idleMs(id, now) >= this.#windowMs || (idleSince !== null && now - idleSince >= this.#idleMs)) {
        this.#held.delete(id);
        due.push(id);
      }
    }
    return due;
  }

  /** Health checks failed. 'replace' when the worker is not live either; otherwise it is held out of rotation. */
  unhealthy(id: number, now: number): 'replace' | 'hold' {
    if (this.idleMs(id, now) >= this.#windowMs) {
      this.#held.delete(id);
      return 'replace';
    }
    if (!this.#held.has(id)) this.#held.set(id, null);
    return 'hold';
  }

  /** Health checks pass again: no longer held. Returns true if it was held. */
  healthy(id: number): boolean {
    return this.#held.delete(id);
  }
}
