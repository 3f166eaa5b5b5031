/**
 * Issue 19 #4: pipelined requests straight at a worker (what `--balancer l4`
 * hands it). A real worker process (dist/app/main.js, forked with IPC): its
 * once-a-second stats heartbeat keeps coming while it works through a
 * pipeline, it serves at most MAX_PIPELINED_REQUESTS per connection, and a
 * connection far past the limit is closed without running what it sent.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MAX_PIPELINED_REQUESTS } from '../../src/http-limits.js';
import { isAlive, until } from '../helpers.js';

const MAIN = join(import.meta.dirname, '../../dist/app/main.js');

interface Stats {
  at: number;
  requests: number;
}

async function startWorker(t: TestContext, work: number): Promise<{ port: number; child: ChildProcess; stats: Stats[] }> {
  const child = fork(MAIN, ['--id', '1', '--port', '0', '--host', '127.0.0.1', '--work', String(work)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  t.after(async () => {
    if (child.pid !== undefined && isAlive(child.pid)) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  const stats: Stats[] = [];
  child.on('message', (m: { type?: string; requests?: number }) => {
    if (m.type === 'stats') stats.push({ at: performance.now(), requests: m.requests ?? 0 });
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port as number));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before ready`)));
  });
  return { port, child, stats };
}

/** `n` pipelined requests for `path` in one write; resolves what came back once the worker closes the connection or `doneWhen(text)` holds. */
async function pipeline(port: number, n: number, path: string, doneWhen: (text: string) => boolean): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let got = '';
  socket.on('error', () => {});
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.setEncoding('latin1').on('data', (d: string) => (got += d));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(n));
  await Promise.race([closed, until('the answers', () => doneWhen(got), 20_000)]);
  socket.destroy();
  return got;
}

const count = (text: string, what: string): number => text.split(what).length - 1;

test('a pipeline of slow requests: the heartbeat keeps coming between them, 32 are served, then one 503 and the connection closes', async (t) => {
  const w = await startWorker(t, 0);
  await until('a first heartbeat', () => w.stats.length > 0, 5000);
  const from = performance.now();
  // 40 × 100 ms of busy-wait: 4 s in one event-loop turn before the fix.
  const got = await pipeline(w.port, MAX_PIPELINED_REQUESTS + 8, '/?work=100', (text) => count(text, 'HTTP/1.1 503') === 1);
  const to = performance.now();
  assert.equal(count(got, 'HTTP/1.1 200 OK'), MAX_PIPELINED_REQUESTS);
  assert.equal(count(got, 'HTTP/1.1 503'), 1);
  assert.match(got, /"code":"AS_ERR_PIPELINE_LIMIT"/);
  const beats = [from, ...w.stats.filter((s) => s.at > from && s.at <= to).map((s) => s.at), to];
  const gaps = beats.slice(1).map((at, i) => at - beats[i]);
  assert.ok(Math.max(...gaps) < 2500, `heartbeat gaps while serving: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
});

test('one packet of 3,000 pipelined requests: the connection is closed, the worker runs almost none of them and keeps beating', async (t) => {
  const w = await startWorker(t, 10);
  await until('a first heartbeat', () => w.stats.length > 0, 5000);
  const t0 = performance.now();
  await pipeline(w.port, 3000, '/', () => false);
  assert.ok(performance.now() - t0 < 8000, 'closed at once, not after 30 s of work');
  const beatsBefore = w.stats.length;
  await until('two more heartbeats', () => w.stats.length >= beatsBefore + 2, 5000);
  const requests = w.stats.at(-1)?.requests ?? 0;
  assert.ok(requests <= MAX_PIPELINED_REQUESTS, `${requests} requests ran`);
  assert.equal(w.child.exitCode, null);
});
