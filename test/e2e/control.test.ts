/**
 * Operating a running lab from a second terminal: the real CLI against a real
 * `autoscale start` process over its control socket.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabEvent } from '../../src/events.js';
import { labsDir, liveLabs } from '../../src/runs/paths.js';
import { Daemon, runLoad } from '../../harness/daemon.js';
import { freePort, isAlive, until, runCli as cli } from '../helpers.js';

/** `autoscale start --json` as a child process (harness/daemon.ts) with its own run dir and state dir, operable; killed and cleaned up after the test. */
async function startLabProcess(t: TestContext, args: string[] = []): Promise<Daemon> {
  const lab = new Daemon({
    port: await freePort(),
    basePort: await freePort(),
    args: ['--metrics-port', '0', '--interval', '0.5', '--work', '1', '--scale-up', '100', '--scale-down', '0', ...args],
  });
  t.after(() => lab.cleanup());
  await lab.waitOperable();
  return lab;
}

const eventsOf = (lab: Daemon) => lab.events as unknown as LabEvent[];

test('status, scale, pause, resume and stop from a second terminal; each is an event saying who asked', async (t) => {
  const lab = await startLabProcess(t, ['--max', '3']);
  const rd = ['--run-dir', lab.runDir];
  await lab.waitReady(1, 20_000);

  // Found through the registry of live labs in the state dir, without --run-dir.
  assert.deepEqual(liveLabs(lab.env).map((l) => l.runDir), [lab.runDir]);
  const status = await cli(['status'], lab.env);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^lab pid \d+, up \d\d:\d\d, balancer http:\/\/127\.0\.0\.1:\d+/);
  assert.match(status.stdout, /automatic scaling on/);
  assert.match(status.stdout, /workers: 1 running \(1 ready\), desired 1/);
  assert.match(status.stdout, /^1\s+\d+\s+\d+\s+ready\s+healthy/m);
  const json = JSON.parse((await cli(['status', '--json', ...rd], lab.env)).stdout);
  assert.equal(json.runDir, lab.runDir);
  assert.equal(json.desired, 1);
  assert.equal(json.workers[0].state, 'ready');

  const tooMany = await cli(['scale', '9', ...rd], lab.env);
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.stderr, /^error: scale 9 is outside min 1 – max 3$/m);

  const scale = await cli(['scale', '2', ...rd], lab.env);
  assert.equal(scale.code, 0, scale.stderr);
  assert.equal(scale.stdout, 'scaling 1 → 2; automatic scaling is paused until `autoscale resume`\n');
  await lab.waitReady(2, 20_000);
  assert.match((await cli(['status', ...rd], lab.env)).stdout, /automatic scaling PAUSED/);

  assert.match((await cli(['resume', ...rd], lab.env)).stdout, /automatic scaling resumed/);
  assert.match((await cli(['pause', ...rd], lab.env)).stdout, /automatic scaling paused/);

  const stop = await cli(['stop', ...rd], lab.env);
  assert.equal(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, /stopping the lab: draining and stopping 2 workers…\nlab stopped; 0 workers needed SIGKILL\n/);
  assert.equal((await lab.exited).code, 0);
  assert.equal(existsSync(join(lab.runDir, 'control.sock')), false, 'socket removed');
  assert.equal(existsSync(labsDir(lab.env)), false, 'unregistered (the empty registry folder goes too)');
  assert.equal((await cli(['status'], lab.env)).code, 1);
  for (const e of eventsOf(lab)) if (e.type === 'worker' && e.pid !== undefined) assert.equal(isAlive(e.pid), false, `worker pid ${e.pid} gone`);

  const commands = eventsOf(lab).filter((e) => e.type === 'command');
  assert.deepEqual(
    commands.map((e) => `${e.command}:${e.ok}`),
    ['status:true', 'status:true', 'scale 9:false', 'scale 2:true', 'status:true', 'resume:true', 'pause:true', 'stop:true'],
  );
  assert.ok(commands.every((e) => e.source === 'control socket'));
  const scaleEvent = eventsOf(lab).find((e) => e.type === 'scale');
  assert.deepEqual(scaleEvent && { from: scaleEvent.from, to: scaleEvent.to, manual: scaleEvent.manual }, { from: 1, to: 2, manual: true });
  assert.match((eventsOf(lab).at(-1) as { reason: string }).reason, /asked to stop via the control socket/);
});

test('refresh and scale under steady load: zero failed requests, counted by autoscale load', async (t) => {
  const lab = await startLabProcess(t, ['--min', '2', '--max', '4', '--work', '2']);
  const rd = ['--run-dir', lab.runDir];
  await lab.waitReady(2, 30_000);
  const load = runLoad(`${lab.url}/`, ['--threads', '4', '--duration', '120']);
  t.after(() => void (load.child.exitCode === null && load.child.kill('SIGKILL')));
  await new Promise((r) => setTimeout(r, 1500));

  const refresh = await cli(['refresh', ...rd], lab.env);
  assert.equal(refresh.code, 0, refresh.stderr);
  assert.match(refresh.stdout, /^refresh started: replacing 2 workers, 1 at a time \(min healthy 90 %\)/);
  assert.match(refresh.stdout, /^1\/2: worker 3 :\d+ ready and healthy; worker 1 :\d+ drained and stopped$/m);
  assert.match(refresh.stdout, /^refresh done: 2 of 2 workers replaced in [\d.]+ s; ready workers never fewer than 2$/m);

  const scale = await cli(['scale', '3', ...rd], lab.env);
  assert.equal(scale.code, 0, scale.stderr);
  await lab.waitReady(3, 30_000);
  assert.equal((await cli(['scale', '2', ...rd], lab.env)).code, 0);
  await until('back to two', () => eventsOf(lab).filter((e) => e.type === 'worker' && e.state === 'exited').length === 3, 30_000);
  await new Promise((r) => setTimeout(r, 500));

  load.stop();
  const { summary } = await load.done;
  assert.equal(summary.requests.failed, 0, JSON.stringify(summary.errors));
  assert.ok(summary.requests.ok > 200, `only ${summary.requests.ok} requests completed`);
  // Every old worker drained before it stopped.
  const drained = eventsOf(lab).filter((e) => e.type === 'worker' && e.from === 'draining');
  assert.ok(drained.length >= 3 && drained.every((e) => e.type === 'worker' && /^drained \d+ in-flight/.test(e.detail)));
});

test('no lab running: one line, exit 1; a SIGKILLed lab leaves a stale socket that is detected and removed', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'autoscale-nolab-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const none = await cli(['status'], { ...process.env, XDG_STATE_HOME: empty });
  assert.equal(none.code, 1);
  assert.equal(none.stderr, 'error: no lab is running (start one with autoscale start)\n');

  const lab = await startLabProcess(t);
  const sock = join(lab.runDir, 'control.sock');
  lab.child.kill('SIGKILL');
  await lab.exited;
  assert.ok(existsSync(sock), 'the killed lab left its socket behind');
  // Its registry entry names a dead pid: no lab, and the entry is cleaned up.
  const gone = await cli(['status'], lab.env);
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, 'error: no lab is running (start one with autoscale start)\n');
  assert.deepEqual(readdirSync(labsDir(lab.env)), []);
  const stale = await cli(['status', '--run-dir', lab.runDir], lab.env);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /^note: removed the stale control socket .*control\.sock \(its lab is gone\)\nerror: no lab is running \(start one with autoscale start\)\n$/);
  assert.equal(existsSync(sock), false);
});
