import { performance } from 'node:perf_hooks';
import type { EngineConfig } from './engine.js';
import type { LoadConfig } from './options.js';
import { activeThreadsAt, levelAt } from './profile.js';
import { emptyReport, mergeReport, type IntervalReport } from './report.js';
import { localShard, workerShard, type Shard } from './shard.js';
import { addInterval, newRunTotals, summarize, type LoadSummary, type RunTotals } from './summary.js';
import type { LoadLine } from '../runs/load-line.js';

/** Views (progress line, --out file) subscribe to the run through this. */
export interface RunListener {
  /** Once per second, and once more for the final partial interval. */
  onSecond?(line: LoadLine, totals: RunTotals): void;
}

/** How one validated config splits into per-thread engine configs (one in-process, or one per worker thread). */
export function engineConfigs(config: LoadConfig): EngineConfig[] {
  const shards = Math.max(1, config.workers);
  const base = {
    origin: config.url.origin,
    path: `${config.url.pathname}${config.url.search}`,
    method: config.method,
    headers: config.headers,
    body: config.body,
    timeoutMs: config.timeoutMs,
    durationSec: config.durationSec,
    mode: config.rate === null ? ('closed' as const) : ('open' as const),
    threads: config.threads,
    rate: config.rate,
    profile: config.profile,
    mix: config.mix === null ? null : { percent: config.mix.percent, method: config.mix.method, path: config.mix.path, body: config.mix.body, contentType: config.mix.contentType },
    shards,
  };
  return Array.from({ length: shards }, (_, shard) => ({ ...base, shard }));
}

/** What the profile asks for at `tSec`: active threads (closed loop) or target req/s (open loop). */
export function levelFor(config: LoadConfig, tSec: number): number {
  return config.rate === null ? activeThreadsAt(config.profile, config.threads, tSec) : levelAt(config.profile, config.rate, tSec);
}

function mergeAll(reports: IntervalReport[]): IntervalReport {
  return reports.reduce((into, report) => mergeReport(into, report), emptyReport());
}

/** Starts one worker thread per config; if any fails to start, stops the others before throwing. */
async function startWorkers(configs: EngineConfig[]): Promise<Shard[]> {
  const started = await Promise.allSettled(configs.map((c) => workerShard(c)));
  const shards = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return shards;
  await Promise.allSettled(shards.map((s) => s.stop(true)));
  throw failed.reason;
}

/**
 * One load run: starts the shards, collects their counters every second,
 * stops them at --duration (or at interrupt()), and reduces everything to a
 * LoadSummary.
 */
export class LoadRun {
  readonly #config: LoadConfig;
  readonly #listener: RunListener;
  #shards: Shard[] = [];
  #interrupted = false;
  #stopping = false;
  #wake: (() => void) | null = null;

  constructor(config: LoadConfig, listener: RunListener = {}) {
    this.#config = config;
    this.#listener = listener;
  }

  /** Ctrl+C: stop now, cancel in-flight requests, and let run() resolve with what ran so far. */
  interrupt(): void {
    if (this.#interrupted) return;
    this.#interrupted = true;
    this.#wake?.();
    if (this.#stopping) {
      for (const shard of this.#shards) shard.stop(true).catch(() => {});
    }
  }

  async run(): Promise<LoadSummary> {
    const config = this.#config;
    const configs = engineConfigs(config);
    this.#shards = config.workers > 0 ? await startWorkers(configs) : [localShard(configs[0])];

    // Worker threads get a few ms to receive the start message so that all shards share t = 0.
    const startMs = performance.now() + (config.workers > 0 ? 20 : 0);
    for (const shard of this.#shards) shard.start(performance.timeOrigin + startMs);

    const totals = newRunTotals();
    const duration = config.durationSec;
    const emit = (interval: IntervalReport, t: number, lastT: number, levelT: number): void => {
      const sample = addInterval(totals, interval, t, t - lastT, levelFor(config, levelT), config.rate === null ? 'closed' : 'open', Date.now());
      this.#listener.onSecond?.(sample, totals);
    };

    let lastT = 0;
    let t: number;
    try {
      for (let tick = 1; !this.#interrupted; tick++) {
        const nextT = Math.min(tick, duration);
        await this.#sleepUntil(startMs + nextT * 1000);
        if (this.#interrupted || nextT >= duration) break;
        const interval = mergeAll(await Promise.all(this.#shards.map((s) => s.collect())));
        const now = (performance.now() - startMs) / 1000;
        emit(interval, now, lastT, now);
        lastT = now;
      }
      this.#stopping = true;
      const finals = await Promise.all(this.#shards.map((s) => s.stop(this.#interrupted)));
      t = Math.max(lastT, (performance.now() - startMs) / 1000);
      emit(mergeAll(finals), t, lastT, Math.min(t, duration));
    } catch (err) {
      await Promise.allSettled(this.#shards.map((s) => s.stop(true)));
      throw err;
    }

    return summarize(totals, {
      url: config.url.href,
      method: config.method,
      mode: config.rate === null ? 'closed' : 'open',
      profile: config.profile,
      threads: config.threads,
      rate: config.rate,
      workers: config.workers,
      timeoutMs: config.timeoutMs,
      durationSec: duration,
      elapsedSec: t,
      interrupted: this.#interrupted,
      mixIn: config.mix === null ? null : { kind: config.mix.kind, request: `${config.mix.method} ${config.mix.path}`, percent: config.mix.percent },
    });
  }

  #sleepUntil(targetMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, targetMs - performance.now()));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}
