/**
 * Alarm notifications, at the edge: every 'alarm' event goes to `--on-alarm`
 * (a shell command: the transition in AUTOSCALE_ALARM_* variables and as JSON
 * on stdin) and/or `--alarm-webhook` (the same JSON POSTed). The JSON is the
 * message CloudWatch publishes to an SNS topic (AlarmName, NewStateValue,
 * NewStateReason, StateChangeTime, Trigger…) plus the lab's datapoints.
 *
 * Never in the tick's way: a notification is queued and started after the
 * tick's events are out; each is bounded in time (the command is killed,
 * process group and all, the request aborted), at most MAX_IN_FLIGHT run per
 * channel and MAX_QUEUED wait (more are skipped), and how it went is one
 * 'notify' event — a failing notifier is reported, never fatal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'undici';
import type { AlarmEvent, LabEvent, LabEvents } from '../events.js';
import { COMPARISON_OPERATORS, statisticOf, type AlarmRule } from '../alarms/rule.js';
import type { NotifyOptions } from '../settings/alarms.js';

/** A notifier gets this long, then the command is killed (SIGTERM, SIGKILL 1 s later) or the request aborted. */
export const NOTIFY_TIMEOUT_MS = 10_000;
/** Notifications running at once per channel; more wait in a queue. */
export const MAX_IN_FLIGHT = 4;
/** Notifications waiting per channel; one more is skipped and reported (a flapping alarm cannot pile up processes). */
export const MAX_QUEUED = 32;
/** Bytes of a failing command's stderr kept for its 'notify' line. */
const STDERR_KEPT = 300;

/** The JSON a notifier receives: CloudWatch's SNS alarm message, plus the lab's own fields. */
export function alarmMessage(e: AlarmEvent, rule: AlarmRule | undefined, startedAt: number | null): Record<string, unknown> {
  const at = startedAt === null ? null : new Date(startedAt + e.t).toISOString();
  return {
    AlarmName: e.alarm,
    AlarmDescription: e.rule,
    NewStateValue: e.to,
    OldStateValue: e.from,
    NewStateReason: e.reason,
    StateChangeTime: at,
    Trigger: rule
      ? {
          MetricName: rule.metric,
          Namespace: 'autoscale/lab',
          Statistic: statisticOf(rule),
          Period: rule.period,
          EvaluationPeriods: rule.evaluationPeriods,
          DatapointsToAlarm: rule.datapointsToAlarm,
          ComparisonOperator: COMPARISON_OPERATORS[rule.comparison],
          Threshold: rule.threshold,
          TreatMissingData: rule.treatMissingData,
        }
      : null,
    labTimeMs: Math.round(e.t),
    datapoints: e.datapoints,
  };
}

/** The transition as environment variables for `--on-alarm`. */
export function alarmEnv(e: AlarmEvent, startedAt: number | null): Record<string, string> {
  const newest = e.datapoints.length === 0 ? null : e.datapoints[e.datapoints.length - 1].value;
  return {
    AUTOSCALE_ALARM_NAME: e.alarm,
    AUTOSCALE_ALARM_STATE: e.to,
    AUTOSCALE_ALARM_PREVIOUS_STATE: e.from,
    AUTOSCALE_ALARM_REASON: e.reason,
    AUTOSCALE_ALARM_METRIC: e.metric,
    AUTOSCALE_ALARM_THRESHOLD: String(e.threshold),
    AUTOSCALE_ALARM_VALUE: newest === null ? '' : String(newest),
    AUTOSCALE_ALARM_TIME: startedAt === null ? '' : new Date(startedAt + e.t).toISOString(),
  };
}

export interface NotifierDeps {
  events: LabEvents;
  rules: readonly AlarmRule[];
  now: () => number;
  /** The environment a command inherits (process.env). */
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export class AlarmNotifier {
  readonly #deps: NotifierDeps;
  readonly #opts: NotifyOptions;
  readonly #timeoutMs: number;
  #startedAt: number | null = null;
  readonly #children = new Set<ChildProcess>();
  readonly #requests = new Set<AbortController>();
  /** Per channel: notifications running, and those waiting for a slot. */
  readonly #running = { command: 0, webhook: 0 };
  readonly #queue: Record<'command' | 'webhook', Array<{ e: AlarmEvent; run: () => Promise<void> }>> = { command: [], webhook: [] };
  readonly #pending = new Set<Promise<void>>();
  #closed = false;
  readonly #onEvent = (e: LabEvent) => {
    if (e.type === 'started') this.#startedAt = e.startedAt;
    if (e.type === 'alarm' && !this.#closed) this.#notify(e);
  };

  constructor(deps: NotifierDeps, opts: NotifyOptions) {
    this.#deps = deps;
    this.#opts = opts;
    this.#timeoutMs = deps.timeoutMs ?? NOTIFY_TIMEOUT_MS;
    deps.events.on('event', this.#onEvent);
  }

  /** Resolves once every notification given so far has run (or been skipped). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /**
   * Stop listening. Notifications already given start (up to MAX_IN_FLIGHT per channel) and get until their own
   * deadline; those still waiting for a slot are dropped, each said: stopping never takes longer than one deadline.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#deps.events.off('event', this.#onEvent);
    await new Promise((resolve) => setImmediate(resolve));
    for (const channel of ['command', 'webhook'] as const) {
      for (const { e } of this.#queue[channel].splice(0)) this.#report(e, channel, false, 'skipped: the lab stopped before its turn');
    }
    await this.settled();
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #report(e: AlarmEvent, channel: 'command' | 'webhook', ok: boolean, detail: string): void {
    this.#deps.events.publish({ type: 'notify', t: this.#deps.now(), alarm: e.alarm, to: e.to, channel, ok, detail });
  }

  #notify(e: AlarmEvent): void {
    const rule = this.#deps.rules.find((r) => r.name === e.alarm);
    const body = JSON.stringify(alarmMessage(e, rule, this.#startedAt));
    const command = this.#opts.command;
    const webhook = this.#opts.webhook;
    if (command !== null) this.#enqueue(e, 'command', () => this.#runCommand(e, command, body));
    if (webhook !== null) this.#enqueue(e, 'webhook', () => this.#post(e, webhook, body));
  }

  #enqueue(e: AlarmEvent, channel: 'command' | 'webhook', run: () => Promise<void>): void {
    const queue = this.#queue[channel];
    if (queue.length >= MAX_QUEUED) {
      this.#report(e, channel, false, `skipped: ${MAX_QUEUED} notifications already waiting`);
      return;
    }
    queue.push({ e, run });
    // After the current publish: the alarm's own line (and the tick's) come before any notify line.
    this.#track(new Promise<void>((resolve) => setImmediate(() => resolve(this.#drain(channel)))));
  }

  async #drain(channel: 'command' | 'webhook'): Promise<void> {
    const started: Array<Promise<void>> = [];
    while (this.#running[channel] < MAX_IN_FLIGHT && this.#queue[channel].length > 0) {
      const { run } = this.#queue[channel].shift()!;
      this.#running[channel]++;
      const p = run().finally(() => {
        this.#running[channel]--;
        // A slot is free: the next waiting one goes (tracked, so close() waits for it too).
        if (this.#queue[channel].length > 0) this.#track(this.#drain(channel));
      });
      started.push(p);
    }
    await Promise.all(started);
  }

  #runCommand(e: AlarmEvent, command: string, body: string): Promise<void> {
    const started = performance.now();
    return new Promise<void>((resolve) => {
      let child: ChildProcess;
      try {
        // Its own process group, so a timeout kills what the shell started too.
        child = spawn('/bin/sh', ['-c', command], { env: { ...this.#deps.env, ...alarmEnv(e, this.#startedAt) }, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
      } catch (err) {
        this.#report(e, 'command', false, `could not start: ${(err as Error).message}`);
        resolve();
        return;
      }
      this.#children.add(child);
      let stderr = '';
      let timedOut = false;
      let spawnError: string | null = null;
      child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEPT)));
      // A command that does not read its stdin closes the pipe: that is its business, not an error.
      child.stdin?.on('error', () => {});
      child.stdin?.end(body);
      const kill = (signal: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      };
      let force: NodeJS.Timeout | null = null;
      const timer = setTimeout(() => {
        timedOut = true;
        kill('SIGTERM');
        force = setTimeout(() => kill('SIGKILL'), 1000);
        force.unref();
      }, this.#timeoutMs);
      timer.unref();
      child.on('error', (err) => (spawnError = err.message));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (force) clearTimeout(force);
        // Anything the shell left behind in its group goes with it.
        kill('SIGKILL');
        this.#children.delete(child);
        const ms = `${Math.round(performance.now() - started)} ms`;
        const tail = stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').slice(-1)[0]}`;
        if (spawnError !== null) this.#report(e, 'command', false, `could not start: ${spawnError}`);
        else if (timedOut) this.#report(e, 'command', false, `timed out after ${this.#timeoutMs / 1000} s (killed)${tail}`);
        else if (code === 0) this.#report(e, 'command', true, `exit 0 in ${ms}`);
        else this.#report(e, 'command', false, `${code === null ? `killed by ${signal}` : `exit ${code}`} in ${ms}${tail}`);
        resolve();
      });
    });
  }

  async #post(e: AlarmEvent, url: URL, body: string): Promise<void> {
    const started = performance.now();
    const abort = new AbortController();
    this.#requests.add(abort);
    const timer = setTimeout(() => abort.abort(), this.#timeoutMs);
    timer.unref();
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'autoscale-alarms' },
        body,
        signal: abort.signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
      const ms = `${Math.round(performance.now() - started)} ms`;
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      this.#report(e, 'webhook', ok, `HTTP ${res.statusCode} from ${url.origin} in ${ms}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = abort.signal.aborted ? `no answer within ${this.#timeoutMs / 1000} s (aborted)` : (code ?? (err as Error).message);
      this.#report(e, 'webhook', false, `${url.origin}: ${why}`);
    } finally {
      clearTimeout(timer);
      this.#requests.delete(abort);
    }
  }
}
