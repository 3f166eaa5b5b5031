/** The real CLI: exit codes, error lines, and every way out leaving no worker behind. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isAlive, until, runCli as runMain } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));



test('bad flags and config: one clear line, exit 2, no stack trace', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const badConfig = join(dir, 'bad.json');
  writeFileSync(badConfig, JSON.stringify({ max: 3, scaleUpp: 40 }));
  const rows: Array<[string[], RegExp]> = [
    [['start', '--min', '4', '--max', '2'], /^error: --min \(4\) must be <= --max \(2\)$/m],
    [['start', '--scale-down', '50', '--scale-up', '40'], /^error: --scale-down \(50\) must be below --scale-up \(40\)$/m],
    [['start', '--interval', 'soon'], /^error: --interval must be a number \(received "soon"\)$/m],
    [['start', '--config', badConfig], /^error: config file .*bad\.json: unknown key "scaleUpp"/m],
    [['start', '--config', join(dir, 'nope.json')], /^error: cannot read config file .*ENOENT/m],
    [['start', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['worker', '--port', 'x'], /^error: --port must be a whole number from 0 to 65535 \(received "x"\)$/m],
    [['worker'], /required option '--port <port>' not specified/],
  ];
  for (const [argv, message] of rows) {
    const r = await runMain(argv);
    assert.equal(r.code, 2, `${argv.join(' ')} -> ${r.code} ${r.stderr}`);
    assert.match(r.stderr, message, argv.join(' '));
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }
});

test('--help and --version exit 0', async () => {
  const v = await runMain(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const h = await runMain(['start', '--help']);
  assert.equal(h.code, 0);
  for (const flag of ['--min', '--max', '--scale-up', '--scale-down', '--interval', '--cooldown', '--port', '--base-port', '--host', '--config', '--json', '--no-dashboard']) {
    assert.ok(h.stdout.includes(flag), `start --help mentions ${flag}`);
  }
  assert.equal((await runMain(['worker', '--help'])).code, 0);
});

interface Daemon {
  child: ChildProcess;
  lines: () => Array<Record<string, unknown>>;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  runDir: string;
}

function startDaemon(t: TestContext, args: string[]): Daemon {
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-cli-run-'));
  // The run is recorded into runDir; the state dir (the `current` pointer) lives there too, not in the user's.
  const child = spawn(process.execPath, [BIN, 'start', '--json', '--run-dir', runDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: runDir } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const d: Daemon = {
    child,
    runDir,
    exit,
    stderr: () => err,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
  t.after(async () => {
    // Whatever happened, leave nothing running: the daemon, then any worker it reported.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of workerPids(d)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  });
  return d;
}

function workerPids(d: Daemon): number[] {
  return [...new Set(d.lines().flatMap((e) => (e.type === 'worker' && typeof e.pid === 'number' ? [e.pid] : [])))];
}

async function daemonWithWorkers(t: TestContext, n: number, extra: string[] = []) {
  const port = await freePort();
  const basePort = await freePort();
  // A fixed pool (min = max) so whatever else loads this machine's CPU cannot change the count.
  const d = startDaemon(t, ['--port', String(port), '--base-port', String(basePort), '--min', String(n), '--max', String(n), '--interval', '1', ...extra]);
  try {
    await until(`${n} ready workers`, () => d.lines().filter((e) => e.type === 'worker' && e.state === 'ready').length >= n, 20_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nstderr: ${d.stderr()}\nlast lines: ${JSON.stringify(d.lines().slice(-5))}`, { cause: err });
  }
  return { d, port };
}

test('SIGKILL of the daemon: every worker is gone within 2 s', async (t) => {
  const { d } = await daemonWithWorkers(t, 2);
  const pids = workerPids(d);
  assert.equal(pids.length, 2);
  assert.ok(pids.every(isAlive));
  d.child.kill('SIGKILL');
  await d.exit;
  const killedAt = Date.now();
  await until('workers gone', () => pids.every((p) => !isAlive(p)), 2000);
  t.diagnostic(`workers gone ${Date.now() - killedAt} ms after the daemon's SIGKILL`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} of the daemon: clean stop, exit 0, no worker left`, async (t) => {
    const { d, port } = await daemonWithWorkers(t, 2);
    const pids = workerPids(d);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    d.child.kill(signal);
    const { code } = await d.exit;
    assert.equal(code, 0, d.stderr());
    assert.ok(pids.every((p) => !isAlive(p)));
    const stopped = d.lines().find((e) => e.type === 'stopped');
    assert.match(String(stopped?.reason), new RegExp(signal));
    assert.equal(stopped?.forced, 0);
  });
}

test('SIGHUP to the whole process group (the terminal closed): workers are drained and stopped, not killed by it', async (t) => {
  const port = await freePort();
  const basePort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-cli-hup-'));
  // Its own process group, as a shell job is: the test runner is not in it.
  const child = spawn(process.execPath, [BIN, 'start', '--json', '--port', String(port), '--base-port', String(basePort), '--min', '2', '--max', '2', '--interval', '1', '--run-dir', runDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const lines = () => out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const pids = () => [...new Set(lines().flatMap((e) => (e.type === 'worker' && typeof e.pid === 'number' ? [e.pid] : [])))];
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of pids()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  });
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await until('2 ready workers', () => lines().filter((e) => e.type === 'worker' && e.state === 'ready').length >= 2, 20_000);
  process.kill(-child.pid!, 'SIGHUP');
  const [code] = await exit;
  assert.equal(code, 0);
  const stopped = lines().find((e) => e.type === 'stopped');
  assert.match(String(stopped?.reason), /SIGHUP/);
  assert.equal(stopped?.forced, 0);
  const ends = lines().filter((e) => e.type === 'worker' && (e.state === 'exited' || e.state === 'crashed'));
  assert.equal(ends.length, 2);
  for (const e of ends) {
    assert.equal(e.state, 'exited', JSON.stringify(e));
    assert.equal(e.detail, 'exit code 0', 'stopped by the daemon after draining, not by the hang-up');
  }
  assert.equal(lines().filter((e) => e.type === 'worker' && e.state === 'draining').length, 2);
  await until('workers gone', () => pids().every((p) => !isAlive(p)), 5000);
});

test('NDJSON output: documented event types and tick fields', async (t) => {
  const { d } = await daemonWithWorkers(t, 1);
  await until('two ticks', () => d.lines().filter((e) => e.type === 'tick').length >= 2, 10_000);
  d.child.kill('SIGTERM');
  await d.exit;
  const lines = d.lines();
  assert.equal(lines[0].type, 'started');
  assert.match(String(lines[0].balancerUrl), /^http:\/\/127\.0\.0\.1:\d+$/);
  const tick = lines.find((e) => e.type === 'tick')!;
  for (const key of ['t', 'cpu', 'metric', 'value', 'instances', 'ready', 'desired', 'action', 'reason', 'paused', 'traffic', 'workers']) {
    assert.ok(key in tick, `tick has ${key}`);
  }
  assert.equal(typeof tick.cpu, 'number');
  const traffic = tick.traffic as Record<string, unknown>;
  for (const key of ['rpm', 'rps', 'p50', 'p95', 'p99', 'inFlight', 'total', 'errors']) assert.ok(key in traffic, `traffic has ${key}`);
  assert.equal(lines.at(-1)!.type, 'stopped');
  assert.ok(!lines.some((e) => e.type === 'stats'), 'the 1 s stats heartbeat is not printed');
});

test('plain lines when stdout is not a TTY', async (t) => {
  const port = await freePort();
  const basePort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-cli-plain-'));
  const child = spawn(process.execPath, [BIN, 'start', '--port', String(port), '--base-port', String(basePort), '--max', '1', '--interval', '0.5', '--run-dir', runDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: runDir } });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(runDir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // A loaded machine may tick before the worker is ready: wait for a tick that sees it.
  await until('a tick line with the worker ready', () => /tick .*cpu .*instances 1 \(ready 1/.test(out), 20_000);
  child.kill('SIGTERM');
  await once(child, 'exit');
  assert.match(out, /^\+00:00 started +balancer http:\/\/127\.0\.0\.1:\d+/m);
  assert.match(out, /worker +1 :\d+ pid \d+ starting → ready/);
  assert.match(out, /tick +cpu [\d.]+ %( \(lab [\d.]+ %, other [\d.]+ %\))? +instances 1 \(ready 1(, warming 1)?, desired 1\) +rpm \d+ .*hold: /);
  assert.match(out, /stopped +received SIGTERM/);
});

test('balancer port in use: exit 1, the port named, no worker started', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const d = startDaemon(t, ['--port', String(port), '--base-port', String(await freePort())]);
  const { code } = await d.exit;
  assert.equal(code, 1);
  assert.match(d.stderr(), new RegExp(`^error: balancer port 127\\.0\\.0\\.1:${port} is already in use`, 'm'));
  assert.doesNotMatch(d.stderr(), /^\s+at /m);
  assert.deepEqual(workerPids(d), []);
  assert.deepEqual(readdirSync(d.runDir), []);
});

test('a crash says "workers were stopped." only when a lab (and so workers) existed: not from report, replay or load', async () => {
  const { emergencyStop, running } = await import('../../src/commands/running.js');
  assert.equal(emergencyStop(), 0, 'no lab in this process: nothing to claim');
  let killed = 0;
  const lab = { killAllSync: () => void killed++ };
  running.add(lab);
  try {
    assert.equal(emergencyStop(), 1);
    assert.equal(killed, 1);
  } finally {
    running.delete(lab);
  }
  const bin = readFileSync(BIN, 'utf8');
  assert.match(bin, /labs > 0 \? 'workers were stopped\.\\n' : ''/, 'bin prints the line only then');
});
