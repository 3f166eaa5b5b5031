/**
 * `--policy step`: the step specs of the flags (`--step-out '60-80:+1'`,
 * `--step-in '-20:-1'`, `--step-out-alarm 2/3`, `--step-min-magnitude 2`) and
 * of the config file's `step` section, turned into the policy's settings and
 * checked once, here, by AWS's own rules for step adjustments. The math lives
 * in policy/step-scaling.ts.
 *
 * A step is `LOW-HIGH:ADJUSTMENT` in the metric's own unit, as the AWS
 * console shows bounds (absolute): `60-80:+1`, `80-:+2` (no upper bound),
 * `-20:-1` (no lower bound). The scale-out alarm's threshold is the lowest
 * lower bound of the out steps, the scale-in alarm's the highest upper bound
 * of the in steps; the bounds exported to AWS are relative to it. The
 * adjustment is `+N`/`-N` (ChangeInCapacity), `+N%`/`-N%`
 * (PercentChangeInCapacity) or `=N` (ExactCapacity); one type per policy.
 */
import { ConfigError } from '../errors.js';
import { METRICS, type MetricName } from '../policy/metrics.js';
import { RULE_LIMITS, TREAT_MISSING, type TreatMissing } from '../alarms/rule.js';
import { stepSpecs, type AdjustmentType, type StepAdjustment, type StepDirection, type StepPolicySettings, type StepScalingSettings } from '../policy/step-scaling.js';

/** Most steps one policy may have: a ladder, not a lookup table. */
export const MAX_STEPS = 20;
/** Most ticks an alarm may look back over (EvaluationPeriods). */
export const MAX_EVALUATION_TICKS = RULE_LIMITS.maxEvaluationPeriods;

/** What the user typed for step scaling, from flags or the config file (strings or JSON values). */
export interface RawStepScaling {
  out?: unknown;
  in?: unknown;
  outAlarm?: unknown;
  inAlarm?: unknown;
  outName?: unknown;
  inName?: unknown;
  outPeriod?: unknown;
  inPeriod?: unknown;
  outMissing?: unknown;
  inMissing?: unknown;
  minMagnitude?: unknown;
}

/** Defaults: the out alarm fires on one breaching tick; the in alarm on 5 of 5 (15 s at 3 s ticks, the lab's default cooldown). */
export const STEP_ALARM_DEFAULTS = { out: { m: 1, n: 1 }, in: { m: 5, n: 5 } } as const;

interface ParsedStep {
  lo: number | null;
  hi: number | null;
  type: AdjustmentType;
  adjustment: number;
  text: string;
}

const NUM = String.raw`\d+(?:\.\d+)?`;
const SPEC = new RegExp(String.raw`^\s*(${NUM})?\s*-\s*(${NUM})?\s*:\s*(?:([+-]\d+)\s*(%)?|=\s*(\d+))\s*$`);

/** One `LOW-HIGH:ADJ` spec; `name` is how the error names its source (`--step-out`, `"step.out" in the config file`). */
export function parseStepSpec(text: string, name: string): ParsedStep {
  const m = SPEC.exec(text);
  if (!m) {
    throw new ConfigError(
      `${name} '${text}' is not a step: expected LOW-HIGH:ADJUSTMENT in the metric's unit, e.g. '60-80:+1', '80-:+2' (no upper bound), '-20:-1' (no lower bound); ` +
        `ADJUSTMENT is +N/-N workers, +N%/-N% of the current count, or =N workers`,
    );
  }
  const lo = m[1] === undefined ? null : Number(m[1]);
  const hi = m[2] === undefined ? null : Number(m[2]);
  if (lo === null && hi === null) throw new ConfigError(`${name} '${text}': give a lower or an upper bound (AWS: a step cannot be unbounded on both sides)`);
  if (lo !== null && hi !== null && lo >= hi) throw new ConfigError(`${name} '${text}': the lower bound (${lo}) must be below the upper bound (${hi})`);
  if (m[5] !== undefined) return { lo, hi, type: 'ExactCapacity', adjustment: Number(m[5]), text };
  return { lo, hi, type: m[4] === '%' ? 'PercentChangeInCapacity' : 'ChangeInCapacity', adjustment: Number(m[3]), text };
}

/** "2/3" (or "2 of 3"): M datapoints out of N ticks. */
function parseAlarmRatio(raw: unknown, name: string): { m: number; n: number } {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : '';
  const r = /^\s*(\d+)\s*(?:\/|of)\s*(\d+)\s*$/.exec(text);
  if (!r) throw new ConfigError(`${name} must be M/N, M breaching ticks out of the last N (e.g. 2/3) (received ${JSON.stringify(raw)})`);
  const m = Number(r[1]);
  const n = Number(r[2]);
  if (m < 1 || n < 1 || m > n || n > MAX_EVALUATION_TICKS) {
    throw new ConfigError(`${name} must have 1 <= M <= N <= ${MAX_EVALUATION_TICKS} (received ${JSON.stringify(raw)})`);
  }
  return { m, n };
}

function specList(raw: unknown, name: string): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) throw new ConfigError(`${name} has no step`);
  if (list.length > MAX_STEPS) throw new ConfigError(`${name}: at most ${MAX_STEPS} steps (received ${list.length})`);
  return list.map((s) => {
    if (typeof s !== 'string') throw new ConfigError(`${name}: each step is a string like '60-80:+1' (received ${JSON.stringify(s)})`);
    return s;
  });
}

const ALARM_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** One side's policy from its specs, checked by AWS's rules (no overlap, no gap, one unbounded end). */
export function buildStepPolicy(
  direction: StepDirection,
  specs: string[],
  opts: { name: string; alarmName: string; ratio: { m: number; n: number }; minMagnitude: number | null; period?: number | null; treatMissingData?: TreatMissing },
): StepPolicySettings {
  const { name } = opts;
  const steps = specs.map((s) => parseStepSpec(s, name));
  const type = steps[0].type;
  const other = steps.find((s) => s.type !== type);
  if (other) throw new ConfigError(`${name}: '${steps[0].text}' and '${other.text}' mix adjustment types; AWS takes one AdjustmentType per policy (+N, +N% or =N throughout)`);
  for (const s of steps) {
    if (s.type === 'ExactCapacity') continue;
    if (direction === 'out' && s.adjustment < 0) throw new ConfigError(`${name} '${s.text}': a scale-out step adds workers (+N or =N); remove them with --step-in`);
    if (direction === 'in' && s.adjustment > 0) throw new ConfigError(`${name} '${s.text}': a scale-in step removes workers (-N or =N); add them with --step-out`);
  }
  // From the threshold outwards: out steps ascending, in steps descending.
  const sorted = [...steps].sort((a, b) => (direction === 'out' ? (a.lo ?? -Infinity) - (b.lo ?? -Infinity) : (b.hi ?? Infinity) - (a.hi ?? Infinity)));
  for (let i = 1; i < sorted.length; i++) {
    const [near, far] = [sorted[i - 1], sorted[i]];
    const [edgeA, edgeB] = direction === 'out' ? [near.hi, far.lo] : [far.hi, near.lo];
    if (edgeA !== edgeB) {
      const what = edgeA === null || edgeB === null || edgeA > edgeB ? 'overlap' : 'leave a gap';
      throw new ConfigError(`${name}: '${near.text}' and '${far.text}' ${what}; AWS step ranges must meet exactly`);
    }
  }
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  let threshold: number;
  if (direction === 'out') {
    if (first.lo === null) throw new ConfigError(`${name} '${first.text}': the lowest scale-out step needs a lower bound (it is the alarm's threshold)`);
    if (last.hi !== null) throw new ConfigError(`${name}: the highest scale-out step must have no upper bound (e.g. '${last.hi}-:…'); AWS requires one once a step has an upper bound above the threshold`);
    threshold = first.lo;
  } else {
    if (first.hi === null) throw new ConfigError(`${name} '${first.text}': the highest scale-in step needs an upper bound (it is the alarm's threshold)`);
    if (last.lo !== null) throw new ConfigError(`${name}: the lowest scale-in step must have no lower bound (e.g. '-${last.lo}:…'); AWS requires one once a step has a lower bound below the threshold`);
    threshold = first.hi;
  }
  const rel = (v: number | null) => (v === null ? null : Math.round((v - threshold) * 1e9) / 1e9);
  const adjustments: StepAdjustment[] = sorted.map((s) => ({ lower: rel(s.lo), upper: rel(s.hi), adjustment: s.adjustment }));
  return {
    alarm: {
      name: opts.alarmName,
      threshold,
      datapointsToAlarm: opts.ratio.m,
      evaluationPeriods: opts.ratio.n,
      period: opts.period ?? null,
      treatMissingData: opts.treatMissingData ?? 'missing',
    },
    adjustmentType: type,
    minAdjustmentMagnitude: type === 'PercentChangeInCapacity' ? opts.minMagnitude : null,
    steps: adjustments,
  };
}

/** The keys of the config file's "step" section. */
const FILE_KEYS = ['out', 'in', 'out-alarm', 'in-alarm', 'out-name', 'in-name', 'out-period', 'in-period', 'out-treat-missing-data', 'in-treat-missing-data', 'min-magnitude'] as const;

/** The config file's "step" object -> raw step settings (unknown keys are an error). */
export function parseStepSection(value: unknown, file: string): RawStepScaling {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`"step" in the config file ${file} must be an object like {"out": ["60-80:+1", "80-:+2"], "in": ["-20:-1"]} (received ${JSON.stringify(value)})`);
  }
  const out: RawStepScaling = {};
  const map: Record<string, keyof RawStepScaling> = {
    out: 'out', in: 'in', 'out-alarm': 'outAlarm', 'in-alarm': 'inAlarm', 'out-name': 'outName', 'in-name': 'inName',
    'out-period': 'outPeriod', 'in-period': 'inPeriod', 'out-treat-missing-data': 'outMissing', 'in-treat-missing-data': 'inMissing', 'min-magnitude': 'minMagnitude',
  };
  for (const [k, v] of Object.entries(value)) {
    const key = map[k] ?? (Object.values(map).includes(k as keyof RawStepScaling) ? (k as keyof RawStepScaling) : undefined);
    if (key === undefined) throw new ConfigError(`config file ${file}: unknown key "step.${k}" (expected one of: ${FILE_KEYS.join(', ')})`);
    out[key] = v;
  }
  return out;
}

/** Whether anything step-related was typed (to refuse it under another policy). */
export function hasStepSettings(raw: RawStepScaling): boolean {
  return Object.values(raw).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
}

/**
 * The step policy's settings: `flags` over `file`, per key. `where` names the source in errors. Needs at
 * least one side; the in alarm's threshold must be below the out alarm's.
 */
export function resolveStepScaling(flags: RawStepScaling, file: RawStepScaling, metric: MetricName): StepScalingSettings {
  const pick = <K extends keyof RawStepScaling>(k: K) =>
    flags[k] !== undefined && !(Array.isArray(flags[k]) && (flags[k] as unknown[]).length === 0)
      ? { value: flags[k], flag: true }
      : file[k] !== undefined
        ? { value: file[k], flag: false }
        : null;
  const label = (flag: boolean, f: string, k: string) => (flag ? `--${f}` : `"step.${k}" in the config file`);
  const mm = pick('minMagnitude');
  let minMagnitude: number | null = null;
  if (mm !== null) {
    const n = typeof mm.value === 'number' ? mm.value : typeof mm.value === 'string' && /^\s*\d+\s*$/.test(mm.value) ? Number(mm.value) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new ConfigError(`${label(mm.flag, 'step-min-magnitude', 'min-magnitude')} must be a whole number from 1 to 100000 (received ${JSON.stringify(mm.value)})`);
    minMagnitude = n;
  }
  const side = (direction: StepDirection): StepPolicySettings | null => {
    const specs = pick(direction);
    const alarm = pick(direction === 'out' ? 'outAlarm' : 'inAlarm');
    const alarmName = pick(direction === 'out' ? 'outName' : 'inName');
    if (specs === null) {
      if (alarm !== null) throw new ConfigError(`${label(alarm.flag, `step-${direction}-alarm`, `${direction}-alarm`)} is set but there is no --step-${direction} step for its alarm to drive`);
      return null;
    }
    const name = label(specs.flag, `step-${direction}`, direction);
    const ratio = alarm === null ? STEP_ALARM_DEFAULTS[direction] : parseAlarmRatio(alarm.value, label(alarm.flag, `step-${direction}-alarm`, `${direction}-alarm`));
    let nameText = `${metric}-${direction === 'out' ? 'high' : 'low'}`;
    if (alarmName !== null) {
      if (typeof alarmName.value !== 'string' || !ALARM_NAME.test(alarmName.value)) {
        throw new ConfigError(`${label(alarmName.flag, `step-${direction}-name`, `${direction}-name`)} must be 1 to 64 letters, digits, '.', '_' or '-' (received ${JSON.stringify(alarmName.value)})`);
      }
      nameText = alarmName.value;
    }
    const periodRaw = pick(direction === 'out' ? 'outPeriod' : 'inPeriod');
    let period: number | null = null;
    if (periodRaw !== null) {
      const p = typeof periodRaw.value === 'number' ? periodRaw.value : NaN;
      if (!Number.isFinite(p) || p < 1 || p > RULE_LIMITS.maxPeriod) throw new ConfigError(`"step.${direction}-period" in the config file must be a number of seconds from 1 to ${RULE_LIMITS.maxPeriod} (received ${JSON.stringify(periodRaw.value)})`);
      period = p;
    }
    const missingRaw = pick(direction === 'out' ? 'outMissing' : 'inMissing');
    let treatMissingData: TreatMissing = 'missing';
    if (missingRaw !== null) {
      if (typeof missingRaw.value !== 'string' || !(TREAT_MISSING as readonly string[]).includes(missingRaw.value)) {
        throw new ConfigError(`"step.${direction}-treat-missing-data" in the config file must be one of ${TREAT_MISSING.join(', ')} (received ${JSON.stringify(missingRaw.value)})`);
      }
      treatMissingData = missingRaw.value as TreatMissing;
    }
    return buildStepPolicy(direction, specList(specs.value, name), { name, alarmName: nameText, ratio, minMagnitude, period, treatMissingData });
  };
  const out = side('out');
  const inn = side('in');
  if (out === null && inn === null) {
    throw new ConfigError("--policy step needs at least one step: e.g. --step-out '60-80:+1' --step-out '80-:+2' --step-in '-20:-1' (or a \"step\" section in the config file)");
  }
  if (mm !== null && out?.adjustmentType !== 'PercentChangeInCapacity' && inn?.adjustmentType !== 'PercentChangeInCapacity') {
    throw new ConfigError('--step-min-magnitude applies only to percent steps (+N% / -N%)');
  }
  if (out !== null && inn !== null) {
    const unit = METRICS[metric].unit;
    if (inn.alarm.threshold >= out.alarm.threshold) {
      throw new ConfigError(`the scale-in threshold (${inn.alarm.threshold}${unit}, the top of --step-in) must be below the scale-out threshold (${out.alarm.threshold}${unit}, the bottom of --step-out)`);
    }
    if (inn.alarm.name === out.alarm.name) throw new ConfigError(`the scale-out and scale-in alarms need different names (both are "${out.alarm.name}")`);
  }
  return { out, in: inn };
}

/** Resolved settings back to what a user would have typed (a recording's base for replay, so `--compare '--step-in-alarm 10/10'` overrides one key). */
export function rawStepScaling(s: StepScalingSettings): RawStepScaling {
  const raw: RawStepScaling = {};
  const mm = s.out?.minAdjustmentMagnitude ?? s.in?.minAdjustmentMagnitude ?? null;
  if (mm !== null) raw.minMagnitude = mm;
  for (const [d, p] of [['out', s.out], ['in', s.in]] as const) {
    if (p === null) continue;
    const up = d === 'out' ? { specs: 'out', alarm: 'outAlarm', name: 'outName', period: 'outPeriod', missing: 'outMissing' } : { specs: 'in', alarm: 'inAlarm', name: 'inName', period: 'inPeriod', missing: 'inMissing' };
    Object.assign(raw, {
      [up.specs]: stepSpecs(p),
      [up.alarm]: `${p.alarm.datapointsToAlarm}/${p.alarm.evaluationPeriods}`,
      [up.name]: p.alarm.name,
      [up.missing]: p.alarm.treatMissingData,
      ...(p.alarm.period === null ? {} : { [up.period]: p.alarm.period }),
    });
  }
  return raw;
}
