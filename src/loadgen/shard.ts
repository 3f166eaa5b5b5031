import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { LoadEngine, type EngineConfig } from './engine.js';
import { decodeReport, type IntervalReport, type WireReport } from './report.js';

/** Messages from the main thread to a load worker thread. */
export type ToWorker = { type: 'start'; startAtEpochMs: number } | { type: 'collect'; id: number } | { type: 'stop'; abort: boolean };
/** Messages from a load worker thread to the main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'report'; id: number; report: WireReport }
  | { type: 'stopped'; report: WireReport }
  | { type: 'failed'; message: string };

/** One share of a run: the engine in this thread, or one in a worker thread. Same contract either way. */
export interface Shard {
  /** Starts sending; `startAtEpochMs` is t = 0 as performance.timeOrigin + performance.now(). */
  start(startAtEpochMs: number): void;
  /** Counters since the previous collect. */
  collect(): Promise<IntervalReport>;
  /** Stops (see LoadEngine.stop); resolves with the counters since the last collect once every socket (and thread) is closed. */
  stop(abort: boolean): Promise<IntervalReport>;
}

export function localShard(cfg: EngineConfig): Shard {
  const engine = new LoadEngine(cfg);
  return {
    start: (startAtEpochMs) => engine.start(startAtEpochMs - performance.timeOrigin),
    collect: async () => engine.collect(),
    stop: async (abort) => {
      await engine.stop(abort);
      return engine.collect();
    },
  };
}

/**
 * The worker script is loaded through an eval'd bootstrap so the same code
 * works from compiled dist/ (imports worker.js) and from sources under tsx
 * (registers tsx in the worker first, then imports worker.ts).
 */
function workerBootstrap(): string {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;
  if (!fromSource) return `import(${JSON.stringify(entry)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
}

/**
 * Starts a worker thread running one engine shard; resolves once its engine
 * is built and listening ('ready'), not merely once the thread is 'online':
 * loading the engine (through tsx from sources, or on a busy host) can take
 * longer than a short run, whose t = 0 must not pass before every shard can send.
 */
export async function workerShard(cfg: EngineConfig): Promise<Shard> {
  const worker = new Worker(workerBootstrap(), { eval: true, workerData: cfg });
  const waiting = new Map<number, { resolve: (r: IntervalReport) => void; reject: (e: Error) => void }>();
  let stopping: { resolve: (r: IntervalReport) => void; reject: (e: Error) => void } | null = null;
  let stoppedReport: IntervalReport | null = null;
  let failure: Error | null = null;
  let nextId = 0;

  const fail = (err: Error): void => {
    failure ??= err;
    for (const pending of waiting.values()) pending.reject(failure);
    waiting.clear();
    stopping?.reject(failure);
  };
  let onReady: (() => void) | null = null;
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'ready') {
      onReady?.();
    } else if (message.type === 'report') {
      waiting.get(message.id)?.resolve(decodeReport(message.report));
      waiting.delete(message.id);
    } else if (message.type === 'stopped') {
      stoppedReport = decodeReport(message.report);
      // The worker closes its port and exits on its own; make sure it cannot linger.
      setTimeout(() => void worker.terminate(), 2000).unref();
    } else {
      fail(new Error(`load worker thread failed: ${message.message}`));
    }
  });
  worker.on('error', (err) => fail(err));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  void exited.then((code) => {
    if (stoppedReport !== null) stopping?.resolve(stoppedReport);
    else fail(new Error(`load worker thread exited (code ${code}) before finishing`));
  });
  await new Promise<void>((resolve, reject) => {
    onReady = resolve;
    worker.once('error', reject);
    void exited.then((code) => reject(new Error(`load worker thread exited (code ${code}) before it was ready`)));
  });
  onReady = null;

  const post = (message: ToWorker): void => worker.postMessage(message);
  let stopPromise: Promise<IntervalReport> | null = null;
  return {
    start: (startAtEpochMs) => post({ type: 'start', startAtEpochMs }),
    collect: () => {
      if (failure !== null) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<IntervalReport>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        post({ type: 'collect', id });
      });
    },
    stop: (abort) => {
      if (failure !== null) return Promise.reject(failure);
      post({ type: 'stop', abort });
      stopPromise ??= new Promise<IntervalReport>((resolve, reject) => {
        stopping = { resolve, reject };
      });
      return stopPromise;
    },
  };
}
