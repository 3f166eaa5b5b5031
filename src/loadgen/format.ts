import { formatCount as count, formatMs } from '../format.js';
import { describeProfile } from './profile.js';
import type { LoadSummary } from './summary.js';
import type { LoadLine } from '../runs/load-line.js';

/** The load generator's counts keep one decimal: 12345 -> "12,345"; 1234.5 -> "1,234.5". */
const formatCount = (value: number): string => count(value, 1);

function formatSeconds(sec: number): string {
  return `${Number.isInteger(sec) ? sec : sec.toFixed(1)} s`;
}

function list(record: Record<string, number>): string {
  return Object.entries(record)
    .map(([key, n]) => `${key}: ${formatCount(n)}`)
    .join(', ');
}

/** The end-of-run summary as text (what a terminal user reads). Prints nothing. */
export function formatSummary(s: LoadSummary): string {
  const lines: string[] = [];
  const unit = s.mode === 'open' ? 'req/s' : 'threads';
  const load =
    s.mode === 'open'
      ? `open loop, target ${formatCount(s.rate ?? 0)} req/s over up to ${s.threads} connections`
      : `closed loop, ${s.threads} threads`;
  const workers = s.workers > 0 ? `, ${s.workers} worker threads` : '';
  const ran = s.interrupted ? `interrupted after ${formatSeconds(s.elapsedSec)} of ${formatSeconds(s.durationSec)}` : formatSeconds(s.elapsedSec);
  lines.push(`${s.method} ${s.url}: ${load}${workers}, ${describeProfile(s.profile, unit)}, ${ran}`);
  lines.push('');

  const r = s.requests;
  let requests = `${formatCount(r.sent)} sent, ${formatCount(r.ok)} ok, ${formatCount(r.failed)} failed`;
  if (r.aborted > 0) requests += `, ${formatCount(r.aborted)} cancelled by the interrupt`;
  lines.push(`  Requests    ${requests}`);
  if (s.mode === 'open') {
    lines.push(
      `  Schedule    ${formatCount(r.scheduled)} due, ${formatCount(r.late)} sent late (>10 ms behind schedule), ${formatCount(r.unsent)} never sent`,
    );
  }

  const e = s.errors;
  if (e.total > 0) {
    const parts: string[] = [];
    for (const [cls, n] of Object.entries(e.http.byClass)) {
      const codes = Object.entries(e.http.byStatus)
        .filter(([status]) => `${status[0]}xx` === cls)
        .map(([status, count]) => `${status} x${formatCount(count)}`)
        .join(', ');
      parts.push(`HTTP ${cls} ${formatCount(n)} (${codes})`);
    }
    if (e.timeout > 0) parts.push(`timeout ${formatCount(e.timeout)}`);
    if (e.refused > 0) parts.push(`connection refused ${formatCount(e.refused)}`);
    if (e.reset > 0) parts.push(`connection reset ${formatCount(e.reset)}`);
    if (e.other > 0) parts.push(`other ${formatCount(e.other)}`);
    lines.push(`  Failures    ${parts.join(', ')}`);
    if (Object.keys(e.byCode).length > 0) lines.push(`  Error codes ${list(e.byCode)}`);
  } else {
    lines.push('  Failures    none');
  }

  const t = s.throughput;
  const perSecond = t.p50 === null || t.max === null ? 'no full second measured' : `per second: p50 ${formatCount(t.p50)}, max ${formatCount(t.max)}`;
  lines.push(`  Throughput  ${formatCount(t.mean)} req/s mean (${perSecond})`);

  const l = s.latencyMs;
  if (l === null) {
    lines.push('  Latency     no responses');
  } else {
    const co = s.mode === 'open' ? ', from scheduled send time' : '';
    lines.push(`  Latency     ms over ${formatCount(l.count)} responses${co}`);
    lines.push(`              min ${formatMs(l.min)}  mean ${formatMs(l.mean)}  stdev ${formatMs(l.stdev)}  max ${formatMs(l.max)}`);
    lines.push(
      `              p50 ${formatMs(l.p50)}  p90 ${formatMs(l.p90)}  p95 ${formatMs(l.p95)}  p99 ${formatMs(l.p99)}  p99.9 ${formatMs(l.p999)}`,
    );
  }

  if (s.mix !== null) {
    const part = (share: number, p: { request: string; sent: number; ok: number; failed: number }) =>
      `${formatCount(share)} % ${p.request}: ${formatCount(p.sent)} sent, ${formatCount(p.ok)} ok, ${formatCount(p.failed)} failed`;
    lines.push(`  Mix         ${part(100 - s.mix.percent, s.mix.main)}`);
    lines.push(`              ${part(s.mix.percent, s.mix.mixed)}`);
  }
  if (Object.keys(s.servedBy).length > 0) lines.push(`  Served by   ${list(s.servedBy)}`);
  return lines.join('\n') + '\n';
}

/** The live one-line progress shown on a TTY, from the latest line. */
export function formatProgress(sample: LoadLine, durationSec: number, totalErrors: number): string {
  const level = sample.mode === 'open' ? `target ${formatCount(sample.level)} req/s` : `${sample.level} threads`;
  const p99 = sample.p99 === null ? '-' : `${formatMs(sample.p99)} ms`;
  return `${sample.t.toFixed(0)}/${durationSec} s  ${formatCount(Math.round(sample.rps))} req/s  errors ${formatCount(totalErrors)}  p99 ${p99}  ${level}`;
}

/** One --out line: the line with the level under the name that says what it is (threads or targetRate), the mode implied by it. */
export function formatNdjsonLine(sample: LoadLine): string {
  const { level, t, at, mode, ...rest } = sample;
  const wall = at === null ? {} : { at };
  const line = mode === 'open' ? { t, ...wall, ...rest, targetRate: level } : { t, ...wall, ...rest, threads: level };
  return JSON.stringify(line) + '\n';
}
