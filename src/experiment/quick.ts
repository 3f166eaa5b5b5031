/**
 * --quick: the whole experiment on a shorter clock. Every time in the file —
 * load phases and their profile times, event times and durations, and the
 * arms' time settings (interval, cooldown, windows, warm-up, idle, boot
 * delay) — is multiplied by one factor, so the lesson keeps its shape (a
 * cooldown still spans the same number of ticks) and the whole run, with
 * each arm's start, stop and pause, fits QUICK_BUDGET_S. Pure; works on the
 * raw YAML data before the schema checks it (so the scaled file is checked).
 */
/** Arm settings in seconds: scaled with the timeline. */
export const TIME_SETTINGS = ['interval', 'cooldown', 'scaleDownWindow', 'warmup', 'idle', 'bootDelay', 'season'] as const;

export const QUICK_BUDGET_S = 90;
/**
 * Lab start, the last tick, stop, and the (shortened) pause before each arm, s. Measured on a
 * 2-core host shared with other builds (load average 17–20): 14–20 s per arm; budgeted at 16.
 */
export const QUICK_ARM_OVERHEAD_S = 16;
/** A tick shorter than this samples host CPU too noisily to teach anything. */
const MIN_INTERVAL_S = 0.5;

/** Claims measured in seconds of the lesson's clock: scaled with it (a reaction that includes a 20 s boot includes 20 s × factor). */
const TIME_CLAIMS = ['reaction', 'workerSeconds', 'secondsOverSlo'];
const CLAIM_RE = /^(<=|>=|<|>|==)?\s*(-?\d+(?:\.\d+)?)\s*(s)?$/;

const PHASE_TIMES = ['duration', 'burst-on', 'burst-off', 'ramp-time', 'step-time', 'spike-at', 'spike-length', 'period'];
const EVENT_TIMES = ['at', 'for'];
const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const round = (v: number) => Math.round(v * 10) / 10;

/** The factor that fits the file into the budget (1: it already fits), from its arms and load. */
export function quickFactor(data: unknown): number {
  if (!isObj(data) || !Array.isArray(data.arms) || !Array.isArray(data.load)) return 1;
  const arms = Math.max(1, data.arms.length);
  const loadSec = data.load.reduce((s: number, p) => s + (isObj(p) && typeof p.duration === 'number' ? p.duration : 0), 0);
  if (loadSec <= 0) return 1;
  const perArm = QUICK_BUDGET_S / arms - QUICK_ARM_OVERHEAD_S;
  return Math.min(1, Math.max(0.05, perArm / loadSec));
}

/** A copy of the raw data with every time scaled by `factor`. Values that are not numbers are left for the schema to refuse. */
export function scaleTimes(data: unknown, factor: number): unknown {
  if (!isObj(data) || factor === 1) return data;
  const scale = (o: unknown, keys: readonly string[], floor: Record<string, number> = {}) => {
    if (!isObj(o)) return o;
    const out = { ...o };
    for (const k of keys) {
      const v = out[k];
      if (typeof v === 'number' && Number.isFinite(v)) out[k] = Math.max(floor[k] ?? 0, round(v * factor)) || (v > 0 ? 0.1 : 0);
    }
    return out;
  };
  const armKeys = TIME_SETTINGS.map(kebab);
  return {
    ...data,
    // A predictive arm's history is on the lesson's own clock too: its times shrink with the season (--history-scale).
    arms: Array.isArray(data.arms)
      ? data.arms.map((a) => {
          const scaled = scale(a, armKeys, { interval: MIN_INTERVAL_S });
          return isObj(scaled) && scaled.history !== undefined ? { ...scaled, 'history-scale': (typeof scaled['history-scale'] === 'number' ? scaled['history-scale'] : 1) * factor } : scaled;
        })
      : data.arms,
    load: Array.isArray(data.load) ? data.load.map((p) => scale(p, PHASE_TIMES)) : data.load,
    events: Array.isArray(data.events) ? data.events.map((e) => scale(e, EVENT_TIMES)) : data.events,
    expect: Array.isArray(data.expect) ? data.expect.map((x) => scaleClaims(x, factor)) : data.expect,
  };
}

function scaleClaims(x: unknown, factor: number): unknown {
  if (!isObj(x)) return x;
  const out = { ...x };
  for (const k of TIME_CLAIMS) {
    const v = out[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = round(v * factor);
    const m = typeof v === 'string' ? CLAIM_RE.exec(v.trim()) : null;
    if (m) out[k] = `${m[1] ?? '=='} ${round(Number(m[2]) * factor)}${m[3] ?? ''}`;
  }
  return out;
}
