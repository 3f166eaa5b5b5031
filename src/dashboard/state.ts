/**
 * The dashboard's state, computed purely from the lab's event stream.
 * `reduceDashboard(state, event)` folds one event into the state; the panels
 * (panels/*.ts) turn that state into plain text and chart series. No blessed,
 * no timers, no clock: "now" is the latest event time, so tests can replay any
 * sequence of events and check exactly what would be on screen.
 *
 * Memory is bounded: every series and the event log are fixed-capacity
 * rolling windows, so a lab that runs for a day holds as much as one that ran
 * for five minutes.
 */
import type { AlarmStatus, LabEvent, LabSettings, ScaleAction, StoppedEvent, StoreStatus, TickEvent, TrafficStats, WorkerSnapshot } from '../events.js';
import { describe, type EventLine } from './describe.js';

export type { LogLevel } from './describe.js';

/** How far back the charts reach. */
export const HISTORY_SECONDS = 300;
/** Requests/latency points come from the 1 s `stats` event. */
export const TRAFFIC_CAPACITY = HISTORY_SECONDS + 1;
/** Lines of event log kept (the screen shows the newest that fit). */
export const LOG_CAPACITY = 200;
/** Used until `started` says what the interval is. */
const DEFAULT_INTERVAL_S = 3;
const MAX_TICK_CAPACITY = 600;

export interface RollingWindow<T> {
  readonly capacity: number;
  readonly items: readonly T[];
}

export function emptyWindow<T>(capacity: number): RollingWindow<T> {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`window capacity: expected an integer >= 1, received ${capacity}`);
  }
  return { capacity, items: [] };
}

/** A new window with `item` appended and the oldest items dropped beyond capacity. */
export function appendToWindow<T>(window: RollingWindow<T>, item: T): RollingWindow<T> {
  const { items, capacity } = window;
  const kept = items.length >= capacity ? items.slice(items.length - capacity + 1) : items;
  return { capacity, items: [...kept, item] };
}

/** How many tick points cover HISTORY_SECONDS at this tick interval (seconds). */
export function tickCapacity(intervalSeconds: number): number {
  const interval = Number.isFinite(intervalSeconds) && intervalSeconds > 0 ? intervalSeconds : DEFAULT_INTERVAL_S;
  return Math.min(MAX_TICK_CAPACITY, Math.max(2, Math.ceil(HISTORY_SECONDS / interval) + 1));
}


export interface LabInfo {
  startedAt: number;
  balancerUrl: string;
  pid: number;
  runDir: string;
  config: LabSettings;
  /** Where the workers keep their visits (absent when they have no database). */
  store?: { kind: 'sqlite' | 'postgres'; where: string };
}

/** One tick: host CPU (and the lab's own share of it, when measured) and the value of the metric that drives scaling (null when not measurable). */
export interface TickPoint { t: number; cpu: number | null; value: number | null; lab?: number }
export interface InstancePoint { t: number; instances: number; ready: number; desired: number }
export interface TrafficPoint { t: number; rps: number; rpm: number; p50: number | null; p99: number | null }

/** One event-log line: describe(event) with its time. */
export interface LogEntry extends EventLine { t: number }

/** The latest decision, as the header shows it. */
export interface LastDecision {
  t: number;
  action: ScaleAction;
  reason: string;
}

export interface DashboardState {
  lab: LabInfo | null;
  /** Latest event time seen (ms since lab start): the dashboard's "now". */
  now: number;
  paused: boolean;
  stopped: StoppedEvent | null;
  /** Latest host CPU sample (null before the first or when the sample failed). */
  cpuNow: number | null;
  counts: { instances: number; ready: number; desired: number } | null;
  decision: LastDecision | null;
  traffic: TrafficStats | null;
  workers: readonly WorkerSnapshot[];
  /** The shared visits store's latest status (tick, stats or stopped), null before the first. */
  store: StoreStatus | null;
  ticks: RollingWindow<TickPoint>;
  instances: RollingWindow<InstancePoint>;
  requests: RollingWindow<TrafficPoint>;
  log: RollingWindow<LogEntry>;
  /** The lab said the host was above the scale-in threshold before any load (a 'busy-host' hint): the chart keeps the remedy in sight. */
  busyHost?: boolean;
  /** Every alarm's state (from 'started', each tick and each 'alarm' event); absent or empty without alarms. */
  alarms?: readonly AlarmStatus[];
  /** With a schedule: the bounds in force and the next action (from the latest tick). */
  schedule?: NonNullable<TickEvent['schedule']>;
}

export function initialDashboardState(): DashboardState {
  const ticks = tickCapacity(DEFAULT_INTERVAL_S);
  return {
    lab: null,
    now: 0,
    paused: false,
    stopped: null,
    cpuNow: null,
    counts: null,
    decision: null,
    traffic: null,
    workers: [],
    store: null,
    ticks: emptyWindow(ticks),
    instances: emptyWindow(ticks),
    requests: emptyWindow(TRAFFIC_CAPACITY),
    log: emptyWindow(LOG_CAPACITY),
  };
}

function applyWorkerChange(workers: readonly WorkerSnapshot[], id: number, change: (w: WorkerSnapshot) => WorkerSnapshot): WorkerSnapshot[] {
  return workers.map((w) => (w.id === id ? change(w) : w));
}

function sortById(workers: readonly WorkerSnapshot[]): WorkerSnapshot[] {
  return [...workers].sort((a, b) => a.id - b.id);
}

/** Fold one event into the dashboard state. Never mutates `state`. */
export function reduceDashboard(state: DashboardState, event: LabEvent): DashboardState {
  const now = Math.max(state.now, event.t);
  const line = describe(event);
  const log = line ? appendToWindow(state.log, { t: event.t, level: line.level, kind: line.kind, text: line.text }) : state.log;

  switch (event.type) {
    case 'started': {
      const ticks = tickCapacity(event.config.interval);
      return {
        ...state,
        now,
        log,
        lab: { startedAt: event.startedAt, balancerUrl: event.balancerUrl, pid: event.pid, runDir: event.runDir, config: event.config, ...(event.store ? { store: event.store } : {}) },
        store: null,
        paused: false,
        stopped: null,
        ticks: emptyWindow(ticks),
        instances: emptyWindow(ticks),
        alarms: (event.config.alarms ?? []).map((r) => ({ name: r.name, state: 'INSUFFICIENT_DATA' as const, since: event.t, value: null })),
      };
    }
    case 'tick': {
      return {
        ...state,
        now,
        log,
        paused: event.paused,
        cpuNow: event.cpu,
        counts: { instances: event.instances, ready: event.ready, desired: event.desired },
        decision: { t: event.t, action: event.action, reason: event.reason },
        traffic: event.traffic,
        workers: sortById(event.workers),
        store: event.store ?? state.store,
        alarms: event.alarms ?? state.alarms,
        ticks: appendToWindow(state.ticks, { t: event.t, cpu: event.cpu, value: event.value, ...(event.cpuSplit ? { lab: event.cpuSplit.lab } : {}) }),
        instances: appendToWindow(state.instances, { t: event.t, instances: event.instances, ready: event.ready, desired: event.desired }),
        ...(event.schedule ? { schedule: event.schedule } : {}),
      };
    }
    case 'stats': {
      const { traffic } = event;
      return {
        ...state,
        now,
        log,
        traffic,
        workers: sortById(event.workers),
        store: event.store ?? state.store,
        requests: appendToWindow(state.requests, { t: event.t, rps: traffic.rps, rpm: traffic.rpm, p50: traffic.p50, p99: traffic.p99 }),
      };
    }
    case 'worker': {
      const known = state.workers.some((w) => w.id === event.id);
      const workers = known
        ? applyWorkerChange(state.workers, event.id, (w) => ({ ...w, port: event.port, pid: event.pid ?? w.pid, state: event.state }))
        : sortById([
            ...state.workers,
            {
              id: event.id, port: event.port, pid: event.pid, state: event.state, healthy: true, cpu: null, rss: null,
              rps: 0, inFlight: 0, restarts: 0, startedAt: event.t, readyAt: event.state === 'ready' ? event.t : null,
            },
          ]);
      return { ...state, now, log, workers };
    }
    case 'health':
      return { ...state, now, log, workers: applyWorkerChange(state.workers, event.id, (w) => ({ ...w, healthy: event.healthy })) };
    case 'paused':
      return { ...state, now, log, paused: event.paused };
    case 'hint':
      return { ...state, now, log, ...(event.topic === 'busy-host' ? { busyHost: true } : {}) };
    case 'alarm':
      return { ...state, now, log, alarms: (state.alarms ?? []).map((a) => (a.name === event.alarm ? { ...a, state: event.to, since: event.t } : a)) };
    case 'scale':
    case 'command':
    case 'refresh':
    case 'cold-start':
    case 'notify':
    case 'schedule':
      return { ...state, now, log };
    case 'stopped':
      return { ...state, now, log, stopped: event, store: event.store ?? state.store };
  }
}
