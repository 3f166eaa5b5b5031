/**
 * The experiment runner's banner through the lab's control socket: a real
 * `autoscale start` with its page on gets an `experiment` request and every
 * open page receives it on its event stream (and a late page in its hello);
 * a bad request is refused in one line; a lab without the page accepts and
 * ignores it. None of it is a 'command' event in the run's log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { get, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendRequest } from '../../src/control/client.js';
import { socketPath } from '../../src/control/server.js';
import { freePort, until } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

async function startLab(t: import('node:test').TestContext, webPort: number) {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-web-exp-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const runDir = join(state, 'run');
  const args = ['start', '--json', '--no-dashboard', '--run-dir', runDir, '--port', String(await freePort()), '--base-port', String(await freePort()), '--metrics-port', '0', '--web-port', String(webPort)];
  const lab: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: state } });
  const out = { stdout: '', stderr: '' };
  lab.stdout!.on('data', (d) => (out.stdout += d));
  lab.stderr!.on('data', (d) => (out.stderr += d));
  t.after(async () => {
    if (lab.exitCode === null && lab.signalCode === null) {
      lab.kill('SIGTERM');
      await once(lab, 'exit');
    }
  });
  await until('a ready worker', () => out.stdout.includes('"state":"ready"'), 30_000);
  return { lab, out, socket: socketPath(runDir) };
}

function stream(url: URL, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) =>
    get({ host: url.hostname, port: url.port, path, headers: { cookie: `autoscale-${url.port}=${url.searchParams.get('token')}` } }, resolve).on('error', reject),
  );
}

test('an experiment request on the control socket reaches the live page\'s banner; bad ones are refused in one line', async (t) => {
  const { lab, out, socket } = await startLab(t, await freePort());
  await until('the live page', () => /live page: (\S+)/.test(out.stderr), 10_000);
  const url = new URL(/live page: (\S+)/.exec(out.stderr)![1]);
  const res = await stream(url, '/events');
  assert.equal(res.statusCode, 200);
  let got = '';
  res.on('data', (d) => (got += d));
  t.after(() => res.destroy());

  const status = { name: 'threshold-vs-target', arm: 'target', phase: 'steady 20 rps', next: { t: 41_500, what: 'spike 60 rps' }, detail: 'arm 1 of 2' };
  const r = await sendRequest(socket, { cmd: 'experiment', status });
  assert.deepEqual([r.ok, r.message], [true, 'experiment status shown on the live page']);
  await until('the experiment event', () => got.includes('event: experiment'), 5000);
  const data = /^event: experiment\ndata: (.*)$/m.exec(got)![1];
  assert.deepEqual(JSON.parse(data), status);

  // A page opened later gets it in its hello.
  const late = await stream(url, '/events');
  let hello = '';
  late.on('data', (d) => (hello += d));
  t.after(() => late.destroy());
  await until('the hello', () => /^event: hello\ndata: .*\n\n/m.test(hello), 5000);
  assert.deepEqual(JSON.parse(/^event: hello\ndata: (.*)$/m.exec(hello)![1]).experiment, status);

  // Bad shapes: one line naming the field, the banner unchanged.
  const bad = await sendRequest(socket, { cmd: 'experiment', status: { ...status, next: { t: -5, what: 'x' } } } as never);
  assert.equal(bad.ok, false);
  assert.equal(bad.message, 'experiment: "status.next.t" must be a number of ms >= 0 since the lab started (received -5)');

  // Over: the banner is cleared.
  const before = got.split('event: experiment').length;
  assert.equal((await sendRequest(socket, { cmd: 'experiment', status: null })).message, 'experiment banner cleared');
  await until('the clearing event', () => got.split('event: experiment').length > before, 5000);
  assert.match(got, /^event: experiment\ndata: null$/m);

  lab.kill('SIGTERM');
  await once(lab, 'exit');
  const commands = out.stdout.split('\n').filter((l) => l.includes('"type":"command"')).map((l) => JSON.parse(l) as { command: string });
  assert.deepEqual(commands.filter((c) => c.command.startsWith('experiment')), [], 'a banner note is not an operator command in the log');
});

test('a lab without its page accepts an experiment request and ignores it', async (t) => {
  const { socket } = await startLab(t, 0);
  const r = await sendRequest(socket, { cmd: 'experiment', status: { name: 'x', arm: 'a', phase: 'p', next: null } });
  assert.deepEqual([r.ok, r.message], [true, 'no live page on this lab: experiment status ignored']);
});

test('autoscale experiment: each arm\'s page shows the experiment, its arm, phase and next event; a clashing --web-port is one line, exit 2', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-web-exp-run-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { ...process.env, XDG_STATE_HOME: state };
  const file = join(state, 'lesson.yaml');
  writeFileSync(
    file,
    [
      'title: Banner check',
      'teaches: The page shows the lesson.',
      'arms:',
      '  - name: one',
      '    metric: concurrency',
      '  - name: two',
      '    metric: concurrency',
      'load:',
      '  - profile: constant',
      '    threads: 2',
      '    duration: 8',
      '  - profile: constant',
      '    threads: 3',
      '    duration: 8',
      'events:',
      '  - at: 12',
      '    action: pause',
      'expect:',
      '  - clientErrors: "<= 1000"',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const clash = spawnSync(process.execPath, [BIN, 'experiment', file, '--port', String(port), '--web-port', String(port)], { encoding: 'utf8', env, timeout: 30_000 });
  assert.equal(clash.status, 2, clash.stderr);
  assert.equal(clash.stderr, `error: --web-port (${port}) must differ from --port (arm one)\n`);

  const webPort = await freePort();
  // --quick: a short pause before arm 2 on this busy host (the times stay as written: the file fits in 90 s).
  const args = ['experiment', file, '--quick', '--json', '--port', String(port), '--base-port', String(await freePort()), '--metrics-port', '0', '--web-port', String(webPort)];
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise((r) => child.once('exit', r));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  const lives = () =>
    stdout
      .split('\n')
      .filter((l) => l.includes('"type":"live"'))
      .map((l) => JSON.parse(l) as { arm: number; live: { page: string | null; offsetSec: number; next: { at: number; label: string } | null } });
  // The page of arm 2 (its own lab, its own token), as the experiment reports it.
  await until('arm 2 running with its page', () => lives().some((e) => e.arm === 2 && e.live.page !== null), 90_000);
  const live = lives().find((e) => e.arm === 2 && e.live.page !== null)!.live;
  assert.match(live.page!, new RegExp(`^http://127\\.0\\.0\\.1:${webPort}/\\?token=`));
  const res = await stream(new URL(live.page!), '/events');
  let got = '';
  res.on('data', (d) => (got += d));
  t.after(() => res.destroy());
  await until('the hello', () => /^event: hello\ndata: .*\n\n/m.test(got), 10_000);
  // The runner prints the arm's page, then tells its lab the banner over the control socket: a page that connects
  // in between gets a hello without it, and the banner as the next 'experiment' event.
  type Banner = { name: string; arm: string; phase: string; next: { t: number; what: string } | null; detail: string };
  const bannerOf = (): Banner | null => {
    const fromHello = JSON.parse(/^event: hello\ndata: (.*)$/m.exec(got)![1]).experiment as Banner | null;
    if (fromHello !== null) return fromHello;
    const update = /^event: experiment\ndata: (.*)$/m.exec(got);
    return update === null ? null : (JSON.parse(update[1]) as Banner | null);
  };
  await until('the experiment banner, in the hello or the first update after it', () => bannerOf() !== null, 10_000);
  const banner = bannerOf()!;
  assert.equal(banner.name, 'lesson');
  assert.equal(banner.arm, 'two');
  assert.equal(banner.detail, 'arm 2 of 2');
  assert.match(banner.phase, /threads|starting the lab/);
  // The next event on the lab's clock: the timeline's time (the file's, times the --quick factor) plus when the arm's load began.
  const factor = (JSON.parse(stdout.split('\n').find((l) => l.includes('"type":"experiment"'))!) as { timeFactor: number }).timeFactor;
  const times = [0, 8, 12, 16].map((s) => Math.round((live.offsetSec + s * factor) * 1000));
  assert.ok(banner.next !== null && times.includes(banner.next.t), JSON.stringify({ banner, live, times }));
  // At the end of the load the page is told so, with nothing left to wait for.
  await until('the load-over banner', () => got.includes('"phase":"load over: the lab stops after one more tick","next":null'), 60_000);
  assert.equal(await exited, 0);
});
