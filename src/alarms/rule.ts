/**
 * An alarm rule, CloudWatch's `PutMetricAlarm` in the lab's words: a metric,
 * a statistic over each period, a comparison with a threshold, "M out of N"
 * (datapoints to alarm out of evaluation periods) and what missing data
 * means. Pure: the metric table, the rule type and its validation
 * (`parseAlarmRules`), with one-line errors that name the key path
 * (`alarms[1].comparison: …`). The evaluator is in evaluate.ts.
 *
 * Validated by hand rather than with zod: the config file is read by every
 * command, and importing zod costs every one of them a few hundred ms.
 */
import { METRIC_NAMES, METRICS, type MetricName } from '../metrics.js';

/** What an alarm can watch: every metric a policy can scale on, plus what an operator is paged for. */
export const ALARM_METRIC_NAMES = [...METRIC_NAMES, 'p99', '5xx', 'error-rate', 'unhealthy', 'at-max'] as const;
export type AlarmMetricName = (typeof ALARM_METRIC_NAMES)[number];

/** How the ticks inside one period become that period's datapoint (CloudWatch's statistic). */
export const STATISTICS = ['average', 'minimum', 'maximum', 'sum'] as const;
export type Statistic = (typeof STATISTICS)[number];

export interface AlarmMetricInfo {
  /** Shown in reasons and views: "5xx", "p95". */
  label: string;
  /** Suffix after a value: " %", " ms", "". */
  unit: string;
  /** The statistic used when the rule names none. `error-rate` has none: it is always 5xx ÷ responses over the period. */
  statistic: Statistic | 'ratio';
  /** CloudWatch's closest metric, for the docs and the reader. */
  cloudwatch: string;
  help: string;
}

const LAB_METRICS = Object.fromEntries(
  METRIC_NAMES.map((m: MetricName) => [
    m,
    {
      label: METRICS[m].label,
      unit: METRICS[m].unit,
      statistic: m === 'p95' ? 'maximum' : 'average',
      cloudwatch: m === 'p95' ? 'TargetResponseTime p95' : m === 'rps' ? 'RequestCountPerTarget' : 'CPUUtilization',
      help: METRICS[m].help,
    },
  ]),
) as Record<MetricName, AlarmMetricInfo>;

export const ALARM_METRICS: Record<AlarmMetricName, AlarmMetricInfo> = {
  ...LAB_METRICS,
  p99: { label: 'p99', unit: ' ms', statistic: 'maximum', cloudwatch: 'TargetResponseTime p99', help: 'p99 latency through the balancer (the worst tick of the period)' },
  '5xx': { label: '5xx', unit: '', statistic: 'sum', cloudwatch: 'HTTPCode_Target_5XX_Count + HTTPCode_ELB_5XX_Count', help: 'responses with a 5xx status through the balancer (the workers\' and the balancer\'s own); L7 only' },
  'error-rate': { label: 'error rate', unit: ' %', statistic: 'ratio', cloudwatch: 'metric math 100 * 5XX / RequestCount', help: '5xx responses as a % of all responses in the period (no datapoint without a response); L7 only' },
  unhealthy: { label: 'unhealthy', unit: '', statistic: 'maximum', cloudwatch: 'UnHealthyHostCount', help: 'workers out of rotation because their health checks fail, plus slots waiting to restart after a crash' },
  'at-max': { label: 'at max', unit: '', statistic: 'minimum', cloudwatch: 'GroupInServiceInstances >= GroupMaxSize', help: '1 while the pool is asked to run --max workers, else 0 (minimum: at max for the whole period)' },
};

export const COMPARISONS = ['>', '>=', '<', '<='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** CloudWatch's ComparisonOperator name for each comparison (the export and the docs use it). */
export const COMPARISON_OPERATORS: Record<Comparison, string> = {
  '>': 'GreaterThanThreshold',
  '>=': 'GreaterThanOrEqualToThreshold',
  '<': 'LessThanThreshold',
  '<=': 'LessThanOrEqualToThreshold',
};

/** The words CloudWatch uses in its StateReason ("were greater than the threshold"). */
export const COMPARISON_WORDS: Record<Comparison, string> = {
  '>': 'greater than',
  '>=': 'greater than or equal to',
  '<': 'less than',
  '<=': 'less than or equal to',
};

/** CloudWatch's TreatMissingData values (default `missing`). */
export const TREAT_MISSING = ['missing', 'ignore', 'breaching', 'notBreaching'] as const;
export type TreatMissing = (typeof TREAT_MISSING)[number];

export interface AlarmRule {
  /** Unique within the lab; shown everywhere and given to notifiers. */
  name: string;
  metric: AlarmMetricName;
  comparison: Comparison;
  threshold: number;
  /** Seconds per datapoint (CloudWatch's Period). */
  period: number;
  /** N: how many of the most recent datapoints are evaluated (EvaluationPeriods). */
  evaluationPeriods: number;
  /** M: how many of those must breach for ALARM (DatapointsToAlarm), 1 ≤ M ≤ N. */
  datapointsToAlarm: number;
  treatMissingData: TreatMissing;
  /** How a period's ticks become its datapoint; absent: the metric's own (ALARM_METRICS). */
  statistic?: Statistic;
}

/** The statistic the rule uses, its own or its metric's default. */
export function statisticOf(rule: Pick<AlarmRule, 'metric' | 'statistic'>): Statistic | 'ratio' {
  return rule.statistic ?? ALARM_METRICS[rule.metric].statistic;
}

/** `value comparison threshold`. */
export function breaches(rule: Pick<AlarmRule, 'comparison' | 'threshold'>, value: number): boolean {
  switch (rule.comparison) {
    case '>':
      return value > rule.threshold;
    case '>=':
      return value >= rule.threshold;
    case '<':
      return value < rule.threshold;
    case '<=':
      return value <= rule.threshold;
  }
}

/** "5xx > 10 (sum over 60 s, 1 of 1)": the rule in one line, for status and the report. */
export function describeRule(rule: AlarmRule): string {
  const m = ALARM_METRICS[rule.metric];
  const stat = statisticOf(rule);
  const over = stat === 'ratio' ? `over ${fmtSeconds(rule.period)}` : `${stat} over ${fmtSeconds(rule.period)}`;
  const missing = rule.treatMissingData === 'missing' ? '' : `, missing data ${rule.treatMissingData}`;
  return `${m.label} ${rule.comparison} ${fmtNumber(rule.threshold)}${m.unit} (${over}, ${rule.datapointsToAlarm} of ${rule.evaluationPeriods}${missing})`;
}

/** Seconds as people say them: "60 s", "5 min". */
export function fmtSeconds(s: number): string {
  return s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${fmtNumber(s)} s`;
}

/** A datapoint or threshold as CloudWatch shows it: up to 3 decimals, no trailing zeros. */
export function fmtNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
}

/** A rule that cannot be used; `path` is where it is ("alarms[1].comparison"), the message says what was expected and received. */
export class AlarmRuleError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
    this.name = 'AlarmRuleError';
  }
}

/** Bounds: an alarm is a few numbers; these keep one from burning memory or never evaluating. */
export const RULE_LIMITS = { maxAlarms: 20, maxPeriod: 86_400, maxEvaluationPeriods: 100, maxNameLength: 64 } as const;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 _.:/<>=%-]*$/;
const RULE_KEYS = ['name', 'metric', 'comparison', 'threshold', 'period', 'evaluation-periods', 'datapoints-to-alarm', 'treat-missing-data', 'statistic'] as const;
const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Check a list of rules (the config file's `alarms`, JSON values). Keys are
 * kebab-case like the flags (`evaluation-periods`) or camelCase
 * (`evaluationPeriods`, as in CloudWatch's API). Defaults: period 60,
 * evaluation periods 1, datapoints to alarm = evaluation periods, missing
 * data `missing`. Throws AlarmRuleError naming the first bad key.
 */
export function parseAlarmRules(raw: unknown, path = 'alarms'): AlarmRule[] {
  if (!Array.isArray(raw)) throw new AlarmRuleError(path, `expected a list of alarm rules, got ${show(raw)}`);
  if (raw.length > RULE_LIMITS.maxAlarms) throw new AlarmRuleError(path, `at most ${RULE_LIMITS.maxAlarms} alarms (received ${raw.length})`);
  const rules = raw.map((r, i) => parseAlarmRule(r, `${path}[${i}]`));
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.name)) throw new AlarmRuleError(`${path}[${i}].name`, `"${r.name}" is used by an earlier alarm; names must be unique`);
    seen.add(r.name);
  });
  return rules;
}

/** Check one rule (see parseAlarmRules). */
export function parseAlarmRule(raw: unknown, path: string): AlarmRule {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new AlarmRuleError(path, `expected an alarm rule (an object), got ${show(raw)}`);
  const obj = raw as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = RULE_KEYS.find((r) => r === k || camel(r) === k);
    if (key === undefined) throw new AlarmRuleError(`${path}.${k}`, `unknown key (expected one of: ${RULE_KEYS.join(', ')})`);
    if (key in values) throw new AlarmRuleError(`${path}.${k}`, `given twice (as "${key}" and "${camel(key)}")`);
    values[key] = v;
  }
  const at = (k: string) => `${path}.${k}`;
  const oneOf = <T extends string>(k: string, allowed: readonly T[], fallback?: T): T => {
    const v = values[k];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new AlarmRuleError(at(k), `expected one of ${allowed.join(', ')}, got ${show(v)}`);
    return v as T;
  };
  const number = (k: string, lo: number, hi: number, whole: boolean, fallback?: number): number => {
    const v = values[k];
    if (v === undefined && fallback !== undefined) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new AlarmRuleError(at(k), `expected a number, got ${show(v)}`);
    if (whole && !Number.isInteger(n)) throw new AlarmRuleError(at(k), `expected a whole number, got ${show(v)}`);
    if (n < lo || n > hi) throw new AlarmRuleError(at(k), `expected ${lo} to ${hi}, got ${n}`);
    return n;
  };
  const name = values.name;
  if (typeof name !== 'string' || name.trim() === '') throw new AlarmRuleError(at('name'), `expected a name, got ${show(name)}`);
  if (name.length > RULE_LIMITS.maxNameLength || !NAME_RE.test(name)) {
    throw new AlarmRuleError(at('name'), `expected up to ${RULE_LIMITS.maxNameLength} letters, digits, spaces and _.:/<>=%- starting with a letter or digit, got ${show(name)}`);
  }
  const metric = oneOf('metric', ALARM_METRIC_NAMES);
  const comparison = oneOf('comparison', COMPARISONS);
  const threshold = number('threshold', -1e12, 1e12, false);
  const period = number('period', 1, RULE_LIMITS.maxPeriod, false, 60);
  const evaluationPeriods = number('evaluation-periods', 1, RULE_LIMITS.maxEvaluationPeriods, true, 1);
  const datapointsToAlarm = number('datapoints-to-alarm', 1, RULE_LIMITS.maxEvaluationPeriods, true, evaluationPeriods);
  if (datapointsToAlarm > evaluationPeriods) {
    throw new AlarmRuleError(at('datapoints-to-alarm'), `M (${datapointsToAlarm}) must be <= evaluation-periods N (${evaluationPeriods}): "M out of N"`);
  }
  const treatMissingData = oneOf('treat-missing-data', TREAT_MISSING, 'missing');
  const rule: AlarmRule = { name: name.trim(), metric, comparison, threshold, period, evaluationPeriods, datapointsToAlarm, treatMissingData };
  if (values.statistic !== undefined) {
    if (metric === 'error-rate') throw new AlarmRuleError(at('statistic'), 'error-rate takes no statistic: it is always 5xx ÷ responses over the period');
    rule.statistic = oneOf('statistic', STATISTICS);
  }
  return rule;
}
