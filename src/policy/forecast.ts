/**
 * The forecast of `--policy predictive`, pure: a seasonal profile learned
 * from history, scaled by the recent level, and its running error.
 *
 * Why this model and not Holt-Winters: the load of a lab (and of most web
 * services) repeats with one known season (a day; a few minutes in a
 * lesson), and a class must be able to check every number. A seasonal
 * profile is "the mean load at this time of the season in the history" — one
 * table a student can read — and the recent level is one ratio, "today is
 * 1.08 × the history". Holt-Winters would add a trend and three smoothing
 * constants to tune; AWS's predictive scaling itself forecasts from the
 * same-time-of-day history and leaves the surprises to target tracking,
 * which is what this policy does too (desired = max(forecast, target rule)).
 *
 * Phase 0 of the season is the first traffic: in each history the first
 * sample with load, and in the run the start of the first tick with traffic
 * (a lab idles a while before its load starts, an experiment waits for a
 * quiet host first). Before any traffic the forecast asks for nothing.
 */
import { formatCount } from '../format.js';

/** One day: AWS predictive scaling's season. */
export const DEFAULT_SEASON_S = 86_400;
/** The profile has at most this many buckets per season (15 min for a day), at least 1 s wide. */
export const MAX_BUCKETS = 96;
/**
 * The recent level is clamped to this range. It may raise the forecast (a busier day than the history,
 * up to twice it) but never lower it: a saturated pool serves less than it is asked, and read as "a
 * quieter day" that would shrink the forecast and starve the pool further. A really quieter day is left
 * to the target rule's scale-in, and shows as a higher MAPE.
 */
export const LEVEL_MIN = 1;
export const LEVEL_MAX = 2;

/** The learned shape of the load: mean req/s per bucket of the season. Plain data (it travels in the config). */
export interface SeasonalProfile {
  seasonS: number;
  bucketS: number;
  /** Mean total req/s in each bucket of the season, buckets without data filled by interpolation. */
  means: number[];
  /** How many seconds of history it was learned from, and from what (for the reasons and the summary). */
  historyS: number;
  source: string;
}

/** A series of total req/s: value i holds during [t_i, t_{i+1}) (t in seconds on the history's own clock, phase 0 at t 0). */
export interface Series {
  t: ArrayLike<number>;
  value: ArrayLike<number>;
}

/** The bucket width for a season: MAX_BUCKETS buckets, none narrower than one second. */
export function bucketWidth(seasonS: number): number {
  return seasonS / Math.min(MAX_BUCKETS, Math.max(1, Math.floor(seasonS)));
}

/**
 * Learn the profile: each sample's value goes to the bucket of its phase (weighted by how long it holds),
 * each bucket's mean is its weighted average; an empty bucket takes the linear interpolation of its nearest
 * filled neighbours around the season. `series` are separate histories (runs or traces), each from phase 0.
 * Returns null when the history holds no sample.
 */
export function learnProfile(series: readonly Series[], seasonS: number, source: string): SeasonalProfile | null {
  const bucketS = bucketWidth(seasonS);
  const B = Math.round(seasonS / bucketS);
  const sum = new Float64Array(B);
  const weight = new Float64Array(B);
  let historyS = 0;
  for (const s of series) {
    const n = s.t.length;
    // Phase 0 is the history's first sample with load.
    let first = 0;
    while (first < n && !(s.value[first] > 0)) first++;
    const origin = first < n ? s.t[first] : 0;
    for (let i = first; i < n; i++) {
      const dt = i + 1 < n ? s.t[i + 1] - s.t[i] : i > 0 ? s.t[i] - s.t[i - 1] : 1;
      if (!(dt > 0)) continue;
      historyS += dt;
      // Spread the sample over the buckets it covers, one second at a time at most (a tick covers 3 s).
      const steps = Math.max(1, Math.ceil(dt));
      for (let k = 0; k < steps; k++) {
        const mid = s.t[i] - origin + ((k + 0.5) * dt) / steps;
        const b = Math.floor(mod(mid, seasonS) / bucketS) % B;
        sum[b] += s.value[i] * (dt / steps);
        weight[b] += dt / steps;
      }
    }
  }
  const filled: number[] = [];
  for (let b = 0; b < B; b++) if (weight[b] > 0) filled.push(b);
  if (filled.length === 0) return null;
  const means = new Array<number>(B);
  for (const b of filled) means[b] = sum[b] / weight[b];
  for (let b = 0; b < B; b++) {
    if (weight[b] > 0) continue;
    // Nearest filled bucket before and after, around the season.
    let lo = b, hi = b, dLo = 0, dHi = 0;
    do { lo = (lo - 1 + B) % B; dLo++; } while (weight[lo] === 0);
    do { hi = (hi + 1) % B; dHi++; } while (weight[hi] === 0);
    means[b] = (means[lo] * dHi + means[hi] * dLo) / (dLo + dHi);
  }
  return { seasonS, bucketS, means, historyS, source };
}

function mod(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/** The profile at lab time `tS`: linear between bucket centres, around the season. */
export function profileAt(p: SeasonalProfile, tS: number): number {
  const B = p.means.length;
  const x = mod(tS, p.seasonS) / p.bucketS - 0.5;
  const i = Math.floor(x);
  const f = x - i;
  return p.means[mod(i, B)] * (1 - f) + p.means[mod(i + 1, B)] * f;
}

/** The highest profile value over [fromS, toS], sampled at every second and both ends. */
export function profileMax(p: SeasonalProfile, fromS: number, toS: number): { value: number; at: number } {
  let best = { value: profileAt(p, fromS), at: fromS };
  const step = Math.min(1, p.bucketS / 2);
  for (let t = fromS + step; t < toS; t += step) {
    const v = profileAt(p, t);
    if (v > best.value) best = { value: v, at: t };
  }
  const end = profileAt(p, toS);
  return end > best.value ? { value: end, at: toS } : best;
}

/** What the forecast remembers between ticks. Plain data, bounded. */
export interface ForecastMemory {
  /** Lab time (s) of phase 0: the start of the first tick with traffic; null before it. */
  originS: number | null;
  /** Recent ticks: observed total req/s and the profile's value for the same interval (for the level). */
  recent: Array<{ t: number; observed: number; expected: number }>;
  /** The level in force at each recent tick (to score the forecast made one lead time earlier). */
  levels: Array<{ t: number; level: number }>;
  /** Sum of |observed − forecast| / observed and how many ticks it covers (ticks with no traffic are skipped). */
  apeSum: number;
  scored: number;
}

export function initialForecastMemory(): ForecastMemory {
  return { originS: null, recent: [], levels: [], apeSum: 0, scored: 0 };
}

/** The window the recent level is measured over: an eighth of the season, at most 10 minutes. */
export function levelWindowS(p: SeasonalProfile): number {
  return Math.min(p.seasonS / 8, 600);
}

/** Mean absolute percentage error of the forecasts scored so far (percent), or null before the first. */
export function mape(m: ForecastMemory | undefined): number | null {
  return m === undefined || m.scored === 0 ? null : (100 * m.apeSum) / m.scored;
}

export interface ForecastInput {
  /** Lab time of this tick, ms. */
  now: number;
  /** Total req/s the pool was sent over the tick just ended (null: not measured). */
  observed: number | null;
  /** Tick length, s (the observed value covers [now − interval, now]). */
  intervalS: number;
  /** Boot time of a new worker, s. */
  bootS: number;
  /** Per-worker req/s the capacity is sized for (--target of --metric rps). */
  target: number;
}

export interface ForecastVerdict {
  /** Workers the forecast asks for over the lead window (before min/max). */
  capacity: number;
  /** Highest forecast req/s over [now, now + lead] and when (lab time, s). */
  peak: number;
  peakAtS: number;
  level: number;
  leadS: number;
  /** MAPE so far, percent (null before the first scored tick). */
  mape: number | null;
  reason: string;
  memory: ForecastMemory;
}

/**
 * One tick of the forecast: score the forecast made one lead time ago against what was observed, update
 * the recent level, and size the pool for the highest forecast over the next `boot + interval` seconds —
 * a worker forked now serves from now + boot, and the next chance to fork comes one interval later.
 */
export function forecastStep(p: SeasonalProfile, memory: ForecastMemory, input: ForecastInput): ForecastVerdict {
  const leadS = input.bootS + input.intervalS;
  const originS = memory.originS ?? (input.observed !== null && input.observed > 0 ? input.now / 1000 - input.intervalS : null);
  if (originS === null) {
    return { capacity: 0, peak: 0, peakAtS: 0, level: 1, leadS, mape: null, reason: 'forecast: waits for the first traffic (phase 0 of the season)', memory };
  }
  // Seconds into the season's clock.
  const nowS = input.now / 1000 - originS;
  const expected = profileAt(p, nowS - input.intervalS / 2);
  let { apeSum, scored } = memory;
  let recent = memory.recent;
  if (input.observed !== null) {
    // Score the forecast for this interval as it was made one lead time ago (the one the pool was sized by).
    const made = [...memory.levels].reverse().find((l) => l.t <= nowS - leadS + 1e-9);
    if (made !== undefined && input.observed > 0) {
      apeSum += Math.abs(input.observed - expected * made.level) / input.observed;
      scored++;
    }
    recent = [...recent, { t: nowS, observed: input.observed, expected }];
  }
  const windowS = levelWindowS(p);
  recent = recent.filter((r) => r.t > nowS - windowS);
  const obsSum = recent.reduce((s, r) => s + r.observed, 0);
  const expSum = recent.reduce((s, r) => s + r.expected, 0);
  const rawLevel = recent.length === 0 || expSum <= 0 ? 1 : obsSum / expSum;
  const level = Math.min(LEVEL_MAX, Math.max(LEVEL_MIN, rawLevel));
  const levels = [...memory.levels.filter((l) => l.t > nowS - leadS - 2 * input.intervalS), { t: nowS, level }];
  const peak = profileMax(p, nowS, nowS + leadS);
  const forecast = peak.value * level;
  const capacity = Math.max(0, Math.ceil(forecast / input.target - 1e-9));
  const m = scored === 0 ? null : (100 * apeSum) / scored;
  const levelWords =
    recent.length === 0
      ? 'level 1 (nothing observed yet)'
      : `level ${level.toFixed(2)}${level !== rawLevel ? ` (measured ${rawLevel.toFixed(2)}, clamped to ${LEVEL_MIN}–${LEVEL_MAX})` : ''} = last ${formatCount(Math.round(Math.min(windowS, nowS)))} s observed / profile`;
  const reason =
    `forecast: profile peaks at ${formatCount(Math.round(peak.value))} req/s in the next ${formatCount(Math.round(leadS))} s (boot ${formatCount(input.bootS)} s + tick ${formatCount(input.intervalS)} s) × ${levelWords} ` +
    `= ${formatCount(Math.round(forecast))} req/s; ceil(${formatCount(Math.round(forecast))} / ${formatCount(input.target)}) = ${capacity}` +
    `; forecast error so far ${m === null ? 'not yet measured' : `MAPE ${m.toFixed(1)} % over ${scored} ticks`}`;
  return { capacity, peak: forecast, peakAtS: peak.at + originS, level, leadS, mape: m, reason, memory: { originS, recent, levels, apeSum, scored } };
}
