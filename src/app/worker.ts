/**
 * Runs one worker app on a port: listen, drain, graceful close.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VisitStore } from '../store/store.js';
import { createWorkerApp, type WorkerAppState } from './app.js';
import { trackConnections, type ConnectionTracker } from './connections.js';
import { servePipelined } from './pipeline.js';
import { hostForUrl } from '../url-host.js';
import { DEFAULT_CLOSE_TIMEOUT_MS } from './limits.js';

/**
 * Longer than the balancer's idle timeout for pooled connections, so the worker never
 * closes a connection just as the balancer reuses it. Node advertises it as
 * `Keep-Alive: timeout=65`; undici then keeps the socket 2 s less (its threshold).
 */
export const WORKER_KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * Slow clients (slowloris) are dropped: a request's headers must arrive within
 * 10 s of its first byte and the whole request within 30 s. Both clocks start
 * when a request begins, never on an idle keep-alive connection, and only
 * cover *receiving* the request: a response that takes long (queued behind
 * busy-waits) is not cut. Checked every second (Node's default is 30 s).
 */
export const WORKER_HEADERS_TIMEOUT_MS = 10_000;
export const WORKER_REQUEST_TIMEOUT_MS = 30_000;
const CONNECTIONS_CHECK_INTERVAL_MS = 1000;
export { DEFAULT_CLOSE_TIMEOUT_MS };

export interface StartWorkerOptions {
  id?: number;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Busy-loop ms per `GET /`; default 10. */
  work?: number;
  /** `Connection: close` after this many requests on one connection (0, the default: never). */
  maxConnRequests?: number;
  /** `Connection: close` on the first response once a connection is this old, ms (0, the default: never). */
  maxConnAgeMs?: number;
  /** Overrides for tests: headers / whole-request receive timeouts, ms. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** The shared visits store; closed by close() after the last request. */
  store?: VisitStore | null;
}

export interface CloseResult {
  /** True when in-flight connections had to be cut after the timeout. */
  forced: boolean;
}

export interface RunningWorker {
  /** The port actually listened on (the real one when 0 was asked for). */
  readonly port: number;
  readonly url: string;
  readonly state: WorkerAppState;
  readonly server: http.Server;
  /** Open connections, including those handed over by the L4 balancer (`connections.adopt`). */
  readonly connections: ConnectionTracker;
  /** /health answers 503 from now on; requests keep being served. */
  drain(): void;
  /**
   * Ask every client connection to go (the L4 balancer's drain): idle ones are closed now,
   * busy ones get `Connection: close` on their response. Keeps serving until close().
   */
  closeConnections(): void;
  /**
   * Graceful stop: terminate any stress burn, stop accepting, close idle keep-alive
   * connections, let in-flight requests finish (answering them with Connection: close),
   * and after `timeoutMs` (default 5000) cut whatever is left, then close the store. Idempotent.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult>;
}

/** Listens and resolves once the port is bound; rejects with the system error (err.code e.g. EADDRINUSE). */
export async function startWorker(opts: StartWorkerOptions): Promise<RunningWorker> {
  const host = opts.host ?? '127.0.0.1';
  const { app, state } = createWorkerApp({ id: opts.id ?? 0, port: opts.port, work: opts.work, store: opts.store });
  const server = http.createServer(
    {
      headersTimeout: opts.headersTimeoutMs ?? WORKER_HEADERS_TIMEOUT_MS,
      requestTimeout: opts.requestTimeoutMs ?? WORKER_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_INTERVAL_MS, opts.headersTimeoutMs ?? CONNECTIONS_CHECK_INTERVAL_MS),
    },
    // Pipelined requests: at most MAX_PIPELINED_REQUESTS per connection, one per event-loop turn (the heartbeat runs between).
    servePipelined(app),
  );
  server.keepAliveTimeout = WORKER_KEEP_ALIVE_TIMEOUT_MS;
  const connections = trackConnections(server, { maxRequests: opts.maxConnRequests ?? 0, maxAgeMs: opts.maxConnAgeMs ?? 0 });

  let closing: Promise<CloseResult> | null = null;
  let connectionsClosing = false;

  // Runs before Express: once closing, every response ends its connection, and each
  // finished request lets us drop connections that just became idle.
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing === null && !connectionsClosing) return;
    res.setHeader('Connection', 'close');
    // Stopping: drop connections that just became idle. Only asked to let connections go (L4 drain):
    // not that, since a client may be sending on a connection that is idle for an instant.
    if (closing !== null) res.once('close', () => setImmediate(() => server.closeIdleConnections()));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port, host);
  });

  const port = (server.address() as AddressInfo).port;
  state.port = port;
  const url = `http://${hostForUrl(host)}:${port}`;

  async function shutdown(timeoutMs: number): Promise<CloseResult> {
    state.setDraining();
    // A burn would only steal CPU from the requests we are waiting for.
    const stressStopped = state.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Responses already under way when close began may keep their connection alive; drop it once they are done.
    void state.whenIdle().then(() => setImmediate(() => server.closeIdleConnections()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    // Connections handed over by the L4 balancer are not counted by server.close(): wait for them too.
    const done = Promise.all([closed, connections.whenNoConnections()]);
    const forced = (await Promise.race([done.then(() => false as const), timedOut])) === true;
    clearTimeout(timer);
    if (forced) server.closeAllConnections();
    await closed;
    await stressStopped;
    // Every request is answered (or cut) by now: nothing can still be writing.
    await opts.store?.close();
    return { forced };
  }

  return {
    port,
    url,
    state,
    server,
    connections,
    drain: () => state.setDraining(),
    closeConnections: () => {
      if (connectionsClosing) return;
      connectionsClosing = true;
      // Busy connections close after their next response (Connection: close). Idle ones are closed from
      // 1 s on, not at once: a client that is just sending on a connection it believes open would get a reset.
      const sweep = setInterval(() => {
        server.closeIdleConnections();
        if (connections.open === 0) clearInterval(sweep);
      }, 1000);
      sweep.unref();
    },
    close: (closeOpts = {}) => {
      closing ??= shutdown(closeOpts.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
      return closing;
    },
  };
}
