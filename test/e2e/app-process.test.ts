// Runs the compiled worker entry (dist/app/main.js) as a real child process.
// `npm test` builds dist/ first; alone: `npx tsc -p tsconfig.build.json` then run this file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { EXIT_LISTEN_FAILED, isFromWorker, type FromWorker } from '../../src/app/protocol.js';
import { isAlive as alive } from '../helpers.js';

const MAIN = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));
const FORK_PARENT = fileURLToPath(new URL('../fixtures/fork-parent.js', import.meta.url));

type After = { after: (fn: () => unknown) => void };

function killIfAlive(pid: number | undefined): void {
  if (pid !== undefined && alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

interface Worker {
  child: ChildProcess;
  messages: FromWorker[];
  stdout: () => string;
  stderr: () => string;
  /** The next matching message from now on (call it before the event you expect). */
  next<T extends FromWorker['type']>(type: T, timeoutMs?: number, where?: (m: Extract<FromWorker, { type: T }>) => boolean): Promise<Extract<FromWorker, { type: T }>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function forkWorker(t: After, args: string[]): Worker {
  const child = fork(MAIN, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  t.after(() => killIfAlive(child.pid));
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const messages: FromWorker[] = [];
  child.on('message', (m: unknown) => {
    if (isFromWorker(m)) messages.push(m);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const next: Worker['next'] = (type, timeoutMs = 15_000, where = () => true) =>
    new Promise((resolve, reject) => {
      const match = (m: FromWorker) => m.type === type && where(m as never);
      const onMessage = (m: unknown) => {
        if (isFromWorker(m) && match(m)) {
          cleanup();
          resolve(m as never);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`worker exited (${code}) before '${type}'; stderr: ${err}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no '${type}' within ${timeoutMs} ms; stdout: ${out} stderr: ${err}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return { child, messages, stdout: () => out, stderr: () => err, next, exited };
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function get(port: number, path: string, method: 'GET' | 'POST' = 'GET') {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method, reset: true });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

test('ready over IPC with the real port, serving, stats every second, drain -> /health 503', async (t) => {
  const w = forkWorker(t, ['--id', '3', '--port', '0', '--work', '0']);
  const ready = await w.next('ready');
  assert.equal(ready.pid, w.child.pid);
  assert.ok(ready.port > 0);
  assert.match(w.stdout(), new RegExp(`worker 3 listening on http://127\\.0\\.0\\.1:${ready.port} \\(pid ${ready.pid}\\)`));

  const first = await get(ready.port, '/');
  assert.deepEqual(first.json, { id: 3, port: ready.port, pid: ready.pid, requests: 1, work: 0 });
  await get(ready.port, '/');

  const stats = await w.next('stats', 15_000);
  assert.equal(stats.requests, 2);
  assert.equal(stats.inFlight, 0);
  assert.ok(stats.rss > 10e6 && stats.rss < 500e6, `rss ${stats.rss}`);
  // Startup JIT and GC threads can briefly exceed one core; a runaway loop would read far higher for long.
  assert.ok(stats.cpu >= 0 && stats.cpu < 200, `idle-ish cpu ${stats.cpu}`);

  // The burn runs in a thread, and the stats count it: one core busy ~ 100 %.
  assert.equal((await get(ready.port, '/stress?seconds=3', 'POST')).status, 202);
  // Wide margin: on a loaded 2-core machine the burning thread may get well under a full core.
  const busy = await w.next('stats', 15_000, (m) => m.cpu > 25);
  assert.ok(busy.cpu < 250, `cpu ${busy.cpu}`);
  assert.equal((await get(ready.port, '/health')).status, 200);

  w.child.send({ type: 'drain' });
  const deadline = Date.now() + 2000;
  let health = await get(ready.port, '/health');
  while (health.status !== 503 && Date.now() < deadline) {
    await sleep(20);
    health = await get(ready.port, '/health');
  }
  assert.equal(health.status, 503);
  assert.equal((await get(ready.port, '/')).status, 200, 'a draining worker still serves');

  // SIGTERM while a burn runs: graceful and prompt.
  const t0 = Date.now();
  w.child.kill('SIGTERM');
  assert.deepEqual(await withDeadline(w.exited, 2000, 'exit after SIGTERM'), { code: 0, signal: null });
  assert.ok(Date.now() - t0 < 2000);
});

test('SIGTERM lets an in-flight request complete, then exits 0', async (t) => {
  const w = forkWorker(t, ['--id', '1', '--port', '0']);
  const { port } = await w.next('ready');
  const slow = get(port, '/?work=600');
  await sleep(200); // the request is now inside its 600 ms busy loop
  w.child.kill('SIGTERM');
  const res = await slow;
  assert.equal(res.status, 200);
  assert.equal(res.json.work, 600);
  assert.deepEqual(await withDeadline(w.exited, 15_000, 'exit after SIGTERM'), { code: 0, signal: null });
  assert.match(w.stdout(), /worker 1 shutting down \(SIGTERM\)/);
  assert.match(w.stdout(), /worker 1 stopped after 1 request\(s\)/);
});

test('parent SIGKILLed -> the worker is gone within 2 s', async (t) => {
  const parent = spawn(process.execPath, [FORK_PARENT], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => killIfAlive(parent.pid));
  let out = '';
  let err = '';
  parent.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  parent.stdout.setEncoding('utf8');
  const line = await withDeadline(
    new Promise<string>((resolve) =>
      parent.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      }),
    ),
    15_000,
    'worker pid from fork-parent',
  ).catch((e: Error) => {
    throw new Error(`${e.message}; fixture stderr: ${err}`);
  });
  const { pid, port } = JSON.parse(line) as { pid: number; port: number };
  t.after(() => killIfAlive(pid));
  assert.ok(alive(pid));
  assert.equal((await get(port, '/health')).status, 200);

  parent.kill('SIGKILL');
  await once(parent, 'exit');
  const t0 = Date.now();
  while (alive(pid) && Date.now() - t0 < 2000) await sleep(25);
  assert.equal(alive(pid), false, `worker ${pid} still alive 2 s after its parent was SIGKILLed`);
});

test('port in use -> listen-error over IPC and exit code 3', async (t) => {
  const blocker = net.createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;

  const w = forkWorker(t, ['--id', '2', '--port', String(port)]);
  const failed = await w.next('listen-error');
  assert.equal(failed.port, port);
  assert.equal(failed.code, 'EADDRINUSE');
  assert.equal((await withDeadline(w.exited, 15_000, 'exit after listen-error')).code, EXIT_LISTEN_FAILED);
  assert.equal(w.messages.some((m) => m.type === 'ready'), false);
});

test('bad arguments -> one error line on stderr, exit 2, no stack', async (t) => {
  for (const args of [['--port', 'abc'], ['--port', '70000'], ['--port', '1', '--work', '1001'], ['--bogus'], []]) {
    const w = forkWorker(t, args);
    const { code } = await withDeadline(w.exited, 15_000, `exit for ${args.join(' ')}`);
    assert.equal(code, 2, args.join(' '));
    assert.match(w.stderr(), /^error: .+\nusage: /, args.join(' '));
    assert.doesNotMatch(w.stderr(), /\n\s+at /);
  }
});
