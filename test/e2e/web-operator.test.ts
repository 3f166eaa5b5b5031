/**
 * The operator's commands from the web page: a worker signal reaches the
 * real process (SIGSTOP freezes it, SIGCONT lets it go on, SIGKILL ends it),
 * a worker without a process is refused, and every command's event says it
 * came from "web"; manual scale reasons say so too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Operator, type OperableLab } from '../../src/control/operator.js';
import type { CommandEvent, LabEvent, LabSettings, WorkerSnapshot } from '../../src/events.js';

function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

function fakeLab(workers: WorkerSnapshot[]) {
  const published: LabEvent[] = [];
  const scaled: { n: number; reason: string }[] = [];
  let desired = 1;
  const lab: OperableLab = {
    runDir: '/r',
    settings: { min: 1, max: 3 } as LabSettings,
    metricsUrl: () => null,
    balancerUrl: () => 'http://127.0.0.1:8000',
    paused: () => false,
    stopping: () => false,
    desired: () => desired,
    counts: () => ({ starting: 0, ready: workers.length, live: workers.length }),
    workers: () => workers,
    held: () => 0,
    now: () => 1000,
    startedAt: () => 0,
    publish: (e) => void published.push(e),
    on: () => {},
    off: () => {},
    setPaused: () => {},
    scaleTo: (n, reason) => {
      scaled.push({ n, reason });
      desired = n;
    },
    holdScaling: () => {},
    refreshTarget: () => {
      throw new Error('not used');
    },
    stop: async () => 0,
  };
  return { lab, published, scaled };
}

const snapshot = (id: number, pid: number | undefined, state: WorkerSnapshot['state']): WorkerSnapshot => ({ id, port: 5000 + id, pid, state, healthy: true, cpu: null, rss: null, rps: 0, inFlight: 0, restarts: 0, startedAt: 0, readyAt: 0 });

test('SIGSTOP, SIGCONT and SIGKILL from the web page reach the worker\'s process; the command events say "web"', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  await once(child, 'spawn');
  const { lab, published } = fakeLab([snapshot(1, child.pid, 'ready'), snapshot(2, undefined, 'backoff'), snapshot(3, 999_999_999, 'exited')]);
  const op = new Operator(lab);

  const stop = await op.command({ cmd: 'signal', id: 1, signal: 'SIGSTOP' }, 'web');
  assert.equal(stop.ok, true, stop.message);
  assert.match(stop.message, new RegExp(`^sent SIGSTOP to worker 1 \\(pid ${child.pid}\\): frozen`));
  await waitFor(() => procState(child.pid!) === 'T');
  assert.equal((await op.command({ cmd: 'signal', id: 1, signal: 'SIGCONT' }, 'web')).ok, true);
  await waitFor(() => procState(child.pid!) !== 'T');
  const kill = await op.command({ cmd: 'signal', id: 1, signal: 'SIGKILL' }, 'web');
  assert.equal(kill.ok, true);
  const [, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL');

  const none = await op.command({ cmd: 'signal', id: 2, signal: 'SIGKILL' }, 'web');
  assert.deepEqual([none.ok, none.code], [false, 'AS_ERR_USAGE']);
  assert.match(none.message, /worker 2 is not running \(it is backoff\)/);
  const gone = await op.command({ cmd: 'signal', id: 3, signal: 'SIGKILL' }, 'web');
  assert.equal(gone.ok, false, 'an exited worker is never signalled (its pid may be another process by now)');
  const missing = await op.command({ cmd: 'signal', id: 9, signal: 'SIGKILL' }, 'web');
  assert.match(missing.message, /worker 9 is not running: nothing to signal/);

  const commands = published.filter((e): e is CommandEvent => e.type === 'command');
  assert.deepEqual(commands.map((c) => [c.command, c.source, c.ok]), [
    ['SIGSTOP worker 1', 'web', true],
    ['SIGCONT worker 1', 'web', true],
    ['SIGKILL worker 1', 'web', true],
    ['SIGKILL worker 2', 'web', false],
    ['SIGKILL worker 3', 'web', false],
    ['SIGKILL worker 9', 'web', false],
  ]);
});

test('a manual scale from the web page says so in its reason; the dashboard\'s and the socket\'s reasons are as before', async () => {
  const { lab, scaled } = fakeLab([]);
  const op = new Operator(lab);
  await op.command({ cmd: 'scale-by', delta: 1 }, 'web');
  await op.command({ cmd: 'scale', n: 3 }, 'web');
  await op.command({ cmd: 'scale-by', delta: -1 }, 'dashboard');
  await op.command({ cmd: 'scale', n: 1 }, 'control socket');
  assert.deepEqual(scaled.map((s) => s.reason), ['manual scale-out via the web page', 'manual scale to 3 via the web page', 'manual scale-in', 'manual scale to 1']);
});

async function waitFor(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
