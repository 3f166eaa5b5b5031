/**
 * A worker's log file in the run directory. When it cannot be opened (the
 * directory turned read-only, was removed, or the disk is full of inodes) the
 * worker still starts, with its output discarded, and the reason is returned
 * for the 'worker' event: a log is a convenience, serving is the job.
 */
import { openSync } from 'node:fs';
import { join } from 'node:path';

export interface WorkerLog {
  file: string;
  /** Open for appending; null when it could not be opened. */
  fd: number | null;
  /** Why there is no log (null when there is one). */
  problem: string | null;
}

export function openWorkerLog(runDir: string, id: number): WorkerLog {
  const file = join(runDir, `worker-${id}.log`);
  try {
    return { file, fd: openSync(file, 'a'), problem: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { file, fd: null, problem: `cannot open log ${file} (${code}); output discarded` };
  }
}
