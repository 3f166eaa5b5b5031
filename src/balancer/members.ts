/**
 * The worker pool both front ends share: membership, active health checks,
 * passive ejection, drain and the round-robin rotation. The L7 proxy and the
 * L4 handoff differ only in what they keep per worker (`T`: a keep-alive
 * connection pool and request counters, or an IPC channel and the worker's
 * own reports) and in how they hand work over; everything about *which*
 * workers may take work lives here, once. Like undici's `PoolBase`, with the
 * front end choosing only what to do with `next()`.
 *
 * Events (the same for both front ends):
 * - 'health' `{ id, healthy, detail }` when a worker crosses a health threshold;
 * - 'upstream-error' `{ id, port, code }` when live traffic could not reach a
 *   worker and it is ejected (once per ejection);
 * - 'upstream-restored' `{ id, port }` when an ejected worker passed enough
 *   active checks to return to rotation.
 */
import { EventEmitter } from 'node:events';
import { InternalError } from '../errors.js';
import { HealthCheckLoop, httpProbe, type Probe, type ProbeResult } from './health-check.js';
import { applyCheck, eject, initialHealth, inRotation, type HealthState } from './health-state.js';
import { pick } from './pick.js';

export interface HealthCheckOptions {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/**
 * ALB target-group defaults scaled for a lab: a dead worker leaves rotation
 * within ~3 × 2 s plus the 1 s timeout, and comes back after 2 good checks.
 */
export const DEFAULT_HEALTH: Readonly<HealthCheckOptions> = Object.freeze({
  path: '/health',
  intervalMs: 2000,
  timeoutMs: 1000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
});

export interface BalancerHealthEvent {
  id: number;
  healthy: boolean;
  detail: string;
}

export interface UpstreamErrorEvent {
  id: number;
  port: number;
  code: string;
}

export interface UpstreamRestoredEvent {
  id: number;
  port: number;
}

export interface DrainResult {
  inFlightAtStart: number;
  drained: boolean;
  ms: number;
}

export interface MemberTarget {
  id: number;
  host: string;
  port: number;
}

/** One worker in the pool. The pool owns every field but `data`, which belongs to the front end. */
export interface Member<T> {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly addedAt: number;
  readonly data: T;
  readonly health: HealthState;
  /** Leaving: no new work, finishing what it has. */
  readonly draining: boolean;
  /** Out of the pool for good (drained, removed or the pool closed). */
  readonly gone: boolean;
}

/** What the pool asks of its front end, per worker. */
export interface FrontEndHooks<T> {
  /** Work the front end has under way on this worker (what a drain waits for). */
  inFlight(m: Member<T>): number;
  /** Nothing left to wait for on this worker: a drain may end. */
  idle(m: Member<T>): boolean;
  /** A drain begins (L4 asks the worker to let its connections go). */
  draining?(m: Member<T>): void;
  /** The worker left the pool: `drained` when its work finished, false when it was cut (close or destroy its connections). */
  release(m: Member<T>, drained: boolean): Promise<void>;
  /** An active health check failed (counted for /metrics). */
  checkFailed?(m: Member<T>): void;
  /** The rotation was rebuilt (L7 releases requests held for a worker). */
  rotationChanged?(size: number): void;
}

export interface MembersOptions<T> {
  health?: Partial<HealthCheckOptions>;
  now: () => number;
  hooks: FrontEndHooks<T>;
  /** How a worker's health is checked (default: GET `health.path` on its own connection). */
  probe?: (target: MemberTarget, health: HealthCheckOptions) => { probe: Probe; close: () => Promise<void> };
}

export function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InternalError(`balancer ${name}: expected a positive integer, received ${JSON.stringify(value)}`);
  }
  return value;
}

export function validPort(name: string, value: unknown, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw new InternalError(`balancer ${name}: expected an integer port ${allowZero ? 0 : 1}-65535, received ${JSON.stringify(value)}`);
  }
  return value;
}

/** The health-check settings with defaults filled in, validated (both front ends go through here). */
export function resolveHealth(h: Partial<HealthCheckOptions> | undefined): HealthCheckOptions {
  const o = { ...DEFAULT_HEALTH, ...h };
  if (typeof o.path !== 'string' || !o.path.startsWith('/')) {
    throw new InternalError(`balancer health.path: expected a path starting with "/", received ${JSON.stringify(o.path)}`);
  }
  for (const k of ['intervalMs', 'timeoutMs', 'healthyThreshold', 'unhealthyThreshold'] as const) positiveInt(`health.${k}`, o[k]);
  if (o.timeoutMs >= o.intervalMs) {
    throw new InternalError(`balancer health.timeoutMs (${o.timeoutMs}) must be < health.intervalMs (${o.intervalMs})`);
  }
  return o;
}

interface Entry<T> {
  id: number;
  host: string;
  port: number;
  addedAt: number;
  data: T;
  health: HealthState;
  draining: boolean;
  gone: boolean;
  loop: HealthCheckLoop | null;
  closeProbe: (() => Promise<void>) | null;
  /** Set while a drain waits: re-check idleness. */
  onChange: (() => void) | null;
}

export class Members<T> extends EventEmitter {
  readonly health: HealthCheckOptions;
  readonly #now: () => number;
  readonly #hooks: FrontEndHooks<T>;
  readonly #probe: NonNullable<MembersOptions<T>['probe']>;
  readonly #entries = new Map<number, Entry<T>>();
  #rotation: Entry<T>[] = [];
  #cursor = 0;
  #closed = false;

  constructor(opts: MembersOptions<T>) {
    super();
    this.health = resolveHealth(opts.health);
    this.#now = opts.now;
    this.#hooks = opts.hooks;
    this.#probe = opts.probe ?? ((t, h) => httpProbe(t.host, t.port, h.path, h.timeoutMs));
  }

  /** A worker that said it is ready joins the rotation with the front end's data for it (`make`, called once the target is valid); its health checks start. */
  add(target: MemberTarget, make: (target: MemberTarget) => T): Member<T> {
    if (this.#closed) throw new InternalError('balancer is closed');
    if (!Number.isInteger(target.id)) throw new InternalError(`worker id: expected an integer, received ${JSON.stringify(target.id)}`);
    validPort(`worker ${target.id} port`, target.port, false);
    if (typeof target.host !== 'string' || target.host === '') throw new InternalError(`worker ${target.id} host: expected a host name or address, received ${JSON.stringify(target.host)}`);
    if (this.#entries.has(target.id)) throw new InternalError(`worker ${target.id} is already in the balancer (remove or drain it first)`);
    const e: Entry<T> = {
      id: target.id,
      host: target.host,
      port: target.port,
      addedAt: this.#now(),
      data: make(target),
      health: initialHealth,
      draining: false,
      gone: false,
      loop: null,
      closeProbe: null,
      onChange: null,
    };
    const { probe, close } = this.#probe(target, this.health);
    e.closeProbe = close;
    e.loop = new HealthCheckLoop(probe, this.health.intervalMs, (r) => this.#onHealthResult(e, r));
    this.#entries.set(e.id, e);
    this.#rebuildRotation();
    e.loop.start();
    return e;
  }

  get(id: number): Member<T> | undefined {
    return this.#entries.get(id);
  }

  /** Every worker in the pool now, draining ones included, in the order they joined. */
  all(): IterableIterator<Member<T>> {
    return this.#entries.values();
  }

  /** Workers that take new work now. */
  readyCount(): number {
    return this.#rotation.length;
  }

  /** Takes new work now: not draining, healthy, not ejected. */
  inRotation(m: Member<T>): boolean {
    return !m.draining && !m.gone && inRotation(m.health);
  }

  /** The next worker in rotation (round-robin), or null when none. */
  next(): Member<T> | null {
    const r = pick(this.#rotation, this.#cursor);
    if (r === null) return null;
    this.#cursor = r.cursor;
    return r.worker;
  }

  /** Passive check: live traffic could not reach the worker; out of rotation at once (one event per ejection). */
  eject(m: Member<T>, code: string): void {
    const e = m as Entry<T>;
    if (e.gone || e.health.ejected) return;
    e.health = eject(e.health);
    this.#rebuildRotation();
    this.emit('upstream-error', { id: e.id, port: e.port, code } satisfies UpstreamErrorEvent);
  }

  /** The front end's in-flight work on `m` changed: a waiting drain looks again. */
  changed(m: Member<T>): void {
    (m as Entry<T>).onChange?.();
  }

  /**
   * Out of rotation now; wait (at most `timeoutMs`) until the front end says the worker is idle,
   * then release it. `drained` is false when the wait timed out or the worker was removed meanwhile.
   */
  async drain(id: number, timeoutMs: number): Promise<DrainResult> {
    const e = this.#entries.get(id);
    if (e === undefined || e.draining) return { inFlightAtStart: 0, drained: true, ms: 0 };
    const t0 = this.#now();
    e.draining = true;
    this.#rebuildRotation();
    const stopping = this.#stopHealth(e);
    const inFlightAtStart = this.#hooks.inFlight(e);
    this.#hooks.draining?.(e);
    const idle = this.#hooks.idle(e) || (await this.#waitIdle(e, timeoutMs));
    const ms = this.#now() - t0;
    await stopping;
    // remove() or close() meanwhile cut the remaining work: that is not a drain.
    if (e.gone) return { inFlightAtStart, drained: false, ms };
    this.#forget(e);
    await this.#hooks.release(e, idle);
    return { inFlightAtStart, drained: idle, ms };
  }

  /** Out now, whatever it was doing (it crashed or was killed). */
  async remove(id: number): Promise<void> {
    const e = this.#entries.get(id);
    if (e === undefined) return;
    this.#forget(e);
    await Promise.all([this.#stopHealth(e), this.#hooks.release(e, false)]);
  }

  /** Every worker out, cut; no worker may join afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const entries = [...this.#entries.values()];
    for (const e of entries) this.#forget(e);
    await Promise.all(entries.map((e) => Promise.all([this.#stopHealth(e), this.#hooks.release(e, false)])));
  }

  get closed(): boolean {
    return this.#closed;
  }

  // internals

  #forget(e: Entry<T>): void {
    if (e.gone) return;
    e.gone = true;
    this.#entries.delete(e.id);
    this.#rebuildRotation();
    e.onChange?.();
  }

  async #stopHealth(e: Entry<T>): Promise<void> {
    e.loop?.stop();
    e.loop = null;
    const close = e.closeProbe;
    e.closeProbe = null;
    if (close !== null) await close();
  }

  #waitIdle(e: Entry<T>, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        e.onChange = null;
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      e.onChange = () => {
        if (e.gone) finish(false);
        else if (this.#hooks.idle(e)) finish(true);
      };
    });
  }

  #onHealthResult(e: Entry<T>, r: ProbeResult): void {
    if (e.gone || e.draining) return;
    if (!r.ok) this.#hooks.checkFailed?.(e);
    const { state, transition, rotationChanged, restored } = applyCheck(e.health, r.ok, this.health);
    e.health = state;
    if (rotationChanged) this.#rebuildRotation();
    if (transition !== null) this.emit('health', { id: e.id, healthy: transition === 'healthy', detail: r.detail } satisfies BalancerHealthEvent);
    if (restored) this.emit('upstream-restored', { id: e.id, port: e.port } satisfies UpstreamRestoredEvent);
  }

  #rebuildRotation(): void {
    const rotation: Entry<T>[] = [];
    for (const e of this.#entries.values()) if (!e.draining && inRotation(e.health)) rotation.push(e);
    this.#rotation = rotation;
    this.#hooks.rotationChanged?.(rotation.length);
  }
}
