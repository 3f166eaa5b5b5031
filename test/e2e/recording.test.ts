/** Recording a real lab: on by default, what a SIGKILL leaves behind, the registry of live labs, --no-record. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labsDir, liveLabs, runsDir } from '../../src/runs/paths.js';
import { freePort, isAlive, until } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

async function startLab(t: TestContext, extra: string[] = []) {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-recording-'));
  const env = { ...process.env, XDG_STATE_HOME: state, HOME: join(state, 'home') };
  const port = await freePort();
  const basePort = await freePort();
  const child = spawn(process.execPath, [BIN, 'start', '--json', '--port', String(port), '--base-port', String(basePort), '--interval', '1', '--min', '2', '--max', '2', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const lines = () => out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const pids = () => [...new Set(lines().flatMap((e) => (e.type === 'worker' && typeof e.pid === 'number' ? [e.pid] : [])))];
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const pid of pids()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });
  return { child, env, state, lines, pids, exit, stderr: () => err };
}

const readEvents = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; t: number; [k: string]: unknown });

test('SIGKILL of a recording lab: every event it published is in events.ndjson, stats up to the last second; the stale pointer is ignored', async (t) => {
  const lab = await startLab(t);
  await until('the run directory', () => /recording this run in /.test(lab.stderr()), 15_000);
  const runDir = /recording this run in (.+)\n/.exec(lab.stderr())![1];
  assert.ok(runDir.startsWith(runsDir(lab.env)), `${runDir} is under the state dir`);
  const file = join(runDir, 'events.ndjson');
  await until('2 ready workers and 3 stats lines', () => existsSync(file) && readEvents(file).filter((e) => e.type === 'stats').length >= 3 && readEvents(file).filter((e) => e.type === 'worker' && e.state === 'ready').length >= 2, 20_000);
  const [current, ...others] = liveLabs(lab.env);
  assert.equal(others.length, 0);
  assert.equal(current?.runDir, runDir);
  assert.equal(current?.pid, lab.child.pid);

  const startedAt = readEvents(file)[0].startedAt as number;
  lab.child.kill('SIGKILL');
  const killedAt = Date.now() - startedAt;
  await lab.exit;

  const recorded = readEvents(file); // every line parses: whole lines only
  assert.equal(recorded[0].type, 'started');
  assert.equal(recorded[0].schema, 1);
  // The recording host, for replay's capacity model (optional in schema 1).
  assert.deepEqual(recorded[0].host, { cores: availableParallelism(), memoryBytes: totalmem() });
  assert.ok(!recorded.some((e) => e.type === 'stopped'));
  // Every event --json printed (it prints all but stats) is in the file, in the same order.
  const key = (e: { type: string; t: number }) => `${e.type}@${e.t}`;
  const printed = lab.lines().map((e) => key(e as { type: string; t: number }));
  const inFile = recorded.filter((e) => e.type !== 'stats').map((e) => key(e));
  assert.deepEqual(inFile.slice(0, printed.length), printed);
  // Nothing older than a second is lost: the last stats line is at most ~1 s before the kill (2.5 s margin for a loaded machine's timers).
  const lastStats = recorded.filter((e) => e.type === 'stats').at(-1)!;
  t.diagnostic(`last stats line ${Math.round(killedAt - lastStats.t)} ms before the SIGKILL`);
  assert.ok(killedAt - lastStats.t < 2500, `last stats ${killedAt - lastStats.t} ms before the kill`);

  // The registry entry is still there but its process is dead: liveLabs ignores and removes it.
  assert.equal(readdirSync(labsDir(lab.env)).length, 1);
  assert.deepEqual(liveLabs(lab.env), []);
  assert.deepEqual(readdirSync(labsDir(lab.env)), []);
  await until('workers gone', () => lab.pids().every((p) => !isAlive(p)), 5000);
});

test('a clean stop prints the run dir at start and exit and removes the pointer; --no-record records nothing', async (t) => {
  const lab = await startLab(t);
  await until('a tick', () => lab.lines().some((e) => e.type === 'tick'), 20_000);
  lab.child.kill('SIGTERM');
  const { code } = await lab.exit;
  assert.equal(code, 0, lab.stderr());
  // Other parts may warn on stderr too (e.g. the default metrics port taken), and the live page says its URL: leave those out.
  const [start, ...end] = lab.stderr().trim().split('\n').filter((l) => !l.startsWith('warning: ') && !l.startsWith('live page: '));
  const dir = /recording this run in (.+)$/.exec(start)![1];
  // The exit summary, on stderr: stdout stays pure NDJSON (every line parses, the last is 'stopped').
  assert.equal(end.length, 5, lab.stderr());
  assert.match(end[0], /^autoscale ran \d+ (min \d+ )?s \(received SIGTERM\)$/);
  const total = (lab.lines().filter((e) => e.type === 'stats' || e.type === 'tick').at(-1)!.traffic as { total: number }).total;
  assert.match(end[1], new RegExp(`^  requests +${total.toLocaleString('en-US')}, errors 0$`));
  assert.match(end[2], /^ {2}instances +peak 2, 0 scale actions$/);
  assert.equal(end[3], `  run directory ${dir}`);
  assert.equal(end[4], `  report        autoscale report ${dir}`);
  assert.equal(lab.lines().at(-1)!.type, 'stopped');
  assert.equal(existsSync(labsDir(lab.env)), false, 'unregistered at exit');
  const recorded = readEvents(join(dir, 'events.ndjson'));
  assert.equal(recorded.at(-1)!.type, 'stopped');
  assert.ok(readdirSync(dir).some((f) => /^worker-\d+\.log$/.test(f)), 'worker logs live in the run dir');

  const off = await startLab(t, ['--no-record']);
  await until('a tick', () => off.lines().some((e) => e.type === 'tick'), 20_000);
  off.child.kill('SIGTERM');
  await off.exit;
  const logs = /worker logs in (.+)\n/.exec(off.stderr())![1];
  assert.match(off.stderr(), /\n {2}run directory .+ \(worker logs only: --no-record\)\n$/, 'no report hint without a recording');
  t.after(() => rmSync(logs, { recursive: true, force: true }));
  assert.match(off.stderr(), /^not recording \(--no-record\); worker logs in /);
  assert.equal(existsSync(runsDir(off.env)), false);
  assert.ok(!existsSync(join(logs, 'events.ndjson')));
});
