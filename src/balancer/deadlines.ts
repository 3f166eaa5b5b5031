/**
 * One deadline for many requests, with one timer: every entry expires
 * `timeoutMs` after its own `start`, and since entries are added in arrival
 * order the oldest is always at the head of a doubly linked list. Adding and
 * removing are O(1); a single timer is armed for the head's deadline and, when
 * it fires, expires every entry that is due and re-arms for the new head. Under
 * steady traffic that timer fires about once per `timeoutMs`, instead of one
 * timer being armed and cleared per request.
 *
 * The clock is injected; the timer is unref'd (a pending deadline never keeps
 * the process alive on its own).
 */
export interface Deadlined {
  /** When the deadline's clock started for this entry (same clock as `now`). */
  readonly start: number;
  /** Links, owned by the queue. */
  dlPrev: Deadlined | null;
  dlNext: Deadlined | null;
  dlQueued: boolean;
  /** Called once, when `start + timeoutMs` has passed and the entry is still queued (it is unlinked first). */
  expire(): void;
}

export class DeadlineQueue {
  readonly timeoutMs: number;
  readonly #now: () => number;
  #head: Deadlined | null = null;
  #tail: Deadlined | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(timeoutMs: number, now: () => number) {
    this.timeoutMs = timeoutMs;
    this.#now = now;
  }

  add(e: Deadlined): void {
    if (e.dlQueued || this.#closed) return;
    e.dlQueued = true;
    e.dlPrev = this.#tail;
    e.dlNext = null;
    if (this.#tail === null) this.#head = e;
    else this.#tail.dlNext = e;
    this.#tail = e;
    if (this.#timer === null) this.#arm(e.start + this.timeoutMs - this.#now());
  }

  remove(e: Deadlined): void {
    if (!e.dlQueued) return;
    e.dlQueued = false;
    const { dlPrev: prev, dlNext: next } = e;
    if (prev === null) this.#head = next;
    else prev.dlNext = next;
    if (next === null) this.#tail = prev;
    else next.dlPrev = prev;
    e.dlPrev = null;
    e.dlNext = null;
  }

  /** Entries waiting (for tests and stats). */
  get size(): number {
    let n = 0;
    for (let e = this.#head; e !== null; e = e.dlNext) n++;
    return n;
  }

  /** No more expiries; entries stay linked but are forgotten. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#head = null;
    this.#tail = null;
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#fire(), Math.max(1, Math.ceil(delayMs)));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = null;
    if (this.#closed) return;
    const now = this.#now();
    let e = this.#head;
    while (e !== null && now - e.start >= this.timeoutMs) {
      this.remove(e);
      e.expire();
      e = this.#head;
    }
    if (e !== null) this.#arm(e.start + this.timeoutMs - now);
  }
}
