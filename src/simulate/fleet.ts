/**
 * The simulated pool, with the live supervisor's lifecycle rules: exactly
 * `desired` workers starting or ready; a new one is ready `bootMs` after its
 * fork; scale-in takes away starting workers first (newest first), then the
 * newest ready one; a retired worker leaves at once (it drains out of the
 * balancer's rotation, so it serves nothing more). Fast for 10,000 workers:
 * two sorted arrays, no per-worker objects.
 */
export class Fleet {
  readonly bootMs: number;
  /** readyAt (ms) of each starting worker, ascending; entries before `#head` are gone. */
  #starting: number[] = [];
  #head = 0;
  /** readyAt (ms) of each ready worker, ascending. */
  #ready: number[] = [];
  /** Every time a worker became ready (for reaction times). */
  readonly readyTimes: number[] = [];
  #desired = 0;

  constructor(bootMs: number) {
    this.bootMs = bootMs;
  }

  get desired(): number {
    return this.#desired;
  }
  get starting(): number {
    return this.#starting.length - this.#head;
  }
  get ready(): number {
    return this.#ready.length;
  }
  get live(): number {
    return this.starting + this.ready;
  }

  /** Workers whose boot finished by `now` become ready. */
  advance(now: number): void {
    const s = this.#starting;
    while (this.#head < s.length && s[this.#head] <= now) {
      const at = s[this.#head++];
      this.#ready.push(at);
      this.readyTimes.push(at);
    }
    if (this.#head > 1024 && this.#head * 2 > s.length) {
      this.#starting = s.slice(this.#head);
      this.#head = 0;
    }
  }

  setDesired(n: number, now: number): void {
    this.#desired = n;
    while (this.live < n) this.#starting.push(now + this.bootMs);
    while (this.live > n) {
      if (this.starting > 0) this.#starting.pop();
      else this.#ready.pop();
    }
  }

  /** Ready workers with readyAt > now - warmupMs (inside their warm-up). */
  warming(now: number, warmupMs: number): number {
    const r = this.#ready;
    const cutoff = now - warmupMs;
    // First index with readyAt > cutoff (readyAt ascending).
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid] > cutoff) hi = mid;
      else lo = mid + 1;
    }
    return r.length - lo;
  }

  /** readyAt of the ready workers inside their warm-up, oldest first. */
  warmingReadyAts(now: number, warmupMs: number): number[] {
    const n = this.warming(now, warmupMs);
    return this.#ready.slice(this.#ready.length - n);
  }
}
