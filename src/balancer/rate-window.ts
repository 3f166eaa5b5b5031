/**
 * Requests completed per second over a sliding minute, in bounded memory.
 *
 * Time is cut into whole seconds (`Math.floor(nowMs / 1000)`); one counter
 * per second lives in a ring of `seconds + 1` slots (the extra slot is the
 * second in progress). Every method takes `nowMs` from the caller, so the
 * window is a pure function of the calls made on it and tests drive it with
 * plain numbers.
 *
 * - `last(1, now)`  = responses completed in the last full second (RPS).
 * - `last(60, now)` = responses completed in the 60 full seconds before the
 *   current one: a true per-minute count (RPM), never a lifetime average.
 *   It lags by less than one second, because the second in progress is
 *   left out until it is complete.
 */
export class RateWindow {
  readonly seconds: number;
  readonly #slots: Float64Array;
  /** The second the newest slot stands for; -Infinity before the first call. */
  #head = Number.NEGATIVE_INFINITY;

  constructor(seconds = 60) {
    if (!Number.isInteger(seconds) || seconds < 1) {
      throw new RangeError(`RateWindow seconds: expected a positive integer, received ${String(seconds)}`);
    }
    this.seconds = seconds;
    this.#slots = new Float64Array(seconds + 1);
  }

  /** Count `n` (default 1) completions at `nowMs`. */
  record(nowMs: number, n = 1): void {
    const sec = this.#advance(nowMs);
    this.#slots[sec % this.#slots.length] += n;
  }

  /**
   * Count `n` completions that happened evenly over [fromMs, toMs] (a worker's report covering the time since its
   * last one): each second gets its share of the overlap, so reports whose period drifts against the whole seconds
   * never leave a second empty while another gets two reports' worth. Shares older than the window are dropped.
   */
  spread(fromMs: number, toMs: number, n: number): void {
    const head = this.#advance(toMs);
    if (!(n > 0)) return;
    if (!(toMs > fromMs)) {
      this.#slots[head % this.#slots.length] += n;
      return;
    }
    const size = this.#slots.length;
    const first = Math.max(0, Math.floor(fromMs / 1000), head - size + 1);
    for (let s = first; s <= head; s++) {
      const overlap = Math.min(toMs, (s + 1) * 1000) - Math.max(fromMs, s * 1000);
      if (overlap > 0) this.#slots[s % size] += (n * overlap) / (toMs - fromMs);
    }
  }

  /** Completions in the last `seconds` full seconds before the second containing `nowMs`. */
  last(seconds: number, nowMs: number): number {
    const current = this.#advance(nowMs);
    const span = Math.min(Math.max(0, Math.floor(seconds)), this.seconds);
    const size = this.#slots.length;
    let sum = 0;
    for (let k = 1; k <= span; k++) {
      const sec = current - k;
      if (sec < 0) break;
      sum += this.#slots[sec % size];
    }
    return sum;
  }

  /** Move the head to the second containing `nowMs`, zeroing the seconds skipped. A clock that steps back counts into the newest second. */
  #advance(nowMs: number): number {
    const sec = Math.max(0, Math.floor(nowMs / 1000));
    if (sec <= this.#head) return this.#head;
    const size = this.#slots.length;
    if (this.#head === Number.NEGATIVE_INFINITY || sec - this.#head >= size) {
      this.#slots.fill(0);
    } else {
      for (let s = this.#head + 1; s <= sec; s++) this.#slots[s % size] = 0;
    }
    this.#head = sec;
    return sec;
  }
}
