/**
 * Which lab a command talks to: `--run-dir` when given, else the lab named by
 * `--lab` (its balancer port or its run: the run directory's name or path)
 * among the live labs of the registry, else the only live lab. With two or
 * more labs running and none named, nothing is guessed: the command is refused
 * with the list (one line per lab, exit 2). A socket nobody answers on is
 * stale (its lab was killed): it is removed and reported, never taken for a
 * live lab.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chooseLab } from '../runs/choose-lab.js';
import type { LabEntry } from '../runs/paths.js';
import { ConnectError } from './client.js';
import { probeSocket, removeStaleSocket, socketPath } from './server.js';

/** The live labs (the registry, stale entries already dropped). */
export type ListLabs = (env: NodeJS.ProcessEnv) => LabEntry[];

export interface Located {
  runDir: string;
  socket: string;
}

/** Find the chosen lab's socket, or throw (ConnectError exit 1, a refusal exit 2); `notes` get a line for each stale thing cleaned up. */
export async function locateLab(
  flags: { runDir?: string; lab?: string },
  env: NodeJS.ProcessEnv,
  listLabs: ListLabs,
  notes: (line: string) => void,
): Promise<Located> {
  let runDir: string;
  let socket: string;
  if (flags.runDir !== undefined) {
    runDir = resolve(flags.runDir);
    socket = socketPath(runDir);
  } else {
    const choice = chooseLab(listLabs(env), flags.lab);
    if (!choice.ok) throw choice.error;
    runDir = choice.lab.runDir;
    socket = choice.lab.controlSocket ?? socketPath(runDir);
  }
  if (!existsSync(socket)) throw new ConnectError('absent', socket);
  const state = await probeSocket(socket);
  if (state === 'denied') throw new ConnectError('denied', socket);
  if (state !== 'live') {
    if (state === 'stale' && removeStaleSocket(socket)) notes(`removed the stale control socket ${socket} (its lab is gone)`);
    throw new ConnectError('stale', socket);
  }
  return { runDir, socket };
}
