/**
 * `autoscale start` with input a new user would try: fractional --work, a
 * missing or unusable --run-dir, IPv6, an address not on this machine, a
 * privileged port as a normal user. One clear line and the right exit code,
 * or a lab that works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { BIN, Daemon } from '../../harness/daemon.js';
import { freePort, isAlive } from '../helpers.js';

function cli(args: string[], opts: { user?: string; timeoutMs?: number } = {}) {
  const argv = [BIN, ...args];
  const r =
    opts.user === undefined
      ? spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000 })
      : spawnSync('runuser', ['-u', opts.user, '--', process.execPath, ...argv], { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

function assertOneLine(stderr: string, re: RegExp): void {
  assert.match(stderr.trim(), re);
  assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace: ${stderr}`);
  assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
}

test('--work 2.5 and "work": 0.5 in a config file: exit 2 up front (the worker accepts whole ms only)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = String(await freePort());
  const r = cli(['start', '--work', '2.5', '--port', port]);
  assert.equal(r.code, 2);
  assertOneLine(r.stderr, /^error: --work must be a whole number \(received "2\.5"\)$/);
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ work: 0.5 }));
  const f = cli(['start', '--config', file, '--port', port]);
  assert.equal(f.code, 2);
  assertOneLine(f.stderr, /^error: "work" in the config file must be a whole number \(received 0\.5\)$/);
  assert.equal(cli(['worker', '--work', '2.5', '--port', port]).code, 2, 'the worker command agrees');
});

test('--run-dir that does not exist is created; one that cannot be created is one line, exit 1, nothing bound', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-input-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nested = join(dir, 'not', 'yet', 'there');
  const d = new Daemon({ port: await freePort(), basePort: await freePort(), runDir: nested, args: ['--min', '1', '--max', '1'] });
  t.after(() => d.cleanup());
  await d.waitReady(1);
  assert.ok(existsSync(join(nested, 'worker-1.log')), 'the worker log is in the new directory');
  assert.equal((await d.stop()).code, 0);

  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  const port = await freePort();
  const r = cli(['start', '--json', '--port', String(port), '--base-port', String(await freePort()), '--run-dir', join(file, 'x')]);
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /^error: .*a-file\/x .*\((ENOTDIR|EEXIST)\)/);
  assert.equal(r.stdout, '', 'no started event: the balancer never bound');
});

test('--host ::1: URLs are bracketed, workers become ready, pass health checks and serve through the balancer', async (t) => {
  const port = await freePort();
  const d = new Daemon({ port, basePort: await freePort(), args: ['--host', '::1', '--min', '1', '--max', '1', '--interval', '1'] });
  t.after(() => d.cleanup());
  await d.waitReady(1);
  const started = d.of('started')[0];
  assert.equal(started.balancerUrl, `http://[::1]:${port}`);
  for (let i = 0; i < 5; i++) {
    const res = await request(`http://[::1]:${port}/`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  }
  // Three health checks (2 s apart) would have failed by now if the probe URL were wrong.
  await new Promise((r) => setTimeout(r, 7000));
  assert.deepEqual(d.of('health'), [], 'no health transition');
  assert.equal(d.ready().length, 1);
  assert.equal(d.of('worker').filter((e) => e.state === 'crashed').length, 0, d.stderr);
  assert.equal((await d.stop()).code, 0, d.stderr);
});

test('--host 10.255.255.1 (not on this machine): one line naming EADDRNOTAVAIL, exit 2; nothing is sent anywhere', async () => {
  // A failed bind sends no packet: this only asks the kernel for a local address.
  const r = cli(['start', '--json', '--host', '10.255.255.1', '--port', String(await freePort()), '--base-port', String(await freePort())]);
  assert.equal(r.code, 2);
  // A non-loopback --host first warns that the balancer would be reachable from other machines.
  assertOneLine(r.stderr.split('\n').filter((l) => !l.startsWith('warning: ')).join('\n'), /^error: cannot listen on 10\.255\.255\.1:\d+ for the balancer: 10\.255\.255\.1 is not an address of this machine \(EADDRNOTAVAIL/);
  const w = cli(['worker', '--host', '10.255.255.1', '--port', String(await freePort())]);
  assert.equal(w.code, 2);
  assertOneLine(w.stderr, /EADDRNOTAVAIL/);
});

const asNobody = process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', '0']).status === 0;

test('a port below 1024 as a normal user: one line naming EACCES, exit 1', { skip: asNobody ? false : 'needs root to run the CLI as `nobody` (runuser)' }, async (t) => {
  // nobody cannot write our temp dirs: give it one of its own.
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-nobody-'));
  chmodSync(dir, 0o777);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cli(['start', '--json', '--port', '80', '--base-port', String(await freePort()), '--run-dir', dir], { user: 'nobody' });
  assert.equal(r.code, 1, r.stderr);
  assertOneLine(r.stderr, /^error: cannot listen on 127\.0\.0\.1:80 for the balancer: permission denied \(EACCES; ports below 1024 need root or CAP_NET_BIND_SERVICE, pick --port 1024 or above\)$/);
  // Worker ports below 1024 are refused up front by the config itself.
  const b = cli(['start', '--json', '--port', String(await freePort()), '--base-port', '900', '--run-dir', dir], { user: 'nobody' });
  assert.equal(b.code, 2, b.stderr);
  assertOneLine(b.stderr, /^error: --base-port must be between 1024 and 65535 \(received 900\)$/);
  assert.equal(b.stdout, '');
});

test('a closed stdout (`start --no-dashboard | head -1`): no crash, the lab stops cleanly and records its stopped line, no worker left', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-epipe-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const [port, base] = [await freePort(), await freePort()];
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} start --no-dashboard --port ${port} --base-port ${base} --metrics-port 0 --min 1 --max 1 --interval 0.5 | head -1`;
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, XDG_STATE_HOME: state } });
  assert.equal(r.signal, null, 'the pipeline ended by itself');
  assert.match(r.stdout, /^\+\d\d:\d\d started /);
  assert.doesNotMatch(r.stderr, /crashed|EPIPE\n|^\s+at /m, r.stderr);
  assert.match(r.stderr, /^autoscale ran .* \(its output was closed \(EPIPE\)\)$/m);
  const runDir = /recording this run in (.+)\n/.exec(r.stderr)![1];
  const events = readFileSync(join(runDir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; pid?: number });
  assert.equal(events.at(-1)!.type, 'stopped');
  for (const e of events) if (e.type === 'worker' && e.pid !== undefined) assert.equal(isAlive(e.pid), false, `worker ${e.pid} gone`);
});

test('--run-dir with a regular file or a dangling symlink named control.sock: one line, exit 1, the file left alone; a run dir holding a run: exit 2', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-sockfile-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { ...process.env, XDG_STATE_HOME: state };
  const run = (dir: string) =>
    spawnSync(process.execPath, [BIN, 'start', '--json', '--port', '0', '--metrics-port', '0', '--min', '1', '--max', '1', '--run-dir', dir], { encoding: 'utf8', timeout: 30_000, env });
  const a = join(state, 'a');
  mkdirSync(a);
  writeFileSync(join(a, 'control.sock'), 'mine');
  const r = run(a);
  assert.equal(r.status, 1, r.stderr);
  assertOneLine(r.stderr, /^error: .*\/a\/control\.sock is a regular file, not a control socket; it was left alone: move it away, or choose another --run-dir$/);
  assert.equal(readFileSync(join(a, 'control.sock'), 'utf8'), 'mine');
  const b = join(state, 'b');
  mkdirSync(b);
  symlinkSync(join(b, 'nowhere'), join(b, 'control.sock'));
  const s = run(b);
  assert.equal(s.status, 1, s.stderr);
  assertOneLine(s.stderr, /control\.sock is a symlink, not a control socket/);
  assert.deepEqual(readdirSync(a).sort(), ['control.sock'], 'the failed start left the run dir as it found it');
  // A run dir that holds a run (a crashed lab's events) is refused before anything starts.
  const c = join(state, 'c');
  mkdirSync(c);
  writeFileSync(join(c, 'events.ndjson'), '{"type":"started","t":0}\n');
  const again = run(c);
  assert.equal(again.status, 2, again.stderr);
  assertOneLine(again.stderr, /^error: --run-dir .*\/c already holds a recorded run \(events\.ndjson\); give a new directory/);
});
