import { UsageError } from '../errors.js';
import { PROFILE_NAMES, type Profile, type ProfileName } from './profile.js';
import { parseInteger } from '../parse-int.js';
import { parseMix, type LoadMix } from './mix.js';

/** The flags of `autoscale load` as commander hands them over: strings, unvalidated. */
export interface RawLoadOptions {
  threads?: string;
  duration?: string;
  rate?: string;
  profile?: string;
  method?: string;
  header?: string[];
  body?: string;
  timeout?: string;
  workers?: string;
  json?: boolean;
  out?: string;
  base?: string;
  burstOn?: string;
  burstOff?: string;
  rampTime?: string;
  steps?: string;
  stepTime?: string;
  spikeAt?: string;
  spikeLength?: string;
  period?: string;
  mix?: string;
}

/** A validated load run. Everything downstream trusts it. */
export interface LoadConfig {
  url: URL;
  method: string;
  /** Flat [name, value, name, value, ...], as given. */
  headers: string[];
  body: string | null;
  /** Closed loop: peak virtual users. Open loop: maximum concurrent connections. */
  threads: number;
  durationSec: number;
  /** Open loop peak arrival rate (req/s); null for closed loop. */
  rate: number | null;
  timeoutMs: number;
  /** 0: run in the main thread; N: spread over N worker threads. */
  workers: number;
  profile: Profile;
  json: boolean;
  out: string | null;
  /** --mix: a share of the requests sent as another request (e.g. POST /visits); null: none. */
  mix: LoadMix | null;
}

export const LOAD_DEFAULTS = {
  url: 'http://127.0.0.1:8000/',
  threads: 20,
  durationSec: 60,
  timeoutMs: 10_000,
  workers: 0,
  burstOnSec: 5,
  burstOffSec: 5,
  steps: 5,
} as const;

const MAX_THREADS = 10_000;
/**
 * Highest --rate. The open-loop scheduler does a little work per scheduled
 * arrival, sent or not, so its CPU grows with the rate: 1e9 req/s against a
 * dead port used to run 55 s for `-d 3`. One load generator process sends
 * well under this (tens of thousands a second on a laptop), so nothing a lab
 * can measure is lost.
 */
export const MAX_RATE = 100_000;
const MAX_WORKERS = 64;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function positiveInteger(flag: string, value: string, max: number): number {
  const r = parseInteger(value, 1, max);
  if (r.ok) return r.value;
  if (r.why === 'out-of-range' && r.value !== undefined && r.value > max) throw new UsageError(`${flag} must be at most ${max} (received ${r.value})`);
  throw new UsageError(`${flag} must be a positive integer (received "${value}")`);
}

function nonNegativeInteger(flag: string, value: string, max: number): number {
  const r = parseInteger(value, 0, max);
  if (r.ok) return r.value;
  if (r.why === 'out-of-range' && r.value !== undefined && r.value > max) throw new UsageError(`${flag} must be at most ${max} (received ${r.value})`);
  throw new UsageError(`${flag} must be a non-negative integer (received "${value}")`);
}

function number(flag: string, value: string, allowZero: boolean): number {
  const trimmed = value.trim();
  const n = /^\d+(\.\d+)?$|^\.\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number (received "${value}")`);
  }
  return n;
}

/**
 * 24 h. Longer runs are not a lab's business, and they would break: Node
 * timers overflow past 2^31 - 1 ms (24.8 days: `-d 600h` used to stop sending
 * at once), and the per-second samples a summary keeps grow with the run.
 */
export const MAX_DURATION_SEC = 86_400;

const UNIT_SEC: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** "30", "1.5", "30s", "2m", "500ms" -> seconds. */
export function seconds(flag: string, value: string, allowZero: boolean): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/.exec(value.trim());
  const n = match === null ? NaN : Number(match[1]) * UNIT_SEC[match[2] ?? 's'];
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} duration in seconds, e.g. 30, 1.5, 2m (received "${value}")`);
  }
  return n;
}

function parseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`invalid URL "${value}" (expected an absolute http:// URL, e.g. http://127.0.0.1:8000/)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`URL must use http:// or https:// (received "${value}")`);
  }
  return url;
}

function parseHeaders(values: string[]): string[] {
  const flat: string[] = [];
  for (const value of values) {
    const colon = value.indexOf(':');
    const name = colon < 0 ? '' : value.slice(0, colon).trim();
    const headerValue = colon < 0 ? '' : value.slice(colon + 1).trim();
    if (!TOKEN.test(name) || /[\r\n\0]/.test(headerValue)) {
      throw new UsageError(`--header must look like "name: value" (received "${value}")`);
    }
    flat.push(name, headerValue);
  }
  return flat;
}

/** Which profile-specific flags each profile accepts. */
const PROFILE_FLAGS: Record<ProfileName, (keyof RawLoadOptions)[]> = {
  constant: [],
  burst: ['base', 'burstOn', 'burstOff'],
  ramp: ['base', 'rampTime'],
  step: ['base', 'steps', 'stepTime'],
  spike: ['base', 'spikeAt', 'spikeLength'],
  sine: ['base', 'period'],
};
const FLAG_NAMES: Partial<Record<keyof RawLoadOptions, string>> = {
  base: '--base',
  burstOn: '--burst-on',
  burstOff: '--burst-off',
  rampTime: '--ramp-time',
  steps: '--steps',
  stepTime: '--step-time',
  spikeAt: '--spike-at',
  spikeLength: '--spike-length',
  period: '--period',
};

export function parseProfile(raw: RawLoadOptions, peak: number, durationSec: number, unit: string): Profile {
  const name = (raw.profile ?? 'constant').trim();
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')} (received "${raw.profile}")`);
  }
  const profileName = name as ProfileName;
  for (const [key, flag] of Object.entries(FLAG_NAMES) as [keyof RawLoadOptions, string][]) {
    if (raw[key] !== undefined && !PROFILE_FLAGS[profileName].includes(key)) {
      const users = PROFILE_NAMES.filter((p) => PROFILE_FLAGS[p].includes(key)).join(' or ');
      throw new UsageError(`${flag} only applies to --profile ${users} (received --profile ${profileName})`);
    }
  }
  const base = (fallback: number): number => {
    if (raw.base === undefined) return fallback;
    const b = number('--base', raw.base, true);
    if (b > peak) throw new UsageError(`--base (${b}) must be <= the peak ${unit} (${peak})`);
    return b;
  };
  switch (profileName) {
    case 'constant':
      return { name: 'constant' };
    case 'burst':
      return {
        name: 'burst',
        base: base(0),
        onSec: raw.burstOn === undefined ? LOAD_DEFAULTS.burstOnSec : seconds('--burst-on', raw.burstOn, false),
        offSec: raw.burstOff === undefined ? LOAD_DEFAULTS.burstOffSec : seconds('--burst-off', raw.burstOff, true),
      };
    case 'ramp':
      return { name: 'ramp', base: base(0), rampSec: raw.rampTime === undefined ? durationSec : seconds('--ramp-time', raw.rampTime, false) };
    case 'step': {
      const steps = raw.steps === undefined ? LOAD_DEFAULTS.steps : positiveInteger('--steps', raw.steps, 1000);
      const stepSec = raw.stepTime === undefined ? durationSec / steps : seconds('--step-time', raw.stepTime, false);
      return { name: 'step', base: base(0), steps, stepSec };
    }
    case 'spike': {
      const lengthSec = raw.spikeLength === undefined ? Math.min(10, durationSec / 5) : seconds('--spike-length', raw.spikeLength, false);
      const atSec = raw.spikeAt === undefined ? Math.max(0, (durationSec - lengthSec) / 2) : seconds('--spike-at', raw.spikeAt, true);
      return { name: 'spike', base: base(peak / 10), atSec, lengthSec };
    }
    case 'sine':
      return { name: 'sine', base: base(0), periodSec: raw.period === undefined ? durationSec : seconds('--period', raw.period, false) };
  }
}

/** Validates everything once, at the edge. Throws UsageError (exit 2) with one clear line. */
export function parseLoadOptions(urlArg: string | undefined, raw: RawLoadOptions): LoadConfig {
  const url = parseUrl(urlArg ?? LOAD_DEFAULTS.url);
  const threads = raw.threads === undefined ? LOAD_DEFAULTS.threads : positiveInteger('--threads', raw.threads, MAX_THREADS);
  const durationSec = raw.duration === undefined ? LOAD_DEFAULTS.durationSec : seconds('--duration', raw.duration, false);
  if (durationSec > MAX_DURATION_SEC) {
    throw new UsageError(`--duration must be at most 24h (${MAX_DURATION_SEC} s) (received "${raw.duration}")`);
  }
  const rate = raw.rate === undefined ? null : number('--rate', raw.rate, false);
  if (rate !== null && rate > MAX_RATE) {
    throw new UsageError(`--rate must be at most ${MAX_RATE} req/s (received ${raw.rate}): one load generator cannot send more; to overload the lab, lower its capacity (--max, --work) instead`);
  }
  const timeoutMs = raw.timeout === undefined ? LOAD_DEFAULTS.timeoutMs : positiveInteger('--timeout', raw.timeout, 3_600_000);
  const workers = raw.workers === undefined ? LOAD_DEFAULTS.workers : nonNegativeInteger('--workers', raw.workers, MAX_WORKERS);
  if (workers > threads) throw new UsageError(`--workers (${workers}) must be <= --threads (${threads}): each worker thread needs at least one connection`);

  const body = raw.body ?? null;
  const method = (raw.method ?? (body === null ? 'GET' : 'POST')).trim().toUpperCase();
  if (!TOKEN.test(method)) throw new UsageError(`--method must be an HTTP method such as GET or POST (received "${raw.method}")`);
  if (body !== null && (method === 'GET' || method === 'HEAD')) {
    throw new UsageError(`--body cannot be sent with --method ${method} (use POST, PUT or PATCH)`);
  }
  const headers = parseHeaders(raw.header ?? []);

  const peak = rate ?? threads;
  const profile = parseProfile(raw, peak, durationSec, rate === null ? 'threads' : 'req/s');
  const out = raw.out === undefined ? null : raw.out.trim();
  if (out === '') throw new UsageError('--out needs a file path (received "")');

  const mix = raw.mix === undefined ? null : parseMix(raw.mix);

  return { url, method, headers, body, threads, durationSec, rate, timeoutMs, workers, profile, json: raw.json === true, out, mix };
}
