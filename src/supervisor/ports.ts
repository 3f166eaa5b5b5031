/**
 * Which port the next worker gets: the lowest free one at or above --base-port.
 * Privileged ports (below 1024) are never handed to a worker: --base-port
 * refuses them up front (exit 2), and the search skips them.
 */
import { createServer } from 'node:net';
import { AutoscaleError } from '../errors.js';

/** The lowest port a worker may get. */
export const MIN_WORKER_PORT = 1024;

/** Pure: the candidate ports in order, skipping privileged ones and the ones our own workers hold. */
export function* candidatePorts(base: number, reserved: ReadonlySet<number>, limit: number): Generator<number> {
  let yielded = 0;
  for (let port = Math.max(base, MIN_WORKER_PORT); port <= 65_535 && yielded < limit; port++) {
    if (reserved.has(port)) continue;
    yielded++;
    yield port;
  }
}

/**
 * True when nothing listens on host:port (we could bind it ourselves just
 * now), false when it is taken (EADDRINUSE). Any other failure (EACCES,
 * EADDRNOTAVAIL) is not "taken": it rejects with that error.
 */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * The lowest free port at or above `base` that none of our workers holds. A
 * port taken by something else is skipped, not fatal; after `limit` taken
 * candidates it gives up with AS_ERR_NO_FREE_PORT, and at once when a port
 * cannot be bound for another reason (the error code says which).
 */
export async function findFreePort(
  host: string,
  base: number,
  reserved: ReadonlySet<number>,
  limit = 100,
  probe: (host: string, port: number) => Promise<boolean> = isPortFree,
): Promise<number> {
  for (const port of candidatePorts(base, reserved, limit)) {
    let free: boolean;
    try {
      free = await probe(host, port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new AutoscaleError('AS_ERR_NO_FREE_PORT', `no free port for a worker: cannot bind ${host}:${port} (${code})`, { cause: err });
    }
    if (free) return port;
  }
  throw new AutoscaleError('AS_ERR_NO_FREE_PORT', `no free port for a worker on ${host} among ${limit} ports from ${base} (use --base-port)`);
}
