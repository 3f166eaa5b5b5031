/**
 * Labs running in this process, so a crashing daemon can still kill its
 * workers. Kept apart from the start command so that bin/ can reach it
 * without loading the dashboard and the balancer for every command.
 */
export interface Killable {
  killAllSync(): void;
}

export const running = new Set<Killable>();

/**
 * SIGKILL the workers of every running lab, synchronously (bin/ calls this on
 * an uncaught exception). Returns how many labs had workers to stop, so a
 * crash of a command that runs no lab (replay, report) does not claim it
 * stopped workers.
 */
export function emergencyStop(): number {
  const n = running.size;
  for (const lab of running) lab.killAllSync();
  return n;
}
