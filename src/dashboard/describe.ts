/**
 * How every lab event reads, worded once: the dashboard's event log and the
 * plain log lines (`start` without a TTY, or --no-dashboard) both print
 * `describe(event)`. Ticks and the 1 s stats heartbeat are numbers, not
 * events: they return null here (the plain view prints its own tick line).
 */
import { INVALID_REQUEST } from '../control/operator.js';
import type { LabEvent, StoreStatus, WorkerState } from '../events.js';
import { plural } from '../format.js';
import { usesTargetRule } from '../policy/rules.js';
import { describeStepScaling } from '../policy/step-scaling.js';

export type LogLevel = 'info' | 'scale' | 'warn' | 'error';

export interface EventLine {
  /** What kind of thing happened, one word: the first column of the line. */
  kind: 'started' | 'scale' | 'worker' | 'health' | 'paused' | 'resumed' | 'stopped' | 'command' | 'refresh' | 'hold' | 'hint' | 'alarm' | 'notify';
  level: LogLevel;
  /** The rest of the line. */
  text: string;
}

/** "kind     text": the kind padded to one column, as both views print it. */
export function eventLineText(line: EventLine): string {
  return `${line.kind.padEnd(8)} ${line.text}`;
}

function workerLevel(state: WorkerState): LogLevel {
  if (state === 'crashed') return 'error';
  if (state === 'stopping' || state === 'draining' || state === 'backoff') return 'warn';
  return 'info';
}

export function describe(e: LabEvent): EventLine | null {
  switch (e.type) {
    case 'started': {
      const c = e.config;
      const mode = c.balancer === 'l4' ? ' (L4: connections handed to workers)' : '';
      const rule = usesTargetRule(c.policy) ? `target ${c.target}` : c.policy === 'step' ? describeStepScaling(c.stepScaling) : `out above ${c.scaleUp} %, in below ${c.scaleDown} %`;
      const timing = usesTargetRule(c.policy) ? `scale-in window ${c.scaleDownWindow} s` : c.policy === 'step' ? `warm-up ${c.warmup} s` : `cooldown ${c.cooldown} s`;
      const boot = c.bootDelay !== undefined && c.bootDelay > 0 ? `, boot delay ${c.bootDelay} s` : '';
      return {
        kind: 'started',
        level: 'info',
        text:
          `balancer ${e.balancerUrl}${mode}  policy ${c.policy} on ${c.metric}: ${rule}, ` +
          `${c.min}–${c.max} workers from port ${c.basePort}, tick ${c.interval} s, ${timing}${boot}  ` +
          `${e.store ? `visits in ${e.store.kind} ${e.store.where}  ` : ''}(daemon pid ${e.pid}, worker logs in ${e.runDir})`,
      };
    }
    case 'scale': {
      // A manual scale's reason is just "manual scale-out": do not say it twice.
      const reason = e.manual && /^manual\b/i.test(e.reason) ? '' : `: ${e.reason}`;
      return { kind: 'scale', level: 'scale', text: `${e.direction} ${e.from} → ${e.to}${e.manual ? ' (manual)' : ''}${reason}` };
    }
    case 'worker': {
      const who = `${e.id}${e.port ? ` :${e.port}` : ''}${e.pid !== undefined ? ` pid ${e.pid}` : ''}`;
      // 'starting' is announced once, when its process is forked: say so.
      const state = e.state === 'starting' && e.pid !== undefined ? 'forked' : e.state;
      const change = e.from === null || e.from === e.state ? state : `${e.from} → ${state}`;
      return { kind: 'worker', level: workerLevel(e.state), text: `${who} ${change}${e.detail ? ` (${e.detail})` : ''}` };
    }
    case 'health':
      return {
        kind: 'health',
        level: e.healthy ? 'info' : 'error',
        text: `worker ${e.id}${e.port ? ` :${e.port}` : ''} ${e.healthy ? 'healthy again' : 'unhealthy'}${e.detail ? ` (${e.detail})` : ''}`,
      };
    case 'paused':
      return e.paused ? { kind: 'paused', level: 'warn', text: 'autoscaling paused' } : { kind: 'resumed', level: 'warn', text: 'autoscaling resumed' };
    case 'stopped':
      return {
        kind: 'stopped',
        level: e.forced > 0 ? 'warn' : 'info',
        text: `${e.reason}; ${plural(e.forced, 'worker')} needed SIGKILL${visitsByWorker(e.store)}`,
      };
    case 'command':
      // Who asked: a dashboard key or a client of the control socket (`autoscale scale 4` in another terminal).
      if (e.command === INVALID_REQUEST) return { kind: 'command', level: 'warn', text: `invalid request on the ${e.source}, answered with an error: ${e.message}` };
      return { kind: 'command', level: e.ok ? 'scale' : 'warn', text: `${e.command} (manual via ${e.source})${e.ok ? '' : ' refused'}: ${e.message}` };
    case 'refresh':
      return { kind: 'refresh', level: e.phase === 'failed' ? 'error' : 'scale', text: `${e.phase === 'progress' ? `${e.replaced}/${e.total}` : e.phase}: ${e.detail}` };
    case 'cold-start': {
      const ms = `${Math.round(e.waitedMs)} ms`;
      const text = e.fromZero
        ? `cold start: first request waited ${ms} (${plural(e.held, 'request')} held while a worker started)`
        : `${plural(e.held, 'request')} held until a worker was ready: the first waited ${ms}`;
      return { kind: 'hold', level: 'warn', text };
    }
    case 'hint':
      return { kind: 'hint', level: 'warn', text: e.text };
    case 'alarm':
      return { kind: 'alarm', level: e.to === 'ALARM' ? 'error' : e.to === 'OK' ? 'info' : 'warn', text: `${e.alarm} ${e.from} → ${e.to}: ${e.reason}` };
    case 'notify':
      return { kind: 'notify', level: e.ok ? 'info' : 'warn', text: `${e.alarm} → ${e.to} via ${e.channel}${e.ok ? '' : ' failed'}: ${e.detail}` };
    case 'tick':
    case 'stats':
      return null;
  }
}

/** "; 240 visits: worker 1 80, worker 2 81, worker 3 79" (nothing when no visit was recorded). */
function visitsByWorker(store: StoreStatus | undefined): string {
  if (!store || store.visits === 0) return '';
  const parts = Object.entries(store.visitsByWorker).map(([id, n]) => `worker ${id} ${n}`);
  return `; ${plural(store.visits, 'visit')}: ${parts.join(', ')}`;
}
