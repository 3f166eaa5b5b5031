/**
 * `autoscale experiment` end to end, through the real CLI: two built-ins in
 * --quick (each arm a real lab, a real load, real faults), the comparison
 * opened in Debian's Chromium (every chart has points for every arm, the
 * event marks are drawn, no request leaves the page), and Ctrl+C/SIGTERM in
 * the middle of an arm (the arm's run kept and marked interrupted, the
 * comparison written, no process left behind).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExperimentRecord } from '../../src/runs/experiment-record.js';
import { freePort, isAlive, sleep, until } from '../helpers.js';
import { launchChromium, openOffline } from '../../harness/chromium.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  dir: string;
  record: ExperimentRecord;
}

async function ports(): Promise<string[]> {
  return ['--port', String(await freePort()), '--base-port', String(await freePort()), '--metrics-port', String(await freePort())];
}

function expDir(stderr: string): string {
  const m = /recording in (\S+)/.exec(stderr);
  assert.ok(m, `the experiment said where it records:\n${stderr}`);
  return m[1];
}

/** Every PID this experiment's processes had: the labs, their workers (from the recordings), the hogs (from the record). */
function pidsOf(dir: string, record: ExperimentRecord): number[] {
  const pids: number[] = [];
  for (const arm of record.arms) {
    const events = join(dir, arm.runDir, 'events.ndjson');
    if (existsSync(events)) {
      for (const line of readFileSync(events, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const e = JSON.parse(line) as { type: string; pid?: number };
        if ((e.type === 'worker' || e.type === 'started') && typeof e.pid === 'number') pids.push(e.pid);
      }
    }
    for (const f of arm.fired) for (const m of f.outcome.matchAll(/pids? ([\d, ]+)\)/g)) pids.push(...m[1].split(',').map((p) => Number(p.trim())));
  }
  return [...new Set(pids)];
}

/** No process anywhere still has this directory on its command line (the loads write into it). */
function processesMentioning(dir: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir) && Number(pid) !== process.pid) out.push(`${pid}: ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function runExperiment(t: import('node:test').TestContext, args: string[], opts: { interruptAfter?: RegExp } = {}): Promise<Ran> {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-exp-e2e-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BIN, 'experiment', ...args, ...(await ports())], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: state } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(async () => {
    // A test that failed midway: stop the experiment as a user would (it stops its labs, loads and hogs).
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const stopped = await Promise.race([exited.then(() => true), sleep(40_000).then(() => false)]);
    if (!stopped) child.kill('SIGKILL');
  });
  if (opts.interruptAfter) {
    await until('the moment to interrupt', () => opts.interruptAfter!.test(stderr), 60_000);
    child.kill('SIGTERM');
  }
  const code = await exited;
  const dir = expDir(stderr);
  const record = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as ExperimentRecord;
  return { code, stdout, stderr, dir, record };
}

async function assertNothingLeft(ran: Ran): Promise<void> {
  const pids = pidsOf(ran.dir, ran.record);
  assert.ok(pids.length > 0, 'the recordings name the processes');
  await until('every process of the experiment gone', () => pids.every((p) => !isAlive(p)), 10_000).catch(() => {});
  assert.deepEqual(pids.filter(isAlive), [], 'no lab, worker or hog left running');
  assert.deepEqual(processesMentioning(ran.dir), [], 'no load generator left running');
}

/** A lesson file of its own in a temp dir (removed after the test); the dir doubles as the state dir. */
function lessonFile(t: import('node:test').TestContext, prefix: string, yaml: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'short.yaml');
  writeFileSync(file, yaml);
  return { dir, file };
}

async function openInChromium(t: import('node:test').TestContext, html: string) {
  const { context: browser, cleanup } = await launchChromium({ width: 1280, height: 900 });
  t.after(cleanup);
  const { page, requests, errors } = await openOffline(browser, html, { consoleErrors: true });
  await page.waitForSelector('html[data-charts-ready]');
  return { page, requests, errors };
}

// The two rehearsals run side by side on their own ports and state dirs: what they check is what each run
// did (events, records, the page, no process left), not how fast, and together they take one's time.
describe('two built-ins end to end in --quick, side by side', { concurrency: 2 }, () => {
  test('noisy-neighbour --quick: two real arms, the hog as a timed event, claims checked, experiment.html in Chromium, nothing left behind', { timeout: 180_000 }, async (t) => {
    const ran = await runExperiment(t, ['noisy-neighbour', '--quick']);
    assert.equal(ran.code, 0, ran.stderr);
    const r = ran.record;
    assert.equal(r.status, 'finished');
    assert.equal(r.quick, true);
    assert.deepEqual(r.arms.map((a) => [a.name, a.status]), [['host-cpu', 'finished'], ['worker-cpu', 'finished']]);
    assert.equal(r.fileSha256.length, 64);
    assert.equal(readFileSync(join(ran.dir, 'experiment.yaml'), 'utf8'), spawnSync(process.execPath, [BIN, 'experiment', 'show', 'noisy-neighbour'], { encoding: 'utf8' }).stdout);
    for (const arm of r.arms) {
      assert.equal(arm.loadAverageBefore?.length, 3);
      assert.ok(existsSync(join(ran.dir, arm.runDir, 'events.ndjson')) && existsSync(join(ran.dir, arm.runDir, 'load.ndjson')), `${arm.name} is an ordinary recorded run`);
      assert.deepEqual(arm.fired.map((f) => f.what.split(':')[0]), ['steady trickle', 'noisy neighbour', 'noisy neighbour gone']);
      assert.match(arm.fired[1].outcome, /^2 busy processes started/);
    }
    assert.match(ran.stderr, /claims: \d+ of 4 met/);
    assert.ok(existsSync(join(ran.dir, 'experiment.md')));
    // `autoscale runs` lists the experiment's directory.
    const runs = spawnSync(process.execPath, [BIN, 'runs'], { encoding: 'utf8', env: { ...process.env, XDG_STATE_HOME: join(ran.dir, '..', '..', '..') } });
    assert.match(runs.stdout, /experiment noisy-neighbour: 2\/2 arms finished/);
    await assertNothingLeft(ran);

    const html = join(ran.dir, 'experiment.html');
    const text = readFileSync(html, 'utf8');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(text)![1];
    const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'))!;
    assert.match(scriptSrc, /^script-src 'sha256-[^']+' 'sha256-[^']+'$/, 'scripts run by their hashes only, no unsafe-inline');
    assert.match(csp, /connect-src 'none'/);
    const { page, requests, errors } = await openInChromium(t, html);
    for (const id of ['chart-instances', 'chart-metric', 'chart-traffic', 'chart-latency']) {
      const points = (await page.getAttribute(`#${id} [data-chart]`, 'data-points'))!.split(',').map(Number);
      assert.equal(points.length, 2, `${id}: a series per arm`);
      assert.ok(points.every((n) => n > 0), `${id}: points for every arm (${points})`);
      assert.ok(Number(await page.getAttribute(`#${id} [data-chart]`, 'data-marks')) >= 2, `${id}: the hog's start and end drawn as marks`);
    }
    assert.equal(await page.locator('#claims tbody tr').count(), 4);
    assert.equal(await page.locator('#questions details').count(), 3, 'answers folded');
    await page.screenshot({ path: join(ran.dir, 'experiment.png'), fullPage: true });
    if (process.env.AS_KEEP_SCREENSHOT) writeFileSync(process.env.AS_KEEP_SCREENSHOT, readFileSync(join(ran.dir, 'experiment.png')));
    assert.deepEqual(errors, [], 'no script error (the CSP let both scripts run)');
    assert.deepEqual(requests, [], 'no network request');
  });

  test('coordinated-omission --quick: a worker frozen by SIGSTOP in each phase, continued, and the lab stops cleanly', { timeout: 180_000 }, async (t) => {
    const ran = await runExperiment(t, ['coordinated-omission', '--quick']);
    assert.equal(ran.code, 0, ran.stderr);
    const [arm] = ran.record.arms;
    assert.equal(arm.status, 'finished');
    const stops = arm.fired.filter((f) => f.what.startsWith('SIGSTOP'));
    const conts = arm.fired.filter((f) => f.what.startsWith('SIGCONT'));
    assert.equal(stops.length, 2);
    assert.equal(conts.length, 2);
    for (const s of stops) assert.match(s.outcome, /^SIGSTOP to worker \d+ \(pid \d+\)$/);
    for (const c of conts) assert.match(c.outcome, /^SIGCONT to worker \d+$/);
    const events = readFileSync(join(ran.dir, arm.runDir, 'events.ndjson'), 'utf8');
    assert.match(events, /"type":"stopped"/, 'the lab stopped on its own terms (SIGTERM), not killed');
    await assertNothingLeft(ran);
  });
});

test('SIGTERM in the middle of an arm: its run is kept and marked interrupted, the comparison is written, nothing is left behind', { timeout: 120_000 }, async (t) => {
  const { file } = lessonFile(t, 'autoscale-exp-int-', `title: Interrupted
teaches: Stopping at any moment leaves nothing behind.
arms:
  - name: first
    min: 2
  - name: second
load:
  - threads: 4
    duration: 40
events:
  - at: 1
    action: noisy-neighbour
    for: 30
expect:
  - errors: 0
`);
  const started = Date.now();
  // Interrupt once the first arm's load and hog run (its progress line shows a live instance count).
  // --quick: a short pause before the arm even on a busy host.
  const ran = await runExperiment(t, [file, '--quick'], { interruptAfter: /arm 1 of 2 \(first\) · .* · [1-9]\d* instances/ });
  assert.ok(Date.now() - started < 90_000, 'stopped promptly');
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stderr, /SIGTERM: stopping cleanly/);
  assert.equal(ran.record.status, 'interrupted');
  assert.deepEqual(ran.record.arms.map((a) => a.status), ['interrupted', 'not run']);
  const first = ran.record.arms[0];
  assert.ok(existsSync(join(ran.dir, first.runDir, 'events.ndjson')), 'the interrupted arm keeps its recording');
  assert.match(readFileSync(join(ran.dir, first.runDir, 'events.ndjson'), 'utf8'), /"type":"stopped"/);
  const html = readFileSync(join(ran.dir, 'experiment.html'), 'utf8');
  assert.match(html, /id="status-note">This experiment was interrupted: 0 of 2 arms finished/);
  await sleep(200);
  await assertNothingLeft(ran);
});

test('SIGKILL of the experiment in the middle of an arm: its lab, workers and load stop by themselves', { timeout: 120_000 }, async (t) => {
  const { dir, file } = lessonFile(t, 'autoscale-exp-kill-', `title: Killed
teaches: Even a SIGKILL of the experiment leaves nothing behind.
arms:
  - name: only
    min: 2
load:
  - threads: 4
    duration: 40
`);
  const child = spawn(process.execPath, [BIN, 'experiment', file, '--quick', ...(await ports())], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XDG_STATE_HOME: dir } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // The arm's lab runs with workers and the load is on (live instances shown); every one of them names `dir` on its command line.
  await until('the arm running under load', () => /arm 1 of 1 \(only\) · .* · [1-9]\d* instances/.test(stderr), 60_000);
  const before = processesMentioning(dir);
  assert.ok(before.some((p) => / start /.test(p)) && before.some((p) => / load /.test(p)) && before.some((p) => /app\/main\.js/.test(p)), `lab, load and workers found:\n${before.join('\n')}`);
  child.kill('SIGKILL');
  await exited;
  await until('every process of the experiment gone', () => processesMentioning(dir).length === 0, 30_000).catch(() => {});
  assert.deepEqual(processesMentioning(dir), [], 'no lab, worker or load left running');
});
