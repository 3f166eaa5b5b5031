/**
 * From a parsed recording to everything a report shows: the summary
 * (duration, requests, errors, peak instances, reaction time, worker-seconds,
 * cost), the decision table, worker lifecycle highlights, the settings and
 * the chart series. A plain function of its input; no I/O, no clock.
 */
import type { HealthEvent, LabEvent, LabSettings, ScaleEvent, StatsEvent, StoreStatus, TickEvent, TrafficStats, WorkerEvent } from '../events.js';
import { formatRelative } from '../format.js';
import { median, medianReaction, reactionTimes as sharedReactionTimes, type Reaction, type ReactionEvent } from '../policy/reaction.js';
import type { LoadLine, ParsedEvents } from './parse.js';

/** The hourly price one worker is charged at, and where that number comes from. */
export interface Price {
  perHour: number;
  currency: string;
  /** Shown next to the figures, e.g. "AWS EC2 t3.micro, Linux on-demand, us-east-1 (USD 0.0104/h, AWS price list as of 2024)". */
  source: string;
}

/**
 * One small cloud instance per worker: AWS EC2 t3.micro (2 vCPU, 1 GiB),
 * Linux, on-demand, us-east-1, USD 0.0104 per hour — AWS's published
 * on-demand price list, the same figure since t3 launched in 2017 and as of
 * 2024 (the last time it was checked for this tool; prices change, pass
 * --price-per-hour for yours).
 */
export const DEFAULT_PRICE: Price = {
  perHour: 0.0104,
  currency: 'USD',
  source: 'AWS EC2 t3.micro (2 vCPU, 1 GiB), Linux on-demand, region us-east-1: USD 0.0104 per hour, from AWS’s published on-demand price list as of 2024 (not fetched at run time; pass --price-per-hour for your provider)',
};

export type { Reaction };

export interface Decision {
  at: number;
  direction: 'out' | 'in';
  from: number;
  to: number;
  reason: string;
  manual: boolean;
}

export interface Highlight {
  at: number;
  what: string;
  detail: string;
}

export interface Summary {
  durationSec: number;
  requests: number;
  errors: number;
  peakInstances: number;
  peakReady: number;
  reactions: Reaction[];
  /** Median of the reactions that have a number, or null. */
  reactionMedianSec: number | null;
  workerSeconds: number;
  cost: {
    price: Price;
    actual: number;
    /** Running --max workers for the whole run. */
    atMax: number;
    saving: number;
    /** saving / atMax × 100, null for a zero-length run. */
    savingPercent: number | null;
  };
}

export interface ChartSeries {
  /** Driving metric and host CPU per tick; lines for the thresholds or the target band. */
  metric: { x: number[]; value: (number | null)[]; cpu: (number | null)[] };
  /** Step series: every change of worker states or desired. */
  instances: { x: number[]; ready: number[]; starting: number[]; draining: number[]; desired: number[] };
  /** Requests/s and errors/s through the balancer; the generator's offered rate (null without load.ndjson). */
  traffic: { x: number[]; rps: (number | null)[]; errors: (number | null)[]; offered: (number | null)[] | null };
  latency: { x: number[]; p50: (number | null)[]; p95: (number | null)[]; p99: (number | null)[] };
  /** Scaling actions, for the markers. */
  markers: { at: number; direction: 'out' | 'in'; to: number }[];
}

export interface RunModel {
  startedAt: number;
  /** Seconds since lab start of the last recorded moment (the charts' x axis ends here). */
  endSec: number;
  settings: LabSettings;
  pid: number;
  balancerUrl: string;
  stopped: { reason: string; forced: number } | null;
  summary: Summary;
  decisions: Decision[];
  highlights: Highlight[];
  series: ChartSeries;
  /** Visits by worker from the lab's store reports (null when the recording has none). */
  visits: RunVisits | null;
  /** Visible notes: what is missing or was cut, in words. */
  notes: string[];
  counts: { ticks: number; stats: number; loadLines: number };
}

/** This run's acknowledged visits per worker, as the lab last reported them (its `store` field). */
export interface RunVisits {
  kind: string;
  where: string;
  total: number;
  /** Share of `total` in %, per worker id, lowest id first. */
  byWorker: { worker: number; visits: number; share: number }[];
  /** 'stopped' (final counts, after every worker's last report) or the time of the last tick/stats that had them. */
  source: string;
}

/** From the stopped event's store, else the latest tick/stats that carried one. */
export function runVisits(events: readonly LabEvent[]): RunVisits | null {
  let found: { store: StoreStatus; source: string } | null = null;
  for (const e of events) {
    if ((e.type === 'stopped' || e.type === 'tick' || e.type === 'stats') && e.store) {
      if (e.type === 'stopped') found = { store: e.store, source: 'stopped' };
      else if (found?.source !== 'stopped') found = { store: e.store, source: `at ${formatRelative(e.t)}` };
    }
  }
  if (found === null) return null;
  const { store } = found;
  const byWorker = Object.entries(store.visitsByWorker)
    .map(([id, n]) => ({ worker: Number(id), visits: n, share: store.visits > 0 ? (n / store.visits) * 100 : 0 }))
    .sort((a, b) => a.worker - b.worker);
  return { kind: store.kind, where: store.where, total: store.visits, byWorker, source: found.source };
}

export interface AggregateInput {
  parsed: ParsedEvents;
  /** load.ndjson lines, or null when the file is absent. */
  load: { lines: LoadLine[]; problems: string[] } | null;
  price?: Price;
  /** True while the lab is still running (the report is of a run in progress). */
  inProgress?: boolean;
}

const sec = (ms: number) => ms / 1000;

/**
 * Events in time order. The lab publishes a tick's scale event (and the worker
 * it forks) before the tick itself, with the tick's time or just after it: at
 * equal times the tick, whose decision caused the action, comes first.
 */
export function byTime(a: LabEvent, b: LabEvent): number {
  return a.t - b.t || (a.type === 'tick' ? 0 : 1) - (b.type === 'tick' ? 0 : 1);
}
const LIVE = new Set(['starting', 'ready', 'draining', 'stopping']);

export function aggregate(input: AggregateInput): RunModel {
  const { parsed } = input;
  const price = input.price ?? DEFAULT_PRICE;
  const started = parsed.started;
  const settings = started.config;
  const events = [...parsed.events].sort(byTime);
  const stoppedEvent = events.find((e) => e.type === 'stopped');
  const lastT = events.length > 0 ? events[events.length - 1].t : started.t;
  const endT = stoppedEvent ? stoppedEvent.t : lastT;
  const durationSec = Math.max(0, sec(endT - started.t));

  const ticks = events.filter((e): e is TickEvent => e.type === 'tick');
  const stats = events.filter((e): e is StatsEvent => e.type === 'stats');
  const scales = events.filter((e): e is ScaleEvent => e.type === 'scale');

  const lifecycle = workerLifecycle(events, endT, settings.min, started.t);
  const traffic = lastTraffic(events);
  const reactions = reactionTimes(events, settings);
  const workerSeconds = lifecycle.workerSeconds;
  const actual = (workerSeconds / 3600) * price.perHour;
  const atMax = ((settings.max * durationSec) / 3600) * price.perHour;

  const notes = [...parsed.problems];
  for (const n of parsed.recorderNotes) notes.push(`at ${formatRelative(n.t)}: ${n.note}`);
  if (!stoppedEvent) {
    notes.push(
      input.inProgress
        ? `the run was still in progress when this report was made: it covers up to ${formatRelative(lastT)}, the last recorded event`
        : `the recording has no "stopped" line (the lab was killed or crashed): the report covers up to ${formatRelative(lastT)}, the last recorded event; workers still running then are counted up to that moment`,
    );
  }
  if (ticks.length === 0) notes.push(`no tick was recorded (the lab stopped before its first ${settings.interval} s tick): the metric and latency charts are empty and no reaction time can be measured`);
  if (input.load === null) notes.push('no load.ndjson in the run directory: the offered rate is not shown (run `autoscale load --record` while the lab runs to record it)');
  else {
    notes.push(...input.load.problems);
    if (input.load.lines.length === 0) notes.push('load.ndjson has no usable line: the offered rate is not shown');
  }

  return {
    startedAt: started.startedAt,
    endSec: sec(endT),
    settings,
    pid: started.pid,
    balancerUrl: started.balancerUrl,
    stopped: stoppedEvent ? { reason: stoppedEvent.reason, forced: stoppedEvent.forced } : null,
    summary: {
      durationSec,
      requests: traffic?.total ?? 0,
      errors: traffic?.errors ?? 0,
      peakInstances: lifecycle.peakLive,
      peakReady: lifecycle.peakReady,
      reactions,
      reactionMedianSec: medianReaction(reactions),
      workerSeconds,
      cost: { price, actual, atMax, saving: atMax - actual, savingPercent: atMax > 0 ? ((atMax - actual) / atMax) * 100 : null },
    },
    decisions: scales.map((s) => ({ at: sec(s.t), direction: s.direction, from: s.from, to: s.to, reason: s.reason, manual: s.manual })),
    highlights: highlights(events),
    visits: runVisits(events),
    series: {
      metric: { x: ticks.map((e) => sec(e.t)), value: ticks.map((e) => e.value), cpu: ticks.map((e) => e.cpu) },
      instances: lifecycle.series,
      traffic: trafficSeries(events, input.load?.lines ?? null, started.startedAt),
      latency: { x: ticks.map((e) => sec(e.t)), p50: ticks.map((e) => e.traffic.p50), p95: ticks.map((e) => e.traffic.p95), p99: ticks.map((e) => e.traffic.p99) },
      markers: scales.map((s) => ({ at: sec(s.t), direction: s.direction, to: s.to })),
    },
    notes,
    counts: { ticks: ticks.length, stats: stats.length, loadLines: input.load?.lines.length ?? 0 },
  };
}

/**
 * Reaction time, each occurrence (src/policy/reaction.ts holds the one
 * definition): the recorded ticks, automatic scale-outs and worker forks and
 * readies, in time order.
 */
export function reactionTimes(events: LabEvent[], s: Pick<LabSettings, 'policy' | 'scaleUp' | 'target' | 'tolerance' | 'max'>): Reaction[] {
  return sharedReactionTimes(reactionEvents(events), s);
}

export function* reactionEvents(events: LabEvent[]): Generator<ReactionEvent> {
  for (const e of [...events].sort(byTime)) {
    if (e.type === 'tick') yield { kind: 'tick', t: e.t, value: e.value, desired: e.desired };
    else if (e.type === 'scale' && e.direction === 'out') yield { kind: 'scale-out', t: e.t, manual: e.manual };
    else if (e.type === 'worker' && e.from === null && e.state === 'starting') yield { kind: 'fork', t: e.t, id: e.id };
    else if (e.type === 'worker' && e.state === 'ready') yield { kind: 'ready', t: e.t, id: e.id };
  }
}

export { median };

/**
 * Replays the worker events: seconds each worker process existed (from fork to
 * exit or crash; still running at the end of the recording counts up to it),
 * the peaks, and the instance step series (ready, starting, draining +
 * stopping, desired).
 */
export function workerLifecycle(events: LabEvent[], endT: number, min: number, startT = 0) {
  const sorted = [...events].sort(byTime);
  const state = new Map<number, string>();
  const since = new Map<number, number>();
  let workerMs = 0;
  let desired = min;
  let peakLive = 0;
  let peakReady = 0;
  const series = { x: [] as number[], ready: [] as number[], starting: [] as number[], draining: [] as number[], desired: [] as number[] };
  const push = (t: number) => {
    let ready = 0;
    let starting = 0;
    let draining = 0;
    for (const st of state.values()) {
      if (st === 'ready') ready++;
      else if (st === 'starting') starting++;
      else if (st === 'draining' || st === 'stopping') draining++;
    }
    peakLive = Math.max(peakLive, ready + starting + draining);
    peakReady = Math.max(peakReady, ready);
    const x = sec(t);
    const i = series.x.length - 1;
    if (i >= 0 && series.x[i] === x) {
      series.ready[i] = ready;
      series.starting[i] = starting;
      series.draining[i] = draining;
      series.desired[i] = desired;
      return;
    }
    series.x.push(x);
    series.ready.push(ready);
    series.starting.push(starting);
    series.draining.push(draining);
    series.desired.push(desired);
  };
  push(startT);
  for (const e of sorted) {
    if (e.type === 'worker') {
      const w = e as WorkerEvent;
      if (LIVE.has(w.state)) {
        if (!since.has(w.id)) since.set(w.id, w.t);
        state.set(w.id, w.state);
      } else {
        const from = since.get(w.id);
        if (from !== undefined) workerMs += w.t - from;
        since.delete(w.id);
        state.delete(w.id);
      }
      push(w.t);
    } else if (e.type === 'scale') {
      desired = e.to;
      push(e.t);
    }
  }
  for (const from of since.values()) workerMs += Math.max(0, endT - from);
  push(endT);
  return { workerSeconds: workerMs / 1000, peakLive, peakReady, series };
}

function lastTraffic(events: LabEvent[]): TrafficStats | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'tick' || e.type === 'stats') return e.traffic;
  }
  return null;
}

/**
 * Requests/s (the balancer's last full second), errors/s (difference of the
 * lifetime error count between samples) and the generator's offered rate
 * (sent / dt of each load.ndjson line, placed by its wall clock; 0 between
 * load runs) on one x axis. Series without a value at an x are null there and
 * drawn across (spanGaps).
 */
export function trafficSeries(events: LabEvent[], load: LoadLine[] | null, startedAt: number): ChartSeries['traffic'] {
  const samples = events.filter((e): e is TickEvent | StatsEvent => e.type === 'tick' || e.type === 'stats').sort((a, b) => a.t - b.t);
  const points = new Map<number, { rps: number | null; errors: number | null; offered: number | null }>();
  const at = (x: number) => {
    const k = Math.round(x * 1000) / 1000;
    let p = points.get(k);
    if (!p) points.set(k, (p = { rps: null, errors: null, offered: null }));
    return p;
  };
  let prev: { t: number; errors: number } | null = null;
  for (const s of samples) {
    const p = at(sec(s.t));
    p.rps = s.traffic.rps;
    p.errors = prev === null ? 0 : errorsPerSecond(prev, { t: s.t, errors: s.traffic.errors });
    prev = { t: s.t, errors: s.traffic.errors };
  }
  if (load !== null && load.length > 0) {
    const lines = load.filter((l) => typeof l.at === 'number').sort((a, b) => a.at! - b.at!);
    // Before the first load run and between runs the generator offered nothing.
    at(0).offered = 0;
    let prevEnd: number | null = null;
    for (const l of lines) {
      const end = sec(l.at! - startedAt);
      const begin = end - l.dt;
      if (prevEnd === null || begin - prevEnd > 1.5) {
        if (prevEnd !== null) at(prevEnd + 0.001).offered = 0;
        at(Math.max(0, begin)).offered = 0;
      }
      at(end).offered = l.dt > 0 ? l.sent / l.dt : 0;
      prevEnd = end;
    }
    if (prevEnd !== null) at(prevEnd + 0.001).offered = 0;
  }
  const xs = [...points.keys()].filter((x) => x >= 0).sort((a, b) => a - b);
  return {
    x: xs,
    rps: xs.map((x) => points.get(x)!.rps),
    errors: xs.map((x) => points.get(x)!.errors),
    offered: load !== null && load.length > 0 ? xs.map((x) => points.get(x)!.offered) : null,
  };
}

/** Errors per second between two samples of the balancer's lifetime error count (t in ms); 0 when no time passed. */
export function errorsPerSecond(prev: { t: number; errors: number }, cur: { t: number; errors: number }): number {
  return cur.t > prev.t ? Math.max(0, (cur.errors - prev.errors) / sec(cur.t - prev.t)) : 0;
}

/** Crashes, replacements, health changes, forced kills, pause/resume, the stop. */
export function highlights(events: LabEvent[]): Highlight[] {
  const out: Highlight[] = [];
  for (const e of [...events].sort(byTime)) {
    if (e.type === 'worker') {
      if (e.state === 'crashed') out.push({ at: sec(e.t), what: `worker ${e.id} crashed`, detail: e.detail });
      else if (e.from === null && /^replacement/.test(e.detail)) out.push({ at: sec(e.t), what: `worker ${e.id} started as a replacement`, detail: e.detail });
      else if (e.state === 'exited' && /SIGKILL/.test(e.detail)) out.push({ at: sec(e.t), what: `worker ${e.id} needed SIGKILL`, detail: e.detail });
    } else if (e.type === 'health') {
      const h = e as HealthEvent;
      out.push({ at: sec(h.t), what: `worker ${h.id} ${h.healthy ? 'healthy again' : 'failed health checks'}`, detail: h.detail });
    } else if (e.type === 'paused') {
      out.push({ at: sec(e.t), what: e.paused ? 'autoscaling paused' : 'autoscaling resumed', detail: '' });
    } else if (e.type === 'stopped') {
      out.push({ at: sec(e.t), what: 'lab stopped', detail: `${e.reason}; ${e.forced} worker${e.forced === 1 ? '' : 's'} needed SIGKILL` });
    }
  }
  return out;
}
