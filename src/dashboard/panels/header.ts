/** The header panel: status, settings and the latest decision, each on one line. */
import { formatClock, formatRelative, formatSetting, truncate } from '../../format.js';
import { metricDisplay } from '../metric-display.js';
import type { DashboardState } from '../state.js';
import { usesTargetRule } from '../../policy/rules.js';
import { stepSpecs } from '../../policy/step-scaling.js';
import { ALARM_METRICS, fmtNumber } from '../../alarms/rule.js';

/** Greedily pack segments into at most `maxLines` lines of `width`, joined by " · "; overflow is cut with "…". */
export function packSegments(segments: readonly string[], width: number, maxLines: number): string[] {
  const sep = ' · ';
  const lines: string[] = [];
  let current = '';
  for (const segment of segments) {
    const candidate = current === '' ? segment : `${current}${sep}${segment}`;
    if (candidate.length <= width || current === '') {
      current = candidate;
      continue;
    }
    lines.push(current);
    current = segment;
  }
  if (current !== '') lines.push(current);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = truncate(`${kept[maxLines - 1]} …`, width);
    return kept.map((l) => truncate(l, width));
  }
  return lines.map((l) => truncate(l, width));
}

/**
 * The header, three lines (four with the live page's URL): status (autoscaling on/paused, elapsed, balancer
 * URL, policy), the settings (thresholds, min/max, interval, cooldown), and the
 * latest decision with its reason. Each fits 80 columns with default settings.
 */
export function headerLines(state: DashboardState, width: number, webUrl: string | null = null): string[] {
  // With the live page on, a fourth line carries its URL (with its token): what the lecturer opens on the projector.
  const web = webUrl === null ? [] : [truncate(`live page ${webUrl}`, width)];
  if (!state.lab) return [truncate('autoscale · waiting for the lab to start…', width), '', '', ...web];
  const { config, balancerUrl } = state.lab;
  const status = state.stopped ? 'lab STOPPED' : state.paused ? 'autoscaling PAUSED' : 'autoscaling on';
  const statusLine = packSegments([status, `elapsed ${formatClock(state.now)}`, balancerUrl, `${config.policy} on ${config.metric}`], width, 1);
  const { unit } = metricDisplay(config.metric);
  const steps = config.policy === 'step' ? config.stepScaling : null;
  const policySegments =
    usesTargetRule(config.policy)
      ? [`target ${formatSetting(config.target)}${unit} ±${formatSetting(config.tolerance * 100)} %`]
      : config.policy === 'step'
        ? [steps?.out ? `out ${stepSpecs(steps.out).join(' ')}` : 'no scale-out', steps?.in ? `in ${stepSpecs(steps.in).join(' ')}` : 'no scale-in']
        : [`scale up > ${formatSetting(config.scaleUp)}${unit}`, `down < ${formatSetting(config.scaleDown)}${unit}`];
  const timing =
    usesTargetRule(config.policy)
      ? [`scale-in window ${formatSetting(config.scaleDownWindow)} s`]
      : config.policy === 'step'
        ? []
        : [`cooldown ${formatSetting(config.cooldown)} s`];
  // Said once in the log at start (a 'busy-host' hint), kept in sight here: the host was too busy to scale in before any load.
  const busy = state.busyHost === true ? ['busy host: try --metric worker-cpu'] : [];
  const settingsLine = packSegments(
    [...policySegments, `min ${config.min}`, `max ${config.max}`, `interval ${formatSetting(config.interval)} s`, ...timing, `warm-up ${formatSetting(config.warmup)} s`, ...busy],
    width,
    1,
  );
  const decision = state.decision
    ? `last decision ${formatRelative(state.decision.t)}: ${state.decision.reason}`
    : 'last decision: none yet (first tick pending)';
  return [statusLine[0], settingsLine[0], truncate(decision, width), ...web];
}

/** One alarm on the alarm line: its words and its tone (ALARM red, OK green, INSUFFICIENT_DATA grey). */
export interface AlarmSegment {
  text: string;
  tone: 'alarm' | 'ok' | 'unknown';
}

/**
 * The alarm line under the header (absent without alarms): "alarms  5xx ALARM 12 · p95 OK 230 ms …",
 * each alarm's state and newest datapoint, cut to `width` (a cut alarm keeps its name and state).
 */
export function alarmSegments(state: DashboardState, width: number): AlarmSegment[] | null {
  const alarms = state.alarms ?? [];
  if (alarms.length === 0) return null;
  const config = state.lab?.config.alarms ?? [];
  const out: AlarmSegment[] = [{ text: 'alarms ', tone: 'unknown' }];
  let used = out[0].text.length;
  for (const a of alarms) {
    const rule = config.find((r) => r.name === a.name);
    const unit = rule ? ALARM_METRICS[rule.metric].unit : '';
    const value = a.value === null ? '' : ` ${fmtNumber(a.value)}${unit}`;
    const full = ` ${a.name} ${a.state === 'INSUFFICIENT_DATA' ? 'NO DATA' : a.state}${value} `;
    const short = ` ${a.name} ${a.state === 'INSUFFICIENT_DATA' ? '?' : a.state} `;
    const text = used + full.length + 1 <= width ? full : used + short.length + 1 <= width ? short : null;
    if (text === null) {
      if (used + 2 <= width) out.push({ text: ' …', tone: 'unknown' });
      break;
    }
    out.push({ text, tone: a.state === 'ALARM' ? 'alarm' : a.state === 'OK' ? 'ok' : 'unknown' });
    used += text.length + 1;
  }
  return out;
}
