/** Replay, end to end: read the run, calibrate, run every policy, measure fidelity, format. */
import { availableParallelism } from 'node:os';
import { formatCount as n, plural } from '../format.js';
import { UsageError } from '../errors.js';
import type { LabConfig, RawSettings } from '../settings/config.js';
import { forecastLines, rowOptions, writeTimelines } from '../simulate/run.js';
import { runScenarios, scenarioResult, type Scenario, type ScenarioResult } from '../simulate/compare.js';
import { attachForecast } from '../simulate/history.js';
import { labelOf, parseCompare, resolvePolicy } from '../settings/policy-flags.js';
import { formatTable, policyRow, tableCells } from '../simulate/summary.js';
import { calibrate, type Calibration } from './calibrate.js';
import { checkDecisions } from './decisions.js';
import { compareAgainst, formatAgainst, recordedSettings, REPLAY_MODELS, residualError, type ReplayModel, type ResidualError } from './against.js';
import { replayResidual, residualLimits } from './residual.js';
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

/** `residual`: the residual model's own error (each tick predicted from the one before), which replaces the same-count metric error (zero by construction). */
export function describeFidelity(f: Fidelity, metric: string, residual: ResidualError | null = null): string {
  const ws = `${f.workerSecondsError >= 0 ? '+' : ''}${(100 * f.workerSecondsError).toFixed(1)} %`;
  return (
    `fidelity: replayed under its own policy: same instance count on ${pct(f.sameInstances)} of ${f.ticks} ticks; ` +
    `${f.scaleMatched} of ${f.scaleRecorded} scale actions matched within ±1 tick (${f.scaleReplayed} replayed); ` +
    `peak ${f.peakReplayed} vs ${f.peakRecorded} recorded; worker-seconds ${n(f.workerSecondsReplayed)} vs ${n(f.workerSecondsRecorded)} recorded (${ws})` +
    (residual !== null
      ? `; where the counts agree the residual model keeps the recorded ${metric}; each tick predicted from the one before at its ready count (${residual.steady ? 'same offered load' : 'load changes included: too few ticks with a steady load'}, ${residual.samples} ticks): off by ${n(residual.median, 1)} (median), ${n(residual.p90, 1)} (90th percentile)`
      : f.metric === null
        ? ''
        : `; the model's ${metric} on the ${f.metric.ticks} ticks with the same count: off by ${n(f.metric.medianAbsError, 1)} (median), ${n(f.metric.p90AbsError, 1)} (90th percentile)`) +
    (f.caveats.length > 0 ? `; note: ${f.caveats.join('; ')}` : '')
  );
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
  // A predictive run's forecast is learned again from the --history it recorded (absolute paths).
  // The recorded boot delay too: the decision check runs step() as the lab did (a forecast looks that far ahead).
  const recorded = attachForecast({ ...resolvePolicy({}, base), bootDelay: run.config.bootDelay ?? 0 });
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
  const observed = run.ticks.some((k) => k.observation !== undefined);
  // Runs recorded before the lab wrote its observations can only take the calibrated model.
  const model = opts.model === undefined && !observed ? 'calibrated' : replayModel(opts.model);
  if (model === 'residual' && !observed) throw new UsageError(`--model residual needs the observations in the run's ticks (${run.dir} was recorded before the lab wrote them): use --model calibrated`);
  const limits = residualLimits(run, cal);
  // The residual model replays on the recorded ticks: a scenario with another --interval takes the calibrated model.
  const residualFor = (c: LabConfig) => model === 'residual' && c.interval === run.config.interval;
  const calibratedOnly = model === 'residual' ? scenarios.filter((s) => !residualFor(s.config)).map((s) => s.label) : [];
  const results: ScenarioResult[] = scenarios.map((sc) => {
    const s = { ...sc, config: attachForecast(sc.config) };
    const boot = s.bootMs ?? bootMs;
    return residualFor(s.config) ? scenarioResult(s, replayResidual(run, s.config, { limits, load: cal.load, bootMs: boot }), boot, rowOpts) : runScenarios([s], cal.load, cal.model, boot, rowOpts, ticksFor)[0];
  });
  const fid = fidelity(run, cal, results[0].sim, residualFor(recorded));
  const residual = model === 'residual' ? residualError(run, recorded, cal) : null;
  const decisions = checkDecisions(run, recorded);
  const rows = [policyRow(recordedRow(run, cal), rowOpts), ...results.map((r) => r.row)];
  if (typeof opts.out === 'string') writeTimelines(opts.out, results);
  const report =
    opts.html === true
      ? (preface: string) => writeReport(dir, { env, replay: { series: results.map((r) => replaySeries(r.scenario.label, r.sim.live)), lines: prefaceLines(preface), table: tableCells(rows, rowOpts) } }).html
      : null;
  if (opts.json === true) {
    if (report !== null) throw new UsageError('--html writes the report page and prints the table: it does not go with --json');
    return (
      JSON.stringify({
        run: { dir: run.dir, config: run.config, durationS: run.durationMs / 1000, ticks: run.ticks.length },
        host: { cores: host.cores, recorded: run.host !== null, memoryBytes: run.host?.memoryBytes ?? null },
        model: { ...cal.model, replay: model, bootMs, loadSource: cal.load.source, loadOffsetS: cal.offsetS, loadCorrelation: cal.correlation },
        fidelity: fid,
        residualError: residual,
        decisions,
        rows: rows.map((r, i) => ({ ...r, config: i === 0 ? recorded : results[i - 1].scenario.config })),
      }) + '\n'
    );
  }
  const bootNote = opts.boot === undefined ? '' : `\nboot:     ${n(bootMs / 1000, 2)} s (--boot) instead of the measured ${n(cal.bootMs / 1000, 2)} s, except for the fidelity row`;
  const decisionLine =
    decisions === null
      ? ''
      : `\ndecisions: the recorded observations through step(): ${decisions.same} of ${decisions.ticks} ticks give the recorded count` +
        (decisions.firstDiff ? ` (first difference at +${n(decisions.firstDiff.t / 1000, 1)} s: ${decisions.firstDiff.replayed} vs ${decisions.firstDiff.recorded})` : ' (the policy replays exactly: any gap above is the capacity model)');
  const hostNote =
    (host.note === null ? '' : `\nnote:     ${host.note}`) +
    (calibratedOnly.length === 0 ? '' : `\nnote:     the residual model replays on the recorded ticks; ${calibratedOnly.join(', ')} ticked at another --interval: calibrated model`);
  const modelLine = `\nreplay:   ${opts.model === undefined && !observed ? 'the run has no recorded observations, so: ' : ''}${model === 'residual' ? "residual model: each tick's recorded observation, changed only where the replayed ready count differs (per-worker load, saturation, queueing, the pool's share of host CPU)" : 'calibrated model: every tick regenerated from the model above'} (--model)`;
  const preface = `${describeCalibration(run, cal).join('\n')}${modelLine}${hostNote}${bootNote}\n${describeFidelity(fid, run.config.metric, residual)}${decisionLine}`;
  const text = `${preface}\n\n${formatTable(rows, rowOpts)}${forecastLines(results)}`;
  if (report === null) return text;
  return `${text}\nreport:   ${report(preface)} (the replayed instances on the run's charts)\n`;
}

/** The printed account above the table ("run:      …", "fidelity: …") as [heading, text] rows for the report. */
export function prefaceLines(preface: string): [string, string][] {
  return preface.split('\n').flatMap((l): [string, string][] => {
    if (l.trim() === '') return [];
    const m = /^([a-z][a-z ]*):\s+(.*)$/.exec(l);
    return [m === null ? ['', l] : [m[1], m[2]]];
  });
}

function replayModel(raw: unknown): ReplayModel {
  const m = raw === undefined ? 'residual' : String(raw);
  if (!(REPLAY_MODELS as readonly string[]).includes(m)) throw new UsageError(`--model must be one of ${REPLAY_MODELS.join(', ')} (received ${JSON.stringify(raw)})`);
  return m as ReplayModel;
}

/** `autoscale replay A --against B`: A replayed under B's recorded settings, side by side with B. */
export function runAgainst(dirArg: string | undefined, flags: RawSettings, opts: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string {
  if (Object.keys(flags).length > 0) throw new UsageError(`--against replays under the other run's recorded settings: ${Object.keys(flags).length === 1 ? 'a policy flag does' : 'policy flags do'} not go with it (use --compare without --against)`);
  for (const k of ['compare', 'boot', 'html', 'out', 'pricePerHour'] as const) {
    if (opts[k] !== undefined) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} does not go with --against`);
  }
  const model = replayModel(opts.model);
  const a = readRun(resolveRunDir(dirArg, env));
  const b = readRun(resolveRunDir(String(opts.against), env));
  const sloMs = rowOptions(opts).sloMs;
  const c = compareAgainst(a, b, { model, sloMs });
  return opts.json === true ? JSON.stringify(c) + '\n' : formatAgainst(c, sloMs);
}
