/** `simulate` with a schedule: the actions run at their local times over a day, and the savings line is the table's own difference. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulate, simulationStart } from '../../src/simulate/run.js';
import { AutoscaleError } from '../../src/errors.js';

const SCHEDULE = ['name=night cron=0 20 * * * min=1 tz=Europe/Berlin', 'name=workday cron=0 7 * * MON-FRI min=3 tz=Europe/Berlin'];
// From Sunday 18:00 in Berlin over the night into Monday: both actions run, across the day boundary.
const LOAD = { profile: 'sine', period: '24h', duration: '14h', base: '5', peak: '600', start: '2026-12-06T18:00+01:00' };
const FLAGS = { policy: 'target', target: '60', metric: 'worker-cpu', min: '3', max: '20' };

test('a night of a sine load: the night min saves worker-hours against the same policy without it, same SLO', () => {
  const out = JSON.parse(runSimulate({ ...FLAGS, schedule: SCHEDULE }, {}, { ...LOAD, json: true })) as {
    rows: { label: string; workerSeconds: number; overSloS: number; cost: number | null }[];
    schedule: { start: string; workerHours: number; withoutHours: number; cost: number; runs: { name: string; at: number; desired: number }[] };
  };
  assert.deepEqual(out.rows.map((r) => r.label), ['--policy target --target 60 --metric worker-cpu --min 3 --max 20 + schedule', 'same, without the schedule']);
  const [withS, without] = out.rows;
  assert.equal(out.schedule.start, '2026-12-06T17:00:00.000Z');
  // Sunday's night action at 20:00 CET (19:00 UTC), Monday's workday one at 07:00 CET (06:00 UTC).
  assert.deepEqual(out.schedule.runs.map((r) => [r.name, new Date(r.at).toISOString()]), [['night', '2026-12-06T19:00:00.000Z'], ['workday', '2026-12-07T06:00:00.000Z']]);
  // From 20:00 to 07:00 the pool may fall to 1 instead of 3: it saves, and the figure is the rows' difference.
  assert.ok(withS.workerSeconds < without.workerSeconds, `${withS.workerSeconds} < ${without.workerSeconds}`);
  assert.equal(out.schedule.workerHours, (without.workerSeconds - withS.workerSeconds) / 3600);
  assert.equal(out.schedule.withoutHours, without.workerSeconds / 3600);
  // At the report's default price (t3.micro on-demand, USD 0.0104/h).
  assert.ok(Math.abs(out.schedule.cost - out.schedule.workerHours * 0.0104) < 1e-9);
  assert.equal(withS.overSloS, without.overSloS);
});

test('the text names each run in local time and says what the schedule saves', () => {
  const text = runSimulate({ ...FLAGS, schedule: SCHEDULE }, {}, { ...LOAD, duration: '3h', start: '2026-12-06T19:00+01:00', pricePerHour: '0.05' });
  assert.match(text, /^schedule: 2 action\(s\) over 3 h 0 min 0 s from 19:00 Sun 6 Dec Europe\/Berlin; 1 run\(s\):$/m);
  assert.match(text, /^ {2}20:00 Sun 6 Dec Europe\/Berlin {2}"night" → count \d+$/m);
  assert.match(text, /^the schedule saves \d+\.\d worker-hours, \d+ % of \d+\.\d \(\d+\.\d\d at 0\.05\/h\) against the same policy without it, with the same \d+ s over p95 200 ms$/m);
});

test('--start: a time with its zone, only with a schedule; by default the next midnight in the first action\'s zone', () => {
  assert.equal(simulationStart(undefined, 'Europe/Berlin', Date.parse('2026-03-28T12:00:00Z')), Date.parse('2026-03-28T23:00:00Z'));
  // The night after the spring change starts at 00:00 CEST.
  assert.equal(simulationStart(undefined, 'Europe/Berlin', Date.parse('2026-03-29T12:00:00Z')), Date.parse('2026-03-29T22:00:00Z'));
  for (const bad of ['2026-12-07', '2026-12-07T00:00', 'monday']) {
    assert.throws(() => simulationStart(bad, 'UTC', 0), (e: unknown) => e instanceof AutoscaleError && e.code === 'AS_ERR_USAGE' && /--start must be a date and time with its zone/.test(e.message));
  }
  assert.throws(() => runSimulate(FLAGS, {}, LOAD), /--start only matters with a schedule/);
});
