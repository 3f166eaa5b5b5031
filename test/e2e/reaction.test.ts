/** The one definition of reaction time (src/policy/reaction.ts), shared by `report` and `simulate`/`replay`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { medianReaction, reactionTimes, simulatedReactionEvents, type ReactionEvent } from '../../src/policy/reaction.js';
import { loadRun } from '../../src/report/run-dir.js';
import { runReplay } from '../../src/replay/run.js';

const S = { policy: 'threshold' as const, scaleUp: 35, target: 50, tolerance: 0.1, max: 3 };
const tick = (t: number, value: number | null, desired = 1): ReactionEvent => ({ kind: 'tick', t, value, desired });
const out = (t: number, manual = false, from = 1): ReactionEvent => ({ kind: 'scale-out', t, manual, from });
const fork = (t: number, id: number): ReactionEvent => ({ kind: 'fork', t, id });
const ready = (t: number, id: number): ReactionEvent => ({ kind: 'ready', t, id });

test('reaction time: from the crossing tick to the added worker ready, each occurrence', () => {
  const cases: Array<{ name: string; events: ReactionEvent[]; want: (number | null)[]; median?: number | null; notes?: (string | null)[] }> = [
    { name: 'one crossing answered', events: [tick(3000, 20), tick(6000, 50), fork(6000, 2), out(6000), ready(8500, 2)], want: [2.5], median: 2.5 },
    { name: 'the policy waits a tick: measured from the crossing, not the scale', events: [tick(3000, 50), tick(6000, 60), fork(6000, 2), out(6000), ready(7000, 2)], want: [4] },
    { name: 'staying above is one crossing', events: [tick(3000, 50), fork(3000, 2), out(3000), ready(4000, 2), tick(6000, 60), fork(6000, 3), out(6000), ready(7000, 3)], want: [1] },
    { name: 'two crossings, the median of both', events: [tick(3000, 50), fork(3000, 2), out(3000), ready(4000, 2), tick(6000, 10), tick(9000, 50), fork(9000, 3), out(9000), ready(12_000, 3)], want: [1, 3], median: 2 },
    { name: 'a worker forked before the crossing does not count', events: [fork(1000, 9), tick(3000, 50), fork(3000, 2), out(3000), ready(3500, 9), ready(5000, 2)], want: [2] },
    { name: 'a manual scale-out is not the policy answering', events: [tick(3000, 50), fork(3000, 2), out(3000, true), ready(4000, 2), tick(6000, 10)], want: [null], notes: ['the metric fell back before the policy scaled out'] },
    { name: 'already at max', events: [tick(3000, 50, 3), tick(6000, 10, 3)], want: [null], notes: ['already at max 3'] },
    { name: 'the end comes before the worker is ready', events: [tick(3000, 50), fork(3000, 2), out(3000)], want: [null], median: null, notes: ['the run ended before the added worker was ready'] },
    { name: 'a null metric never crosses', events: [tick(3000, null), tick(6000, null)], want: [] },
  ];
  for (const c of cases) {
    const r = reactionTimes(c.events, S);
    assert.deepEqual(r.map((x) => x.seconds), c.want, c.name);
    if (c.median !== undefined) assert.equal(medianReaction(r), c.median, c.name);
    if (c.notes) assert.deepEqual(r.map((x) => x.note), c.notes, c.name);
  }
  assert.deepEqual(reactionTimes([tick(3000, 54), fork(3000, 2), out(3000), ready(4000, 2)], { ...S, policy: 'target' }).map((r) => r.seconds), [], 'target: 54/50 is inside the tolerance');
  assert.deepEqual(reactionTimes([tick(3000, 56), fork(3000, 2), out(3000), ready(4000, 2)], { ...S, policy: 'target' }).map((r) => r.seconds), [1]);
});

test('simulated timelines: the same definition on the simulated ticks; a cancelled boot is not a ready', () => {
  const ticks = [{ t: 3000, value: 10, desired: 1 }, { t: 6000, value: 50, desired: 2 }, { t: 9000, value: 50, desired: 2 }, { t: 12_000, value: 10, desired: 1 }, { t: 15_000, value: 50, desired: 2 }, { t: 18_000, value: 5, desired: 1 }];
  // Scale-outs at 6 s and 15 s with a 2 s boot: ready at 8 s and 17 s.
  const scales = [{ t: 6000, from: 1, to: 2 }, { t: 12_000, from: 2, to: 1 }, { t: 15_000, from: 1, to: 2 }, { t: 18_000, from: 2, to: 1 }];
  const r = reactionTimes(simulatedReactionEvents(ticks, scales, [0, 8000, 17_000], 2000), S);
  assert.deepEqual(r.map((x) => x.seconds), [2, 2]);
  // The second boot never finished (cancelled): no ready time for it.
  const cancelled = reactionTimes(simulatedReactionEvents(ticks, scales, [0, 8000], 2000), S);
  assert.deepEqual(cancelled.map((x) => x.seconds), [2, null]);
});

test('report and replay give the same reaction time for the same recorded run', (t) => {
  // The checked-in run predates the schema field on its started line (report requires it): the same events with it.
  const src = fileURLToPath(new URL('../fixtures/replay-target-worker-cpu', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-reaction-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'events.ndjson'), readFileSync(join(src, 'events.ndjson'), 'utf8').replace('{"type":"started",', '{"type":"started","schema":1,'));
  copyFileSync(join(src, 'load.ndjson'), join(dir, 'load.ndjson'));
  const report = loadRun(dir, { env: { XDG_STATE_HOME: '/nonexistent-autoscale-test' } }).model.summary.reactionMedianSec;
  const replay = (JSON.parse(runReplay(dir, {}, { json: true })) as { rows: Array<{ label: string; reactionS: number | null }> }).rows[0];
  assert.equal(replay.label, 'recorded run');
  assert.notEqual(report, null, 'the fixture has a measured reaction');
  assert.equal(replay.reactionS, report);
});

test('scale from zero: a cold start is its own reaction (held request → worker ready); a crossing at zero is none', () => {
  // Host CPU above the threshold while the pool is at zero (other processes), then a request cold-starts worker 4.
  const events = [tick(3000, 20, 1), tick(6000, 5, 0), tick(9000, 60, 0), tick(12_000, 70, 0), out(13_000, false, 0), fork(13_000, 4), ready(13_385, 4), tick(15_000, 10, 1)];
  const r = reactionTimes(events, S);
  assert.deepEqual(
    r.map((x) => [x.trigger, x.crossedAt, x.readyAt, x.seconds]),
    [['from zero', 13, 13.385, 0.385]],
    'the crossing at 9 s (at zero) is not paired with the cold start at 13 s',
  );
  // The simulator pushes the fork before its scale-out: the worker still counts.
  const sim = reactionTimes(simulatedReactionEvents([{ t: 3000, value: 90, desired: 0 }], [{ t: 4000, from: 0, to: 1 }], [6000], 2000), S);
  assert.deepEqual(sim.map((x) => [x.trigger, x.seconds]), [['from zero', 2]]);
  // Host CPU stays high (other programs) while the cold start's worker boots: the crossing counts from the first
  // tick after it is ready, and the policy's 1 → 2 is measured from there.
  const after = reactionTimes([tick(6000, 90, 0), out(7000, false, 0), fork(7000, 5), tick(9000, 90, 1), ready(9500, 5), tick(12_000, 90, 2), fork(12_000, 6), out(12_000), ready(14_000, 6)], S);
  assert.deepEqual(after.map((x) => [x.trigger, x.crossedAt, x.seconds]), [['from zero', 7, 2.5], ['metric', 12, 2]]);
  // A crossing with workers running, then the pool goes to zero before the policy answered it.
  const gone = reactionTimes([tick(3000, 60, 2), tick(6000, 60, 0)], S);
  assert.deepEqual(gone.map((x) => [x.trigger, x.seconds, x.note]), [['metric', null, 'the pool went to zero before the policy scaled out']]);
});
