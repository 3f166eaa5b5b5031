/**
 * What `autoscale start` prints once it has stopped (after the dashboard has
 * restored the screen): a few lines that say what the run did, folded purely
 * from the lab's event stream.
 */
import type { LabEvent } from '../events.js';
import { formatCount, formatDuration, plural } from '../format.js';

export interface RunSummary {
  /** ms from 'started' to the last event seen ('stopped' at the end). */
  durationMs: number;
  requests: number;
  errors: number;
  peakInstances: number;
  scaleOut: number;
  scaleIn: number;
  manual: number;
  stopReason: string | null;
  forced: number;
  /** Workers that crashed (exited on their own, unasked). */
  crashed: number;
  /** Workers whose port another process took before they could bind it (moved to another port: no crash). */
  portTaken: number;
}

export function emptySummary(): RunSummary {
  return { durationMs: 0, requests: 0, errors: 0, peakInstances: 0, scaleOut: 0, scaleIn: 0, manual: 0, stopReason: null, forced: 0, crashed: 0, portTaken: 0 };
}


/** Fold one event in. Never mutates `s`. */
export function foldSummary(s: RunSummary, e: LabEvent): RunSummary {
  // Every `t` is ms since the lab started.
  const durationMs = Math.max(s.durationMs, e.t);
  switch (e.type) {
    case 'tick':
      return {
        ...s,
        durationMs,
        requests: Math.max(s.requests, e.traffic.total),
        errors: Math.max(s.errors, e.traffic.errors),
        peakInstances: Math.max(s.peakInstances, e.instances),
      };
    case 'stats':
      return { ...s, durationMs, requests: Math.max(s.requests, e.traffic.total), errors: Math.max(s.errors, e.traffic.errors) };
    case 'scale':
      return {
        ...s,
        durationMs,
        scaleOut: s.scaleOut + (e.direction === 'out' ? 1 : 0),
        scaleIn: s.scaleIn + (e.direction === 'in' ? 1 : 0),
        manual: s.manual + (e.manual ? 1 : 0),
      };
    case 'stopped':
      return { ...s, durationMs, stopReason: e.reason, forced: e.forced };
    case 'worker':
      return { ...s, durationMs, crashed: s.crashed + (e.state === 'crashed' ? 1 : 0), portTaken: s.portTaken + (e.portTaken === true ? 1 : 0) };
    default:
      return { ...s, durationMs };
  }
}

export interface SummaryPlace {
  runDir: string;
  /** false with --no-record: nothing to render a report from. */
  recorded: boolean;
}

/** The lines printed at exit. */
export function summaryLines(s: RunSummary, place: SummaryPlace): string[] {
  const errorShare = s.requests > 0 && s.errors > 0 ? ` (${formatCount((s.errors / s.requests) * 100, 1)} %)` : '';
  const actions = s.scaleOut + s.scaleIn;
  const detail = actions > 0 ? ` (${s.scaleOut} out, ${s.scaleIn} in${s.manual > 0 ? `, ${s.manual} manual` : ''})` : '';
  const lines = [
    `autoscale ran ${formatDuration(s.durationMs / 1000)}${s.stopReason ? ` (${s.stopReason})` : ''}`,
    `  requests      ${formatCount(s.requests)}, errors ${formatCount(s.errors)}${errorShare}`,
    `  instances     peak ${s.peakInstances}, ${plural(actions, 'scale action')}${detail}${s.forced > 0 ? `, ${plural(s.forced, 'worker')} needed SIGKILL` : ''}`,
  ];
  // Crashes and port collisions are counted apart: a port another process took is no crash of the worker.
  const trouble = [
    ...(s.crashed > 0 ? [`${plural(s.crashed, 'worker')} crashed`] : []),
    ...(s.portTaken > 0 ? [`${plural(s.portTaken, 'port')} taken by another process (${s.portTaken === 1 ? 'that worker moved' : 'those workers moved'} to another port)`] : []),
  ];
  if (trouble.length > 0) lines.push(`  workers       ${trouble.join(', ')}`);
  lines.push(`  run directory ${place.runDir}${place.recorded ? '' : ' (worker logs only: --no-record)'}`);
  if (place.recorded) lines.push(`  report        autoscale report ${place.runDir}`);
  return lines;
}
