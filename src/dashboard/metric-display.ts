/** How the metric that drives scaling reads on screen, and the policy's lines on its axis. */
import type { LabSettings } from '../events.js';
import { formatSetting } from '../format.js';
import { METRICS, type MetricName } from '../policy/metrics.js';
import { usesTargetRule } from '../policy/rules.js';

/** How a scaling metric reads on screen. */
export interface MetricDisplay { title: string; label: string; unit: string; percent: boolean }

/** Chart titles; labels and units come from the scaler's own metric table, so screen and reasons agree. */
const METRIC_TITLES: Record<MetricName, string> = {
  'host-cpu': 'CPU % (host)',
  'worker-cpu': 'Worker CPU % (avg)',
  rps: 'Req/s per worker',
  concurrency: 'In flight per worker',
  p95: 'p95 latency ms',
};

export function metricDisplay(metric: MetricName): MetricDisplay {
  const { label, unit } = METRICS[metric];
  return { title: METRIC_TITLES[metric], label, unit, percent: unit === ' %' };
}

/** The policy's decision lines on the metric's axis: thresholds, or the target with its tolerance band. */
export function policyLines(config: LabSettings): Array<{ title: string; color: string; value: number }> {
  const { unit } = metricDisplay(config.metric);
  const u = unit === ' %' ? '%' : unit;
  if (usesTargetRule(config.policy)) {
    const lines = [{ title: `target ${formatSetting(config.target)}${u}`, color: 'red', value: config.target }];
    if (config.tolerance > 0) {
      lines.push({ title: `±${formatSetting(config.tolerance * 100)}%`, color: 'blue', value: config.target * (1 + config.tolerance) });
      lines.push({ title: '', color: 'blue', value: config.target * (1 - config.tolerance) });
    }
    return lines;
  }
  if (config.policy === 'step') {
    // The two alarms' thresholds: at or above the first the scale-out alarm breaches, at or below the second the scale-in one.
    const s = config.stepScaling;
    return [
      ...(s?.out ? [{ title: `out ≥ ${formatSetting(s.out.alarm.threshold)}${u}`, color: 'red', value: s.out.alarm.threshold }] : []),
      ...(s?.in ? [{ title: `in ≤ ${formatSetting(s.in.alarm.threshold)}${u}`, color: 'blue', value: s.in.alarm.threshold }] : []),
    ];
  }
  return [
    { title: `up ${formatSetting(config.scaleUp)}${u}`, color: 'red', value: config.scaleUp },
    { title: `down ${formatSetting(config.scaleDown)}${u}`, color: 'blue', value: config.scaleDown },
  ];
}

