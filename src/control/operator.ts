/**
 * Every operator command of a running lab, whoever asks (a dashboard key or
 * the control socket), goes through `Operator.command`: validated here, acted
 * on through the lab's own methods, and published as a 'command' event saying
 * who asked. Refusals are events too.
 */
import { performance } from 'node:perf_hooks';
import type { ErrorCode } from '../errors.js';
import type { AlarmStatus, CommandSource, LabEvent, LabSettings, ScaleAction, TickEvent, WorkerSnapshot, WorkerState } from '../events.js';
import { describeRule } from '../alarms/rule.js';
import { describeRequest, type ControlRequest, type ExperimentStatus } from './protocol.js';
import { rollingRefresh, type RefreshTarget } from './refresh.js';
import { REFRESH_HOLD } from '../policy/step.js';

/** What the operator needs from the lab. */
export interface OperableLab {
  readonly runDir: string;
  readonly settings: LabSettings;
  metricsUrl(): string | null;
  balancerUrl(): string;
  paused(): boolean;
  stopping(): boolean;
  desired(): number;
  counts(): { starting: number; ready: number; live: number };
  workers(): WorkerSnapshot[];
  held(): number;
  now(): number;
  startedAt(): number;
  publish(e: LabEvent): void;
  /** Every alarm now with the reason for its state, in rule order ([] without alarms). */
  alarms?(): Array<AlarmStatus & { reason: string }>;
  on(type: 'tick', listener: (e: TickEvent) => void): void;
  off(type: 'tick', listener: (e: TickEvent) => void): void;
  setPaused(paused: boolean): void;
  /** Set the desired count by hand (a 'scale' event with manual: true). */
  scaleTo(n: number, reason: string): void;
  /** Hold automatic scaling for this reason (null: no hold), e.g. during a refresh. */
  holdScaling(reason: string | null): void;
  refreshTarget(): RefreshTarget;
  stop(reason: string): Promise<number>;
}

/** Signals the web page may send one worker (the self-healing demo): kill it, freeze it, or let a frozen one go on. */
export const WORKER_SIGNALS = ['SIGKILL', 'SIGSTOP', 'SIGCONT'] as const;
export type WorkerSignal = (typeof WORKER_SIGNALS)[number];

/** Commands from the control socket, plus the dashboard's own keys and the web page's worker signals. */
export type LabCommand = ControlRequest | { cmd: 'scale-by'; delta: 1 | -1 } | { cmd: 'toggle-pause' } | { cmd: 'signal'; id: number; signal: WorkerSignal };

/** What each signal does to a worker, as the command's answer says it. */
const SIGNAL_EFFECT: Record<WorkerSignal, string> = {
  SIGKILL: 'killed at once, no drain: the supervisor replaces it (watch the worker table and the crash in the log)',
  SIGSTOP: 'frozen: it keeps its port but answers nothing; its health checks fail, it leaves the rotation and is replaced once it shows no sign of life',
  SIGCONT: 'let go on: if it is still in place, it answers again and comes back into rotation after passing its health checks',
};

/** How the event log names who asked: "via the web page". */
function via(source: CommandSource): string {
  return source === 'web' ? 'the web page' : `the ${source}`;
}

export interface CommandResult {
  ok: boolean;
  /** Set when !ok: AS_ERR_USAGE means the request itself was wrong (the CLI exits 2). */
  code?: ErrorCode;
  message: string;
  data?: unknown;
}

export interface WorkerStatus {
  id: number;
  port: number;
  pid: number | undefined;
  state: WorkerState;
  healthy: boolean;
  uptimeMs: number;
  restarts: number;
  rps: number;
  inFlight: number;
  cpu: number | null;
}

/** `autoscale status --json`. */
export interface LabStatus {
  pid: number;
  runDir: string;
  balancerUrl: string;
  metricsUrl: string | null;
  startedAt: number;
  uptimeMs: number;
  settings: LabSettings;
  paused: boolean;
  refreshing: boolean;
  desired: number;
  running: number;
  ready: number;
  held: number;
  workers: WorkerStatus[];
  lastDecision: { t: number; action: ScaleAction; reason: string } | null;
  /** Every alarm: its state since when, newest datapoint, the rule in one line and why it is in that state (absent without alarms). */
  alarms?: Array<AlarmStatus & { rule: string; reason: string }>;
}

/** The `command` of the event logged for a socket message that is no valid request. */
export const INVALID_REQUEST = 'invalid request';

export class Operator {
  readonly #lab: OperableLab;
  #lastTick: TickEvent | null = null;
  #refreshing = false;
  #showExperiment: ((status: ExperimentStatus | null) => void) | null = null;

  constructor(lab: OperableLab) {
    this.#lab = lab;
    lab.on('tick', (e) => (this.#lastTick = e));
  }

  get refreshing(): boolean {
    return this.#refreshing;
  }

  /**
   * Where an `experiment` request goes: the live page's banner, when `autoscale start` opened the page
   * (it passes the page's setter in, so control does not know the page). Without one, such a request
   * is accepted and ignored.
   */
  showExperimentOn(show: ((status: ExperimentStatus | null) => void) | null): void {
    this.#showExperiment = show;
  }

  /** A message on the control socket that is no command at all: logged as a refused command. */
  badMessage(message: string): void {
    this.#event(INVALID_REQUEST, 'control socket', false, message);
  }

  async command(cmd: LabCommand, source: CommandSource, progress: (message: string) => void = () => {}): Promise<CommandResult> {
    const name =
      cmd.cmd === 'scale-by'
        ? `scale ${cmd.delta > 0 ? '+1' : '-1'}`
        : cmd.cmd === 'toggle-pause'
          ? this.#lab.paused()
            ? 'resume'
            : 'pause'
          : cmd.cmd === 'signal'
            ? `${cmd.signal} worker ${cmd.id}`
            : describeRequest(cmd);
    const refuse = (message: string, code: ErrorCode = 'AS_ERR_CONTROL_REFUSED'): CommandResult => {
      this.#event(name, source, false, message);
      return { ok: false, code, message };
    };
    const accept = (message: string, data?: unknown): CommandResult => {
      this.#event(name, source, true, message);
      return { ok: true, message, data };
    };
    const lab = this.#lab;
    if (cmd.cmd === 'status') return accept('status sent', this.status());
    // The experiment runner's note for the page (up to once a second): shown, not an operator action, so no
    // 'command' event (the run's log keeps the experiment's own timed events, which are commands).
    if (cmd.cmd === 'experiment') {
      if (this.#showExperiment === null) return { ok: true, message: 'no live page on this lab: experiment status ignored' };
      this.#showExperiment(cmd.status);
      return { ok: true, message: cmd.status === null ? 'experiment banner cleared' : 'experiment status shown on the live page' };
    }
    if (lab.stopping()) return refuse('the lab is stopping');
    const { min, max } = lab.settings;
    switch (cmd.cmd) {
      case 'scale': {
        if (cmd.n < min || cmd.n > max) return refuse(`scale ${cmd.n} is outside min ${min} – max ${max}`, 'AS_ERR_USAGE');
        if (this.#refreshing) return refuse('a refresh is in progress; scale again once it is done');
        const from = lab.desired();
        if (!lab.paused()) lab.setPaused(true);
        if (cmd.n !== from) lab.scaleTo(cmd.n, `manual scale to ${cmd.n}${source === 'web' ? ` via ${via(source)}` : ''}`);
        const what = cmd.n === from ? `already at ${from} workers` : `scaling ${from} → ${cmd.n}`;
        return accept(`${what}; automatic scaling is paused until \`autoscale resume\``);
      }
      case 'scale-by': {
        if (this.#refreshing) return refuse('a refresh is in progress');
        const from = lab.desired();
        const to = from + cmd.delta;
        if (to > max) return refuse(`already at max ${max}: not scaling out`);
        if (to < min) return refuse(`already at min ${min}: not scaling in`);
        lab.scaleTo(to, `manual scale-${cmd.delta > 0 ? 'out' : 'in'}${source === 'web' ? ` via ${via(source)}` : ''}`);
        return accept(`scaling ${from} → ${to}`);
      }
      case 'pause':
        if (lab.paused()) return accept('automatic scaling was already paused');
        lab.setPaused(true);
        return accept(`automatic scaling paused (manual scale still works; ${source === 'dashboard' ? 'p' : source === 'web' ? 'Resume' : '`autoscale resume`'} resumes)`);
      case 'resume':
        if (!lab.paused()) return accept('automatic scaling was not paused');
        lab.setPaused(false);
        return accept('automatic scaling resumed');
      case 'toggle-pause':
        return this.command({ cmd: lab.paused() ? 'resume' : 'pause' }, source, progress);
      case 'refresh':
        return this.#refresh(cmd.minHealthy, source, name, progress, accept, refuse);
      case 'stop': {
        const n = lab.counts().live;
        progress(`stopping the lab: draining and stopping ${n} worker${n === 1 ? '' : 's'}…`);
        this.#event(name, source, true, 'stopping: draining and stopping every worker');
        // The stop reason is printed as is, e.g. 'autoscale ran 4 s (quit from the dashboard)'.
        const forced = await lab.stop(source === 'dashboard' ? 'quit from the dashboard' : `asked to stop via ${via(source)}`);
        return { ok: true, message: `lab stopped; ${forced} worker${forced === 1 ? '' : 's'} needed SIGKILL`, data: { forced } };
      }
      case 'signal': {
        const w = lab.workers().find((x) => x.id === cmd.id);
        // Any state with a process (booting included, whatever later states add); not one that has none.
        const live = w !== undefined && w.pid !== undefined && w.state !== 'exited' && w.state !== 'crashed' && w.state !== 'backoff';
        if (!live) return refuse(`worker ${cmd.id} is not running${w === undefined ? '' : ` (it is ${w.state})`}: nothing to signal`, 'AS_ERR_USAGE');
        try {
          process.kill(w.pid!, cmd.signal);
        } catch (err) {
          return refuse(`could not send ${cmd.signal} to worker ${cmd.id} (pid ${w.pid}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
        return accept(`sent ${cmd.signal} to worker ${cmd.id} (pid ${w.pid}): ${SIGNAL_EFFECT[cmd.signal]}`);
      }
    }
  }

  status(): LabStatus {
    const lab = this.#lab;
    const now = lab.now();
    const counts = lab.counts();
    const tick = this.#lastTick;
    return {
      pid: process.pid,
      runDir: lab.runDir,
      balancerUrl: lab.balancerUrl(),
      metricsUrl: lab.metricsUrl(),
      startedAt: lab.startedAt(),
      uptimeMs: Math.round(now),
      settings: lab.settings,
      paused: lab.paused(),
      refreshing: this.#refreshing,
      desired: lab.desired(),
      running: counts.live,
      ready: counts.ready,
      held: lab.held(),
      workers: lab.workers().map((w) => ({
        id: w.id,
        port: w.port,
        pid: w.pid,
        state: w.state,
        healthy: w.healthy,
        uptimeMs: Math.round(now - w.startedAt),
        restarts: w.restarts,
        rps: w.rps,
        inFlight: w.inFlight,
        cpu: w.cpu,
      })),
      lastDecision: tick === null ? null : { t: tick.t, action: tick.action, reason: tick.reason },
      ...((lab.settings.alarms ?? []).length > 0 && lab.alarms ? { alarms: lab.alarms().map((a, i) => ({ ...a, rule: describeRule(lab.settings.alarms![i]) })) } : {}),
    };
  }

  async #refresh(
    minHealthy: number,
    source: CommandSource,
    name: string,
    progress: (message: string) => void,
    accept: (m: string, d?: unknown) => CommandResult,
    refuse: (m: string, code?: ErrorCode) => CommandResult,
  ): Promise<CommandResult> {
    const lab = this.#lab;
    if (this.#refreshing) return refuse('a refresh is already in progress');
    const total = lab.counts().live;
    if (total === 0) return accept('nothing to refresh: no workers are running');
    this.#refreshing = true;
    this.#event(name, source, true, `rolling replacement of ${total} worker${total === 1 ? '' : 's'} started`);
    lab.holdScaling(REFRESH_HOLD);
    let lowestReady = lab.counts().ready;
    const watch = (e: TickEvent) => void (lowestReady = Math.min(lowestReady, e.ready));
    lab.on('tick', watch);
    const t0 = performance.now();
    const say = (phase: 'started' | 'progress' | 'done' | 'failed', replaced: number, detail: string) => {
      lab.publish({ type: 'refresh', t: lab.now(), phase, replaced, total, detail });
      // The outcome itself is the command's result line; progress lines are what comes before it.
      if (phase === 'started' || phase === 'progress') progress(phase === 'progress' ? `${replaced}/${total}: ${detail}` : `refresh started: ${detail}`);
    };
    let replaced = 0;
    try {
      const target = lab.refreshTarget();
      const r = await rollingRefresh(
        {
          ...target,
          retire: async (id, why) => {
            await target.retire(id, why);
            lowestReady = Math.min(lowestReady, lab.counts().ready);
          },
        },
        minHealthy,
        (n, message) => {
          replaced = n;
          say(n === 0 ? 'started' : 'progress', n, message);
        },
      );
      const detail = `${r.replaced} of ${r.total} worker${r.total === 1 ? '' : 's'} replaced in ${((performance.now() - t0) / 1000).toFixed(1)} s; ready workers never fewer than ${lowestReady}`;
      say('done', r.replaced, detail);
      return { ok: true, message: `refresh done: ${detail}`, data: { replaced: r.replaced, total: r.total, lowestReady } };
    } catch (err) {
      const message = (err as Error).message;
      say('failed', replaced, message);
      return { ok: false, code: 'AS_ERR_REFRESH_FAILED', message: `refresh failed after ${replaced}/${total}: ${message}` };
    } finally {
      this.#refreshing = false;
      lab.holdScaling(null);
      lab.off('tick', watch);
    }
  }

  #event(command: string, source: CommandSource, ok: boolean, message: string): void {
    this.#lab.publish({ type: 'command', t: this.#lab.now(), command, source, ok, message });
  }
}
