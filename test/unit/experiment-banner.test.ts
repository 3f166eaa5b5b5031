/**
 * What the experiment runner sends to an arm's live page: the progress' own
 * arm, phase and next event on the lab's clock, sent only when it changes,
 * one request on the way at most (the newest waiting one goes next).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BannerSender, bannerStatus } from '../../src/experiment/banner.js';
import type { ControlRequest, ExperimentStatus } from '../../src/control/protocol.js';
import type { ArmLive } from '../../src/experiment/run-arm.js';

const live: ArmLive = { elapsed: 12, phase: 'steady 20 rps', next: { at: 30, label: 'spike 60 rps' }, offsetSec: 4.25, page: null, instances: 2, ready: 2, rps: 20, errors: 0 };

test('the banner: the arm\'s name, the phase, the next event at the lab\'s clock (timeline time + the load\'s offset)', () => {
  assert.deepEqual(bannerStatus('threshold-vs-target', 2, 3, 'target', live), {
    name: 'threshold-vs-target',
    arm: 'target',
    phase: 'steady 20 rps',
    next: { t: 34_250, what: 'spike 60 rps' },
    detail: 'arm 2 of 3',
  });
  assert.equal(bannerStatus('x', 1, 1, 'a', { ...live, next: null }).next, null);
});

test('sent when it changes only; while one is on the way the newest change waits and goes next', async () => {
  const sent: ControlRequest[] = [];
  const answers: (() => void)[] = [];
  const banner = new BannerSender((r) => (sent.push(r), new Promise<void>((resolve) => answers.push(resolve))));
  const a = bannerStatus('x', 1, 2, 'a', live);
  const b = { ...a, phase: 'spike 60 rps' };
  const c = { ...a, phase: 'cool-down', next: null } satisfies ExperimentStatus;
  banner.update(a);
  banner.update(a);
  banner.update(b);
  banner.update(c);
  assert.deepEqual(sent, [{ cmd: 'experiment', status: a }], 'one on the way; repeats not sent');
  answers.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.at(-1), { cmd: 'experiment', status: c }, 'the newest waiting one, b skipped');
  assert.equal(sent.length, 2);
  answers.shift()!();
  await new Promise((r) => setImmediate(r));
  banner.update(c);
  assert.equal(sent.length, 2, 'unchanged: not sent again');
  // A failed send (the lab stopping) is no error; the next change is sent.
  const failing = new BannerSender((r) => (sent.push(r), Promise.reject(new Error('gone'))));
  failing.update(a);
  await new Promise((r) => setImmediate(r));
  failing.update(b);
  assert.deepEqual(sent.at(-1), { cmd: 'experiment', status: b });
});
