/**
 * The one typed event stream of a running lab. The core (daemon loop,
 * supervisor, balancer) emits; views (dashboard, plain log lines, NDJSON)
 * only listen. Times (`t`) are milliseconds since the lab started.
 */
import { EventEmitter } from 'node:events';
import type { PolicyState } from './policy/step.js';
import type { Observation } from './policy/measure.js';
import type { MetricName, MetricValues } from './policy/metrics.js';
import type { PolicyName, ScaleAction } from './policy/rules.js';
import type { StepScalingSettings } from './policy/step-scaling.js';
import type { AlarmMetricName, AlarmRule } from './alarms/rule.js';
import type { AlarmState, Datapoint } from './alarms/evaluate.js';

export type { ScaleAction } from './policy/rules.js';

/**
 * A worker's lifecycle (src/supervisor/worker-process.ts). `backoff`: a
 * replacement waiting out the crash-loop delay, no process yet (PM2's
 * "waiting restart").
 */
export type WorkerState = 'backoff' | 'starting' | 'ready' | 'draining' | 'stopping' | 'exited' | 'crashed';

/** One worker as the views see it, at one instant. */
export interface WorkerSnapshot {
  id: number;
  port: number;
  pid: number | undefined;
  state: WorkerState;
  /** false once the balancer's health checks failed `unhealthyThreshold` times. */
  healthy: boolean;
  /** Process CPU of this worker, % of one core, over the last stats period (null before the first report). */
  cpu: number | null;
  /** Resident set size in bytes (null before the first report). */
  rss: number | null;
  /** Requests per second the balancer sent this worker over the last tick: the number rps scaling averages. */
  rps: number;
  /** Requests in flight to this worker through the balancer. */
  inFlight: number;
  /** Open client connections on this worker (L4: handed over by the balancer; L7: absent). */
  connections?: number;
  /** How many times this worker slot was replaced after a crash or failed health. */
  restarts: number;
  /** ms since lab start when the process was forked. */
  startedAt: number;
  /** ms since lab start when it became ready, if it did. */
  readyAt: number | null;
  /** While it listens but holds its readiness (--boot-delay): ms since lab start when it will be ready. */
  bootingUntil?: number;
  /** Its latest report on the shared visits store: reachable, and visits it acknowledged (absent before its first). */
  store?: { up: boolean; detail: string; visits: number };
}

/** The shared visits store as the lab sees it (see src/store/status.ts). */
export interface StoreStatus {
  kind: 'sqlite' | 'postgres';
  /** The SQLite file, or the PostgreSQL URL without its password. */
  where: string;
  /** true when every worker that reported reaches it, false when one does not, null before any report. */
  up: boolean | null;
  detail: string;
  /** The store's total as of the latest visit or database check of any live worker (null before the first). */
  total: number | null;
  /** Visits acknowledged in this run, per worker id (exited workers included), and their sum. */
  visits: number;
  visitsByWorker: Record<string, number>;
}

export interface TrafficStats {
  /** True rate over the last 60 s (requests completed in the last 60 s). */
  rpm: number;
  /** Requests completed in the last full second. */
  rps: number;
  /** Latency through the balancer, ms (null when no request completed): over the tick in 'tick', over the last second in 'stats'. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  inFlight: number;
  /** Lifetime totals. */
  total: number;
  errors: number;
}

/** The lab's resolved settings, as shown in headers and the `started` event. Times in seconds. */
export interface LabSettings {
  min: number;
  max: number;
  scaleUp: number;
  scaleDown: number;
  interval: number;
  cooldown: number;
  port: number;
  basePort: number;
  host: string;
  work: number;
  /** Which metric drives scaling (e.g. 'host-cpu') and which policy (e.g. 'threshold'). */
  metric: MetricName;
  policy: PolicyName;
  /** Target policy: per-worker target value, tolerance (fraction), scale-in stabilisation window (s), per-tick scale-out limit. */
  target: number;
  tolerance: number;
  scaleDownWindow: number;
  maxStepPods: number;
  maxStepPercent: number;
  /** Seconds a newly ready worker is left out of per-worker averages (and scale-in is held). */
  warmup: number;
  /** With min 0: seconds without a request before the pool shrinks to no worker. */
  idle: number;
  /** Requests held while no worker is in rotation (0: none, 503 at once), and how long each may wait (s). */
  holdMax: number;
  holdTimeout: number;
  /** Loopback port of the lab's Prometheus /metrics (0: off). */
  metricsPort: number;
  /** Seconds the balancer waits for a worker's response headers (queueing included) before answering 504. */
  upstreamTimeout: number;
  /** 'l7' (requests through an HTTP proxy) or 'l4' (connections handed to workers). */
  balancer: 'l7' | 'l4';
  /** Workers send Connection: close after this many requests on a connection (0: never). */
  maxConnRequests: number;
  /** … or on the first response once a connection is this old, s (0: never). */
  maxConnAge: number;
  /**
   * Seconds a forked worker holds its readiness after it listens (a VM's boot, an image pull).
   * Absent in runs recorded before it existed: read as 0.
   */
  bootDelay?: number;
  /** --policy predictive: where its history came from (run directories or trace files, comma-separated) and the season, s. */
  history?: string;
  season?: number;
  /** The history's times multiplied by this (experiment --quick); absent: 1. */
  historyScale?: number;
  /** --policy step: its scale-out and scale-in policies with their alarms. Absent in runs recorded before it existed. */
  stepScaling?: StepScalingSettings | null;
  /** Alarm rules evaluated every tick (src/alarms). Absent in runs recorded before alarms existed: read as none. */
  alarms?: AlarmRule[];
}

export interface StartedEvent {
  type: 'started';
  t: number;
  /** Wall-clock ms (Date.now()) at lab start; every other `t` is relative to it. */
  startedAt: number;
  balancerUrl: string;
  runDir: string;
  pid: number;
  config: LabSettings;
  /**
   * The machine the lab ran on: cores (os.availableParallelism()) and total
   * memory in bytes. Optional in recording schema 1: runs recorded before it
   * was added have none, and readers must accept that.
   */
  host?: HostInfo;
  /** Where the workers keep their visits. */
  store?: { kind: 'sqlite' | 'postgres'; where: string };
}

export interface HostInfo {
  cores: number;
  memoryBytes: number;
}

export interface TickEvent {
  type: 'tick';
  t: number;
  /** Host CPU %, 0–100 (null if the sample failed). */
  cpu: number | null;
  /** `cpu` split into the lab's own processes (daemon and workers) and every other process, same unit; absent when not measured (not Linux, older recordings). */
  cpuSplit?: { lab: number; other: number };
  /** The metric the policy used and its value. */
  metric: MetricName;
  value: number | null;
  /** Every metric's value this tick, whichever one drives scaling (null when not measurable). */
  metrics: MetricValues;
  /** Ready workers still in warm-up (left out of per-worker averages). */
  warming: number;
  instances: number;
  ready: number;
  desired: number;
  action: ScaleAction;
  reason: string;
  paused: boolean;
  traffic: TrafficStats;
  workers: WorkerSnapshot[];
  /** What the policy was given this tick: `decide(observation, state, memory, config, t)` replays it exactly. */
  observation: Observation;
  state: PolicyState;
  /** The shared visits store and its health (absent when the workers have none). */
  store?: StoreStatus;
  /** Every alarm's state after this tick, in rule order (absent when the lab has none). */
  alarms?: AlarmStatus[];
}

/** One alarm now: its state, since when, and its newest datapoint (null when missing). */
export interface AlarmStatus {
  name: string;
  state: AlarmState;
  /** ms since lab start of the last change of state. */
  since: number;
  value: number | null;
}

/** An alarm changed state (src/alarms/evaluate.ts): CloudWatch's StateReason and the datapoints behind it. */
export interface AlarmEvent {
  type: 'alarm';
  t: number;
  alarm: string;
  from: AlarmState;
  to: AlarmState;
  reason: string;
  /** The datapoints the decision used, oldest first: period start (ms since lab start) and value (null: missing). */
  datapoints: Datapoint[];
  /** How many of them breached. */
  breaching: number;
  metric: AlarmMetricName;
  threshold: number;
  /** The rule in one line: "5xx > 10 (sum over 1 min, 1 of 1)". */
  rule: string;
}

/** A notifier (`--on-alarm` command, `--alarm-webhook`) was given an alarm transition: how it went. Never fatal. */
export interface NotifyEvent {
  type: 'notify';
  t: number;
  alarm: string;
  /** The state the alarm went to. */
  to: AlarmState;
  channel: 'command' | 'webhook';
  ok: boolean;
  /** "exit 0 in 12 ms", "HTTP 204 in 3 ms", "timed out after 10 s (killed)", "ECONNREFUSED", "skipped: 4 notifications already in flight". */
  detail: string;
}

export interface ScaleEvent {
  type: 'scale';
  t: number;
  direction: 'out' | 'in';
  from: number;
  to: number;
  reason: string;
  /** true when asked from the keyboard/API rather than by the policy. */
  manual: boolean;
}

export interface WorkerEvent {
  type: 'worker';
  t: number;
  id: number;
  port: number;
  pid: number | undefined;
  from: WorkerState | null;
  state: WorkerState;
  /** e.g. "exit code 1", "drained 3 in-flight in 120 ms", "SIGKILL after 5000 ms". */
  detail: string;
  /** Set on the 'exited' event of a worker whose port another process took before it could bind: not a crash. */
  portTaken?: true;
}

export interface HealthEvent {
  type: 'health';
  t: number;
  id: number;
  port: number;
  healthy: boolean;
  detail: string;
}

export interface PauseEvent {
  type: 'paused';
  t: number;
  paused: boolean;
}

/**
 * Emitted every second between ticks so live views (the dashboard) can show
 * current traffic and worker rows; the plain and NDJSON views skip it.
 */
export interface StatsEvent {
  type: 'stats';
  t: number;
  traffic: TrafficStats;
  workers: WorkerSnapshot[];
  store?: StoreStatus;
}

export interface StoppedEvent {
  type: 'stopped';
  t: number;
  reason: string;
  /** Workers that needed SIGKILL on the way out. */
  forced: number;
  /** The store after every worker reported its final counts: this run's visits by worker. */
  store?: StoreStatus;
}

/** Who asked for a command: a dashboard key, a client of the control socket (`autoscale scale 4`), or the live web page. */
export type CommandSource = 'dashboard' | 'control socket' | 'web';

/** An operator command (dashboard key or control socket), accepted or refused; also malformed socket messages. */
export interface CommandEvent {
  type: 'command';
  t: number;
  /** e.g. "scale 4", "pause", "refresh --min-healthy 90", "scale +1"; "(malformed)" for a bad socket message. */
  command: string;
  source: CommandSource;
  ok: boolean;
  /** What happened, or why it was refused. */
  message: string;
}

/** Progress of a rolling refresh. */
export interface RefreshEvent {
  type: 'refresh';
  t: number;
  phase: 'started' | 'progress' | 'done' | 'failed';
  replaced: number;
  total: number;
  detail: string;
}

/** Requests held while no worker was in rotation were sent on once one was ready. */
export interface ColdStartEvent {
  type: 'cold-start';
  t: number;
  /** How long the first (oldest) held request waited, ms. */
  waitedMs: number;
  /** How many requests had been held. */
  held: number;
  /** true when the pool was scaled to zero (a worker had to be started for them). */
  fromZero: boolean;
}

export type LabEvent =
  | StartedEvent
  | TickEvent
  | ScaleEvent
  | WorkerEvent
  | HealthEvent
  | PauseEvent
  | StatsEvent
  | StoppedEvent
  | CommandEvent
  | RefreshEvent
  | ColdStartEvent
  | HintEvent
  | AlarmEvent
  | NotifyEvent;

/** Every event type the lab publishes (a Record, so the compiler names any type left out or made up). */
export const LAB_EVENT_TYPES: Readonly<Record<LabEvent['type'], true>> = {
  started: true,
  tick: true,
  scale: true,
  worker: true,
  health: true,
  paused: true,
  stats: true,
  stopped: true,
  command: true,
  refresh: true,
  'cold-start': true,
  hint: true,
  alarm: true,
  notify: true,
};

/** Something the lab explains once, in words (e.g. connection pinning under --balancer l4). */
export interface HintEvent {
  type: 'hint';
  t: number;
  text: string;
  /** What it is about, for views that keep it in sight: 'busy-host' = host CPU above the scale-in threshold before any load. */
  topic?: 'busy-host';
}

export type LabEventType = LabEvent['type'];

/** Typed emitter: `bus.on('tick', (e) => …)` gets a TickEvent; `bus.on('event', …)` gets every event. */
export class LabEvents extends EventEmitter {
  publish(event: LabEvent): void {
    this.emit(event.type, event);
    this.emit('event', event);
  }

  override on(type: 'event', listener: (e: LabEvent) => void): this;
  override on<K extends LabEventType>(type: K, listener: (e: Extract<LabEvent, { type: K }>) => void): this;
  override on(type: string, listener: (...args: never[]) => void): this {
    return super.on(type, listener as (...args: unknown[]) => void);
  }
}
