/** Which port the next worker gets: the lowest free one at or above --base-port. */
import { createServer } from 'node:net';
import { AutoscaleError } from '../errors.js';

/** Pure: the candidate ports in order, skipping the ones our own workers hold. */
export function* candidatePorts(base: number, reserved: ReadonlySet<number>, limit: number): Generator<number> {
  let yielded = 0;
  for (let port = base; port <= 65_535 && yielded < limit; port++) {
    if (reserved.has(port)) continue;
    yielded++;
    yield port;
  }
}

/** True when nothing listens on host:port (we could bind it ourselves just now). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * The lowest free port at or above `base` that none of our workers holds. A
 * port taken by something else is skipped, not fatal; after `limit` taken
 * candidates it gives up with AS_ERR_NO_FREE_PORT.
 */
export async function findFreePort(
  host: string,
  base: number,
  reserved: ReadonlySet<number>,
  limit = 100,
  probe: (host: string, port: number) => Promise<boolean> = isPortFree,
): Promise<number> {
  for (const port of candidatePorts(base, reserved, limit)) {
    if (await probe(host, port)) return port;
  }
  throw new AutoscaleError('AS_ERR_NO_FREE_PORT', `no free port for a worker on ${host} among ${limit} ports from ${base} (use --base-port)`);
}
