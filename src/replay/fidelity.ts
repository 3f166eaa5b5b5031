/**
 * How well a replay reproduces what really happened, measured: the share of
 * recorded ticks whose instance count the replay matches, the scale actions
 * matched (same direction within ±1 tick), the peak, the worker-seconds, and
 * how far the modelled metric is from the measured one where both had the
 * same instance count (the model's error apart from the policy's).
 * Also the recorded run as a table row, computed like a simulated one. Pure.
 */
import type { SimResult } from '../simulate/engine.js';
import type { RowInput } from '../simulate/summary.js';
import type { Calibration } from './calibrate.js';
import type { RecordedRun } from './recording.js';

export interface Fidelity {
  ticks: number;
  /** Share (0..1) of recorded ticks where the replay has the same instance count. */
  sameInstances: number;
  scaleRecorded: number;
  scaleReplayed: number;
  scaleMatched: number;
  peakRecorded: number;
  peakReplayed: number;
  workerSecondsRecorded: number;
  workerSecondsReplayed: number;
  /** (replayed - recorded) / recorded. */
  workerSecondsError: number;
  /**
   * The capacity model alone, apart from where the policy's path forked: on the ticks where replay and
   * recording had the same instance count and both measured the metric, |replayed − recorded| of the
   * policy's metric, median and 90th percentile (null when there is no such tick).
   */
  metric: { ticks: number; medianAbsError: number; p90AbsError: number } | null;
  /** What the replay cannot reproduce: paused ticks and manual scaling in the recording. */
  caveats: string[];
}

/** Live (starting + ready) workers at the middle of each second of the run. */
export function recordedLive(run: RecordedRun, D: number): Int32Array {
  const live = new Int32Array(D);
  for (const w of run.workers.values()) {
    const from = Math.max(0, Math.ceil((w.startedAt - 500) / 1000));
    const to = w.leftAt === null ? D : Math.min(D, Math.ceil((w.leftAt - 500) / 1000));
    for (let i = from; i < to; i++) live[i]++;
  }
  return live;
}

/** Why a run recorded under --balancer l4 has no latency (the balancer hands connections over and sees no request). */
export const NO_LATENCY_L4 = 'recorded under --balancer l4: the balancer hands connections to the workers and measures no request latency';

export function recordedRow(run: RecordedRun, cal: Calibration): RowInput {
  const D = cal.load.perSecond.length;
  const p95 = new Float64Array(D).fill(Number.NaN);
  let prev = 0;
  for (const k of run.ticks) {
    for (let i = Math.floor(prev / 1000); i < Math.min(D, Math.floor(k.t / 1000)); i++) p95[i] = k.p95 ?? Number.NaN;
    prev = k.t;
  }
  const failed = run.load ? run.load.lines.reduce((a, l) => a + l.errors, 0) : run.errors;
  return {
    label: 'recorded run',
    live: recordedLive(run, D),
    p95,
    scales: run.scales,
    // Measured on the recorded events exactly as `autoscale report` measures them.
    reactions: run.reactions,
    failed,
    ...(run.config.balancer === 'l4' ? { noLatency: NO_LATENCY_L4 } : {}),
    // The one definition, measured on the events: the figure `autoscale report` prints for this run.
    workerSeconds: run.workerSeconds,
  };
}

/** Index of the element of sorted `ts` nearest to t. */
function nearest(ts: readonly number[], t: number): number {
  let lo = 0;
  let hi = ts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && Math.abs(ts[lo - 1] - t) <= Math.abs(ts[lo] - t) ? lo - 1 : lo;
}

/** `pausesReplayed`: the replay folded the recorded pauses and refreshes into the policy's memory (the residual model does). */
export function fidelity(run: RecordedRun, cal: Calibration, sim: SimResult, pausesReplayed = false): Fidelity {
  const recT = run.ticks.map((k) => k.t);
  const simT = sim.ticks.map((k) => k.t);
  let same = 0;
  const errors: number[] = [];
  for (const k of run.ticks) {
    if (sim.ticks.length === 0) break;
    const s = sim.ticks[nearest(simT, k.t)];
    if (s.instances !== k.instances) continue;
    same++;
    if (k.value !== null && s.value !== null && Number.isFinite(s.value)) errors.push(Math.abs(s.value - k.value));
  }
  errors.sort((a, b) => a - b);
  const at = (p: number) => errors[Math.min(errors.length - 1, Math.max(0, Math.ceil(p * errors.length) - 1))];
  const recScales = run.scales.map((s) => ({ i: nearest(recT, s.t), up: s.to > s.from }));
  const simScales = sim.scales.map((s) => ({ i: nearest(recT, s.t), up: s.to > s.from, used: false }));
  let matched = 0;
  for (const r of recScales) {
    const m = simScales.find((s) => !s.used && s.up === r.up && Math.abs(s.i - r.i) <= 1);
    if (m) {
      m.used = true;
      matched++;
    }
  }
  // The recorded run's worker-seconds as `autoscale report` prints them (src/policy/worker-seconds.ts).
  const wsRec = run.workerSeconds;
  const wsSim = sim.live.reduce((a, b) => a + b, 0);
  const caveats: string[] = [];
  const paused = run.ticks.filter((k) => k.paused).length;
  if (paused > 0 && !pausesReplayed) caveats.push(`${paused} recorded ticks were paused (the replay does not pause)`);
  if (run.unhealthy > 0) caveats.push(`${run.unhealthy} workers failed their health checks and were replaced (the replay models no failures)`);
  if (run.crashed > 0) caveats.push(`${run.crashed} workers crashed (the replay models no crashes)`);
  const manual = run.scales.filter((s) => s.manual).length;
  if (manual > 0) caveats.push(`${manual} scale actions were manual (the replay makes none)`);
  return {
    ticks: run.ticks.length,
    sameInstances: run.ticks.length === 0 ? 0 : same / run.ticks.length,
    scaleRecorded: run.scales.length,
    scaleReplayed: sim.scales.length,
    scaleMatched: matched,
    peakRecorded: Math.max(0, ...run.ticks.map((k) => k.instances)),
    peakReplayed: Math.max(0, ...sim.ticks.map((k) => k.instances)),
    workerSecondsRecorded: wsRec,
    workerSecondsReplayed: wsSim,
    workerSecondsError: wsRec === 0 ? 0 : (wsSim - wsRec) / wsRec,
    metric: errors.length === 0 ? null : { ticks: errors.length, medianAbsError: at(0.5), p90AbsError: at(0.9) },
    caveats,
  };
}
