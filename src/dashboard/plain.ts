/**
 * The headless views of `autoscale start`: one plain line per tick and per
 * event (stdout not a TTY, or --no-dashboard), or one JSON object per line
 * (--json). Pure formatters; events are worded by describe(), the same lines
 * the dashboard's event log shows; the 'stats' heartbeat is for live views only.
 */
import type { LabEvent, TickEvent } from '../events.js';
import { formatCount, formatLatency, formatPercent, formatRelative, formatValue, UNKNOWN } from '../format.js';
import { METRICS } from '../policy/metrics.js';
import { describe, eventLineText } from './describe.js';

function tickLine(e: TickEvent): string {
  const tr = e.traffic;
  const split = e.cpuSplit ? ` (lab ${formatPercent(e.cpuSplit.lab)} %, other ${formatPercent(e.cpuSplit.other)} %)` : '';
  const cpu = e.cpu === null ? `cpu ${UNKNOWN}` : `cpu ${formatPercent(e.cpu)} %${split}`;
  const info = METRICS[e.metric];
  const metric = e.metric !== 'host-cpu' ? `  ${info.label} ${e.value === null ? UNKNOWN : formatValue(e.value, info.unit)}` : '';
  const warming = e.warming > 0 ? `, warming ${e.warming}` : '';
  return (
    `tick     ${cpu}${metric}  instances ${e.instances} (ready ${e.ready}${warming}, desired ${e.desired})  ` +
    `rpm ${formatCount(tr.rpm)}  rps ${formatCount(tr.rps)}  p99 ${formatLatency(tr.p99)}  ${storeSegment(e)}${e.action}: ${e.reason}`
  );
}

/** "db down (worker 2: …)  " only when the store is down: a healthy store says nothing on every tick. */
function storeSegment(e: TickEvent): string {
  return e.store?.up === false ? `db ${e.store.kind} DOWN (${e.store.detail})  ` : '';
}

export function formatPlainLine(e: LabEvent): string | null {
  if (e.type === 'tick') return `${formatRelative(e.t)} ${tickLine(e)}`;
  const line = describe(e);
  return line === null ? null : `${formatRelative(e.t)} ${eventLineText(line)}`;
}

/** One NDJSON line: the event object itself (its fields are documented in docs/lab.md). */
export function formatJsonLine(e: LabEvent): string | null {
  return e.type === 'stats' ? null : JSON.stringify(e);
}
