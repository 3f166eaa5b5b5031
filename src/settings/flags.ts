/**
 * The lab's setting flags, shared by every command that takes a policy
 * (`start`, `export`, `simulate`, `replay`): one list, one help text, and one
 * way to collect what the user really typed (so defaults < --config < flags).
 */
import type { Command } from 'commander';
import { DEFAULTS, readConfigFile, type RawSettings } from './config.js';
import { METRIC_NAMES, METRICS } from '../policy/metrics.js';

export type SettingFlag = keyof typeof HELP;

const d = DEFAULTS;
const HELP = {
  min: ['--min <n>', `fewest workers (default ${d.min})`],
  max: ['--max <n>', `most workers (default ${d.max})`],
  scaleUp: ['--scale-up <value>', `threshold policy: scale out while the metric is above this (default ${d.scaleUp})`],
  scaleDown: ['--scale-down <value>', `threshold policy: scale in while the metric is below this (default ${d.scaleDown})`],
  interval: ['--interval <seconds>', `seconds between samples / decisions (default ${d.interval})`],
  cooldown: ['--cooldown <seconds>', `threshold policy: no scale-in until this long after the last scaling action (default ${d.cooldown})`],
  port: ['--port <port>', `balancer port (default ${d.port})`],
  basePort: ['--base-port <port>', `first worker port; workers take the lowest free ports from here (default ${d.basePort})`],
  host: ['--host <address>', `address to bind the balancer to; workers always bind 127.0.0.1 (default ${d.host})`],
  work: ['--work <ms>', `busy-loop CPU ms per request in each worker, 0 for none (default ${d.work})`],
  metric: ['--metric <name>', `what drives scaling: ${METRIC_NAMES.map((m) => `${m} (${METRICS[m].help})`).join('; ')} (default ${d.metric})`],
  policy: ['--policy <name>', `threshold (one step above --scale-up / below --scale-down), target (Kubernetes HPA: ceil(n × metric / --target)), predictive (target tracking that also scales ahead of the load --history forecasts, by the boot time; --metric rps) or step (AWS step scaling: --step-out/--step-in adjustments driven by alarms) (default ${d.policy})`],
  stepOut: ['--step-out <low-high:adj>', "step policy: a scale-out step in the metric's unit, repeatable: '60-80:+1' (+1 worker from 60 up to 80), '80-:+2' (no upper bound), '60-:+50%' (of the current count), '80-:=5' (exactly 5); the lowest bound is the alarm's threshold"],
  stepIn: ['--step-in <low-high:adj>', "step policy: a scale-in step, repeatable: '-20:-1' (-1 worker at or below 20), '10-20:-1' with '-10:-2'; the highest bound is the alarm's threshold"],
  stepOutAlarm: ['--step-out-alarm <M/N>', `step policy: the scale-out alarm fires when M of the last N ticks are at or above its threshold (CloudWatch's datapoints to alarm; default ${'1/1'})`],
  stepInAlarm: ['--step-in-alarm <M/N>', `step policy: the scale-in alarm fires when M of the last N ticks are at or below its threshold (default ${'5/5'}: 15 s at 3 s ticks)`],
  stepMinMagnitude: ['--step-min-magnitude <n>', 'step policy, percent steps: change the count by at least this many workers (AWS MinAdjustmentMagnitude)'],
  target: ['--target <value>', `target policy: per-worker value to hold the metric at (default per metric: ${METRIC_NAMES.map((m) => `${m} ${METRICS[m].defaultTarget}`).join(', ')})`],
  tolerance: ['--tolerance <fraction>', `target policy: no action while |metric/target - 1| <= this (default ${d.tolerance}, as HPA)`],
  scaleDownWindow: ['--scale-down-window <seconds>', `target policy: scale in only to the highest recommendation of this window (default ${d.scaleDownWindow}; HPA's default is 300)`],
  maxStepPods: ['--max-step-pods <n>', `target policy: one tick adds at most this many workers … (default ${d.maxStepPods})`],
  maxStepPercent: ['--max-step-percent <percent>', `… or this % of the current count, whichever is more (default ${d.maxStepPercent}, i.e. may double)`],
  warmup: ['--warmup <seconds>', `a newly ready worker stays out of per-worker averages this long, and scale-in waits (default ${d.warmup})`],
  idle: ['--idle <seconds>', `with --min 0: shrink to no worker after this long without a request (default ${d.idle})`],
  holdMax: ['--hold-max <n>', `requests held while no worker is ready; one more gets 503 at once (default ${d.holdMax}; 0: none)`],
  holdTimeout: ['--hold-timeout <seconds>', `longest a held request waits for a worker, then 503 (default ${d.holdTimeout})`],
  metricsPort: ['--metrics-port <port>', `loopback port for the lab's Prometheus /metrics (default ${d.metricsPort}; 0 disables)`],
  balancer: ['--balancer <mode>', `l7: the balancer proxies each request (round robin per request); l4: it hands each TCP connection to the next worker (round robin per connection, like an NLB or a Kubernetes Service) (default ${d.balancer})`],
  maxConnRequests: ['--max-conn-requests <n>', `workers answer Connection: close after this many requests on one connection, 0 for never (like nginx keepalive_requests; the cure for L4 pinning) (default ${d.maxConnRequests})`],
  maxConnAge: ['--max-conn-age <seconds>', `workers answer Connection: close once a connection is this old, 0 for never (default ${d.maxConnAge})`],
  bootDelay: ['--boot-delay <seconds>', `a forked worker holds its readiness this long after it listens, like a VM booting or an image pull (default ${d.bootDelay})`],
  history: ['--history <paths>', 'predictive policy: recorded run directories or traces (load --out NDJSON, CSV t,req/s), comma-separated, to learn the load\'s season from'],
  historyScale: ['--history-scale <factor>', 'predictive policy: multiply the history\'s times by this (experiment --quick sets it with the lesson\'s clock) (default 1)'],
  season: ['--season <seconds>', 'predictive policy: the length of the load\'s season (default 86400, a day)'],
  upstreamTimeout: ['--upstream-timeout <seconds>', `the balancer answers 504 when a worker's response headers take longer than this, time queued for a connection included (default ${d.upstreamTimeout})`],
} as const;

/** The settings that shape the policy only (what replay and simulate accept). */
export const POLICY_FLAGS: readonly SettingFlag[] = [
  'min', 'max', 'scaleUp', 'scaleDown', 'interval', 'cooldown', 'metric', 'policy', 'target', 'tolerance', 'scaleDownWindow', 'maxStepPods', 'maxStepPercent', 'warmup', 'history', 'season', 'historyScale',
  'stepOut', 'stepIn', 'stepOutAlarm', 'stepInAlarm', 'stepMinMagnitude',
];
/** Flags given once per value (`--step-out A --step-out B`). */
const REPEATABLE: ReadonlySet<SettingFlag> = new Set(['stepOut', 'stepIn']);
const collectAll = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
export const ALL_SETTING_FLAGS = Object.keys(HELP) as SettingFlag[];

/** For replay: a flag left out keeps the recorded run's value, not the lab's default, and the help says so. */
function recordedDefault(help: string): string {
  return help.replace(/ \(default [^)]*\)$/, '') + " (default: the recorded run's value)";
}

/** Adds the setting flags (all of them, or `keys`) and, unless `config` is false, --config; `defaults` 'recorded': help names the recorded run's value as the default. */
export function addSettingOptions(cmd: Command, keys: readonly SettingFlag[] = ALL_SETTING_FLAGS, config = true, defaults: 'lab' | 'recorded' = 'lab'): Command {
  for (const key of keys) {
    const help = defaults === 'lab' ? HELP[key][1] : recordedDefault(HELP[key][1]);
    if (REPEATABLE.has(key)) cmd.option(HELP[key][0], help, collectAll);
    else cmd.option(HELP[key][0], help);
  }
  if (config) cmd.option('--config <file.json>', 'JSON file with the same keys as these flags ("scale-up" or "scaleUp"); flags win over it');
  return cmd;
}

/** What the user typed (commander values whose source is the command line) and the --config file's values. */
export function typedSettings(opts: Record<string, unknown>, cmd: Command, keys: readonly SettingFlag[] = ALL_SETTING_FLAGS): { flags: RawSettings; file: RawSettings } {
  const flags: RawSettings = {};
  for (const key of keys) {
    if (cmd.getOptionValueSource(key) === 'cli') flags[key] = opts[key];
  }
  const file = typeof opts.config === 'string' ? readConfigFile(opts.config) : {};
  return { flags, file };
}
