/**
 * The worker's HTTP surface: simulated CPU work on `/`, health, request count,
 * Prometheus metrics, an off-loop CPU burn and the visits API on the shared
 * store (visits.ts). No listening here (see worker.ts).
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { StoreLockedError, StoreUnavailableError, type StoreHealth, type VisitStore } from '../store/store.js';
import { BadRequest, parseIntParam } from './http-input.js';
import { StressBurner, type StressStatus } from './stress.js';
import { bodyLimit } from './body-limit.js';
import { faultMiddleware } from './test-faults.js';
import { visitRoutes } from './visits.js';

import { DEFAULT_WORK_MS, HEALTH_DB_TIMEOUT_MS, MAX_WORK_MS } from './limits.js';

export { DEFAULT_WORK_MS, HEALTH_DB_TIMEOUT_MS, MAX_WORK_MS };
export const MIN_STRESS_SECONDS = 1;
export const MAX_STRESS_SECONDS = 60;

export interface WorkerAppOptions {
  id: number;
  port: number;
  /** Busy-loop length of `GET /` in ms (0..1000); default 10. */
  work?: number;
  /** Where visits go; without one, /visits answers 503 and /health says nothing about a database. */
  store?: VisitStore | null;
  /** false: POST /stress answers 403 (the lab runs with its balancer reachable from other machines). Default true. */
  stress?: boolean;
}

/** The 403 body of POST /stress when the lab turned it off. */
export const STRESS_OFF = 'POST /stress is off: this lab\'s balancer is reachable from other machines (--host is not loopback); start it with --allow-stress to allow it';

/** Live state of one worker app; read by worker.ts, main.ts (stats) and tests. */
export class WorkerAppState {
  readonly id: number;
  /** The port this worker serves on; worker.ts sets the real one after listen (port 0). */
  port: number;
  readonly work: number;
  readonly stress = new StressBurner();
  #requests = 0;
  #visits = 0;
  #lastTotal: number | null = null;
  #storeHealth: StoreHealth | null = null;
  #inFlight = 0;
  #draining = false;
  #idleWaiters: Array<() => void> = [];

  constructor(id: number, port: number, work: number) {
    this.id = id;
    this.port = port;
    this.work = work;
  }

  /** Lifetime count of `GET /` requests that were served (validated). */
  get requests(): number {
    return this.#requests;
  }

  /** Visits this worker recorded and acknowledged (201) in its lifetime. */
  get visits(): number {
    return this.#visits;
  }

  /** The store's total as of this worker's latest visit or database check (null before either). */
  get lastTotal(): number | null {
    return this.#lastTotal;
  }

  /** The latest database check (/health or the stats timer); null before the first. */
  get storeHealth(): StoreHealth | null {
    return this.#storeHealth;
  }

  visitRecorded(total: number): void {
    this.#visits += 1;
    this.#lastTotal = this.#lastTotal === null ? total : Math.max(this.#lastTotal, total);
  }

  storeChecked(health: StoreHealth): void {
    this.#storeHealth = health;
    if (health.total !== undefined) this.#lastTotal = this.#lastTotal === null ? health.total : Math.max(this.#lastTotal, health.total);
  }

  /** Requests on any route currently being handled (response not closed yet). */
  get inFlight(): number {
    return this.#inFlight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get stressStatus(): StressStatus {
    return this.stress.status;
  }

  /** From now on /health answers 503; everything else keeps being served. One-way. */
  setDraining(): void {
    this.#draining = true;
  }

  countRequest(): number {
    this.#requests += 1;
    return this.#requests;
  }

  requestStarted(): void {
    this.#inFlight += 1;
  }

  requestEnded(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves when no request is in flight (at once if none is). */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Shutdown-time cleanup: terminates a running stress thread. */
  async close(): Promise<void> {
    await this.stress.stop();
  }
}

/** Simulated CPU work: keeps the event loop (and so one core) busy for `ms`. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin: this is the work
  }
}

export function createWorkerApp(opts: WorkerAppOptions): { app: express.Express; state: WorkerAppState } {
  const work = opts.work ?? DEFAULT_WORK_MS;
  if (!Number.isInteger(work) || work < 0 || work > MAX_WORK_MS) {
    throw new RangeError(`expected work to be an integer from 0 to ${MAX_WORK_MS} (ms), received ${String(work)}`);
  }
  const state = new WorkerAppState(opts.id, opts.port, work);

  const register = new Registry();
  collectDefaultMetrics({ register });
  const requestsTotal = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests handled by this worker',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [register],
  });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request arrival to response end',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registers: [register],
  });

  const app = express();
  app.set('etag', false);
  app.disable('x-powered-by');

  // Count in-flight requests and record metrics once the response is closed (finished or aborted).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    state.requestStarted();
    res.once('close', () => {
      state.requestEnded();
      // Unmatched paths share one label so random URLs cannot blow up cardinality.
      const route = typeof req.route?.path === 'string' ? req.route.path : 'unmatched';
      requestsTotal.inc({ method: req.method, route, status: String(res.statusCode) });
      requestDuration.observe({ method: req.method, route }, (performance.now() - started) / 1000);
    });
    next();
  });
  app.use(bodyLimit());
  app.use(faultMiddleware);

  app.get('/', (req: Request, res: Response) => {
    const ms = req.query.work === undefined ? work : parseIntParam(req.query.work, 'work', 0, MAX_WORK_MS, 'ms');
    busyWait(ms);
    const requests = state.countRequest();
    res.json({ id: state.id, port: state.port, pid: process.pid, requests, work: ms });
  });

  const store = opts.store ?? null;
  app.get('/health', async (_req: Request, res: Response) => {
    if (state.draining) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    const me = { id: state.id, port: state.port, pid: process.pid };
    if (store === null) {
      res.json({ status: 'ok', ...me });
      return;
    }
    const db = await store.ping(HEALTH_DB_TIMEOUT_MS);
    state.storeChecked(db);
    const condition = db.up ? 'up' : db.locked ? 'locked' : 'down';
    const database = { kind: store.kind, status: condition, ...(db.up ? {} : { detail: db.detail }), ms: Math.round(db.ms * 10) / 10 };
    res.status(db.up ? 200 : 503).json({ status: db.up ? 'ok' : `database ${condition}`, ...me, database });
  });

  app.get('/requests', (_req: Request, res: Response) => {
    res.json({ requests: state.requests });
  });

  app.get('/metrics', async (_req: Request, res: Response) => {
    const body = await register.metrics();
    res.type(register.contentType).send(body);
  });

  app.post('/stress', (req: Request, res: Response) => {
    if (opts.stress === false) {
      res.status(403).json({ error: STRESS_OFF });
      return;
    }
    const seconds = parseIntParam(req.query.seconds, 'seconds', MIN_STRESS_SECONDS, MAX_STRESS_SECONDS, 'seconds');
    const started = state.stress.start(seconds);
    if (started === null) {
      const current = state.stress.status;
      res.status(409).json({
        error: 'a stress burn is already running on this worker; wait for it to end',
        ...(current.running ? { until: current.until } : {}),
      });
      return;
    }
    res.status(202).json({ seconds, until: started.until });
  });

  app.get('/stress', (_req: Request, res: Response) => {
    res.json(state.stress.status);
  });

  if (store !== null) {
    app.use(visitRoutes(store, state));
  } else {
    app.all(['/visits', '/visits/by-worker'], () => {
      throw new StoreUnavailableError('this worker has no database (start it with --database-url)');
    });
  }

  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: `not found: ${req.method} ${req.path}` });
  });

  // Errors never leak stack traces to clients; unexpected ones are logged to stderr (the worker log file).
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof StoreLockedError) {
      // Nothing was written; the lock is another process's and goes away by itself: try again shortly.
      process.stderr.write(`worker ${state.id}: database locked: ${err.message}\n`);
      res.status(503).set('Retry-After', '1').json({ error: `database locked: ${err.message}` });
      return;
    }
    if (err instanceof StoreUnavailableError) {
      process.stderr.write(`worker ${state.id}: ${err.message}\n`);
      res.status(503).json({ error: `database unavailable: ${err.message}` });
      return;
    }
    const tooLarge = tooLargeMessage(err);
    if (tooLarge !== null) {
      res.status(413).json({ error: tooLarge });
      return;
    }
    const status = errorStatus(err);
    if (status >= 500) {
      process.stderr.write(`worker ${state.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      res.status(status).json({ error: 'internal error' });
      return;
    }
    const message = err instanceof BadRequest ? err.message : err instanceof Error && (err as { expose?: boolean }).expose ? err.message : 'bad request';
    res.status(status).json({ error: message });
  });

  return { app, state };
}

/** body-parser's "entity.too.large" -> a message with the sizes; null for any other error. */
function tooLargeMessage(err: unknown): string | null {
  const e = err as { type?: unknown; length?: unknown; limit?: unknown };
  if (typeof e !== 'object' || e === null || e.type !== 'entity.too.large') return null;
  const size = typeof e.length === 'number' ? `${e.length} bytes` : 'more than the limit';
  return `body too large: ${size}, at most ${String(e.limit)} bytes are accepted`;
}

function errorStatus(err: unknown): number {
  const status = typeof err === 'object' && err !== null ? ((err as { status?: unknown; statusCode?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode) : undefined;
  return typeof status === 'number' && status >= 400 && status <= 599 ? status : 500;
}
