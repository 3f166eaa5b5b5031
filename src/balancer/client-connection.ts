/**
 * What the L7 balancer tracks per client connection: the requests it has
 * open (forwarded or held, their response not yet finished), so that
 *
 * - when the client closes the connection, every one of them is cancelled.
 *   node:http emits 'close' only on the response at the head of a pipelined
 *   queue; the responses queued behind it never get a socket and never emit
 *   anything, so without this their exchanges stayed in flight for good;
 * - pipelining is bounded: at most MAX_PIPELINED_REQUESTS open at once. The
 *   next request is answered 503 AS_ERR_PIPELINE_LIMIT with `Connection:
 *   close` (after the ones before it, as HTTP/1.1 requires) and nothing else
 *   the client sent on that connection is forwarded. Reading goes on (a paused
 *   socket would not notice the client leave); once another
 *   MAX_PIPELINED_REQUESTS arrive after the 503, the connection is closed at
 *   once, which cancels everything open on it.
 */
import type { Socket } from 'node:net';
import { admitPipelined, MAX_PIPELINED_REQUESTS, type Admission } from '../http-limits.js';

export interface Cancellable {
  /** The client is gone: stop the work and release what it holds. Called at most once per connection close. */
  cancel(): void;
  /** Links of the connection's list of open requests, owned by ClientConnection. */
  ccPrev: Cancellable | null;
  ccNext: Cancellable | null;
  ccOpen: boolean;
}

const CONNECTION = Symbol('autoscale client connection');

/**
 * The open requests are an intrusive doubly linked list (like deadlines.ts): adding and removing
 * are O(1) and, unlike a Set, need no identity hash for every request object.
 */
export class ClientConnection {
  #head: Cancellable | null = null;
  #tail: Cancellable | null = null;
  #size = 0;
  readonly #limit: number;
  /** Requests after the limit: the first gets the 503, the next `limit` are dropped, then the connection is closed. */
  #over = 0;
  #closed = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The connection's tracker, created (and hooked to the socket's 'close') on its first request. */
  static of(socket: Socket, limit = MAX_PIPELINED_REQUESTS): ClientConnection {
    const s = socket as Socket & { [CONNECTION]?: ClientConnection };
    let c = s[CONNECTION];
    if (c === undefined) {
      const conn = new ClientConnection(limit);
      c = conn;
      s[CONNECTION] = conn;
      socket.once('close', () => conn.#cancelAll());
    }
    return c;
  }

  /** Requests open on this connection now. */
  get depth(): number {
    return this.#size;
  }

  /** A request arrived: serve (forward) it, refuse it (the one 503), drop it (after the 503), or close the connection (far past the limit). */
  admit(): Admission {
    if (this.#closed) return 'drop';
    const { admission, over } = admitPipelined(this.#size, this.#over, this.#limit);
    this.#over = over;
    return admission;
  }

  add(x: Cancellable): void {
    if (this.#closed) {
      x.cancel();
      return;
    }
    if (x.ccOpen) return;
    x.ccOpen = true;
    x.ccPrev = this.#tail;
    x.ccNext = null;
    if (this.#tail === null) this.#head = x;
    else this.#tail.ccNext = x;
    this.#tail = x;
    this.#size++;
  }

  /** Its response finished (or it was cancelled). */
  delete(x: Cancellable): void {
    if (!x.ccOpen) return;
    x.ccOpen = false;
    const { ccPrev: prev, ccNext: next } = x;
    if (prev === null) this.#head = next;
    else prev.ccNext = next;
    if (next === null) this.#tail = prev;
    else next.ccPrev = prev;
    x.ccPrev = null;
    x.ccNext = null;
    this.#size--;
  }

  #cancelAll(): void {
    this.#closed = true;
    const open: Cancellable[] = [];
    for (let x = this.#head; x !== null; x = x.ccNext) open.push(x);
    for (const x of open) this.delete(x);
    for (const x of open) x.cancel();
  }
}
