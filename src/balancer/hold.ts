/**
 * Requests that arrived while no worker was in rotation, held until one is
 * (like Knative's activator in front of a service scaled to zero). Bounded
 * both ways: at most `max` requests wait (one more gets 503 at once), and
 * none waits longer than `timeoutMs` (then 503). FIFO, so one timer on the
 * oldest entry is enough; a client that hangs up leaves the queue at once.
 *
 * The balancer only touches this on its "no worker in rotation" path and
 * when its rotation changes, never per request while workers exist.
 */
import type { ClientResponseLike } from './forward.js';
import type { ErrorCode } from '../errors.js';

export interface HoldOptions {
  /** Most requests held at once (0: hold nothing, answer 503 at once as without a queue). */
  max: number;
  /** Longest wait for a worker, ms. */
  timeoutMs: number;
}

export interface HoldStats {
  /** Waiting now. */
  held: number;
  /** Lifetime: held, released to a worker, timed out (503), refused because the queue was full (503). */
  total: number;
  released: number;
  timedOut: number;
  rejected: number;
}

/** What the queue reports to its owner. */
export interface HoldListener<T> {
  /** The queue went from empty to one request: someone should start a worker. */
  onFirstHeld(): void;
  /** Requests were sent on after waiting; `firstWaitMs` is how long the oldest one waited. */
  onReleased(count: number, firstWaitMs: number): void;
  /** A held request gets no worker (timed out, queue full, stopping): answer it with a 503 (`code`, `why`), counted as an error. */
  answer(item: T, code: ErrorCode, why: string): void;
}

interface Entry<T> {
  item: T;
  res: ClientResponseLike;
  since: number;
  onClose: () => void;
}

export class HoldQueue<T> {
  readonly #opts: HoldOptions;
  readonly #now: () => number;
  readonly #listener: HoldListener<T>;
  #queue: Entry<T>[] = [];
  #timer: NodeJS.Timeout | null = null;
  #stats: HoldStats = { held: 0, total: 0, released: 0, timedOut: 0, rejected: 0 };

  constructor(opts: HoldOptions, now: () => number, listener: HoldListener<T>) {
    this.#opts = opts;
    this.#now = now;
    this.#listener = listener;
  }

  get size(): number {
    return this.#queue.length;
  }

  stats(): HoldStats {
    return { ...this.#stats, held: this.#queue.length };
  }

  /** Hold `item` (answered through `res`) until release(); a full queue answers 503 at once. */
  hold(item: T, res: ClientResponseLike, since: number): void {
    if (this.#queue.length >= this.#opts.max) {
      this.#stats.rejected++;
      this.#listener.answer(item, 'AS_ERR_HOLD_QUEUE_FULL', `no ready worker and ${this.#opts.max} requests already waiting for one`);
      return;
    }
    const entry: Entry<T> = { item, res, since, onClose: () => this.#drop(entry) };
    res.once('close', entry.onClose);
    this.#queue.push(entry);
    this.#stats.total++;
    if (this.#queue.length === 1) {
      this.#arm();
      this.#listener.onFirstHeld();
    }
  }

  /** A worker is in rotation: hand every held request to `send`, oldest first. */
  release(send: (item: T) => void): void {
    if (this.#queue.length === 0) return;
    const queue = this.#queue;
    this.#queue = [];
    this.#disarm();
    const firstWaitMs = this.#now() - queue[0].since;
    for (const e of queue) {
      e.res.off('close', e.onClose);
      send(e.item);
    }
    this.#stats.released += queue.length;
    this.#listener.onReleased(queue.length, firstWaitMs);
  }

  /** `item`'s client is gone: it leaves the queue without an answer (no-op when it is not held). */
  remove(item: T): void {
    const entry = this.#queue.find((e) => e.item === item);
    if (entry === undefined) return;
    entry.res.off('close', entry.onClose);
    this.#drop(entry);
  }

  /** The balancer is closing: answer every held request with 503 now. */
  rejectAll(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#disarm();
    for (const e of queue) this.#answer(e, 'AS_ERR_NO_READY_WORKER', 'no ready worker: the lab is stopping');
  }

  #answer(e: Entry<T>, code: ErrorCode, why: string): void {
    e.res.off('close', e.onClose);
    this.#listener.answer(e.item, code, why);
  }

  #drop(entry: Entry<T>): void {
    const i = this.#queue.indexOf(entry);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    if (i === 0) this.#arm();
  }

  /** One timer, for the oldest entry; later entries expire no sooner. */
  #arm(): void {
    this.#disarm();
    const head = this.#queue[0];
    if (head === undefined) return;
    const due = head.since + this.#opts.timeoutMs - this.#now();
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, due));
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #expire(): void {
    this.#timer = null;
    const now = this.#now();
    while (this.#queue.length > 0 && now - this.#queue[0].since >= this.#opts.timeoutMs - 1) {
      const e = this.#queue.shift() as Entry<T>;
      this.#stats.timedOut++;
      this.#answer(e, 'AS_ERR_HOLD_TIMEOUT', `no worker became ready within ${this.#opts.timeoutMs} ms`);
    }
    this.#arm();
  }
}
