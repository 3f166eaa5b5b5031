/**
 * Alarms end to end: a live lab whose worker answers 500 (the worker's test
 * fault, SIGUSR2, as `autoscale experiment`'s fail-500 uses it) raises its 5xx
 * alarm within the alarm's period, and both notifiers (a command, a webhook on
 * a local test server) receive the transition; bad rules are one line, exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { Daemon } from '../../harness/daemon.js';
import { freePort, tempDir, waitFor } from '../../harness/process.js';
import { runCli } from '../helpers.js';

test('a worker answering 500 raises the 5xx alarm within its period; the command and the webhook get the transition', async (t) => {
  const dir = tempDir('autoscale-alarms-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hooks: Array<Record<string, unknown>> = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push({ path: req.url, type: req.headers['content-type'], ...JSON.parse(body) });
      res.writeHead(204).end();
    });
  }).listen(0, '127.0.0.1');
  await once(hook, 'listening');
  t.after(() => hook.close());
  const hookPort = (hook.address() as { port: number }).port;

  const [port, basePort] = [await freePort(), await freePort()];
  const lab = new Daemon({
    port,
    basePort,
    env: { AUTOSCALE_TEST_FAULTS: '1' },
    args: [
      '--min', '1', '--max', '1', '--interval', '0.5', '--work', '0', '--hold-max', '0', '--metrics-port', '0', '--web-port', '0',
      '--alarm', '5xx>5,period=1,missing=notBreaching,name=errors',
      '--on-alarm', `cat > ${dir}/"$AUTOSCALE_ALARM_NAME-$AUTOSCALE_ALARM_STATE".json`,
      '--alarm-webhook', `http://127.0.0.1:${hookPort}/alarms`,
    ],
  });
  t.after(() => lab.cleanup());
  await lab.waitReady(1);
  const alarms = () => lab.of('alarm');
  // No traffic yet: 0 5xx a period, OK.
  await waitFor('the alarm to evaluate its first period', () => alarms().some((e) => e.to === 'OK'), 10_000);

  const worker = lab.ready()[0];
  process.kill(worker.pid!, 'SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
  let fives = 0;
  let sixthAt = 0;
  for (let i = 0; i < 30; i++) {
    const res = await request(`${lab.url}/`);
    await res.body.dump();
    if (res.statusCode >= 500 && ++fives === 6) sixthAt = Date.now();
  }
  assert.ok(fives >= 6, `the clients saw ${fives} 5xx`);
  await waitFor('the ALARM transition', () => alarms().some((e) => e.to === 'ALARM'), 10_000);
  const raised = alarms().find((e) => e.to === 'ALARM')!;
  // Once the clients saw 6 errors, the 1 s period holding most of them has closed within 2 periods, and the
  // tick after it (0.5 s) raised the alarm: 2.5 s, plus 1 s for a busy host.
  const after = lab.wallTime(raised) - sixthAt;
  assert.ok(after <= 3500, `ALARM ${after} ms after the clients' sixth 5xx`);
  assert.equal(raised.from, 'OK');
  assert.match(String(raised.reason), /^Threshold Crossed: 1 out of the last 1 datapoints \[\d+\] was greater than the threshold \(5\)/);
  assert.ok(Array.isArray(raised.datapoints) && (raised.datapoints as Array<{ value: number }>)[0].value > 5);

  await waitFor('both notifiers to report the ALARM', () => lab.of('notify').filter((e) => e.to === 'ALARM' && e.ok === true).length === 2, 10_000);
  const file = join(dir, 'errors-ALARM.json');
  await waitFor('the command to write its file', () => existsSync(file), 5000);
  const fromCommand = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  assert.equal(fromCommand.AlarmName, 'errors');
  assert.equal(fromCommand.NewStateValue, 'ALARM');
  assert.equal(fromCommand.OldStateValue, 'OK');
  assert.equal((fromCommand.Trigger as Record<string, unknown>).ComparisonOperator, 'GreaterThanThreshold');
  const fromHook = hooks.find((h) => h.NewStateValue === 'ALARM');
  assert.ok(fromHook, JSON.stringify(hooks));
  assert.equal(fromHook.path, '/alarms');
  assert.equal(fromHook.type, 'application/json');
  assert.equal(fromHook.NewStateReason, raised.reason);

  // Well again: no more 5xx, back to OK.
  process.kill(worker.pid!, 'SIGUSR2');
  await waitFor('the OK transition', () => alarms().some((e) => e.to === 'OK' && e.from === 'ALARM'), 15_000);
  const exit = await lab.stop();
  assert.equal(exit.code, 0, lab.stderr);
  // Recorded: the run holds the transitions (report reads them back from there).
  const recorded = readFileSync(join(lab.runDir, 'events.ndjson'), 'utf8');
  assert.match(recorded, /"type":"alarm".*"to":"ALARM"/);
  assert.match(recorded, /"type":"notify"/);
});

test('bad alarm rules: one line naming the key, exit 2, no lab started', async (t) => {
  const dir = tempDir('autoscale-alarm-rules-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = (alarms: unknown) => {
    const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify({ alarms }));
    return f;
  };
  const cases: Array<[string[], RegExp]> = [
    [['--alarm', 'cpu>50'], /^error: --alarm "cpu>50": metric: expected one of host-cpu, worker-cpu, rps, concurrency, p95, p99, 5xx, error-rate, unhealthy, at-max, got "cpu"\n$/],
    [['--alarm', '5xx=>10'], /^error: --alarm "5xx=>10": expected "metric>threshold" first/],
    [['--alarm', 'p95>1000,n=2,m=3'], /^error: --alarm "p95>1000,n=2,m=3": datapoints-to-alarm: M \(3\) must be <= evaluation-periods N \(2\)/],
    [['--alarms', 'all'], /^error: --alarms must be one of default, none \(received "all"\)\n$/],
    [['--config', config([{ name: 'x', metric: 'latency', comparison: '>', threshold: 1 }])], /^error: config file .*: alarms\[0\]\.metric: expected one of .*, got "latency"\n$/],
    [['--config', config([{ name: 'x', metric: 'p95', comparison: '≥', threshold: 1 }])], /^error: config file .*: alarms\[0\]\.comparison: expected one of >, >=, <, <=, got "≥"\n$/],
    [['--config', config([{ name: 'x', metric: 'p95', comparison: '>', threshold: 1, evaluationPeriods: 1, datapointsToAlarm: 2 }])], /alarms\[0\]\.datapoints-to-alarm: M \(2\) must be <= evaluation-periods N \(1\)/],
    [['--alarm', '5xx>1,period=1'], /^error: alarm "5xx>1": period \(1 s\) must be at least --interval \(3 s\)/],
    [['--on-alarm', 'true'], /^error: --on-alarm has no alarm to notify about/],
    [['--alarms', 'default', '--alarm-webhook', 'http://example.com/hook'], /^error: --alarm-webhook http:\/\/example\.com: only loopback hosts .* unless you add --allow-remote-webhook\n$/],
    [['--alarms', 'default', '--alarm-webhook', 'ftp://127.0.0.1/x'], /^error: --alarm-webhook ftp:\/\/127\.0\.0\.1\/x: expected an http:\/\/ or https:\/\/ URL\n$/],
  ];
  for (const [args, stderr] of cases) {
    const r = await runCli(['start', '--no-record', '--port', '0', ...args], { ...process.env, XDG_STATE_HOME: dir });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, stderr, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
