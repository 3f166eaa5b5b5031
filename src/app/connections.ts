/**
 * How a worker's HTTP server treats its connections: the remedies for
 * connection pinning (like nginx's `keepalive_requests` and a maximum
 * connection age, a keep-alive connection is told `Connection: close` after
 * `maxRequests` requests or once it is older than `maxAgeMs`), connections
 * handed over by the L4 balancer (a socket passed over IPC, served as if
 * accepted here), and a count of open connections for the stats message.
 *
 * Handed-over sockets are not counted by `server.close()` (net.Server only
 * counts what it accepted itself), so a graceful stop waits for
 * `whenNoConnections()` as well.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** 0: no limit. */
  maxRequests: number;
  /** 0: no limit. */
  maxAgeMs: number;
}

export interface ConnectionTracker {
  /** Open connections, accepted or handed over. */
  readonly open: number;
  /** Of those, handed over by the L4 balancer. */
  readonly handedOver: number;
  /** Serve a socket accepted elsewhere (the L4 balancer) on this server. */
  adopt(socket: Socket): void;
  /** Resolves once no connection is open (at once when none is). */
  whenNoConnections(): Promise<void>;
}

const BORN = Symbol('connection born at');

export function trackConnections(server: Server, limits: ConnectionLimits, now: () => number = Date.now): ConnectionTracker {
  let open = 0;
  let handedOver = 0;
  let waiters: Array<() => void> = [];
  // node's own keepalive_requests: Connection: close on the n-th response of a connection.
  if (limits.maxRequests > 0) server.maxRequestsPerSocket = limits.maxRequests;
  server.on('connection', (socket: Socket & { [BORN]?: number }) => {
    socket[BORN] = now();
    open++;
    socket.once('close', () => {
      open--;
      if (open === 0) {
        const w = waiters;
        waiters = [];
        for (const resolve of w) resolve();
      }
    });
  });
  if (limits.maxAgeMs > 0) {
    server.prependListener('request', (req, res) => {
      const born = (req.socket as Socket & { [BORN]?: number })[BORN];
      if (born !== undefined && now() - born >= limits.maxAgeMs) res.setHeader('Connection', 'close');
    });
  }
  return {
    get open() {
      return open;
    },
    get handedOver() {
      return handedOver;
    },
    adopt(socket: Socket): void {
      handedOver++;
      socket.once('close', () => handedOver--);
      server.emit('connection', socket);
    },
    whenNoConnections(): Promise<void> {
      return open === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}
