/**
 * Rolling replacement of every worker (AWS's instance refresh): start new
 * workers first, wait until each is ready and answers its health check, only
 * then drain and stop as many old ones. Ready capacity therefore never drops
 * below the count at the start; `minHealthy` sets how many are replaced at a
 * time: at most (100 − minHealthy) % of them, at least one.
 */
import type { WorkerSnapshot } from '../events.js';

export interface RefreshTarget {
  /** Current workers (starting, ready, draining …). */
  workers(): WorkerSnapshot[];
  /** Run `n` workers beyond the desired count (0 to stop surging). */
  setSurge(n: number): void;
  /** Drain and stop this worker; resolves once it exited. */
  retire(id: number, why: string): Promise<void>;
  /** True once the worker answers its health check. */
  healthy(w: WorkerSnapshot): Promise<boolean>;
  /** The lab is stopping: give up quietly. */
  stopping(): boolean;
  /** How long a new worker may take to become ready and healthy, ms. */
  readyTimeoutMs: number;
}

export interface RefreshResult {
  replaced: number;
  total: number;
  ms: number;
}

/** How many of `n` workers may be replaced in one batch while keeping `minHealthy` % of them serving. */
export function batchSize(n: number, minHealthy: number): number {
  return Math.max(1, Math.floor((n * (100 - minHealthy)) / 100 + 1e-9));
}

const LIVE = new Set(['starting', 'ready']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function rollingRefresh(target: RefreshTarget, minHealthy: number, progress: (replaced: number, message: string) => void): Promise<RefreshResult> {
  const t0 = performance.now();
  const olds = target.workers().filter((w) => LIVE.has(w.state));
  const total = olds.length;
  const oldIds = new Set(olds.map((w) => w.id));
  const k = batchSize(total, minHealthy);
  const used = new Set<number>();
  let replaced = 0;
  progress(0, `replacing ${total} worker${total === 1 ? '' : 's'}, ${k} at a time (min healthy ${minHealthy} %): new ones start first, old ones drain once the new ones are ready and healthy`);
  try {
    while (replaced < total) {
      if (target.stopping()) throw new Error('the lab is stopping');
      const batch = olds.slice(replaced, replaced + k).filter((w) => target.workers().some((x) => x.id === w.id && LIVE.has(x.state)));
      const want = olds.slice(replaced, replaced + k).length;
      if (batch.length === 0) {
        // These old workers are already gone (crashed and replaced meanwhile): nothing to do for them.
        replaced += want;
        continue;
      }
      target.setSurge(batch.length);
      const fresh = await waitFresh(target, oldIds, used, batch.length);
      for (const w of fresh) used.add(w.id);
      // Retire first (they leave the live count at once), then drop the surge: the count never looks too high,
      // so the supervisor does not pick victims of its own (it would take the newest, i.e. the fresh ones).
      const retiring = batch.map((w) => target.retire(w.id, `refresh: replaced by worker ${fresh.map((f) => f.id).join(', ')}`));
      target.setSurge(0);
      await Promise.all(retiring);
      replaced += want;
      progress(
        replaced,
        `${fresh.map((f) => `worker ${f.id} :${f.port}`).join(', ')} ready and healthy; ` +
          `${batch.map((w) => `worker ${w.id} :${w.port}`).join(', ')} drained and stopped`,
      );
    }
  } finally {
    target.setSurge(0);
  }
  return { replaced, total, ms: performance.now() - t0 };
}

/** Wait for `n` new ready workers (not old, not used by an earlier batch) that pass a health check. */
async function waitFresh(target: RefreshTarget, oldIds: Set<number>, used: Set<number>, n: number): Promise<WorkerSnapshot[]> {
  const deadline = performance.now() + target.readyTimeoutMs;
  const ok = new Map<number, WorkerSnapshot>();
  for (;;) {
    if (target.stopping()) throw new Error('the lab is stopping');
    const candidates = target.workers().filter((w) => w.state === 'ready' && !oldIds.has(w.id) && !used.has(w.id) && !ok.has(w.id));
    for (const w of candidates) if (await target.healthy(w)) ok.set(w.id, w);
    if (ok.size >= n) return [...ok.values()].slice(0, n);
    if (performance.now() > deadline) {
      throw new Error(`no new worker became ready and healthy within ${Math.round(target.readyTimeoutMs / 1000)} s; the old workers were kept`);
    }
    await sleep(50);
  }
}
