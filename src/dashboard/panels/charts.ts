/** The four chart panels as plain models (series, axis range, title), and their y-axis maths. */
import { formatClock, formatCount, formatLatency, formatPercent, formatValue, UNKNOWN } from '../../format.js';
import { metricDisplay, policyLines } from '../metric-display.js';
import type { DashboardState } from '../state.js';

export interface ChartSeries {
  title: string;
  color: string;
  x: string[];
  /** NaN: no value at that x (a gap in the line, dash.ts gapStrokes). */
  y: number[];
  /** Drawn dashed (its colour is its own on this chart), so a line under or over it cannot hide it. */
  dashed?: boolean;
}

export interface ChartModel {
  /** Title shown on the chart's border, including the current values. */
  label: string;
  /** The same, for narrow charts. */
  shortLabel: string;
  minY: number;
  maxY: number;
  /** Drawn in order: later series are drawn over earlier ones. All share one x axis. */
  series: ChartSeries[];
}

/** 'cpu' is the scaling-metric chart (host CPU with the default metric). */
export type ChartId = 'cpu' | 'instances' | 'requests' | 'latency';

/** Smallest of 1, 2, 5 × 10^k that is >= value (and >= floor). */
export function niceCeiling(value: number, floor: number): number {
  const v = Math.max(value, floor);
  if (!Number.isFinite(v) || v <= 0) return floor > 0 ? floor : 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) {
    if (m * exp >= v - 1e-9) return m * exp;
  }
  return 10 * exp;
}

function constant(value: number, length: number): number[] {
  return new Array<number>(length).fill(value);
}

/**
 * The first chart: the metric that drives scaling with the policy's lines
 * (thresholds, or target and tolerance band), so the crossing behind each
 * decision is visible. With the default host-cpu metric this is the CPU chart.
 */
export function scalingChart(state: DashboardState): ChartModel {
  const config = state.lab?.config;
  const metric = config?.metric ?? 'host-cpu';
  const display = metricDisplay(metric);
  const hostCpu = metric === 'host-cpu';
  const points = state.ticks.items.flatMap((p) => {
    const v = hostCpu ? p.cpu : p.value;
    return v === null ? [] : [{ t: p.t, v }];
  });
  const latest = state.ticks.items.at(-1);
  const latestValue = latest ? (hostCpu ? latest.cpu : latest.value) : null;
  const now = latestValue === null ? UNKNOWN : `${hostCpu || display.percent ? formatPercent(latestValue) : formatValue(latestValue)}${display.unit}`;
  const lines = config ? policyLines(config) : [];
  const summary = lines.filter((l) => l.title !== '').map((l) => l.title).join(' · ');
  // The host figure split: the lab's own processes and everything else (a busy laptop never scales in on host CPU).
  const split = latest?.lab !== undefined && latest.cpu !== null ? ` (lab ${formatPercent(latest.lab)} %, other ${formatPercent(Math.max(0, latest.cpu - latest.lab))} %)` : '';
  let label = `${display.title} ${now}${hostCpu ? split : ''}${summary ? ` · ${summary}` : ''}`;
  if (!hostCpu && latest) label += ` · host CPU ${formatPercent(latest.cpu)} %${split}`;
  const x = points.map((p) => formatClock(p.t));
  const percent = hostCpu || display.percent;
  // A percentage axis is 0–100, whatever the values: a point beyond it is drawn at its edge (the label says the value).
  const onAxis = (v: number): number => (percent ? Math.min(100, Math.max(0, v)) : v);
  const series: ChartSeries[] = [];
  if (points.length > 0) {
    for (const line of lines) series.push({ title: line.title, color: line.color, x, y: constant(onAxis(line.value), points.length) });
    series.push({ title: display.label, color: 'yellow', x, y: points.map((p) => onAxis(p.v)) });
    // Under the host line, the lab's own part of it: the gap between the two is every other process.
    const lab = state.ticks.items.filter((p) => (hostCpu ? p.cpu : p.value) !== null);
    if (hostCpu && lab.some((p) => p.lab !== undefined)) series.push({ title: 'lab', color: 'green', x, y: lab.map((p) => onAxis(p.lab ?? 0)) });
  }
  const peak = Math.max(0, ...points.map((p) => p.v), ...lines.map((l) => l.value));
  const maxY = percent ? 100 : niceCeiling(peak * 1.2, 1);
  const shortSplit = hostCpu && latest?.lab !== undefined ? ` (lab ${formatPercent(latest.lab)} %)` : '';
  return { label, shortLabel: `${display.label} ${now}${shortSplit}`, minY: 0, maxY, series };
}

/** Expand values into a step line on an index axis: each change becomes a near-vertical jump. */
export function stepExpand(labels: readonly string[], values: readonly number[]): { x: string[]; y: number[] } {
  const x: string[] = [];
  const y: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i > 0) {
      x.push(labels[i]);
      y.push(values[i - 1]);
    }
    x.push(labels[i]);
    y.push(values[i]);
  }
  return { x, y };
}

export function instancesChart(state: DashboardState): ChartModel {
  const points = state.instances.items;
  const config = state.lab?.config;
  const counts = state.counts;
  let label = 'Instances';
  let shortLabel = 'Instances';
  if (counts) {
    label += ` ${counts.instances} running, ${counts.ready} ready`;
    shortLabel += ` ${counts.instances}`;
    if (counts.desired !== counts.instances) {
      label += ` → desired ${counts.desired}`;
      shortLabel += ` → ${counts.desired}`;
    }
  }
  if (config) label += ` · min ${config.min} max ${config.max}`;
  const observedMax = points.reduce((m, p) => Math.max(m, p.instances, p.desired), 0);
  const maxY = Math.max(config?.max ?? 0, observedMax, 1) + 1;
  const labels = points.map((p) => formatClock(p.t));
  const running = stepExpand(labels, points.map((p) => p.instances));
  const desired = stepExpand(labels, points.map((p) => p.desired));
  const series: ChartSeries[] = [];
  if (points.length > 0) {
    if (config) {
      series.push({ title: `max ${config.max}`, color: 'red', x: running.x, y: constant(config.max, running.y.length) });
      series.push({ title: `min ${config.min}`, color: 'blue', x: running.x, y: constant(config.min, running.y.length) });
    }
    // Dashed and drawn over the running line: where the two are equal the line reads green and
    // magenta in turns, so the legend's "desired" is always findable; where they differ it is a dashed line.
    series.push({ title: 'running', color: 'green', x: running.x, y: running.y });
    series.push({ title: 'desired', color: 'magenta', x: desired.x, y: desired.y, dashed: true });
  }
  return { label, shortLabel, minY: 0, maxY, series };
}

export function requestsChart(state: DashboardState): ChartModel {
  const points = state.requests.items;
  const traffic = state.traffic;
  const label = traffic
    ? `Requests ${formatCount(traffic.rps)}/s · ${formatCount(traffic.rpm)}/min`
    : 'Requests (waiting for stats)';
  const x = points.map((p) => formatClock(p.t));
  const peak = points.reduce((m, p) => Math.max(m, p.rps, p.rpm / 60), 0);
  const series: ChartSeries[] =
    points.length === 0
      ? []
      : [
          { title: 'rpm÷60', color: 'cyan', x, y: points.map((p) => p.rpm / 60) },
          { title: 'req/s', color: 'green', x, y: points.map((p) => p.rps) },
        ];
  const shortLabel = traffic ? `Requests ${formatCount(traffic.rps)}/s` : 'Requests';
  return { label, shortLabel, minY: 0, maxY: niceCeiling(peak * 1.2, 10), series };
}

/**
 * p50 and p99 per 1 s stats period, on the same x axis as the requests chart: a
 * period without a completed request is a gap (NaN), so idle time keeps its
 * width instead of being squeezed out. Under L4 the balancer never sees a
 * request: the label says so.
 */
export function latencyChart(state: DashboardState): ChartModel {
  const points = state.requests.items;
  const traffic = state.traffic;
  const l4 = state.lab?.config.balancer === 'l4';
  const x = points.map((p) => formatClock(p.t));
  const gap = (v: number | null) => (v === null ? Number.NaN : v);
  const peak = points.reduce((m, p) => Math.max(m, p.p99 ?? 0), 0);
  // Every point, even when none has a latency: a window that became idle redraws as empty, not as its old lines.
  const series: ChartSeries[] =
    points.length === 0
    ? []
    : [
        { title: 'p99 ms', color: 'red', x, y: points.map((p) => gap(p.p99)) },
        { title: 'p50 ms', color: 'green', x, y: points.map((p) => gap(p.p50)) },
      ];
  if (l4) return { label: 'Latency: not measured under --balancer l4 (the balancer hands over connections and sees no request)', shortLabel: 'Latency: none under L4', minY: 0, maxY: 1, series };
  const label = traffic ? `Latency p50 ${formatLatency(traffic.p50)} · p99 ${formatLatency(traffic.p99)}` : 'Latency (waiting for stats)';
  const shortLabel = traffic ? `p99 ${formatLatency(traffic.p99)}` : 'Latency';
  return { label, shortLabel, minY: 0, maxY: niceCeiling(peak * 1.2, 1), series };
}

/**
 * How many y-axis labels blessed-contrib's line chart should draw on a chart
 * `height` rows tall so that no two labels land on the same text row (it
 * draws one every (maxY - 0) / n). Instances get whole-number steps.
 */
export function yLabelCount(id: ChartId, height: number, maxY: number): number {
  const plotPixels = height * 4 - 19; // braille rows: 4 px per text row, minus contrib's paddings
  if (id === 'instances') {
    const fits = Math.max(1, Math.floor(plotPixels / 5));
    const step = Math.max(1, Math.ceil(maxY / fits));
    return maxY / step;
  }
  // n steps up to maxY plus half a step of headroom (see chartAxis): n + 0.5 steps of >= 4.5 px
  // each (more than one braille row of 4 px, so no two labels share a text row).
  const fits = Math.max(1, Math.floor(plotPixels / 4.5 - 0.5));
  const choices = id === 'cpu' ? [5, 4, 2] : [5, 2];
  return choices.find((n) => n <= fits) ?? 1;
}

/** What blessed-contrib's line chart is given for a chart, and the y labels it then draws. */
export interface ChartAxis {
  /** contrib's maxY: the top of the plot area. */
  maxY: number;
  /** contrib's numYLabels: it draws a label every maxY / numYLabels, from 0 while below maxY. */
  numYLabels: number;
  /** The labelled values, bottom to top: the last is the model's maxY. */
  labels: number[];
}

/**
 * contrib labels 0, step, 2·step… only while the value is below its maxY, so a
 * chart given maxY 100 never shows a 100 label and a line at 100 % sits above
 * the top label. The model's maxY gets a label: the plot runs half a step
 * beyond it (unlabelled), and every label sits at the height of its value.
 * Instances already have a whole step of headroom (max + 1) and whole-number steps.
 */
export function chartAxis(id: ChartId, height: number, model: Pick<ChartModel, 'maxY'>): ChartAxis {
  const n = yLabelCount(id, height, model.maxY);
  if (id === 'instances') {
    const step = Math.max(1, Math.floor(model.maxY / n));
    const labels: number[] = [];
    for (let v = 0; v < model.maxY; v += step) labels.push(v);
    return { maxY: model.maxY, numYLabels: n, labels };
  }
  const step = model.maxY / n;
  return { maxY: model.maxY + step / 2, numYLabels: n + 0.5, labels: Array.from({ length: n + 1 }, (_, i) => i * step) };
}

export function chartModel(state: DashboardState, id: ChartId): ChartModel {
  switch (id) {
    case 'cpu':
      return scalingChart(state);
    case 'instances':
      return instancesChart(state);
    case 'requests':
      return requestsChart(state);
    case 'latency':
      return latencyChart(state);
  }
}
