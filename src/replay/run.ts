/** Replay, end to end: read the run, calibrate, run every policy, measure fidelity, format. */
import { availableParallelism } from 'node:os';
import { formatCount as n, plural } from '../format.js';
import { POLICY_FLAGS } from '../settings/flags.js';
import { UsageError } from '../errors.js';
import type { LabConfig, RawSettings } from '../settings/config.js';
import { rowOptions, writeTimelines } from '../simulate/run.js';
import { runScenarios, type Scenario } from '../simulate/compare.js';
import { labelOf, parseCompare, resolvePolicy } from '../settings/policy-flags.js';
import { formatTable, policyRow } from '../simulate/summary.js';
import { calibrate, type Calibration } from './calibrate.js';
import { checkDecisions } from './decisions.js';
import { fidelity, recordedRow, type Fidelity } from './fidelity.js';
import { readRun, type RecordedRun } from './recording.js';
import { resolveRunDir } from '../runs/read.js';
import { writeReport } from '../report/command.js';
import type { ReplaySeries } from '../report/render-html.js';

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

export function describeCalibration(run: RecordedRun, cal: Calibration): string[] {
  const c = run.config;
  const m = cal.model;
  const host = m.host.kind === 'fit' ? `host cpu = ${n(m.host.base, 1)} % + ${n(m.host.perRps, 3)} % per req/s (least squares on the ticks)` : '';
  return [
    `run:      ${run.dir}: ${c.policy} on ${c.metric}, ${c.min}–${c.max} workers, tick ${c.interval} s; ${n(run.durationMs / 1000)} s, ${run.ticks.length} ticks, ${plural(run.workers.size, 'worker')} started`,
    `load:     ${cal.load.source}` +
      (cal.offsetS === null
        ? ''
        : `, started at ${cal.offsetS >= 0 ? '+' : ''}${cal.offsetS} s on the lab's clock (` +
          (cal.alignedBy === 'wall clock'
            ? `from both wall clocks; its achieved rate correlates ${n(cal.correlation ?? 0, 2)} with the balancer's per-second arrivals)`
            : `correlation ${n(cal.correlation ?? 0, 2)} with the balancer's per-second arrivals; this load.ndjson has no wall clock)`)),
    `model:    ${m.mode} loop; ${n(1000 * cal.cpuPerRequest, 2)} ms of worker CPU per request (worker CPU ÷ requests served, whole run); a request holds a worker ` +
      `${n(m.serviceMs, 1)} ms (median; per second as measured in the ${cal.saturatedSeconds} s the workers were saturated); CPU per request per second as measured ` +
      `(the busy-loop spins on wall time, so on a shared host it varies); each worker at most one core, all at most the ${m.cores} host cores${run.host ? ' (as recorded)' : ''} (they used at most ${n(cal.busyCoresP99, 2)}); ` +
      `idle round trip ${n(m.baseLatencyMs, 1)} ms; p95 = ${n(m.p95Factor, 2)} × mean response time (calibrated); ${host}; boot ${n(cal.bootMs / 1000, 2)} s (median of ${cal.bootSamples})`,
  ];
}

export function describeFidelity(f: Fidelity, metric: string): string {
  const ws = `${f.workerSecondsError >= 0 ? '+' : ''}${(100 * f.workerSecondsError).toFixed(1)} %`;
  return (
    `fidelity: replayed under its own policy: same instance count on ${pct(f.sameInstances)} of ${f.ticks} ticks; ` +
    `${f.scaleMatched} of ${f.scaleRecorded} scale actions matched within ±1 tick (${f.scaleReplayed} replayed); ` +
    `peak ${f.peakReplayed} vs ${f.peakRecorded} recorded; worker-seconds ${n(f.workerSecondsReplayed)} vs ${n(f.workerSecondsRecorded)} recorded (${ws})` +
    (f.metric === null
      ? ''
      : `; the model's ${metric} on the ${f.metric.ticks} ticks with the same count: off by ${n(f.metric.medianAbsError, 1)} (median), ${n(f.metric.p90AbsError, 1)} (90th percentile)`) +
    (f.caveats.length > 0 ? `; note: ${f.caveats.join('; ')}` : '')
  );
}

/** The recorded settings that shape the policy, as raw settings under the user's flags. */
function recordedSettings(run: RecordedRun): RawSettings {
  const out: RawSettings = {};
  const c = run.config as unknown as Record<string, unknown>;
  for (const k of POLICY_FLAGS) if (c[k] !== undefined) out[k] = c[k];
  return out;
}

/** A simulated per-second live count (second i sampled at its middle) as a step series: its changes, and the end. */
export function replaySeries(label: string, live: ArrayLike<number>): ReplaySeries {
  const x: number[] = [];
  const instances: number[] = [];
  for (let i = 0; i < live.length; i++) {
    if (i === 0 || live[i] !== live[i - 1]) {
      x.push(i);
      instances.push(live[i]);
    }
  }
  if (live.length > 0) {
    x.push(live.length);
    instances.push(live[live.length - 1]);
  }
  return { label, x, instances };
}

/** The recording machine's cores when the run says, else this machine's, with a note saying so. */
export function hostCores(run: RecordedRun, here: number = availableParallelism()): { cores: number; note: string | null } {
  if (run.host !== null) return { cores: run.host.cores, note: null };
  return { cores: here, note: `the recording does not say how many cores its host had (recorded before autoscale wrote it): assuming this machine's ${here}` };
}

/**
 * `dir`: a run directory, or undefined for the latest recorded run (as
 * `autoscale report` and `autoscale runs` find it, under the state directory of `env`).
 */
export function runReplay(dirArg: string | undefined, flags: RawSettings, opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string {
  const dir = resolveRunDir(dirArg, env);
  const run = readRun(dir);
  const host = hostCores(run);
  const cal = calibrate(run, host.cores);
  const base = recordedSettings(run);
  const recorded = resolvePolicy({}, base);
  let bootMs = cal.bootMs;
  if (opts.boot !== undefined) {
    const b = Number(opts.boot);
    if (typeof opts.boot !== 'string' || opts.boot.trim() === '' || !Number.isFinite(b) || b < 0) throw new UsageError(`--boot must be a non-negative number of seconds (received ${JSON.stringify(opts.boot)})`);
    bootMs = b * 1000;
  }
  // The fidelity row always runs with the boot time measured in the run; --boot applies to the other rows.
  const scenarios: Scenario[] = [{ label: 'replay: recorded policy', config: recorded, bootMs: cal.bootMs }];
  if (opts.boot !== undefined) scenarios.push({ label: `replay: recorded policy, --boot ${String(opts.boot)}`, config: recorded });
  if (Object.keys(flags).length > 0) scenarios.push({ label: `replay: ${labelOf(flags)}`, config: resolvePolicy(flags, base) });
  for (const s of (opts.compare as string[] | undefined) ?? []) {
    const { typed, bootS } = parseCompare(s);
    scenarios.push({ label: `replay: ${s.trim().replace(/\s+/g, ' ')}`, config: resolvePolicy(typed, base), ...(bootS === null ? {} : { bootMs: bootS * 1000 }) });
  }
  const rowOpts = rowOptions(opts);
  const recordedTicks = run.ticks.map((k) => k.t);
  const ticksFor = (c: LabConfig) => (c.interval === run.config.interval ? recordedTicks : undefined);
  const results = runScenarios(scenarios, cal.load, cal.model, bootMs, rowOpts, ticksFor);
  const fid = fidelity(run, cal, results[0].sim);
  const decisions = checkDecisions(run, recorded);
  const rows = [policyRow(recordedRow(run, cal), rowOpts), ...results.map((r) => r.row)];
  if (typeof opts.out === 'string') writeTimelines(opts.out, results);
  const report = opts.html === true ? (text: string) => writeReport(dir, { env, replay: { series: results.map((r) => replaySeries(r.scenario.label, r.sim.live)), text } }).html : null;
  if (opts.json === true) {
    if (report !== null) throw new UsageError('--html writes the report page and prints the table: it does not go with --json');
    return (
      JSON.stringify({
        run: { dir: run.dir, config: run.config, durationS: run.durationMs / 1000, ticks: run.ticks.length },
        host: { cores: host.cores, recorded: run.host !== null, memoryBytes: run.host?.memoryBytes ?? null },
        model: { ...cal.model, bootMs, loadSource: cal.load.source, loadOffsetS: cal.offsetS, loadCorrelation: cal.correlation },
        fidelity: fid,
        decisions,
        rows: rows.map((r, i) => ({ ...r, config: i === 0 ? recorded : results[i - 1].scenario.config })),
      }) + '\n'
    );
  }
  const bootNote = opts.boot === undefined ? '' : `\nboot:     ${n(bootMs / 1000, 2)} s (--boot) instead of the measured ${n(cal.bootMs / 1000, 2)} s, except for the fidelity row`;
  const decisionLine =
    decisions === null
      ? ''
      : `\ndecisions: the recorded observations through decide(): ${decisions.same} of ${decisions.ticks} ticks give the recorded count` +
        (decisions.firstDiff ? ` (first difference at +${n(decisions.firstDiff.t / 1000, 1)} s: ${decisions.firstDiff.replayed} vs ${decisions.firstDiff.recorded})` : ' (the policy replays exactly: any gap above is the capacity model)');
  const hostNote = host.note === null ? '' : `\nnote:     ${host.note}`;
  const text = `${describeCalibration(run, cal).join('\n')}${hostNote}${bootNote}\n${describeFidelity(fid, run.config.metric)}${decisionLine}\n\n${formatTable(rows, rowOpts)}`;
  if (report === null) return text;
  return `${text}\nreport:   ${report(text)} (the replayed instances on the run's charts)\n`;
}
