/**
 * Where runs live: the state directory, one directory per run, and the
 * `current` pointer a running lab leaves for other commands (`load --record`,
 * `report`, the control commands) to find it.
 *
 *   $XDG_STATE_HOME/autoscale/            (or ~/.local/state/autoscale/)
 *     current                             {"runDir", "pid", ...} while a lab runs
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
 * `protect`, e.g. the run that is starting, nor the run of a lab still running). Returns
 * what it deleted. Only directories named like a run are ever touched.
 */
export function pruneRuns(keep: number, protect: string[], env: Env = process.env): string[] {
  const live = readCurrent(env);
  const keepSet = new Set([...protect, ...(live ? [live.runDir] : [])].map((p) => resolve(p)));
  const dirs = listRunDirs(env);
  const removed: string[] = [];
  let excess = dirs.length - keep;
  for (const dir of dirs) {
    if (excess <= 0) break;
    if (keepSet.has(resolve(dir))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
    excess--;
  }
  return removed;
}

/** What a running lab tells other commands about itself. */
export interface CurrentLab {
  runDir: string;
  pid: number;
  /** Wall-clock ms at lab start. */
  startedAt: number;
  /** false with --no-record: runDir then only holds worker logs (a temp dir). */
  record: boolean;
  balancerUrl: string;
  /** Other helpers may add fields (e.g. a control socket path); readers ignore what they do not know. */
  [extra: string]: unknown;
}

export function currentFile(env: Env = process.env): string {
  return join(stateDir(env), 'current');
}

/** Write the pointer atomically (temp file + rename), so a reader never sees half of it. */
export function writeCurrent(info: CurrentLab, env: Env = process.env): void {
  const file = currentFile(env);
  mkdirSync(stateDir(env), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(info) + '\n');
  renameSync(tmp, file);
}

/**
 * The running lab, or null when none runs. A pointer left by a lab that was
 * SIGKILLed (its pid is gone, or a zombie) is stale: it is removed and null
 * returned. An unreadable pointer counts as none.
 */
export function readCurrent(env: Env = process.env, alive: (pid: number) => boolean = pidAlive): CurrentLab | null {
  const file = currentFile(env);
  let info: CurrentLab;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as CurrentLab;
  } catch {
    return null;
  }
  if (typeof info !== 'object' || info === null || typeof info.pid !== 'number' || typeof info.runDir !== 'string') return null;
  if (!alive(info.pid)) {
    try {
      unlinkSync(file);
    } catch {
      // another reader removed it first
    }
    return null;
  }
  return info;
}

/** Remove the pointer at exit, only if it is still ours (a second lab may have replaced it). */
export function removeCurrent(pid: number, env: Env = process.env): void {
  const file = currentFile(env);
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown };
    if (info.pid === pid) unlinkSync(file);
  } catch {
    // gone or unreadable: nothing of ours to remove
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
