/**
 * Forks, watches, replaces and stops worker processes, keeping exactly
 * `desired` of them starting or ready. Every state change goes through
 * `setState`, which emits a 'worker' event.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_LISTEN_FAILED, isFromWorker, type ToWorker } from '../app/protocol.js';
import type { LabEvent, WorkerSnapshot, WorkerState } from '../events.js';
import { findFreePort } from './ports.js';

/** The compiled worker entry. Workers always run compiled JS, never through tsx. */
export const WORKER_SCRIPT = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));

/** What the supervisor needs from the balancer. */
export interface Rotation {
  addWorker(w: { id: number; host: string; port: number }): void;
  drainWorker(id: number, timeoutMs: number): Promise<{ inFlightAtStart: number; drained: boolean; ms: number }>;
  removeWorker(id: number): Promise<void>;
}

export interface SupervisorOptions {
  host: string;
  basePort: number;
  work: number;
  runDir: string;
  rotation: Rotation;
  publish: (event: LabEvent) => void;
  /** ms since lab start. */
  clock: () => number;
  drainTimeoutMs: number;
  killTimeoutMs: number;
  readyTimeoutMs: number;
  /** Crash-loop back-off: first delay and cap, ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Worker entry script (tests use fixtures). */
  script?: string;
}

/** One worker's facts for a tick window. `cpuReportSum`/`cpuReports` are lifetime counters of its own CPU % reports. */
export interface WorkerFacts {
  id: number;
  state: WorkerState;
  readyAt: number | null;
  cpuReportSum: number;
  cpuReports: number;
}

interface ManagedWorker {
  id: number;
  port: number;
  pid: number | undefined;
  state: WorkerState;
  healthy: boolean;
  restarts: number;
  startedAt: number;
  readyAt: number | null;
  cpu: number | null;
  rss: number | null;
  /** Lifetime sum and count of the worker's own CPU % reports (a tick window diffs them). */
  cpuReportSum: number;
  cpuReports: number;
  child: ChildProcess | null;
  exited: Promise<void>;
  /** Resolves `exited`. */
  markGone: () => void;
  /** True while the port search is under way (no child yet, no timer). */
  launching: boolean;
  /** Pending start (back-off) or ready-deadline timer. */
  timer: NodeJS.Timeout | null;
  listenFailed: boolean;
  /** Set when we chose to stop it, so its exit is not a crash. */
  retiring: boolean;
}

const LIVE: ReadonlySet<WorkerState> = new Set(['starting', 'ready']);
/** A worker that stayed up this long resets the crash-loop back-off. */
const STABLE_MS = 10_000;

export class Supervisor {
  #opts: Required<SupervisorOptions>;
  #workers = new Map<number, ManagedWorker>();
  #nextId = 1;
  #desired = 0;
  #crashStreak = 0;
  #pendingRestarts: number[] = [];
  #blockedPorts = new Set<number>();
  #stopping = false;

  constructor(opts: SupervisorOptions) {
    this.#opts = {
      ...opts,
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      script: opts.script ?? WORKER_SCRIPT,
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

  counts(): { starting: number; ready: number; live: number } {
    let starting = 0;
    let ready = 0;
    for (const w of this.#workers.values()) {
      if (w.state === 'starting') starting++;
      else if (w.state === 'ready') ready++;
    }
    return { starting, ready, live: starting + ready };
  }

  /** Current workers (exited ones are forgotten once gone). */
  snapshot(traffic: (id: number) => { rps: number; inFlight: number } = () => ({ rps: 0, inFlight: 0 })): WorkerSnapshot[] {
    return [...this.#workers.values()].map((w) => ({
      id: w.id,
      port: w.port,
      pid: w.pid,
      state: w.state,
      healthy: w.healthy,
      cpu: w.cpu,
      rss: w.rss,
      ...traffic(w.id),
      restarts: w.restarts,
      startedAt: w.startedAt,
      readyAt: w.readyAt,
    }));
  }

  /** Facts about every current worker, for the tick window: nothing is reset by reading them. */
  facts(): WorkerFacts[] {
    return [...this.#workers.values()].map((w) => ({ id: w.id, state: w.state, readyAt: w.readyAt, cpuReportSum: w.cpuReportSum, cpuReports: w.cpuReports }));
  }

  /** PIDs of every worker process that may still be running. */
  pids(): number[] {
    return [...this.#workers.values()].flatMap((w) => (w.pid !== undefined && w.child && w.child.exitCode === null && w.child.signalCode === null ? [w.pid] : []));
  }

  /** The balancer's health checks failed: take it out and replace it. */
  markUnhealthy(id: number, detail: string): void {
    const w = this.#workers.get(id);
    if (!w || w.state !== 'ready') return;
    w.healthy = false;
    this.#opts.publish({ type: 'health', t: this.#opts.clock(), id, port: w.port, healthy: false, detail });
    this.#pendingRestarts.push(w.restarts + 1);
    void this.#retire(w, `unhealthy: ${detail}`);
    this.#reconcile();
  }

  /** Stop every worker (drain, SIGTERM, SIGKILL after the deadline). Resolves with how many needed SIGKILL. */
  async stopAll(): Promise<number> {
    this.#stopping = true;
    this.#desired = 0;
    const all = [...this.#workers.values()];
    const forced = await Promise.all(all.map((w) => this.#retire(w, 'lab stopping')));
    await Promise.all(all.map((w) => w.exited));
    return forced.filter(Boolean).length;
  }

  /** Last resort when the daemon itself is crashing: SIGKILL everything, synchronously. */
  killAllSync(): void {
    this.#stopping = true;
    for (const w of this.#workers.values()) {
      if (w.timer) clearTimeout(w.timer);
      if (w.child && w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    }
  }

  #setState(w: ManagedWorker, state: WorkerState, detail: string): void {
    const from = w.state;
    w.state = state;
    this.#opts.publish({ type: 'worker', t: this.#opts.clock(), id: w.id, port: w.port, pid: w.pid, from, state, detail });
  }

  #reconcile(): void {
    if (this.#stopping) return;
    const live = [...this.#workers.values()].filter((w) => LIVE.has(w.state));
    for (let i = live.length; i < this.#desired; i++) this.#start();
    if (live.length > this.#desired) {
      // Take away capacity that is not serving yet first, then the newest ready worker.
      const victims = live
        .sort((a, b) => (a.state === b.state ? b.startedAt - a.startedAt || b.id - a.id : a.state === 'starting' ? -1 : 1))
        .slice(0, live.length - this.#desired);
      for (const w of victims) void this.#retire(w, `scale-in to ${this.#desired}`);
    }
  }

  #start(): void {
    const restarts = this.#pendingRestarts.shift() ?? 0;
    let resolveExit!: () => void;
    const w: ManagedWorker = {
      id: this.#nextId++,
      port: 0,
      pid: undefined,
      state: 'starting',
      healthy: true,
      restarts,
      startedAt: this.#opts.clock(),
      readyAt: null,
      cpu: null,
      rss: null,
      cpuReportSum: 0,
      cpuReports: 0,
      child: null,
      exited: new Promise<void>((r) => (resolveExit = r)),
      markGone: () => resolveExit(),
      launching: false,
      timer: null,
      listenFailed: false,
      retiring: false,
    };
    this.#workers.set(w.id, w);
    const delay = this.#crashStreak === 0 ? 0 : Math.min(this.#opts.backoffBaseMs * 2 ** (this.#crashStreak - 1), this.#opts.backoffMaxMs);
    this.#opts.publish({
      type: 'worker',
      t: this.#opts.clock(),
      id: w.id,
      port: 0,
      pid: undefined,
      from: null,
      state: 'starting',
      detail: delay > 0 ? `replacement ${restarts}, after ${delay} ms back-off (crash loop: ${this.#crashStreak} in a row)` : restarts > 0 ? `replacement ${restarts}` : 'new',
    });
    const launch = () => {
      w.timer = null;
      void this.#launch(w);
    };
    if (delay > 0) w.timer = setTimeout(launch, delay);
    else launch();
  }

  async #launch(w: ManagedWorker): Promise<void> {
    const { host, basePort } = this.#opts;
    w.launching = true;
    const reserved = new Set<number>(this.#blockedPorts);
    for (const other of this.#workers.values()) if (other !== w && other.port !== 0 && other.state !== 'exited' && other.state !== 'crashed') reserved.add(other.port);
    let port: number;
    try {
      port = await findFreePort(host, basePort, reserved);
    } catch (err) {
      this.#setState(w, 'crashed', (err as Error).message);
      this.#forget(w);
      return;
    } finally {
      w.launching = false;
    }
    if (w.retiring) {
      this.#setState(w, 'exited', 'cancelled before start');
      this.#forget(w);
      return;
    }
    w.port = port;
    const logFile = join(this.#opts.runDir, `worker-${w.id}.log`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = fork(this.#opts.script, ['--id', String(w.id), '--port', String(port), '--host', host, '--work', String(this.#opts.work)], {
        stdio: ['ignore', fd, fd, 'ipc'],
        // Never inherit tsx or inspector flags: workers run compiled JS.
        execArgv: [],
        serialization: 'json',
      });
    } finally {
      closeSync(fd);
    }
    w.child = child;
    w.pid = child.pid;
    this.#opts.publish({ type: 'worker', t: this.#opts.clock(), id: w.id, port, pid: w.pid, from: 'starting', state: 'starting', detail: `forked pid ${w.pid}, log ${logFile}` });
    w.timer = setTimeout(() => {
      w.timer = null;
      if (w.state !== 'starting') return;
      w.retiring = false;
      child.kill('SIGKILL');
      this.#setState(w, 'crashed', `not ready after ${this.#opts.readyTimeoutMs} ms`);
    }, this.#opts.readyTimeoutMs);

    child.on('message', (m) => {
      if (!isFromWorker(m)) return;
      if (m.type === 'ready' && w.state === 'starting') {
        if (w.timer) clearTimeout(w.timer);
        w.timer = null;
        w.readyAt = this.#opts.clock();
        this.#opts.rotation.addWorker({ id: w.id, host, port: w.port });
        this.#setState(w, 'ready', `listening on ${host}:${w.port} after ${Math.round(w.readyAt - w.startedAt)} ms`);
      } else if (m.type === 'listen-error') {
        w.listenFailed = true;
        this.#blockedPorts.add(m.port);
      } else if (m.type === 'stats') {
        w.cpu = m.cpu;
        w.rss = m.rss;
        w.cpuReportSum += m.cpu;
        w.cpuReports++;
      }
    });
    child.on('error', () => {
      // Spawn or IPC failure; 'exit' follows (or has happened) and decides what to do.
    });
    child.once('exit', (code, signal) => this.#onExit(w, code, signal));
  }

  #onExit(w: ManagedWorker, code: number | null, signal: NodeJS.Signals | null): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const wasInRotation = w.state === 'ready';
    if (w.retiring || this.#stopping) {
      if (w.state !== 'exited') this.#setState(w, 'exited', how);
    } else if (w.listenFailed || code === EXIT_LISTEN_FAILED) {
      // Someone else took the port between our probe and the worker's listen: try the next one, no back-off.
      this.#setState(w, 'crashed', `port ${w.port} already in use; trying another port`);
      this.#pendingRestarts.push(w.restarts);
    } else {
      if (w.state !== 'crashed') {
        const up = w.readyAt === null ? 0 : this.#opts.clock() - w.readyAt;
        if (up >= STABLE_MS) this.#crashStreak = 0;
        this.#setState(w, 'crashed', `${how}${w.readyAt === null ? ' before ready' : ''}`);
      }
      this.#crashStreak++;
      this.#pendingRestarts.push(w.restarts + 1);
    }
    if (wasInRotation) void this.#opts.rotation.removeWorker(w.id).catch(() => {});
    this.#forget(w);
    this.#reconcile();
  }

  #forget(w: ManagedWorker): void {
    this.#workers.delete(w.id);
    w.markGone();
  }

  /**
   * Take a worker out: out of the balancer first, wait for its in-flight
   * requests (bounded), then SIGTERM, SIGKILL after the deadline. Resolves true
   * if SIGKILL was needed.
   */
  async #retire(w: ManagedWorker, why: string): Promise<boolean> {
    if (w.retiring) return false;
    w.retiring = true;
    if (w.timer) {
      clearTimeout(w.timer);
      w.timer = null;
    }
    if (!w.child) {
      // In back-off: nothing to stop. Looking for a port: #launch sees `retiring` and cleans up.
      if (!w.launching) {
        this.#setState(w, 'exited', `cancelled before start (${why})`);
        this.#forget(w);
      }
      return false;
    }
    const child = w.child;
    if (w.state === 'ready') {
      this.#setState(w, 'draining', why);
      send(child, { type: 'drain' });
      const r = await this.#opts.rotation.drainWorker(w.id, this.#opts.drainTimeoutMs);
      if ((w.state as WorkerState) === 'draining') {
        this.#setState(
          w,
          'stopping',
          r.drained
            ? `drained ${r.inFlightAtStart} in-flight request${r.inFlightAtStart === 1 ? '' : 's'} in ${Math.round(r.ms)} ms`
            : `drain timeout after ${Math.round(r.ms)} ms with requests still in flight`,
        );
      }
    } else if (w.state === 'starting') {
      this.#setState(w, 'stopping', why);
    }
    return terminate(child, this.#opts.killTimeoutMs, w.exited);
  }
}

function send(child: ChildProcess, message: ToWorker): void {
  if (child.connected) child.send(message, () => {});
}

/** SIGTERM, then SIGKILL after `deadlineMs`. Resolves true when SIGKILL was needed. */
export async function terminate(child: ChildProcess, deadlineMs: number, exited: Promise<void>): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return false;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const forced = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  if (forced) {
    child.kill('SIGKILL');
    await exited;
  }
  return forced;
}
