/** The experiment's counterfactual check: which arm pairs it replays, and how a pair replay cannot answer is shown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { counterfactualPairs, differOnlyInPolicy } from '../../src/experiment/counterfactual.js';
import type { Arm } from '../../src/experiment/schema.js';
import type { ArmRecord } from '../../src/runs/experiment-record.js';

const arm = (name: string, settings: Arm['settings']): Arm => ({ name, description: '', settings });

test('pairs are arms that differ, and only in policy settings', () => {
  const cases: Array<[Arm['settings'], Arm['settings'], boolean, string]> = [
    [{ policy: 'threshold' }, { policy: 'target', metric: 'worker-cpu', target: 50 }, true, 'policy and metric'],
    [{ cooldown: 0, scaleUp: 30 }, { cooldown: 30, scaleUp: 30 }, true, 'cooldown only'],
    [{ policy: 'threshold' }, { policy: 'threshold' }, false, 'identical arms: nothing to check'],
    [{ bootDelay: 0 }, { bootDelay: 20 }, false, 'boot delay is the system, not the policy'],
    [{ balancer: 'l7', policy: 'target' }, { balancer: 'l4', policy: 'threshold' }, false, 'a balancer change is not a policy change'],
    [{ min: 1 }, { min: 3 }, true, 'min is a policy setting'],
  ];
  for (const [a, b, expected, why] of cases) assert.equal(differOnlyInPolicy(arm('a', a), arm('b', b)), expected, why);
});

test('each ordered pair of finished arms; a pair replay cannot answer says why instead of failing the report', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-cf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = (name: string, status: ArmRecord['status']): ArmRecord => ({ name, description: '', runDir: `arm-${name}`, status, startArgs: [], loadAverageBefore: null, hostCpuBefore: null, pause: null, offsetSec: 0, fired: [], error: null });
  const arms = [arm('a', { cooldown: 0 }), arm('b', { cooldown: 30 }), arm('c', { cooldown: 60 })];
  const pairs = counterfactualPairs(dir, arms, [rec('a', 'finished'), rec('b', 'finished'), rec('c', 'interrupted')], 200);
  assert.deepEqual(pairs.map((p) => `${p.recording}→${p.settingsOf}`), ['a→b', 'b→a'], 'only finished arms, both directions');
  for (const p of pairs) {
    assert.deepEqual(p.rows, []);
    assert.match(p.note ?? '', /^replay could not answer for this pair: /);
  }
});
