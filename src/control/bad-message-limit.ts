/**
 * How often invalid control-socket messages are logged: the first at once,
 * then at most one event per window, the ones in between counted and logged
 * as one summary line ("412 more invalid requests …"). Pure: the caller
 * passes the clock in and arms a timer for `dueAt()`; nothing here waits.
 *
 * Without it, a flood of bad lines wrote one event each (31 MB of
 * events.ndjson in 3 s, and `status` stuck behind the writes).
 */
export const BAD_MESSAGE_WINDOW_MS = 1000;

export class BadMessageLimit {
  readonly #windowMs: number;
  #lastLoggedAt = -Infinity;
  #held = 0;
  #heldSince = 0;
  #lastHeld = '';

  constructor(windowMs = BAD_MESSAGE_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** A bad message arrived at `now`: the line to log now, or null when it is held for the next summary. */
  offer(message: string, now: number): string | null {
    if (this.#held === 0 && now - this.#lastLoggedAt >= this.#windowMs) {
      this.#lastLoggedAt = now;
      return message;
    }
    if (this.#held === 0) this.#heldSince = now;
    this.#held++;
    this.#lastHeld = message;
    return null;
  }

  /** When the held messages may be summarised (ms, same clock), or null when none are held. */
  dueAt(): number | null {
    return this.#held === 0 ? null : this.#lastLoggedAt + this.#windowMs;
  }

  /** The summary of the held messages once the window has passed (then the count starts again), else null. */
  flush(now: number, force = false): string | null {
    if (this.#held === 0 || (!force && now < this.#lastLoggedAt + this.#windowMs)) return null;
    const n = this.#held;
    const sec = Math.max(0, now - this.#heldSince) / 1000;
    const line = `${n} more invalid request${n === 1 ? '' : 's'} in ${sec.toFixed(1)} s, not logged one by one (the last: ${this.#lastHeld.slice(0, 120)})`;
    this.#held = 0;
    this.#lastLoggedAt = now;
    return line;
  }
}
