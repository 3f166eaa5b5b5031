/**
 * The experiment file: YAML, checked once by a zod schema (key paths in every
 * error, unknown keys refused), then each arm through the lab's own
 * resolveConfig and each load phase through the load generator's own option
 * parser, so an arm or a phase means exactly what `start` / `load` would make
 * of the same flags. Every error is one line: `arms[1].cooldown: expected
 * seconds >= 0, got "abc"`. Pure: text in, Experiment out.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { AutoscaleError, ExperimentFileError } from '../errors.js';
import { ENUMS, resolveConfig, SETTING_SPECS, type LabConfig, type RawSettings } from '../settings/config.js';
import { parseLoadOptions, type RawLoadOptions } from '../loadgen/options.js';
import { PROFILE_NAMES } from '../loadgen/profile.js';
import { quickFactor, scaleTimes, TIME_SETTINGS } from './quick.js';

/** Settings the experiment command gives every arm from its own flags (the same ports for every arm). */
const FROM_COMMAND_LINE = new Set(['port', 'basePort', 'metricsPort', 'host']);
const SECONDS_KEYS = new Set<string>([...TIME_SETTINGS, 'holdTimeout', 'upstreamTimeout', 'maxConnAge']);

export const ACTIONS = ['sigkill', 'sigstop', 'sigcont', 'fail-500', 'fail-health', 'noisy-neighbour', 'scale', 'pause', 'resume', 'refresh'] as const;
export type Action = (typeof ACTIONS)[number];
/** Actions on one worker (they need `worker:`), and the ones that last (`for:`). */
const ON_A_WORKER: ReadonlySet<Action> = new Set(['sigkill', 'sigstop', 'sigcont', 'fail-500', 'fail-health']);
const LASTING: ReadonlySet<Action> = new Set(['sigstop', 'fail-500', 'fail-health', 'noisy-neighbour']);

export const CLAIMS = ['errors', 'clientErrors', 'requests', 'peak', 'scaleActions', 'scaleOuts', 'scaleIns', 'reaction', 'workerSeconds', 'secondsOverSlo', 'clientP99'] as const;
export type ClaimName = (typeof CLAIMS)[number];
/** The unit a claim's value may carry (none: a count). */
const CLAIM_UNITS: Partial<Record<ClaimName, string>> = { reaction: 's', workerSeconds: 's', secondsOverSlo: 's', clientP99: 'ms' };

/** Longest a noisy neighbour or a fault may last, s: bounded like everything that burns CPU on request. */
export const MAX_EVENT_SECONDS = 600;

export type WorkerSelector = { kind: 'newest' } | { kind: 'oldest' } | { kind: 'id'; id: number };

export interface TimedEvent {
  /** Seconds after the load starts. */
  at: number;
  action: Action;
  worker?: WorkerSelector;
  /** How long a lasting action lasts (SIGSTOP then SIGCONT, a fault, the neighbour), s. */
  for?: number;
  /** scale: the worker count. */
  n?: number;
  /** noisy-neighbour: busy cores (default 1). */
  cores?: number;
  /** refresh: minimum healthy percentage. */
  minHealthy?: number;
}

export interface LoadPhase {
  name: string;
  durationSec: number;
  /** 0: no load during this phase (a quiet spell). */
  threads: number;
  rate: number | null;
  /** The `autoscale load` flags of this phase, URL and output excluded (`--profile spike --spike-at 5 ...`). */
  flags: string[];
}

export interface Arm {
  name: string;
  description: string;
  /** The settings as written, by LabConfig key. */
  settings: RawSettings;
}

export interface Claim {
  /** The arms it is checked on (all when the file names none). */
  arms: string[];
  name: ClaimName;
  op: '<=' | '>=' | '<' | '>' | '==';
  value: number;
  /** As written, e.g. "<= 10s". */
  text: string;
}

export interface Experiment {
  title: string;
  teaches: string;
  questions: { q: string; answer: string }[];
  slo: { p95Ms: number };
  arms: Arm[];
  load: LoadPhase[];
  events: TimedEvent[];
  expect: Claim[];
  /** Seconds of load per arm (the phases' sum). */
  loadSec: number;
  /** --quick: the factor every time in the file was multiplied by (1: none). */
  timeFactor: number;
}

const show = (v: unknown): string => {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/** A number with bounds, and messages that say what was expected and what was received. */
function num(noun: string, min: number, max: number, opts: { int?: boolean; above?: boolean } = {}) {
  return z.unknown().transform((v, ctx) => {
    const isNum = typeof v === 'number' && Number.isFinite(v) && (!opts.int || Number.isInteger(v));
    let want: string | null = null;
    if (!isNum || (opts.above ? v <= min : v < min)) want = `${noun} ${opts.above ? '>' : '>='} ${min}`;
    else if (v > max) want = `${noun} <= ${max}`;
    if (want !== null) {
      ctx.addIssue({ code: 'custom', message: `expected ${want}, got ${show(v)}` });
      return z.NEVER;
    }
    return v as number;
  });
}

function text(max: number, what = 'text') {
  return z.unknown().transform((v, ctx) => {
    if (typeof v !== 'string' || v.trim() === '' || v.length > max) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} (1–${max} characters), got ${show(v)}` });
      return z.NEVER;
    }
    return v.trim();
  });
}

function oneOf<T extends string>(values: readonly T[]) {
  return z.unknown().transform((v, ctx) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}, got ${show(v)}` });
      return z.NEVER;
    }
    return v as T;
  });
}

const selector = z.unknown().transform((v, ctx): WorkerSelector => {
  if (v === 'newest' || v === 'oldest') return { kind: v };
  const m = typeof v === 'string' ? /^worker (\d{1,6})$/.exec(v.trim()) : null;
  if (m) return { kind: 'id', id: Number(m[1]) };
  ctx.addIssue({ code: 'custom', message: `expected newest, oldest or "worker N", got ${show(v)}` });
  return z.NEVER;
});

const nameRule = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(v)) {
    ctx.addIssue({ code: 'custom', message: `expected a short name of lower-case letters, digits and dashes (it names the arm's run directory), got ${show(v)}` });
    return z.NEVER;
  }
  return v;
});

/** The start settings an arm may set, by their flag names (e.g. "scale-up"), each with the lab's own bounds. */
const settingShape: Record<string, z.ZodType> = {};
for (const spec of SETTING_SPECS) {
  if (FROM_COMMAND_LINE.has(spec.key)) continue;
  if (spec.kind === 'string') settingShape[spec.flag] = text(200).optional();
  else {
    const noun = SECONDS_KEYS.has(spec.key) ? 'seconds' : spec.kind === 'int' ? 'a whole number' : 'a number';
    settingShape[spec.flag] = num(noun, spec.min ?? -Infinity, spec.max ?? Infinity, { int: spec.kind === 'int' }).optional();
  }
}
for (const key of ['metric', 'policy', 'balancer'] as const) settingShape[key] = oneOf(ENUMS[key]).optional();

const armSchema = z.strictObject({ name: nameRule, description: text(500).optional(), ...settingShape });

const phaseSchema = z.strictObject({
  name: text(80).optional(),
  profile: oneOf(PROFILE_NAMES).optional(),
  duration: num('seconds', 0, 3600, { above: true }),
  threads: num('a whole number', 0, 1000, { int: true }).optional(),
  rate: num('req/s', 0, 100_000, { above: true }).optional(),
  base: num('a number', 0, 100_000).optional(),
  'burst-on': num('seconds', 0, 3600, { above: true }).optional(),
  'burst-off': num('seconds', 0, 3600).optional(),
  'ramp-time': num('seconds', 0, 3600, { above: true }).optional(),
  steps: num('a whole number', 1, 1000, { int: true }).optional(),
  'step-time': num('seconds', 0, 3600, { above: true }).optional(),
  'spike-at': num('seconds', 0, 3600).optional(),
  'spike-length': num('seconds', 0, 3600, { above: true }).optional(),
  period: num('seconds', 0, 3600, { above: true }).optional(),
  timeout: num('milliseconds', 1, 600_000, { int: true }).optional(),
});

const eventSchema = z.strictObject({
  at: num('seconds', 0, 86_400),
  action: oneOf(ACTIONS),
  worker: selector.optional(),
  for: num('seconds', 0, MAX_EVENT_SECONDS, { above: true }).optional(),
  n: num('a whole number', 0, 64, { int: true }).optional(),
  cores: num('a whole number', 1, 64, { int: true }).optional(),
  'min-healthy': num('a percentage', 0, 100).optional(),
});

const CLAIM_RE = /^(<=|>=|<|>|==)?\s*(-?\d+(?:\.\d+)?)\s*(ms|s|%)?$/;
const claimValue = z.unknown().transform((v, ctx) => {
  const m = typeof v === 'number' && Number.isFinite(v) ? ['', '==', String(v)] : typeof v === 'string' ? CLAIM_RE.exec(v.trim()) : null;
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `expected a number or a comparison such as "<= 3" or ">= 10s", got ${show(v)}` });
    return z.NEVER;
  }
  return { op: (m[1] || '==') as Claim['op'], value: Number(m[2]), text: typeof v === 'number' ? `== ${v}` : String(v).trim() };
});
const claimShape: Record<string, z.ZodType> = {};
for (const c of CLAIMS) claimShape[c] = claimValue.optional();
const armRef = z.union([nameRule, z.array(nameRule).min(1).max(4)]);
const expectSchema = z.strictObject({ arm: armRef.optional(), ...claimShape });

const fileSchema = z.strictObject({
  title: text(120),
  teaches: text(1500),
  questions: z.array(z.strictObject({ q: text(500, 'a question'), answer: text(1500, 'an answer') })).max(12).optional(),
  slo: z.strictObject({ p95: num('milliseconds', 0, 600_000, { above: true }) }).optional(),
  arms: z.array(armSchema).min(1, { message: 'expected 1 to 4 arms' }).max(4, { message: 'expected 1 to 4 arms' }),
  load: z.array(phaseSchema).min(1, { message: 'expected at least one phase' }).max(20),
  events: z.array(eventSchema).max(50).optional(),
  expect: z.array(expectSchema).max(40).optional(),
});

const DEFAULT_SLO_P95_MS = 200;

/** `arms[1].cooldown` from zod's path. */
function pathText(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function fail(path: ReadonlyArray<PropertyKey>, message: string): never {
  throw new ExperimentFileError(`${path.length === 0 ? '(top level)' : pathText(path)}: ${message}`);
}

const kebab = (key: string) => SETTING_SPECS.find((s) => s.key === key)?.flag ?? key;

/** One zod issue as one line. */
function issueLine(iss: z.core.$ZodIssue): never {
  if (iss.code === 'unrecognized_keys') {
    const key = iss.keys[0];
    const where = pathText([...iss.path, key]);
    const hint = FROM_COMMAND_LINE.has(camel(key)) || FROM_COMMAND_LINE.has(key) ? ' (ports and --host come from the command line, the same for every arm)' : '';
    throw new ExperimentFileError(`${where}: unknown key${hint}`);
  }
  if (iss.code === 'invalid_type') {
    const got = (iss as { input?: unknown }).input;
    const want = iss.expected === 'array' ? 'a list' : iss.expected === 'object' ? 'a mapping' : iss.expected;
    fail(iss.path, got === undefined ? `missing (expected ${want})` : `expected ${want}, got ${show(got)}`);
  }
  if (iss.code === 'too_small' || iss.code === 'too_big') fail(iss.path, iss.message);
  if (iss.code === 'invalid_union') fail(iss.path, 'expected an arm name or a list of arm names');
  fail(iss.path, iss.message);
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** A phase's `autoscale load` flags, as strings, checked by the load generator's own parser. */
function phaseFlags(p: z.infer<typeof phaseSchema>, i: number): LoadPhase {
  const threads = p.threads ?? (p.rate === undefined ? 10 : 50);
  const name = p.name ?? `phase ${i + 1}`;
  if (threads === 0) {
    const extra = Object.keys(p).filter((k) => !['name', 'duration', 'threads', 'profile'].includes(k));
    if (extra.length > 0 || (p.profile !== undefined && p.profile !== 'constant')) fail(['load', i, extra[0] ?? 'profile'], 'a quiet phase (threads: 0) takes only name and duration');
    return { name, durationSec: p.duration, threads: 0, rate: null, flags: [] };
  }
  const raw: RawLoadOptions = { threads: String(threads), duration: String(p.duration) };
  const flags = ['--threads', String(threads), '--duration', String(p.duration)];
  const add = (key: keyof RawLoadOptions, flag: string, v: number | string | undefined) => {
    if (v === undefined) return;
    (raw as Record<string, unknown>)[key] = String(v);
    flags.push(flag, String(v));
  };
  add('rate', '--rate', p.rate);
  add('profile', '--profile', p.profile);
  add('base', '--base', p.base);
  add('burstOn', '--burst-on', p['burst-on']);
  add('burstOff', '--burst-off', p['burst-off']);
  add('rampTime', '--ramp-time', p['ramp-time']);
  add('steps', '--steps', p.steps);
  add('stepTime', '--step-time', p['step-time']);
  add('spikeAt', '--spike-at', p['spike-at']);
  add('spikeLength', '--spike-length', p['spike-length']);
  add('period', '--period', p.period);
  add('timeout', '--timeout', p.timeout);
  try {
    parseLoadOptions(undefined, raw);
  } catch (err) {
    if (err instanceof AutoscaleError) fail(['load', i], err.message);
    throw err;
  }
  return { name, durationSec: p.duration, threads, rate: p.rate ?? null, flags };
}

/** The arm's settings by LabConfig key, checked by the lab's own rules (min <= max, scale-down < scale-up, ...). */
function armSettings(a: Record<string, unknown>, i: number, baseDir: string): RawSettings {
  const raw: RawSettings = {};
  for (const [k, v] of Object.entries(a)) if (k !== 'name' && k !== 'description' && v !== undefined) raw[camel(k)] = v;
  // A predictive arm's --history names files next to the lesson (a built-in's: in the catalogue).
  if (typeof raw.history === 'string') raw.history = raw.history.split(',').map((p) => resolve(baseDir, p.trim())).join(',');
  try {
    resolveConfig({}, raw, { ports: false });
  } catch (err) {
    if (err instanceof AutoscaleError) fail(['arms', i], err.message.replace(/"([a-zA-Z-]+)" in the config file/g, '$1'));
    throw err;
  }
  return raw;
}

/** YAML text → a checked Experiment, or one ExperimentFileError line. */
export function parseExperiment(textIn: string, where: string, opts: { quick?: boolean; baseDir?: string } = {}): Experiment {
  const doc = parseDocument(textIn, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0];
    throw new ExperimentFileError(`${where}${line ? `:${line.line}:${line.col}` : ''}: not valid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const original: unknown = doc.toJS();
  const timeFactor = opts.quick === true ? quickFactor(original) : 1;
  const data = scaleTimes(original, timeFactor);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ExperimentFileError(`${where}: expected a YAML mapping with title, teaches, arms and load, got ${show(data)}`);
  const r = fileSchema.safeParse(data, { reportInput: true });
  if (!r.success) issueLine(r.error.issues[0]);
  const f = r.data;

  const names = new Set<string>();
  const arms: Arm[] = f.arms.map((a, i) => {
    if (names.has(a.name)) fail(['arms', i, 'name'], `the name ${show(a.name)} is used twice`);
    names.add(a.name);
    return { name: a.name, description: a.description ?? '', settings: armSettings(a as Record<string, unknown>, i, opts.baseDir ?? process.cwd()) };
  });
  const load = f.load.map((p, i) => phaseFlags(p, i));
  const loadSec = load.reduce((s, p) => s + p.durationSec, 0);
  const events: TimedEvent[] = (f.events ?? []).map((e, i) => {
    const action = e.action as Action;
    const at = ['events', i];
    if (e.at >= loadSec) fail([...at, 'at'], `expected seconds < the load's length (${loadSec}), got ${e.at}`);
    if (ON_A_WORKER.has(action) && e.worker === undefined) fail([...at, 'worker'], `missing (${action} needs a worker: newest, oldest or "worker N")`);
    if (!ON_A_WORKER.has(action) && e.worker !== undefined) fail([...at, 'worker'], `${action} does not take a worker`);
    if (LASTING.has(action) && e.for === undefined && action !== 'sigstop') fail([...at, 'for'], `missing (${action} needs a duration in seconds)`);
    if (!LASTING.has(action) && e.for !== undefined) fail([...at, 'for'], `${action} does not take a duration`);
    if ((action === 'scale') !== (e.n !== undefined)) fail([...at, 'n'], action === 'scale' ? 'missing (scale needs the worker count n)' : `${action} does not take n`);
    if (e.cores !== undefined && action !== 'noisy-neighbour') fail([...at, 'cores'], `${action} does not take cores`);
    if (e['min-healthy'] !== undefined && action !== 'refresh') fail([...at, 'min-healthy'], `${action} does not take min-healthy`);
    const out: TimedEvent = { at: e.at, action };
    if (e.worker !== undefined) out.worker = e.worker;
    if (e.for !== undefined) out.for = e.for;
    if (e.n !== undefined) out.n = e.n;
    if (action === 'noisy-neighbour') out.cores = e.cores ?? 1;
    if (e['min-healthy'] !== undefined) out.minHealthy = e['min-healthy'];
    return out;
  });
  const expect: Claim[] = [];
  (f.expect ?? []).forEach((x, i) => {
    const refs = x.arm === undefined ? [...names] : Array.isArray(x.arm) ? x.arm : [x.arm];
    refs.forEach((n, j) => {
      if (!names.has(n)) fail(['expect', i, 'arm', ...(Array.isArray(x.arm) ? [j] : [])], `no arm is named ${show(n)} (arms: ${[...names].join(', ')})`);
    });
    const claims = CLAIMS.filter((c) => (x as Record<string, unknown>)[c] !== undefined);
    if (claims.length === 0) fail(['expect', i], `expected at least one claim (${CLAIMS.join(', ')})`);
    for (const c of claims) {
      const v = (x as Record<string, { op: Claim['op']; value: number; text: string }>)[c];
      const unit = /(ms|s|%)$/.exec(v.text)?.[1];
      if (unit !== undefined && unit !== CLAIM_UNITS[c]) fail(['expect', i, c], `${c} is measured in ${CLAIM_UNITS[c] ?? 'plain numbers'}, got ${show(v.text)}`);
      expect.push({ arms: refs, name: c, ...v });
    }
  });
  return {
    title: f.title,
    teaches: f.teaches,
    questions: f.questions ?? [],
    slo: { p95Ms: f.slo?.p95 ?? DEFAULT_SLO_P95_MS },
    arms,
    load,
    events: [...events].sort((a, b) => a.at - b.at),
    expect,
    loadSec,
    timeFactor,
  };
}

/** The settings of an arm as `autoscale start` flags. */
export function startFlags(settings: RawSettings): string[] {
  return Object.entries(settings).flatMap(([k, v]) => [`--${kebab(k)}`, String(v)]);
}

/** The arm's resolved config (ports from the command line). */
export function armConfig(arm: Arm, ports: RawSettings): LabConfig {
  return resolveConfig(ports, arm.settings);
}

export function sha256(textIn: string): string {
  return createHash('sha256').update(textIn).digest('hex');
}
