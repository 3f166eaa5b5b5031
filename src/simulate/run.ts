/** `autoscale simulate`, end to end: load, model, every policy, the table (or JSON) and the timelines. */
import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { RawSettings } from '../settings/config.js';
import { parseProfile, seconds, type RawLoadOptions } from '../loadgen/options.js';
import { runScenarios, timelineLines, type ScenarioResult } from './compare.js';
import { profileLoad, readTrace, scaleLoad, type OfferedLoad } from './load.js';
import { attachForecast } from './history.js';

export { readTrace };
import { EXPONENTIAL_P95, type CapacityModel } from './model.js';
import { labelOf, overlay, parseCompare, resolvePolicy } from '../settings/policy-flags.js';
import { formatTable, type RowOptions } from './summary.js';
import { formatCount } from '../format.js';

function positive(flag: string, raw: unknown, allowZero = false): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number (received ${JSON.stringify(raw)})`);
  }
  return n;
}

/** Row options shared by simulate and replay. */
export function rowOptions(opts: Record<string, unknown>): RowOptions {
  return {
    pricePerHour: opts.pricePerHour === undefined ? null : positive('--price-per-hour', opts.pricePerHour, true),
    sloMs: opts.sloP95 === undefined ? 200 : positive('--slo-p95', opts.sloP95),
  };
}

/** Writes every scenario's timeline to `file` (NDJSON). */
export function writeTimelines(file: string, results: readonly ScenarioResult[]): void {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (err) {
    throw new UsageError(`cannot write --out file "${file}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    for (const r of results) {
      let buf = '';
      for (const line of timelineLines(r)) {
        buf += line;
        if (buf.length > 1 << 16) {
          writeSync(fd, buf);
          buf = '';
        }
      }
      writeSync(fd, buf);
    }
  } finally {
    closeSync(fd);
  }
}

function loadFrom(opts: Record<string, unknown>): OfferedLoad {
  const profileFlags = ['peak', 'duration', 'base', 'burstOn', 'burstOff', 'rampTime', 'steps', 'stepTime', 'spikeAt', 'spikeLength', 'period'];
  if (typeof opts.trace === 'string') {
    if (opts.profile !== undefined) throw new UsageError('give --trace or --profile, not both');
    const extra = profileFlags.find((k) => opts[k] !== undefined);
    if (extra) {
      const hint = extra === 'peak' ? ' (to scale a trace, use --trace-scale <factor>)' : '';
      throw new UsageError(`--${extra.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} only applies to --profile${hint}`);
    }
    const load = readTrace(opts.trace);
    if (opts.traceScale === undefined) return load;
    const factor = positive('--trace-scale', opts.traceScale);
    if (factor > 1_000_000) throw new UsageError(`--trace-scale must be at most 1000000 (received ${factor})`);
    return scaleLoad(load, factor);
  }
  if (opts.traceScale !== undefined) throw new UsageError('--trace-scale only applies to --trace (a profile takes --peak)');
  if (opts.profile === undefined) throw new UsageError('simulate needs an offered load: --trace <file> or --profile <name> --peak <req/s>');
  if (opts.peak === undefined) throw new UsageError('--profile needs --peak <req/s>');
  const peak = positive('--peak', opts.peak);
  const durationS = Math.round(opts.duration === undefined ? 600 : seconds('--duration', String(opts.duration), false));
  if (durationS > 31 * 86_400) throw new UsageError(`--duration must be at most 31 days (received ${durationS} s)`);
  const profile = parseProfile({ ...(opts as RawLoadOptions), profile: String(opts.profile) }, peak, durationS, 'req/s');
  return profileLoad(profile, peak, durationS);
}

/** Under the table: each predictive row's forecast error (MAPE), as its policy measured it tick by tick. */
export function forecastLines(results: readonly ScenarioResult[]): string {
  const rows = results.filter((r) => r.sim.forecast !== undefined);
  if (rows.length === 0) return '';
  const lines = rows.map((r) => {
    const f = r.sim.forecast!;
    const p = r.scenario.config.forecast;
    const learned = p === undefined ? '' : ` (profile of ${formatCount(p.means.length)} buckets of ${formatCount(p.bucketS, 2)} s, learned from ${formatCount(Math.round(p.historyS))} s of ${p.source})`;
    return `forecast error, ${r.scenario.label}: ${f.mape === null ? 'not measured (no tick with traffic one lead time after a forecast)' : `MAPE ${f.mape.toFixed(1)} % over ${formatCount(f.scored)} ticks`}${learned}`;
  });
  return `\n${lines.join('\n')}\n(MAPE: each tick's observed req/s against the forecast made one boot + tick earlier; docs/forecasts.md)\n`;
}

export function describeModel(model: CapacityModel, capacity: number, bootS: number, load: OfferedLoad): string {
  return [
    `load:  ${load.source}, ${load.perSecond.length.toLocaleString('en-US')} s, ${load.mode === 'open' ? 'open loop (arrival rate)' : 'closed loop (virtual users)'}`,
    `model: each instance serves ${capacity} req/s at 100 % of its one core (${(1000 / capacity).toFixed(1)} ms CPU per request), boots in ${bootS} s; ` +
      `p95 = ${model.p95Factor.toFixed(2)} × mean response time (M/M/1 per instance); requests waiting over ${model.timeoutMs / 1000} s are dropped; ` +
      "host-cpu = the fleet's average CPU, starting instances idle",
  ].join('\n');
}

export function runSimulate(flags: RawSettings, file: RawSettings, opts: Record<string, unknown>): string {
  const load = loadFrom(opts);
  const capacity = opts.capacity === undefined ? 100 : positive('--capacity', opts.capacity);
  const bootS = opts.boot === undefined ? 2 : positive('--boot', opts.boot, true);
  const rowOpts = rowOptions(opts);
  const model: CapacityModel = { mode: load.mode, serviceMs: 1000 / capacity, cpuPerRequest: 1 / capacity, cores: Number.POSITIVE_INFINITY, baseLatencyMs: load.mode === 'closed' ? 1000 / capacity : 0, p95Factor: EXPONENTIAL_P95, timeoutMs: 10_000, host: { kind: 'fleet' } };
  const main = resolvePolicy(flags, file);
  const scenarios = [
    { label: Object.keys(flags).length > 0 ? labelOf(flags) : 'policy (defaults)', config: main },
    ...((opts.compare as string[] | undefined) ?? []).map((s) => {
      const { typed, bootS: rowBoot } = parseCompare(s);
      return { label: `+ ${s.trim().replace(/\s+/g, ' ')}`, config: resolvePolicy(overlay(flags, typed), file), ...(rowBoot === null ? {} : { bootMs: rowBoot * 1000 }) };
    }),
  ];
  const results = runScenarios(scenarios.map((sc) => ({ ...sc, config: attachForecast(sc.config) })), load, model, bootS * 1000, rowOpts);
  if (typeof opts.out === 'string') writeTimelines(opts.out, results);
  const described = describeModel(model, capacity, bootS, load);
  if (opts.json === true) {
    return JSON.stringify({ model: { ...model, cores: null, capacity, bootS, load: load.source, durationS: load.perSecond.length }, rows: results.map((r) => ({ ...r.row, config: r.scenario.config })) }) + '\n';
  }
  return `${described}\n\n${formatTable(results.map((r) => r.row), rowOpts)}${forecastLines(results)}`;
}
