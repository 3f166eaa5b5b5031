/** `autoscale status` as text. Pure: returns the lines. */
import { formatClock, formatPercent } from '../format.js';
import type { LabStatus } from './operator.js';
import { fmtNumber } from '../alarms/rule.js';
import { usesTargetRule } from '../policy/rules.js';
import { describeStepScaling } from '../policy/step-scaling.js';

export function formatStatus(s: LabStatus): string {
  const c = s.settings;
  const policy =
    usesTargetRule(c.policy)
      ? `target policy on ${c.metric}: hold ${c.target} per worker ± ${c.tolerance * 100} %, scale-in window ${c.scaleDownWindow} s`
      : c.policy === 'step'
        ? `step policy on ${c.metric}: ${describeStepScaling(c.stepScaling)}`
        : `threshold policy on ${c.metric}: out above ${c.scaleUp}, in below ${c.scaleDown}, cooldown ${c.cooldown} s`;
  const lines = [
    `lab pid ${s.pid}, up ${formatClock(s.uptimeMs)}, balancer ${s.balancerUrl}${s.metricsUrl ? `, metrics ${s.metricsUrl}` : ''}`,
    `run directory ${s.runDir}`,
    `${policy}; ${c.min}–${c.max} workers, tick ${c.interval} s, warm-up ${c.warmup} s${c.min === 0 ? `, scale to zero after ${c.idle} s idle` : ''}`,
    `automatic scaling ${s.paused ? 'PAUSED (autoscale resume)' : 'on'}${s.refreshing ? '; refresh in progress' : ''}`,
    `workers: ${s.running} running (${s.ready} ready), desired ${s.desired}${s.held > 0 ? `; ${s.held} requests held waiting for a worker` : ''}`,
    `last decision: ${s.lastDecision === null ? 'none yet' : `+${formatClock(s.lastDecision.t)} ${s.lastDecision.action}: ${s.lastDecision.reason}`}`,
  ];
  for (const a of s.alarms ?? []) {
    const value = a.value === null ? 'no datapoint' : `newest datapoint ${fmtNumber(a.value)}`;
    lines.push(`alarm ${a.name}: ${a.state} since +${formatClock(a.since)} (${value}); ${a.rule}`);
    lines.push(`  ${a.reason}`);
  }
  if (s.workers.length > 0) {
    const rows = [['id', 'port', 'pid', 'state', 'health', 'uptime', 'restarts', 'req/s', 'in flight', 'cpu %']];
    for (const w of s.workers) {
      rows.push([
        String(w.id),
        w.port > 0 ? String(w.port) : '–',
        w.pid === undefined ? '–' : String(w.pid),
        w.state,
        w.healthy ? 'healthy' : 'unhealthy',
        formatClock(w.uptimeMs),
        String(w.restarts),
        w.rps >= 10 ? w.rps.toFixed(0) : w.rps.toFixed(1),
        String(w.inFlight),
        formatPercent(w.cpu),
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    lines.push('', ...rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()));
  }
  return lines.join('\n');
}
