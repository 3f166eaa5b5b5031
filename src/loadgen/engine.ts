import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { Histogram } from 'hdr-histogram-js';
import { REQUEST_ABORTED_CODE, REQUEST_TIMEOUT_CODE, classifyErrorCode, errorCode, isOkStatus, shouldBackOff } from './classify.js';
import { activeThreadsAt, levelAt, nextArrival, shareOf, type Profile } from './profile.js';
import { isMixedIn } from './mix.js';
import { LATE_THRESHOLD_MS, newLatencyHistogram, type IntervalReport, type MixedCounts } from './report.js';

/** What one engine (one thread's share of the run) needs; plain data so it can cross to a worker thread. */
export interface EngineConfig {
  origin: string;
  /** Path and query string. */
  path: string;
  method: string;
  headers: string[];
  body: string | null;
  timeoutMs: number;
  durationSec: number;
  mode: 'closed' | 'open';
  /** Global peak threads (closed) or connection cap (open), before sharding. */
  threads: number;
  /** Global peak rate (open loop), before sharding. */
  rate: number | null;
  profile: Profile;
  /** This engine is shard `shard` of `shards` (virtual user i belongs to shard i mod shards). */
  shard: number;
  shards: number;
  /** --mix: `percent` % of the requests are this one instead (same origin; headers plus its content type). */
  mix?: { percent: number; method: string; path: string; body: string; contentType: string } | null;
  /** Open loop: most arrivals that may wait for a free connection; older ones are dropped as unsent. Default MAX_BACKLOG. */
  maxBacklog?: number;
}

/**
 * Open loop: at most this many due arrivals wait for a free connection (per
 * engine). The waiting ones are held as a count and the oldest one's time
 * (arrivals are a deterministic sequence, so the rest follow from it): memory
 * stays constant however slow or dead the target is. Beyond the cap the
 * oldest are dropped and counted as `unsent`, so a recovering target is not
 * hit by an unbounded burst of arrivals scheduled long ago.
 */
export const MAX_BACKLOG = 100_000;

/** First back-off after a connection failure; doubles per consecutive failure up to BACKOFF_MAX_MS. */
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 500;
/** How often the closed-loop profile is re-evaluated (active virtual users). */
const CONTROL_INTERVAL_MS = 100;
/** Resolution of Node timers: the open-loop pump wakes up to this much before an arrival. */
const TIMER_GRANULARITY_MS = 1;
const SERVED_BY = Buffer.from('x-served-by');

function isServedBy(name: Buffer): boolean {
  if (name.length !== 11) return false;
  for (let i = 0; i < 11; i++) {
    // ASCII lower-casing: letters differ from upper case by 0x20; '-' is unaffected.
    if ((name[i] | 0x20) !== SERVED_BY[i]) return false;
  }
  return true;
}

/** Flat [name, value, …] headers with any content-type replaced by `type`. */
function withContentType(headers: string[], type: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i].toLowerCase() !== 'content-type') out.push(headers[i], headers[i + 1]);
  return [...out, 'content-type', type];
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One virtual user: a keep-alive connection (its own undici Client) that
 * sends one request at a time. It is also the undici dispatch handler for
 * its requests, reused for every request so the hot path allocates nothing
 * but what undici itself needs.
 */
class VirtualUser implements Dispatcher.DispatchHandler {
  readonly index: number;
  readonly client: Client;
  readonly #engine: LoadEngine;
  busy = false;
  /** performance.now() at which latency counting starts (scheduled time in open loop). */
  latencyFrom = 0;
  /** performance.now() when the request was handed to undici (for the timeout sweep). */
  dispatchedAt = 0;
  abortRequest: ((err?: Error) => void) | null = null;
  status = 0;
  servedBy: string | null = null;
  /** The request in flight is a --mix one. */
  mixed = false;
  consecutiveFailures = 0;
  backoffTimer: NodeJS.Timeout | null = null;

  constructor(index: number, client: Client, engine: LoadEngine) {
    this.index = index;
    this.client = client;
    this.#engine = engine;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortRequest = abort;
  }

  onHeaders(statusCode: number, headers: Buffer[]): boolean {
    if (statusCode < 200) return true; // informational; the final status follows
    this.status = statusCode;
    if (this.#engine.trackServedBy) {
      for (let i = 0; i < headers.length; i += 2) {
        if (isServedBy(headers[i])) {
          this.servedBy = headers[i + 1].toString('latin1');
          break;
        }
      }
    }
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    this.#engine.completed(this);
  }

  onError(err: Error): void {
    this.#engine.failed(this, err);
  }
}

/**
 * Runs one shard of a load: closed loop (each active virtual user sends its
 * next request when the previous one finishes) or open loop (requests are
 * scheduled by the rate profile and sent on a free connection; latency is
 * measured from the scheduled time, so a stalled target cannot hide its
 * queueing delay - the coordinated-omission correction of wrk2).
 *
 * Lifecycle: new -> start() -> collect()* -> stop(). stop() resolves once no
 * request is in flight and every socket is closed.
 */
export class LoadEngine {
  readonly trackServedBy = true;
  readonly #cfg: EngineConfig;
  readonly #vus: VirtualUser[] = [];
  readonly #dispatchOptions: Dispatcher.DispatchOptions;
  /** --mix: the other request, and how many requests this engine has sent (which ones are mixed in follows from it). */
  readonly #mixOptions: Dispatcher.DispatchOptions | null;
  readonly #mixPercent: number;
  #sequence = 0;
  readonly #rateAt: (tSec: number) => number;
  /** Closed loop with a non-constant profile: the active count is re-evaluated before every request. */
  readonly #shaped: boolean;

  #startMs = 0;
  #endMs = 0;
  #started = false;
  #stopping: Promise<void> | null = null;
  #abortRequested = false;
  #inFlight = 0;
  #onIdle: (() => void) | null = null;
  #closing: Promise<void>[] = [];

  /** Closed loop: how many of this shard's virtual users may send now. */
  #active = 0;
  /** Open loop: how many due arrivals wait for a free connection, and when (s since start) the oldest was due. */
  #pending = 0;
  #pendingHeadSec = 0;
  readonly #maxBacklog: number;
  #nextArrivalSec: number | null = null;
  #idle: VirtualUser[] = [];

  #controlTimer: NodeJS.Timeout | null = null;
  #arrivalTimer: NodeJS.Timeout | null = null;
  #sweepTimer: NodeJS.Timeout | null = null;
  #endTimer: NodeJS.Timeout | null = null;
  #beginTimer: NodeJS.Timeout | null = null;

  // Counters since the last collect().
  #sent = 0;
  #ok = 0;
  #aborted = 0;
  #late = 0;
  #unsent = 0;
  #httpErrors = new Map<number, number>();
  #transportErrors = new Map<string, number>();
  #servedBy = new Map<string, number>();
  #mixed: MixedCounts = { sent: 0, ok: 0, failed: 0 };
  #latency: Histogram = newLatencyHistogram();

  constructor(cfg: EngineConfig) {
    this.#cfg = cfg;
    this.#maxBacklog = cfg.maxBacklog ?? MAX_BACKLOG;
    const count = shareOf(cfg.threads, cfg.shard, cfg.shards);
    for (let i = 0; i < count; i++) {
      const client = new Client(cfg.origin, {
        pipelining: 1,
        keepAliveTimeout: 60_000,
        // --timeout is enforced by #sweepTimeouts() (one timer per engine, not
        // per request); undici's own per-request timers are switched off.
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: { timeout: cfg.timeoutMs },
      });
      this.#vus.push(new VirtualUser(i, client, this));
    }
    this.#dispatchOptions = {
      path: cfg.path,
      method: cfg.method as Dispatcher.HttpMethod,
      headers: cfg.headers.length > 0 ? cfg.headers : undefined,
      body: cfg.body === null ? undefined : Buffer.from(cfg.body),
    };
    const mix = cfg.mix ?? null;
    this.#mixPercent = mix?.percent ?? 0;
    this.#mixOptions =
      mix === null
        ? null
        : {
            path: mix.path,
            method: mix.method as Dispatcher.HttpMethod,
            headers: withContentType(cfg.headers, mix.contentType),
            body: Buffer.from(mix.body),
          };
    this.#shaped = cfg.mode === 'closed' && cfg.profile.name !== 'constant';
    const peakRate = cfg.rate ?? 0;
    this.#rateAt = (tSec) => levelAt(cfg.profile, peakRate, tSec) / cfg.shards;
  }

  /** Starts sending. `startMs` is this thread's performance.now() at which the run's t = 0 is. */
  start(startMs: number): void {
    if (this.#started) throw new Error('LoadEngine.start() called twice');
    this.#started = true;
    this.#startMs = startMs;
    this.#endMs = startMs + this.#cfg.durationSec * 1000;
    const wait = startMs - performance.now();
    if (wait > 1) this.#beginTimer = setTimeout(() => this.#begin(), wait);
    else this.#begin();
  }

  #begin(): void {
    this.#beginTimer = null;
    const sweepMs = Math.min(250, Math.max(5, Math.floor(this.#cfg.timeoutMs / 20)));
    this.#sweepTimer = setInterval(() => this.#sweepTimeouts(), sweepMs);
    this.#endTimer = setTimeout(() => this.#stopIssuing(), Math.max(0, this.#endMs - performance.now()));
    if (this.#cfg.mode === 'open') {
      this.#idle = [...this.#vus].reverse();
      this.#nextArrivalSec = nextArrival(0, this.#rateAt, this.#cfg.durationSec);
      this.#pump();
    } else {
      this.#control();
      if (this.#shaped) this.#controlTimer = setInterval(() => this.#control(), CONTROL_INTERVAL_MS);
    }
  }

  /** The counters since the previous call (the caller owns the returned histogram). */
  collect(): IntervalReport {
    const report: IntervalReport = {
      sent: this.#sent,
      ok: this.#ok,
      httpErrors: Object.fromEntries([...this.#httpErrors].map(([status, n]) => [String(status), n])),
      transportErrors: Object.fromEntries(this.#transportErrors),
      aborted: this.#aborted,
      late: this.#late,
      unsent: this.#unsent,
      servedBy: Object.fromEntries(this.#servedBy),
      ...(this.#mixOptions !== null ? { mixed: this.#mixed } : {}),
      latency: this.#latency,
    };
    this.#mixed = { sent: 0, ok: 0, failed: 0 };
    this.#sent = this.#ok = this.#aborted = this.#late = this.#unsent = 0;
    this.#httpErrors = new Map();
    this.#transportErrors = new Map();
    this.#servedBy = new Map();
    this.#latency = newLatencyHistogram();
    return report;
  }

  /**
   * Stops sending. With `abort`, in-flight requests are cancelled now and
   * counted as aborted; without, they get until their timeout (and are
   * counted as timeouts after it). Resolves when every socket is closed.
   * Calling it again with `abort` while a drain is running cancels the drain.
   */
  stop(abort: boolean): Promise<void> {
    if (abort) this.#abortRequested = true;
    if (this.#stopping !== null) {
      if (abort) this.#destroyClients(codedError(REQUEST_ABORTED_CODE, 'run interrupted'));
      return this.#stopping;
    }
    this.#stopIssuing();
    this.#stopping = this.#drainAndClose();
    return this.#stopping;
  }

  async #drainAndClose(): Promise<void> {
    if (this.#abortRequested) {
      this.#destroyClients(codedError(REQUEST_ABORTED_CODE, 'run interrupted'));
    } else if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          this.#destroyClients(codedError(REQUEST_TIMEOUT_CODE, `no response within ${this.#cfg.timeoutMs} ms`));
        }, this.#cfg.timeoutMs);
        this.#onIdle = () => {
          clearTimeout(deadline);
          resolve();
        };
      });
    }
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    for (const vu of this.#vus) {
      if (!vu.client.destroyed) this.#closing.push(vu.client.destroy());
    }
    // Resolves after undici has reported every cancelled request to its handler.
    await Promise.all(this.#closing);
  }

  #destroyClients(err: Error): void {
    for (const vu of this.#vus) {
      if (!vu.client.destroyed) this.#closing.push(vu.client.destroy(err));
    }
  }

  /** No new requests from now on (the duration is over, or stop() was called). */
  #stopIssuing(): void {
    if (this.#endMs > performance.now()) this.#endMs = performance.now();
    for (const timer of [this.#controlTimer, this.#arrivalTimer, this.#endTimer, this.#beginTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    this.#controlTimer = this.#arrivalTimer = this.#endTimer = this.#beginTimer = null;
    for (const vu of this.#vus) {
      if (vu.backoffTimer !== null) clearTimeout(vu.backoffTimer);
      vu.backoffTimer = null;
    }
    this.#unsent += this.#pending;
    this.#pending = 0;
    this.#nextArrivalSec = null;
  }

  /** Closed loop: re-evaluates how many virtual users are active and wakes the idle ones that should be. */
  #control(): void {
    this.#updateActive(performance.now());
    for (let i = 0; i < this.#active; i++) {
      const vu = this.#vus[i];
      if (!vu.busy && vu.backoffTimer === null) this.#sendClosed(vu, performance.now());
    }
  }

  #updateActive(now: number): void {
    const global = activeThreadsAt(this.#cfg.profile, this.#cfg.threads, (now - this.#startMs) / 1000);
    this.#active = shareOf(global, this.#cfg.shard, this.#cfg.shards);
  }

  #sendClosed(vu: VirtualUser, now: number): void {
    if (this.#shaped) this.#updateActive(now);
    if (now >= this.#endMs || vu.index >= this.#active) return; // parked until #control() wakes it
    vu.latencyFrom = now;
    this.#dispatch(vu, now);
  }

  #dispatch(vu: VirtualUser, now: number): void {
    vu.busy = true;
    vu.dispatchedAt = now;
    vu.status = 0;
    vu.servedBy = null;
    vu.abortRequest = null;
    vu.mixed = this.#mixOptions !== null && isMixedIn(this.#sequence++, this.#mixPercent);
    this.#sent++;
    if (vu.mixed) this.#mixed.sent++;
    this.#inFlight++;
    vu.client.dispatch(vu.mixed ? this.#mixOptions! : this.#dispatchOptions, vu);
  }

  /** Open loop: moves due arrivals into the backlog, sends what free connections allow, re-arms the timer. */
  #pump(): void {
    this.#arrivalTimer = null;
    const now = performance.now();
    if (now >= this.#endMs) return;
    // Timers fire on a 1 ms grid, so arrivals due within the next millisecond go now rather than up to 1 ms late.
    const horizon = (now - this.#startMs + TIMER_GRANULARITY_MS) / 1000;
    while (this.#nextArrivalSec !== null && this.#nextArrivalSec <= horizon && this.#nextArrivalSec * 1000 < this.#endMs - this.#startMs) {
      if (this.#pending === 0) this.#pendingHeadSec = this.#nextArrivalSec;
      this.#pending++;
      this.#nextArrivalSec = nextArrival(this.#nextArrivalSec, this.#rateAt, this.#cfg.durationSec);
    }
    while (this.#pending > this.#maxBacklog) {
      this.#unsent++;
      this.#takeOldest();
    }
    while (this.#idle.length > 0 && this.#pending > 0) {
      this.#sendScheduled(this.#idle.pop() as VirtualUser, now);
    }
    if (this.#nextArrivalSec !== null) {
      const wait = this.#startMs + this.#nextArrivalSec * 1000 - performance.now() - TIMER_GRANULARITY_MS;
      this.#arrivalTimer = setTimeout(() => this.#pump(), Math.max(0, Math.floor(wait)));
    }
  }

  /** Open loop: due arrivals waiting for a free connection (never more than maxBacklog). */
  get pending(): number {
    return this.#pending;
  }

  /** Removes the oldest waiting arrival; returns when it was due (performance.now() ms). */
  #takeOldest(): number {
    const dueMs = this.#startMs + this.#pendingHeadSec * 1000;
    this.#pending--;
    if (this.#pending > 0) {
      // The next waiting arrival is the next one of the sequence; it exists, being before #nextArrivalSec.
      const next = nextArrival(this.#pendingHeadSec, this.#rateAt, this.#cfg.durationSec);
      if (next === null) this.#pending = 0;
      else this.#pendingHeadSec = next;
    }
    return dueMs;
  }

  #sendScheduled(vu: VirtualUser, now: number): void {
    const scheduled = this.#takeOldest();
    if (now - scheduled > LATE_THRESHOLD_MS) this.#late++;
    // Late: latency counts from the schedule (coordinated-omission correction). Early (< 1 ms): from the actual send.
    vu.latencyFrom = Math.min(scheduled, now);
    this.#dispatch(vu, now);
  }

  /** A virtual user is free again: closed loop sends its next request, open loop takes the next due one. */
  #next(vu: VirtualUser, now: number): void {
    if (this.#stopping !== null) return;
    if (this.#cfg.mode === 'closed') {
      this.#sendClosed(vu, now);
      return;
    }
    if (this.#pending > 0 && now < this.#endMs) this.#sendScheduled(vu, now);
    else this.#idle.push(vu);
  }

  #finish(vu: VirtualUser): void {
    vu.busy = false;
    vu.abortRequest = null;
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#onIdle !== null) {
      const onIdle = this.#onIdle;
      this.#onIdle = null;
      onIdle();
    }
  }

  completed(vu: VirtualUser): void {
    const now = performance.now();
    this.#latency.recordValue(Math.max(1, Math.round((now - vu.latencyFrom) * 1000)));
    const status = vu.status;
    if (isOkStatus(status)) this.#ok++;
    else this.#httpErrors.set(status, (this.#httpErrors.get(status) ?? 0) + 1);
    if (vu.mixed) {
      if (isOkStatus(status)) this.#mixed.ok++;
      else this.#mixed.failed++;
    }
    if (vu.servedBy !== null) this.#servedBy.set(vu.servedBy, (this.#servedBy.get(vu.servedBy) ?? 0) + 1);
    vu.consecutiveFailures = 0;
    this.#finish(vu);
    this.#next(vu, now);
  }

  failed(vu: VirtualUser, err: Error): void {
    const code = errorCode(err);
    if (code === REQUEST_ABORTED_CODE) this.#aborted++;
    else {
      this.#transportErrors.set(code, (this.#transportErrors.get(code) ?? 0) + 1);
      if (vu.mixed) this.#mixed.failed++;
    }
    this.#finish(vu);
    if (this.#stopping !== null) return;
    if (!shouldBackOff(classifyErrorCode(code))) {
      this.#next(vu, performance.now());
      return;
    }
    // Connection-level failure: wait a little before this user tries again, so a down target costs no CPU.
    vu.consecutiveFailures++;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (vu.consecutiveFailures - 1));
    vu.backoffTimer = setTimeout(() => {
      vu.backoffTimer = null;
      this.#next(vu, performance.now());
    }, delay);
  }

  /** Cancels requests that have run longer than --timeout (they are counted as timeouts). */
  #sweepTimeouts(): void {
    const now = performance.now();
    const limit = this.#cfg.timeoutMs;
    for (const vu of this.#vus) {
      if (vu.busy && vu.abortRequest !== null && now - vu.dispatchedAt >= limit) {
        vu.abortRequest(codedError(REQUEST_TIMEOUT_CODE, `no response within ${limit} ms`));
      }
    }
  }
}
