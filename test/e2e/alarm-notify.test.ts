/**
 * Notifiers that fail are reported, never fatal: a command that exits 3, one
 * that outlives its deadline (killed with what it started), a webhook on a
 * port where nothing listens, one that answers 500, and more transitions than
 * may run at once. Real processes and servers, no lab.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LabEvents, type AlarmEvent, type NotifyEvent } from '../../src/events.js';
import { AlarmNotifier, MAX_IN_FLIGHT, MAX_QUEUED } from '../../src/lab/notify.js';
import type { AlarmRule } from '../../src/alarms/rule.js';
import { closedPort, isAlive, tempDir, waitFor } from '../../harness/process.js';

const RULE: AlarmRule = { name: '5xx', metric: '5xx', comparison: '>', threshold: 10, period: 60, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingData: 'notBreaching' };

const alarm = (t: number): AlarmEvent => ({
  type: 'alarm', t, alarm: '5xx', from: 'OK', to: 'ALARM', reason: 'Threshold Crossed: 1 out of the last 1 datapoints [12] was greater than the threshold (10)',
  datapoints: [{ at: 0, value: 12 }], breaching: 1, metric: '5xx', threshold: 10, rule: '5xx > 10 (sum over 1 min, 1 of 1)',
});

function setup(t: import('node:test').TestContext, opts: { command?: string; webhook?: string }, timeoutMs = 5000) {
  const events = new LabEvents();
  const notes: NotifyEvent[] = [];
  events.on('notify', (e) => void notes.push(e));
  const notifier = new AlarmNotifier(
    { events, rules: [RULE], now: () => 1, env: process.env, timeoutMs },
    { command: opts.command ?? null, webhook: opts.webhook === undefined ? null : new URL(opts.webhook) },
  );
  t.after(() => notifier.close());
  events.publish({ type: 'started', t: 0, startedAt: Date.parse('2026-01-01T00:00:00Z'), balancerUrl: '', runDir: '', pid: 1, config: {} as never });
  return { events, notes, notifier };
}

test('the command gets the transition in its environment and as JSON on stdin', async (t) => {
  const dir = tempDir('autoscale-notify-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { events, notes, notifier } = setup(t, { command: `env | grep ^AUTOSCALE_ALARM_ | sort > ${dir}/env; cat > ${dir}/stdin` });
  events.publish(alarm(90_000));
  await notifier.settled();
  assert.equal(notes.length, 1);
  assert.equal(notes[0].ok, true, notes[0].detail);
  assert.match(notes[0].detail, /^exit 0 in \d+ ms$/);
  const env = readFileSync(join(dir, 'env'), 'utf8');
  assert.match(env, /^AUTOSCALE_ALARM_NAME=5xx$/m);
  assert.match(env, /^AUTOSCALE_ALARM_STATE=ALARM$/m);
  assert.match(env, /^AUTOSCALE_ALARM_PREVIOUS_STATE=OK$/m);
  assert.match(env, /^AUTOSCALE_ALARM_VALUE=12$/m);
  assert.match(env, /^AUTOSCALE_ALARM_TIME=2026-01-01T00:01:30.000Z$/m);
  const json = JSON.parse(readFileSync(join(dir, 'stdin'), 'utf8'));
  assert.equal(json.AlarmName, '5xx');
  assert.equal(json.StateChangeTime, '2026-01-01T00:01:30.000Z');
  assert.deepEqual(json.Trigger, {
    MetricName: '5xx', Namespace: 'autoscale/lab', Statistic: 'sum', Period: 60, EvaluationPeriods: 1, DatapointsToAlarm: 1,
    ComparisonOperator: 'GreaterThanThreshold', Threshold: 10, TreatMissingData: 'notBreaching',
  });
});

test('a failing command is one notify line with its exit code and last stderr line', async (t) => {
  const { events, notes, notifier } = setup(t, { command: 'echo "no such topic" >&2; exit 3' });
  events.publish(alarm(1));
  await notifier.settled();
  assert.equal(notes[0].ok, false);
  assert.match(notes[0].detail, /^exit 3 in \d+ ms: no such topic$/);
});

test('a command past its deadline is killed, with what it started', async (t) => {
  const dir = tempDir('autoscale-notify-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { events, notes, notifier } = setup(t, { command: `sleep 30 & echo $! > ${dir}/pid; wait` }, 400);
  const t0 = Date.now();
  events.publish(alarm(1));
  await notifier.settled();
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(notes[0].ok, false);
  assert.equal(notes[0].detail, 'timed out after 0.4 s (killed)');
  const sleeper = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  await waitFor('the sleep the shell started to be gone', () => !isAlive(sleeper), 3000);
});

test('the tick is never blocked: notifications start after publish returns, at most MAX_IN_FLIGHT at once, MAX_QUEUED waiting, the rest said', async (t) => {
  const dir = tempDir('autoscale-notify-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { events, notes, notifier } = setup(t, { command: `echo + >> ${dir}/log; sleep 0.1; echo - >> ${dir}/log` });
  const n = MAX_QUEUED + 3;
  for (let i = 0; i < n; i++) events.publish(alarm(i));
  // publish() returned before any command started: only the skips are said yet.
  assert.deepEqual(notes.map((x) => x.detail), Array(3).fill(`skipped: ${MAX_QUEUED} notifications already waiting`));
  await notifier.settled();
  assert.equal(notes.filter((x) => x.ok).length, MAX_QUEUED);
  let running = 0;
  let most = 0;
  for (const c of readFileSync(join(dir, 'log'), 'utf8').split('\n')) {
    running += c === '+' ? 1 : c === '-' ? -1 : 0;
    most = Math.max(most, running);
  }
  assert.equal(most, MAX_IN_FLIGHT);
});

test('a webhook refused, answering 500, or too slow: reported, never thrown', async (t) => {
  const port = await closedPort();
  const refused = setup(t, { webhook: `http://127.0.0.1:${port}/hook` });
  refused.events.publish(alarm(1));
  await refused.notifier.settled();
  assert.equal(refused.notes[0].ok, false);
  assert.equal(refused.notes[0].detail, `http://127.0.0.1:${port}: ECONNREFUSED`);

  let slow = false;
  const server = createServer((_req, res) => {
    if (slow) return; // never answers
    res.writeHead(500).end('boom');
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  const failing = setup(t, { webhook: url });
  failing.events.publish(alarm(1));
  await failing.notifier.settled();
  assert.equal(failing.notes[0].ok, false);
  assert.match(failing.notes[0].detail, /^HTTP 500 from http:\/\/127\.0\.0\.1:\d+ in \d+ ms$/);

  slow = true;
  const hung = setup(t, { webhook: url }, 300);
  hung.events.publish(alarm(1));
  await hung.notifier.settled();
  assert.equal(hung.notes[0].ok, false);
  assert.match(hung.notes[0].detail, /: no answer within 0.3 s \(aborted\)$/);
});

test('close() lets what was given start, drops what still waits for a slot (each said), and takes one deadline at most', async (t) => {
  const { events, notes, notifier } = setup(t, { command: 'sleep 0.2' });
  for (let i = 0; i < MAX_IN_FLIGHT + 2; i++) events.publish(alarm(i));
  await notifier.close();
  assert.equal(notes.filter((x) => x.ok).length, MAX_IN_FLIGHT);
  assert.deepEqual(notes.filter((x) => !x.ok).map((x) => x.detail), ['skipped: the lab stopped before its turn', 'skipped: the lab stopped before its turn']);
});
