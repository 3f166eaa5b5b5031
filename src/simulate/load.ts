/**
 * Offered load, one value per simulated second: virtual users (closed loop)
 * or arrivals per second (open loop). From a profile (the load generator's
 * own shapes), a load generator `--out` file, or a CSV of `t,value`.
 */
import { UsageError } from '../errors.js';
import { levelAt, type Profile } from '../loadgen/profile.js';
import type { LoadMode } from './model.js';

export interface OfferedLoad {
  mode: LoadMode;
  /** perSecond[i] = offered load during second [i, i + 1). */
  perSecond: Float64Array;
  /** Where it came from, for the printed model. */
  source: string;
}

export function profileLoad(profile: Profile, peak: number, durationS: number, mode: LoadMode = 'open'): OfferedLoad {
  const perSecond = new Float64Array(durationS);
  for (let i = 0; i < durationS; i++) perSecond[i] = levelAt(profile, peak, i + 0.5);
  return { mode, perSecond, source: `profile ${profile.name}, peak ${peak}` };
}

/** The load generator's `--out` lines: `{ t, dt, …, threads }` (closed loop) or `{ …, targetRate }` (open loop). t = end of the interval, s. */
export function parseLoadNdjson(text: string, file: string): OfferedLoad {
  const rows: Array<{ t: number; level: number }> = [];
  let mode: LoadMode | null = null;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new UsageError(`${file}:${i + 1}: not JSON`);
    }
    const lineMode: LoadMode | null = typeof o.threads === 'number' ? 'closed' : typeof o.targetRate === 'number' ? 'open' : null;
    if (typeof o.t !== 'number' || lineMode === null) {
      throw new UsageError(`${file}:${i + 1}: expected a load generator --out line with "t" and "threads" or "targetRate"`);
    }
    if (mode !== null && mode !== lineMode) throw new UsageError(`${file}:${i + 1}: mixes closed-loop (threads) and open-loop (targetRate) lines`);
    mode = lineMode;
    rows.push({ t: o.t, level: (lineMode === 'closed' ? o.threads : o.targetRate) as number });
  });
  if (rows.length === 0 || mode === null) throw new UsageError(`${file}: no load lines`);
  return fromSamples(rows, mode, `${file} (${mode === 'closed' ? 'virtual users' : 'arrival rate'})`);
}

/** CSV `t,value` (header optional): value = arrivals per second from second t until the next row (open loop). */
export function parseLoadCsv(text: string, file: string): OfferedLoad {
  const rows: Array<{ t: number; level: number }> = [];
  text.split('\n').forEach((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    if (line.trim() === '' || (i === 0 && Number.isNaN(Number(cells[0])))) return;
    const t = Number(cells[0]);
    const level = Number(cells[1]);
    if (cells.length < 2 || !Number.isFinite(t) || !Number.isFinite(level) || t < 0 || level < 0) {
      throw new UsageError(`${file}:${i + 1}: expected "t,value" with t >= 0 seconds and value >= 0 req/s (received ${JSON.stringify(line)})`);
    }
    rows.push({ t, level });
  });
  if (rows.length === 0) throw new UsageError(`${file}: no rows`);
  // Each value holds from its t until the next row's t; the last one for one second.
  rows.sort((a, b) => a.t - b.t);
  const perSecond = new Float64Array(Math.floor(rows[rows.length - 1].t) + 1);
  let j = 0;
  for (let i = 0; i < perSecond.length; i++) {
    while (j < rows.length - 1 && rows[j + 1].t <= i) j++;
    perSecond[i] = rows[j].t <= i ? rows[j].level : 0;
  }
  return { mode: 'open', perSecond, source: `${file} (arrival rate)` };
}

/** Samples at interval ends -> per-second values (second i takes the sample whose interval covers i + 0.5). */
function fromSamples(rows: Array<{ t: number; level: number }>, mode: LoadMode, source: string): OfferedLoad {
  rows.sort((a, b) => a.t - b.t);
  const duration = Math.max(1, Math.ceil(rows[rows.length - 1].t));
  const perSecond = new Float64Array(duration);
  let j = 0;
  for (let i = 0; i < duration; i++) {
    while (j < rows.length - 1 && rows[j].t < i + 0.5) j++;
    perSecond[i] = rows[j].level;
  }
  return { mode, perSecond, source };
}

/**
 * A recorded load at another scale: every second's level times `factor` (a
 * laptop's 40 req/s × 500 = a cloud's 20,000; a closed-loop trace's users
 * alike). The shape — bursts, ramps, quiet seconds — is kept.
 */
export function scaleLoad(load: OfferedLoad, factor: number): OfferedLoad {
  const perSecond = load.perSecond.map((v) => v * factor);
  return { mode: load.mode, perSecond, source: `${load.source} × ${factor.toLocaleString('en-US')}` };
}
