import type { Histogram } from 'hdr-histogram-js';
import { isOkStatus, statusClass, classifyErrorCode } from './classify.js';
import type { Profile } from './profile.js';
import type { LoadLine } from '../runs/load-line.js';
import { emptyReport, mergeReport, sumCounts, type IntervalReport } from './report.js';

/** Everything a run has accumulated so far (the main thread owns it). */
export interface RunTotals {
  all: IntervalReport;
  /** One line a second (the last one partial): the unit of the live line and of --out. */
  seconds: LoadLine[];
}

export function newRunTotals(): RunTotals {
  return { all: emptyReport(), seconds: [] };
}

export function failuresOf(report: IntervalReport): number {
  return sumCounts(report.httpErrors) + sumCounts(report.transportErrors);
}

/** µs -> ms, rounded to the µs. */
function ms(us: number): number {
  return Math.round(us) / 1000;
}

function percentileMs(h: Histogram, p: number): number | null {
  return h.totalCount === 0 ? null : ms(h.getValueAtPercentile(p));
}

/**
 * Folds one interval (already merged across shards) into the totals and
 * returns its line. `t` is the time since start at the end of the interval,
 * `dt` its length in seconds, `level` the threads (closed loop) or target
 * rate (open loop) at its end, `at` the wall clock then (null: not recorded).
 */
export function addInterval(totals: RunTotals, interval: IntervalReport, t: number, dt: number, level: number, mode: 'closed' | 'open', at: number | null): LoadLine {
  const errors = failuresOf(interval);
  const sample: LoadLine = {
    t: Math.round(t * 1000) / 1000,
    at,
    dt: Math.round(dt * 1000) / 1000,
    sent: interval.sent,
    ok: interval.ok,
    errors,
    rps: dt > 0 ? Math.round(((interval.ok + errors) / dt) * 10) / 10 : 0,
    p50: percentileMs(interval.latency, 50),
    p99: percentileMs(interval.latency, 99),
    mode,
    level: Math.round(level * 100) / 100,
  };
  mergeReport(totals.all, interval);
  totals.seconds.push(sample);
  return sample;
}

export interface RunMeta {
  url: string;
  method: string;
  mode: 'closed' | 'open';
  profile: Profile;
  threads: number;
  rate: number | null;
  workers: number;
  timeoutMs: number;
  durationSec: number;
  elapsedSec: number;
  interrupted: boolean;
  /** --mix: what was mixed in and how much (absent or null: nothing); the summary reports it as `mix`. */
  mixIn?: { kind: string; request: string; percent: number } | null;
}

export interface LatencySummary {
  /** Responses whose latency was recorded (every request that got an HTTP response, any status). */
  count: number;
  min: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** The whole result of a run. This object is what --json prints; docs/load.md documents every field. */
export interface LoadSummary extends Omit<RunMeta, 'mixIn'> {
  requests: {
    sent: number;
    ok: number;
    failed: number;
    aborted: number;
    /** Open loop only (0 in closed loop). */
    scheduled: number;
    late: number;
    unsent: number;
  };
  errors: {
    total: number;
    http: { total: number; byClass: Record<string, number>; byStatus: Record<string, number> };
    timeout: number;
    refused: number;
    reset: number;
    other: number;
    byCode: Record<string, number>;
  };
  throughput: { mean: number; p50: number | null; max: number | null };
  latencyMs: LatencySummary | null;
  servedBy: Record<string, number>;
  /**
   * --mix: the split of the requests. `mixed` is the mixed-in request (e.g. POST /visits), `main` the
   * rest (the URL's request); each counts sent, ok (< 400) and failed (HTTP >= 400 or no response).
   * null without --mix.
   */
  mix: {
    percent: number;
    main: { request: string; sent: number; ok: number; failed: number };
    mixed: { kind: string; request: string; sent: number; ok: number; failed: number };
  } | null;
}

function sortedRecord(entries: Iterable<[string, number]>, byKey: boolean): Record<string, number> {
  const list = [...entries].filter(([, n]) => n > 0);
  list.sort(byKey ? (a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }) : (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return Object.fromEntries(list);
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The pure reduction from accumulated totals to the reported summary. */
export function summarize(totals: RunTotals, meta: RunMeta): LoadSummary {
  const all = totals.all;
  const byClass: Record<string, number> = {};
  let httpTotal = 0;
  for (const [status, n] of Object.entries(all.httpErrors)) {
    const code = Number(status);
    const cls = isOkStatus(code) ? 'other' : statusClass(code);
    byClass[cls] = (byClass[cls] ?? 0) + n;
    httpTotal += n;
  }
  const transport = { timeout: 0, refused: 0, reset: 0, other: 0 };
  for (const [code, n] of Object.entries(all.transportErrors)) transport[classifyErrorCode(code)] += n;
  const transportTotal = transport.timeout + transport.refused + transport.reset + transport.other;
  const failed = httpTotal + transportTotal;

  const fullSeconds = totals.seconds.filter((s) => s.dt >= 0.99).map((s) => s.rps).sort((a, b) => a - b);
  const h = all.latency;
  const latencyMs: LatencySummary | null =
    h.totalCount === 0
      ? null
      : {
          count: h.totalCount,
          min: ms(h.minNonZeroValue),
          mean: ms(h.mean),
          stdev: ms(h.stdDeviation),
          p50: ms(h.getValueAtPercentile(50)),
          p90: ms(h.getValueAtPercentile(90)),
          p95: ms(h.getValueAtPercentile(95)),
          p99: ms(h.getValueAtPercentile(99)),
          p999: ms(h.getValueAtPercentile(99.9)),
          max: ms(h.maxValue),
        };

  return {
    url: meta.url,
    method: meta.method,
    mode: meta.mode,
    profile: meta.profile,
    threads: meta.threads,
    rate: meta.rate,
    workers: meta.workers,
    timeoutMs: meta.timeoutMs,
    durationSec: meta.durationSec,
    elapsedSec: Math.round(meta.elapsedSec * 1000) / 1000,
    interrupted: meta.interrupted,
    requests: {
      sent: all.sent,
      ok: all.ok,
      failed,
      aborted: all.aborted,
      scheduled: meta.mode === 'open' ? all.sent + all.unsent : 0,
      late: all.late,
      unsent: all.unsent,
    },
    errors: {
      total: failed,
      http: {
        total: httpTotal,
        byClass: sortedRecord(Object.entries(byClass), true),
        byStatus: sortedRecord(Object.entries(all.httpErrors), true),
      },
      ...transport,
      byCode: sortedRecord(Object.entries(all.transportErrors), false),
    },
    throughput: {
      mean: meta.elapsedSec > 0 ? round1((all.ok + failed) / meta.elapsedSec) : 0,
      p50: fullSeconds.length === 0 ? null : round1(median(fullSeconds)),
      max: fullSeconds.length === 0 ? null : fullSeconds[fullSeconds.length - 1],
    },
    latencyMs,
    servedBy: sortedRecord(Object.entries(all.servedBy), true),
    mix: mixSplit(meta, all, failed),
  };
}

/** --mix: the mixed-in requests as counted, the main ones as the rest of the totals. */
function mixSplit(meta: RunMeta, all: IntervalReport, failed: number): LoadSummary['mix'] {
  if (meta.mixIn == null) return null;
  const m = all.mixed ?? { sent: 0, ok: 0, failed: 0 };
  return {
    percent: meta.mixIn.percent,
    main: { request: `${meta.method} ${new URL(meta.url).pathname}`, sent: all.sent - m.sent, ok: all.ok - m.ok, failed: failed - m.failed },
    mixed: { kind: meta.mixIn.kind, request: meta.mixIn.request, sent: m.sent, ok: m.ok, failed: m.failed },
  };
}

/** 1 when every request failed (nothing OK, something failed); 0 otherwise. */
export function exitCodeFor(summary: LoadSummary): 0 | 1 {
  return summary.requests.ok === 0 && summary.requests.failed > 0 ? 1 : 0;
}
