/**
 * A worker under abuse: oversized bodies and headers, absurd query values,
 * slow clients, and thousands of concurrent /stress calls. Each gets a clear
 * status (or a dropped connection) and the worker stays bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { startWorker } from '../../src/app/worker.js';
import { MAX_BODY_BYTES } from '../../src/app/body-limit.js';
import { freePort, until } from '../helpers.js';

/** Sends raw bytes on a new connection; resolves with everything received until the server closes (or `ms`). */
async function raw(port: number, bytes: string, ms = 3000): Promise<{ text: string; closed: boolean }> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  let text = '';
  s.on('data', (d) => (text += String(d)));
  s.on('error', () => {});
  s.write(bytes);
  const closed = await Promise.race([once(s, 'close').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  s.destroy();
  return { text, closed };
}

test('a declared body over 1 MiB: 413 before it is read, connection closed; small bodies pass', async (t) => {
  const w = await startWorker({ port: 0, work: 0 });
  t.after(() => w.close({ timeoutMs: 500 }));
  const big = await raw(w.port, `POST /stress?seconds=1 HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n${'x'.repeat(1000)}`);
  assert.match(big.text, /^HTTP\/1\.1 413 /);
  assert.match(big.text, /request body too large/);
  assert.ok(big.closed, 'the server closed the connection instead of reading the rest');
  assert.equal(w.state.stressStatus.running, false, 'the route never ran');
  const res = await request(`${w.url}/`, { method: 'GET', body: 'x'.repeat(100) });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
});

test('oversized headers: 431 from the worker', async (t) => {
  const w = await startWorker({ port: 0, work: 0 });
  t.after(() => w.close({ timeoutMs: 500 }));
  const r = await raw(w.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(r.text, /^HTTP\/1\.1 431 /);
});

test('absurd query values: 400 naming what was expected, never a 500 or a hang', async (t) => {
  const w = await startWorker({ port: 0, work: 0 });
  t.after(() => w.close({ timeoutMs: 500 }));
  const cases: Array<[string, 'GET' | 'POST']> = [
    ['/?work=-1', 'GET'],
    ['/?work=1001', 'GET'],
    ['/?work=1e3', 'GET'],
    ['/?work=0x10', 'GET'],
    ['/?work=99999999999999999999', 'GET'],
    ['/?work=%00', 'GET'],
    ['/?work=', 'GET'],
    ['/?work=1&work=2', 'GET'],
    ['/?work=' + '9'.repeat(5000), 'GET'],
    ['/stress?seconds=0', 'POST'],
    ['/stress?seconds=61', 'POST'],
    ['/stress?seconds=NaN', 'POST'],
    ['/stress?seconds=1.5', 'POST'],
    ['/stress', 'POST'],
  ];
  for (const [path, method] of cases) {
    const res = await request(`${w.url}${path}`, { method });
    const body = await res.body.text();
    assert.equal(res.statusCode, 400, `${method} ${path.slice(0, 60)} -> ${res.statusCode} ${body.slice(0, 100)}`);
    assert.match(body, /expected \?(work|seconds) to be an integer/);
  }
  assert.equal(w.state.requests, 0);
});

test('slow clients are dropped after the header / request timeouts without blocking others', async (t) => {
  const w = await startWorker({ port: 0, work: 0, headersTimeoutMs: 600, requestTimeoutMs: 1200 });
  t.after(() => w.close({ timeoutMs: 500 }));
  // Slowloris: a header line every 200 ms, never finishing.
  const s = net.connect(w.port, '127.0.0.1');
  await once(s, 'connect');
  s.on('error', () => {});
  s.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => s.write(`X-${Math.random().toString(36).slice(2)}: 1\r\n`), 200);
  const t0 = Date.now();
  let text = '';
  s.on('data', (d) => (text += String(d)));
  // Meanwhile a normal client is served at once.
  const res = await request(`${w.url}/`);
  assert.equal(res.statusCode, 200);
  await res.body.dump();
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 5000))]);
  clearInterval(drip);
  const ms = Date.now() - t0;
  assert.ok(s.destroyed || s.readableEnded, 'the slow connection was closed');
  assert.ok(ms < 4000, `dropped after ${ms} ms`);
  assert.match(text, /^HTTP\/1\.1 408 |^$/);
  // A slow body: headers done, body trickles.
  const b = await raw(w.port, 'POST /stress?seconds=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc', 5000);
  assert.ok(b.closed, 'the slow-body connection was closed by the request timeout');
});

const MAIN = fileURLToPath(new URL('../../dist/app/main.js', import.meta.url));

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test('2000 concurrent POST /stress: one burn at a time, the rest get 409, CPU stays near one core', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, '--port', String(port), '--work', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  await until('worker listening', () => out.includes('listening'), 15_000);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 200 });
  t.after(() => pool.close());
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 2000 }, async () => {
      const res = await pool.request({ path: '/stress?seconds=3', method: 'POST' });
      const body = (await res.body.json()) as { until?: number; seconds?: number };
      return { status: res.statusCode, body };
    }),
  );
  const counts = answers.reduce<Record<number, number>>((m, a) => ((m[a.status] = (m[a.status] ?? 0) + 1), m), {});
  // On a loaded machine the 2000 calls may outlast one 3 s burn; then the next call may start the next one. Never two at once.
  const burns = answers.filter((a) => a.status === 202).map((a) => ({ from: a.body.until! - a.body.seconds! * 1000, to: a.body.until! }));
  burns.sort((a, b) => a.from - b.from);
  t.diagnostic(`${JSON.stringify(counts)} in ${Date.now() - t0} ms`);
  assert.ok(burns.length >= 1 && burns.length <= 1 + Math.ceil((Date.now() - t0) / 3000), JSON.stringify(counts));
  assert.equal(burns.length + (counts[409] ?? 0), 2000, JSON.stringify(counts));
  for (let i = 1; i < burns.length; i++) assert.ok(burns[i].from >= burns[i - 1].to - 5, `burn ${i} overlaps the previous one`);
  // Let the last burn finish, then compare CPU with wall time: one burning thread plus request handling.
  const lastEnd = burns[burns.length - 1].to;
  await until('burns over', () => Date.now() > lastEnd + 300, 15_000);
  const used = cpuSeconds(child.pid!) - cpu0;
  const wall = (Date.now() - t0) / 1000;
  t.diagnostic(`worker used ${used.toFixed(2)} CPU s in ${wall.toFixed(2)} s`);
  assert.ok(used < wall * 1.6, `CPU ${used} s over ${wall} s: more than one burn ran at a time`);
});
