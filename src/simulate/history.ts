/**
 * `--history` of `--policy predictive`: the load of earlier recorded runs or
 * traces, learned into a seasonal profile (src/policy/forecast.ts) and
 * attached to the config at the edge, before the lab, simulate or replay
 * runs the pure policy. Runs are read by the one run reader (runs/read.ts),
 * traces by simulate's own trace reader (load.ts).
 *
 * What a run contributes: the req/s its balancer sent the ready pool, tick by
 * tick (what the policy itself observes live). What a trace contributes: its
 * offered arrival rate per second. Each history starts at phase 0 of the
 * season, like the lab's clock.
 */
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { DEFAULT_SEASON_S, learnProfile, type SeasonalProfile, type Series } from '../policy/forecast.js';
import { readRunDir } from '../runs/read.js';
import type { LabConfig } from '../settings/config.js';
import { readTrace } from './load.js';

/** Most history paths in one --history (each is read whole). */
const MAX_PATHS = 32;

/** One run directory's ticks as a series of the req/s sent to its workers (each tick covers the interval before it). */
function runSeries(dir: string): Series {
  const run = readRunDir(dir, { withLoad: false });
  const interval = run.events.started.config.interval;
  const ticks = run.events.events.filter((e) => e.type === 'tick');
  if (ticks.length === 0) throw new UsageError(`--history ${dir}: the run has no tick to learn from`);
  return {
    t: ticks.map((e) => Math.max(0, e.t / 1000 - interval)),
    value: ticks.map((e) => e.workers.reduce((s, w) => s + w.rps, 0)),
  };
}

function traceSeries(file: string): Series {
  const load = readTrace(file, '--history');
  if (load.mode !== 'open') {
    throw new UsageError(`--history ${file}: a closed-loop trace holds virtual users, not requests per second; give an open-loop trace (load --rate … --out), a CSV of t,req/s, or the run directory it was recorded in`);
  }
  return { t: Array.from(load.perSecond, (_v, i) => i), value: load.perSecond };
}

/** One --history path: a run directory (or its events.ndjson), else a trace file. */
function seriesOf(path: string): Series {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new UsageError(`--history ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (st.isDirectory()) return runSeries(path);
  if (!st.isFile()) throw new UsageError(`--history ${path} is neither a run directory nor a regular trace file`);
  if (basename(path) === 'events.ndjson') return runSeries(dirname(path));
  return traceSeries(path);
}

/** The paths of a --history value, absolute (relative ones from `cwd`). */
export function historyPaths(history: string, cwd = process.cwd()): string[] {
  return history.split(',').map((p) => p.trim()).filter((p) => p !== '').map((p) => resolve(cwd, p));
}

/** Learn the profile of `history` (comma-separated paths, relative to `cwd`) over `seasonS`. Bad input: one UsageError line. */
export function learnHistory(history: string, seasonS: number, cwd = process.cwd(), timeScale = 1): SeasonalProfile {
  const paths = historyPaths(history, cwd);
  if (paths.length === 0) throw new UsageError('--history needs at least one run directory or trace file');
  if (paths.length > MAX_PATHS) throw new UsageError(`--history takes at most ${MAX_PATHS} paths (received ${paths.length})`);
  const series = paths.map((p) => seriesOf(p)).map((s) => (timeScale === 1 ? s : { t: Array.from(s.t, (t) => t * timeScale), value: s.value }));
  const profile = learnProfile(series, seasonS, paths.join(', '));
  if (profile === null) throw new UsageError(`--history ${history}: no sample to learn from`);
  if (profile.historyS < seasonS) {
    throw new UsageError(`--history ${history} covers ${Math.round(profile.historyS)} s, less than one season (--season ${seasonS}); give a longer history or a shorter --season`);
  }
  return profile;
}

/**
 * The config with its forecast learned, when the policy is predictive (and --history made absolute, so a
 * recording of the run names files that replay finds from anywhere); any other config unchanged.
 */
export function attachForecast(config: LabConfig, cwd = process.cwd()): LabConfig {
  if (config.policy !== 'predictive' || config.history === undefined || config.forecast !== undefined) return config;
  const forecast = learnHistory(config.history, config.season ?? DEFAULT_SEASON_S, cwd, config.historyScale ?? 1);
  return { ...config, history: historyPaths(config.history, cwd).join(','), forecast };
}
