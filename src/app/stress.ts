/**
 * One CPU burn at a time, in a worker thread, so the worker's event loop keeps
 * answering /health and requests while a core is pegged.
 */
import { Worker } from 'node:worker_threads';

/** Runs inside the thread. Plain CommonJS so it works from dist/ and under tsx alike. */
const BURN_SOURCE = `
const { workerData } = require('node:worker_threads');
const end = Date.now() + workerData.ms;
let spins = 0;
while (Date.now() < end) { spins++; }
`;

export type StressStatus =
  | { running: false }
  | { running: true; seconds: number; startedAt: number; until: number };

export class StressBurner {
  #thread: Worker | null = null;
  #status: StressStatus = { running: false };
  #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  get status(): StressStatus {
    return this.#status;
  }

  get running(): boolean {
    return this.#thread !== null;
  }

  /** Starts a burn; returns null (and starts nothing) when one already runs. */
  start(seconds: number): (StressStatus & { running: true }) | null {
    if (this.#thread !== null) return null;
    const startedAt = this.#now();
    const status = { running: true as const, seconds, startedAt, until: startedAt + seconds * 1000 };
    const thread = new Worker(BURN_SOURCE, { eval: true, workerData: { ms: seconds * 1000 } });
    // Never keep the process alive just for a burn; shutdown terminates it explicitly.
    thread.unref();
    thread.on('error', (err) => {
      process.stderr.write(`stress thread failed: ${err instanceof Error ? err.message : String(err)}\n`);
    });
    thread.once('exit', () => {
      if (this.#thread === thread) {
        this.#thread = null;
        this.#status = { running: false };
      }
    });
    this.#thread = thread;
    this.#status = status;
    return status;
  }

  /** Terminates a running burn (V8 interrupts the busy loop); resolves once the thread is gone. */
  async stop(): Promise<void> {
    const thread = this.#thread;
    if (thread === null) return;
    this.#thread = null;
    this.#status = { running: false };
    await thread.terminate();
  }
}
