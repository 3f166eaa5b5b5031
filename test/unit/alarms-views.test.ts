/**
 * What people see of alarms, pure: the dashboard's alarm line, the plain log
 * line, the report's bands and table, status text, the unhealthy count and a
 * tick's alarm sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlarmRule } from '../../src/alarms/rule.js';
import { alarmSample, countUnhealthy } from '../../src/alarms/sample.js';
import type { AlarmEvent, LabEvent, LabSettings } from '../../src/events.js';
import { initialDashboardState, reduceDashboard } from '../../src/dashboard/state.js';
import { alarmSegments } from '../../src/dashboard/panels/header.js';
import { formatPlainLine } from '../../src/dashboard/plain.js';
import { runAlarms } from '../../src/report/alarms.js';
import { alarmRows } from '../../src/report/words.js';
import { formatStatus } from '../../src/control/format-status.js';
import type { LabStatus } from '../../src/control/operator.js';

const RULES: AlarmRule[] = [
  { name: '5xx', metric: '5xx', comparison: '>', threshold: 10, period: 60, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingData: 'notBreaching' },
  { name: 'p95', metric: 'p95', comparison: '>', threshold: 1000, period: 60, evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: 'notBreaching' },
];

const alarm = (t: number, name: string, from: AlarmEvent['from'], to: AlarmEvent['to'], value: number): AlarmEvent => ({
  type: 'alarm', t, alarm: name, from, to, reason: `Threshold Crossed: [${value}]`, datapoints: [{ at: t - 60_000, value }], breaching: to === 'ALARM' ? 1 : 0, metric: '5xx', threshold: 10, rule: 'r',
});

const started = { type: 'started', t: 0, startedAt: 0, balancerUrl: 'http://127.0.0.1:8000', runDir: '/r', pid: 1, config: { min: 1, max: 5, alarms: RULES } as unknown as LabSettings } as LabEvent;

test('dashboard: an alarm line from started, each tick and each alarm event; ALARM and OK get their tone', () => {
  let s = reduceDashboard(initialDashboardState(), started);
  assert.deepEqual(alarmSegments(s, 120)?.map((x) => [x.text, x.tone]), [['alarms ', 'unknown'], [' 5xx NO DATA ', 'unknown'], [' p95 NO DATA ', 'unknown']]);
  s = reduceDashboard(s, alarm(60_000, '5xx', 'INSUFFICIENT_DATA', 'ALARM', 12));
  s = reduceDashboard(s, { type: 'tick', t: 61_000, cpu: 1, metric: 'host-cpu', value: 1, metrics: { 'host-cpu': 1, 'worker-cpu': null, rps: 0, concurrency: 0, p95: null }, warming: 0, instances: 1, ready: 1, desired: 1, action: 'hold', reason: '', paused: false, traffic: { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 }, workers: [], observation: { t: 0, hostCpu: 1, latency: { p50: null, p95: null, p99: null }, workers: [] }, state: { desired: 1, starting: 0, ready: 1 }, alarms: [{ name: '5xx', state: 'ALARM', since: 60_000, value: 12 }, { name: 'p95', state: 'OK', since: 60_000, value: 230.5 }] } as LabEvent);
  assert.deepEqual(alarmSegments(s, 120)?.map((x) => [x.text, x.tone]), [['alarms ', 'unknown'], [' 5xx ALARM 12 ', 'alarm'], [' p95 OK 230.5 ms ', 'ok']]);
  // Narrow: names and states only, then "…".
  assert.deepEqual(alarmSegments(s, 31)?.map((x) => x.text), ['alarms ', ' 5xx ALARM 12 ', ' p95 OK ']);
  assert.deepEqual(alarmSegments(s, 26)?.map((x) => x.text), ['alarms ', ' 5xx ALARM 12 ', ' …']);
  assert.equal(alarmSegments(reduceDashboard(initialDashboardState(), { ...started, config: { min: 1, max: 5 } } as LabEvent), 120), null);
});

test('plain log line of a transition and of a failed notifier', () => {
  assert.equal(formatPlainLine(alarm(65_000, '5xx', 'OK', 'ALARM', 12)), '+01:05 alarm    5xx OK → ALARM: Threshold Crossed: [12]');
  assert.equal(
    formatPlainLine({ type: 'notify', t: 65_000, alarm: '5xx', to: 'ALARM', channel: 'webhook', ok: false, detail: 'http://127.0.0.1:9: ECONNREFUSED' }),
    '+01:05 notify   5xx → ALARM via webhook failed: http://127.0.0.1:9: ECONNREFUSED',
  );
});

test('report: bands cover the run, INSUFFICIENT_DATA until the first change; the table is in time order', () => {
  const events: LabEvent[] = [alarm(60_000, '5xx', 'INSUFFICIENT_DATA', 'OK', 0), alarm(60_000, 'p95', 'INSUFFICIENT_DATA', 'OK', 200), alarm(120_000, '5xx', 'OK', 'ALARM', 40)];
  const alarms = runAlarms(RULES, events, 0, 150);
  assert.deepEqual(alarms[0].bands, [
    { from: 0, to: 60, state: 'INSUFFICIENT_DATA' },
    { from: 60, to: 120, state: 'OK' },
    { from: 120, to: 150, state: 'ALARM' },
  ]);
  assert.equal(alarms[1].rule, 'p95 > 1000 ms (maximum over 1 min, 2 of 3, missing data notBreaching)');
  assert.deepEqual(alarmRows({ alarms }).map((r) => r.slice(0, 3)), [
    ['+01:00', '5xx', 'INSUFFICIENT_DATA → OK'],
    ['+01:00', 'p95', 'INSUFFICIENT_DATA → OK'],
    ['+02:00', '5xx', 'OK → ALARM'],
  ]);
});

test('status: one line per alarm and its reason', () => {
  const s = {
    pid: 1, runDir: '/r', balancerUrl: 'http://127.0.0.1:8000', metricsUrl: null, startedAt: 0, uptimeMs: 90_000,
    settings: { min: 1, max: 5, policy: 'threshold', metric: 'host-cpu', scaleUp: 35, scaleDown: 15, cooldown: 15, interval: 3, warmup: 6 } as LabSettings,
    paused: false, refreshing: false, desired: 1, running: 1, ready: 1, held: 0, workers: [], lastDecision: null,
    alarms: [{ name: '5xx', state: 'ALARM', since: 60_000, value: 12, rule: '5xx > 10 (sum over 1 min, 1 of 1)', reason: 'Threshold Crossed: [12]' }],
  } as LabStatus;
  const lines = formatStatus(s).split('\n');
  assert.ok(lines.includes('alarm 5xx: ALARM since +01:00 (newest datapoint 12); 5xx > 10 (sum over 1 min, 1 of 1)'), lines.join('\n'));
  assert.ok(lines.includes('  Threshold Crossed: [12]'));
});

test('unhealthy: out of rotation while ready, marked unhealthy, or waiting to restart; a tick becomes a sample', () => {
  assert.equal(
    countUnhealthy([
      { state: 'ready', healthy: true, inRotation: true },
      { state: 'ready', healthy: true, inRotation: false },
      { state: 'draining', healthy: false, inRotation: false },
      { state: 'backoff', healthy: true, inRotation: undefined },
      { state: 'starting', healthy: true, inRotation: undefined },
      { state: 'exited', healthy: false, inRotation: undefined },
    ]),
    3,
  );
  const metrics = { 'host-cpu': 50, 'worker-cpu': null, rps: 10, concurrency: 1, p95: 120 };
  assert.deepEqual(alarmSample({ t: 3000, metrics, p99: 300, responses: { total: 40, serverErrors: 4 }, unhealthy: 1, desired: 5, max: 5 }), {
    t: 3000,
    values: { ...metrics, p99: 300, '5xx': 4, unhealthy: 1, 'at-max': 1 },
    responses: 40,
  });
  assert.deepEqual(alarmSample({ t: 3000, metrics, p99: null, responses: null, unhealthy: 0, desired: 2, max: 5 }).values['5xx'], null, 'L4: no 5xx datapoint');
});
