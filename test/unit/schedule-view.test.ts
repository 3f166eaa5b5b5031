/** The schedule where people look: the dashboard header's own line (80 columns keep the next action), and its event line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerLines } from '../../src/dashboard/panels/header.js';
import { initialDashboardState, reduceDashboard } from '../../src/dashboard/state.js';
import { DEFAULTS } from '../../src/settings/config.js';
import { publicSettings } from '../../src/settings/config.js';
import { parseScheduleFlag } from '../../src/policy/schedule.js';
import type { LabEvent, TickEvent } from '../../src/events.js';

const startedAt = Date.parse('2026-12-06T18:59:00Z');
const config = { ...publicSettings(DEFAULTS), schedule: [parseScheduleFlag('name=night cron=0 20 * * * min=1 max=3 tz=Europe/Berlin', 0, 64), parseScheduleFlag('name=day cron=0 8 * * MON-FRI min=2 tz=Europe/Berlin', 1, 64)] };
const started: LabEvent = { type: 'started', t: 0, startedAt, balancerUrl: 'http://127.0.0.1:8000', runDir: '/tmp/x', pid: 1, config };
const tick = (t: number, schedule: TickEvent['schedule']): LabEvent => ({
  type: 'tick', t, cpu: 5, metric: 'host-cpu', value: 5, metrics: { 'host-cpu': 5, 'worker-cpu': null, rps: null, concurrency: null, p95: null }, warming: 0, instances: 2, ready: 2, desired: 2,
  action: 'hold', reason: 'hold', paused: false, traffic: { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 }, workers: [], observation: { t, hostCpu: 5, latency: { p50: null, p95: null, p99: null }, workers: [] }, state: { desired: 2, starting: 0, ready: 2 }, ...(schedule ? { schedule } : {}),
});

test('header: a schedule line of its own, the next action first in its zone\'s local time, then the bounds in force', () => {
  let s = reduceDashboard(initialDashboardState(), started);
  assert.equal(headerLines(s, 80)[2], 'schedule · first tick pending');
  // 18:59:03 UTC: the night action runs at 20:00 Berlin = 19:00 UTC, in 57 s.
  s = reduceDashboard(s, tick(3000, { min: 1, max: 5, next: { name: 'night', at: Date.parse('2026-12-06T19:00:00Z'), tz: 'Europe/Berlin' } }));
  assert.equal(headerLines(s, 80)[2], 'schedule · next "night" 20:00 Sun 6 Dec Europe/Berlin, in 57 s · min 1 · max 5');
  s = reduceDashboard(s, tick(63_000, { min: 1, max: 3, next: { name: 'day', at: Date.parse('2026-12-07T07:00:00Z'), tz: 'Europe/Berlin' } }));
  const lines = headerLines(s, 80);
  assert.equal(lines.length, 4);
  assert.equal(lines[2], 'schedule · next "day" 08:00 Mon 7 Dec Europe/Berlin, in 11 h 59 min 57 s · min …');
  assert.ok(lines.every((l) => l.length <= 80));
  assert.equal(headerLines(s, 200)[2], 'schedule · next "day" 08:00 Mon 7 Dec Europe/Berlin, in 11 h 59 min 57 s · min 1 · max 3 (--max 5)');
});

test('header: no schedule, no line', () => {
  const s = reduceDashboard(initialDashboardState(), { ...started, config: publicSettings(DEFAULTS) } as LabEvent);
  assert.equal(headerLines(s, 80).length, 3);
});
