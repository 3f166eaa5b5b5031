/**
 * The lab's own Prometheus metrics (prom-client registry). Nothing here runs
 * per request: gauges read the lab's state when scraped, counters of events
 * (scale actions, cold starts, commands) follow the event stream, and the
 * balancer's per-worker counters and lifetime latency histogram are read at
 * scrape time and exported as deltas / buckets. Under `--balancer l4` the
 * balancer sees connections, not requests: the series only an HTTP proxy can
 * know (responses by class and worker, health-check failures, per-worker in
 * flight, held requests, latency) are left out rather than shown as zeros.
 */
import type { Histogram as Hdr, JsHistogram } from 'hdr-histogram-js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { FrontEnd, ProxyMetrics } from '../balancer/front-end.js';
import type { AlarmStatus, LabEvents, TickEvent, WorkerSnapshot, WorkerState } from '../events.js';
import { ALARM_STATES } from '../alarms/evaluate.js';

/** What the exporter reads from a running lab. */
export interface MetricsSource {
  events: LabEvents;
  desired(): number;
  paused(): boolean;
  workers(): WorkerSnapshot[];
  /** What only the L7 balancer knows (null under --balancer l4). */
  l7: L7MetricsSource | null;
  /** Which metric drives scaling. */
  metric: string;
  /** Every alarm's state now, with the metric it watches (absent or [] without alarms). */
  alarms?: () => ReadonlyArray<AlarmStatus & { metric: string }>;
}

/** What only an HTTP proxy knows: the front end's own `proxyMetrics()`. */
export type L7MetricsSource = ProxyMetrics;

/** The L7 balancer's part of the metrics, or null for a front end that does not see requests (L4). */
export function l7MetricsSource(balancer: Pick<FrontEnd, 'proxyMetrics'>): L7MetricsSource | null {
  return balancer.proxyMetrics();
}

const STATES: readonly WorkerState[] = ['backoff', 'starting', 'ready', 'draining', 'stopping', 'exited', 'crashed'];
/** Prometheus' default buckets, seconds. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * A histogram whose buckets come from the balancer's lifetime HDR histogram at
 * scrape time (no observe() per request), registered with prom-client, which
 * formats it like its own. _sum is the HDR mean × count (3 significant digits).
 */
function registerHdrHistogram(registry: Registry, name: string, help: string, read: () => Readonly<Hdr>): void {
  const get = async () => {
    const h = read() as unknown as JsHistogram;
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    // Cumulative counts at each bound: sum the HDR counts array up to the bound's index (µs).
    let i = 0;
    let cumulative = 0;
    const total = h.totalCount;
    for (const le of LATENCY_BUCKETS) {
      const last = Math.min(h.countsArrayIndex(Math.round(le * 1e6)), h.countsArrayLength - 1);
      for (; i <= last; i++) cumulative += h.getCountAtIndex(i);
      values.push({ labels: { le }, value: Math.min(cumulative, total), metricName: `${name}_bucket` });
    }
    values.push({ labels: { le: '+Inf' }, value: total, metricName: `${name}_bucket` });
    values.push({ labels: {}, value: total === 0 ? 0 : (h.mean * total) / 1e6, metricName: `${name}_sum` });
    values.push({ labels: {}, value: total, metricName: `${name}_count` });
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  registry.registerMetric({ name, help, type: 'histogram', aggregator: 'sum', get, reset: () => {} } as unknown as Metric);
}

/** Counts that only grow, exported from lifetime totals read at scrape time. */
class Deltas {
  readonly #seen = new Map<string, number>();
  /** Increase `counter{labels}` to `total` (never down: a counter). */
  bump(counter: Counter, labels: Record<string, string>, total: number): void {
    const key = JSON.stringify(labels);
    const before = this.#seen.get(key) ?? 0;
    if (total > before) counter.inc(labels, total - before);
    else if (!this.#seen.has(key)) counter.inc(labels, 0);
    this.#seen.set(key, Math.max(before, total));
  }
}

export function createLabMetrics(src: MetricsSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges that prom-client names *_total: promtool check metrics rejects them.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const reg = [registry];
  let lastTick: TickEvent | null = null;
  src.events.on('tick', (e) => (lastTick = e));

  new Gauge({
    name: 'autoscale_workers',
    help: 'Worker processes by state (starting and ready ones count toward desired)',
    labelNames: ['state'],
    registers: reg,
    collect() {
      this.reset();
      const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
      for (const w of src.workers()) counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({ name: 'autoscale_workers_desired', help: 'Worker count the lab is steering to', registers: reg, collect() { this.set(src.desired()); } });
  new Gauge({ name: 'autoscale_paused', help: '1 while automatic scaling is paused', registers: reg, collect() { this.set(src.paused() ? 1 : 0); } });
  new Gauge({
    name: 'autoscale_metric_value',
    help: 'Every scaling metric at the last tick (driving="true" for the one the policy uses); host-cpu and worker-cpu in %, rps in req/s, p95 in ms',
    labelNames: ['metric', 'driving'],
    registers: reg,
    collect() {
      this.reset();
      if (lastTick === null) return;
      for (const [metric, v] of Object.entries(lastTick.metrics)) if (v !== null) this.set({ metric, driving: String(metric === src.metric) }, v);
    },
  });
  new Gauge({
    name: 'autoscale_host_cpu_ratio',
    help: 'Host CPU busy share at the last tick (0–1)',
    registers: reg,
    collect() {
      if (lastTick?.cpu != null) this.set(lastTick.cpu / 100);
    },
  });

  const scaleActions = new Counter({ name: 'autoscale_scale_actions_total', help: 'Scaling actions by direction and trigger (auto: the policy or a cold start; manual: a command)', labelNames: ['direction', 'trigger'], registers: reg });
  for (const direction of ['out', 'in']) for (const trigger of ['auto', 'manual']) scaleActions.inc({ direction, trigger }, 0);
  src.events.on('scale', (e) => scaleActions.inc({ direction: e.direction, trigger: e.manual ? 'manual' : 'auto' }));

  const commands = new Counter({ name: 'autoscale_commands_total', help: 'Operator commands by verb, source and result', labelNames: ['command', 'source', 'result'], registers: reg });
  src.events.on('command', (e) => commands.inc({ command: e.command.split(' ')[0], source: e.source, result: e.ok ? 'ok' : 'refused' }));

  const coldStarts = new Counter({ name: 'autoscale_cold_starts_total', help: 'Times a request found no worker and one had to start', registers: reg });
  const coldWait = new Histogram({ name: 'autoscale_cold_start_wait_seconds', help: 'How long the first held request waited for a worker', buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30], registers: reg });
  coldStarts.inc(0);
  src.events.on('cold-start', (e) => {
    if (e.fromZero) coldStarts.inc();
    coldWait.observe(e.waitedMs / 1000);
  });

  if (src.alarms !== undefined) registerAlarms(registry, src.events, src.alarms);
  if (src.l7 !== null) registerL7(registry, src.l7);
  return registry;
}

/**
 * Alarms as Prometheus shows its own alerting rules: `autoscale_alerts` is
 * the lab's ALERTS series (1 per alarm in ALARM, alertstate="firing"; absent
 * otherwise, so `count(autoscale_alerts)` is what is firing). Not named ALERTS
 * itself: a Prometheus scraping the lab keeps that name for its own rules.
 * Every alarm's state one-hot, and transitions counted, for graphs.
 */
function registerAlarms(registry: Registry, events: LabEvents, alarms: NonNullable<MetricsSource['alarms']>): void {
  const reg = [registry];
  new Gauge({
    name: 'autoscale_alerts',
    help: 'Alarms now in ALARM, as Prometheus ALERTS: 1 with alertstate="firing" (no series while OK or INSUFFICIENT_DATA)',
    labelNames: ['alertname', 'alertstate', 'metric'],
    registers: reg,
    collect() {
      this.reset();
      for (const a of alarms()) if (a.state === 'ALARM') this.set({ alertname: a.name, alertstate: 'firing', metric: a.metric }, 1);
    },
  });
  new Gauge({
    name: 'autoscale_alarm_state',
    help: "Each alarm's state, one-hot: 1 for the state it is in (OK, ALARM, INSUFFICIENT_DATA), 0 for the others",
    labelNames: ['alarm', 'state'],
    registers: reg,
    collect() {
      this.reset();
      for (const a of alarms()) for (const state of ALARM_STATES) this.set({ alarm: a.name, state }, a.state === state ? 1 : 0);
    },
  });
  const transitions = new Counter({ name: 'autoscale_alarm_transitions_total', help: 'Alarm state changes by alarm and new state', labelNames: ['alarm', 'to'], registers: reg });
  for (const a of alarms()) for (const to of ALARM_STATES) transitions.inc({ alarm: a.name, to }, 0);
  events.on('alarm', (e) => transitions.inc({ alarm: e.alarm, to: e.to }));
}

/** The series only an HTTP proxy can know. */
function registerL7(registry: Registry, src: L7MetricsSource): void {
  const reg = [registry];
  const deltas = new Deltas();
  new Gauge({
    name: 'autoscale_held_requests',
    help: 'Requests waiting now for a worker (the pool is at zero or has none ready)',
    registers: reg,
    collect() {
      this.set(src.holdStats()?.held ?? 0);
    },
  });
  const holds = new Counter({
    name: 'autoscale_hold_outcomes_total',
    help: 'Requests that found no worker: released to one, timed out (503), or refused because the hold queue was full (503)',
    labelNames: ['outcome'],
    registers: reg,
    collect() {
      const h = src.holdStats();
      if (h === null) return;
      deltas.bump(holds, { outcome: 'released' }, h.released);
      deltas.bump(holds, { outcome: 'timed_out' }, h.timedOut);
      deltas.bump(holds, { outcome: 'rejected_full' }, h.rejected);
    },
  });

  const requests = new Counter({
    name: 'autoscale_balancer_requests_total',
    help: 'Responses through the balancer by status class and worker (worker="none": answered by the balancer itself)',
    labelNames: ['status_class', 'worker'],
    registers: reg,
    collect() {
      const { workers, ownByClass } = src.workerCounts();
      for (const w of workers) for (let c = 1; c <= 5; c++) if (w.byClass[c] > 0) deltas.bump(requests, { status_class: CLASSES[c - 1], worker: String(w.id) }, w.byClass[c]);
      for (let c = 1; c <= 5; c++) if (ownByClass[c] > 0) deltas.bump(requests, { status_class: CLASSES[c - 1], worker: 'none' }, ownByClass[c]);
    },
  });
  const healthFailures = new Counter({
    name: 'autoscale_health_check_failures_total',
    help: 'Failed active health checks (GET /health) by worker',
    labelNames: ['worker'],
    registers: reg,
    collect() {
      for (const w of src.workerCounts().workers) deltas.bump(healthFailures, { worker: String(w.id) }, w.healthFailures);
    },
  });
  new Gauge({
    name: 'autoscale_worker_in_flight_requests',
    help: 'Requests in flight through the balancer to each worker now',
    labelNames: ['worker'],
    registers: reg,
    collect() {
      this.reset();
      for (const w of src.workerCounts().workers) if (!w.gone) this.set({ worker: String(w.id) }, w.inFlight);
    },
  });
  registerHdrHistogram(registry, 'autoscale_balancer_request_duration_seconds', 'Time from a request arriving at the balancer to its response finishing', src.latency);
}
