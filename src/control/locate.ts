/**
 * Which lab a control command talks to: `--run-dir` when given, else the
 * running lab named by the `current` pointer in the state directory. A
 * socket nobody answers on is stale (its lab was killed): it is removed and
 * reported, never taken for a live lab.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConnectError } from './client.js';
import { probeSocket, removeStaleSocket, socketPath } from './server.js';

export interface Pointer {
  runDir: string;
  pid: number;
}

/** Reads the `current` pointer; null when no lab runs (a stale pointer is removed by the reader). */
export type ReadPointer = (env: NodeJS.ProcessEnv) => Pointer | null;

export interface Located {
  runDir: string;
  socket: string;
}

/** Find the live lab's socket, or throw ConnectError (exit 1); `notes` get a line for each stale thing cleaned up. */
export async function locateLab(runDirFlag: string | undefined, env: NodeJS.ProcessEnv, readPointer: ReadPointer, notes: (line: string) => void): Promise<Located> {
  const runDir = runDirFlag !== undefined ? resolve(runDirFlag) : readPointer(env)?.runDir;
  if (runDir === undefined) throw new ConnectError('absent', '');
  const socket = socketPath(runDir);
  if (!existsSync(socket)) throw new ConnectError('absent', socket);
  const state = await probeSocket(socket);
  if (state === 'denied') throw new ConnectError('denied', socket);
  if (state !== 'live') {
    if (state === 'stale' && removeStaleSocket(socket)) notes(`removed the stale control socket ${socket} (its lab is gone)`);
    throw new ConnectError('stale', socket);
  }
  return { runDir, socket };
}
