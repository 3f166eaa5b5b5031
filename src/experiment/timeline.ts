/**
 * An arm's timeline: the load phases and the timed events, in one ordered
 * list that is the same for every arm, and a runner that fires them at their
 * times from an injected clock and scheduler (tests use a fake one; the
 * experiment uses the real one). What a step does is the caller's `act`.
 */
import type { Experiment, LoadPhase, TimedEvent } from './schema.js';

export type Step =
  | { at: number; kind: 'phase'; index: number; phase: LoadPhase }
  | { at: number; kind: 'event'; index: number; event: TimedEvent }
  /** The end of a lasting event: SIGCONT after SIGSTOP, the fault lifted, the neighbour gone. */
  | { at: number; kind: 'event-end'; index: number; event: TimedEvent }
  | { at: number; kind: 'end' };

const RANK: Record<Step['kind'], number> = { 'event-end': 0, phase: 1, event: 2, end: 3 };

/** Every step with its time in seconds since the load started, in firing order (ties: ends first, then phases, then events in file order). */
export function buildTimeline(exp: Pick<Experiment, 'load' | 'events' | 'loadSec'>): Step[] {
  const steps: Step[] = [];
  let t = 0;
  exp.load.forEach((phase, index) => {
    steps.push({ at: t, kind: 'phase', index, phase });
    t += phase.durationSec;
  });
  exp.events.forEach((event, index) => {
    steps.push({ at: event.at, kind: 'event', index, event });
    if (event.for !== undefined) steps.push({ at: Math.min(event.at + event.for, exp.loadSec), kind: 'event-end', index, event });
  });
  steps.push({ at: exp.loadSec, kind: 'end' });
  const order = steps.map((s, i) => ({ s, i }));
  order.sort((a, b) => a.s.at - b.s.at || RANK[a.s.kind] - RANK[b.s.kind] || (a.s.kind === 'end' ? 0 : (a.s as { index: number }).index - (b.s as { index: number }).index) || a.i - b.i);
  return order.map((o) => o.s);
}

export interface Scheduler {
  /** ms, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Fires the steps in order, each at start + at. One timer at a time, so steps
 * that share a time fire in list order and a slow `act` delays nothing after
 * it (the next delay is computed from the clock, not accumulated).
 */
export class TimelineRunner {
  readonly steps: readonly Step[];
  #sched: Scheduler;
  #act: (step: Step) => void;
  #startedAt: number | null = null;
  #next = 0;
  #timer: unknown = null;
  #stopped = false;
  #resolve!: (how: 'finished' | 'stopped') => void;
  /** Resolves when the 'end' step fired ('finished') or stop() was called ('stopped'). */
  readonly done: Promise<'finished' | 'stopped'>;

  constructor(steps: readonly Step[], sched: Scheduler, act: (step: Step) => void) {
    this.steps = steps;
    this.#sched = sched;
    this.#act = act;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  start(): void {
    if (this.#startedAt !== null) return;
    this.#startedAt = this.#sched.now();
    this.#arm();
  }

  /** Seconds since start (0 before). */
  elapsed(): number {
    return this.#startedAt === null ? 0 : (this.#sched.now() - this.#startedAt) / 1000;
  }

  /** The next step still to fire, or null. */
  upcoming(): Step | null {
    return this.steps[this.#next] ?? null;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== null) this.#sched.clearTimeout(this.#timer);
    this.#timer = null;
    this.#resolve('stopped');
  }

  #arm(): void {
    if (this.#stopped) return;
    const step = this.steps[this.#next];
    if (step === undefined) return;
    const due = this.#startedAt! + step.at * 1000;
    this.#timer = this.#sched.setTimeout(() => this.#fire(), Math.max(0, due - this.#sched.now()));
  }

  #fire(): void {
    this.#timer = null;
    const start = this.#startedAt!;
    // Every step whose time has come, in order.
    while (!this.#stopped && this.#next < this.steps.length && start + this.steps[this.#next].at * 1000 <= this.#sched.now()) {
      const step = this.steps[this.#next++];
      this.#act(step);
      if (step.kind === 'end') {
        this.#stopped = true;
        this.#resolve('finished');
        return;
      }
    }
    this.#arm();
  }
}
