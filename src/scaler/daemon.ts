/**
 * The lab: balancer + supervisor + a tick loop that samples, decides and acts.
 * It only samples, calls the pure policy and applies the result; everything it
 * does is published on one event stream that the views subscribe to.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Balancer, type BalancerHealthEvent } from '../balancer/balancer.js';
import { LabEvents, type WorkerSnapshot } from '../events.js';
import { publicSettings, type LabConfig } from './config.js';
import { decide, type Recommendation } from './decide.js';
import { measure } from './measure.js';
import { createHostCpuSampler, type CpuSampler } from './sampler.js';
import { Supervisor } from './supervisor.js';

export interface LabOptions {
  /** Where worker logs go; a fresh temp dir by default. */
  runDir?: string;
  sampler?: CpuSampler;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

export class Lab {
  readonly events = new LabEvents();
  readonly config: LabConfig;
  readonly runDir: string;
  readonly balancer: Balancer;
  readonly supervisor: Supervisor;
  /** Resolves once everything is stopped, with the number of workers that needed SIGKILL. */
  readonly stopped: Promise<number>;

  #t0 = performance.now();
  #sampler: CpuSampler;
  #paused = false;
  #lastScaleAt: number | null = null;
  #tickTimer: NodeJS.Timeout | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  #ticking = false;
  #recommendations: Recommendation[] = [];
  #previousRequests = new Map<number, { at: number; requests: number }>();
  #inFlight = new Map<number, { sum: number; n: number }>();
  #stopping: Promise<number> | null = null;
  #resolveStopped!: (forced: number) => void;

  constructor(config: LabConfig, opts: LabOptions = {}) {
    this.config = config;
    this.runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'autoscale-run-'));
    this.#sampler = opts.sampler ?? createHostCpuSampler();
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    this.balancer = new Balancer({ host: config.host, port: config.port });
    this.supervisor = new Supervisor({
      host: config.host,
      basePort: config.basePort,
      work: config.work,
      runDir: this.runDir,
      rotation: this.balancer,
      publish: (e) => this.events.publish(e),
      clock: () => this.now(),
      drainTimeoutMs: config.drainTimeoutMs,
      killTimeoutMs: config.killTimeoutMs,
      readyTimeoutMs: config.readyTimeoutMs,
    });
    // An unhealthy worker is replaced at once, so the only transition that matters is to unhealthy.
    this.balancer.on('health', (h: BalancerHealthEvent) => {
      if (!h.healthy) this.supervisor.markUnhealthy(h.id, h.detail);
    });
  }

  /** Bind the balancer; fails with AS_ERR_PORT_IN_USE before any worker starts. */
  async listen(): Promise<void> {
    await this.balancer.listen();
  }

  /** Publish 'started', start `min` workers, start ticking. Views subscribe between listen() and run(). */
  async run(): Promise<void> {
    // Prime the sampler: systeminformation's first reading covers the time since boot.
    await this.#sampler.sample();
    this.events.publish({
      type: 'started',
      t: this.now(),
      startedAt: Date.now() - Math.round(this.now()),
      balancerUrl: this.balancer.url,
      runDir: this.runDir,
      pid: process.pid,
      config: { ...publicSettings(this.config), port: this.balancer.port },
    });
    this.supervisor.setDesired(this.config.min);
    this.#tickTimer = setInterval(() => void this.#tick(), this.config.interval * 1000);
    this.#statsTimer = setInterval(() => this.#publishStats(), 1000);
  }

  /** ms since the lab started. */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** Scale out (+1) or in (-1) by hand, within [min, max]. Returns the new desired count. */
  scale(delta: 1 | -1): number {
    const from = this.supervisor.desired;
    const to = clamp(from + delta, this.config.min, this.config.max);
    if (to !== from && !this.#stopping) this.#apply(from, to, delta > 0 ? 'manual scale-out' : 'manual scale-in', true);
    return this.supervisor.desired;
  }

  togglePause(): boolean {
    this.#paused = !this.#paused;
    this.events.publish({ type: 'paused', t: this.now(), paused: this.#paused });
    return this.#paused;
  }

  /** Stop ticking, drain and stop every worker, close the balancer. Idempotent. */
  stop(reason = 'stopped'): Promise<number> {
    if (!this.#stopping) {
      this.#stopping = (async () => {
        if (this.#tickTimer) clearInterval(this.#tickTimer);
        if (this.#statsTimer) clearInterval(this.#statsTimer);
        const forced = await this.supervisor.stopAll();
        await this.balancer.close();
        this.events.publish({ type: 'stopped', t: this.now(), reason, forced });
        this.#resolveStopped(forced);
        return forced;
      })();
    }
    return this.#stopping;
  }

  /** For a crashing daemon: SIGKILL every worker now. */
  killAllSync(): void {
    this.supervisor.killAllSync();
  }

  #apply(from: number, to: number, reason: string, manual: boolean): void {
    this.#lastScaleAt = this.now();
    this.supervisor.setDesired(to);
    this.events.publish({ type: 'scale', t: this.now(), direction: to > from ? 'out' : 'in', from, to, reason, manual });
  }

  async #tick(): Promise<void> {
    if (this.#ticking || this.#stopping) return;
    this.#ticking = true;
    try {
      const hostCpu = await this.#sampler.sample();
      if (this.#stopping) return;
      const now = this.now();
      const traffic = this.balancer.snapshot({ resetLatency: true });
      this.#sampleInFlight(traffic.workers);
      const m = this.#measure(now, hostCpu, traffic, this.supervisor.snapshot(perWorker(traffic.workers)));
      const counts = this.supervisor.counts();
      const desired = this.supervisor.desired;
      const since = now - this.config.scaleDownWindow * 1000;
      this.#recommendations = this.#recommendations.filter((r) => r.at > since);
      const state = { desired, starting: counts.starting, ready: counts.ready, warming: m.warming, lastScaleAt: this.#lastScaleAt, recommendations: this.#recommendations };
      const value = m.values[this.config.metric];
      let d = decide({ metric: this.config.metric, value }, state, this.config, now);
      if (d.recommendation !== null) this.#recommendations.push({ at: now, desired: d.recommendation });
      if (this.#paused && d.desired !== desired) {
        d = { ...d, desired, action: 'hold', reason: `paused (would ${d.action}: ${d.reason})` };
      }
      if (d.desired !== desired) this.#apply(desired, d.desired, d.reason, false);
      const after = this.supervisor.counts();
      this.events.publish({
        type: 'tick',
        t: now,
        cpu: hostCpu,
        metric: this.config.metric,
        value,
        metrics: m.values,
        warming: m.warming,
        instances: after.live,
        ready: after.ready,
        desired: this.supervisor.desired,
        action: d.action,
        reason: d.reason,
        paused: this.#paused,
        traffic: stripWorkers(traffic),
        workers: this.supervisor.snapshot(perWorker(traffic.workers)),
      });
    } finally {
      this.#ticking = false;
    }
  }

  /** Every metric's value over the tick that just ended. */
  #measure(now: number, hostCpu: number | null, traffic: Snap, workers: WorkerSnapshot[]) {
    const cpu = this.supervisor.takeCpuMeans();
    const byId = new Map(traffic.workers.map((w) => [w.id, w]));
    const observed = workers.map((w) => {
      const u = byId.get(w.id);
      const f = this.#inFlight.get(w.id);
      return { id: w.id, state: w.state, readyAt: w.readyAt, cpu: cpu.get(w.id) ?? null, requests: u?.requests ?? 0, inFlight: f && f.n > 0 ? f.sum / f.n : 0, rps: w.rps };
    });
    this.#inFlight.clear();
    const m = measure({ now, warmupMs: this.config.warmup * 1000, hostCpu, p95: traffic.p95, workers: observed, previous: this.#previousRequests });
    this.#previousRequests = m.next;
    return m;
  }

  /** Concurrency is averaged over the tick from one sample a second (plus one at the tick). */
  #sampleInFlight(workers: Snap['workers']): void {
    for (const w of workers) {
      const acc = this.#inFlight.get(w.id) ?? { sum: 0, n: 0 };
      acc.sum += w.inFlight;
      acc.n++;
      this.#inFlight.set(w.id, acc);
    }
  }

  #publishStats(): void {
    const traffic = this.balancer.snapshot();
    this.#sampleInFlight(traffic.workers);
    this.events.publish({ type: 'stats', t: this.now(), traffic: stripWorkers(traffic), workers: this.supervisor.snapshot(perWorker(traffic.workers)) });
  }
}

type Snap = ReturnType<Balancer['snapshot']>;

function stripWorkers(s: Snap) {
  const { workers: _w, ...traffic } = s;
  return traffic;
}

function perWorker(workers: Snap['workers']) {
  const byId = new Map(workers.map((w) => [w.id, w]));
  return (id: number) => {
    const w = byId.get(id);
    return { rps: w?.rps ?? 0, inFlight: w?.inFlight ?? 0 };
  };
}
