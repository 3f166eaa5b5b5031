/**
 * `autoscale start`'s live-page flags at the edge: a --web-port that clashes
 * with the lab's own ports, or is taken, is one clear line and nothing left
 * running; --web-port 0 starts without the page; --web-host beyond loopback
 * warns in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isAlive, until } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

function cli(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--web-port clashing with the lab\'s ports, or --open without a page: exit 2, one line, before anything starts', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-web-cli-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { ...process.env, XDG_STATE_HOME: state };
  const port = String(await freePort());
  for (const [args, re] of [
    [['--web-port', port], /^error: --web-port \(\d+\) must differ from --port$/],
    [['--web-port', '9464'], /^error: --web-port \(9464\) must differ from --metrics-port$/],
    [['--web-port', '40002', '--base-port', '40000'], /^error: --web-port \(40002\) falls inside the workers' port range 40000–40004/],
    [['--web-port', 'abc'], /^error: --web-port must be a whole number from 0 to 65535 \(received "abc"\)$/],
    [['--web-port', '0', '--open'], /^error: --open opens the live page, which --web-port 0 turns off$/],
  ] as const) {
    const r = cli(['start', '--json', '--port', port, ...args], env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.trim(), re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('a --web-port that is taken: one line, exit 1, no worker left; --web-port 0 starts without the page', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-web-cli-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { ...process.env, XDG_STATE_HOME: state };
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const taken = (holder.address() as { port: number }).port;
  const r = cli(['start', '--json', '--port', String(await freePort()), '--base-port', String(await freePort()), '--metrics-port', '0', '--web-port', String(taken)], env);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^error: web page port 127\\.0\\.0\\.1:${taken} is already in use \\(pick another with --web-port, or 0 to start without the page\\)$`, 'm'));
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  const pids = r.stdout.split('\n').filter((l) => l.includes('"type":"worker"')).map((l) => (JSON.parse(l) as { pid?: number }).pid);
  assert.deepEqual(pids.filter((p) => p !== undefined && isAlive(p)), [], 'no worker left running');

  const off = spawn(process.execPath, [BIN, 'start', '--json', '--port', String(await freePort()), '--base-port', String(await freePort()), '--metrics-port', '0', '--web-port', '0', '--web-host', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  off.stdout.on('data', (d) => (out += d));
  off.stderr.on('data', (d) => (err += d));
  t.after(() => void (off.exitCode === null && off.kill('SIGKILL')));
  await until('a ready worker', () => out.includes('"state":"ready"'), 20_000);
  off.kill('SIGTERM');
  await once(off, 'exit');
  assert.doesNotMatch(err, /live page|--web-host/, '--web-port 0: no page, and so no warning about its host');
});

test('--web-host beyond loopback warns in one line before the start', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-web-cli-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { ...process.env, XDG_STATE_HOME: state };
  const lab = spawn(process.execPath, [BIN, 'start', '--json', '--port', String(await freePort()), '--base-port', String(await freePort()), '--metrics-port', '0', '--web-port', String(await freePort()), '--web-host', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  lab.stderr.on('data', (d) => (err += d));
  t.after(() => void (lab.exitCode === null && lab.kill('SIGKILL')));
  await until('the live page', () => err.includes('live page: '), 20_000);
  lab.kill('SIGTERM');
  await once(lab, 'exit');
  assert.match(err.split('\n')[0], /^warning: --web-host 0\.0\.0\.0 makes the live page \(and its controls\) reachable from other machines/);
  assert.match(err, /live page: http:\/\/127\.0\.0\.1:\d+\/\?token=/, 'the URL to open names a loopback address');
});

test('the default web port taken: the lab goes on without the page, with a one-line warning; a chosen one taken is an error', async (t) => {
  const { openWeb } = await import('../../src/commands/start.js');
  const { Lab } = await import('../../src/lab/lab.js');
  const { DEFAULTS } = await import('../../src/settings/config.js');
  const { PassThrough } = await import('node:stream');
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const taken = (holder.address() as { port: number }).port;
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-web-open-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  const lab = new Lab({ ...DEFAULTS, port: 0 }, { runDir });
  let err = '';
  const stderr = new PassThrough().on('data', (d) => (err += d));
  const io = { stdout: new PassThrough(), stderr };
  assert.equal(await openWeb(lab, { host: '127.0.0.1', port: taken, chosen: false, open: false }, io), null);
  assert.equal(err, `warning: web port ${taken} is in use, so the live page is off (choose a port with --web-port, or 0 to silence this)\n`);
  await assert.rejects(openWeb(lab, { host: '127.0.0.1', port: taken, chosen: true, open: false }, io), { code: 'AS_ERR_PORT_IN_USE' });
  const web = await openWeb(lab, { host: '127.0.0.1', port: 0, chosen: true, open: false }, io);
  assert.ok(web !== null);
  assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
  // The experiment runner's hook: every open page gets the experiment's arm, phase and next event at once.
  const { get } = await import('node:http');
  const u = new URL(web.url);
  const res = await new Promise<import('node:http').IncomingMessage>((resolve) =>
    get({ host: u.hostname, port: u.port, path: '/events', headers: { cookie: `autoscale-${u.port}=${u.searchParams.get('token')}` } }, resolve),
  );
  assert.equal(res.statusCode, 200);
  let got = '';
  res.on('data', (d) => (got += d));
  web.setExperiment({ name: 'cooldown', arm: 'B', phase: 'load', next: { t: 95_000, what: 'cool-down' } });
  await until('the experiment event', () => got.includes('event: experiment'), 5000);
  assert.match(got, /^event: experiment\ndata: \{"name":"cooldown","arm":"B","phase":"load","next":\{"t":95000,"what":"cool-down"\}\}\n\n$/m);
  await web.close();
  await once(res, 'end');
});
