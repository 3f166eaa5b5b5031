/**
 * Worker process entry, forked by the supervisor from compiled JS:
 *   node dist/app/main.js --id 3 --port 5003 --host 127.0.0.1 --work 10 --database-url sqlite:/run/dir/visits.db
 * Talks to the supervisor over IPC (see protocol.ts), logs to stdout (the supervisor
 * redirects it to a log file), and exits when its parent is gone.
 * Exports nothing on purpose: importing this file starts a worker.
 */
import { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { parseDatabaseUrl, StoreLocationError, type StoreLocation } from '../store/location.js';
import { createStore } from '../store/open.js';
import type { VisitStore } from '../store/store.js';
import { EXIT_LISTEN_FAILED, type FromWorker, type ToWorker, type WorkerStoreStats } from './protocol.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_WORK_MS, HEALTH_DB_TIMEOUT_MS, MAX_WORK_MS } from './limits.js';
import type { RunningWorker } from './worker.js';
import { parseInteger } from '../parse-int.js';
import { crashAtStart, installTestFaults } from './test-faults.js';

const STATS_INTERVAL_MS = 1000;
/** After the parent dies the worker must be gone well within 2 s. */
const ORPHAN_CLOSE_TIMEOUT_MS = 300;
const ORPHAN_HARD_EXIT_MS = 500;

const USAGE =
  'usage: main.js --port <0-65535> [--id <n>] [--host 127.0.0.1] [--work <0-1000 ms>] [--close-timeout <ms>] [--max-conn-requests <n>] [--max-conn-age <s>] [--database-url <postgres://…|sqlite:file>]';

interface WorkerArgs {
  id: number;
  port: number;
  host: string;
  work: number;
  closeTimeoutMs: number;
  maxConnRequests: number;
  maxConnAgeMs: number;
  /** null: no database (the visits routes answer 503). */
  database: StoreLocation | null;
}

class ArgError extends Error {}

function intArg(raw: string | undefined, name: string, min: number, max: number, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new ArgError(`--${name} is required`);
    return fallback;
  }
  const r = /^\d+$/.test(raw) ? parseInteger(raw, min, max) : null;
  if (r === null || !r.ok) throw new ArgError(`--${name}: expected an integer from ${min} to ${max}, received ${JSON.stringify(raw)}`);
  return r.value;
}

function parseWorkerArgs(argv: string[]): WorkerArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        id: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        work: { type: 'string' },
        'close-timeout': { type: 'string' },
        'max-conn-requests': { type: 'string' },
        'max-conn-age': { type: 'string' },
        'database-url': { type: 'string' },
      },
    }));
  } catch (err) {
    throw new ArgError(err instanceof Error ? err.message : String(err));
  }
  const host = values.host ?? '127.0.0.1';
  if (host.trim() === '') throw new ArgError('--host: expected a host name or address, received ""');
  let database: StoreLocation | null = null;
  if (values['database-url'] !== undefined) {
    try {
      database = parseDatabaseUrl(values['database-url']);
    } catch (err) {
      if (err instanceof StoreLocationError) throw new ArgError(`--database-url: ${err.message}`);
      throw err;
    }
  }
  return {
    database,
    id: intArg(values.id, 'id', 0, 1_000_000, 0),
    port: intArg(values.port, 'port', 0, 65535),
    host,
    work: intArg(values.work, 'work', 0, MAX_WORK_MS, DEFAULT_WORK_MS),
    closeTimeoutMs: intArg(values['close-timeout'], 'close-timeout', 0, 600_000, DEFAULT_CLOSE_TIMEOUT_MS),
    maxConnRequests: intArg(values['max-conn-requests'], 'max-conn-requests', 0, 1_000_000_000, 0),
    maxConnAgeMs: intArg(values['max-conn-age'], 'max-conn-age', 0, 86_400, 0) * 1000,
  };
}

/** CPU time used over a wall-clock period, as % of one core (can exceed 100 with threads). */
function cpuPercent(usedMicros: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.round(((usedMicros / 1000 / elapsedMs) * 100) * 10) / 10;
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** Resolves once the message is handed to the OS (or at once without a live channel); never rejects. */
function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (typeof process.send !== 'function' || !process.connected) {
      resolve();
      return;
    }
    // An error here means the channel closed meanwhile; 'disconnect' handles that case.
    process.send(msg, undefined, undefined, () => resolve());
  });
}

function isToWorker(m: unknown): m is ToWorker {
  const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return type === 'drain' || type === 'connection' || type === 'close-connections';
}

/** The store part of a stats message; `check` makes a fresh database round trip first. */
async function storeStats(worker: RunningWorker, store: VisitStore | null, check: boolean): Promise<WorkerStoreStats | undefined> {
  if (store === null) return undefined;
  if (check) worker.state.storeChecked(await store.ping(HEALTH_DB_TIMEOUT_MS));
  const health = worker.state.storeHealth;
  return {
    kind: store.kind,
    up: health?.up ?? false,
    detail: health?.detail ?? 'not checked yet',
    visits: worker.state.visits,
    total: worker.state.lastTotal,
  };
}

function startStats(worker: RunningWorker, store: VisitStore | null): NodeJS.Timeout {
  let lastUsage = process.cpuUsage();
  let lastAt = performance.now();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const usage = process.cpuUsage(lastUsage);
    const at = performance.now();
    const cpu = cpuPercent(usage.user + usage.system, at - lastAt);
    lastUsage = process.cpuUsage();
    lastAt = at;
    void storeStats(worker, store, true)
      .then((s) => send({ type: 'stats', cpu, rss: process.memoryUsage.rss(), requests: worker.state.requests, inFlight: worker.state.inFlight, connections: worker.connections.open, handedOver: worker.connections.handedOver, ...(s ? { store: s } : {}) }))
      .finally(() => {
        busy = false;
      });
  }, STATS_INTERVAL_MS);
  timer.unref();
  return timer;
}

/** Opens the store (PostgreSQL: creates its schema; SQLite: the lab created the file); a database that is down now only makes /health answer 503 until it is back. */
async function openStore(args: WorkerArgs): Promise<VisitStore | null> {
  if (args.database === null) return null;
  // A worker the lab forked never creates a SQLite file: the lab did at start, and one missing now was deleted
  // mid-run. A worker run on its own (`autoscale worker`, the container image) has no lab to do it, so it does.
  const forked = typeof process.send === 'function';
  const store = await createStore(args.database, { applicationName: `autoscale worker ${args.id}`, create: !forked });
  try {
    await store.init();
    log(`worker ${args.id} using ${store.kind} ${store.where}`);
  } catch (err) {
    log(`worker ${args.id}: database not ready (${err instanceof Error ? err.message : String(err)}); /health answers 503 until it is`);
  }
  return store;
}

async function main(): Promise<void> {
  // A log pipe that went away (e.g. EPIPE) must never take the worker down.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});

  const forked = typeof process.send === 'function';
  let args: WorkerArgs;
  try {
    args = parseWorkerArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(2);
  }

  if (crashAtStart(process.env)) {
    process.stderr.write('test fault: crashing at start (AUTOSCALE_TEST_CRASH_FILE exists)\n');
    process.exit(1);
  }
  installTestFaults(process.env, log);

  // Loaded only now: bad arguments exit before Express and prom-client are loaded.
  const { startWorker } = await import('./worker.js');
  const store = await openStore(args);
  let worker: RunningWorker;
  try {
    worker = await startWorker({ id: args.id, port: args.port, host: args.host, work: args.work, maxConnRequests: args.maxConnRequests, maxConnAgeMs: args.maxConnAgeMs, store });
  } catch (err) {
    await store?.close();
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'UNKNOWN';
    const message = err instanceof Error ? err.message : String(err);
    log(`worker ${args.id} could not listen on ${args.host}:${args.port}: ${message}`);
    // Let the IPC message flush before leaving.
    await send({ type: 'listen-error', port: args.port, code, message });
    process.exit(EXIT_LISTEN_FAILED);
  }

  log(`worker ${args.id} listening on ${worker.url} (pid ${process.pid})`);
  void send({ type: 'ready', port: worker.port, pid: process.pid });
  const stats = startStats(worker, store);

  let stopping = false;
  const stop = async (why: string, timeoutMs: number, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(stats);
    log(`worker ${args.id} shutting down (${why}), ${worker.state.inFlight} request(s) in flight`);
    const { forced } = await worker.close({ timeoutMs });
    // Final counts, so the supervisor knows every visit this worker acknowledged.
    const finalStore = await storeStats(worker, store, false);
    if (finalStore) await send({ type: 'store', store: finalStore });
    const visits = store === null ? '' : `, ${worker.state.visits} visit(s)`;
    log(`worker ${args.id} stopped after ${worker.state.requests} request(s)${visits}${forced ? ', in-flight connections cut after timeout' : ''}`);
    process.exit(exitCode);
  };

  // Ctrl+C in a terminal sends SIGINT to the whole process group, workers
  // included. A forked worker leaves that to its supervisor, which drains it
  // out of the balancer first and then sends SIGTERM; if the supervisor dies
  // instead, 'disconnect' below stops the worker.
  const signals = forked ? (['SIGTERM'] as const) : (['SIGTERM', 'SIGINT'] as const);
  if (forked) process.on('SIGINT', () => log(`worker ${args.id} ignoring SIGINT: the supervisor stops it`));
  for (const signal of signals) {
    process.on(signal, () => {
      if (stopping) {
        log(`worker ${args.id} got ${signal} again, exiting now`);
        process.exit(1);
      }
      void stop(signal, args.closeTimeoutMs, 0);
    });
  }

  if (forked) {
    process.on('message', (m: unknown, handle: unknown) => {
      if (!isToWorker(m)) return;
      if (m.type === 'drain') {
        worker.drain();
        log(`worker ${args.id} draining: /health now answers 503`);
      } else if (m.type === 'connection' && handle instanceof Socket) {
        if (stopping) handle.destroy();
        else worker.connections.adopt(handle);
      } else if (m.type === 'close-connections') {
        worker.closeConnections();
        log(`worker ${args.id} closing its ${worker.connections.open} client connection(s): idle now, busy after their response`);
      }
    });
    // The IPC pipe closes when the supervisor exits for any reason, SIGKILL included.
    const orphaned = () => {
      setTimeout(() => process.exit(1), ORPHAN_HARD_EXIT_MS).unref();
      void stop('supervisor gone', ORPHAN_CLOSE_TIMEOUT_MS, 0);
    };
    // The parent may already have gone while we were starting up.
    if (process.connected) process.once('disconnect', orphaned);
    else orphaned();
  }
}

void main();
