/**
 * The shape of every line a run directory holds, checked field by field
 * before any command sees it: events.ndjson's lab events (src/events.ts) and
 * recorder notes, and load.ndjson's per-second lines. A field of the wrong
 * type (a string where a number belongs, `{}` where a reason belongs, null
 * where a detail belongs, a number too large to be a time) is named with its
 * path, so the reader can refuse the file in one line instead of letting the
 * value reach a renderer or a typed array. Fields a check does not name are
 * left alone (a newer autoscale may add some). Pure.
 */
import type { WorkerState } from '../events.js';

/** What is wrong, where: `"traffic.total" must be a number >= 0`. */
export interface ShapeProblem {
  path: string;
  expected: string;
  received: unknown;
}

export type Check = (v: unknown, path: string) => ShapeProblem | null;

/**
 * The largest time a recording may hold, ms since the lab started: 366 days.
 * A lab running longer is not something this tool records; a larger `t` is a
 * damaged or made-up file (1e308 would size an array).
 */
export const MAX_RUN_MS = 366 * 86_400_000;

const fail = (path: string, expected: string, received: unknown): ShapeProblem => ({ path, expected, received });

/** A finite number >= 0 (every number a recording holds is a count, a time, a size, a rate or a percentage). */
export const num: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : fail(p, 'a number >= 0', v));
/** A time on the lab's clock, ms: 0 … MAX_RUN_MS. */
export const time: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_RUN_MS ? null : fail(p, `a time in ms from 0 to ${MAX_RUN_MS} (366 days)`, v));
/** Any finite number (an alarm threshold may be below zero). */
export const finite: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? null : fail(p, 'a finite number', v));
export const str: Check = (v, p) => (typeof v === 'string' ? null : fail(p, 'a string', v));
export const bool: Check = (v, p) => (typeof v === 'boolean' ? null : fail(p, 'true or false', v));

export const nullable =
  (c: Check): Check =>
  (v, p) => {
    if (v === null) return null;
    const r = c(v, p);
    return r === null ? null : { ...r, expected: `${r.expected} or null` };
  };

export const oneOf =
  (...values: readonly string[]): Check =>
  (v, p) =>
    typeof v === 'string' && values.includes(v) ? null : fail(p, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);

export const arr =
  (c: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'an array', v);
    for (let i = 0; i < v.length; i++) {
      const r = c(v[i], `${p}[${i}]`);
      if (r !== null) return r;
    }
    return null;
  };

/** An object whose every value passes `c` (e.g. visits by worker id). */
export const rec =
  (c: Check): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v);
    for (const [k, x] of Object.entries(v)) {
      const r = c(x, p === '' ? k : `${p}.${k}`);
      if (r !== null) return r;
    }
    return null;
  };

/** An object with `required` fields and, when present (not undefined), `optional` ones. */
export const obj =
  (required: Record<string, Check>, optional: Record<string, Check> = {}): Check =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(p, 'an object', v);
    const o = v as Record<string, unknown>;
    const at = (k: string) => (p === '' ? k : `${p}.${k}`);
    for (const [k, c] of Object.entries(required)) {
      const r = c(o[k], at(k));
      if (r !== null) return r;
    }
    for (const [k, c] of Object.entries(optional)) {
      if (o[k] === undefined) continue;
      const r = c(o[k], at(k));
      if (r !== null) return r;
    }
    return null;
  };

const WORKER_STATES: readonly WorkerState[] = ['backoff', 'starting', 'ready', 'draining', 'stopping', 'exited', 'crashed'];
const workerState = oneOf(...WORKER_STATES);
const num0 = nullable(num);

const TRAFFIC = obj({ rpm: num, rps: num, p50: num0, p95: num0, p99: num0, inFlight: num, total: num, errors: num });

/**
 * A worker row of a tick or stats line. Required: what the commands read (replay sums `cpu` of the ready ones);
 * the rest is checked when present (recordings trimmed to those fields, like test/fixtures/against-rps, are read).
 */
const WORKER_SNAPSHOT = obj(
  { id: num, state: workerState, cpu: num0, rps: num, inFlight: num },
  { port: num, pid: num, healthy: bool, rss: num0, restarts: num, startedAt: num, readyAt: num0, connections: num, store: obj({ up: bool, detail: str, visits: num }) },
);

const STORE = obj({ kind: oneOf('sqlite', 'postgres'), where: str, up: nullable(bool), detail: str, total: num0, visits: num, visitsByWorker: rec(num) });

/**
 * The lab's settings as a `started` line holds them. The fields added after
 * the first recordings (idle, hold, metrics port, upstream timeout, balancer,
 * connection recycling) are optional: the checked-in runs predate them.
 */
const signed: Check = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? null : fail(p, 'a number', v));
/** One side of --policy step (policy/step-scaling.ts StepPolicySettings): bounds relative to the threshold, so signed. */
const STEP_POLICY = nullable(
  obj({
    alarm: obj({ name: str, threshold: signed, datapointsToAlarm: num, evaluationPeriods: num, period: nullable(num), treatMissingData: oneOf('missing', 'ignore', 'breaching', 'notBreaching') }),
    adjustmentType: oneOf('ChangeInCapacity', 'PercentChangeInCapacity', 'ExactCapacity'),
    minAdjustmentMagnitude: nullable(num),
    steps: arr(obj({ lower: nullable(signed), upper: nullable(signed), adjustment: signed })),
  }),
);

export const SETTINGS_REQUIRED = {
  min: num, max: num, scaleUp: num, scaleDown: num, interval: num, cooldown: num, port: num, basePort: num, host: str, work: num,
  metric: str, policy: oneOf('threshold', 'target', 'predictive', 'step'), target: num, tolerance: num, scaleDownWindow: num, maxStepPods: num, maxStepPercent: num, warmup: num,
};
export const SETTINGS_OPTIONAL = {
  idle: num, holdMax: num, holdTimeout: num, metricsPort: num, upstreamTimeout: num, balancer: oneOf('l7', 'l4'), maxConnRequests: num, maxConnAge: num, history: str, season: num, historyScale: num,
  stepScaling: nullable(obj({ out: STEP_POLICY, in: STEP_POLICY })),
};
const SETTINGS = obj(SETTINGS_REQUIRED, SETTINGS_OPTIONAL);

const OBSERVATION = obj({
  t: num,
  hostCpu: num0,
  latency: obj({ p50: num0, p95: num0, p99: num0 }),
  workers: arr(obj({ id: num, state: str, readyAt: num0, cpu: num0, rps: num, inFlight: num })),
});
const POLICY_STATE = obj({ desired: num, starting: num, ready: num });
const ALARM_STATE = oneOf('OK', 'ALARM', 'INSUFFICIENT_DATA');
const ALARM_STATUS = obj({ name: str, state: ALARM_STATE, since: time, value: nullable(finite) });
const DATAPOINT = obj({ at: time, value: nullable(finite) });

/** Each lab event type's fields (src/events.ts). `t` is checked for every line. */
export const EVENT_SHAPES: Readonly<Record<string, Check>> = {
  started: obj(
    { startedAt: num, balancerUrl: str, runDir: str, pid: num, config: SETTINGS },
    { host: obj({ cores: num, memoryBytes: num }), store: obj({ kind: oneOf('sqlite', 'postgres'), where: str }) },
  ),
  tick: obj(
    { cpu: num0, metric: str, value: num0, warming: num, instances: num, ready: num, desired: num, action: str, reason: str, paused: bool, traffic: TRAFFIC, workers: arr(WORKER_SNAPSHOT) },
    { cpuSplit: obj({ lab: num, other: num }), metrics: rec(num0), observation: OBSERVATION, state: POLICY_STATE, store: STORE, alarms: arr(ALARM_STATUS) },
  ),
  scale: obj({ direction: oneOf('out', 'in'), from: num, to: num, reason: str, manual: bool }),
  worker: obj({ id: num, port: num, from: nullable(workerState), state: workerState, detail: str }, { pid: num }),
  health: obj({ id: num, port: num, healthy: bool, detail: str }),
  paused: obj({ paused: bool }),
  stats: obj({ traffic: TRAFFIC, workers: arr(WORKER_SNAPSHOT) }, { store: STORE }),
  stopped: obj({ reason: str, forced: num }, { store: STORE }),
  command: obj({ command: str, source: str, ok: bool, message: str }),
  refresh: obj({ phase: oneOf('started', 'progress', 'done', 'failed'), replaced: num, total: num, detail: str }),
  'cold-start': obj({ waitedMs: num, held: num, fromZero: bool }),
  hint: obj({ text: str }, { topic: str }),
  alarm: obj({ alarm: str, from: ALARM_STATE, to: ALARM_STATE, reason: str, datapoints: arr(DATAPOINT), breaching: num, metric: str, threshold: finite, rule: str }),
  notify: obj({ alarm: str, to: ALARM_STATE, channel: oneOf('command', 'webhook'), ok: bool, detail: str }),
  /** The recorder's own line (src/runs/recorder.ts): what its size bound left out. */
  note: obj({ note: str }),
};

/**
 * One load.ndjson line (`autoscale load --out` / `--record`, src/loadgen/format.ts):
 * `t` the end of the interval in s since that load run started, `at` its wall
 * clock (absent in lines from before it was written), and the level under the
 * name that says the mode: `threads` (closed loop) or `targetRate` (open loop).
 */
export const LOAD_LINE = obj(
  { t: num, dt: num, sent: num, rps: num },
  { at: num, ok: num, errors: num, p50: num0, p99: num0, threads: num, targetRate: num },
);

/** The value as a short quote for a message: at most 40 characters. */
export function received(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

export function describeProblem(p: ShapeProblem): string {
  return `"${p.path}" must be ${p.expected} (received ${received(p.received)})`;
}
