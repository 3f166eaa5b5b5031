import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyCheck, eject, initialHealth, inRotation, type HealthState, type HealthTransition } from '../../src/balancer/health-state.js';

const T = { healthyThreshold: 2, unhealthyThreshold: 3 };

/** Feed a sequence of events ('ok' | 'fail' | 'eject') and collect the transitions and rotation after each. */
function replay(events: Array<'ok' | 'fail' | 'eject'>): { transitions: HealthTransition[]; rotation: boolean[]; state: HealthState } {
  let state = initialHealth;
  const transitions: HealthTransition[] = [];
  const rotation: boolean[] = [];
  for (const e of events) {
    if (e === 'eject') {
      state = eject(state);
      transitions.push(null);
    } else {
      const r = applyCheck(state, e === 'ok', T);
      // What the balancers act on: rotation entered or left, an ejected worker back.
      assert.equal(r.rotationChanged, inRotation(r.state) !== inRotation(state));
      assert.equal(r.restored, state.ejected && !r.state.ejected);
      state = r.state;
      transitions.push(r.transition);
    }
    rotation.push(inRotation(state));
  }
  return { transitions, rotation, state };
}

test('health state: thresholds like an ALB target group', () => {
  const cases: Array<{ name: string; events: Array<'ok' | 'fail' | 'eject'>; transitions: HealthTransition[]; rotation: boolean[] }> = [
    { name: 'healthy stays healthy', events: ['ok', 'ok'], transitions: [null, null], rotation: [true, true] },
    { name: 'two failures are not enough', events: ['fail', 'fail'], transitions: [null, null], rotation: [true, true] },
    { name: 'three consecutive failures -> unhealthy', events: ['fail', 'fail', 'fail'], transitions: [null, null, 'unhealthy'], rotation: [true, true, false] },
    { name: 'a success in between resets the failure streak', events: ['fail', 'fail', 'ok', 'fail', 'fail'], transitions: [null, null, null, null, null], rotation: [true, true, true, true, true] },
    {
      name: 'unhealthy returns after two consecutive successes',
      events: ['fail', 'fail', 'fail', 'ok', 'fail', 'ok', 'ok'],
      transitions: [null, null, 'unhealthy', null, null, null, 'healthy'],
      rotation: [true, true, false, false, false, false, true],
    },
    { name: 'further failures while unhealthy emit nothing', events: ['fail', 'fail', 'fail', 'fail', 'fail'], transitions: [null, null, 'unhealthy', null, null], rotation: [true, true, false, false, false] },
    { name: 'ejection takes it out at once, two good checks bring it back, no transition', events: ['eject', 'ok', 'ok'], transitions: [null, null, null], rotation: [false, false, true] },
    { name: 'a success streak before ejection does not count after it', events: ['ok', 'ok', 'eject', 'ok'], transitions: [null, null, null, null], rotation: [true, true, false, false] },
    {
      name: 'ejected and then failing checks -> unhealthy (reported), then back only on threshold',
      events: ['eject', 'fail', 'fail', 'fail', 'ok', 'ok'],
      transitions: [null, null, null, 'unhealthy', null, 'healthy'],
      rotation: [false, false, false, false, false, true],
    },
  ];
  for (const c of cases) {
    const got = replay(c.events);
    assert.deepEqual(got.transitions, c.transitions, `${c.name}: transitions`);
    assert.deepEqual(got.rotation, c.rotation, `${c.name}: rotation`);
  }
});

test('health state: pure (input state is never mutated)', () => {
  const s: HealthState = { healthy: true, ejected: false, successes: 0, failures: 2 };
  const copy = { ...s };
  applyCheck(s, false, T);
  eject(s);
  assert.deepEqual(s, copy);
});
