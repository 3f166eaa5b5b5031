/**
 * The comparison: every arm's recording on one time axis that starts when
 * its load started (so the arms line up), the arms' figures, the claims
 * checked, and the timeline's events as marks. Pure: loaded runs in, a
 * plain model out, which render-html.ts and render-md.ts turn into pages.
 */
import type { ArmRecord, ExperimentRecord } from '../runs/experiment-record.js';
import type { RunModel } from '../report/aggregate.js';
import type { LoadLine } from '../runs/read.js';
import { METRICS } from '../policy/metrics.js';
import { armFigures, type ArmFigures } from './figures.js';
import { checkClaims, type ClaimResult } from './claims.js';
import type { Experiment } from './schema.js';
import { buildTimeline } from './timeline.js';
import { describeStep } from './describe.js';

/** What one arm's recording holds, as read by the report's reader (null: no usable recording). */
export interface ArmInput {
  record: ArmRecord;
  model: RunModel | null;
  load: LoadLine[] | null;
}

export interface ArmSeries {
  /** Seconds since this arm's load started. */
  instances: { x: number[]; live: number[] };
  metric: { x: number[]; value: (number | null)[] };
  traffic: { x: number[]; rps: (number | null)[]; errors: (number | null)[] };
  latency: { x: number[]; p95: (number | null)[] };
}

export interface ArmView {
  name: string;
  description: string;
  status: ArmRecord['status'];
  runDir: string;
  settings: string;
  /** The metric that drove this arm's scaling, and its unit. */
  metric: { name: string; label: string; unit: string };
  loadAverageBefore: number[] | null;
  pause: string | null;
  figures: ArmFigures | null;
  series: ArmSeries | null;
  fired: ArmRecord['fired'];
  notes: string[];
}

/**
 * The counterfactual check (arm A's recording replayed under arm B's
 * settings, against what arm B really did): the pairs come from replay's
 * compareAgainst(); this section only shows them.
 */
export interface CounterfactualPair {
  /** Whose recording was replayed, and under whose settings. */
  recording: string;
  settingsOf: string;
  rows: Array<{ figure: string; replayed: string; real: string; error: string }>;
  note?: string;
}

export interface Comparison {
  title: string;
  name: string;
  teaches: string;
  questions: Experiment['questions'];
  sloP95Ms: number;
  loadSec: number;
  marks: Array<{ at: number; label: string }>;
  arms: ArmView[];
  claims: ClaimResult[];
  counterfactual: CounterfactualPair[];
  record: ExperimentRecord;
}

/** Points from `from` seconds before the load to the end of the recording, on the load's clock. */
function shift<T extends { x: number[] }>(s: T, offset: number, keys: Array<keyof T>): T {
  const keep = s.x.map((x) => x - offset >= -5);
  const out = { ...s, x: s.x.map((x) => Math.round((x - offset) * 1000) / 1000).filter((_x, i) => keep[i]) } as T;
  for (const k of keys) (out as Record<keyof T, unknown>)[k] = (s[k] as unknown[]).filter((_v, i) => keep[i]);
  return out;
}

function seriesOf(m: RunModel, offset: number): ArmSeries {
  const inst = m.series.instances;
  return {
    instances: shift({ x: inst.x, live: inst.x.map((_x, i) => inst.ready[i] + inst.starting[i]) }, offset, ['live']),
    metric: shift({ x: m.series.metric.x, value: m.series.metric.value }, offset, ['value']),
    traffic: shift({ x: m.series.traffic.x, rps: m.series.traffic.rps, errors: m.series.traffic.errors }, offset, ['rps', 'errors']),
    latency: shift({ x: m.series.latency.x, p95: m.series.latency.p95 }, offset, ['p95']),
  };
}

function metricOf(m: RunModel | null): ArmView['metric'] {
  const name = m?.settings.metric ?? 'host-cpu';
  return { name, label: METRICS[name].label, unit: METRICS[name].unit };
}

/** The settings that differ from the lab's defaults, as the arm wrote them. */
function settingsText(exp: Experiment, name: string): string {
  const arm = exp.arms.find((a) => a.name === name);
  if (!arm) return '';
  const parts = Object.entries(arm.settings).map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${String(v)}`);
  return parts.length === 0 ? 'the defaults' : parts.join(', ');
}

export function buildComparison(exp: Experiment, record: ExperimentRecord, arms: readonly ArmInput[], counterfactual: CounterfactualPair[] = []): Comparison {
  const views: ArmView[] = arms.map(({ record: r, model, load }) => {
    const notes = model === null ? ['no usable recording'] : [...model.notes];
    const usable = model !== null && r.offsetSec !== null;
    return {
      name: r.name,
      description: r.description,
      status: r.status,
      runDir: r.runDir,
      settings: settingsText(exp, r.name),
      metric: metricOf(model),
      loadAverageBefore: r.loadAverageBefore,
      pause: r.pause,
      figures: usable ? armFigures(model, load, exp.slo.p95Ms) : null,
      series: usable ? seriesOf(model, r.offsetSec!) : null,
      fired: r.fired,
      notes: r.error === null ? notes : [r.error, ...notes],
    };
  });
  // Claims are checked on finished arms only: an interrupted arm's figures cover part of the lesson.
  const figures = new Map(views.filter((v) => v.status === 'finished' && v.figures !== null).map((v) => [v.name, v.figures!]));
  const marks = buildTimeline(exp)
    .filter((s) => s.kind === 'event' || s.kind === 'event-end' || (s.kind === 'phase' && s.index > 0))
    .map((s) => ({ at: s.at, label: describeStep(s) }));
  return {
    title: exp.title,
    name: record.name,
    teaches: exp.teaches,
    questions: exp.questions,
    sloP95Ms: exp.slo.p95Ms,
    loadSec: exp.loadSec,
    marks,
    arms: views,
    claims: checkClaims(exp.expect, figures),
    counterfactual,
    record,
  };
}
