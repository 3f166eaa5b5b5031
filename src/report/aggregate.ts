/**
 * From a parsed recording to everything a report shows: the summary
 * (duration, requests, errors, peak instances, reaction time, worker-seconds,
 * cost), the decision table, worker lifecycle highlights, the settings and
 * the chart series. A plain function of its input; no I/O, no clock.
 */
import { runAlarms, type AlarmBand, type RunAlarm } from './alarms.js';
import type { HealthEvent, HintEvent, LabEvent, LabSettings, ScaleEvent, StatsEvent, StoreStatus, TickEvent, TrafficStats, WorkerEvent } from '../events.js';
import { formatRelative } from '../format.js';
import { median, medianReaction, reactionTimes as sharedReactionTimes, type Reaction, type ReactionEvent } from '../policy/reaction.js';
import { workerSeconds as countWorkerSeconds, workerSpans } from '../policy/worker-seconds.js';
import type { LoadLine, RecordedSettings, RunEvents, RunLoad } from '../runs/read.js';



import { DEFAULT_PRICE, type Price } from './price.js';

export type { Reaction };

/** One scaling action as the report's decision table lists it (the policy's own decision type is policy/decide.ts `Decision`). */
export interface ScalingAction {
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
  /** Every reaction: the metric's crossings and the scales from zero (`trigger`). */
  reactions: Reaction[];
  /** Median of the metric's reactions that have a number, or null (src/policy/reaction.ts). */
  reactionMedianSec: number | null;
  /** Median of the scales from zero (first held request → its worker ready), or null. */
  fromZeroMedianSec: number | null;
  /** Held requests sent on once a worker was ready, as the lab measured them (its 'cold-start' events). */
  coldStarts: ColdStart[];
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
  /** Host CPU over the ticks that measured its split: mean %, the lab's own processes and everything else (null: none did). */
  hostCpu: { mean: number; lab: number; other: number } | null;
  /** The lab's busy-host hint (host above the scale-in threshold before any load), if it gave one. */
  busyHost: string | null;
}

/** One release of held requests: when, how many, how long the first of them waited, and whether a worker had to be started (scale from zero). */
export interface ColdStart {
  at: number;
  held: number;
  waitedMs: number;
  fromZero: boolean;
}

/** Means of the ticks' host CPU split (ticks recorded without one are left out). */
function hostCpuSplit(ticks: ReadonlyArray<{ cpu: number | null; cpuSplit?: { lab: number; other: number } }>): Summary['hostCpu'] {
  const split = ticks.filter((e) => e.cpu !== null && e.cpuSplit !== undefined);
  if (split.length === 0) return null;
  const mean = (f: (e: (typeof split)[number]) => number) => split.reduce((a, e) => a + f(e), 0) / split.length;
  return { mean: mean((e) => e.cpu!), lab: mean((e) => e.cpuSplit!.lab), other: mean((e) => e.cpuSplit!.other) };
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
  /** Each alarm's states over time, for a band per alarm on the first chart (absent in runs without alarms). */
  alarms?: Array<{ name: string; bands: AlarmBand[] }>;
}

export interface RunModel {
  startedAt: number;
  /** Seconds since lab start of the last recorded moment (the charts' x axis ends here). */
  endSec: number;
  settings: RecordedSettings;
  pid: number;
  balancerUrl: string;
  stopped: { reason: string; forced: number } | null;
  summary: Summary;
  decisions: ScalingAction[];
  /** The run's alarms with their transitions ([] without alarms). */
  alarms: RunAlarm[];
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
  parsed: RunEvents;
  /** load.ndjson as read (src/runs/read.ts), or null when the file is absent. */
  load: RunLoad | null;
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
  // The end of the recording, as the reader defines it for every command (the stopped line, else the latest event).
  const endT = parsed.endT;
  const durationSec = Math.max(0, sec(endT - started.t));

  const ticks = events.filter((e): e is TickEvent => e.type === 'tick');
  const stats = events.filter((e): e is StatsEvent => e.type === 'stats');
  const scales = events.filter((e): e is ScaleEvent => e.type === 'scale');

  const alarms = runAlarms(settings.alarms ?? [], events, sec(started.t), sec(endT));
  const lifecycle = workerLifecycle(events, endT, settings.min, started.t);
  const traffic = lastTraffic(events);
  const reactions = reactionTimes(events, settings);
  // The one definition (src/policy/worker-seconds.ts), the one `autoscale replay` prints for the recorded run.
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
    const noClock = input.load.lines.filter((l) => l.at === null).length;
    if (noClock > 0) {
      notes.push(`${noClock} load.ndjson line${noClock === 1 ? ' has' : 's have'} no wall-clock "at" field (written before autoscale load recorded it) and cannot be placed on the run's time axis: the offered rate leaves ${noClock === 1 ? 'it' : 'them'} out (\`autoscale replay\` places such lines by correlation)`);
    }
    if (input.load.lines.length === noClock) notes.push('load.ndjson has no usable line: the offered rate is not shown');
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
      fromZeroMedianSec: medianReaction(reactions, 'from zero'),
      coldStarts: events.flatMap((e) => (e.type === 'cold-start' ? [{ at: sec(e.t), held: e.held, waitedMs: e.waitedMs, fromZero: e.fromZero }] : [])),
      workerSeconds,
      cost: { price, actual, atMax, saving: atMax - actual, savingPercent: atMax > 0 ? ((atMax - actual) / atMax) * 100 : null },
      hostCpu: hostCpuSplit(ticks),
      busyHost: events.find((e): e is HintEvent => e.type === 'hint' && e.topic === 'busy-host')?.text ?? null,
    },
    decisions: scales.map((s) => ({ at: sec(s.t), direction: s.direction, from: s.from, to: s.to, reason: s.reason, manual: s.manual })),
    alarms,
    highlights: highlights(events),
    visits: runVisits(events),
    series: {
      metric: { x: ticks.map((e) => sec(e.t)), value: ticks.map((e) => e.value), cpu: ticks.map((e) => e.cpu) },
      instances: lifecycle.series,
      traffic: trafficSeries(events, input.load?.lines.filter((l) => l.at !== null) ?? null, started.startedAt),
      latency: { x: ticks.map((e) => sec(e.t)), p50: ticks.map((e) => e.traffic.p50), p95: ticks.map((e) => e.traffic.p95), p99: ticks.map((e) => e.traffic.p99) },
      markers: scales.map((s) => ({ at: sec(s.t), direction: s.direction, to: s.to })),
      ...(alarms.length > 0 ? { alarms: alarms.map((a) => ({ name: a.name, bands: a.bands })) } : {}),
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
export function reactionTimes(events: readonly LabEvent[], s: Pick<LabSettings, 'policy' | 'scaleUp' | 'target' | 'tolerance' | 'max' | 'stepScaling'>): Reaction[] {
  return sharedReactionTimes(reactionEvents(events), s);
}

export function* reactionEvents(events: readonly LabEvent[]): Generator<ReactionEvent> {
  for (const e of [...events].sort(byTime)) {
    if (e.type === 'tick') yield { kind: 'tick', t: e.t, value: e.value, desired: e.desired };
    else if (e.type === 'scale' && e.direction === 'out') yield { kind: 'scale-out', t: e.t, manual: e.manual, from: e.from };
    else if (e.type === 'worker' && e.from === null && e.state === 'starting') yield { kind: 'fork', t: e.t, id: e.id };
    else if (e.type === 'worker' && e.state === 'ready') yield { kind: 'ready', t: e.t, id: e.id };
  }
}

export { median };

/**
 * Replays the worker events: worker-seconds (the one definition,
 * src/policy/worker-seconds.ts: fork to leaving the pool, draining not
 * counted; still live at the end of the recording counts up to it), the
 * peaks, and the instance step series (ready, starting, draining + stopping,
 * desired). Linear in the events: the counts per state are kept as the
 * states change, never recounted over the workers.
 */
export function workerLifecycle(events: readonly LabEvent[], endT: number, min: number, startT = 0) {
  const sorted = [...events].sort(byTime);
  const state = new Map<number, string>();
  const counts = { ready: 0, starting: 0, draining: 0 };
  const bucket = (st: string | undefined): keyof typeof counts | null =>
    st === 'ready' ? 'ready' : st === 'starting' ? 'starting' : st === 'draining' || st === 'stopping' ? 'draining' : null;
  let desired = min;
  let peakLive = 0;
  let peakReady = 0;
  const series = { x: [] as number[], ready: [] as number[], starting: [] as number[], draining: [] as number[], desired: [] as number[] };
  const push = (t: number) => {
    const { ready, starting, draining } = counts;
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
  const transitions: WorkerEvent[] = [];
  for (const e of sorted) {
    if (e.type === 'worker') {
      const w = e as WorkerEvent;
      transitions.push(w);
      const before = bucket(state.get(w.id));
      if (before !== null) counts[before]--;
      if (LIVE.has(w.state)) {
        state.set(w.id, w.state);
        const after = bucket(w.state);
        if (after !== null) counts[after]++;
      } else {
        state.delete(w.id);
      }
      push(w.t);
    } else if (e.type === 'scale') {
      desired = e.to;
      push(e.t);
    }
  }
  push(endT);
  return { workerSeconds: countWorkerSeconds(workerSpans(transitions).values(), endT), peakLive, peakReady, series };
}

function lastTraffic(events: readonly LabEvent[]): TrafficStats | null {
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
export function trafficSeries(events: readonly LabEvent[], load: readonly LoadLine[] | null, startedAt: number): ChartSeries['traffic'] {
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
export function highlights(events: readonly LabEvent[]): Highlight[] {
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
