/**
 * The worker's test faults toggle: SIGUSR2 makes every route answer 500, the
 * same signal again makes it well (how an experiment's `fail-500 … for N s`
 * ends); SIGUSR1 does the same for /health only (with AUTOSCALE_TEST_FAULTS=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { prepareStore } from '../../src/store/open.js';
import { until } from '../helpers.js';

const MAIN = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));

async function startWorker(t: import('node:test').TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-faults-'));
  // As the lab does: the visits file exists before a worker it forks opens it (a forked worker never creates it).
  await prepareStore({ kind: 'sqlite', file: join(dir, 'v.db') });
  const env = { ...process.env, XDG_STATE_HOME: dir, AUTOSCALE_TEST_FAULTS: '1' };
  const child = fork(MAIN, ['--id', '1', '--port', '0', '--work', '0', '--database-url', `sqlite:${join(dir, 'v.db')}`], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let port = 0;
  child.on('message', (m: { type?: string; port?: number }) => {
    if (m.type === 'ready' && typeof m.port === 'number') port = m.port;
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await until('the worker listens', () => port > 0 || /listening on http:\/\/127\.0\.0\.1:(\d+)/.test(out), 15_000);
  if (port === 0) port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const status = async (path: string) => (await request(`http://127.0.0.1:${port}${path}`)).statusCode;
  return { child, status, log: () => out };
}

test('test faults toggle: SIGUSR2 on and off for every route, SIGUSR1 for /health', async (t) => {
  const w = await startWorker(t);
  assert.equal(await w.status('/'), 200);
  w.child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await w.status('/'), 500);
  w.child.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await w.status('/'), 200, 'the same signal again lifts the fault');
  w.child.kill('SIGUSR1');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await w.status('/health'), 500);
  assert.equal(await w.status('/'), 200, '/health only');
  w.child.kill('SIGUSR1');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await w.status('/health'), 200);
});
