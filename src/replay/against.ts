/**
 * Replay checked against reality. Two recorded runs A and B with the same
 * load (two arms of an experiment, or two `autoscale start` runs fed the same
 * `autoscale load --record` profile): replay A's recording under B's recorded
 * settings and put the answer side by side with what B really did.
 *
 *   compareAgainst(a: RecordedRun, b: RecordedRun, options?) -> AgainstComparison
 *
 * - `a`, `b`: the runs as the run reader gives them (`readRun(dir)`).
 * - `options.model`: 'residual' (default: A's recorded observations, changed
 *   only where the instance count differs, src/replay/residual.ts) or
 *   'calibrated' (the capacity model calibrated from A, as `replay` without
 *   --against); `options.sloMs` (default 200) for the seconds over the SLO;
 *   `options.cores` when A's recording does not say (default: this machine's).
 * - Returns a plain object (JSON-safe): both runs' figures over the same
 *   window from the load's start (peak, scale actions out/in and their times,
 *   worker-seconds, median reaction, seconds over the SLO, failed requests),
 *   the share of B's ticks where the replay had B's instance count, the
 *   model's measured error on the policy's metric, the replayed actions that
 *   sat within it of their threshold ("knife edges"), and the range of each
 *   figure when the metric is moved by that error either way.
 * - Throws UsageError (one line; the CLI exits 2) when the runs did not see
 *   the same load, or a recording lacks what the model needs.
 * Pure: no I/O, no clock.
 */
import { availableParallelism } from 'node:os';
import { POLICY_FLAGS } from '../settings/flags.js';
import { UsageError } from '../errors.js';
import { STEP_RESOLVED_KEY, type LabConfig, type RawSettings } from '../settings/config.js';
import { measure } from '../policy/measure.js';
import { reactionTimes, simulatedReactionEvents, type Reaction } from '../policy/reaction.js';
import { describeStepScaling as stepRule } from '../policy/step-scaling.js';
import { simulate, type SimResult } from '../simulate/engine.js';
import { resolvePolicy } from '../settings/policy-flags.js';
import { attachForecast } from '../simulate/history.js';
import { median, policyRow } from '../simulate/summary.js';
import { calibrate, type Calibration } from './calibrate.js';
import { fidelity, NO_LATENCY_L4, recordedLive, recordedRow } from './fidelity.js';
import type { RecordedRun } from './recording.js';
import { meanOver, replayResidual, residualLimits, residualTick } from './residual.js';
import { usesTargetRule } from '../policy/rules.js';

export type ReplayModel = 'residual' | 'calibrated';
export const REPLAY_MODELS: readonly ReplayModel[] = ['residual', 'calibrated'];

export interface AgainstOptions {
  model?: ReplayModel;
  sloMs?: number;
  cores?: number;
}

export interface Figures {
  peak: number;
  scaleOut: number;
  scaleIn: number;
  /** Each scale action: seconds since the load started, and its direction. */
  actions: Array<{ t: number; direction: 'out' | 'in'; from: number; to: number }>;
  workerSeconds: number;
  /** Median seconds from crossing the scale-out threshold to the added worker ready (null: none). */
  medianReactionS: number | null;
  /** null: the run has no latency to compare (recorded under L4). */
  secondsOverSlo: number | null;
  failed: number;
}

export interface AgainstComparison {
  a: { dir: string; label: string };
  b: { dir: string; label: string };
  model: ReplayModel;
  /** B's recorded policy settings, under which A was replayed. */
  settings: LabConfig;
  /** Seconds since the load started that both runs cover; how the two clocks were lined up. */
  window: { fromS: number; toS: number; alignedBy: string };
  replayed: Figures;
  real: Figures;
  /** The replayed figures with the metric moved by the model's error down and up: [lowest, highest]. */
  range: { peak: [number, number]; scaleOut: [number, number]; scaleIn: [number, number]; workerSeconds: [number, number] };
  /** Share (0..1) of B's ticks in the window at which the replay had B's instance count, and how many ticks. */
  sameCount: number;
  ticks: number;
  /** The model's error on the policy's metric (90th percentile of |predicted − measured|), and how it was measured. */
  error: { metric: string; p90: number; median: number; samples: number; how: string };
  /**
   * Replayed scale actions whose metric was within `error.p90` of the threshold that decided them (`count`
   * of `of`), and replayed ticks that held with the metric within it of a threshold they could have acted
   * on (`holds` of `ticks`: below the maximum for scale-out, above the minimum for scale-in).
   */
  knifeEdges: { count: number; of: number; holds: number; ticks: number };
}

/** A run's recorded policy settings as a config (flags given to `replay` go on top of these). */
export function recordedSettings(run: RecordedRun): RawSettings {
  const out: RawSettings = {};
  const c = run.config as unknown as Record<string, unknown>;
  for (const k of POLICY_FLAGS) if (c[k] !== undefined) out[k] = c[k];
  // --policy step: the recorded policies and alarms, taken as they are unless step flags are typed over them.
  if (c.stepScaling) out[STEP_RESOLVED_KEY] = c.stepScaling;
  return out;
}

export function describePolicy(c: Pick<LabConfig, 'policy' | 'metric' | 'min' | 'max' | 'interval' | 'scaleUp' | 'scaleDown' | 'target'> & { stepScaling?: LabConfig['stepScaling'] }): string {
  const rule = usesTargetRule(c.policy) ? `target ${c.target}` : c.policy === 'step' ? stepRule(c.stepScaling) : `${c.scaleDown}–${c.scaleUp}`;
  return `${c.policy} on ${c.metric} (${rule}), ${c.min}–${c.max} workers, tick ${c.interval} s`;
}

function loadShape(run: RecordedRun): string {
  if (run.load === null) return 'no load.ndjson';
  const peak = Math.max(...run.load.lines.map((l) => l.level));
  const dur = run.load.lines.at(-1)!.t;
  return `${run.load.mode === 'closed' ? `${peak} users` : `${peak} req/s`} peak for ${Math.round(dur)} s`;
}

/** Throws unless A and B saw the same load (same mode, same level second by second, same length, within 15 %). */
export function checkSameLoad(a: RecordedRun, b: RecordedRun): void {
  const name = (r: RecordedRun, l: string) => `${l} (${r.dir})`;
  if (a.load === null || b.load === null) {
    const which = a.load === null ? name(a, 'A') : name(b, 'B');
    throw new UsageError(`--against needs both runs' load.ndjson to line them up (${which} has none; record the load with \`autoscale load --record\`)`);
  }
  const la = a.load;
  const lb = b.load;
  const differ = () => new UsageError(`--against needs two runs with the same load: A had ${loadShape(a)} (${la.mode} loop), B had ${loadShape(b)} (${lb.mode} loop)`);
  if (la.mode !== lb.mode) throw differ();
  const da = la.lines.at(-1)!.t;
  const db = lb.lines.at(-1)!.t;
  if (Math.abs(da - db) > Math.max(5, 0.15 * Math.max(da, db))) throw differ();
  const level = (lines: typeof la.lines, t: number) => lines.find((l) => l.t >= t)?.level ?? lines.at(-1)!.level;
  const peak = Math.max(...la.lines.map((l) => l.level), ...lb.lines.map((l) => l.level));
  let diff = 0;
  let n = 0;
  for (let t = 1; t <= Math.min(da, db); t++) {
    diff += Math.abs(level(la.lines, t) - level(lb.lines, t));
    n++;
  }
  if (n === 0 || peak <= 0 || diff / n / peak > 0.15) throw differ();
}

/** Where the load started on a run's clock, s. */
function loadStart(run: RecordedRun, cal: Calibration): { s: number; by: string } {
  const first = run.load?.lines[0];
  if (first && first.at !== null && run.startedAt !== null) return { s: (first.at - run.startedAt) / 1000 - first.dt, by: 'wall clock' };
  return { s: cal.offsetS ?? 0, by: 'correlation' };
}

interface Timeline {
  live: ArrayLike<number>;
  p95: ArrayLike<number>;
  scales: ReadonlyArray<{ t: number; from: number; to: number }>;
  reactions: readonly Reaction[];
  /** Failed requests between these seconds since the load started. */
  failed: (fromS: number, toS: number) => number;
  /** Why it has no latency (recorded under L4), if so. */
  noLatency?: string;
}

/** The figures of one timeline over [fromS, toS) since the load started; `off` = the load's start on its clock, s. */
function figuresOf(tl: Timeline, off: number, fromS: number, toS: number, sloMs: number): Figures {
  const i0 = Math.max(0, Math.round(off + fromS));
  const i1 = Math.min(tl.live.length, Math.round(off + toS));
  const slice = <T extends ArrayLike<number>>(xs: T) => Array.from({ length: Math.max(0, i1 - i0) }, (_, k) => xs[i0 + k]);
  const inWindow = (tMs: number) => tMs / 1000 - off >= fromS && tMs / 1000 - off < toS;
  const scales = tl.scales.filter((s) => inWindow(s.t));
  const row = policyRow(
    { label: '', live: slice(tl.live), p95: slice(tl.p95), scales, reactions: tl.reactions.filter((r) => inWindow(r.crossedAt * 1000)), failed: tl.failed(fromS, toS), ...(tl.noLatency === undefined ? {} : { noLatency: tl.noLatency }) },
    { pricePerHour: null, sloMs },
  );
  return {
    peak: row.peak,
    scaleOut: row.scaleOut,
    scaleIn: row.scaleIn,
    actions: scales.map((s) => ({ t: Math.round((s.t / 1000 - off) * 10) / 10, direction: s.to > s.from ? ('out' as const) : ('in' as const), from: s.from, to: s.to })),
    workerSeconds: row.workerSeconds,
    medianReactionS: row.reactionS,
    secondsOverSlo: row.overSloS,
    failed: row.failed,
  };
}

/** A replayed timeline; `off` = the load's start on its clock, s (failed requests are the model's, per second). */
function simTimeline(sim: SimResult, config: LabConfig, bootMs: number, off: number): Timeline {
  return {
    live: sim.live,
    p95: sim.p95,
    scales: sim.scales,
    reactions: reactionTimes(simulatedReactionEvents(sim.ticks, sim.scales, sim.readyTimes, bootMs), config),
    failed: (fromS, toS) => Math.round(Array.from(sim.dropped).reduce((acc, x, i) => (i - off >= fromS && i - off < toS && Number.isFinite(x) ? acc + x : acc), 0)),
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

/**
 * The residual model's error on `config.metric`, measured on the recording: each tick predicted from the
 * one before it (its observation carried to the next tick's ready count by the model) and compared with
 * what the tick measured, on the pairs of ticks whose offered load was the same (within 5 %): what is left
 * is the count's effect as the model has it, and the tick-to-tick noise it keeps. A short run may have
 * fewer than MIN_ERROR_SAMPLES such pairs: then every pair of ticks counts (`steady` false), load changes
 * included — a larger error, rather than a zero measured on nothing.
 */
export const MIN_ERROR_SAMPLES = 5;

export interface ResidualError {
  p90: number;
  median: number;
  samples: number;
  /** True: measured on pairs of ticks with the same offered load; false: too few of those, every pair of ticks. */
  steady: boolean;
}

export function residualError(run: RecordedRun, config: LabConfig, cal: Calibration): ResidualError {
  const errs: number[] = [];
  const any: number[] = [];
  const warmupMs = config.warmup * 1000;
  const ticks = run.ticks.filter((k) => k.observation !== undefined && k.state !== undefined);
  for (let i = 1; i < ticks.length; i++) {
    const prev = ticks[i - 1];
    const k = ticks[i];
    const before = meanOver(cal.load.perSecond, ticks[i - 2]?.t ?? 0, prev.t);
    const after = meanOver(cal.load.perSecond, prev.t, k.t);
    const steady = Math.abs(after - before) <= 0.05 * Math.max(before, after);
    const now = k.observation!;
    const measured = measure(now, warmupMs).values[config.metric];
    if (measured === null) continue;
    const readyNow = now.workers.filter((w) => w.state === 'ready');
    const warming = readyNow.flatMap((w) => (w.readyAt !== null && k.t - w.readyAt < warmupMs ? [w.readyAt] : []));
    const predicted = residualTick({
      recorded: { ...prev.observation!, t: k.t },
      recordedReady: prev.state!.ready,
      ready: readyNow.length,
      warmingReadyAts: warming,
      backlog: 0,
      dt: (k.t - prev.t) / 1000,
      limits: residualLimits(run, cal),
      users: cal.load.mode === 'closed' ? meanOver(cal.load.perSecond, prev.t, k.t) : null,
    });
    const p = measure(predicted.observation, warmupMs).values[config.metric];
    if (p === null || !Number.isFinite(p)) continue;
    any.push(Math.abs(p - measured));
    if (steady) errs.push(Math.abs(p - measured));
  }
  const use = errs.length >= MIN_ERROR_SAMPLES ? errs : any;
  return { p90: percentile(use, 0.9), median: median(use) ?? 0, samples: use.length, steady: use === errs };
}

/** Within `err` of the bound that decided this action (its metric value `v`). */
export function knifeEdge(v: number | null, direction: 'out' | 'in', c: LabConfig, err: number): boolean {
  if (v === null || !Number.isFinite(v)) return false;
  if (c.policy === 'threshold') return Math.abs(v - (direction === 'out' ? c.scaleUp : c.scaleDown)) <= err;
  const bound = c.target * (direction === 'out' ? 1 + c.tolerance : 1 - c.tolerance);
  return Math.abs(v - bound) <= err;
}

/** A hold decided by the metric within `err` short of the bound in `direction` (under it for scale-out, over it for scale-in). */
export function heldAtEdge(v: number | null, direction: 'out' | 'in', c: LabConfig, err: number): boolean {
  if (v === null || !Number.isFinite(v)) return false;
  const bound = c.policy === 'threshold' ? (direction === 'out' ? c.scaleUp : c.scaleDown) : c.target * (direction === 'out' ? 1 + c.tolerance : 1 - c.tolerance);
  return direction === 'out' ? v <= bound && bound - v <= err : v >= bound && v - bound <= err;
}

export function compareAgainst(a: RecordedRun, b: RecordedRun, options: AgainstOptions = {}): AgainstComparison {
  const model = options.model ?? 'residual';
  const sloMs = options.sloMs ?? 200;
  checkSameLoad(a, b);
  const settings = attachForecast(resolvePolicy({}, recordedSettings(b)));
  const recordedA = attachForecast(resolvePolicy({}, recordedSettings(a)));
  const calA = calibrate(a, a.host?.cores ?? options.cores ?? availableParallelism());
  const calB = calibrate(b, b.host?.cores ?? options.cores ?? availableParallelism());
  const limits = residualLimits(a, calA);
  if (model === 'residual') {
    if (!a.ticks.some((k) => k.observation !== undefined)) {
      throw new UsageError(`--model residual needs the observations in A's ticks (${a.dir} was recorded before the lab wrote them): use --model calibrated`);
    }
    if (settings.interval !== a.config.interval) {
      throw new UsageError(`--model residual replays on A's ticks: A ticked every ${a.config.interval} s, B every ${settings.interval} s (use --model calibrated)`);
    }
  }
  const run = (bias: number): SimResult =>
    model === 'residual'
      ? replayResidual(a, settings, { limits, load: calA.load, bootMs: calA.bootMs, bias })
      : simulate({ load: calA.load, model: calA.model, config: settings, bootMs: calA.bootMs, bias, tickTimes: settings.interval === a.config.interval ? a.ticks.map((k) => k.t) : undefined });

  // The model's measured error on B's metric.
  let error: AgainstComparison['error'];
  if (model === 'residual') {
    const e = residualError(a, settings, calA);
    const { steady, ...figures } = e;
    error = {
      metric: settings.metric,
      ...figures,
      how: steady
        ? "each of A's ticks predicted from the one before it at its ready count, where the offered load stayed the same"
        : `each of A's ticks predicted from the one before it at its ready count, the load's changes included (fewer than ${MIN_ERROR_SAMPLES} ticks with a steady load)`,
    };
  } else {
    const own = simulate({ load: calA.load, model: calA.model, config: recordedA, bootMs: calA.bootMs, tickTimes: a.ticks.map((k) => k.t) });
    const f = fidelity(a, calA, own);
    const sameMetric = recordedA.metric === settings.metric;
    error = {
      metric: settings.metric,
      p90: sameMetric && f.metric ? f.metric.p90AbsError : 0,
      median: sameMetric && f.metric ? f.metric.medianAbsError : 0,
      samples: sameMetric && f.metric ? f.metric.ticks : 0,
      how: sameMetric ? "the calibrated model's metric against A's where A's own policy replayed to the same count" : `not measured: A scaled on ${recordedA.metric}`,
    };
  }

  const offA = loadStart(a, calA);
  const offB = loadStart(b, calB);
  const toS = Math.floor(Math.min(a.durationMs / 1000 - offA.s, b.durationMs / 1000 - offB.s));
  const fromS = 0;
  const sim = run(0);
  const replayed = figuresOf(simTimeline(sim, settings, calA.bootMs, offA.s), offA.s, fromS, toS, sloMs);
  const recB = recordedRow(b, calB);
  const loadB = b.load!;
  const real = figuresOf(
    {
      live: recordedLive(b, calB.load.perSecond.length),
      p95: recB.p95,
      scales: b.scales,
      reactions: b.reactions,
      ...(recB.noLatency === undefined ? {} : { noLatency: recB.noLatency }),
      failed: (f, t) => loadB.lines.filter((l) => l.t > f && l.t <= t + 1).reduce((acc, l) => acc + l.errors, 0),
    },
    offB.s,
    fromS,
    toS,
    sloMs,
  );

  const lo = error.p90 > 0 ? figuresOf(simTimeline(run(-error.p90), settings, calA.bootMs, offA.s), offA.s, fromS, toS, sloMs) : replayed;
  const hi = error.p90 > 0 ? figuresOf(simTimeline(run(error.p90), settings, calA.bootMs, offA.s), offA.s, fromS, toS, sloMs) : replayed;
  const span = (k: 'peak' | 'scaleOut' | 'scaleIn' | 'workerSeconds'): [number, number] => [Math.min(lo[k], replayed[k], hi[k]), Math.max(lo[k], replayed[k], hi[k])];

  // Same instance count: at each of B's ticks in the window, the replayed tick nearest the same moment of the load.
  let same = 0;
  let n = 0;
  for (const k of b.ticks) {
    const since = k.t / 1000 - offB.s;
    if (since < fromS || since >= toS) continue;
    const tA = (since + offA.s) * 1000;
    let best: (typeof sim.ticks)[number] | null = null;
    for (const s of sim.ticks) if (best === null || Math.abs(s.t - tA) < Math.abs(best.t - tA)) best = s;
    if (best === null) continue;
    n++;
    if (best.instances === k.instances) same++;
  }

  const acted = sim.scales.filter((s) => s.from > 0 && s.to > 0 && (s.t / 1000 - offA.s) >= fromS && (s.t / 1000 - offA.s) < toS);
  const edges = acted.filter((s) => knifeEdge(sim.ticks.find((k) => k.t === s.t)?.value ?? null, s.to > s.from ? 'out' : 'in', settings, error.p90)).length;
  const held = sim.ticks.filter((k) => k.action === 'hold' && k.t / 1000 - offA.s >= fromS && k.t / 1000 - offA.s < toS);
  const heldEdges = held.filter(
    (k) => (k.desired < settings.max && heldAtEdge(k.value, 'out', settings, error.p90)) || (k.desired > Math.max(1, settings.min) && heldAtEdge(k.value, 'in', settings, error.p90)),
  ).length;

  return {
    a: { dir: a.dir, label: describePolicy(recordedA) },
    b: { dir: b.dir, label: describePolicy(settings) },
    model,
    settings,
    window: { fromS, toS, alignedBy: offA.by === 'wall clock' && offB.by === 'wall clock' ? "the load's start, from both load.ndjson wall clocks" : "the load's start, found by correlation with the balancer's arrivals" },
    replayed,
    real,
    range: { peak: span('peak'), scaleOut: span('scaleOut'), scaleIn: span('scaleIn'), workerSeconds: span('workerSeconds') },
    sameCount: n === 0 ? 0 : same / n,
    ticks: n,
    error,
    knifeEdges: { count: edges, of: acted.length, holds: heldEdges, ticks: held.length },
  };
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const rangeOf = (r: [number, number], d = 0) => (r[0] === r[1] ? '' : ` (${fmt(r[0], d)}–${fmt(r[1], d)})`);
const times = (f: Figures) => (f.actions.length === 0 ? '–' : f.actions.map((x) => `${fmt(x.t)} s ${x.direction} ${x.from}→${x.to}`).join(', '));

/** The comparison as text (what `replay A --against B` prints). */
export function formatAgainst(c: AgainstComparison, sloMs = 200): string {
  const r = c.replayed;
  const b = c.real;
  const ws = b.workerSeconds === 0 ? '' : ` (${r.workerSeconds >= b.workerSeconds ? '+' : ''}${fmt((100 * (r.workerSeconds - b.workerSeconds)) / b.workerSeconds, 1)} %)`;
  const rows: Array<[string, string, string]> = [
    ['peak instances', `${r.peak}${rangeOf(c.range.peak)}`, String(b.peak)],
    ['scale actions out/in', `${r.scaleOut}/${r.scaleIn}${c.range.scaleOut[0] === c.range.scaleOut[1] && c.range.scaleIn[0] === c.range.scaleIn[1] ? '' : ` (out ${fmt(c.range.scaleOut[0])}–${fmt(c.range.scaleOut[1])}, in ${fmt(c.range.scaleIn[0])}–${fmt(c.range.scaleIn[1])})`}`, `${b.scaleOut}/${b.scaleIn}`],
    ['worker-seconds', `${fmt(r.workerSeconds)}${rangeOf(c.range.workerSeconds)}${ws}`, fmt(b.workerSeconds)],
    ['median reaction', r.medianReactionS === null ? '–' : `${fmt(r.medianReactionS, 1)} s`, b.medianReactionS === null ? '–' : `${fmt(b.medianReactionS, 1)} s`],
    [`s over p95 ${sloMs} ms`, r.secondsOverSlo === null || b.secondsOverSlo === null ? '– (not compared)' : fmt(r.secondsOverSlo), b.secondsOverSlo === null ? `– (${NO_LATENCY_L4})` : fmt(b.secondsOverSlo)],
    ['failed requests', fmt(r.failed), fmt(b.failed)],
  ];
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max('replay of A'.length, ...rows.map((x) => x[1].length));
  const line = (x: [string, string, string]) => `  ${x[0].padEnd(w0)}  ${x[1].padEnd(w1)}  ${x[2]}`;
  const e = c.error;
  return [
    `against: replay of A under B's settings (${c.model} model), side by side with B itself`,
    `  A: ${c.a.dir}: ${c.a.label}`,
    `  B: ${c.b.dir}: ${c.b.label}`,
    `  window: ${fmt(c.window.toS)} s from ${c.window.alignedBy}`,
    '',
    line(['', 'replay of A', 'B (real)']),
    ...rows.map(line),
    '',
    `  scale actions, s after the load started:`,
    `    replay of A: ${times(r)}`,
    `    B (real):    ${times(b)}`,
    `  same instance count on ${fmt(100 * c.sameCount)} % of B's ${c.ticks} ticks`,
    e.samples === 0
      ? `  uncertainty: the model's error on ${e.metric} is ${e.how}`
      : `  uncertainty: the model's ${e.metric} is off by ${fmt(e.p90, 1)} (90th percentile; median ${fmt(e.median, 1)}; ${e.samples} samples: ${e.how}); ` +
        `${c.knifeEdges.count} of ${c.knifeEdges.of} replayed actions were knife edges (the metric within ${fmt(e.p90, 1)} of its threshold), and ${c.knifeEdges.holds} of ${c.knifeEdges.ticks} holds; ` +
        `in brackets: the replay with the metric ${fmt(e.p90, 1)} lower and higher`,
  ].join('\n') + '\n';
}
