import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabEvent, WorkerEvent } from '../src/events.js';
import { freePort as freeBasePort, isAlive, until } from './helpers.js';
import { Supervisor, type Rotation, type SupervisorOptions } from '../src/supervisor/supervisor.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A balancer stand-in that records what the supervisor asked of it. */
function fakeRotation() {
  const calls: string[] = [];
  const rotation: Rotation = {
    addWorker: (w) => void calls.push(`add ${w.id}`),
    drainWorker: async (id) => {
      calls.push(`drain ${id}`);
      return { inFlightAtStart: 0, drained: true, ms: 1 };
    },
    removeWorker: async (id) => void calls.push(`remove ${id}`),
  };
  return { rotation, calls };
}

function setup(t: import('node:test').TestContext, over: Partial<SupervisorOptions> & { basePort: number }) {
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-sup-'));
  const events: LabEvent[] = [];
  const { rotation, calls } = fakeRotation();
  const t0 = Date.now();
  const sup = new Supervisor({
    host: '127.0.0.1',
    work: 0,
    runDir,
    rotation,
    publish: (e) => void events.push(e),
    clock: () => Date.now() - t0,
    drainTimeoutMs: 2000,
    killTimeoutMs: 1500,
    readyTimeoutMs: 5000,
    ...over,
  });
  t.after(async () => {
    sup.killAllSync();
    await sup.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  });
  const workerEvents = () => events.filter((e): e is WorkerEvent => e.type === 'worker');
  return { sup, events, calls, runDir, workerEvents };
}

test('starts real workers on the lowest free ports, skipping a taken one, ready only after IPC', async (t) => {
  const base = await freeBasePort();
  const blocker = createServer().listen(base, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const { sup, calls, runDir, workerEvents } = setup(t, { basePort: base });

  sup.setDesired(2);
  assert.deepEqual(sup.counts(), { starting: 2, ready: 0, live: 2 });
  await until('2 ready workers', () => sup.counts().ready === 2);
  const ports = sup.snapshot().map((w) => w.port).sort((a, b) => a - b);
  assert.deepEqual(ports, [base + 1, base + 2]);
  assert.deepEqual(calls.sort(), ['add 1', 'add 2']);
  for (const w of sup.snapshot()) assert.ok(w.pid && isAlive(w.pid));
  // Worker output goes to its log file, not to our terminal.
  assert.match(readFileSync(join(runDir, 'worker-1.log'), 'utf8'), /listening/);
  assert.ok(workerEvents().some((e) => e.from === 'starting' && e.state === 'ready'));

  // Scale in: the newest ready worker is drained through the balancer, then stopped.
  const pids = sup.snapshot().map((w) => w.pid!);
  sup.setDesired(1);
  await until('one worker left', () => sup.snapshot().length === 1);
  assert.ok(calls.includes('drain 2'));
  const states = workerEvents().filter((e) => e.id === 2).map((e) => e.state);
  assert.deepEqual(states.slice(-3), ['draining', 'stopping', 'exited']);
  await until('worker 2 process gone', () => !isAlive(pids[1]));

  const forced = await sup.stopAll();
  assert.equal(forced, 0);
  await until('all gone', () => pids.every((p) => !isAlive(p)));
});

test('a crash loop is replaced with exponential back-off, not spun', async (t) => {
  const base = await freeBasePort();
  const { sup, workerEvents } = setup(t, { basePort: base, script: fixture('worker-crash-at-start.js'), backoffBaseMs: 100, backoffMaxMs: 800 });
  sup.setDesired(1);
  await new Promise((r) => setTimeout(r, 2500));
  const crashes = workerEvents().filter((e) => e.state === 'crashed');
  // Without back-off a fork-and-crash loop would manage dozens in 2.5 s; with 100, 200, 400, 800, 800… ms it manages a handful.
  assert.ok(crashes.length >= 3 && crashes.length <= 8, `crashes: ${crashes.length}`);
  const delays = workerEvents()
    .filter((e) => e.from === null)
    .map((e) => Number(/after (\d+) ms back-off/.exec(e.detail)?.[1] ?? 0));
  assert.deepEqual(delays.slice(0, 5), [0, 100, 200, 400, 800]);
  assert.ok(crashes.every((e) => /exit code 1 before ready/.test(e.detail)));
  // Replacements count restarts.
  assert.ok(sup.snapshot()[0].restarts >= 3);
});

test('a worker that never becomes ready is killed at the deadline and replaced', async (t) => {
  const base = await freeBasePort();
  const { sup, workerEvents } = setup(t, { basePort: base, script: fixture('worker-never-ready.js'), readyTimeoutMs: 400, backoffBaseMs: 5000 });
  sup.setDesired(1);
  await until('a crash', () => workerEvents().some((e) => e.state === 'crashed'), 5000);
  const crash = workerEvents().find((e) => e.state === 'crashed')!;
  assert.match(crash.detail, /not ready after 400 ms/);
  await until('killed', () => crash.pid !== undefined && !isAlive(crash.pid));
});

test('a worker that ignores SIGTERM is SIGKILLed after the deadline, and reported as forced', async (t) => {
  const base = await freeBasePort();
  const { sup, workerEvents } = setup(t, { basePort: base, script: fixture('worker-ignore-sigterm.js'), killTimeoutMs: 300 });
  sup.setDesired(1);
  await until('ready', () => sup.counts().ready === 1);
  const pid = sup.snapshot()[0].pid!;
  const started = Date.now();
  assert.equal(await sup.stopAll(), 1);
  assert.ok(Date.now() - started >= 250);
  assert.equal(isAlive(pid), false);
  assert.match(workerEvents().at(-1)!.detail, /SIGKILL/);
});

test('an unhealthy worker is taken out and replaced, with a health event and a restart counted', async (t) => {
  const base = await freeBasePort();
  const { sup, events, calls, workerEvents } = setup(t, { basePort: base });
  sup.setDesired(1);
  await until('ready', () => sup.counts().ready === 1);
  const first = sup.snapshot()[0];
  sup.markUnhealthy(first.id, '3 failed checks');
  assert.ok(events.some((e) => e.type === 'health' && e.id === first.id && !e.healthy && e.detail === '3 failed checks'));
  await until('a replacement ready and the unhealthy one gone', () => sup.counts().ready === 1 && !sup.snapshot().some((w) => w.id === first.id));
  assert.ok(calls.includes(`drain ${first.id}`));
  assert.equal(sup.snapshot()[0].restarts, 1);
  assert.match(workerEvents().find((e) => e.id === first.id && e.state === 'draining')!.detail, /^unhealthy: 3 failed checks$/);
  await until('old process gone', () => !isAlive(first.pid!));
});
