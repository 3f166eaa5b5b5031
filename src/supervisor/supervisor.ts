/**
 * The pool: keeps exactly `desired` workers live (in back-off, starting or
 * ready), replaces the ones that crash, and stops the extra ones. Each worker's
 * own lifecycle lives in worker-process.ts; this file decides only how many,
 * which port, which to take away, and how long a replacement waits.
 *
 * Back-off applies to replacements of unstable workers only (a crash loop must
 * not spin); new capacity — a scale-out, a manual `+` — starts at once. A
 * worker is stable once it has stayed ready for `stableMs` (1 s by default, as
 * PM2's `min_uptime`): when a stable worker dies — killed from outside, OOM, a
 * crash after serving — its replacement starts at once. An unstable one (it
 * died before ready, or within `stableMs` of it) adds to its slot's crash
 * streak, and the slot's replacement waits base × 2^(streak−1), capped. The
 * streak belongs to a slot (one desired worker position, handed from a worker
 * to its replacement), so crashes of different workers never add up, and a
 * chaos monkey SIGKILLing ready workers every few seconds never empties the
 * pool: only a worker that cannot stay up is held back.
 */
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LabEvent } from '../events.js';
import { findFreePort } from './ports.js';
import { WorkerProcess, type Outcome, type Rotation, type WorkerDeps, type WorkerRecord } from './worker-process.js';

export { terminate, workerRow, type Rotation, type WorkerRecord } from './worker-process.js';

/** The compiled worker entry. Workers always run compiled JS, never through tsx. */
export const WORKER_SCRIPT = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));


export interface SupervisorOptions {
  host: string;
  basePort: number;
  work: number;
  /** Extra worker arguments (e.g. --max-conn-requests 100). */
  workerArgs?: readonly string[];
  runDir: string;
  rotation: Rotation;
  publish: (event: LabEvent) => void;
  /** ms since lab start. */
  clock: () => number;
  drainTimeoutMs: number;
  killTimeoutMs: number;
  readyTimeoutMs: number;
  /** A worker holds its readiness this long after it listens (--boot-delay), ms (default 0). */
  bootDelayMs?: number;
  /** Crash-loop back-off: first delay and cap, ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A worker ready this long is stable: its slot's crash streak resets, and its death is replaced at once, ms (default 1 s). */
  stableMs?: number;
  /** Worker entry script (tests use fixtures). */
  script?: string;
  /** child_process.fork, replaceable so tests can make a fork fail the way EAGAIN does. */
  fork?: (script: string, args: readonly string[], options: ForkOptions) => ChildProcess;
  /** Passed to every worker as --database-url (the shared visits store); none: workers have no database. */
  databaseUrl?: string;
}

/** A slot to refill after a worker ended on its own. */
interface Replacement {
  restarts: number;
  /** Crashes wait out the back-off; a port conflict retries at once. */
  backoff: boolean;
  /** The slot's crashes in a row, this one included (0: none since it was last stable). */
  streak: number;
}

/** Which live worker goes first on scale-in: capacity not serving yet, then the newest ready one. */
const RETIRE_ORDER: Record<string, number> = { backoff: 0, starting: 1, ready: 2 };

export class Supervisor {
  #opts: Required<Omit<SupervisorOptions, 'fork'>> & { fork: NonNullable<SupervisorOptions['fork']> };
  #deps: WorkerDeps;
  #workers = new Map<number, WorkerProcess>();
  #nextId = 1;
  #desired = 0;
  /** Worker id → the crash streak of the slot it holds (absent: 0). */
  #streaks = new Map<number, number>();
  /** Extra workers run beyond `desired` during a rolling refresh. */
  #surge = 0;
  #replacements: Replacement[] = [];
  #blockedPorts = new Set<number>();
  #stopping = false;
  /** Visits each worker acknowledged, kept after it exits (a run's tally by worker id). */
  #visits = new Map<number, number>();

  constructor(opts: SupervisorOptions) {
    this.#opts = {
      ...opts,
      workerArgs: opts.workerArgs ?? [],
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      stableMs: opts.stableMs ?? 1000,
      bootDelayMs: opts.bootDelayMs ?? 0,
      script: opts.script ?? WORKER_SCRIPT,
      fork: opts.fork ?? fork,
      databaseUrl: opts.databaseUrl ?? '',
    };
    const o = this.#opts;
    this.#deps = {
      host: o.host,
      work: o.work,
      workerArgs: o.workerArgs,
      runDir: o.runDir,
      script: o.script,
      rotation: o.rotation,
      publish: o.publish,
      clock: o.clock,
      drainTimeoutMs: o.drainTimeoutMs,
      killTimeoutMs: o.killTimeoutMs,
      readyTimeoutMs: o.readyTimeoutMs,
      bootDelayMs: o.bootDelayMs,
      stableMs: o.stableMs,
      fork: o.fork,
      databaseUrl: o.databaseUrl,
      onStore: (w, store) => void this.#visits.set(w.id, store.visits),
      findPort: () => this.#findPort(),
      portTaken: (port) => void this.#blockedPorts.add(port),
      onStable: (w) => void this.#streaks.delete(w.id),
      onGone: (w, outcome) => this.#onGone(w, outcome),
    };
  }

  get desired(): number {
    return this.#desired;
  }

  /** Steer to `n` live workers: start the missing ones, drain and stop the extra ones. */
  setDesired(n: number): void {
    this.#desired = n;
    this.#reconcile();
  }

  /** Run `n` workers beyond the desired count (a rolling refresh starts new ones before it stops old ones). */
  setSurge(n: number): void {
    this.#surge = n;
    this.#reconcile();
  }

  /** Drain and stop one worker by id (a rolling refresh); resolves once it has exited. Not replaced unless the count is short. */
  async retire(id: number, why: string): Promise<void> {
    const w = this.#workers.get(id);
    if (!w) return;
    await w.retire(why);
    await w.exited;
  }

  /** `starting` counts workers in back-off too: capacity on its way. */
  counts(): { starting: number; ready: number; live: number } {
    let starting = 0;
    let ready = 0;
    for (const w of this.#workers.values()) {
      if (w.phase === 'backoff' || w.phase === 'starting') starting++;
      else if (w.phase === 'ready') ready++;
    }
    return { starting, ready, live: starting + ready };
  }

  /** Every current worker's record (gone ones are forgotten): nothing is reset by reading them. */
  records(): WorkerRecord[] {
    return [...this.#workers.values()].map((w) => w.record());
  }

  /** Visits acknowledged per worker id since the supervisor started, exited workers included. */
  visitsByWorker(): Map<number, number> {
    return new Map(this.#visits);
  }

  /** PIDs of every worker process that may still be running. */
  pids(): number[] {
    return [...this.#workers.values()].flatMap((w) => (w.running && w.pid !== undefined ? [w.pid] : []));
  }

  /** The balancer's health checks failed: take it out and replace it. */
  markUnhealthy(id: number, detail: string): void {
    const w = this.#workers.get(id);
    if (!w || w.phase !== 'ready') return;
    w.healthy = false;
    this.#opts.publish({ type: 'health', t: this.#opts.clock(), id, port: w.port, healthy: false, detail });
    const streak = this.#streak(w.id);
    this.#replacements.push({ restarts: w.restarts + 1, backoff: streak > 0, streak });
    void w.retire(`unhealthy: ${detail}`);
    this.#reconcile();
  }

  /** Stop every worker (drain, SIGTERM, SIGKILL after the deadline). Resolves with how many needed SIGKILL. */
  async stopAll(): Promise<number> {
    this.#stopping = true;
    this.#desired = 0;
    this.#replacements = [];
    const all = [...this.#workers.values()];
    const forced = await Promise.all(all.map((w) => w.retire('lab stopping')));
    await Promise.all(all.map((w) => w.exited));
    return forced.filter(Boolean).length;
  }

  /** Last resort when the daemon itself is crashing: SIGKILL everything, synchronously. */
  killAllSync(): void {
    this.#stopping = true;
    for (const w of this.#workers.values()) w.killNow();
  }

  #reconcile(): void {
    if (this.#stopping) return;
    const live = [...this.#workers.values()].filter((w) => w.live);
    const target = this.#desired + this.#surge;
    for (let i = live.length; i < target; i++) this.#start(this.#replacements.shift());
    // A replacement for a slot nobody wants any more is dropped.
    this.#replacements = [];
    if (live.length > target) {
      const victims = live
        .sort((a, b) => RETIRE_ORDER[a.phase] - RETIRE_ORDER[b.phase] || b.startedAt - a.startedAt || b.id - a.id)
        .slice(0, live.length - target);
      for (const w of victims) void w.retire(`scale-in to ${this.#desired}`);
    }
  }

  #start(replacement: Replacement | undefined): void {
    const id = this.#nextId++;
    const restarts = replacement?.restarts ?? 0;
    const streak = replacement?.streak ?? 0;
    if (streak > 0) this.#streaks.set(id, streak);
    const delay = replacement?.backoff ? this.#backoffDelay(streak) : 0;
    const detail =
      delay > 0
        ? `replacement ${restarts}, after ${delay} ms back-off (crash loop: ${streak} in a row)`
        : restarts > 0
          ? `replacement ${restarts}`
          : 'new';
    this.#workers.set(id, new WorkerProcess(this.#deps, id, restarts, delay, detail));
  }

  #backoffDelay(streak: number): number {
    if (streak === 0) return 0;
    return Math.min(this.#opts.backoffBaseMs * 2 ** (streak - 1), this.#opts.backoffMaxMs);
  }

  #streak(id: number): number {
    return this.#streaks.get(id) ?? 0;
  }

  #findPort(): Promise<number> {
    const reserved = new Set<number>(this.#blockedPorts);
    for (const w of this.#workers.values()) if (w.port !== 0) reserved.add(w.port);
    return findFreePort(this.#opts.host, this.#opts.basePort, reserved);
  }

  #onGone(w: WorkerProcess, outcome: Outcome): void {
    this.#workers.delete(w.id);
    const streak = this.#streak(w.id);
    this.#streaks.delete(w.id);
    if (this.#stopping) return;
    if (outcome === 'crashed' && w.stable) {
      this.#replacements.push({ restarts: w.restarts + 1, backoff: false, streak: 0 });
    } else if (outcome === 'crashed' || outcome === 'no-port') {
      this.#replacements.push({ restarts: w.restarts + 1, backoff: true, streak: streak + 1 });
    } else if (outcome === 'port-conflict') {
      this.#replacements.push({ restarts: w.restarts, backoff: false, streak });
    }
    this.#reconcile();
  }
}
