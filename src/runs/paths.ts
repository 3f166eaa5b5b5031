/**
 * Where runs live: the state directory, one directory per run, and the
 * registry of running labs that other commands (`load --record`, `report`,
 * the control commands, retention) read to find them.
 *
 *   $XDG_STATE_HOME/autoscale/            (or ~/.local/state/autoscale/)
 *     labs/<pid>-<n>.json                 {"pid", "procStart", "runDir", ...} while that lab runs
 *     runs/2026-12-01T18-24-55/           one per `autoscale start`
 *       events.ndjson  load.ndjson  worker-<id>.log  report.html  report.md
 *
 * Written here rather than taken from env-paths / xdg-basedir: both read HOME
 * once at import (so a test or a caller cannot point them elsewhere), neither
 * ignores a relative XDG_STATE_HOME as the XDG spec requires, and env-paths
 * has no "state" entry (its Linux `log` path is the one we want, but on macOS
 * it is ~/Library/Logs). The same fallback is used on every platform.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

type Env = NodeJS.ProcessEnv;

/** `$XDG_STATE_HOME/autoscale`, or `~/.local/state/autoscale` when it is unset, empty or relative. */
export function stateDir(env: Env = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir(), '.local', 'state');
  return join(base, 'autoscale');
}

export function runsDir(env: Env = process.env): string {
  return join(stateDir(env), 'runs');
}

export const EVENTS_FILE = 'events.ndjson';
export const LOAD_FILE = 'load.ndjson';

/** A run directory's name: its local start time, `yyyy-mm-ddThh-mm-ss` (sorts chronologically). */
export function runDirName(at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())}T${p(at.getHours())}-${p(at.getMinutes())}-${p(at.getSeconds())}`;
}

const RUN_NAME = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d+)?$/;

/** Creates a fresh run directory under runsDir(); a second run in the same second gets `-2`, `-3`, … */
export function createRunDir(env: Env = process.env, at = new Date()): string {
  const root = runsDir(env);
  mkdirSync(root, { recursive: true });
  const name = runDirName(at);
  for (let i = 1; ; i++) {
    const dir = join(root, i === 1 ? name : `${name}-${i}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The run directories under runsDir(), oldest first (by name, which is the start time). */
export function listRunDirs(env: Env = process.env): string[] {
  const root = runsDir(env);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names
    .filter((n) => RUN_NAME.test(n) && isDir(join(root, n)))
    .sort(compareRunNames)
    .map((n) => join(root, n));
}

/** `…T18-00-00` < `…T18-00-00-2` < `…T18-00-00-10` < `…T18-00-01`. */
function compareRunNames(a: string, b: string): number {
  const [ab, an] = splitSuffix(a);
  const [bb, bn] = splitSuffix(b);
  return ab < bb ? -1 : ab > bb ? 1 : an - bn;
}

function splitSuffix(name: string): [string, number] {
  const base = name.slice(0, 19);
  return [base, name.length > 19 ? Number(name.slice(20)) : 1];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Keep the newest `keep` runs under runsDir(), delete older ones (never one in
 * `protect`, e.g. the run that is starting, nor the run dir of any lab still
 * running: the registry of live labs is read again right before each
 * deletion, so a lab that registered meanwhile is spared too). Returns what it
 * deleted. Only directories named like a run are ever touched.
 */
export function pruneRuns(keep: number, protect: string[], env: Env = process.env, liveDirs: () => Set<string> = () => liveRunDirs(env)): string[] {
  const keepSet = new Set(protect.map((p) => resolve(p)));
  const dirs = listRunDirs(env);
  const removed: string[] = [];
  let excess = dirs.length - keep;
  for (const dir of dirs) {
    if (excess <= 0) break;
    if (keepSet.has(resolve(dir)) || liveDirs().has(resolve(dir))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
    excess--;
  }
  return removed;
}

/**
 * The registry of live labs: one file per running `autoscale start` under
 * `<state>/labs/`, written when its run directory is chosen and removed when
 * it exits. Every lab is known this way (there is no single "current" lab to
 * overwrite): retention spares their run directories, and the control
 * commands and `load --record` choose among them.
 *
 * An entry whose process is gone is stale (the lab was SIGKILLed): it is
 * removed by the next reader. A process is the same one only if its pid is
 * alive AND its start time (from /proc, in clock ticks since boot) matches
 * the one recorded, so a recycled pid does not pass for the lab.
 */
export interface LabEntry {
  pid: number;
  /** The process's start time (Linux: /proc/<pid>/stat field 22); null where that is not available. */
  procStart: number | null;
  /** starting: run dir chosen, lab not up yet; running: the lab has started (balancer and control socket up). */
  phase: 'starting' | 'running';
  runDir: string;
  /** false with --no-record: runDir then only holds worker logs (a temp dir). */
  record: boolean;
  /** Wall-clock ms at lab start; null while starting. */
  startedAt: number | null;
  balancerUrl: string | null;
  controlSocket: string | null;
  metricsUrl: string | null;
}

export function labsDir(env: Env = process.env): string {
  return join(stateDir(env), 'labs');
}

/** Registers a lab (or updates its entry) atomically: temp file + rename, so a reader never sees half of it. */
export function registerLab(id: string, entry: LabEntry, env: Env = process.env): void {
  const dir = labsDir(env);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${id}.json`);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(entry) + '\n');
  renameSync(tmp, file);
}

export function unregisterLab(id: string, env: Env = process.env): void {
  try {
    unlinkSync(join(labsDir(env), `${id}.json`));
  } catch {
    // already gone
  }
}

let registrations = 0;
/** A registry id unique among live processes (pid) and within this process (a counter): tests run several sessions in one process. */
export function newLabId(pid = process.pid): string {
  return `${pid}-${++registrations}`;
}

export type Liveness = (pid: number, procStart: number | null) => boolean;

/** Alive and the same process: the pid exists, is no zombie, and started when the entry says. */
export function sameProcessAlive(pid: number, procStart: number | null): boolean {
  if (!pidAlive(pid)) return false;
  if (procStart === null) return true;
  const now = processStart(pid);
  return now === null || now === procStart;
}

/**
 * Every live lab, oldest first (by start, then pid). Stale entries (their
 * process gone or replaced) are removed; unreadable ones are skipped.
 */
export function liveLabs(env: Env = process.env, alive: Liveness = sameProcessAlive): LabEntry[] {
  const dir = labsDir(env);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const labs: LabEntry[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = join(dir, name);
    let entry: LabEntry | null;
    try {
      entry = parseEntry(readFileSync(file, 'utf8'));
    } catch {
      continue; // removed meanwhile
    }
    if (entry === null) continue;
    if (!alive(entry.pid, entry.procStart)) {
      try {
        unlinkSync(file);
      } catch {
        // another reader removed it first
      }
      continue;
    }
    labs.push(entry);
  }
  return labs.sort((a, b) => (a.startedAt ?? Infinity) - (b.startedAt ?? Infinity) || a.pid - b.pid);
}

/** The run directories of live labs (resolved paths): never deleted, reported as "running". */
export function liveRunDirs(env: Env = process.env, alive: Liveness = sameProcessAlive): Set<string> {
  return new Set(liveLabs(env, alive).map((l) => resolve(l.runDir)));
}

function parseEntry(text: string): LabEntry | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const e = v as Record<string, unknown>;
  if (typeof e.pid !== 'number' || !Number.isInteger(e.pid) || e.pid <= 0 || typeof e.runDir !== 'string') return null;
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return {
    pid: e.pid,
    procStart: typeof e.procStart === 'number' ? e.procStart : null,
    phase: e.phase === 'running' ? 'running' : 'starting',
    runDir: e.runDir,
    record: e.record !== false,
    startedAt: typeof e.startedAt === 'number' ? e.startedAt : null,
    balancerUrl: str(e.balancerUrl),
    controlSocket: str(e.controlSocket),
    metricsUrl: str(e.metricsUrl),
  };
}

/** A process's start time in clock ticks since boot (Linux); null elsewhere or when it is gone. */
export function processStart(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = Number(fields[19]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** True while `pid` exists and is not a zombie (a SIGKILLed daemon not yet reaped by its parent). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}
