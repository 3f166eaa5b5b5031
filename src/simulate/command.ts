/** `autoscale simulate`: the thin I/O edge around the simulator. */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { addSettingOptions, POLICY_FLAGS, typedSettings } from '../cli-settings.js';
import { UsageError } from '../errors.js';
import { parseProfile, seconds, type RawLoadOptions } from '../loadgen/options.js';
import { PROFILE_NAMES } from '../loadgen/profile.js';
import { runScenarios, timelineLines, type ScenarioResult } from './compare.js';
import { parseLoadCsv, parseLoadNdjson, profileLoad, type OfferedLoad } from './load.js';
import { EXPONENTIAL_P95, type CapacityModel } from './model.js';
import { collect, labelOf, overlay, parseCompare, resolvePolicy } from './policy-flags.js';
import { formatTable, type RowOptions } from './summary.js';

function positive(flag: string, raw: unknown, allowZero = false): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number (received ${JSON.stringify(raw)})`);
  }
  return n;
}

export function readTrace(file: string): OfferedLoad {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --trace ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return /\.csv$/i.test(file) ? parseLoadCsv(text, file) : parseLoadNdjson(text, file);
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

export function registerSimulateCommand(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  const cmd = program
    .command('simulate')
    .summary('run a policy over a synthetic or recorded load at any scale, no process started')
    .description(
      'Run the lab\'s own policy (the same decide() as `start`) over a load shape or a trace, with a capacity model\n' +
        'instead of real workers: per simulated second throughput, every metric and the instance count. Prints a\n' +
        'comparison table (repeat --compare \'<flags>\' for more policies) and can write the timeline as NDJSON.',
    );
  addSettingOptions(cmd, POLICY_FLAGS)
    .option('--trace <file>', 'offered load: a `autoscale load --out` NDJSON file, or a CSV of t,req/s')
    .addOption(new Option('--profile <name>', `offered load shape: ${PROFILE_NAMES.join(', ')}`))
    .option('--peak <req/s>', 'profile: peak arrival rate, requests per second')
    .option('--duration <s>', 'profile: simulated time (30, 2m, 24h) (default 600)')
    .option('--base <req/s>', 'profile low level (burst off-phase, ramp start, step start, spike baseline, sine trough)')
    .option('--burst-on <s>', 'burst: time at peak per cycle')
    .option('--burst-off <s>', 'burst: time at --base per cycle')
    .option('--ramp-time <s>', 'ramp: time from --base to the peak')
    .option('--steps <n>', 'step: number of levels')
    .option('--step-time <s>', 'step: time per level')
    .option('--spike-at <s>', 'spike: when it starts')
    .option('--spike-length <s>', 'spike: how long it lasts')
    .option('--period <s>', 'sine: period')
    .option('--capacity <req/s>', 'requests per second one instance serves at 100 % of its core (default 100)')
    .option('--boot <s>', 'time from fork to ready, seconds (90 for a VM, 2 for a container) (default 2)')
    .option('--compare <flags>', "another policy to run on the same load, e.g. --compare '--cooldown 300' (repeatable)", collect)
    .option('--price-per-hour <price>', 'price of one instance-hour, for the cost column')
    .option('--slo-p95 <ms>', 'count the seconds whose p95 exceeds this (default 200)')
    .option('-o, --out <file.ndjson>', 'write the simulated timelines (one line per second and per tick) to this file')
    .option('--json', 'print the model and the rows as one JSON object')
    .action((opts: Record<string, unknown>, command: Command) => {
      const { flags, file } = typedSettings(opts, command, POLICY_FLAGS);
      const load = loadFrom(opts);
      const capacity = opts.capacity === undefined ? 100 : positive('--capacity', opts.capacity);
      const bootS = opts.boot === undefined ? 2 : positive('--boot', opts.boot, true);
      const rowOpts = rowOptions(opts);
      const model: CapacityModel = { mode: load.mode, serviceMs: 1000 / capacity, cpuPerRequest: 1 / capacity, cores: Number.POSITIVE_INFINITY, baseLatencyMs: load.mode === 'closed' ? 1000 / capacity : 0, p95Factor: EXPONENTIAL_P95, timeoutMs: 10_000, host: { kind: 'fleet' } };
      const main = resolvePolicy(flags, file);
      const scenarios = [
        { label: Object.keys(flags).length > 0 ? labelOf(flags) : 'policy (defaults)', config: main },
        ...((opts.compare as string[] | undefined) ?? []).map((s) => {
          const typed = parseCompare(s);
          return { label: `+ ${s.trim().replace(/\s+/g, ' ')}`, config: resolvePolicy(overlay(flags, typed), file) };
        }),
      ];
      const results = runScenarios(scenarios, load, model, bootS * 1000, rowOpts);
      if (typeof opts.out === 'string') writeTimelines(opts.out, results);
      const described = describeModel(model, capacity, bootS, load);
      if (opts.json === true) {
        io.stdout.write(JSON.stringify({ model: { ...model, cores: null, capacity, bootS, load: load.source, durationS: load.perSecond.length }, rows: results.map((r) => ({ ...r.row, config: r.scenario.config })) }) + '\n');
      } else {
        io.stdout.write(`${described}\n\n${formatTable(results.map((r) => r.row), rowOpts)}`);
      }
      setExitCode(0);
    });
}

function loadFrom(opts: Record<string, unknown>): OfferedLoad {
  const profileFlags = ['peak', 'duration', 'base', 'burstOn', 'burstOff', 'rampTime', 'steps', 'stepTime', 'spikeAt', 'spikeLength', 'period'];
  if (typeof opts.trace === 'string') {
    if (opts.profile !== undefined) throw new UsageError('give --trace or --profile, not both');
    const extra = profileFlags.find((k) => opts[k] !== undefined);
    if (extra) throw new UsageError(`--${extra.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} only applies to --profile`);
    return readTrace(opts.trace);
  }
  if (opts.profile === undefined) throw new UsageError('simulate needs an offered load: --trace <file> or --profile <name> --peak <req/s>');
  if (opts.peak === undefined) throw new UsageError('--profile needs --peak <req/s>');
  const peak = positive('--peak', opts.peak);
  const durationS = Math.round(opts.duration === undefined ? 600 : seconds('--duration', String(opts.duration), false));
  if (durationS > 31 * 86_400) throw new UsageError(`--duration must be at most 31 days (received ${durationS} s)`);
  const profile = parseProfile({ ...(opts as RawLoadOptions), profile: String(opts.profile) }, peak, durationS, 'req/s');
  return profileLoad(profile, peak, durationS);
}

export function describeModel(model: CapacityModel, capacity: number, bootS: number, load: OfferedLoad): string {
  return [
    `load:  ${load.source}, ${load.perSecond.length.toLocaleString('en-US')} s, ${load.mode === 'open' ? 'open loop (arrival rate)' : 'closed loop (virtual users)'}`,
    `model: each instance serves ${capacity} req/s at 100 % of its one core (${(1000 / capacity).toFixed(1)} ms CPU per request), boots in ${bootS} s; ` +
      `p95 = ${model.p95Factor.toFixed(2)} × mean response time (M/M/1 per instance); requests waiting over ${model.timeoutMs / 1000} s are dropped; ` +
      "host-cpu = the fleet's average CPU, starting instances idle",
  ].join('\n');
}
