/**
 * Load shapes, as pure functions of time.
 *
 * A profile turns elapsed seconds into a *level* between its base and the
 * peak. The peak is `--threads` (closed loop: level = active virtual users)
 * or `--rate` (open loop: level = target arrivals per second). Nothing here
 * knows about timers or sockets.
 */

export const PROFILE_NAMES = ['constant', 'burst', 'ramp', 'step', 'spike', 'sine'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export type Profile =
  | { name: 'constant' }
  /** `peak` for `onSec`, then `base` for `offSec`, repeating from t = 0. */
  | { name: 'burst'; base: number; onSec: number; offSec: number }
  /** Linear from `base` at t = 0 to `peak` at t = `rampSec`, then held at `peak`. */
  | { name: 'ramp'; base: number; rampSec: number }
  /** `steps` equal increments from `base` to `peak`, each held `stepSec`; the k-th (0-based) level is base + (peak - base)·(k+1)/steps. */
  | { name: 'step'; base: number; steps: number; stepSec: number }
  /** `base`, except `peak` during [atSec, atSec + lengthSec). */
  | { name: 'spike'; base: number; atSec: number; lengthSec: number }
  /** base + (peak - base)·(1 - cos(2πt/periodSec))/2: starts at `base`, reaches `peak` at half a period. */
  | { name: 'sine'; base: number; periodSec: number };

/** The level (threads or req/s, not rounded) the profile asks for at `tSec` seconds after the start. */
export function levelAt(profile: Profile, peak: number, tSec: number): number {
  const t = Math.max(0, tSec);
  switch (profile.name) {
    case 'constant':
      return peak;
    case 'burst': {
      const cycle = profile.onSec + profile.offSec;
      const x = t % cycle;
      return x < profile.onSec ? peak : profile.base;
    }
    case 'ramp':
      if (t >= profile.rampSec) return peak;
      return profile.base + ((peak - profile.base) * t) / profile.rampSec;
    case 'step': {
      const k = Math.min(profile.steps - 1, Math.floor(t / profile.stepSec));
      return profile.base + ((peak - profile.base) * (k + 1)) / profile.steps;
    }
    case 'spike':
      return t >= profile.atSec && t < profile.atSec + profile.lengthSec ? peak : profile.base;
    case 'sine':
      return profile.base + ((peak - profile.base) * (1 - Math.cos((2 * Math.PI * t) / profile.periodSec))) / 2;
  }
}

/** Closed loop: how many virtual users are active at `tSec` (the level rounded to a whole user, within 0..threads). */
export function activeThreadsAt(profile: Profile, threads: number, tSec: number): number {
  return Math.min(threads, Math.max(0, Math.round(levelAt(profile, threads, tSec))));
}

/**
 * How many of the `total` units numbered 0..total-1 belong to shard `shard`
 * of `shards` when unit i goes to shard i mod shards. Used to split threads
 * (and the active-thread count) across worker threads so that the union of
 * the shards is exactly the single-thread behaviour.
 */
export function shareOf(total: number, shard: number, shards: number): number {
  if (total <= shard) return 0;
  return Math.floor((total - shard - 1) / shards) + 1;
}

/** Integration step for the open-loop arrival process, in seconds. */
const ARRIVAL_STEP_SEC = 0.001;

/**
 * Open loop: the time of the next scheduled arrival after one at `fromSec`.
 *
 * Arrivals happen each time the integral of the rate crosses a whole number
 * (so a constant 500 req/s gives exactly 500 arrivals per second, the first
 * at 2 ms). The rate is sampled on a 1 ms grid and held constant inside each
 * grid cell, so shapes that start at 0 (a ramp) or pause (a burst) work
 * without waiting a full 1/rate for the next arrival. Returns null when no
 * arrival falls before `endSec`.
 */
export function nextArrival(fromSec: number, rateAt: (tSec: number) => number, endSec: number): number | null {
  let t = fromSec;
  let need = 1;
  while (t < endSec) {
    const rate = Math.max(0, rateAt(t));
    const gridEnd = (Math.floor(t / ARRIVAL_STEP_SEC + 1e-9) + 1) * ARRIVAL_STEP_SEC;
    const cellEnd = Math.min(endSec, gridEnd > t ? gridEnd : t + ARRIVAL_STEP_SEC);
    const dt = cellEnd - t;
    if (rate > 0 && rate * dt >= need) return t + need / rate;
    need -= rate * dt;
    t = cellEnd;
  }
  return null;
}

/** A compact, human description of a profile for summaries: "burst (5 s at peak, 5 s at 0)". */
export function describeProfile(profile: Profile, unit: string): string {
  switch (profile.name) {
    case 'constant':
      return 'constant';
    case 'burst':
      return `burst (${profile.onSec} s at peak, ${profile.offSec} s at ${profile.base} ${unit})`;
    case 'ramp':
      return `ramp (${profile.base} -> peak over ${profile.rampSec} s)`;
    case 'step':
      return `step (${profile.steps} steps from ${profile.base} ${unit}, ${profile.stepSec} s each)`;
    case 'spike':
      return `spike (${profile.base} ${unit}, peak at ${profile.atSec} s for ${profile.lengthSec} s)`;
    case 'sine':
      return `sine (${profile.base} ${unit} to peak, period ${profile.periodSec} s)`;
  }
}
