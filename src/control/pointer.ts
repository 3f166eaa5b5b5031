/**
 * The `current` pointer's reader (state dir: $XDG_STATE_HOME/autoscale, else
 * ~/.local/state/autoscale; the file holds JSON with at least runDir and pid).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Pointer } from './locate.js';

export function readPointer(env: NodeJS.ProcessEnv): Pointer | null {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME ?? homedir(), '.local', 'state');
  try {
    const p = JSON.parse(readFileSync(join(base, 'autoscale', 'current'), 'utf8')) as Partial<Pointer>;
    return typeof p.runDir === 'string' && typeof p.pid === 'number' ? { runDir: p.runDir, pid: p.pid } : null;
  } catch {
    return null;
  }
}
