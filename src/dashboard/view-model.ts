/**
 * Everything the dashboard shows, computed purely from the lab's event stream.
 * `reduceDashboard(state, event)` folds one event into the state; the
 * selectors below turn that state into plain text and chart series. No
 * blessed, no timers, no clock: "now" is the latest event time, so tests can
 * replay any sequence of events and check exactly what would be on screen.
 *
 * Memory is bounded: every series and the event log are fixed-capacity
 * rolling windows, so a lab that runs for a day holds as much as one that ran
 * for five minutes.
 */
import { METRICS, type MetricName } from '../policy/metrics.js';
import type {
  LabEvent,
  LabSettings,
  ScaleAction,
  StoppedEvent,
  TrafficStats,
  WorkerSnapshot,
  WorkerState,
} from '../events.js';
import {
  UNKNOWN,
  formatBytes,
  formatClock,
  formatCount,
  formatMs,
  formatPercent,
  formatRelative,
  truncate,
} from './format.js';

/** How far back the charts reach. */
export const HISTORY_SECONDS = 300;
/** Requests/latency points come from the 1 s `stats` event. */
export const TRAFFIC_CAPACITY = HISTORY_SECONDS + 1;
/** Lines of event log kept (the screen shows the newest that fit). */
export const LOG_CAPACITY = 200;
/** Used until `started` says what the interval is. */
const DEFAULT_INTERVAL_S = 3;
const MAX_TICK_CAPACITY = 600;

// ---------------------------------------------------------------------------
// Rolling windows

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

// ---------------------------------------------------------------------------
// State

export interface LabInfo {
  startedAt: number;
  balancerUrl: string;
  pid: number;
  runDir: string;
  config: LabSettings;
}

/** One tick: host CPU and the value of the metric that drives scaling (null when not measurable). */
export interface TickPoint { t: number; cpu: number | null; value: number | null }
export interface InstancePoint { t: number; instances: number; ready: number; desired: number }
export interface TrafficPoint { t: number; rps: number; rpm: number; p50: number | null; p99: number | null }

export type LogLevel = 'info' | 'scale' | 'warn' | 'error';
export interface LogEntry { t: number; level: LogLevel; text: string }

export interface Decision {
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
  decision: Decision | null;
  traffic: TrafficStats | null;
  workers: readonly WorkerSnapshot[];
  ticks: RollingWindow<TickPoint>;
  instances: RollingWindow<InstancePoint>;
  requests: RollingWindow<TrafficPoint>;
  log: RollingWindow<LogEntry>;
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
    ticks: emptyWindow(ticks),
    instances: emptyWindow(ticks),
    requests: emptyWindow(TRAFFIC_CAPACITY),
    log: emptyWindow(LOG_CAPACITY),
  };
}

/** "worker 2 :5001"; a port of 0 means not allocated yet and is left out. */
/** How a scaling metric reads on screen. */
export interface MetricDisplay { title: string; label: string; unit: string; percent: boolean }

/** Chart titles; labels and units come from the scaler's own metric table, so screen and reasons agree. */
const METRIC_TITLES: Record<MetricName, string> = {
  'host-cpu': 'CPU % (host)',
  'worker-cpu': 'Worker CPU % (avg)',
  rps: 'Req/s per worker',
  concurrency: 'In flight per worker',
  p95: 'p95 latency ms',
};

export function metricDisplay(metric: MetricName): MetricDisplay {
  const { label, unit } = METRICS[metric];
  return { title: METRIC_TITLES[metric], label, unit, percent: unit === ' %' };
}

/** The policy's decision lines on the metric's axis: thresholds, or the target with its tolerance band. */
export function policyLines(config: LabSettings): Array<{ title: string; color: string; value: number }> {
  const { unit } = metricDisplay(config.metric);
  const u = unit === ' %' ? '%' : unit;
  if (config.policy === 'target') {
    const lines = [{ title: `target ${num(config.target)}${u}`, color: 'red', value: config.target }];
    if (config.tolerance > 0) {
      lines.push({ title: `±${num(config.tolerance * 100)}%`, color: 'blue', value: config.target * (1 + config.tolerance) });
      lines.push({ title: '', color: 'blue', value: config.target * (1 - config.tolerance) });
    }
    return lines;
  }
  return [
    { title: `up ${num(config.scaleUp)}${u}`, color: 'red', value: config.scaleUp },
    { title: `down ${num(config.scaleDown)}${u}`, color: 'blue', value: config.scaleDown },
  ];
}

function num(n: number): string {
  return String(Number.isInteger(n) ? n : Number(n.toFixed(2)));
}

function workerLabel(id: number, port: number): string {
  return port > 0 ? `worker ${id} :${port}` : `worker ${id}`;
}

function workerLogLevel(state: WorkerState): LogLevel {
  if (state === 'crashed') return 'error';
  if (state === 'stopping' || state === 'draining') return 'warn';
  return 'info';
}

/** The log line an event produces, or null for events that only update numbers (tick, stats). */
export function logEntryFor(event: LabEvent): LogEntry | null {
  switch (event.type) {
    case 'started':
      return {
        t: event.t,
        level: 'info',
        text: `lab started: balancer ${event.balancerUrl}, daemon pid ${event.pid}, ${event.config.policy} policy on ${event.config.metric}`,
      };
    case 'scale':
    {
      // A manual scale's reason is usually just "manual scale-out"; do not say it twice.
      const reason = event.manual && /^manual\b/i.test(event.reason) ? '' : `: ${event.reason}`;
      return { t: event.t, level: 'scale', text: `${event.manual ? 'manual ' : ''}scale ${event.direction} ${event.from} → ${event.to}${reason}` };
    }
    case 'worker': {
      const from = event.from === null ? 'new' : event.from;
      const pid = event.pid === undefined ? '' : ` pid ${event.pid}`;
      const detail = event.detail ? ` (${event.detail})` : '';
      return { t: event.t, level: workerLogLevel(event.state), text: `${workerLabel(event.id, event.port)}${pid}: ${from} → ${event.state}${detail}` };
    }
    case 'health': {
      const detail = event.detail ? `: ${event.detail}` : '';
      return event.healthy
        ? { t: event.t, level: 'info', text: `${workerLabel(event.id, event.port)} healthy again${detail}` }
        : { t: event.t, level: 'error', text: `${workerLabel(event.id, event.port)} unhealthy${detail}` };
    }
    case 'paused':
      return { t: event.t, level: 'warn', text: event.paused ? 'autoscaling paused (p resumes)' : 'autoscaling resumed' };
    case 'stopped':
      return {
        t: event.t,
        level: event.forced > 0 ? 'warn' : 'info',
        text: `lab stopped: ${event.reason}${event.forced > 0 ? ` (${event.forced} worker(s) needed SIGKILL)` : ''}`,
      };
    case 'tick':
    case 'stats':
      return null;
  }
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
  const entry = logEntryFor(event);
  const log = entry ? appendToWindow(state.log, entry) : state.log;

  switch (event.type) {
    case 'started': {
      const ticks = tickCapacity(event.config.interval);
      return {
        ...state,
        now,
        log,
        lab: { startedAt: event.startedAt, balancerUrl: event.balancerUrl, pid: event.pid, runDir: event.runDir, config: event.config },
        paused: false,
        stopped: null,
        ticks: emptyWindow(ticks),
        instances: emptyWindow(ticks),
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
        ticks: appendToWindow(state.ticks, { t: event.t, cpu: event.cpu, value: event.value }),
        instances: appendToWindow(state.instances, { t: event.t, instances: event.instances, ready: event.ready, desired: event.desired }),
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
    case 'scale':
      return { ...state, now, log };
    case 'stopped':
      return { ...state, now, log, stopped: event };
  }
}

// ---------------------------------------------------------------------------
// Header

/** Greedily pack segments into at most `maxLines` lines of `width`, joined by " · "; overflow is cut with "…". */
export function packSegments(segments: readonly string[], width: number, maxLines: number): string[] {
  const sep = ' · ';
  const lines: string[] = [];
  let current = '';
  for (const segment of segments) {
    const candidate = current === '' ? segment : `${current}${sep}${segment}`;
    if (candidate.length <= width || current === '') {
      current = candidate;
      continue;
    }
    lines.push(current);
    current = segment;
  }
  if (current !== '') lines.push(current);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = truncate(`${kept[maxLines - 1]} …`, width);
    return kept.map((l) => truncate(l, width));
  }
  return lines.map((l) => truncate(l, width));
}

/**
 * The header, three lines: status (autoscaling on/paused, elapsed, balancer
 * URL, policy), the settings (thresholds, min/max, interval, cooldown), and the
 * latest decision with its reason. Each fits 80 columns with default settings.
 */
export function headerLines(state: DashboardState, width: number): string[] {
  if (!state.lab) return [truncate('autoscale · waiting for the lab to start…', width), '', ''];
  const { config, balancerUrl } = state.lab;
  const status = state.stopped ? 'lab STOPPED' : state.paused ? 'autoscaling PAUSED' : 'autoscaling on';
  const statusLine = packSegments([status, `elapsed ${formatClock(state.now)}`, balancerUrl, `${config.policy} on ${config.metric}`], width, 1);
  const { unit } = metricDisplay(config.metric);
  const policySegments =
    config.policy === 'target'
      ? [`target ${num(config.target)}${unit} ±${num(config.tolerance * 100)} %`]
      : [`scale up > ${num(config.scaleUp)}${unit}`, `down < ${num(config.scaleDown)}${unit}`];
  const timing =
    config.policy === 'target' ? [`scale-in window ${num(config.scaleDownWindow)} s`] : [`cooldown ${num(config.cooldown)} s`];
  const settingsLine = packSegments(
    [...policySegments, `min ${config.min}`, `max ${config.max}`, `interval ${num(config.interval)} s`, ...timing, `warm-up ${num(config.warmup)} s`],
    width,
    1,
  );
  const decision = state.decision
    ? `last decision ${formatRelative(state.decision.t)}: ${state.decision.reason}`
    : 'last decision: none yet (first tick pending)';
  return [statusLine[0], settingsLine[0], truncate(decision, width)];
}

// ---------------------------------------------------------------------------
// Charts

export interface ChartSeries {
  title: string;
  color: string;
  x: string[];
  y: number[];
}

export interface ChartModel {
  /** Title shown on the chart's border, including the current values. */
  label: string;
  /** The same, for narrow charts. */
  shortLabel: string;
  minY: number;
  maxY: number;
  /** Drawn in order: later series are drawn over earlier ones. All share one x axis. */
  series: ChartSeries[];
}

/** 'cpu' is the scaling-metric chart (host CPU with the default metric). */
export type ChartId = 'cpu' | 'instances' | 'requests' | 'latency';

/** Smallest of 1, 2, 5 × 10^k that is >= value (and >= floor). */
export function niceCeiling(value: number, floor: number): number {
  const v = Math.max(value, floor);
  if (!Number.isFinite(v) || v <= 0) return floor > 0 ? floor : 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) {
    if (m * exp >= v - 1e-9) return m * exp;
  }
  return 10 * exp;
}

function constant(value: number, length: number): number[] {
  return new Array<number>(length).fill(value);
}

/**
 * The first chart: the metric that drives scaling with the policy's lines
 * (thresholds, or target and tolerance band), so the crossing behind each
 * decision is visible. With the default host-cpu metric this is the CPU chart.
 */
export function scalingChart(state: DashboardState): ChartModel {
  const config = state.lab?.config;
  const metric = config?.metric ?? 'host-cpu';
  const display = metricDisplay(metric);
  const hostCpu = metric === 'host-cpu';
  const points = state.ticks.items.flatMap((p) => {
    const v = hostCpu ? p.cpu : p.value;
    return v === null ? [] : [{ t: p.t, v }];
  });
  const latest = state.ticks.items.at(-1);
  const latestValue = latest ? (hostCpu ? latest.cpu : latest.value) : null;
  const now = latestValue === null ? UNKNOWN : `${hostCpu || display.percent ? formatPercent(latestValue) : formatValue(latestValue)}${display.unit}`;
  const lines = config ? policyLines(config) : [];
  const summary = lines.filter((l) => l.title !== '').map((l) => l.title).join(' · ');
  let label = `${display.title} ${now}${summary ? ` · ${summary}` : ''}`;
  if (!hostCpu && latest) label += ` · host CPU ${formatPercent(latest.cpu)} %`;
  const x = points.map((p) => formatClock(p.t));
  const series: ChartSeries[] = [];
  if (points.length > 0) {
    for (const line of lines) series.push({ title: line.title, color: line.color, x, y: constant(line.value, points.length) });
    series.push({ title: display.label, color: 'yellow', x, y: points.map((p) => p.v) });
  }
  const peak = Math.max(0, ...points.map((p) => p.v), ...lines.map((l) => l.value));
  const maxY = display.percent ? Math.max(100, niceCeiling(peak * 1.1, 100)) : niceCeiling(peak * 1.2, 1);
  return { label, shortLabel: `${display.label} ${now}`, minY: 0, maxY, series };
}

function formatValue(v: number): string {
  return Math.abs(v) >= 10 || Number.isInteger(v) ? Math.round(v).toString() : v.toFixed(1);
}

/** Expand values into a step line on an index axis: each change becomes a near-vertical jump. */
export function stepExpand(labels: readonly string[], values: readonly number[]): { x: string[]; y: number[] } {
  const x: string[] = [];
  const y: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i > 0) {
      x.push(labels[i]);
      y.push(values[i - 1]);
    }
    x.push(labels[i]);
    y.push(values[i]);
  }
  return { x, y };
}

export function instancesChart(state: DashboardState): ChartModel {
  const points = state.instances.items;
  const config = state.lab?.config;
  const counts = state.counts;
  let label = 'Instances';
  let shortLabel = 'Instances';
  if (counts) {
    label += ` ${counts.instances} running, ${counts.ready} ready`;
    shortLabel += ` ${counts.instances}`;
    if (counts.desired !== counts.instances) {
      label += ` → desired ${counts.desired}`;
      shortLabel += ` → ${counts.desired}`;
    }
  }
  if (config) label += ` · min ${config.min} max ${config.max}`;
  const observedMax = points.reduce((m, p) => Math.max(m, p.instances, p.desired), 0);
  const maxY = Math.max(config?.max ?? 0, observedMax, 1) + 1;
  const labels = points.map((p) => formatClock(p.t));
  const running = stepExpand(labels, points.map((p) => p.instances));
  const desired = stepExpand(labels, points.map((p) => p.desired));
  const series: ChartSeries[] = [];
  if (points.length > 0) {
    if (config) {
      series.push({ title: `max ${config.max}`, color: 'red', x: running.x, y: constant(config.max, running.y.length) });
      series.push({ title: `min ${config.min}`, color: 'blue', x: running.x, y: constant(config.min, running.y.length) });
    }
    // Drawn under the running line, so it only shows where it differs.
    series.push({ title: 'desired', color: 'magenta', x: desired.x, y: desired.y });
    series.push({ title: 'running', color: 'green', x: running.x, y: running.y });
  }
  return { label, shortLabel, minY: 0, maxY, series };
}

export function requestsChart(state: DashboardState): ChartModel {
  const points = state.requests.items;
  const traffic = state.traffic;
  const label = traffic
    ? `Requests ${formatCount(traffic.rps)}/s · ${formatCount(traffic.rpm)}/min`
    : 'Requests (waiting for stats)';
  const x = points.map((p) => formatClock(p.t));
  const peak = points.reduce((m, p) => Math.max(m, p.rps, p.rpm / 60), 0);
  const series: ChartSeries[] =
    points.length === 0
      ? []
      : [
          { title: 'rpm÷60', color: 'cyan', x, y: points.map((p) => p.rpm / 60) },
          { title: 'req/s', color: 'green', x, y: points.map((p) => p.rps) },
        ];
  const shortLabel = traffic ? `Requests ${formatCount(traffic.rps)}/s` : 'Requests';
  return { label, shortLabel, minY: 0, maxY: niceCeiling(peak * 1.2, 10), series };
}

export function latencyChart(state: DashboardState): ChartModel {
  const points = state.requests.items.filter((p): p is TrafficPoint & { p50: number; p99: number } => p.p50 !== null && p.p99 !== null);
  const traffic = state.traffic;
  const label = traffic ? `Latency p50 ${formatMs(traffic.p50)} · p99 ${formatMs(traffic.p99)}` : 'Latency (waiting for stats)';
  const x = points.map((p) => formatClock(p.t));
  const peak = points.reduce((m, p) => Math.max(m, p.p99), 0);
  const series: ChartSeries[] =
    points.length === 0
      ? []
      : [
          { title: 'p99 ms', color: 'red', x, y: points.map((p) => p.p99) },
          { title: 'p50 ms', color: 'green', x, y: points.map((p) => p.p50) },
        ];
  const shortLabel = traffic ? `p99 ${formatMs(traffic.p99)}` : 'Latency';
  return { label, shortLabel, minY: 0, maxY: niceCeiling(peak * 1.2, 1), series };
}

/**
 * How many y-axis labels blessed-contrib's line chart should draw on a chart
 * `height` rows tall so that no two labels land on the same text row (it
 * draws one every (maxY - 0) / n). Instances get whole-number steps.
 */
export function yLabelCount(id: ChartId, height: number, maxY: number): number {
  const plotPixels = height * 4 - 19; // braille rows: 4 px per text row, minus contrib's paddings
  const fits = Math.max(1, Math.floor(plotPixels / 5));
  if (id === 'instances') {
    const step = Math.max(1, Math.ceil(maxY / fits));
    return maxY / step;
  }
  const choices = id === 'cpu' ? [5, 4, 2] : [5, 2];
  return choices.find((n) => n <= fits) ?? 1;
}

export function chartModel(state: DashboardState, id: ChartId): ChartModel {
  switch (id) {
    case 'cpu':
      return scalingChart(state);
    case 'instances':
      return instancesChart(state);
    case 'requests':
      return requestsChart(state);
    case 'latency':
      return latencyChart(state);
  }
}

// ---------------------------------------------------------------------------
// Instance table

export type RowTone = 'ok' | 'warn' | 'bad' | 'dim';
export interface TableRow { text: string; tone: RowTone }

interface Column { title: string; width: number; align: 'left' | 'right' }
const COLUMNS: Column[] = [
  { title: 'ID', width: 3, align: 'right' },
  { title: 'PORT', width: 5, align: 'right' },
  { title: 'PID', width: 7, align: 'right' },
  { title: 'STATE', width: 9, align: 'left' },
  { title: 'CPU%', width: 5, align: 'right' },
  { title: 'MEM', width: 8, align: 'right' },
  { title: 'REQ/S', width: 6, align: 'right' },
  { title: 'IN-FL', width: 5, align: 'right' },
  { title: 'RESTARTS', width: 8, align: 'right' },
  { title: 'UPTIME', width: 8, align: 'right' },
];

/** What the STATE column says: the lifecycle state, or "unhealthy" when health checks failed. */
export function displayState(w: WorkerSnapshot): string {
  return !w.healthy && (w.state === 'ready' || w.state === 'starting') ? 'unhealthy' : w.state;
}

function rowTone(w: WorkerSnapshot): RowTone {
  if (w.state === 'crashed' || !w.healthy) return 'bad';
  if (w.state === 'ready') return 'ok';
  if (w.state === 'exited') return 'dim';
  return 'warn';
}

function formatCells(cells: readonly string[], width: number): string {
  const natural = COLUMNS.reduce((s, c) => s + c.width, 0);
  const gap = natural + 2 * (COLUMNS.length - 1) <= width ? 2 : 1;
  const text = cells
    .map((cell, i) => {
      const col = COLUMNS[i];
      const fitted = truncate(cell, col.width);
      return col.align === 'right' ? fitted.padStart(col.width) : fitted.padEnd(col.width);
    })
    .join(' '.repeat(gap));
  return truncate(text, width);
}

function isLive(state: WorkerState): boolean {
  return state !== 'exited' && state !== 'crashed';
}

export function workerCells(w: WorkerSnapshot, now: number): string[] {
  return [
    String(w.id),
    w.port > 0 ? String(w.port) : UNKNOWN,
    w.pid === undefined ? UNKNOWN : String(w.pid),
    displayState(w),
    formatPercent(w.cpu),
    formatBytes(w.rss),
    formatCount(w.rps),
    formatCount(w.inFlight),
    formatCount(w.restarts),
    isLive(w.state) ? formatClock(now - w.startedAt) : UNKNOWN,
  ];
}

/** The instance table as fixed-width text: a header line and one row per worker, ordered by id. */
export function instanceTable(state: DashboardState, width: number): { header: string; rows: TableRow[] } {
  return {
    header: formatCells(COLUMNS.map((c) => c.title), width),
    rows: state.workers.map((w) => ({ text: formatCells(workerCells(w, state.now), width), tone: rowTone(w) })),
  };
}

/** The table's title: how many workers serve, and the balancer's traffic in one line (fits any layout). */
export function tableLabel(state: DashboardState, width: number): string {
  const ready = state.workers.filter((w) => w.state === 'ready' && w.healthy).length;
  let text = `Instances: ${ready} ready of ${state.workers.length}`;
  const t = state.traffic;
  if (t) {
    text += ` · balancer ${formatCount(t.rpm)} req/min, ${formatCount(t.rps)} req/s, p50 ${formatMs(t.p50)}, p99 ${formatMs(t.p99)}, in flight ${formatCount(t.inFlight)}, errors ${formatCount(t.errors)}`;
  }
  return truncate(text, width);
}

// ---------------------------------------------------------------------------
// Event log

export function formatLogEntry(entry: LogEntry): string {
  return `${formatRelative(entry.t)} ${entry.text}`;
}

/** The newest `height` log lines, oldest first (newest at the bottom), each cut to `width`. */
export function visibleLog(state: DashboardState, width: number, height: number): Array<{ text: string; level: LogLevel }> {
  if (height <= 0) return [];
  return state.log.items.slice(-height).map((e) => ({ text: truncate(formatLogEntry(e), width), level: e.level }));
}

// ---------------------------------------------------------------------------
// Footer, help, too-small screen

export function footerText(state: DashboardState, width: number, notice: string | null): string {
  const keys = ` q quit · + scale out · - scale in · p ${state.paused ? 'resume' : 'pause'} · ? help`;
  if (!notice) return truncate(keys, width);
  const room = width - keys.length - 3;
  if (room < 12) return truncate(` ${notice}`, width);
  return `${keys}   ${truncate(notice, room)}`;
}

export const HELP_LINES: readonly string[] = [
  'Keys',
  '',
  '  q, Ctrl+C   quit: stop every worker, restore the terminal',
  '  +           scale out by one worker (up to --max)',
  '  -           scale in by one worker (down to --min)',
  '  p           pause / resume automatic scaling',
  '  ?, Esc      show / hide this help',
  '',
  'Panels',
  '',
  '  CPU %       host CPU per tick; red: scale-up, blue: scale-down threshold',
  '  Instances   running (green), desired (magenta), min/max lines',
  '  Requests    req/s in the last second; RPM÷60 = rate over the last 60 s',
  '  Latency     p50 / p99 through the balancer, per 1 s stats period',
  '  Table       one row per worker, refreshed every second',
  '  Events      scaling decisions, worker and health changes, newest last',
];

export function tooSmallLines(state: DashboardState, cols: number, rows: number): string[] {
  const lines = [
    `Terminal too small: ${cols}×${rows}.`,
    `The dashboard needs at least ${MIN_COLS}×${MIN_ROWS}.`,
    'Enlarge the window, or press q to quit.',
    '',
  ];
  if (state.lab) {
    const running = state.counts ? `${state.counts.instances} running` : `${state.workers.length} workers`;
    const cpu = state.cpuNow === null ? UNKNOWN : `${formatPercent(state.cpuNow)} %`;
    lines.push(running, `CPU ${cpu}`, state.paused ? 'autoscaling PAUSED' : 'autoscaling on');
    if (state.traffic) lines.push(`${formatCount(state.traffic.rpm)} req/min`);
  }
  return lines.map((l) => truncate(l, cols));
}

// ---------------------------------------------------------------------------
// Layout

export const MIN_COLS = 80;
export const MIN_ROWS = 24;
export const HEADER_ROWS = 3;
export const FOOTER_ROWS = 1;
const LOG_MIN_ROWS = 5;
const CHART_MAX_ROWS = 16;
const CHART_ROW_MIN_FOR_GRID = 9;

export interface Rect { top: number; left: number; width: number; height: number }
export type Layout =
  | { kind: 'too-small'; cols: number; rows: number }
  | { kind: 'full'; cols: number; rows: number; header: Rect; charts: Array<{ id: ChartId; rect: Rect }>; table: Rect; log: Rect; footer: Rect };

function splitRow(ids: readonly ChartId[], top: number, cols: number, height: number): Array<{ id: ChartId; rect: Rect }> {
  const base = Math.floor(cols / ids.length);
  return ids.map((id, i) => ({
    id,
    rect: { top, left: i * base, width: i === ids.length - 1 ? cols - i * base : base, height },
  }));
}

/**
 * Where each panel goes for a terminal of cols × rows. `tableRows` is how many
 * worker rows the table should fit (usually --max). Below MIN_COLS × MIN_ROWS
 * the dashboard shows a message instead.
 */
export function computeLayout(cols: number, rows: number, tableRows: number): Layout {
  if (cols < MIN_COLS || rows < MIN_ROWS) return { kind: 'too-small', cols, rows };
  const header: Rect = { top: 0, left: 0, width: cols, height: HEADER_ROWS };
  const footer: Rect = { top: rows - FOOTER_ROWS, left: 0, width: cols, height: FOOTER_ROWS };
  const bodyTop = HEADER_ROWS;
  const body = rows - HEADER_ROWS - FOOTER_ROWS;
  const tableHeight = Math.min(10, Math.max(5, tableRows + 3));
  const forCharts = body - tableHeight - LOG_MIN_ROWS;

  let charts: Array<{ id: ChartId; rect: Rect }>;
  let chartsHeight: number;
  const gridRow = Math.min(CHART_MAX_ROWS, Math.floor(((body - tableHeight) * 0.65) / 2));
  if (cols >= 100 && gridRow >= CHART_ROW_MIN_FOR_GRID && gridRow * 2 <= forCharts) {
    charts = [...splitRow(['cpu', 'instances'], bodyTop, cols, gridRow), ...splitRow(['requests', 'latency'], bodyTop + gridRow, cols, gridRow)];
    chartsHeight = gridRow * 2;
  } else {
    chartsHeight = Math.min(CHART_MAX_ROWS, forCharts);
    const ids: ChartId[] = cols >= 140 ? ['cpu', 'instances', 'requests', 'latency'] : ['cpu', 'instances', 'requests'];
    charts = splitRow(ids, bodyTop, cols, chartsHeight);
  }
  const table: Rect = { top: bodyTop + chartsHeight, left: 0, width: cols, height: tableHeight };
  const logTop = table.top + tableHeight;
  const log: Rect = { top: logTop, left: 0, width: cols, height: footer.top - logTop };
  return { kind: 'full', cols, rows, header, charts, table, log, footer };
}
