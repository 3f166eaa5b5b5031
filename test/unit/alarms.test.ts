/**
 * The alarm evaluator against CloudWatch's documented behaviour.
 *
 * The two tables are the Amazon CloudWatch User Guide's, "Configuring how
 * CloudWatch alarms treat missing data" → "How alarm state is evaluated when
 * data is missing" (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
 * alarms-and-missing-data.html): each row is the 5 most recent datapoints of
 * the evaluation range, oldest first ("0" not breaching, "X" breaching, "-"
 * missing), and the state for each way of treating missing data. The first
 * table has Datapoints to Alarm = Evaluation Periods = 3; the second is the
 * "2 out of 3" alarm. Row 5 of each is the guide's "premature alarm state"
 * case; the extra rows are that section's own examples ("- - - - X" and
 * "- - - X -" do not alarm with M = 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  evaluateAlarms,
  evaluateDatapoints,
  initialAlarmMemory,
  latestValue,
  observeAlarm,
  type AlarmMemory,
  type AlarmSample,
  type AlarmState,
  type AlarmTransition,
  type Datapoint,
} from '../../src/alarms/evaluate.js';
import { AlarmRuleError, describeRule, parseAlarmRules, type AlarmRule, type TreatMissing } from '../../src/alarms/rule.js';

const rule = (over: Partial<AlarmRule> = {}): AlarmRule => ({
  name: 'test',
  metric: '5xx',
  comparison: '>',
  threshold: 10,
  period: 60,
  evaluationPeriods: 3,
  datapointsToAlarm: 3,
  treatMissingData: 'missing',
  ...over,
});

/** "0 - X - X" → datapoints, oldest first: 0 → 5 (below 10), X → 15, - → missing. */
const points = (row: string): Datapoint[] =>
  row.split(' ').map((c, i) => ({ at: i * 60_000, value: c === '-' ? null : c === 'X' ? 15 : c === '0' ? 5 : Number.NaN }));

const RETAIN = 'retain';
type Row = [row: string, missing: AlarmState, ignore: AlarmState | typeof RETAIN, breaching: AlarmState, notBreaching: AlarmState];

const TABLE_3_OF_3: Row[] = [
  ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
  ['- - - - 0', 'OK', 'OK', 'OK', 'OK'],
  ['- - - - -', 'INSUFFICIENT_DATA', RETAIN, 'ALARM', 'OK'],
  ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['- - X - -', 'ALARM', RETAIN, 'ALARM', 'OK'],
  // "Avoiding premature transitions to alarm state": not yet, the next datapoint may be good.
  ['- - - - X', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - X -', 'OK', 'OK', 'ALARM', 'OK'],
];

const TABLE_2_OF_3: Row[] = [
  ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
  ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
  ['- - - X -', 'ALARM', RETAIN, 'ALARM', 'OK'],
];

const TREATMENTS: TreatMissing[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

for (const [title, M, table] of [['3 out of 3', 3, TABLE_3_OF_3], ['2 out of 3', 2, TABLE_2_OF_3]] as const) {
  for (const [row, ...expected] of table) {
    test(`CloudWatch table, ${title}: ${row}`, () => {
      TREATMENTS.forEach((treat, i) => {
        for (const current of ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const) {
          const v = evaluateDatapoints(rule({ datapointsToAlarm: M, treatMissingData: treat }), points(row), current);
          const want = expected[i] === RETAIN ? current : expected[i];
          assert.equal(v.state, want, `${row} treated as ${treat}, from ${current}`);
        }
      });
    });
  }
}

test('only the N most recent real datapoints decide once there are N of them (older ones do not)', () => {
  // X X X then three good ones: the range is 5 long, the last 3 real are good.
  assert.equal(evaluateDatapoints(rule(), points('X X 0 0 0'), 'ALARM').state, 'OK');
  assert.equal(evaluateDatapoints(rule({ datapointsToAlarm: 1 }), points('X X 0 0 0'), 'ALARM').state, 'OK');
  assert.equal(evaluateDatapoints(rule({ datapointsToAlarm: 1 }), points('0 0 X 0 0'), 'OK').state, 'ALARM');
  // N = 1: the newest real datapoint alone.
  assert.equal(evaluateDatapoints(rule({ evaluationPeriods: 1, datapointsToAlarm: 1 }), points('X'), 'OK').state, 'ALARM');
  assert.equal(evaluateDatapoints(rule({ evaluationPeriods: 1, datapointsToAlarm: 1 }), points('X 0 -'), 'ALARM').state, 'OK');
});

test('each comparison, at the threshold itself', () => {
  const at = [{ at: 0, value: 10 }];
  const one = { evaluationPeriods: 1, datapointsToAlarm: 1 };
  assert.equal(evaluateDatapoints(rule({ ...one, comparison: '>' }), at, 'OK').state, 'OK');
  assert.equal(evaluateDatapoints(rule({ ...one, comparison: '>=' }), at, 'OK').state, 'ALARM');
  assert.equal(evaluateDatapoints(rule({ ...one, comparison: '<' }), at, 'OK').state, 'OK');
  assert.equal(evaluateDatapoints(rule({ ...one, comparison: '<=' }), at, 'OK').state, 'ALARM');
});

test('reasons read like CloudWatch StateReason, newest datapoint first', () => {
  const d = [11, 15, 12].map((value, i) => ({ at: i * 60_000, value }));
  assert.equal(
    evaluateDatapoints(rule(), d, 'OK').reason,
    'Threshold Crossed: 3 out of the last 3 datapoints [12, 15, 11] were greater than the threshold (10) (minimum 3 datapoints for OK -> ALARM transition).',
  );
  assert.equal(
    evaluateDatapoints(rule(), points('X X 0'), 'ALARM').reason,
    'Threshold Crossed: 1 out of the last 3 datapoints [5, 15, 15] was not greater than the threshold (10) (minimum 1 datapoint for ALARM -> OK transition).',
  );
  assert.equal(evaluateDatapoints(rule(), points('- - - - -'), 'OK').reason, 'Insufficient Data: 5 datapoints were unknown.');
  // Filled datapoints show as "-": the 2 most recent missing periods, with the real one between them.
  assert.equal(
    evaluateDatapoints(rule({ treatMissingData: 'breaching' }), points('- - - X -'), 'OK').reason,
    'Threshold Crossed: 3 out of the last 3 datapoints [-, 15, -] were greater than the threshold (10); 2 missing datapoints were treated as [Breaching] (minimum 3 datapoints for OK -> ALARM transition).',
  );
  // The first period of a run: the periods before the lab started are filled (newest first, so they come last).
  assert.equal(
    evaluateDatapoints(rule({ comparison: '>=', threshold: 1, treatMissingData: 'notBreaching' }), [{ at: 0, value: 1 }], 'INSUFFICIENT_DATA').reason,
    'Threshold Crossed: 2 out of the last 3 datapoints [1, -, -] were not greater than or equal to the threshold (1); 2 missing datapoints were treated as [NonBreaching] (minimum 1 datapoint for ALARM -> OK transition).',
  );
  assert.match(evaluateDatapoints(rule(), points('- - X - -'), 'OK').reason, /oldest breaching datapoint is 3 periods old/);
});

// ---- observeAlarm: periods, statistics, transitions ----

const sample = (t: number, values: AlarmSample['values'], responses: number | null = 100): AlarmSample => ({ t, values, responses });

function run(r: AlarmRule, samples: AlarmSample[]): { memory: AlarmMemory; transitions: AlarmTransition[] } {
  let memory = initialAlarmMemory();
  const transitions: AlarmTransition[] = [];
  for (const s of samples) {
    const out = observeAlarm(r, memory, s);
    memory = out.memory;
    transitions.push(...out.transitions);
  }
  return { memory, transitions };
}

test('5xx > 10 in 5 s: ticks of one period sum into one datapoint, the next period closes it, then ALARM → OK', () => {
  const r = rule({ period: 5, evaluationPeriods: 1, datapointsToAlarm: 1 });
  // Ticks every second: 3 + 4 + 5 + 0 + 0 = 12 5xx in [0, 5 s), nothing after.
  const ticks = [3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0].map((n, i) => sample(i * 1000 + 500, { '5xx': n }));
  const { memory, transitions } = run(r, ticks);
  assert.deepEqual(
    transitions.map((x) => [x.t, x.from, x.to]),
    [
      [5500, 'INSUFFICIENT_DATA', 'ALARM'],
      [10_500, 'ALARM', 'OK'],
    ],
  );
  assert.deepEqual(transitions[0].datapoints, [{ at: 0, value: 12 }]);
  assert.equal(transitions[0].reason, 'Threshold Crossed: 1 out of the last 1 datapoints [12] was greater than the threshold (10) (minimum 1 datapoint for OK -> ALARM transition).');
  assert.equal(memory.state, 'OK');
  assert.equal(latestValue(memory), 0);
});

test('statistics: average, minimum, maximum, sum; error-rate is Σ5xx ÷ Σresponses; no tick value → missing', () => {
  const values = [10, 30, 20];
  const ticks = (metric: 'p95' | 'host-cpu') => [...values.map((v, i) => sample(i * 1000, { [metric]: v })), sample(5000, {})];
  const last = (r: AlarmRule, s: AlarmSample[]) => run(r, s).memory.datapoints.at(-1)?.value;
  const one = { period: 5, evaluationPeriods: 1, datapointsToAlarm: 1 };
  assert.equal(last(rule({ ...one, metric: 'host-cpu' }), ticks('host-cpu')), 20);
  assert.equal(last(rule({ ...one, metric: 'host-cpu', statistic: 'minimum' }), ticks('host-cpu')), 10);
  assert.equal(last(rule({ ...one, metric: 'p95' }), ticks('p95')), 30, 'p95 defaults to the worst tick');
  assert.equal(last(rule({ ...one, metric: 'host-cpu', statistic: 'sum' }), ticks('host-cpu')), 60);
  const errors = [sample(0, { '5xx': 1 }, 10), sample(1000, { '5xx': 4 }, 40), sample(5000, {}, 0)];
  assert.equal(last(rule({ ...one, metric: 'error-rate' }), errors), 10);
  assert.equal(last(rule({ ...one, metric: 'error-rate' }), [sample(0, { '5xx': 0 }, 0), sample(5000, {})]), null, 'no response, no datapoint');
  assert.equal(last(rule({ ...one, metric: 'p95' }), [sample(0, { p95: null }), sample(5000, {})]), null);
});

test('a long gap closes every period in between as missing, and the range stays N + 2 long', () => {
  const r = rule({ period: 1, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'breaching' });
  const { memory, transitions } = run(r, [sample(0, { '5xx': 1 }), sample(1_000_000, { '5xx': 1 })]);
  assert.equal(memory.datapoints.length, 5);
  assert.deepEqual(
    transitions.map((x) => x.to),
    ['OK', 'ALARM'],
  );
});

test('evaluateAlarms keeps one memory per rule and reports each closed period', () => {
  const rules = [rule({ name: 'a', period: 1, evaluationPeriods: 1, datapointsToAlarm: 1 }), rule({ name: 'b', metric: 'unhealthy', comparison: '>', threshold: 0, period: 2, evaluationPeriods: 1, datapointsToAlarm: 1 })];
  let memories = rules.map(() => initialAlarmMemory());
  const seen: string[] = [];
  for (const [t, e, u] of [[0, 20, 1], [1000, 0, 1], [2000, 0, 0], [3000, 0, 0], [4000, 0, 0]] as const) {
    const out = evaluateAlarms(rules, memories, sample(t, { '5xx': e, unhealthy: u }));
    memories = out.memories;
    for (const x of out.transitions) seen.push(`${x.t} ${x.alarm} ${x.to}`);
  }
  assert.deepEqual(seen, ['1000 a ALARM', '2000 a OK', '2000 b ALARM', '4000 b OK']);
});

// ---- rules ----

test('rules: defaults, camelCase or kebab-case keys, and one error naming the key', () => {
  const [r] = parseAlarmRules([{ name: '5xx', metric: '5xx', comparison: '>', threshold: 10, period: 300 }]);
  assert.deepEqual(r, { name: '5xx', metric: '5xx', comparison: '>', threshold: 10, period: 300, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingData: 'missing' });
  assert.equal(describeRule(r), '5xx > 10 (sum over 5 min, 1 of 1)');
  const [c] = parseAlarmRules([{ name: 'x', metric: 'p95', comparison: '>=', threshold: 1000, evaluationPeriods: 3, 'datapoints-to-alarm': 2, treatMissingData: 'notBreaching' }]);
  assert.equal(describeRule(c), 'p95 >= 1000 ms (maximum over 1 min, 2 of 3, missing data notBreaching)');
  const bad: Array<[unknown, string]> = [
    [[{ name: 'a', metric: 'cpu', comparison: '>', threshold: 1 }], 'alarms[0].metric: expected one of'],
    [[{ name: 'a', metric: 'p95', comparison: '=>', threshold: 1 }], 'alarms[0].comparison: expected one of >, >=, <, <=, got "=>"'],
    [[{ name: 'a', metric: 'p95', comparison: '>', threshold: 1, evaluationPeriods: 2, datapointsToAlarm: 3 }], 'alarms[0].datapoints-to-alarm: M (3) must be <= evaluation-periods N (2)'],
    [[{ name: 'a', metric: 'p95', comparison: '>', threshold: 'high' }], 'alarms[0].threshold: expected a number, got "high"'],
    [[{ name: 'a', metric: 'p95', comparison: '>', threshold: 1, period: 0 }], 'alarms[0].period: expected 1 to 86400, got 0'],
    [[{ name: 'a', metric: 'p95', comparison: '>', threshold: 1, colour: 'red' }], 'alarms[0].colour: unknown key'],
    [[{ name: 'a', metric: 'p95', comparison: '>', threshold: 1 }, { name: 'a', metric: 'p99', comparison: '>', threshold: 1 }], 'alarms[1].name: "a" is used by an earlier alarm'],
    [[{ name: 'a', metric: 'error-rate', comparison: '>', threshold: 1, statistic: 'sum' }], 'alarms[0].statistic: error-rate takes no statistic'],
    [[{ name: 'a', metric: 'p95', comparison: '>', threshold: 1, treatMissingData: 'zero' }], 'alarms[0].treat-missing-data: expected one of missing, ignore, breaching, notBreaching'],
    [{ name: 'a' }, 'alarms: expected a list of alarm rules'],
    [['p95 > 1'], 'alarms[0]: expected an alarm rule (an object), got "p95 > 1"'],
  ];
  for (const [input, message] of bad) {
    assert.throws(() => parseAlarmRules(input), (err: unknown) => err instanceof AlarmRuleError && err.message.startsWith(message), message);
  }
});
