/**
 * Offered load, one value per simulated second: virtual users (closed loop)
 * or arrivals per second (open loop). From a profile (the load generator's
 * own shapes), a load generator `--out` file, or a CSV of `t,value`.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { levelAt, type Profile } from '../loadgen/profile.js';
import { parseLoad } from '../runs/read.js';
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

/**
 * The load generator's `--out` lines (`{ t, dt, …, threads }` closed loop or `{ …, targetRate }` open loop; t = end
 * of the interval, s), read by the one reader of load.ndjson (src/runs/read.ts) with its rules.
 */
export function parseLoadNdjson(text: string, file: string): OfferedLoad {
  const load = parseLoad(text, file);
  if (load.mode === null) throw new UsageError(`${file}: no load lines`);
  if (load.mode === 'mixed') throw new UsageError(`${file}: mixes closed-loop (threads) and open-loop (targetRate) lines`);
  return fromSamples(load.lines.map((l) => ({ t: l.t, level: l.level })), load.mode, `${file} (${load.mode === 'closed' ? 'virtual users' : 'arrival rate'})`);
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

/** A trace file: `autoscale load --out` NDJSON, or a CSV of t,req/s (by its .csv name). */
export function readTrace(file: string, flag = '--trace'): OfferedLoad {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return /\.csv$/i.test(file) ? parseLoadCsv(text, file) : parseLoadNdjson(text, file);
}
