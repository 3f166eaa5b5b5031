/**
 * The lab: balancer + supervisor + one tick loop. Each tick:
 *
 *   observation = window.take(now)          (lab/observe.ts)
 *   { decision, memory } = step(...)        (policy/step.ts, pure: the whole policy)
 *   act if the count changed                (supervisor.setDesired)
 *   publish                                 (one 'tick' event; views listen)
 *
 * Everything it does is published on one event stream that the views subscribe to.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { hostForUrl } from '../url-host.js';
import {
  Balancer,
  DEFAULT_HEALTH,
  type BalancerHealthEvent,
  type ReleasedEvent,
  type UpstreamErrorEvent,
  type UpstreamRestoredEvent,
} from '../balancer/balancer.js';
import type { FrontEnd, FrontEndTraffic } from '../balancer/front-end.js';
import { L4Balancer, type PinnedEvent } from '../balancer/l4.js';
import { Operator, type CommandResult, type LabCommand, type OperableLab } from '../control/operator.js';
import type { RefreshTarget } from '../control/refresh.js';
import { LabEvents, type AlarmStatus, type CommandSource, type TrafficStats, type WorkerSnapshot } from '../events.js';
import { evaluateAlarms, initialAlarmMemory, latestValue, type AlarmMemory } from '../alarms/evaluate.js';
import { describeRule } from '../alarms/rule.js';
import { alarmSample, countUnhealthy } from '../alarms/sample.js';
import type { Observation } from '../policy/measure.js';
import {
  coldStart,
  initialCount,
  initialMemory,
  noteActivity,
  noteManualScale,
  setHold,
  setPaused,
  step,
  type PolicyMemory,
  type PolicyState,
  type StepDecision,
} from '../policy/step.js';
import { Supervisor, workerRow, type WorkerRecord } from '../supervisor/supervisor.js';
import { defaultSqlite, describeLocation, locationToUrl, type StoreLocation } from '../store/location.js';
import { prepareStore } from '../store/open.js';
import { databaseBlame, summarizeStore, type DatabaseBlame } from '../store/status.js';
import { publicSettings, type LabConfig } from '../settings/config.js';
import { LatencyWindow, TickWindow, type LatencyPercentiles } from './observe.js';
import { createHostCpuSampler, createProcessCpuMeter, type CpuSampler, type ProcessCpuMeter } from './sampler.js';
import { busyHostHint } from './busy-host.js';
import { BROKEN_WHEN_IDLE_MS, Liveness, LIVENESS_MS } from './liveness.js';

/** Where workers listen, whatever --host says. */
export const WORKER_HOST = '127.0.0.1';

/** A one-line warning when the balancer is bound beyond this machine, else null. */
export function exposureWarning(host: string): string | null {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h)) return null;
  return `warning: --host ${host} makes the balancer reachable from other machines (workers stay on ${WORKER_HOST})`;
}

export interface LabOptions {
  /** Where worker logs go; a fresh temp dir by default. */
  runDir?: string;
  sampler?: CpuSampler;
  /** The lab's own processes' share of host CPU (default: /proc of the daemon and the workers). */
  processCpu?: ProcessCpuMeter;
  /** Where the workers keep their visits; default: visits.db in the run directory. */
  store?: StoreLocation;
  /** false: workers refuse POST /stress (403), e.g. when the balancer is reachable from other machines. Default true. */
  stress?: boolean;
}

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

export class Lab {
  readonly events = new LabEvents();
  readonly config: LabConfig;
  readonly runDir: string;
  readonly store: StoreLocation;
  /** L7 (the default) or L4 (`--balancer l4`): same lifecycle, events and counters. */
  readonly balancer: FrontEnd;
  readonly supervisor: Supervisor;
  /** Resolves once everything is stopped, with the number of workers that needed SIGKILL. */
  readonly stopped: Promise<number>;
  /** Every operator command (dashboard keys, control socket) goes through `command()`, which uses this. */
  readonly operator: Operator;
  /** Where the admin server serves /metrics, once it listens (set by `autoscale start`). */
  metricsUrl: string | null = null;

  #t0 = performance.now();
  #sampler: CpuSampler;
  #processCpu: ProcessCpuMeter;
  /** The busy-host check ran its course: hinted once, or traffic arrived first. */
  #busyHostChecked = false;
  #window: TickWindow;
  /** Latency over each 1 s stats period (the tick window has its own). */
  #statsLatency: LatencyWindow;
  /** The policy's memory (pause, refresh hold, cooldown, window, last traffic): changed only through policy/step.ts. */
  /** Wall-clock ms at the lab clock's 0: the `started` event's startedAt, and the time of day scheduled actions read. */
  readonly #startedAt = Date.now() - Math.round(performance.now() - this.#t0);
  #memory: PolicyMemory = initialMemory(this.#startedAt);
  /** Each alarm rule's memory (config.alarms order): changed only through alarms/evaluate.ts. */
  #alarms: AlarmMemory[];
  /** The pool is starting a worker from zero because a request is held. */
  #coldStart = false;
  #tickTimer: NodeJS.Timeout | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  #ticking = false;
  #stopping: Promise<number> | null = null;
  #liveness = new Liveness();
  /** When each worker's own report last blamed the database (down or locked): see #observeProgress. */
  #databaseBlamedAt = new Map<number, number>();
  /** The balancer's traffic, read once per synchronous turn (a tick or a stats period reads it in several places). */
  #balancerTraffic: FrontEndTraffic | null = null;
  #resolveStopped!: (forced: number) => void;

  constructor(config: LabConfig, opts: LabOptions = {}) {
    this.config = config;
    this.#alarms = config.alarms.map(() => initialAlarmMemory());
    this.runDir = opts.runDir ?? mkdtempSync(join(tmpdir(), 'autoscale-run-'));
    this.#sampler = opts.sampler ?? createHostCpuSampler();
    this.#processCpu = opts.processCpu ?? createProcessCpuMeter();
    this.store = opts.store ?? defaultSqlite(this.runDir);
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    this.balancer =
      config.balancer === 'l4'
        ? new L4Balancer({ host: config.host, port: config.port })
        : new Balancer({
            host: config.host,
            port: config.port,
            upstreamTimeoutMs: Math.round(config.upstreamTimeout * 1000),
            hold: { max: config.holdMax, timeoutMs: config.holdTimeout * 1000 },
          });
    const workerArgs: string[] = [];
    if (config.maxConnRequests > 0) workerArgs.push('--max-conn-requests', String(config.maxConnRequests));
    if (config.maxConnAge > 0) workerArgs.push('--max-conn-age', String(config.maxConnAge));
    // Enforced in the worker, so it holds for L7 and L4 alike (L4 cannot see paths).
    if (opts.stress === false) workerArgs.push('--no-stress');
    this.supervisor = new Supervisor({
      // Workers (and their /stress endpoint) are never exposed: only the balancer takes --host.
      host: WORKER_HOST,
      basePort: config.basePort,
      work: config.work,
      workerArgs,
      runDir: this.runDir,
      rotation: this.balancer,
      publish: (e) => this.events.publish(e),
      clock: () => this.now(),
      drainTimeoutMs: config.drainTimeoutMs,
      killTimeoutMs: config.killTimeoutMs,
      readyTimeoutMs: config.readyTimeoutMs,
      bootDelayMs: Math.round(config.bootDelay * 1000),
      databaseUrl: locationToUrl(this.store),
    });
    this.#window = new TickWindow({
      workers: () => this.supervisor.records(),
      upstreams: () => this.#balancerTrafficNow().workers,
      latency: () => this.balancer.latency,
      responsesByClass: () => this.balancer.proxyMetrics()?.responsesByClass() ?? null,
    });
    this.#statsLatency = new LatencyWindow(() => this.balancer.latency);
    // Failed health checks take a worker out of rotation (readiness); it is replaced only if it is
    // also not live: no completed request and no heartbeat for LIVENESS_MS (see liveness.ts).
    this.balancer.on('health', (h: BalancerHealthEvent) => this.#onHealth(h));
    // Passive ejection (a connection to the worker failed on live traffic) and its end are health news too.
    this.balancer.on('upstream-error', (e: UpstreamErrorEvent) => {
      this.events.publish({ type: 'health', t: this.now(), id: e.id, port: e.port, healthy: false, detail: `ejected: ${e.code} on live traffic, back after ${DEFAULT_HEALTH.healthyThreshold} good checks` });
    });
    this.balancer.on('upstream-restored', (e: UpstreamRestoredEvent) => {
      this.events.publish({ type: 'health', t: this.now(), id: e.id, port: e.port, healthy: true, detail: 'back in rotation after passing health checks' });
    });
    // L4 only, once: why a new worker serves nothing.
    this.balancer.on('pinned', (e: PinnedEvent) => {
      this.events.publish({
        type: 'hint',
        t: this.now(),
        text:
          `worker ${e.id} :${e.port} gets no traffic: under L4 each connection stays on its worker, ` +
          `and the ${e.connections} open keep-alive connections predate it (--max-conn-requests or --max-conn-age spread them)`,
      });
    });
    // Scale to zero: a request waiting with no worker starts one at once (Knative's activator), unless paused.
    this.balancer.on('held', () => {
      const now = this.now();
      this.#memory = noteActivity(this.#memory, now);
      // Before run() (no tick timer yet) the first workers are not asked for: such a request waits for them, no cold start.
      const cold = this.#tickTimer !== null && !this.#stopping ? coldStart(this.#memory, this.supervisor.desired, now) : null;
      if (cold !== null) {
        this.#coldStart = true;
        this.#memory = cold.memory;
        this.#scaleTo(now, 0, cold.desired, cold.reason, false);
      }
    });
    this.balancer.on('released', (r: ReleasedEvent) => {
      this.#memory = noteActivity(this.#memory, this.now());
      this.events.publish({ type: 'cold-start', t: this.now(), waitedMs: r.firstWaitMs, held: r.count, fromZero: this.#coldStart });
      this.#coldStart = false;
    });
    this.operator = new Operator(this.#operable());
  }

  /** Bind the balancer; fails with AS_ERR_PORT_IN_USE before any worker starts. */
  async listen(): Promise<void> {
    await this.balancer.listen();
  }

  /** Publish 'started', start `min` workers, start ticking. Views subscribe between listen() and run(). */
  async run(): Promise<void> {
    // Prime the sampler: systeminformation's first reading covers the time since boot.
    await this.#sampler.sample();
    this.#processCpu.sample(this.#labPids());
    this.events.publish({
      type: 'started',
      t: this.now(),
      startedAt: this.#startedAt,
      balancerUrl: this.balancer.url,
      runDir: this.runDir,
      pid: process.pid,
      config: { ...publicSettings(this.config), port: this.balancer.port },
      host: { cores: availableParallelism(), memoryBytes: totalmem() },
      store: { kind: this.store.kind, where: describeLocation(this.store) },
    });
    // The lab creates the SQLite file once (`autoscale start` already did); its workers never create it.
    if (this.store.kind === 'sqlite' && !existsSync(this.store.file)) await prepareStore(this.store);
    // Like Knative's initial scale of 1: a lab with --min 0 starts warm and shrinks to zero once idle.
    this.#tickTimer = setInterval(() => void this.#tick(), this.config.interval * 1000);
    this.supervisor.setDesired(initialCount(this.config.min));
    this.#statsTimer = setInterval(() => this.#publishStats(), 1000);
  }

  /** ms since the lab started. */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** The policy's memory now (plain data). */
  get memory(): PolicyMemory {
    return this.#memory;
  }

  /** Scale out (+1) or in (-1) by hand, within [min, max]. Returns the new desired count. */
  scale(delta: 1 | -1): number {
    const from = this.supervisor.desired;
    const to = clamp(from + delta, this.config.min, this.config.max);
    if (to !== from && !this.#stopping) {
      const now = this.now();
      this.#memory = noteManualScale(this.#memory, now);
      this.#scaleTo(now, from, to, delta > 0 ? 'manual scale-out' : 'manual scale-in', true);
    }
    return this.supervisor.desired;
  }

  get paused(): boolean {
    return this.#memory.paused;
  }

  /** Every operator command, from a dashboard key or the control socket: one code path, one 'command' event each. */
  command(cmd: LabCommand, source: CommandSource, progress?: (message: string) => void): Promise<CommandResult> {
    return this.operator.command(cmd, source, progress);
  }

  /** What the operator may do to this lab. */
  #operable(): OperableLab {
    const supervisor = this.supervisor;
    return {
      runDir: this.runDir,
      settings: { ...publicSettings(this.config) },
      metricsUrl: () => this.metricsUrl,
      balancerUrl: () => this.balancer.url,
      paused: () => this.#memory.paused,
      stopping: () => this.#stopping !== null,
      desired: () => supervisor.desired,
      counts: () => supervisor.counts(),
      workers: () => this.workers(),
      held: () => this.balancer.held(),
      now: () => this.now(),
      startedAt: () => this.#startedAt,
      publish: (e) => this.events.publish(e),
      alarms: () => this.alarmStatus().map((a, i) => ({ ...a, reason: this.#alarms[i].reason })),
      on: (type, listener) => void this.events.on(type, listener),
      off: (type, listener) => void this.events.off(type, listener),
      setPaused: (paused) => {
        if (paused === this.#memory.paused) return;
        this.#memory = setPaused(this.#memory, paused);
        this.events.publish({ type: 'paused', t: this.now(), paused });
      },
      scaleTo: (n, reason) => {
        const from = supervisor.desired;
        if (n === from || this.#stopping) return;
        const now = this.now();
        this.#memory = noteManualScale(this.#memory, now);
        this.#scaleTo(now, from, n, reason, true);
      },
      holdScaling: (reason) => void (this.#memory = setHold(this.#memory, reason)),
      refreshTarget: (): RefreshTarget => ({
        workers: () => this.workers(),
        setSurge: (n) => supervisor.setSurge(n),
        retire: (id, why) => supervisor.retire(id, why),
        healthy: (w) => probeHealth(WORKER_HOST, w.port),
        stopping: () => this.#stopping !== null,
        readyTimeoutMs: this.config.readyTimeoutMs + this.config.bootDelay * 1000 + 5000,
      }),
      stop: (reason) => this.stop(reason),
    };
  }

  /** Stop ticking, drain and stop every worker, close the balancer. Idempotent. */
  stop(reason = 'stopped'): Promise<number> {
    if (!this.#stopping) {
      this.#stopping = (async () => {
        if (this.#tickTimer) clearInterval(this.#tickTimer);
        if (this.#statsTimer) clearInterval(this.#statsTimer);
        const forced = await this.supervisor.stopAll();
        await this.balancer.close();
        this.events.publish({ type: 'stopped', t: this.now(), reason, forced, store: this.storeStatus() });
        this.#resolveStopped(forced);
        return forced;
      })();
    }
    return this.#stopping;
  }

  /** The shared store's health and this run's visits by worker, from the workers' reports. */
  storeStatus() {
    return summarizeStore({ kind: this.store.kind, where: describeLocation(this.store) }, storeReports(this.supervisor.records()), this.supervisor.visitsByWorker());
  }

  /** For a crashing daemon: SIGKILL every worker now. */
  killAllSync(): void {
    this.supervisor.killAllSync();
  }

  /** One tick: observe, decide, act, publish. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#stopping) return;
    this.#ticking = true;
    try {
      const hostCpu = await this.#sampler.sample();
      const labCpu = this.#processCpu.sample(this.#labPids());
      if (this.#stopping) return;
      const now = this.now();
      const observation = this.#window.take(now, hostCpu, labCpu);
      this.#checkBusyHost(now, observation);
      const counts = this.supervisor.counts();
      const state: PolicyState = { desired: this.supervisor.desired, starting: counts.starting, ready: counts.ready };
      const { decision, memory } = step(observation, state, this.#memory, this.config, now);
      this.#memory = memory;
      this.#publishScheduled(now, state.desired, decision);
      if (decision.desired !== state.desired) this.#scaleTo(now, state.desired, decision.desired, decision.reason, false);
      this.#evaluateAlarms(now, observation, decision);
      this.#publishTick(now, observation, state, decision);
    } finally {
      this.#ticking = false;
    }
  }

  /** The daemon and every running worker: the processes whose CPU is the lab's own. */
  #labPids(): number[] {
    return [process.pid, ...this.supervisor.pids()];
  }

  /** Once, before the first request: a host already above the scale-in threshold is said, with the remedy. */
  #checkBusyHost(now: number, observation: Observation): void {
    if (this.#busyHostChecked) return;
    if (this.#balancerTrafficNow().total > 0) {
      this.#busyHostChecked = true;
      return;
    }
    const text = busyHostHint(observation, this.config);
    if (text === null) return;
    this.#busyHostChecked = true;
    this.events.publish({ type: 'hint', t: now, text, topic: 'busy-host' });
  }

  /** The decision first, then the worker events it causes. */
  #scaleTo(now: number, from: number, to: number, reason: string, manual: boolean): void {
    this.events.publish({ type: 'scale', t: now, direction: to > from ? 'out' : 'in', from, to, reason, manual });
    this.supervisor.setDesired(to);
  }

  /** Every alarm's state now, in rule order ([] without alarms). */
  alarmStatus(): AlarmStatus[] {
    return this.config.alarms.map((r, i) => ({ name: r.name, state: this.#alarms[i].state, since: this.#alarms[i].since, value: latestValue(this.#alarms[i]) }));
  }

  /** What this tick observed, evaluated by every alarm rule; one 'alarm' event per change of state. */
  #evaluateAlarms(now: number, observation: Observation, d: StepDecision): void {
    if (this.config.alarms.length === 0) return;
    const rotation = new Map(this.#balancerTrafficNow().workers.map((u) => [u.id, u.inRotation]));
    const unhealthy = countUnhealthy(this.supervisor.records().map((w) => ({ state: w.state, healthy: w.healthy, inRotation: rotation.get(w.id) })));
    const sample = alarmSample({ t: now, metrics: d.values, p99: observation.latency.p99, responses: observation.responses, unhealthy, desired: this.supervisor.desired, max: this.config.max });
    const { memories, transitions } = evaluateAlarms(this.config.alarms, this.#alarms, sample);
    this.#alarms = memories;
    for (const x of transitions) {
      const rule = this.config.alarms.find((r) => r.name === x.alarm)!;
      this.events.publish({ type: 'alarm', t: x.t, alarm: x.alarm, from: x.from, to: x.to, reason: x.reason, datapoints: x.datapoints, breaching: x.breaching, metric: rule.metric, threshold: rule.threshold, rule: describeRule(rule) });
    }
  }

  /** Each scheduled action that ran at this tick, before the scale it causes. */
  #publishScheduled(now: number, from: number, d: StepDecision): void {
    for (const f of d.schedule?.fired ?? []) {
      const { name, cron, tz, min, max, desired } = f.action;
      const set = { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }), ...(desired === undefined ? {} : { desired }) };
      this.events.publish({ type: 'schedule', t: now, name, cron, tz, at: f.at, set, min: d.schedule!.min, max: d.schedule!.max, from, to: d.desired, next: d.schedule!.next });
    }
  }

  #publishTick(now: number, observation: Observation, state: PolicyState, d: StepDecision): void {
    const after = this.supervisor.counts();
    this.events.publish({
      type: 'tick',
      t: now,
      cpu: observation.hostCpu,
      ...(observation.hostCpu !== null && observation.hostCpuLab != null
        ? { cpuSplit: { lab: observation.hostCpuLab, other: Math.max(0, observation.hostCpu - observation.hostCpuLab) } }
        : {}),
      metric: this.config.metric,
      value: d.value,
      metrics: d.values,
      warming: d.warming,
      instances: after.live,
      ready: after.ready,
      desired: this.supervisor.desired,
      action: d.action,
      reason: d.reason,
      paused: this.#memory.paused,
      traffic: this.#traffic(observation.latency),
      workers: this.workers(),
      observation,
      state,
      store: this.storeStatus(),
      ...(this.config.alarms.length > 0 ? { alarms: this.alarmStatus() } : {}),
      ...(d.schedule ? { schedule: { min: d.schedule.min, max: d.schedule.max, next: d.schedule.next } } : {}),
    });
  }

  #onHealth(h: BalancerHealthEvent): void {
    const port = this.supervisor.records().find((w) => w.id === h.id)?.port ?? 0;
    if (h.healthy) {
      if (this.#liveness.healthy(h.id)) this.events.publish({ type: 'health', t: this.now(), id: h.id, port, healthy: true, detail: `${h.detail}: back in rotation` });
      return;
    }
    this.#observeProgress(this.#balancerTrafficNow().workers);
    const now = this.now();
    if (this.#liveness.unhealthy(h.id, now) === 'replace') {
      this.supervisor.markUnhealthy(h.id, h.detail);
      return;
    }
    const blame = this.#databaseBlame(h.id);
    if (blame !== null) {
      // The verdict first, the driver's long reason last: a narrow log line still shows what matters.
      const detail = `${h.detail}; ${blame.what}: out of rotation, not replaced (${NOT_REPLACED_WHY}): ${blame.why}`;
      this.events.publish({ type: 'health', t: now, id: h.id, port, healthy: false, detail });
      return;
    }
    const ago = (this.#liveness.idleMs(h.id, now) / 1000).toFixed(1);
    this.events.publish({ type: 'health', t: now, id: h.id, port, healthy: false, detail: `${h.detail}; busy, not hung (last sign of life ${ago} s ago): out of rotation, not replaced` });
  }

  /** The worker's own latest report blames the shared database (down or locked): see databaseBlame. */
  #databaseBlame(id: number): DatabaseBlame | null {
    return databaseBlame(this.supervisor.records().find((r) => r.id === id)?.store ?? undefined);
  }

  /**
   * Progress of every worker in the balancer: requests it completed through the balancer plus the
   * once-a-second IPC heartbeats its event loop sent (a worker hit directly still beats). Held
   * (unhealthy but live) workers that stopped progressing are replaced.
   */
  #observeProgress(workers: ReadonlyArray<{ id: number; requests: number; inFlight: number }>): void {
    const records = this.supervisor.records();
    const beats = new Map(records.map((f) => [f.id, f.cpuReports]));
    const progress = workers.map((w) => ({ id: w.id, requests: w.requests + (beats.get(w.id) ?? 0), inFlight: w.inFlight }));
    const now = this.now();
    for (const r of records) if (r.store !== null && databaseBlame(r.store) !== null) this.#databaseBlamedAt.set(r.id, now);
    for (const id of this.#databaseBlamedAt.keys()) if (!workers.some((w) => w.id === id)) this.#databaseBlamedAt.delete(id);
    for (const id of this.#liveness.observe(progress, now)) {
      const hung = this.#liveness.idleMs(id, now) >= LIVENESS_MS;
      // Idle out of rotation because the database is (or was, until moments ago: its health checks
      // still have to pass twice) down or locked, not because it is broken: keep holding it (still
      // replaced if it also stops beating); it comes back when the database does.
      if (!hung && now - (this.#databaseBlamedAt.get(id) ?? -Infinity) < BROKEN_WHEN_IDLE_MS) {
        this.#liveness.unhealthy(id, now);
        continue;
      }
      this.supervisor.markUnhealthy(
        id,
        hung
          ? `health checks failing, and neither a completed request nor a heartbeat for ${LIVENESS_MS / 1000} s`
          : `health checks still failing ${BROKEN_WHEN_IDLE_MS / 1000} s after its last request: broken, not busy`,
      );
    }
  }

  #publishStats(): void {
    this.#window.sample();
    this.#observeProgress(this.#balancerTrafficNow().workers);
    this.events.publish({ type: 'stats', t: this.now(), traffic: this.#traffic(this.#statsLatency.take()), workers: this.workers(), store: this.storeStatus() });
  }

  /** The balancer's counters now: one read serves every reader within the same synchronous turn (a tick, a stats period). */
  #balancerTrafficNow(): FrontEndTraffic {
    if (this.#balancerTraffic === null) {
      this.#balancerTraffic = this.balancer.traffic();
      queueMicrotask(() => (this.#balancerTraffic = null));
    }
    return this.#balancerTraffic;
  }

  /** The balancer's counters with latency over the given window. */
  #traffic(latency: LatencyPercentiles): TrafficStats {
    const { workers: _w, ...counts } = this.#balancerTrafficNow();
    return { ...counts, ...latency };
  }

  /** Worker rows for the views: each supervisor record, in-flight now at the balancer, and its request rate over the last tick. */
  workers(): WorkerSnapshot[] {
    const inFlight = new Map(this.#balancerTrafficNow().workers.map((u) => [u.id, u.inFlight]));
    return this.supervisor.records().map((r) => workerRow(r, { rps: this.#window.rateOf(r.id), inFlight: inFlight.get(r.id) ?? 0 }));
  }
}

/** The records that carry a store report, as the store status reads them. */
function storeReports(records: readonly WorkerRecord[]) {
  return records.flatMap((r) => (r.store === null ? [] : [{ id: r.id, state: r.state, store: r.store }]));
}

/** Why a worker the database lets down is not replaced. */
const NOT_REPLACED_WHY = 'a new worker would not reach the database either';

/** One GET /health straight to a worker (a refresh waits for a new worker to pass it); workers listen on WORKER_HOST, whatever --host says. */
export async function probeHealth(host: string, port: number): Promise<boolean> {
  try {
    const res = await request(`http://${hostForUrl(host)}:${port}/health`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}
