/**
 * The `current` pointer: while a lab runs, `$XDG_STATE_HOME/autoscale/current`
 * (else `~/.local/state/autoscale/current`) holds JSON with its run directory
 * and pid, so `autoscale status|scale|…` find it without --run-dir. Same
 * place and format as the run recorder's design (issue 8), written here
 * until that module lands.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Pointer } from './locate.js';

function currentFile(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir(), '.local', 'state');
  return join(base, 'autoscale', 'current');
}

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** The running lab, or null; a pointer left by a lab whose pid is gone is removed. */
export function readPointer(env: NodeJS.ProcessEnv): Pointer | null {
  const file = currentFile(env);
  let p: Partial<Pointer>;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as Partial<Pointer>;
  } catch {
    return null;
  }
  if (typeof p.runDir !== 'string' || typeof p.pid !== 'number') return null;
  if (!alive(p.pid)) {
    try {
      unlinkSync(file);
    } catch {
      // someone else removed it first
    }
    return null;
  }
  return { runDir: p.runDir, pid: p.pid };
}

/** Write the pointer atomically (temp file + rename). */
export function writePointer(info: Pointer & Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const file = currentFile(env);
  mkdirSync(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`);
  renameSync(tmp, file);
}

/** Remove the pointer if it is still ours (a second lab may have replaced it). */
export function removePointer(pid: number, env: NodeJS.ProcessEnv): void {
  const file = currentFile(env);
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid === pid) unlinkSync(file);
  } catch {
    // gone or unreadable: nothing of ours
  }
}
