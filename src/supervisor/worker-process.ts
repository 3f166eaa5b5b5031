/**
 * One worker process and its lifecycle, with explicit phases:
 *
 *   backoff ──▶ starting ──▶ ready ──▶ draining ──▶ stopping ──▶ exited
 *      │           │           │                       ▲
 *      │           ├───────────┴──── (unexpected exit) ┼───────▶ crashed
 *      └───────────┴──── retire ───────────────────────┘
 *
 * `backoff`: a replacement waiting out the crash-loop delay (no process yet).
 * `starting`: looking for a port, then forked and waiting for its 'ready'.
 * The phase changes only through `#setPhase`, which emits a 'worker' event.
 * One timer per purpose: back-off, ready deadline, stable uptime. The process
 * ends exactly once (`#finish`), whichever of 'exit', a spawn 'error' or a
 * cancelled start comes first; the supervisor hears it through `onGone`.
 */
import type { ChildProcess, ForkOptions } from 'node:child_process';
import { closeSync } from 'node:fs';
import { openWorkerLog } from './worker-log.js';
import { EXIT_LISTEN_FAILED, isFromWorker, type ToWorker } from '../app/protocol.js';
import type { LabEvent, WorkerSnapshot, WorkerState } from '../events.js';
import type { WorkerStats, WorkerStoreStats } from '../worker-stats.js';

/**
 * One worker as the supervisor keeps it, and the one record of it the lab
 * reads: its tick window (observe.ts), its views (`workerRow`), its store
 * status. Counters are lifetime ones: nothing resets on a read.
 */
export interface WorkerRecord {
  id: number;
  port: number;
  pid: number | undefined;
  state: WorkerState;
  /** false once the balancer's health checks failed and it was taken out. */
  healthy: boolean;
  /** How many times its slot was refilled after a crash or failed health. */
  restarts: number;
  /** ms since lab start when it was forked, and when it became ready (null: not yet). */
  startedAt: number;
  readyAt: number | null;
  /** Listening but holding its readiness (--boot-delay) until this time (ms since lab start); null otherwise. */
  bootingUntil: number | null;
  /** Its latest own stats, as the IPC message carried them (null before the first). */
  stats: WorkerStats | null;
  /** Lifetime sum and count of its stats' `cpu` (a tick window diffs them); the count is also its heartbeat. */
  cpuReportSum: number;
  cpuReports: number;
  /** Its latest word on the shared visits store: from every stats message, and once more on its way out (null before any). */
  store: WorkerStoreStats | null;
}

/** A worker's row for the views (the 'worker' rows of tick and stats events): its record plus the balancer's traffic to it. Pure. */
export function workerRow(r: WorkerRecord, traffic: { rps: number; inFlight: number }): WorkerSnapshot {
  return {
    id: r.id,
    port: r.port,
    pid: r.pid,
    state: r.state,
    healthy: r.healthy,
    cpu: r.stats?.cpu ?? null,
    rss: r.stats?.rss ?? null,
    ...traffic,
    ...(r.stats === null ? {} : { connections: r.stats.handedOver }),
    restarts: r.restarts,
    startedAt: r.startedAt,
    readyAt: r.readyAt,
    ...(r.bootingUntil === null ? {} : { bootingUntil: r.bootingUntil }),
    ...(r.store ? { store: { up: r.store.up, detail: r.store.detail, visits: r.store.visits } } : {}),
  };
}

/** What a worker needs from the balancer. */
export interface Rotation {
  /** `channel`: the worker's IPC channel (the L4 balancer hands it connections through it). */
  addWorker(w: { id: number; host: string; port: number; channel: ChildProcess }): void;
  /** The worker's own stats, once a second (the L4 balancer counts requests from these). */
  report?(id: number, stats: WorkerStats): void;
  drainWorker(id: number, timeoutMs: number): Promise<{ inFlightAtStart: number; drained: boolean; ms: number }>;
  removeWorker(id: number): Promise<void>;
}

/** How a worker process ended, for the supervisor's replacement rule. */
export type Outcome =
  /** We stopped it (scale-in, unhealthy, lab stopping), or it never started because we cancelled it. */
  | 'retired'
  /** It died on its own, failed to fork, or never became ready. */
  | 'crashed'
  /** Its port was taken between our probe and its listen(): try another port, no back-off. */
  | 'port-conflict'
  /** No free port to give it. */
  | 'no-port';

export interface WorkerDeps {
  host: string;
  work: number;
  /** Extra worker arguments (e.g. --max-conn-requests). */
  workerArgs: readonly string[];
  runDir: string;
  script: string;
  rotation: Rotation;
  publish: (event: LabEvent) => void;
  clock: () => number;
  drainTimeoutMs: number;
  killTimeoutMs: number;
  readyTimeoutMs: number;
  /** After it listens, it holds its readiness this long (--boot-delay; 0: ready at once), ms. */
  bootDelayMs: number;
  stableMs: number;
  fork: (script: string, args: readonly string[], options: ForkOptions) => ChildProcess;
  /** --database-url for the worker ('' for none). */
  databaseUrl: string;
  /** It reported on the shared store (every stats message, and once more on its way out). */
  onStore: (w: WorkerProcess, store: WorkerStoreStats) => void;
  /** A free port for this worker (the supervisor knows which ports are reserved). */
  findPort: () => Promise<number>;
  /** The worker's port was taken at listen(): the supervisor avoids it from now on. */
  portTaken: (port: number) => void;
  /** It has stayed ready for `stableMs`. */
  onStable: (w: WorkerProcess) => void;
  /** It is gone for good; called exactly once. */
  onGone: (w: WorkerProcess, outcome: Outcome) => void;
}

const LIVE: ReadonlySet<WorkerState> = new Set(['backoff', 'starting', 'ready']);

export class WorkerProcess {
  readonly id: number;
  /** How many times this slot was replaced after a crash or failed health. */
  readonly restarts: number;
  readonly startedAt: number;
  /** Resolves once the worker is gone (exited, crashed or cancelled). */
  readonly exited: Promise<void>;
  port = 0;
  pid: number | undefined;
  healthy = true;
  readyAt: number | null = null;
  /** Listening but holding its readiness (--boot-delay) until this time (clock ms); null otherwise. */
  bootingUntil: number | null = null;
  /** It stayed ready for `stableMs` (its death is then no crash loop). */
  stable = false;
  /** Its latest own stats (null before the first); see WorkerRecord. */
  stats: WorkerStats | null = null;
  cpuReportSum = 0;
  cpuReports = 0;
  /** Its latest report on the shared visits store (null before the first). */
  store: WorkerStoreStats | null = null;

  #deps: WorkerDeps;
  #phase: WorkerState;
  #child: ChildProcess | null = null;
  #backoffTimer: NodeJS.Timeout | null = null;
  #readyTimer: NodeJS.Timeout | null = null;
  #stableTimer: NodeJS.Timeout | null = null;
  #bootTimer: NodeJS.Timeout | null = null;
  /** Why it failed, when it failed before its process ended (ready deadline): reported at the end. */
  #failure: string | null = null;
  #retiring: Promise<boolean> | null = null;
  #gone = false;
  /** False until its first event: that event then has `from: null` (the worker is new to its readers). */
  #announced = false;
  /** The port was taken before the worker could bind it (its exit is no crash); said on its last event. */
  #portTaken = false;
  /** Why it is starting (replacement, back-off over), said in the fork event. */
  #startDetail = '';
  #resolveExited!: () => void;

  constructor(deps: WorkerDeps, id: number, restarts: number, backoffMs: number, detail: string) {
    this.#deps = deps;
    this.id = id;
    this.restarts = restarts;
    this.startedAt = deps.clock();
    this.exited = new Promise<void>((resolve) => (this.#resolveExited = resolve));
    this.#phase = backoffMs > 0 ? 'backoff' : 'starting';
    if (backoffMs > 0) {
      // Waiting is something to see: announce it now. It becomes 'starting' when its process is forked.
      this.#emit(null, detail);
      this.#startDetail = `back-off of ${backoffMs} ms over`;
      this.#backoffTimer = setTimeout(() => {
        this.#backoffTimer = null;
        void this.#launch();
      }, backoffMs);
    } else {
      // Announced once, when forked (with port, pid and log): one line per new worker.
      this.#startDetail = detail === 'new' ? '' : detail;
      void this.#launch();
    }
  }

  get phase(): WorkerState {
    return this.#phase;
  }

  /** Holds a slot: in back-off, starting or ready (not on its way out). */
  get live(): boolean {
    return LIVE.has(this.#phase);
  }

  /** True while a process of ours may still be running. */
  get running(): boolean {
    const c = this.#child;
    return c !== null && c.pid !== undefined && c.exitCode === null && c.signalCode === null;
  }

  record(): WorkerRecord {
    return {
      id: this.id,
      port: this.port,
      pid: this.pid,
      state: this.#phase,
      healthy: this.healthy,
      restarts: this.restarts,
      startedAt: this.startedAt,
      readyAt: this.readyAt,
      bootingUntil: this.bootingUntil,
      stats: this.stats,
      cpuReportSum: this.cpuReportSum,
      cpuReports: this.cpuReports,
      store: this.store,
    };
  }

  /**
   * Take it out: out of the balancer first, wait for its in-flight requests
   * (bounded), then SIGTERM, SIGKILL after the deadline. Resolves true if
   * SIGKILL was needed. Idempotent.
   */
  retire(why: string): Promise<boolean> {
    this.#retiring ??= this.#retire(why);
    return this.#retiring;
  }

  /** Last resort when the daemon itself is crashing: SIGKILL now, synchronously. */
  killNow(): void {
    this.#clearTimers();
    if (this.running) this.#child!.kill('SIGKILL');
  }

  // internals

  /** The one place the phase changes; every change is published. */
  #setPhase(phase: WorkerState, detail: string): void {
    const from = this.#phase;
    this.#phase = phase;
    this.#emit(from, detail);
  }

  #emit(from: WorkerState | null, detail: string): void {
    const first = !this.#announced;
    this.#announced = true;
    this.#deps.publish({ type: 'worker', t: this.#deps.clock(), id: this.id, port: this.port, pid: this.pid, from: first ? null : from, state: this.#phase, detail, ...(this.#portTaken ? { portTaken: true as const } : {}) });
  }

  async #retire(why: string): Promise<boolean> {
    if (this.#gone) return false;
    if (this.#phase === 'backoff') {
      this.#finish('exited', 'retired', `cancelled before start (${why})`);
      return false;
    }
    if (this.#phase === 'ready') {
      this.#setPhase('draining', why);
      const child = this.#child!;
      send(child, { type: 'drain' });
      const r = await this.#deps.rotation.drainWorker(this.id, this.#deps.drainTimeoutMs);
      if (this.#gone) return false;
      this.#setPhase(
        'stopping',
        r.drained
          ? `drained ${r.inFlightAtStart} in-flight request${r.inFlightAtStart === 1 ? '' : 's'} in ${Math.round(r.ms)} ms`
          : `drain timeout after ${Math.round(r.ms)} ms with requests still in flight`,
      );
    } else if (this.#phase === 'starting') {
      this.#setPhase('stopping', why);
    }
    // Still looking for a port: #launch sees 'stopping' and cancels.
    if (this.#child === null) {
      await this.exited;
      return false;
    }
    return this.#terminate();
  }

  async #launch(): Promise<void> {
    let port: number;
    try {
      port = await this.#deps.findPort();
    } catch (err) {
      if (this.#phase === 'stopping') this.#finish('exited', 'retired', 'cancelled before start');
      else this.#finish('crashed', 'no-port', (err as Error).message);
      return;
    }
    if (this.#phase !== 'starting' && this.#phase !== 'backoff') {
      this.#finish('exited', 'retired', 'cancelled before start');
      return;
    }
    this.port = port;
    const { host, runDir, script, work, databaseUrl } = this.#deps;
    const args = ['--id', String(this.id), '--port', String(port), '--host', host, '--work', String(work), ...this.#deps.workerArgs];
    if (databaseUrl !== '') args.push('--database-url', databaseUrl);
    // A log that cannot be opened (run dir read-only, removed) must not stop the worker: output is discarded, the event says why.
    const log = openWorkerLog(runDir, this.id);
    const fd = log.fd ?? undefined;
    const out = log.fd ?? 'ignore';
    let child: ChildProcess;
    try {
      child = this.#deps.fork(script, args, {
        stdio: ['ignore', out, out, 'ipc'],
        // Never inherit tsx or inspector flags: workers run compiled JS.
        execArgv: [],
        serialization: 'json',
        // Its own process group: a terminal's SIGHUP/SIGINT to our job does not reach it undrained.
        // It still exits by itself when our IPC channel closes (see app/main.ts).
        detached: true,
      });
    } catch (err) {
      this.#finish('crashed', 'crashed', `fork failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    this.#child = child;
    this.pid = child.pid;
    child.on('message', (m) => this.#onMessage(m));
    child.on('error', (err: NodeJS.ErrnoException) => {
      // A spawn failure (EAGAIN, EMFILE…) emits 'error' and no 'exit': that is a crash. Other errors
      // (a failed IPC send) come with a live or exiting process; 'exit' decides then.
      if (child.pid === undefined) this.#finish('crashed', 'crashed', `fork failed: ${err.code ?? err.message}`);
    });
    child.once('exit', (code, signal) => {
      // Messages sent just before exit (the final store counts) may still be in the IPC pipe: read them first.
      let handled = false;
      const done = () => {
        if (handled) return;
        handled = true;
        this.#onExit(code, signal);
      };
      if (!child.connected) return done();
      const timer = setTimeout(done, 500);
      child.once('disconnect', () => {
        clearTimeout(timer);
        done();
      });
    });
    if (child.pid === undefined) return;
    // The one 'starting' event: from 'backoff', or the worker's first (from null). Never starting → starting.
    this.#setPhase('starting', `${this.#startDetail ? `${this.#startDetail}; ` : ''}${log.problem ?? `log ${log.file}`}`);
    this.#readyTimer = setTimeout(() => {
      this.#readyTimer = null;
      this.#failure = `not ready after ${this.#deps.readyTimeoutMs} ms`;
      this.#setPhase('stopping', `${this.#failure}: SIGKILL`);
      child.kill('SIGKILL');
    }, this.#deps.readyTimeoutMs);
  }

  #onMessage(m: unknown): void {
    if (!isFromWorker(m)) return;
    if (m.type === 'ready' && this.#phase === 'starting' && this.bootingUntil === null) {
      if (this.#readyTimer) clearTimeout(this.#readyTimer);
      this.#readyTimer = null;
      const listenedAt = this.#deps.clock();
      if (this.#deps.bootDelayMs <= 0) return this.#becomeReady(listenedAt, '');
      // --boot-delay: it listens, but stays 'starting' (out of rotation) until the delay is over, like a VM still booting.
      this.bootingUntil = listenedAt + this.#deps.bootDelayMs;
      this.#bootTimer = setTimeout(() => {
        this.#bootTimer = null;
        this.bootingUntil = null;
        if (this.#phase === 'starting') this.#becomeReady(listenedAt, `, then a boot delay of ${this.#deps.bootDelayMs / 1000} s`);
      }, this.#deps.bootDelayMs);
    } else if (m.type === 'listen-error') {
      this.#deps.portTaken(m.port);
    } else if (m.type === 'stats') {
      const { type: _type, ...stats } = m;
      this.stats = stats;
      this.cpuReportSum += stats.cpu;
      this.cpuReports++;
      this.#deps.rotation.report?.(this.id, stats);
      if (m.store) this.#storeReport(m.store);
    } else if (m.type === 'store') {
      this.#storeReport(m.store);
    }
  }

  /** Into rotation: the one way to 'ready'. */
  #becomeReady(listenedAt: number, boot: string): void {
    this.readyAt = this.#deps.clock();
    this.#deps.rotation.addWorker({ id: this.id, host: this.#deps.host, port: this.port, channel: this.#child! });
    this.#setPhase('ready', `listening on ${this.#deps.host}:${this.port} after ${Math.round(listenedAt - this.startedAt)} ms${boot}`);
    this.#stableTimer = setTimeout(() => {
      this.#stableTimer = null;
      this.stable = true;
      this.#deps.onStable(this);
    }, this.#deps.stableMs);
  }

  #storeReport(store: WorkerStoreStats): void {
    this.store = store;
    this.#deps.onStore(this, store);
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (this.#failure !== null) this.#finish('crashed', 'crashed', `${this.#failure} (${how})`);
    else if (this.#phase === 'draining' || this.#phase === 'stopping') this.#finish('exited', 'retired', how);
    else if (code === EXIT_LISTEN_FAILED) {
      // Another process took the port between our check and the worker's bind: not a crash of the worker.
      this.#portTaken = true;
      this.#finish('exited', 'port-conflict', `port ${this.port} was taken by another process before the worker could bind it; trying another port`);
    } else this.#finish('crashed', 'crashed', `${how}${this.readyAt === null ? ' before ready' : ''}`);
  }

  /** The end, exactly once: timers off, out of the balancer, final phase, then tell the supervisor. */
  #finish(phase: 'exited' | 'crashed', outcome: Outcome, detail: string): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#clearTimers();
    if (this.readyAt !== null) void this.#deps.rotation.removeWorker(this.id).catch(() => {});
    this.#setPhase(phase, detail);
    this.#resolveExited();
    this.#deps.onGone(this, outcome);
  }

  /** SIGTERM, then SIGKILL after the deadline; resolves true when SIGKILL was needed. Never waits forever. */
  async #terminate(): Promise<boolean> {
    const forced = await terminate(this.#child!, this.#deps.killTimeoutMs, this.exited);
    if (!this.#gone) this.#finish('exited', 'retired', 'no exit event after SIGKILL: given up on');
    return forced;
  }

  #clearTimers(): void {
    for (const timer of [this.#backoffTimer, this.#readyTimer, this.#stableTimer, this.#bootTimer]) if (timer) clearTimeout(timer);
    this.#backoffTimer = this.#readyTimer = this.#stableTimer = this.#bootTimer = null;
    this.bootingUntil = null;
  }
}

function send(child: ChildProcess, message: ToWorker): void {
  if (child.connected) child.send(message, () => {});
}

/**
 * SIGTERM, then SIGKILL after `deadlineMs`. Resolves true when SIGKILL was
 * needed. If even SIGKILL brings no exit within another deadline (a process
 * that never spawned), it stops waiting rather than hang the lab's stop.
 */
export async function terminate(child: ChildProcess, deadlineMs: number, exited: Promise<void>): Promise<boolean> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    await within(exited, deadlineMs);
    return false;
  }
  child.kill('SIGTERM');
  const forced = !(await within(exited, deadlineMs));
  if (forced) {
    child.kill('SIGKILL');
    await within(exited, deadlineMs);
  }
  return forced;
}

/** True if `p` settles within `ms`. */
async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([p.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return done;
}
