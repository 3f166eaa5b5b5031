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
