/**
 * A recorded lab run with a schedule (test/fixtures/schedule-run: a lab on
 * worker-cpu whose actions ran every minute, `stats` lines and worker rows
 * left out): its schedule events read back through the one run reader, are
 * worded as plain lines, and `step()` fed the recorded ticks from the run's
 * wall-clock start gives every recorded decision again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ScheduleEvent } from '../../src/events.js';
import { readRunDir } from '../../src/runs/read.js';
import { readRun } from '../../src/replay/recording.js';
import { recordedSettings } from '../../src/replay/against.js';
import { checkDecisions } from '../../src/replay/decisions.js';
import { resolvePolicy } from '../../src/settings/policy-flags.js';
import { formatPlainLine } from '../../src/dashboard/plain.js';

const DIR = fileURLToPath(new URL('../fixtures/schedule-run', import.meta.url));

test('the run reader reads the schedule (in the settings) and each action run', () => {
  const rec = readRunDir(DIR);
  assert.deepEqual(rec.events.problems, []);
  assert.deepEqual(rec.events.started.config.schedule, [
    { name: 'up', cron: '*/2 * * * *', tz: 'Europe/Berlin', min: 3 },
    { name: 'down', cron: '1-59/2 * * * *', tz: 'Europe/Berlin', min: 1, max: 4 },
  ]);
  const runs = rec.events.events.filter((e): e is ScheduleEvent => e.type === 'schedule');
  assert.deepEqual(runs.map((e) => [e.name, e.min, e.max]), [['down', 1, 4], ['up', 3, 4], ['down', 1, 4], ['up', 3, 4], ['down', 1, 4]]);
  // Each ran on its minute, within one tick (3 s) of it on the lab's clock.
  for (const e of runs) {
    const wall = rec.events.started.startedAt + e.t;
    assert.ok(wall >= e.at && wall - e.at < 3500, `${e.name} at ${new Date(e.at).toISOString()} ran at ${new Date(wall).toISOString()}`);
    assert.equal(new Date(e.at).getUTCSeconds(), 0);
  }
  const up = runs[1];
  assert.deepEqual([up.from, up.to], [1, 3]);
  assert.equal(
    formatPlainLine(up),
    '+01:23 schedule "up" (*/2 * * * *, 10:44 Sun 6 Dec Europe/Berlin) sets min 3: now min 3, max 4, count 1 → 3; next "down" 10:45 Sun 6 Dec Europe/Berlin',
  );
});

test('replayed through step() from the recorded start, every decision is the recorded one; without the schedule they are not', () => {
  const run = readRun(DIR);
  const config = resolvePolicy({}, recordedSettings(run));
  assert.equal(config.schedule.length, 2);
  const same = checkDecisions(run, config)!;
  assert.equal(same.same, same.ticks);
  assert.ok(same.ticks > 80);
  const without = checkDecisions(run, { ...config, schedule: [] })!;
  assert.ok(without.same < without.ticks);
});
