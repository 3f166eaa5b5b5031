/**
 * Worker-seconds — the one definition `autoscale report` (summary and cost)
 * and `autoscale replay` (the "recorded run" row and its fidelity line)
 * share, as reaction time has its one in reaction.ts.
 *
 * A worker counts from the moment it is forked (its first `starting` or
 * `ready` state) until it leaves the pool: its first `draining`, `stopping`,
 * `exited`, `crashed` or `backoff` state, whichever comes first. **Draining
 * time does not count.** A draining worker takes no new request: the scale-in
 * took effect when the drain began, and that is the moment the simulator
 * (`simulate`, every replayed row) retires a worker, so every row of replay's
 * table and the report's figure count the same thing. (Draining lasts as long
 * as the requests in flight, normally milliseconds; a cloud would still bill
 * them, which is why this is stated rather than assumed.)
 *
 * A worker still live at the end of the recording counts up to that end.
 * Pure; linear in the number of events.
 */
/** One worker's life in the pool, ms on the lab's clock. */
export interface WorkerSpan {
  /** Fork: its first live state. */
  startedAt: number;
  /** First `ready`, if it got there while live. */
  readyAt: number | null;
  /** When it left the pool (null: still live at the end of the recording). */
  leftAt: number | null;
}

/**
 * The worker transitions the definition reads: each `worker` event's time, id and new state (a WorkerState of
 * src/events.ts, which sits above this folder: any state but `starting` and `ready` means out of the pool).
 */
export interface WorkerTransition {
  t: number;
  id: number;
  state: string;
}

const LIVE: ReadonlySet<string> = new Set(['starting', 'ready']);

/** Each worker's span, from its transitions in time order. A worker id is one worker: once it left, later events for it are ignored. */
export function workerSpans(transitions: Iterable<WorkerTransition>): Map<number, WorkerSpan> {
  const spans = new Map<number, WorkerSpan>();
  for (const e of transitions) {
    let w = spans.get(e.id);
    if (w === undefined) {
      if (!LIVE.has(e.state)) continue;
      w = { startedAt: e.t, readyAt: null, leftAt: null };
      spans.set(e.id, w);
    }
    if (w.leftAt !== null) continue;
    if (e.state === 'ready' && w.readyAt === null) w.readyAt = e.t;
    if (!LIVE.has(e.state)) w.leftAt = e.t;
  }
  return spans;
}

/** Seconds of all spans, each cut at `endT` (ms: the end of the recording) and, for a window of the run, at `fromT`. */
export function workerSeconds(spans: Iterable<WorkerSpan>, endT: number, fromT = -Infinity): number {
  let ms = 0;
  for (const w of spans) ms += Math.max(0, Math.min(w.leftAt ?? endT, endT) - Math.max(w.startedAt, fromT));
  return ms / 1000;
}
