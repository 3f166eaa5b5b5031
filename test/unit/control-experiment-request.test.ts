/**
 * The control socket's `experiment` request (the experiment runner's note for
 * the live page's banner): good shapes pass as given, bad ones are refused
 * with one line naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRequest, MAX_EXPERIMENT_TEXT, parseRequest } from '../../src/control/protocol.js';

const status = { name: 'threshold-vs-target', arm: 'target (arm 1 of 2)', phase: 'steady 20 rps', next: { t: 41_500, what: 'spike 60 rps' } };

test('an experiment status, a status with detail and no next event, and null all parse as sent', () => {
  assert.deepEqual(parseRequest(JSON.stringify({ cmd: 'experiment', status })), { ok: true, request: { cmd: 'experiment', status } });
  const last = { ...status, next: null, detail: '00:12 left in arm' };
  assert.deepEqual(parseRequest(JSON.stringify({ cmd: 'experiment', status: last })), { ok: true, request: { cmd: 'experiment', status: last } });
  assert.deepEqual(parseRequest('{"cmd":"experiment","status":null}'), { ok: true, request: { cmd: 'experiment', status: null } });
  // Unknown extra fields are dropped, not passed to the page.
  const r = parseRequest(JSON.stringify({ cmd: 'experiment', status: { ...status, html: '<b>x</b>' } }));
  assert.ok(r.ok);
  assert.deepEqual(r.request, { cmd: 'experiment', status });
  assert.equal(describeRequest({ cmd: 'experiment', status }), 'experiment threshold-vs-target: arm target (arm 1 of 2), steady 20 rps');
});

test('bad experiment shapes: refused with one line that names the field', () => {
  const long = 'x'.repeat(MAX_EXPERIMENT_TEXT + 1);
  const cases: [unknown, RegExp][] = [
    [{ cmd: 'experiment' }, /^experiment: "status" is missing/],
    [{ cmd: 'experiment', status: 'arm 1' }, /^experiment: "status" must be an object or null \(received "arm 1"\)$/],
    [{ cmd: 'experiment', status: [status] }, /^experiment: "status" must be an object or null/],
    [{ cmd: 'experiment', status: { ...status, name: undefined } }, /^experiment: "status.name" must be a one-line string of 1–200 characters \(received undefined\)$/],
    [{ cmd: 'experiment', status: { ...status, arm: 2 } }, /^experiment: "status.arm" must be a one-line string/],
    [{ cmd: 'experiment', status: { ...status, phase: '' } }, /^experiment: "status.phase" must be a one-line string/],
    [{ cmd: 'experiment', status: { ...status, phase: 'a\nb' } }, /^experiment: "status.phase" must be a one-line string/],
    [{ cmd: 'experiment', status: { ...status, name: long } }, /^experiment: "status.name" must be a one-line string of 1–200 characters/],
    [{ cmd: 'experiment', status: { ...status, detail: 5 } }, /^experiment: "status.detail" must be .* when given/],
    [{ cmd: 'experiment', status: { ...status, next: undefined } }, /^experiment: "status.next" must be \{"t": ms since the lab started, "what": text\} or null/],
    [{ cmd: 'experiment', status: { ...status, next: 'soon' } }, /^experiment: "status.next" must be/],
    [{ cmd: 'experiment', status: { ...status, next: { t: -1, what: 'spike' } } }, /^experiment: "status.next.t" must be a number of ms >= 0 since the lab started \(received -1\)$/],
    [{ cmd: 'experiment', status: { ...status, next: { t: '5', what: 'spike' } } }, /^experiment: "status.next.t" must be a number/],
    [{ cmd: 'experiment', status: { ...status, next: { t: 5 } } }, /^experiment: "status.next.what" must be a one-line string/],
  ];
  for (const [msg, re] of cases) {
    const r = parseRequest(JSON.stringify(msg));
    assert.equal(r.ok, false, JSON.stringify(msg));
    if (r.ok) continue;
    assert.match(r.message, re, JSON.stringify(msg));
    assert.equal(r.message.split('\n').length, 1, r.message);
  }
  const r = parseRequest('{"cmd":"experiments"}');
  assert.ok(!r.ok && r.message.endsWith('(expected one of: status, scale, pause, resume, refresh, stop, experiment)'));
});
