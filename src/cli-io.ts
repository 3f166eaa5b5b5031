import type { Writable } from 'node:stream';

/** Where a command writes. bin/ passes the real process streams; tests pass buffers. */
export interface CliIO {
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  /** Environment seen by the command (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Each subcommand reports its exit code through this: 0 ok, 1 runtime failure, 2 usage error. */
export type SetExitCode = (code: number) => void;

/** Set by a parent that spawns a command with a pipe on its stdin as a lifeline (the experiment runner). */
export const LIFELINE_ENV = 'AUTOSCALE_LIFELINE';

/**
 * A command spawned with a lifeline stops as on SIGTERM when that pipe closes:
 * its parent is gone (even SIGKILLed), and nobody else would stop it. Does
 * nothing without `AUTOSCALE_LIFELINE=1`; never keeps the process alive by
 * itself. Returns the undo.
 */
export function watchLifeline(env: NodeJS.ProcessEnv, onGone: () => void): () => void {
  if (env[LIFELINE_ENV] !== '1') return () => {};
  const stdin = process.stdin;
  let fired = false;
  const gone = (): void => {
    if (fired) return;
    fired = true;
    onGone();
  };
  stdin.on('end', gone);
  stdin.on('close', gone);
  stdin.on('error', gone);
  stdin.resume();
  (stdin as { unref?: () => void }).unref?.();
  return () => {
    stdin.off('end', gone);
    stdin.off('close', gone);
    stdin.off('error', gone);
    stdin.pause();
  };
}
