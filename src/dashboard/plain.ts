/**
 * The headless views of `autoscale start`: one plain line per tick and per
 * event (stdout not a TTY, or --no-dashboard), or one JSON object per line
 * (--json). Pure formatters; the 'stats' heartbeat is for live views only.
 */
import type { LabEvent } from '../events.js';
import { formatValue, METRICS } from '../policy/metrics.js';
import { formatCount, formatMs, formatPercent, formatRelative } from './format.js';

export function formatPlainLine(e: LabEvent): string | null {
  const at = formatRelative(e.t);
  switch (e.type) {
    case 'started': {
      const c = e.config;
      return (
        `${at} started  balancer ${e.balancerUrl}  policy ${c.policy} on ${c.metric}: out above ${c.scaleUp} %, in below ${c.scaleDown} %, ` +
        `${c.min}–${c.max} workers from port ${c.basePort}, tick ${c.interval} s, cooldown ${c.cooldown} s  (daemon pid ${e.pid}, worker logs in ${e.runDir})`
      );
    }
    case 'tick': {
      const tr = e.traffic;
      const cpu = e.cpu === null ? 'cpu –' : `cpu ${formatPercent(e.cpu)} %`;
      const info = METRICS[e.metric];
      const metric = e.metric !== 'host-cpu' ? `  ${info.label} ${e.value === null ? '–' : formatValue(e.value, info.unit)}` : '';
      const warming = e.warming > 0 ? `, warming ${e.warming}` : '';
      return (
        `${at} tick     ${cpu}${metric}  instances ${e.instances} (ready ${e.ready}${warming}, desired ${e.desired})  ` +
        `rpm ${formatCount(tr.rpm)}  rps ${formatCount(tr.rps)}  p99 ${formatMs(tr.p99)}  ${e.action}: ${e.reason}`
      );
    }
    case 'scale':
      return `${at} scale    ${e.direction} ${e.from} → ${e.to}${e.manual ? ' (manual)' : ''}: ${e.reason}`;
    case 'worker': {
      const who = `worker ${e.id}${e.port ? ` :${e.port}` : ''}${e.pid !== undefined ? ` pid ${e.pid}` : ''}`;
      const change = e.from === null || e.from === e.state ? e.state : `${e.from} → ${e.state}`;
      return `${at} worker   ${who} ${change}${e.detail ? ` (${e.detail})` : ''}`;
    }
    case 'health':
      return `${at} health   worker ${e.id} :${e.port} ${e.healthy ? 'healthy' : 'unhealthy'} (${e.detail})`;
    case 'paused':
      return `${at} ${e.paused ? 'paused   autoscaling paused' : 'resumed  autoscaling resumed'}`;
    case 'stopped':
      return `${at} stopped  ${e.reason}; ${e.forced} worker${e.forced === 1 ? '' : 's'} needed SIGKILL`;
    case 'stats':
      return null;
  }
}

/** One NDJSON line: the event object itself (its fields are documented in the README). */
export function formatJsonLine(e: LabEvent): string | null {
  return e.type === 'stats' ? null : JSON.stringify(e);
}

