/**
 * Load from the page, like Locust's start button: src/loadgen's LoadRun, run
 * in this process (its engine in one worker thread, so the lab's own loop
 * keeps its timing), bounded: one run at a time, capped threads, rate and
 * duration, and only against this lab's balancer on loopback (the URL is
 * not the page's to choose).
 */
import { UsageError } from '../errors.js';
import { formatSummary } from '../loadgen/format.js';
import { parseLoadOptions, type LoadConfig } from '../loadgen/options.js';
import { describeProfile, PROFILE_NAMES } from '../loadgen/profile.js';
import { LoadRun } from '../loadgen/run.js';
import type { LoadLine } from '../runs/read.js';
import type { LoadStatus } from './live.js';

/** What one click may ask for: enough to push a laptop lab to --max, not enough to make the page a weapon. */
export const LOAD_LIMITS = { maxThreads: 200, maxRate: 5000, maxDurationSec: 1800 } as const;

export interface LoadRequest {
  profile: string;
  /** Closed loop: virtual users (each sends its next request when the last one answered). */
  threads?: number;
  /** Open loop: req/s, whatever the answers (then threads is the connection cap). */
  rate?: number;
  durationSec: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The page's JSON body → a LoadConfig against `balancerUrl`; one clear UsageError otherwise. Pure. */
export function parseLoadRequest(body: unknown, balancerUrl: string): LoadConfig {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError('load: expected a JSON object {profile, threads or rate, durationSec}');
  const b = body as Record<string, unknown>;
  const profile = b.profile ?? 'constant';
  if (typeof profile !== 'string' || !(PROFILE_NAMES as readonly string[]).includes(profile)) {
    throw new UsageError(`load: "profile" must be one of ${PROFILE_NAMES.join(', ')} (received ${JSON.stringify(profile)})`);
  }
  if (!isNum(b.durationSec) || b.durationSec <= 0 || b.durationSec > LOAD_LIMITS.maxDurationSec) {
    throw new UsageError(`load: "durationSec" must be a number of seconds from 1 to ${LOAD_LIMITS.maxDurationSec} (received ${JSON.stringify(b.durationSec)})`);
  }
  const rate = b.rate ?? null;
  if (rate !== null && (!isNum(rate) || rate <= 0 || rate > LOAD_LIMITS.maxRate)) {
    throw new UsageError(`load: "rate" must be a number of req/s above 0 and at most ${LOAD_LIMITS.maxRate} (received ${JSON.stringify(rate)})`);
  }
  const threads = b.threads ?? (rate === null ? 20 : Math.min(LOAD_LIMITS.maxThreads, 100));
  if (!isNum(threads) || !Number.isInteger(threads) || threads < 1 || threads > LOAD_LIMITS.maxThreads) {
    throw new UsageError(`load: "threads" must be a whole number from 1 to ${LOAD_LIMITS.maxThreads} (received ${JSON.stringify(b.threads)})`);
  }
  // The same validation as `autoscale load` (profiles take their shape from the duration and peak).
  return parseLoadOptions(balancerUrl, {
    profile,
    threads: String(threads),
    duration: String(b.durationSec),
    ...(rate === null ? {} : { rate: String(rate) }),
    workers: '1',
  });
}

/** One run at a time, its live figures, its summary when done. */
export class PageLoad {
  #run: LoadRun | null = null;
  #done: Promise<void> | null = null;
  #status: LoadStatus | null = null;
  #onChange: (s: LoadStatus) => void;
  #onSecond: (line: LoadLine) => void;

  constructor(opts: { onChange: (s: LoadStatus) => void; onSecond: (line: LoadLine) => void }) {
    this.#onChange = opts.onChange;
    this.#onSecond = opts.onSecond;
  }

  get status(): LoadStatus | null {
    return this.#status;
  }

  get running(): boolean {
    return this.#run !== null;
  }

  /** The offered rate (sent per second) of the last second of the running load, or null. */
  offered(): number | null {
    return this.#status?.running ? this.#status.offered : null;
  }

  /** Start one run; false when one is running already. */
  start(config: LoadConfig): boolean {
    if (this.#run !== null) return false;
    const unit = config.rate === null ? 'threads' : 'req/s';
    const description = `${config.rate === null ? `${config.threads} threads (closed loop)` : `${config.rate} req/s (open loop, up to ${config.threads} connections)`}, ${describeProfile(config.profile, unit)}, ${config.durationSec} s`;
    const status: LoadStatus = { running: true, description, elapsedSec: 0, durationSec: config.durationSec, sent: 0, ok: 0, errors: 0, rps: 0, offered: 0, p50: null, p99: null, summary: null, error: null };
    this.#status = status;
    const run = new LoadRun(config, {
      onSecond: (s: LoadLine) => {
        const offered = s.dt > 0 ? s.sent / s.dt : 0;
        this.#status = { ...this.#status!, elapsedSec: s.t, sent: this.#status!.sent + s.sent, ok: this.#status!.ok + s.ok, errors: this.#status!.errors + s.errors, rps: s.rps, offered, p50: s.p50, p99: s.p99 };
        this.#onSecond(s);
        this.#onChange(this.#status);
      },
    });
    this.#run = run;
    this.#onChange(status);
    this.#done = run.run().then(
      (summary) => {
        this.#status = { ...this.#status!, running: false, offered: 0, summary: formatSummary(summary) };
      },
      (err: unknown) => {
        this.#status = { ...this.#status!, running: false, offered: 0, error: `the load stopped: ${(err as Error).message}` };
      },
    ).finally(() => {
      this.#run = null;
      this.#onChange(this.#status!);
    });
    return true;
  }

  /** Stop the running load (its summary covers what ran); resolves once it has stopped. */
  async stop(): Promise<boolean> {
    const run = this.#run;
    if (run === null) return false;
    run.interrupt();
    await this.#done;
    return true;
  }
}
