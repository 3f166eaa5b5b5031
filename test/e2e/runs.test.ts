/** Where runs live, how many are kept, the registry of live labs and the size bound of events.ndjson. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabEvents, type LabEvent } from '../../src/events.js';
import { admit, initialBound, type BoundLimits } from '../../src/runs/bound.js';
import { createRunDir, labsDir, listRunDirs, liveLabs, liveRunDirs, processStart, pruneRuns, registerLab, runDirName, runsDir, stateDir, unregisterLab, type LabEntry } from '../../src/runs/paths.js';
import { Recorder } from '../../src/runs/recorder.js';
import { RunSession } from '../../src/runs/session.js';

function tempState(t: TestContext): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { XDG_STATE_HOME: dir, HOME: join(dir, 'home') };
}

test('state dir: XDG_STATE_HOME when absolute, else ~/.local/state (empty and relative values are ignored, as the XDG spec says)', () => {
  const cases: [NodeJS.ProcessEnv, string][] = [
    [{ XDG_STATE_HOME: '/x/state', HOME: '/home/u' }, '/x/state/autoscale'],
    [{ HOME: '/home/u' }, '/home/u/.local/state/autoscale'],
    [{ XDG_STATE_HOME: '', HOME: '/home/u' }, '/home/u/.local/state/autoscale'],
    [{ XDG_STATE_HOME: 'rel/state', HOME: '/home/u' }, '/home/u/.local/state/autoscale'],
  ];
  for (const [env, want] of cases) assert.equal(stateDir(env), want, JSON.stringify(env));
  assert.equal(runsDir({ XDG_STATE_HOME: '/s' }), '/s/autoscale/runs');
});

test('run dirs are named by local start time; a second run in the same second gets -2', (t) => {
  assert.equal(runDirName(new Date(2026, 11, 1, 9, 5, 7)), '2026-12-01T09-05-07');
  const env = tempState(t);
  const at = new Date(2026, 11, 1, 9, 5, 7);
  const a = createRunDir(env, at);
  const b = createRunDir(env, at);
  assert.ok(a.endsWith('/2026-12-01T09-05-07'));
  assert.ok(b.endsWith('/2026-12-01T09-05-07-2'));
  assert.deepEqual(listRunDirs(env), [a, b]);
});

test('retention: with --keep-runs 20 (the default) the 21st run removes the oldest, never a running lab, never other files', (t) => {
  const env = tempState(t);
  const dirs: string[] = [];
  for (let i = 0; i < 20; i++) {
    const d = createRunDir(env, new Date(2026, 0, 1, 10, 0, i));
    writeFileSync(join(d, 'events.ndjson'), '');
    dirs.push(d);
  }
  writeFileSync(join(runsDir(env), 'notes.txt'), 'mine');
  mkdirSync(join(runsDir(env), 'my-folder'));
  const s = RunSession.open({ record: true, keepRuns: 20 }, env);
  t.after(() => s.close());
  assert.deepEqual(s.pruned, [dirs[0]]);
  assert.equal(listRunDirs(env).length, 20);
  assert.ok(existsSync(s.runDir));
  assert.ok(existsSync(join(runsDir(env), 'notes.txt')) && existsSync(join(runsDir(env), 'my-folder')));
  // A lab still running in the oldest run keeps it.
  registerLab('a', entry({ runDir: dirs[1] }), env);
  assert.deepEqual(pruneRuns(5, [], env).includes(dirs[1]), false);
  assert.equal(listRunDirs(env).length, 5);
  assert.ok(existsSync(dirs[1]));
});

const entry = (over: Partial<LabEntry> = {}): LabEntry => ({
  pid: process.pid,
  procStart: processStart(process.pid),
  phase: 'running',
  runDir: '/r',
  record: true,
  startedAt: 1,
  balancerUrl: 'http://127.0.0.1:1',
  controlSocket: '/r/control.sock',
  metricsUrl: null,
  ...over,
});

test('registry of live labs: every lab is listed; an entry is removed by its owner; a SIGKILLed lab or a recycled pid is stale and removed', async (t) => {
  const env = tempState(t);
  assert.deepEqual(liveLabs(env), []);
  registerLab('a', entry({ runDir: '/a', startedAt: 2 }), env);
  registerLab('b', entry({ runDir: '/b', startedAt: 1 }), env);
  assert.deepEqual(liveLabs(env).map((l) => l.runDir), ['/b', '/a'], 'both labs, oldest first: not one pointer that the second overwrites');
  assert.deepEqual([...liveRunDirs(env)].sort(), ['/a', '/b']);
  unregisterLab('b', env);
  assert.deepEqual(liveLabs(env).map((l) => l.runDir), ['/a']);

  // A real process that is SIGKILLed and reaped: its entry is stale.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await once(child, 'spawn');
  registerLab('c', entry({ runDir: '/c', pid: child.pid!, procStart: processStart(child.pid!) }), env);
  assert.ok(liveLabs(env).some((l) => l.pid === child.pid));
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.ok(!liveLabs(env).some((l) => l.pid === child.pid));
  assert.ok(!existsSync(join(labsDir(env), 'c.json')), 'the stale entry was removed');

  // PID reuse: a live pid whose start time differs from the recorded one is another process.
  if (processStart(process.pid) !== null) {
    registerLab('d', entry({ runDir: '/d', procStart: processStart(process.pid)! - 1 }), env);
    assert.ok(!liveLabs(env).some((l) => l.runDir === '/d'), 'same pid, other start time: not the lab');
    assert.ok(!existsSync(join(labsDir(env), 'd.json')));
  }
  writeFileSync(join(labsDir(env), 'e.json'), '{"half":');
  assert.deepEqual(liveLabs(env).map((l) => l.runDir), ['/a'], 'an unreadable entry counts as none');
});

test('retention reads the registry again before each deletion: a lab that registers while pruning runs is spared', (t) => {
  const env = tempState(t);
  const dirs = [0, 1, 2, 3].map((i) => createRunDir(env, new Date(2026, 0, 1, 10, 0, i)));
  let reads = 0;
  // After the first deletion, a lab starts in dirs[1] (e.g. a --run-dir inside the runs folder).
  const live = () => (++reads > 1 ? new Set([dirs[1]]) : new Set<string>());
  assert.deepEqual(pruneRuns(1, [dirs[3]], env, live), [dirs[0], dirs[2]]);
  assert.ok(reads >= 2, 'read once per candidate, not once up front');
  assert.ok(existsSync(dirs[1]) && existsSync(dirs[3]));
});

test('--no-record: a temp dir for worker logs, nothing under the state dir; an unused run dir is removed again', (t) => {
  const env = tempState(t);
  const s = RunSession.open({ record: false, keepRuns: 20 }, env);
  assert.ok(!s.runDir.startsWith(stateDir(env)));
  s.close();
  assert.equal(existsSync(s.runDir), false, 'never used: removed');
  assert.equal(existsSync(runsDir(env)), false);
  const r = RunSession.open({ record: true, keepRuns: 20 }, env);
  r.close();
  assert.deepEqual(readdirSync(runsDir(env)), [], 'a lab that never started (port in use) leaves no empty run');
});

const stats = (t: number): LabEvent => ({ type: 'stats', t, traffic: { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 }, workers: [] });
const scale = (t: number): LabEvent => ({ type: 'scale', t, direction: 'out', from: 1, to: 2, reason: 'r', manual: false });

test('size bound: stats thinned after the first hour, then only essential events past the soft cap, nothing but stopped past the hard cap', () => {
  const limits: BoundLimits = { thinAfterMs: 10_000, thinEveryMs: 5000, softCapBytes: 1000, hardCapBytes: 1200 };
  let s = initialBound();
  const run = (e: LabEvent, bytes: number) => {
    const r = admit(e, bytes, s, limits);
    s = r.next;
    return r.admission;
  };
  assert.deepEqual(run(stats(1000), 10), { write: true, note: null });
  assert.deepEqual(run(stats(2000), 10), { write: true, note: null }, 'every second in the first hour');
  const first = run(stats(10_000), 10);
  assert.equal(first.write, true);
  assert.match(first.note!, /stats lines are kept one per 5 s/);
  assert.deepEqual(run(stats(11_000), 10), { write: false, note: null });
  assert.deepEqual(run(stats(15_000), 10), { write: true, note: null });
  const soft = run(stats(20_000), 1000);
  assert.equal(soft.write, false);
  assert.match(soft.note!, /only scale, worker, health and pause events/);
  assert.deepEqual(run(scale(21_000), 100), { write: true, note: null });
  const hard = run(scale(22_000), 1100);
  assert.equal(hard.write, false);
  assert.match(hard.note!, /nothing more is recorded but the final stopped line/);
  assert.deepEqual(run(scale(23_000), 10), { write: false, note: null });
  assert.deepEqual(run({ type: 'stopped', t: 24_000, reason: 'x', forced: 0 }, 50), { write: true, note: null });
});

test('the recorder appends lines and the note the bound asks for', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-rec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = new Recorder(dir, { thinAfterMs: 0, thinEveryMs: 10_000, softCapBytes: 1e9, hardCapBytes: 2e9 });
  r.write(stats(0));
  r.write(stats(1000));
  r.write({ type: 'stopped', t: 2000, reason: 'x', forced: 0 });
  r.write(stats(3000)); // after stopped: closed, ignored
  const lines = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.type), ['note', 'stats', 'stopped']);
});

test('a write that fails (disk full) stops the recording and says so once; it never throws into the lab', { skip: !existsSync('/dev/full') && 'no /dev/full' }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-rec-full-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync('/dev/full', join(dir, 'events.ndjson'));
  const r = new Recorder(dir);
  const errors: string[] = [];
  r.onError = (err) => errors.push((err as NodeJS.ErrnoException).code ?? err.message);
  r.write(stats(0));
  r.write(stats(1000));
  assert.deepEqual(errors, ['ENOSPC']);
});

test('the session registers the lab as starting at open, as running once started (with its control socket), and unregisters it at close', (t) => {
  const env = tempState(t);
  const s = RunSession.open({ record: true, keepRuns: 20 }, env);
  assert.deepEqual(liveLabs(env).map((l) => [l.runDir, l.phase]), [[s.runDir, 'starting']], 'registered before retention can see the new dir');
  const events = new LabEvents();
  s.attach(events);
  s.setLabFields({ controlSocket: '/tmp/x.sock' });
  events.publish({ type: 'started', t: 0, startedAt: 5, balancerUrl: 'http://127.0.0.1:1', runDir: s.runDir, pid: process.pid, config: {} as never });
  assert.deepEqual(liveLabs(env), [{ pid: process.pid, procStart: processStart(process.pid), phase: 'running', runDir: s.runDir, record: true, startedAt: 5, balancerUrl: 'http://127.0.0.1:1', controlSocket: '/tmp/x.sock', metricsUrl: null }]);
  s.setLabFields({ metricsUrl: 'http://127.0.0.1:2' });
  assert.equal(liveLabs(env)[0].metricsUrl, 'http://127.0.0.1:2');
  events.publish({ type: 'stopped', t: 1, reason: 'x', forced: 0 });
  s.close();
  assert.deepEqual(liveLabs(env), []);
  assert.equal(JSON.parse(readFileSync(join(s.runDir, 'events.ndjson'), 'utf8').split('\n')[0]).schema, 1);
});

test('--run-dir that holds a recorded run (finished or crashed) or a live lab is refused, exit 2, saying what to do; an empty or new one is used', (t) => {
  const env = tempState(t);
  const base = mkdtempSync(join(tmpdir(), 'autoscale-reuse-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const used = join(base, 'used');
  mkdirSync(used);
  writeFileSync(join(used, 'events.ndjson'), '{"type":"started"}\n');
  assert.throws(() => RunSession.open({ record: true, keepRuns: 20, runDir: used }, env), (err: Error & { code?: string; exitCode?: number }) =>
    err.code === 'AS_ERR_USAGE' && err.exitCode === 2 && /already holds a recorded run .*give a new directory/.test(err.message));
  assert.throws(() => RunSession.open({ record: false, keepRuns: 20, runDir: used }, env), /already holds a recorded run/, 'worker logs would mix too');
  const fresh = RunSession.open({ record: true, keepRuns: 20, runDir: join(base, 'fresh') }, env);
  t.after(() => fresh.close());
  assert.throws(() => RunSession.open({ record: true, keepRuns: 20, runDir: fresh.runDir }, env), /in use by a running lab/);
  // A directory whose events file is empty (a start that failed) is no run: it may be used.
  const empty = join(base, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'events.ndjson'), '');
  RunSession.open({ record: true, keepRuns: 20, runDir: empty }, env).close();
});
