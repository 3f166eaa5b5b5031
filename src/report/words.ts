/**
 * The report's tables as rows of plain strings, shared by report.html and
 * report.md so both say the same thing in the same words. Pure.
 */
import { formatCount, formatDuration as duration, formatLocalTime as localTime, formatMoney as money, formatRelative } from '../format.js';
import type { RunModel } from './aggregate.js';

const count = (n: number) => formatCount(Math.round(n));

/** Seconds since lab start as the event log shows them: "+01:23", "+1:02:03". */
export function at(sec: number): string {
  return formatRelative(sec * 1000);
}

export function seconds(v: number): string {
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} s`;
}

export function summaryRows(m: RunModel): [string, string][] {
  const s = m.summary;
  const c = s.cost;
  const reactions = s.reactions.filter((r) => r.seconds !== null);
  const reaction =
    s.reactionMedianSec === null
      ? s.reactions.length === 0
        ? 'no scale-out threshold crossing'
        : `none measured (${s.reactions.length} crossing${s.reactions.length === 1 ? '' : 's'}, see below)`
      : `median ${seconds(s.reactionMedianSec)} over ${reactions.length} scale-out${reactions.length === 1 ? '' : 's'} (${reactions.map((r) => seconds(r.seconds!)).join(', ')})`;
  return [
    ['Started', localTime(m.startedAt)],
    ['Duration', duration(s.durationSec) + (m.stopped ? '' : ' (no clean stop recorded)')],
    ['Policy', `${m.settings.policy} on ${m.settings.metric}, ${m.settings.min}–${m.settings.max} workers`],
    ['Requests through the balancer', count(s.requests)],
    ['Errors', `${count(s.errors)}${s.requests > 0 ? ` (${((s.errors / s.requests) * 100).toFixed(2)} %)` : ''}`],
    ['Peak instances', `${s.peakInstances} (peak ready: ${s.peakReady})`],
    ['Reaction time (threshold crossed → added worker ready)', reaction],
    ['Worker-seconds used', `${count(s.workerSeconds)} s (${(s.workerSeconds / 3600).toFixed(3)} worker-hours)`],
    ['Estimated cost with autoscaling', money(c.actual, c.price.currency)],
    [`Cost of running --max ${m.settings.max} workers the whole run`, money(c.atMax, c.price.currency)],
    ['Saving', c.savingPercent === null ? '–' : `${money(c.saving, c.price.currency)} (${c.savingPercent.toFixed(1)} %)`],
    ['Price per worker-hour', `${c.price.currency} ${c.price.perHour} — ${c.price.source}`],
  ];
}

export const DECISION_HEADER = ['time', 'from → to', 'by', 'reason'];

export function decisionRows(m: Pick<RunModel, 'decisions'>): string[][] {
  return m.decisions.map((d) => [at(d.at), `${d.from} → ${d.to}`, d.manual ? 'manual' : 'policy', d.reason]);
}

export const REACTION_HEADER = ['threshold crossed', 'scaled out', 'worker ready', 'reaction time'];

export function reactionRows(m: RunModel): string[][] {
  return m.summary.reactions.map((r) => [at(r.crossedAt), r.scaledAt === null ? '–' : at(r.scaledAt), r.readyAt === null ? '–' : at(r.readyAt), r.seconds === null ? `– (${r.note})` : seconds(r.seconds)]);
}

export const VISITS_HEADER = ['worker', 'visits', 'share'];

/** One row per worker that acknowledged visits in this run. */
export function visitRows(m: RunModel): string[][] {
  return (m.visits?.byWorker ?? []).map((w) => [`worker ${w.worker}`, String(w.visits), `${w.share.toFixed(1)} %`]);
}

/** The sentence above the visits table. */
export function visitsIntro(m: RunModel): string {
  const v = m.visits!;
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
  } else {
    rows.push(['--target', String(c.target)], ['--tolerance', String(c.tolerance)], ['--scale-down-window', `${c.scaleDownWindow} s`], ['--max-step-pods / --max-step-percent', `${c.maxStepPods} / ${c.maxStepPercent} %`]);
  }
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
