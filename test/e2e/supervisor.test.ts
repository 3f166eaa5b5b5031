import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabEvent, WorkerEvent } from '../../src/events.js';
import { freePort as freeBasePort, isAlive, until } from '../helpers.js';
import { Supervisor, type Rotation, type SupervisorOptions } from '../../src/supervisor/supervisor.js';
import { EXIT_LISTEN_FAILED } from '../../src/app/protocol.js';
import { emptySummary, foldSummary, summaryLines } from '../../src/summary/summary.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

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
  const ports = sup.records().map((w) => w.port).sort((a, b) => a - b);
  assert.deepEqual(ports, [base + 1, base + 2]);
  assert.deepEqual(calls.sort(), ['add 1', 'add 2']);
  for (const w of sup.records()) assert.ok(w.pid && isAlive(w.pid));
  // Worker output goes to its log file, not to our terminal.
  assert.match(readFileSync(join(runDir, 'worker-1.log'), 'utf8'), /listening/);
  assert.ok(workerEvents().some((e) => e.from === 'starting' && e.state === 'ready'));

  // Scale in: the newest ready worker is drained through the balancer, then stopped.
  const pids = sup.records().map((w) => w.pid!);
  sup.setDesired(1);
  await until('one worker left', () => sup.records().length === 1);
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
  assert.ok(crashes.length >= 2 && crashes.length <= 8, `crashes: ${crashes.length}`);
  // A loaded machine forks slowly: wait for the fifth start before reading the delays.
  await until('5 starts', () => workerEvents().filter((e) => e.from === null).length >= 5, 15_000);
  const delays = workerEvents()
    .filter((e) => e.from === null)
    .map((e) => Number(/after (\d+) ms back-off/.exec(e.detail)?.[1] ?? 0));
  assert.deepEqual(delays.slice(0, 5), [0, 100, 200, 400, 800]);
  assert.ok(crashes.every((e) => /exit code 1 before ready/.test(e.detail)));
  // Replacements count restarts.
  assert.ok(sup.records()[0].restarts >= 3);
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
  const pid = sup.records()[0].pid!;
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
  const first = sup.records()[0];
  sup.markUnhealthy(first.id, '3 failed checks');
  assert.ok(events.some((e) => e.type === 'health' && e.id === first.id && !e.healthy && e.detail === '3 failed checks'));
  await until('a replacement ready and the unhealthy one gone', () => sup.counts().ready === 1 && !sup.records().some((w) => w.id === first.id));
  assert.ok(calls.includes(`drain ${first.id}`));
  assert.equal(sup.records()[0].restarts, 1);
  assert.match(workerEvents().find((e) => e.id === first.id && e.state === 'draining')!.detail, /^unhealthy: 3 failed checks$/);
  await until('old process gone', () => !isAlive(first.pid!));
});

test('when no free port is found the slot is retried, not lost', async (t) => {
  // 65535 is the only candidate from base 65535: hold it, and the port search must fail.
  const blocker = createServer().listen(65_535, '127.0.0.1');
  await once(blocker, 'listening');
  let blocked = true;
  t.after(() => {
    if (blocked) blocker.close();
  });
  const { sup, workerEvents } = setup(t, { basePort: 65_535, backoffBaseMs: 100, backoffMaxMs: 400 });
  sup.setDesired(1);
  await until('a failed port search', () => workerEvents().some((e) => e.state === 'crashed' && /no free port/.test(e.detail)), 5000);
  blocker.close();
  blocked = false;
  await until('a worker ready on the freed port', () => sup.counts().ready === 1, 10_000);
  assert.equal(sup.records()[0].port, 65_535);
});

/** A fork that fails the way EAGAIN/EMFILE do: 'error', no pid, and never 'exit'. */
function failingFork(code = 'EAGAIN') {
  return () => {
    const child = new EventEmitter() as unknown as ChildProcess;
    Object.assign(child, { pid: undefined, exitCode: null, signalCode: null, connected: false, kill: () => false, send: () => false });
    process.nextTick(() => child.emit('error', Object.assign(new Error(`spawn ${code}`), { code, syscall: 'spawn' })));
    return child;
  };
}

test('a fork that fails (error, never exit) counts as a crash and is replaced; stopping does not wait for it', async (t) => {
  const base = await freeBasePort();
  let calls = 0;
  const fail = failingFork();
  const { sup, workerEvents } = setup(t, {
    basePort: base,
    backoffBaseMs: 100,
    fork: (script, args, opts) => (++calls <= 2 ? fail() : fork(script, [...args], opts)),
  });
  sup.setDesired(1);
  await until('a ready replacement', () => sup.counts().ready === 1, 10_000);
  const crashes = workerEvents().filter((e) => e.state === 'crashed');
  assert.equal(crashes.length, 2);
  assert.ok(crashes.every((e) => /fork failed: EAGAIN/.test(e.detail)), JSON.stringify(crashes));
  assert.equal(sup.records()[0].restarts, 2);
});

test('stopping a lab whose forks keep failing resolves at once', async (t) => {
  const base = await freeBasePort();
  const { sup, workerEvents } = setup(t, { basePort: base, backoffBaseMs: 50, fork: failingFork('EMFILE') });
  sup.setDesired(2);
  await until('crashes', () => workerEvents().filter((e) => e.state === 'crashed').length >= 2, 5000);
  const started = Date.now();
  assert.equal(await sup.stopAll(), 0);
  assert.ok(Date.now() - started < 2000, `stopAll took ${Date.now() - started} ms`);
  assert.equal(sup.records().length, 0);
});

test('a crash loop waits in its own backoff state; back-off delays only replacements, and a stable worker resets the streak', async (t) => {
  const marker = join(mkdtempSync(join(tmpdir(), 'autoscale-marker-')), 'ok');
  process.env.AS_TEST_MARKER = marker;
  t.after(() => {
    delete process.env.AS_TEST_MARKER;
    rmSync(dirname(marker), { recursive: true, force: true });
  });
  const base = await freeBasePort();
  const { sup, workerEvents } = setup(t, { basePort: base, script: fixture('worker-crash-unless-marker.js'), backoffBaseMs: 300, backoffMaxMs: 5000, stableMs: 500 });
  sup.setDesired(1);
  await until('two crashes', () => workerEvents().filter((e) => e.state === 'crashed').length >= 2, 10_000);
  // A replacement waiting out its back-off is in 'backoff', not 'starting'.
  await until('a worker in backoff', () => sup.records().some((w) => w.state === 'backoff'), 5000);
  assert.ok(workerEvents().some((e) => e.from === null && e.state === 'backoff' && /back-off/.test(e.detail)));
  assert.ok(workerEvents().some((e) => e.from === 'backoff' && e.state === 'starting'));
  // A scale-out is new capacity: it starts at once, whatever the crash streak.
  const before = workerEvents().length;
  sup.setDesired(2);
  await until('the new worker forked', () => workerEvents().slice(before).some((e) => e.from === null), 5000);
  const added = workerEvents().slice(before).find((e) => e.from === null)!;
  assert.equal(added.state, 'starting');
  assert.match(added.detail, /^log .*worker-\d+\.log$/);
  assert.equal(typeof added.pid, 'number');
  // No event is a transition from a state to itself.
  assert.deepEqual(workerEvents().filter((e) => e.from === e.state), []);
  // Now the workers start fine; one that stays up `stableMs` resets the streak without crashing.
  writeFileSync(marker, '');
  await until('2 ready', () => sup.counts().ready === 2, 15_000);
  await new Promise((r) => setTimeout(r, 800));
  rmSync(marker);
  const mark = workerEvents().length;
  sup.setDesired(3);
  await until('the third worker crashed and its replacement waits', () => workerEvents().slice(mark).some((e) => e.from === null && /back-off/.test(e.detail)), 10_000);
  const replacement = workerEvents().slice(mark).find((e) => e.from === null && /back-off/.test(e.detail))!;
  assert.match(replacement.detail, /after 300 ms back-off \(crash loop: 1 in a row\)/);
});

test('the crash streak is per slot: SIGKILLs of different unstable workers each wait the first back-off; one slot crashing again doubles only its own; a stable worker is replaced at once', async (t) => {
  const base = await freeBasePort();
  const { sup, workerEvents } = setup(t, { basePort: base, backoffBaseMs: 100, backoffMaxMs: 5000, stableMs: 3000 });
  sup.setDesired(3);
  await until('3 ready', () => sup.counts().ready === 3, 20_000);
  const readyPid = (id: number) => sup.records().find((w) => w.id === id && w.state === 'ready')?.pid;
  /** SIGKILL worker `id` once ready; resolve with the detail of the worker that replaces it. */
  const killAndReplacement = async (id: number) => {
    await until(`worker ${id} ready`, () => readyPid(id) !== undefined, 20_000);
    const mark = workerEvents().length;
    process.kill(readyPid(id)!, 'SIGKILL');
    await until(`a replacement of worker ${id}`, () => workerEvents().slice(mark).some((e) => e.from === null), 10_000);
    const born = workerEvents().slice(mark).find((e) => e.from === null)!;
    return { id: born.id, detail: born.detail };
  };
  // Three different slots crash one after another: none of them inherits another's streak.
  const r1 = await killAndReplacement(1);
  assert.match(r1.detail, /after 100 ms back-off \(crash loop: 1 in a row\)/);
  const r2 = await killAndReplacement(2);
  assert.match(r2.detail, /after 100 ms back-off \(crash loop: 1 in a row\)/);
  const r3 = await killAndReplacement(3);
  assert.match(r3.detail, /after 100 ms back-off \(crash loop: 1 in a row\)/);
  // Slot 1's replacement crashes again before it was stable: only that slot's delay doubles.
  const r1b = await killAndReplacement(r1.id);
  assert.match(r1b.detail, /after 200 ms back-off \(crash loop: 2 in a row\)/);
  // Once that slot's worker stays ready `stableMs` it is stable: its streak is forgotten, and when it
  // is killed its replacement starts at once (no crash loop to hold back).
  await until(`worker ${r1b.id} ready`, () => readyPid(r1b.id) !== undefined, 20_000);
  await new Promise((r) => setTimeout(r, 3600));
  const r1c = await killAndReplacement(r1b.id);
  assert.doesNotMatch(r1c.detail, /back-off/);
  assert.match(r1c.detail, /^replacement \d+; log /);
  // Killed again before it is stable: the streak starts from one.
  const r1d = await killAndReplacement(r1c.id);
  assert.match(r1d.detail, /after 100 ms back-off \(crash loop: 1 in a row\)/);
});

test('a worker whose port was taken is no crash: it exits (portTaken), the replacement moves on without back-off, and the summary words them apart', async (t) => {
  const base = await freeBasePort();
  let calls = 0;
  const { sup, workerEvents } = setup(t, {
    basePort: base,
    backoffBaseMs: 10_000,
    fork: (script, args, opts) => (++calls === 1 ? fork(fixture('worker-port-taken.js'), [...args, String(EXIT_LISTEN_FAILED)], opts) : fork(script, [...args], opts)),
  });
  sup.setDesired(1);
  await until('a ready replacement', () => sup.counts().ready === 1, 10_000);
  const first = workerEvents().filter((e) => e.id === 1 && (e.state === 'exited' || e.state === 'crashed'));
  assert.equal(first.length, 1);
  assert.equal(first[0].state, 'exited', JSON.stringify(first));
  assert.equal(first[0].portTaken, true);
  assert.match(first[0].detail, /^port \d+ was taken by another process before the worker could bind it; trying another port$/);
  assert.equal(workerEvents().filter((e) => e.state === 'crashed').length, 0);
  let s = emptySummary();
  for (const e of workerEvents()) s = foldSummary(s, e);
  const line = summaryLines(s, { runDir: '/r', recorded: true }).find((l) => l.startsWith('  workers'));
  assert.equal(line, '  workers       1 port taken by another process (that worker moved to another port)');
});

test('summary wording: crashes and taken ports counted apart, plurals right', () => {
  const ev = (state: 'crashed' | 'exited', portTaken = false): WorkerEvent => ({ type: 'worker', t: 1, id: 1, port: 1, pid: 1, from: 'starting', state, detail: '', ...(portTaken ? { portTaken: true as const } : {}) });
  const fold = (events: WorkerEvent[]) => summaryLines(events.reduce(foldSummary, emptySummary()), { runDir: '/r', recorded: false }).filter((l) => l.startsWith('  workers'));
  assert.deepEqual(fold([ev('exited')]), [], 'nothing to say');
  assert.deepEqual(fold([ev('crashed')]), ['  workers       1 worker crashed']);
  assert.deepEqual(fold([ev('crashed'), ev('crashed'), ev('exited', true), ev('exited', true)]), ['  workers       2 workers crashed, 2 ports taken by another process (those workers moved to another port)']);
});
