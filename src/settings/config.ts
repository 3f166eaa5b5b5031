/**
 * The lab's settings: defaults < --config file < flags. Validated once, here,
 * with messages that say what was expected and what was received.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError, UsageError } from '../errors.js';
import type { LabSettings } from '../events.js';
import { parseInteger } from '../parse-int.js';
import { POLICY_NAMES, type PolicyName } from '../policy/rules.js';
import { METRIC_NAMES, METRICS, type MetricName } from '../policy/metrics.js';
import type { SeasonalProfile } from '../policy/forecast.js';
import type { StepScalingSettings } from '../policy/step-scaling.js';
import { hasStepSettings, parseStepSection, rawStepScaling, resolveStepScaling, type RawStepScaling } from './step-scaling.js';
import type { AlarmRule } from '../alarms/rule.js';
import { parseFileAlarms, resolveAlarms } from './alarms.js';

export interface LabConfig extends LabSettings {
  bootDelay: number;
  /** Alarm rules (src/alarms), evaluated every tick; [] for none. */
  alarms: AlarmRule[];
  metric: MetricName;
  policy: PolicyName;
  /** Longest wait for a worker's in-flight requests on scale-in, ms. */
  drainTimeoutMs: number;
  /** SIGTERM -> SIGKILL deadline, ms. */
  killTimeoutMs: number;
  /** A worker that has not said 'ready' after this long is killed and counts as a crash, ms. */
  readyTimeoutMs: number;
  /** --policy predictive: the profile learned from --history, attached at the edge (simulate/history.ts); never a flag. */
  forecast?: SeasonalProfile;
  /** --policy step: the scale-out and scale-in policies with their alarms (null under the other policies). */
  stepScaling: StepScalingSettings | null;
}

/**
 * Cooldown: 15 s = five 3 s ticks. Long enough for a new worker's effect to
 * show in the CPU readings before the policy may take capacity away again
 * (AWS's default is 300 s, Kubernetes' scale-down stabilisation also 300 s,
 * both sized for real VMs and pods); short enough that a class sees the pool
 * shrink within a minute of the load stopping.
 */
export const DEFAULTS: LabConfig = {
  min: 1,
  max: 5,
  scaleUp: 35,
  scaleDown: 15,
  interval: 3,
  cooldown: 15,
  port: 8000,
  basePort: 5000,
  host: '127.0.0.1',
  work: 10,
  metric: 'host-cpu',
  policy: 'threshold',
  target: METRICS['host-cpu'].defaultTarget,
  tolerance: 0.1,
  scaleDownWindow: 30,
  maxStepPods: 4,
  maxStepPercent: 100,
  warmup: 6,
  idle: 60,
  holdMax: 1000,
  holdTimeout: 10,
  metricsPort: 9464,
  upstreamTimeout: 30,
  balancer: 'l7',
  maxConnRequests: 0,
  maxConnAge: 0,
  bootDelay: 0,
  alarms: [],
  drainTimeoutMs: 10_000,
  killTimeoutMs: 5_000,
  readyTimeoutMs: 15_000,
  stepScaling: null,
};

type Kind = 'int' | 'number' | 'string';
export interface KeySpec { key: keyof LabConfig; flag: string; kind: Kind; min?: number; max?: number }

/** Keys settable from flags and the config file (file keys are the flag names, e.g. "scale-up", or camelCase). */
const KEYS: KeySpec[] = [
  { key: 'min', flag: 'min', kind: 'int', min: 0, max: 64 },
  { key: 'max', flag: 'max', kind: 'int', min: 1, max: 64 },
  { key: 'scaleUp', flag: 'scale-up', kind: 'number', min: 0, max: 100 },
  { key: 'scaleDown', flag: 'scale-down', kind: 'number', min: 0, max: 100 },
  { key: 'interval', flag: 'interval', kind: 'number', min: 0.2, max: 3600 },
  { key: 'cooldown', flag: 'cooldown', kind: 'number', min: 0, max: 86_400 },
  { key: 'port', flag: 'port', kind: 'int', min: 0, max: 65_535 },
  { key: 'basePort', flag: 'base-port', kind: 'int', min: 1024, max: 65_535 },
  { key: 'host', flag: 'host', kind: 'string' },
  // Whole ms only, exactly what the worker accepts (src/app/main.ts): 2.5 would make every worker exit 2 before ready.
  { key: 'work', flag: 'work', kind: 'int', min: 0, max: 1000 },
  { key: 'target', flag: 'target', kind: 'number', min: 0.001, max: 1_000_000 },
  { key: 'tolerance', flag: 'tolerance', kind: 'number', min: 0, max: 0.9 },
  { key: 'scaleDownWindow', flag: 'scale-down-window', kind: 'number', min: 0, max: 3600 },
  { key: 'maxStepPods', flag: 'max-step-pods', kind: 'int', min: 1, max: 64 },
  { key: 'maxStepPercent', flag: 'max-step-percent', kind: 'number', min: 0, max: 1000 },
  { key: 'warmup', flag: 'warmup', kind: 'number', min: 0, max: 3600 },
  { key: 'idle', flag: 'idle', kind: 'number', min: 1, max: 86_400 },
  { key: 'holdMax', flag: 'hold-max', kind: 'int', min: 0, max: 100_000 },
  { key: 'holdTimeout', flag: 'hold-timeout', kind: 'number', min: 0.1, max: 300 },
  { key: 'metricsPort', flag: 'metrics-port', kind: 'int', min: 0, max: 65_535 },
  { key: 'upstreamTimeout', flag: 'upstream-timeout', kind: 'number', min: 0.1, max: 3600 },
  { key: 'maxConnRequests', flag: 'max-conn-requests', kind: 'int', min: 0, max: 1_000_000_000 },
  { key: 'maxConnAge', flag: 'max-conn-age', kind: 'int', min: 0, max: 86_400 },
  // Bounded: a worker held longer than 10 minutes teaches nothing a simulator could not.
  { key: 'bootDelay', flag: 'boot-delay', kind: 'number', min: 0, max: 600 },
  // --policy predictive: run directories or trace files (comma-separated) to learn the season from, and the season's length.
  { key: 'history', flag: 'history', kind: 'string' },
  { key: 'season', flag: 'season', kind: 'number', min: 1, max: 7 * 86_400 },
  // The history's clock times this (experiment --quick shortens a lesson's history with its timeline).
  { key: 'historyScale', flag: 'history-scale', kind: 'number', min: 0.001, max: 1000 },
];

/** The numeric and string settings with their flag names and bounds (the experiment file's schema is built from these). */
export const SETTING_SPECS: readonly KeySpec[] = KEYS;

export const ENUMS = { metric: METRIC_NAMES, policy: POLICY_NAMES, balancer: ['l7', 'l4'] } as const;

/** Every setting a flag or the config file may set, by LabConfig key (commander's attribute names are the same). */
export const SETTING_KEYS: readonly string[] = [...KEYS.map((k) => k.key), 'metric', 'policy', 'balancer'];

export type RawSettings = Partial<Record<string, unknown>>;

/** The step policy's flags (commander attribute names), repeatable or not; the config file's "step" section lands in STEP_FILE_KEY. */
export const STEP_FLAG_KEYS = ['stepOut', 'stepIn', 'stepOutAlarm', 'stepInAlarm', 'stepMinMagnitude'] as const;
export const STEP_FILE_KEY = 'step';
/** A recording's resolved step settings (replay's base), taken as they are when nothing step-related is typed over them. */
export const STEP_RESOLVED_KEY = 'stepScaling';

function stepFlags(raw: RawSettings): RawStepScaling {
  return { out: raw.stepOut, in: raw.stepIn, outAlarm: raw.stepOutAlarm, inAlarm: raw.stepInAlarm, minMagnitude: raw.stepMinMagnitude };
}

/** Where a config file's "database-url" lands in its RawSettings (not a LabConfig key: resolveConfig ignores it). */
export const DATABASE_URL_KEY = 'databaseUrl';

/**
 * Alarm rules in RawSettings: the config file's checked `alarms` list (AlarmRule[]),
 * `--alarms default|none` and the `--alarm` flags (strings), see settings/alarms.ts.
 */
export const ALARM_KEYS = { file: 'alarms', set: 'alarmSet', flag: 'alarm' } as const;

/**
 * What a caller may relax: the lab on one laptop runs at most 64 workers on
 * real ports; `simulate`, `replay` and `export` describe fleets and bind nothing.
 */
export interface ResolveLimits {
  /** Highest --min/--max accepted (default 64). */
  maxInstances?: number;
  /** Check --port/--base-port against the worker port range (default true). */
  ports?: boolean;
}

/** Turn one raw value (a flag string or a JSON value) into a checked number/string. */
function coerce(spec: KeySpec, raw: unknown, where: string, limits: ResolveLimits = {}): number | string {
  const name = where === 'flag' ? `--${spec.flag}` : `"${spec.flag}" in the config file`;
  if (spec.kind === 'string') {
    if (typeof raw !== 'string' || raw.trim() === '') {
      throw new ConfigError(`${name} must be a non-empty string (received ${JSON.stringify(raw)})`);
    }
    return raw.trim();
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) {
    throw new ConfigError(`${name} must be a number (received ${JSON.stringify(raw)})`);
  }
  if (spec.kind === 'int' && !parseInteger(raw, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).ok) {
    throw new ConfigError(`${name} must be a whole number (received ${JSON.stringify(raw)})`);
  }
  const max = (spec.key === 'min' || spec.key === 'max' || spec.key === 'maxStepPods') && limits.maxInstances !== undefined ? limits.maxInstances : spec.max;
  if ((spec.min !== undefined && n < spec.min) || (max !== undefined && n > max)) {
    throw new ConfigError(`${name} must be between ${spec.min} and ${max} (received ${n})`);
  }
  return n;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Parse the --config file's JSON into raw settings keyed by LabConfig key. Unknown keys are an error. */
export function parseConfigFile(text: string, file: string): RawSettings {
  let data: unknown;
  try {
    // A UTF-8 byte order mark (Windows editors write one) is not part of the JSON.
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${file} must hold a JSON object (received ${data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`})`);
  }
  const out: RawSettings = {};
  const known = KEYS.map((k) => k.flag).concat('metric', 'policy', 'balancer', 'database-url', 'alarms', STEP_FILE_KEY);
  for (const [name, value] of Object.entries(data)) {
    if (name === 'alarms') {
      out[ALARM_KEYS.file] = parseFileAlarms(value, file);
      continue;
    }
    if (name === STEP_FILE_KEY) {
      out[STEP_FILE_KEY] = parseStepSection(value, file);
      continue;
    }
    if (name === 'database-url' || name === 'databaseUrl') {
      // A start setting that is not part of the policy: `start` reads it (cli.ts), the other commands ignore it.
      if (DATABASE_URL_KEY in out) throw new ConfigError(`config file ${file}: "${name}" is given twice (as "database-url" and "databaseUrl")`);
      if (typeof value !== 'string' || value.trim() === '') {
        throw new ConfigError(`"database-url" in the config file ${file} must be a non-empty string (received ${JSON.stringify(value)})`);
      }
      out[DATABASE_URL_KEY] = value.trim();
      continue;
    }
    const spec = KEYS.find((k) => k.flag === name || k.key === name);
    const key = spec ? spec.key : name === 'metric' || name === 'policy' || name === 'balancer' ? name : undefined;
    if (key === undefined) {
      throw new ConfigError(`config file ${file}: unknown key "${name}" (expected one of: ${known.join(', ')})`);
    }
    if (key in out) {
      throw new ConfigError(`config file ${file}: "${name}" is given twice (as "${spec?.flag}" and "${camel(spec?.flag ?? name)}")`);
    }
    out[key] = value;
  }
  return out;
}

/** Largest --config file read; a settings file is a few hundred bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Read the --config file: regular files only (a FIFO would block forever, a
 * device such as /dev/zero never ends), at most MAX_CONFIG_BYTES. Opened
 * non-blocking so that even opening a FIFO cannot hang.
 */
export function readConfigFile(file: string): RawSettings {
  const fail = (err: unknown): never => {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return fail(err);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new ConfigError(`config file ${file} is ${kind}; give a regular JSON file`);
    }
    const tooBig = () => new ConfigError(`config file ${file} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; a settings file is a few lines of JSON`);
    if (st.size > MAX_CONFIG_BYTES) throw tooBig();
    // Read to the end, but never past the bound (the file may grow while we read).
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, n, buf.length - n, null);
      } catch (err) {
        return fail(err);
      }
      if (got === 0) break;
      n += got;
      if (n > MAX_CONFIG_BYTES) throw tooBig();
    }
    text = buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
  return parseConfigFile(text, file);
}

/**
 * defaults < file < flags. `flags` holds only what the user typed (commander
 * values whose source is 'cli'), as strings; `file` holds JSON values.
 */
export function resolveConfig(flags: RawSettings, file: RawSettings = {}, limits: ResolveLimits = {}): LabConfig {
  const config: LabConfig = { ...DEFAULTS };
  for (const [source, raw] of [['file', file], ['flag', flags]] as const) {
    for (const spec of KEYS) {
      const value = raw[spec.key];
      if (value === undefined) continue;
      (config as unknown as Record<string, unknown>)[spec.key] = coerce(spec, value, source, limits);
    }
    for (const key of ['metric', 'policy', 'balancer'] as const) {
      const value = raw[key];
      if (value === undefined) continue;
      const allowed: readonly string[] = ENUMS[key];
      if (typeof value !== 'string' || !allowed.includes(value)) {
        throw new ConfigError(`--${key} must be one of ${allowed.join(', ')} (received ${JSON.stringify(value)})`);
      }
      (config as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (flags.target === undefined && file.target === undefined) config.target = METRICS[config.metric].defaultTarget;
  const typedStep = stepFlags(flags);
  if (config.policy === 'step') {
    // A recording's resolved settings (replay's base) read as if typed in a file: flags override them key by key.
    const recorded = file[STEP_RESOLVED_KEY] as StepScalingSettings | null | undefined;
    const fileStep = (file[STEP_FILE_KEY] ?? (recorded ? rawStepScaling(recorded) : {})) as RawStepScaling;
    config.stepScaling = resolveStepScaling(typedStep, fileStep, config.metric);
  } else if (hasStepSettings(typedStep)) {
    throw new UsageError(`--step-out, --step-in, --step-out-alarm, --step-in-alarm and --step-min-magnitude apply only to --policy step (the policy is ${config.policy})`);
  }
  config.alarms = resolveAlarms(file[ALARM_KEYS.file] as AlarmRule[] | undefined, flags[ALARM_KEYS.set], flags[ALARM_KEYS.flag], config.interval);
  if (config.min > config.max) {
    throw new UsageError(`--min (${config.min}) must be <= --max (${config.max})`);
  }
  if (config.min === 0 && config.balancer === 'l4') {
    // Holding a request until a worker starts needs an HTTP proxy; an L4 hand-off has no request to hold.
    throw new UsageError('--min 0 (scale to zero) needs the L7 balancer: it holds requests until a worker is ready, which --balancer l4 cannot (use --min 1, or drop --balancer l4)');
  }
  if (config.policy === 'predictive') {
    // The forecast is of requests per second, so its capacity per worker is the rps target (AWS pairs a load metric with a scaling metric the same way).
    if (config.metric !== 'rps') throw new UsageError(`--policy predictive forecasts requests per second: use --metric rps with --target <req/s per worker> (received --metric ${config.metric})`);
    if (config.history === undefined) throw new UsageError('--policy predictive needs --history <run dirs or trace files> to learn the load from');
  } else {
    for (const key of ['history', 'season', 'historyScale'] as const) {
      if (config[key] !== undefined) throw new UsageError(`--${key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} only applies to --policy predictive (received --policy ${config.policy})`);
    }
  }
  if (config.scaleDown >= config.scaleUp) {
    throw new UsageError(`--scale-down (${config.scaleDown}) must be below --scale-up (${config.scaleUp})`);
  }
  if (limits.ports === false) return config;
  if (config.port !== 0 && config.port >= config.basePort && config.port < config.basePort + config.max) {
    throw new UsageError(
      `--port (${config.port}) falls inside the workers' port range ${config.basePort}–${config.basePort + config.max - 1} (move --port or --base-port)`,
    );
  }
  if (config.metricsPort !== 0 && config.metricsPort === config.port) {
    throw new UsageError(`--metrics-port (${config.metricsPort}) must differ from --port`);
  }
  if (config.basePort + config.max - 1 > 65_535) {
    throw new UsageError(`--base-port (${config.basePort}) + --max (${config.max}) runs past port 65535`);
  }
  return config;
}

/** The settings as views show them (the 'started' event). */
export function publicSettings(config: LabConfig): LabSettings {
  const { drainTimeoutMs: _d, killTimeoutMs: _k, readyTimeoutMs: _r, forecast: _f, ...rest } = config;
  return rest;
}
