/**
 * What the live page shows, built from the lab's event stream: a listener
 * like the dashboard and the recorder. Once a second (on the lab's 'stats'
 * heartbeat) it closes a frame: the new chart points (the same series shape
 * as report.html's, src/report/aggregate.ts ChartSeries), the worker rows,
 * the counts, the new log lines and decisions. It keeps the last
 * `windowSec` of points for a browser that connects late, and the run's
 * events (slimmed) so that the whole history, and the report at the end,
 * come from aggregate(): the same figures `autoscale report` computes.
 */
import type { AlarmStatus, LabEvent, LabEvents, LabSettings, StartedEvent, TickEvent, WorkerSnapshot } from '../events.js';
import { describe, type LogLevel } from '../dashboard/describe.js';
import { scheduleSegments } from '../dashboard/schedule-line.js';
import { aggregate, errorsPerSecond, type ChartSeries, type RunModel } from '../report/aggregate.js';
import type { LoadLine, RunEvents } from '../runs/read.js';
import { chartData, type MetricLabel } from '../report/render-html.js';
import { DECISION_HEADER, decisionRows, highlightRows, REACTION_HEADER, reactionRows, settingsRows, summaryRows, visitRows, visitsIntro, VISITS_HEADER } from '../report/words.js';
import { RECORDING_SCHEMA } from '../runs/recorder.js';

/** Seconds of points a browser is sent on connect and keeps live (the whole run is one click away). */
export const LIVE_WINDOW_SEC = 600;
/** Events kept for the history; past this (a day of 1 s heartbeats) the heartbeats are no longer kept, and the history says so. */
export const MAX_HISTORY_EVENTS = 100_000;
/** Log lines and decision rows a browser is sent on connect. */
const BACKLOG_LINES = 200;

export interface LogLine {
  t: number;
  kind: string;
  level: LogLevel;
  text: string;
}

/** What the experiment runner (`autoscale experiment`) reports while it drives this lab: its home is the control protocol (the runner sends it over the control socket); see docs/web.md. */
import type { ExperimentStatus } from '../control/protocol.js';
export type { ExperimentStatus };

/** The page's load generator run (src/web/load.ts), as the page shows it. */
export interface LoadStatus {
  running: boolean;
  description: string;
  elapsedSec: number;
  durationSec: number;
  sent: number;
  ok: number;
  errors: number;
  /** The last second's completed req/s, offered (sent/s), p50 and p99 (ms). */
  rps: number;
  offered: number;
  p50: number | null;
  p99: number | null;
  /** Once finished: `autoscale load`'s summary text. */
  summary: string | null;
  error: string | null;
}

export interface LiveStatus {
  paused: boolean;
  desired: number;
  /** Worker counts by state: ready, starting, draining (+ stopping), booting, and any other state by name. */
  counts: Record<string, number>;
  /** The driving metric's last value (tick) and host CPU. */
  value: number | null;
  cpu: number | null;
  /** The balancer over the last second: completed req/s, errors/s, latency percentiles (ms); lifetime totals. */
  rps: number;
  errorsPerSec: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  requests: number;
  errors: number;
  lastDecision: { t: number; action: string; reason: string } | null;
  /** With a schedule: the bounds in force and the next action, as the dashboard's header says them; null without. */
  schedule: string | null;
  /** Every alarm's state at the last tick (absent without alarms). */
  alarms?: AlarmStatus[];
}

/** New chart points in one frame, in the report's series shape (x in seconds since the lab started). */
export interface FramePoints {
  metric: { x: number; value: number | null; cpu: number | null }[];
  latency: { x: number; p50: number | null; p95: number | null; p99: number | null }[];
  traffic: { x: number; rps: number; errors: number; offered: number | null } | null;
  instances: { x: number; ready: number; starting: number; draining: number; desired: number } | null;
  markers: ChartSeries['markers'];
}

export interface LiveFrame {
  t: number;
  points: FramePoints;
  status: LiveStatus;
  workers: WorkerSnapshot[];
  log: LogLine[];
  decisions: string[][];
}

export interface Hello {
  settings: LabSettings;
  metricInfo: MetricLabel;
  startedAt: number;
  balancerUrl: string;
  runDir: string;
  pid: number;
  windowSec: number;
  /** The last windowSec of points, as a ChartSeries. */
  series: ChartSeries;
  fromSec: number;
  nowSec: number;
  status: LiveStatus | null;
  workers: WorkerSnapshot[];
  log: LogLine[];
  decisionHeader: string[];
  decisions: string[][];
  /** The settings table, in report.html's words. */
  settingsRows: [string, string][];
  load: LoadStatus | null;
  experiment: ExperimentStatus | null;
}

/** The whole run as report.html shows it: chart data and the tables' rows, from aggregate(). */
export interface ReportView {
  chart: ReturnType<typeof chartData>;
  summary: [string, string][];
  decisions: { header: string[]; rows: string[][] };
  reactions: { header: string[]; rows: string[][] };
  highlights: { header: string[]; rows: string[][] };
  visits: { intro: string; header: string[]; rows: string[][] } | null;
  settings: [string, string][];
  notes: string[];
  stopped: { reason: string; forced: number } | null;
}

export function reportView(m: RunModel, metric: MetricLabel): ReportView {
  return {
    chart: chartData(m, metric),
    summary: summaryRows(m),
    decisions: { header: DECISION_HEADER, rows: decisionRows(m) },
    reactions: { header: REACTION_HEADER, rows: reactionRows(m) },
    highlights: { header: ['time', 'what', 'detail'], rows: highlightRows(m) },
    visits: m.visits === null ? null : { intro: visitsIntro(m), header: VISITS_HEADER, rows: visitRows(m) },
    settings: settingsRows(m),
    notes: m.notes,
    stopped: m.stopped,
  };
}

const sec = (ms: number) => Math.round(ms) / 1000;

function emptySeries(offered: boolean): ChartSeries {
  return {
    metric: { x: [], value: [], cpu: [] },
    instances: { x: [], ready: [], starting: [], draining: [], desired: [] },
    traffic: { x: [], rps: [], errors: [], offered: offered ? [] : null },
    latency: { x: [], p50: [], p95: [], p99: [] },
    markers: [],
  };
}

/** Counts by state; 'stopping' is drawn with 'draining' (as the report does), exited/crashed/backoff have no process. */
export function countStates(workers: readonly WorkerSnapshot[]): Record<string, number> {
  const counts: Record<string, number> = { ready: 0, starting: 0, booting: 0, draining: 0 };
  for (const w of workers) {
    const state: string = w.state;
    if (state === 'exited' || state === 'crashed' || state === 'backoff') continue;
    const key = state === 'stopping' ? 'draining' : state;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** A tick or stats event without what only the live moment needs (worker rows, the policy's inputs): the history keeps these. */
function slim(e: LabEvent): LabEvent {
  if (e.type === 'tick') return { ...e, workers: [], observation: undefined, state: undefined } as unknown as TickEvent;
  if (e.type === 'stats') return { type: 'stats', t: e.t, traffic: e.traffic, workers: [], ...(e.store ? { store: e.store } : {}) };
  return e;
}

export class LiveFeed {
  readonly #metric: (name: string) => MetricLabel;
  #started: StartedEvent | null = null;
  #events: LabEvent[] = [];
  #historyFull = false;
  #loadLines: LoadLine[] = [];
  #frames: FramePoints[] = [];
  #pending: FramePoints = { metric: [], latency: [], traffic: null, instances: null, markers: [] };
  #log: LogLine[] = [];
  #newLog: LogLine[] = [];
  #decisions: string[][] = [];
  #newDecisions: string[][] = [];
  #status: LiveStatus | null = null;
  #workers: WorkerSnapshot[] = [];
  #desired = 0;
  #paused = false;
  #counts = { ticks: 0, stats: 0, loadLines: 0 };
  #lastTick: TickEvent | null = null;
  #prevErrors: { t: number; errors: number } | null = null;
  #offered: () => number | null = () => null;
  #stopped: { reason: string; forced: number } | null = null;
  #listeners = new Set<(kind: 'started' | 'frame' | 'stopped', frame: LiveFrame | null) => void>();

  constructor(events: LabEvents, metric: (name: string) => MetricLabel) {
    this.#metric = metric;
    events.on('event', (e) => this.#on(e));
  }

  /** The offered rate of the page's load now (req/s), or null when none runs. */
  set offered(read: () => number | null) {
    this.#offered = read;
  }

  /** Called once the lab started, with each frame (once a second), and once when the lab stopped. */
  subscribe(listener: (kind: 'started' | 'frame' | 'stopped', frame: LiveFrame | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get started(): StartedEvent | null {
    return this.#started;
  }

  get stopped(): { reason: string; forced: number } | null {
    return this.#stopped;
  }

  /** A second of the page's load: kept for the history's offered-rate line. */
  addLoadLine(line: LoadLine): void {
    this.#counts.loadLines++;
    if (this.#loadLines.length < MAX_HISTORY_EVENTS) this.#loadLines.push(line);
  }

  #on(e: LabEvent): void {
    if (e.type === 'started') {
      this.#started = e;
      this.#desired = e.config.min;
      for (const l of this.#listeners) l('started', null);
      return;
    }
    if (this.#started === null) return;
    if (this.#events.length < MAX_HISTORY_EVENTS || (e.type !== 'stats' && e.type !== 'tick')) this.#events.push(slim(e));
    else this.#historyFull = true;
    const line = describe(e);
    if (line !== null) {
      const l = { t: e.t, kind: line.kind, level: line.level, text: line.text };
      this.#newLog.push(l);
      this.#log.push(l);
      if (this.#log.length > BACKLOG_LINES * 2) this.#log = this.#log.slice(-BACKLOG_LINES);
    }
    if (e.type === 'tick') this.#counts.ticks++;
    if (e.type === 'stats') this.#counts.stats++;
    switch (e.type) {
      case 'paused':
        this.#paused = e.paused;
        break;
      case 'tick':
        this.#lastTick = e;
        this.#paused = e.paused;
        this.#desired = e.desired;
        this.#pending.metric.push({ x: sec(e.t), value: e.value, cpu: e.cpu });
        this.#pending.latency.push({ x: sec(e.t), p50: e.traffic.p50, p95: e.traffic.p95, p99: e.traffic.p99 });
        break;
      case 'scale': {
        this.#desired = e.to;
        this.#pending.markers.push({ at: sec(e.t), direction: e.direction, to: e.to });
        const rows = decisionRows({ decisions: [{ at: sec(e.t), direction: e.direction, from: e.from, to: e.to, reason: e.reason, manual: e.manual }] });
        this.#newDecisions.push(...rows);
        this.#decisions.push(...rows);
        if (this.#decisions.length > BACKLOG_LINES * 2) this.#decisions = this.#decisions.slice(-BACKLOG_LINES);
        break;
      }
      case 'stats':
        this.#frame(e.t, e.traffic, e.workers);
        break;
      case 'stopped':
        this.#stopped = { reason: e.reason, forced: e.forced };
        for (const l of this.#listeners) l('stopped', null);
        break;
      default:
        break;
    }
  }

  #frame(t: number, traffic: TickEvent['traffic'], workers: WorkerSnapshot[]): void {
    const x = sec(t);
    const prev = this.#prevErrors;
    const errors = prev === null ? 0 : errorsPerSecond(prev, { t, errors: traffic.errors });
    this.#prevErrors = { t, errors: traffic.errors };
    const counts = countStates(workers);
    const p = this.#pending;
    p.traffic = { x, rps: traffic.rps, errors, offered: this.#offered() ?? 0 };
    p.instances = { x, ready: counts.ready, starting: counts.starting + counts.booting, draining: counts.draining, desired: this.#desired };
    const tick = this.#lastTick;
    this.#status = {
      paused: this.#paused,
      desired: this.#desired,
      counts,
      value: tick?.value ?? null,
      cpu: tick?.cpu ?? null,
      rps: traffic.rps,
      errorsPerSec: errors,
      p50: traffic.p50,
      p95: traffic.p95,
      p99: traffic.p99,
      requests: traffic.total,
      errors: traffic.errors,
      lastDecision: tick === null ? null : { t: tick.t, action: tick.action, reason: tick.reason },
      schedule: tick?.schedule === undefined || this.#started === null ? null : `schedule: ${scheduleSegments(tick.schedule, this.#started.config, this.#started.startedAt + x * 1000).join(' · ')}`,
      ...(tick?.alarms ? { alarms: tick.alarms } : {}),
    };
    this.#workers = workers;
    const frame: LiveFrame = { t: x, points: p, status: this.#status, workers, log: this.#newLog, decisions: this.#newDecisions };
    this.#frames.push(p);
    // Frames come once a second: a window's worth, plus slack for late heartbeats.
    if (this.#frames.length > LIVE_WINDOW_SEC + 60) this.#frames.splice(0, this.#frames.length - LIVE_WINDOW_SEC);
    this.#pending = { metric: [], latency: [], traffic: null, instances: null, markers: [] };
    this.#newLog = [];
    this.#newDecisions = [];
    for (const l of this.#listeners) l('frame', frame);
  }

  /** Log lines and decisions since the last frame (the lab's last moments: its heartbeat stops before it does). */
  tail(): { log: LogLine[]; decisions: string[][] } {
    const t = { log: this.#newLog, decisions: this.#newDecisions };
    this.#newLog = [];
    this.#newDecisions = [];
    return t;
  }

  /** Everything a browser needs on connect: the settings, the last window of points, the backlog. */
  hello(load: LoadStatus | null, experiment: ExperimentStatus | null): Hello | null {
    const s = this.#started;
    if (s === null) return null;
    const nowSec = this.#frames.length > 0 ? (this.#frames[this.#frames.length - 1].traffic?.x ?? 0) : 0;
    const fromSec = Math.max(0, nowSec - LIVE_WINDOW_SEC);
    const series = emptySeries(true);
    for (const f of this.#frames) appendPoints(series, f, fromSec);
    return {
      settings: s.config,
      metricInfo: this.#metric(s.config.metric),
      startedAt: s.startedAt,
      balancerUrl: s.balancerUrl,
      runDir: s.runDir,
      pid: s.pid,
      windowSec: LIVE_WINDOW_SEC,
      series,
      fromSec,
      nowSec,
      status: this.#status,
      workers: this.#workers,
      log: this.#log.slice(-BACKLOG_LINES),
      decisionHeader: DECISION_HEADER,
      decisions: this.#decisions.slice(-BACKLOG_LINES),
      // The report's settings rows; its "recorded" count row would only be true at this instant.
      settingsRows: settingsRows({ settings: s.config, balancerUrl: s.balancerUrl, pid: s.pid, stopped: this.#stopped, counts: this.#counts }).filter(([k]) => k !== 'recorded'),
      load,
      experiment,
    };
  }

  /** The whole run so far (or finished) through aggregate(), as the report shows it. */
  model(): RunModel | null {
    const s = this.#started;
    if (s === null) return null;
    const endT = this.#events.reduce((a, e) => Math.max(a, e.t), s.t);
    const parsed: RunEvents = { started: { ...s, schema: RECORDING_SCHEMA }, events: this.#events, recorderNotes: [], problems: [], endT };
    if (this.#historyFull) parsed.problems.push(`the live page kept the first ${MAX_HISTORY_EVENTS} events of this run in memory: later ticks and heartbeats are not in this history (events.ndjson in the run directory has them all)`);
    const modes = new Set(this.#loadLines.map((l) => l.mode));
    const load = this.#loadLines.length > 0 ? { lines: this.#loadLines, mode: modes.size > 1 ? ('mixed' as const) : this.#loadLines[0].mode, problems: [] } : null;
    const m = aggregate({ parsed, load, inProgress: this.#stopped === null });
    // The note about load.ndjson is for recorded runs; here a run without a load from the page simply has no offered line.
    if (load === null) m.notes = m.notes.filter((n) => !n.startsWith('no load.ndjson'));
    return m;
  }

  report(): ReportView | null {
    const m = this.model();
    return m === null ? null : reportView(m, this.#metric(m.settings.metric));
  }
}

/** Add one frame's points to a series, keeping only x >= fromSec. */
export function appendPoints(series: ChartSeries, f: FramePoints, fromSec: number): void {
  for (const p of f.metric) {
    if (p.x < fromSec) continue;
    series.metric.x.push(p.x);
    series.metric.value.push(p.value);
    series.metric.cpu.push(p.cpu);
  }
  for (const p of f.latency) {
    if (p.x < fromSec) continue;
    series.latency.x.push(p.x);
    series.latency.p50.push(p.p50);
    series.latency.p95.push(p.p95);
    series.latency.p99.push(p.p99);
  }
  if (f.traffic && f.traffic.x >= fromSec) {
    series.traffic.x.push(f.traffic.x);
    series.traffic.rps.push(f.traffic.rps);
    series.traffic.errors.push(f.traffic.errors);
    series.traffic.offered?.push(f.traffic.offered);
  }
  if (f.instances && f.instances.x >= fromSec) {
    const i = f.instances;
    series.instances.x.push(i.x);
    series.instances.ready.push(i.ready);
    series.instances.starting.push(i.starting);
    series.instances.draining.push(i.draining);
    series.instances.desired.push(i.desired);
  }
  for (const m of f.markers) if (m.at >= fromSec) series.markers.push(m);
}
