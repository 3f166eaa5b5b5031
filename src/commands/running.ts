/**
 * Labs running in this process, so a crashing daemon can still kill its
 * workers. Kept apart from the start command so that bin/ can reach it
 * without loading the dashboard and the balancer for every command.
 */
export interface Killable {
  killAllSync(): void;
}

export const running = new Set<Killable>();

/** SIGKILL the workers of every running lab, synchronously (bin/ calls this on an uncaught exception). */
export function emergencyStop(): void {
  for (const lab of running) lab.killAllSync();
}
