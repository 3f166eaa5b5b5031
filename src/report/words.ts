/**
 * The report's tables as rows of plain strings, shared by report.html and
 * report.md so both say the same thing in the same words. Pure.
 */
import { formatCount, formatDuration as duration, formatFixed as fixed, formatLatency, formatLocalTime as localTime, formatMoney as money, formatRelative, plural } from '../format.js';
import type { RunModel } from './aggregate.js';
import { stepSpecs } from '../policy/step-scaling.js';

const count = (n: number) => formatCount(Math.round(n));

/** Seconds since lab start as the event log shows them: "+01:23", "+1:02:03". */
export function at(sec: number): string {
  return formatRelative(sec * 1000);
}

export function seconds(v: number): string {
  return `${fixed(v, v < 10 ? 1 : 0)} s`;
}

export function summaryRows(m: RunModel): [string, string][] {
  const s = m.summary;
  const c = s.cost;
  const crossings = s.reactions.filter((r) => r.trigger === 'metric');
  const reactions = crossings.filter((r) => r.seconds !== null);
  const reaction =
    s.reactionMedianSec === null
      ? crossings.length === 0
        ? 'no scale-out threshold crossing' + (m.settings.min === 0 ? ' with a worker running (at zero the metric drives nothing: see the cold starts)' : '')
        : `none measured (${crossings.length} crossing${crossings.length === 1 ? '' : 's'}, see below)`
      : `median ${seconds(s.reactionMedianSec)} over ${reactions.length} scale-out${reactions.length === 1 ? '' : 's'} (${reactions.map((r) => seconds(r.seconds!)).join(', ')})`;
  const cold = coldStartSummary(m);
  return [
    ['Started', localTime(m.startedAt)],
    ['Duration', duration(s.durationSec) + (m.stopped ? '' : ' (no clean stop recorded)')],
    ['Policy', `${m.settings.policy} on ${m.settings.metric}, ${m.settings.min}–${m.settings.max} workers`],
    ['Requests through the balancer', count(s.requests)],
    ['Errors', `${count(s.errors)}${s.requests > 0 ? ` (${fixed((s.errors / s.requests) * 100, 2)} %)` : ''}`],
    ['Peak instances', `${s.peakInstances} (peak ready: ${s.peakReady})`],
    ['Reaction time (threshold crossed → added worker ready)', reaction],
    ...(cold === null ? [] : [[COLD_START_ROW, cold] as [string, string]]),
    ['Worker-seconds used', `${count(s.workerSeconds)} s (${fixed(s.workerSeconds / 3600, 3)} worker-hours)`],
    ['Estimated cost with autoscaling', money(c.actual, c.price.currency)],
    [`Cost of running --max ${m.settings.max} workers the whole run`, money(c.atMax, c.price.currency)],
    ['Saving', c.savingPercent === null ? '–' : `${money(c.saving, c.price.currency)} (${fixed(c.savingPercent, 1)} %)`],
    ['Price per worker-hour', `${c.price.currency} ${c.price.perHour} — ${c.price.source}`],
    ...(s.hostCpu === null
      ? []
      : [['Host CPU (mean over the ticks)', `${s.hostCpu.mean.toFixed(0)} % (lab ${s.hostCpu.lab.toFixed(0)} %, other processes ${s.hostCpu.other.toFixed(0)} %)`] as [string, string]]),
    ...(s.busyHost === null ? [] : [['Busy host (the lab\'s hint at start)', s.busyHost] as [string, string]]),
  ];
}

export const DECISION_HEADER = ['time', 'from → to', 'by', 'reason'];

export function decisionRows(m: Pick<RunModel, 'decisions'>): string[][] {
  return m.decisions.map((d) => [at(d.at), `${d.from} → ${d.to}`, d.manual ? 'manual' : 'policy', d.reason]);
}

/** One row per alarm transition, in time order. */
export function alarmRows(m: Pick<RunModel, 'alarms'>): string[][] {
  return m.alarms
    .flatMap((a) => a.transitions.map((x) => ({ ...x, name: a.name })))
    .sort((a, b) => a.at - b.at)
    .map((x) => [at(x.at), x.name, `${x.from} → ${x.to}`, x.reason]);
}

export const REACTION_HEADER = ['cause', 'at', 'scaled out', 'worker ready', 'reaction time'];

/** The metric's crossings and the scales from zero (a request held with no worker), in time order. */
export function reactionRows(m: RunModel): string[][] {
  return m.summary.reactions.map((r) => [
    r.trigger === 'metric' ? 'threshold crossed' : 'request held at zero',
    at(r.crossedAt),
    r.scaledAt === null ? '–' : at(r.scaledAt),
    r.readyAt === null ? '–' : at(r.readyAt),
    r.seconds === null ? `– (${r.note})` : seconds(r.seconds),
  ]);
}

/** What the report says when no reaction was measured at all. */
export function noReactionText(m: RunModel): string {
  return m.settings.min === 0 ? 'The metric never crossed the scale-out threshold with a worker running, and no request arrived at zero.' : 'The metric never crossed the scale-out threshold.';
}

export const COLD_START_ROW = 'Cold starts (first held request → worker ready)';

/** The summary's cold-start figures, or null when the run held no request and could not scale to zero. */
export function coldStartSummary(m: RunModel): string | null {
  const all = m.summary.coldStarts;
  const zero = all.filter((c) => c.fromZero);
  if (all.length === 0) return m.settings.min === 0 ? 'none: no request arrived while the pool was at zero' : null;
  const waits = zero.map((c) => c.waitedMs).sort((a, b) => a - b);
  const median = waits.length === 0 ? null : waits.length % 2 === 1 ? waits[(waits.length - 1) / 2] : (waits[waits.length / 2 - 1] + waits[waits.length / 2]) / 2;
  const held = zero.reduce((a, c) => a + c.held, 0);
  const parts: string[] = [];
  if (zero.length > 0) {
    parts.push(
      `${plural(zero.length, 'scale')} from zero, median ${formatLatency(median)}` +
        (zero.length <= 10 ? ` (${zero.map((c) => formatLatency(c.waitedMs)).join(', ')})` : '') +
        `; ${plural(held, 'request')} held, the longest first wait ${formatLatency(waits[waits.length - 1])}`,
    );
  }
  const other = all.length - zero.length;
  if (other > 0) {
    const heldOther = all.filter((c) => !c.fromZero).reduce((a, c) => a + c.held, 0);
    parts.push(`${plural(other, 'other release')} of held requests (${plural(heldOther, 'request')}, no worker in rotation for a moment: no worker had to be started)`);
  }
  return parts.join('; ');
}

export const COLD_START_HEADER = ['released', 'held requests', 'first request waited', 'worker started for them'];

export function coldStartRows(m: RunModel): string[][] {
  return m.summary.coldStarts.map((c) => [at(c.at), count(c.held), formatLatency(c.waitedMs), c.fromZero ? 'yes (scale from zero)' : 'no (waited for one in rotation)']);
}

export const VISITS_HEADER = ['worker', 'visits', 'share'];

/** One row per worker that acknowledged visits in this run. */
export function visitRows(m: RunModel): string[][] {
  return (m.visits?.byWorker ?? []).map((w) => [`worker ${w.worker}`, count(w.visits), `${fixed(w.share, 1)} %`]);
}

/** Whether the visits table has anything to show: the load never touched /visits leaves every count at 0. */
export function hasVisits(m: RunModel): boolean {
  return m.visits !== null && m.visits.total > 0 && m.visits.byWorker.some((w) => w.visits > 0);
}

/** The sentence above the visits table (without a table when there were none). */
export function visitsIntro(m: RunModel): string {
  const v = m.visits!;
  if (!hasVisits(m)) return `No visits in this run: no worker acknowledged a POST /visits (the store was ${v.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'}, ${v.where}).`;
  const workers = v.byWorker.filter((w) => w.visits > 0).length;
  return `${v.total} visit${v.total === 1 ? '' : 's'} acknowledged in this run, served by ${workers} worker${workers === 1 ? '' : 's'}, stored in one shared ${v.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} database (${v.where}); counts ${v.source === 'stopped' ? 'as of the end of the run' : `as last reported ${v.source}`}.`;
}

export function highlightRows(m: RunModel): string[][] {
  return m.highlights.map((h) => [at(h.at), h.what, h.detail]);
}

export function settingsRows(m: Pick<RunModel, 'settings' | 'balancerUrl' | 'pid' | 'counts' | 'stopped'>): [string, string][] {
  const c = m.settings;
  const rows: [string, string][] = [
    ['--metric', c.metric],
    ['--policy', c.policy],
    ['--min / --max', `${c.min} / ${c.max}`],
  ];
  if (c.policy === 'threshold') {
    rows.push(['--scale-up / --scale-down', `${c.scaleUp} / ${c.scaleDown}`], ['--cooldown', `${c.cooldown} s`]);
  } else if (c.policy === 'step') {
    const s = c.stepScaling;
    for (const direction of ['out', 'in'] as const) {
      const p = s?.[direction];
      if (p) rows.push([`--step-${direction}`, `${stepSpecs(p).join(' ')} (${p.adjustmentType}; alarm ${p.alarm.name}: ${p.alarm.datapointsToAlarm} of ${p.alarm.evaluationPeriods})`]);
    }
  } else {
    rows.push(['--target', String(c.target)], ['--tolerance', String(c.tolerance)], ['--scale-down-window', `${c.scaleDownWindow} s`], ['--max-step-pods / --max-step-percent', `${c.maxStepPods} / ${c.maxStepPercent} %`]);
  }
  // --policy predictive: what its forecast learned from (docs/forecasts.md).
  if (c.history !== undefined) rows.push(['--history', c.history], ['--season', `${c.season ?? 86_400} s${c.historyScale !== undefined ? `, history × ${c.historyScale}` : ''}`]);
  rows.push(
    ['--interval', `${c.interval} s`],
    ['--warmup', `${c.warmup} s`],
    ['--work', `${c.work} ms per request`],
    ['balancer', m.balancerUrl],
    ['--base-port', String(c.basePort)],
    ['daemon pid', String(m.pid)],
    ['recorded', `${m.counts.ticks} ticks, ${m.counts.stats} stats lines, ${m.counts.loadLines} load lines`],
  );
  if (m.stopped) rows.push(['stopped', `${m.stopped.reason}; ${m.stopped.forced} worker${m.stopped.forced === 1 ? '' : 's'} needed SIGKILL`]);
  return rows;
}

/** The most rows one table of the report shows (a run with 100,000 crashes must not make a 100,000-row page). */
export const MAX_TABLE_ROWS = 1000;
/** The most notes shown at the top. */
export const MAX_NOTES = 50;

/** `rows` cut to MAX_TABLE_ROWS, the last row saying how many were left out. */
export function capRows(rows: string[][], width: number): string[][] {
  if (rows.length <= MAX_TABLE_ROWS) return rows;
  const left = rows.length - MAX_TABLE_ROWS;
  return [...rows.slice(0, MAX_TABLE_ROWS), [`… ${formatCount(left)} more row${left === 1 ? '' : 's'} left out (every one is in events.ndjson)`, ...Array<string>(Math.max(0, width - 1)).fill('')]];
}

/** The notes cut to MAX_NOTES, the last one saying how many were left out. */
export function capNotes(notes: readonly string[]): string[] {
  if (notes.length <= MAX_NOTES) return [...notes];
  return [...notes.slice(0, MAX_NOTES), `… and ${formatCount(notes.length - MAX_NOTES)} more notes`];
}
