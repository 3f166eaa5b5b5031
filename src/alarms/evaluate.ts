/**
 * The alarm evaluator: pure, clock-free, CloudWatch's documented semantics.
 *
 *   memories = initialAlarmMemory(rule) for each rule
 *   each tick: { memories, transitions, evaluations } = evaluateAlarms(rules, memories, sample)
 *
 * A rule's period cuts the lab's time (ms since lab start) into windows
 * [k·period, (k+1)·period). Each tick's `AlarmSample` goes into its window;
 * when a sample lands in a later window, every earlier window closes into one
 * datapoint (the rule's statistic over the ticks in it, or missing when no
 * tick measured the metric) and the alarm is evaluated on its evaluation
 * range, the last N + 2 datapoints (the range the CloudWatch guide's examples
 * use: 5 datapoints for N = 3). `evaluateDatapoints` is that evaluation alone:
 *
 *   - at least N real datapoints in the range: the N most recent real ones
 *     decide, M or more breaching → ALARM, else OK (missing data settings are
 *     not needed);
 *   - none: `missing` → INSUFFICIENT_DATA, `ignore` → stay, `breaching` →
 *     ALARM, `notBreaching` → OK;
 *   - fewer than N: every real datapoint counts and N − real ones are filled:
 *     `breaching`/`notBreaching` fill them as such; `missing` and `ignore`
 *     leave them out, and go to ALARM early ("premature alarm state") only when
 *     every real datapoint breaches and the oldest breaching one among the
 *     last N periods is at least M periods old — `ignore` then keeps its
 *     current state instead.
 *
 * Source: Amazon CloudWatch User Guide, "Configuring how CloudWatch alarms
 * treat missing data" (its two tables of "0 - X - X" rows, M = N = 3 and
 * M = 2, N = 3, are test/unit/alarms.test.ts) and "Avoiding premature
 * transitions to alarm state". Reasons follow CloudWatch's StateReason
 * ("Threshold Crossed: 3 out of the last 3 datapoints [12, 15, 11] were
 * greater than the threshold (10) (minimum 3 datapoints for OK -> ALARM
 * transition).").
 *
 * Stable API (helper "step" and the lab build on it): AlarmState,
 * AlarmSample, Datapoint, AlarmMemory, AlarmTransition, AlarmEvaluation,
 * initialAlarmMemory, observeAlarm, evaluateAlarms, evaluateDatapoints,
 * latestValue.
 */
import { breaches, COMPARISON_WORDS, fmtNumber, statisticOf, type AlarmMetricName, type AlarmRule, type TreatMissing } from './rule.js';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export const ALARM_STATES: readonly AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

/**
 * What one tick measured, for alarms. `values[m]` is the tick's reading of
 * metric m (null or absent: not measured this tick). For '5xx' it is the
 * count of 5xx responses during the tick, and `responses` all responses
 * during the tick (error-rate is Σ5xx ÷ Σresponses over the period); both
 * null when the front end cannot see responses (--balancer l4).
 */
export interface AlarmSample {
  /** ms since lab start. */
  t: number;
  values: Partial<Record<Exclude<AlarmMetricName, 'error-rate'>, number | null>>;
  responses: number | null;
}

/** One period's datapoint: its start (ms since lab start) and value (null: missing). */
export interface Datapoint {
  at: number;
  value: number | null;
}

interface Accumulator {
  n: number;
  sum: number;
  min: number;
  max: number;
  errors: number;
  responses: number;
}

/** One alarm's memory between ticks: plain data, changed only by observeAlarm. */
export interface AlarmMemory {
  state: AlarmState;
  /** The current state's StateReason. */
  reason: string;
  /** ms since lab start of the last change of state (0: since the start). */
  since: number;
  /** Index of the open period (floor(t / period)), null before the first sample. */
  period: number | null;
  acc: Accumulator;
  /** Closed datapoints, oldest first, at most N + 2 (the evaluation range). */
  datapoints: Datapoint[];
}

/** A change of state, with the datapoints that caused it. */
export interface AlarmTransition {
  alarm: string;
  /** ms since lab start: the tick that closed the period. */
  t: number;
  from: AlarmState;
  to: AlarmState;
  reason: string;
  /** The datapoints the decision used, oldest first (missing ones as null: with `breaching`/`notBreaching` the ones filled in). */
  datapoints: Datapoint[];
  /** How many of them breached (filled ones included when missing data is `breaching`). */
  breaching: number;
}

/** Each closed period's evaluation (a step policy acts on these while in ALARM, as AWS's does on each evaluation). */
export interface AlarmEvaluation {
  alarm: string;
  t: number;
  state: AlarmState;
  /** The period's datapoint, null when missing. */
  value: number | null;
}

const emptyAcc = (): Accumulator => ({ n: 0, sum: 0, min: Infinity, max: -Infinity, errors: 0, responses: 0 });

export function initialAlarmMemory(): AlarmMemory {
  return { state: 'INSUFFICIENT_DATA', reason: 'Unchecked: Initial alarm creation', since: 0, period: null, acc: emptyAcc(), datapoints: [] };
}

/** The newest real datapoint in the memory's range, or null. */
export function latestValue(memory: AlarmMemory): number | null {
  for (let i = memory.datapoints.length - 1; i >= 0; i--) if (memory.datapoints[i].value !== null) return memory.datapoints[i].value;
  return null;
}

function add(acc: Accumulator, rule: AlarmRule, s: AlarmSample): Accumulator {
  if (rule.metric === 'error-rate') {
    const e = s.values['5xx'];
    if (e === null || e === undefined || s.responses === null) return acc;
    return { ...acc, n: acc.n + 1, errors: acc.errors + e, responses: acc.responses + s.responses };
  }
  const v = s.values[rule.metric];
  if (v === null || v === undefined || !Number.isFinite(v)) return acc;
  return { ...acc, n: acc.n + 1, sum: acc.sum + v, min: Math.min(acc.min, v), max: Math.max(acc.max, v) };
}

function datapointOf(acc: Accumulator, rule: AlarmRule): number | null {
  if (acc.n === 0) return null;
  switch (statisticOf(rule)) {
    case 'ratio':
      // No response in the period: no datapoint (CloudWatch's metric math on an empty RequestCount).
      return acc.responses > 0 ? (100 * acc.errors) / acc.responses : null;
    case 'average':
      return acc.sum / acc.n;
    case 'minimum':
      return acc.min;
    case 'maximum':
      return acc.max;
    case 'sum':
      return acc.sum;
  }
}

/** One rule, one tick: the memory after it, the transitions and evaluations it caused (one per closed period at most). */
export function observeAlarm(
  rule: AlarmRule,
  memory: AlarmMemory,
  sample: AlarmSample,
): { memory: AlarmMemory; transitions: AlarmTransition[]; evaluations: AlarmEvaluation[] } {
  const periodMs = rule.period * 1000;
  const k = Math.floor(sample.t / periodMs);
  const range = rule.evaluationPeriods + 2;
  const transitions: AlarmTransition[] = [];
  const evaluations: AlarmEvaluation[] = [];
  let m: AlarmMemory = memory.period === null ? { ...memory, period: k } : memory;
  // Each period that closed is evaluated in turn, as CloudWatch evaluates every period. A sample from an
  // earlier period (a clock that went back) joins the open one.
  while (m.period !== null && m.period < k) {
    const closing: number = m.period;
    const datapoints = [...m.datapoints, { at: closing * periodMs, value: datapointOf(m.acc, rule) }].slice(-range);
    const verdict = evaluateDatapoints(rule, datapoints, m.state);
    evaluations.push({ alarm: rule.name, t: sample.t, state: verdict.state, value: datapoints[datapoints.length - 1].value });
    if (verdict.state !== m.state) {
      transitions.push({ alarm: rule.name, t: sample.t, from: m.state, to: verdict.state, reason: verdict.reason, datapoints: verdict.used, breaching: verdict.breaching });
      m = { ...m, state: verdict.state, reason: verdict.reason, since: sample.t };
    } else if (!verdict.keep) {
      m = { ...m, reason: verdict.reason };
    }
    // After a long gap only the last `range` missing periods can matter: the ones before them are skipped.
    m = { ...m, period: Math.max(closing + 1, k - range), acc: emptyAcc(), datapoints };
  }
  return { memory: { ...m, acc: add(m.acc, rule, sample) }, transitions, evaluations };
}

/** Every rule, one tick (memories in rule order). */
export function evaluateAlarms(
  rules: readonly AlarmRule[],
  memories: readonly AlarmMemory[],
  sample: AlarmSample,
): { memories: AlarmMemory[]; transitions: AlarmTransition[]; evaluations: AlarmEvaluation[] } {
  const out: AlarmMemory[] = [];
  const transitions: AlarmTransition[] = [];
  const evaluations: AlarmEvaluation[] = [];
  rules.forEach((rule, i) => {
    const r = observeAlarm(rule, memories[i] ?? initialAlarmMemory(), sample);
    out.push(r.memory);
    transitions.push(...r.transitions);
    evaluations.push(...r.evaluations);
  });
  return { memories: out, transitions, evaluations };
}

export interface Verdict {
  state: AlarmState;
  reason: string;
  /** The datapoints the decision used, oldest first. */
  used: Datapoint[];
  breaching: number;
  /** true when the state was kept without a new reason (`ignore`). */
  keep: boolean;
}

const TREATED: Record<TreatMissing, string> = { breaching: 'Breaching', notBreaching: 'NonBreaching', missing: 'Missing', ignore: 'Ignore' };
const s = (n: number) => (n === 1 ? '' : 's');
const wasWere = (n: number) => (n === 1 ? 'was' : 'were');

/**
 * CloudWatch's evaluation of one range of datapoints (oldest first, at most
 * N + 2; null = missing) for an alarm now in `current`. Pure: this is the
 * function the documented tables are checked against.
 */
export function evaluateDatapoints(rule: AlarmRule, datapoints: readonly Datapoint[], current: AlarmState): Verdict {
  const N = rule.evaluationPeriods;
  const M = rule.datapointsToAlarm;
  const range = datapoints.slice(-(N + 2));
  const real = range.filter((d) => d.value !== null);
  const isBreach = (d: Datapoint) => d.value !== null && breaches(rule, d.value);
  const thr = fmtNumber(rule.threshold);
  const words = COMPARISON_WORDS[rule.comparison];
  const list = (ds: readonly Datapoint[], before = 0) => `[${[...[...ds].reverse().map((d) => (d.value === null ? '-' : fmtNumber(d.value))), ...Array<string>(before).fill('-')].join(', ')}]`;
  const toAlarm = `(minimum ${M} datapoint${s(M)} for OK -> ALARM transition)`;
  const okMin = N - M + 1;
  const toOk = `(minimum ${okMin} datapoint${s(okMin)} for ALARM -> OK transition)`;
  const crossed = (state: AlarmState, used: readonly Datapoint[], breaching: number, fills: number, beforeStart = 0): Verdict => {
    const n = used.length + beforeStart;
    const filled = fills > 0 ? `; ${fills} missing datapoint${s(fills)} ${wasWere(fills)} treated as [${TREATED[rule.treatMissingData]}]` : '';
    const shown = list(used, beforeStart);
    const reason =
      state === 'ALARM'
        ? `Threshold Crossed: ${breaching} out of the last ${n} datapoints ${shown} ${wasWere(breaching)} ${words} the threshold (${thr})${filled} ${toAlarm}.`
        : `Threshold Crossed: ${n - breaching} out of the last ${n} datapoints ${shown} ${wasWere(n - breaching)} not ${words} the threshold (${thr})${filled} ${toOk}.`;
    return { state, reason, used: [...used], breaching, keep: false };
  };

  if (real.length >= N) {
    const used = real.slice(-N);
    const b = used.filter(isBreach).length;
    return crossed(b >= M ? 'ALARM' : 'OK', used, b, 0);
  }
  if (real.length === 0) {
    const none = `no datapoints were received for ${range.length} period${s(range.length)}`;
    switch (rule.treatMissingData) {
      case 'missing':
        return { state: 'INSUFFICIENT_DATA', reason: `Insufficient Data: ${range.length} datapoint${s(range.length)} ${wasWere(range.length)} unknown.`, used: [...range], breaching: 0, keep: false };
      case 'ignore':
        return { state: current, reason: '', used: [...range], breaching: 0, keep: true };
      case 'breaching':
        return { state: 'ALARM', reason: `Threshold Crossed: ${none} and ${N} missing datapoint${s(N)} ${wasWere(N)} treated as [Breaching] ${toAlarm}.`, used: [...range], breaching: N, keep: false };
      case 'notBreaching':
        return { state: 'OK', reason: `Threshold Crossed: ${none} and ${N} missing datapoint${s(N)} ${wasWere(N)} treated as [NonBreaching] ${toOk}.`, used: [...range], breaching: 0, keep: false };
    }
  }
  // Fewer than N real datapoints: all of them count, and N − real are filled (the most recent missing ones).
  const fills = N - real.length;
  const b = real.filter(isBreach).length;
  if (rule.treatMissingData === 'breaching' || rule.treatMissingData === 'notBreaching') {
    const filled = new Set(range.map((d, i) => (d.value === null ? i : -1)).filter((i) => i >= 0).slice(-fills));
    const used = range.filter((d, i) => d.value !== null || filled.has(i));
    const breaching = rule.treatMissingData === 'breaching' ? b + fills : b;
    // Early in a run the range is shorter than N: the periods before the lab started are filled too (shown, not kept).
    return crossed(breaching >= M ? 'ALARM' : 'OK', used, breaching, fills, fills - filled.size);
  }
  if (b >= M) return crossed('ALARM', real, b, 0);
  // Premature alarm state: every real datapoint breaches, and the oldest breaching one among the last N periods is ≥ M periods old.
  const lastN = range.slice(-N);
  const oldest = lastN.findIndex(isBreach);
  const age = oldest < 0 ? 0 : lastN.length - oldest;
  if (b === real.length && oldest >= 0 && age >= M) {
    if (rule.treatMissingData === 'ignore') return { state: current, reason: '', used: [...range], breaching: b, keep: true };
    const after = age - 1;
    return {
      state: 'ALARM',
      reason:
        `Threshold Crossed: ${b} out of the last ${real.length} datapoint${s(real.length)} ${list(real)} ${wasWere(b)} ${words} the threshold (${thr}) ` +
        `and the ${after} period${s(after)} since had no data: the oldest breaching datapoint is ${age} periods old (minimum ${M} for OK -> ALARM transition).`,
      used: [...range],
      breaching: b,
      keep: false,
    };
  }
  return crossed('OK', real, b, 0);
}
