/**
 * Abuse of every port the lab opens (issue 14, "Abuse"): slow clients, bad
 * and hostile HTTP, a crowd of connections, and what listens where. Against
 * a real lab started with `autoscale start --json`, loopback only, bounded in
 * count and time.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { BIN, Daemon, runLoad, type Event } from '../harness/daemon.js';
import { CHROMIUM } from '../harness/chromium.js';
import { browser, hostileLoad, hostileRun } from '../harness/hostile-run.js';
import { MAX_PIPELINED_REQUESTS } from '../src/http-limits.js';
import { freePort, isAlive, procStats, sleep, waitFor } from '../harness/process.js';
import type { ChaosContext } from './faults.js';
import { Recorder, seconds, type ScenarioResult } from './report.js';

async function withDaemon<T>(args: string[], fn: (d: Daemon) => Promise<T>): Promise<T> {
  const d = new Daemon({ port: await freePort(), basePort: await freePort(), args });
  try {
    return await fn(d);
  } finally {
    await d.cleanup();
  }
}

/** One raw exchange: send bytes, collect what comes back until the server closes or `ms` passes. */
export async function rawExchange(port: number, bytes: string, ms = 3000): Promise<{ text: string; closed: boolean }> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  let text = '';
  s.on('data', (d) => (text += String(d)));
  s.write(bytes);
  const closed = await Promise.race([new Promise<boolean>((r) => s.once('close', () => r(true))), sleep(ms).then(() => false)]);
  s.destroy();
  return { text, closed };
}

const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
/** Every status line in a response stream (two means a request was split in two). */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

async function workerRequests(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/requests`);
  return ((await res.json()) as { requests: number }).requests;
}

// A1 ────────────────────────────────────────────────────────────────────────

/** A slowloris client: headers dripped one line a second, never finished. Resolves when the server closes it. */
function slowloris(port: number, body: boolean): { closedAfter: Promise<number>; stop: () => void } {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  const t0 = Date.now();
  let drip: NodeJS.Timeout | undefined;
  s.once('connect', () => {
    if (body) {
      s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
      drip = setInterval(() => s.write('x'), 1000);
    } else {
      s.write('GET / HTTP/1.1\r\nHost: x\r\n');
      drip = setInterval(() => s.write(`X-Drip-${Math.random().toString(36).slice(2, 8)}: 1\r\n`), 1000);
    }
  });
  const closedAfter = new Promise<number>((resolve) =>
    s.once('close', () => {
      clearInterval(drip);
      resolve(Date.now() - t0);
    }),
  );
  return {
    closedAfter,
    stop: () => {
      clearInterval(drip);
      s.destroy();
    },
  };
}

export async function slowClients(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A1 slowloris headers and slow bodies');
  const perPort = ctx.short ? 50 : 200;
  const loadSec = ctx.short ? 5 : 15;
  // Long enough for the worker's 30 s request timeout on slow bodies in the full run; headers only in the short one.
  const holdSec = ctx.short ? 20 : 40;
  return withDaemon(['--min', '1', '--max', '1', '--interval', '1', '--work', '2'], async (d) => {
    const clients: Array<ReturnType<typeof slowloris>> = [];
    try {
      await d.waitReady(1);
      const worker = d.ready()[0];
      // Others' latency without slow clients, then with them.
      const base = (await runLoad(d.url, ['--threads', '4', '--duration', '3', '--timeout', '10000']).done).summary;
      for (let i = 0; i < perPort; i++) {
        clients.push(slowloris(d.port, i % 4 === 0), slowloris(worker.port, i % 4 === 0));
      }
      const during = (await runLoad(d.url, ['--threads', '4', '--duration', String(loadSec), '--timeout', '10000']).done).summary;
      const deadline = sleep(holdSec * 1000).then(() => Infinity);
      // Even indexes went to the balancer, odd ones to the worker; every fourth pair drips a body instead of headers.
      const closed = await Promise.all(clients.map((c) => Promise.race([c.closedAfter, deadline])));
      const pick = (port: 0 | 1, body: boolean) => closed.filter((_, i) => i % 2 === port && (Math.floor(i / 2) % 4 === 0) === body);
      const balancerClosed = [...pick(0, false), ...pick(0, true)];
      const workerHeaders = pick(1, false);
      const workerBodies = pick(1, true);
      const maxB = Math.max(...balancerClosed);
      const maxW = Math.max(...workerHeaders);
      r.requests = during.requests.sent;
      r.failed = during.requests.failed;
      r.expected = '0';
      r.recover = `dropped: balancer ≤ ${Number.isFinite(maxB) ? seconds(maxB) : `> ${holdSec} s`}, worker ≤ ${Number.isFinite(maxW) ? seconds(maxW) : `> ${holdSec} s`}`;
      r.note(`others' p99 ${base.latencyMs?.p99} ms alone, ${during.latencyMs?.p99} ms next to ${perPort * 2} slow clients`);
      r.check('others are served meanwhile', during.requests.failed === 0 && during.requests.ok > 0, `ok ${during.requests.ok}, failed ${during.requests.failed}`);
      // Relative to the same load alone, measured a moment before on this (possibly busy) machine.
      const p99Alone = base.latencyMs?.p99 ?? 0;
      r.check("others' p99 is not blocked (≤ 3 × alone + 200 ms)", (during.latencyMs?.p99 ?? Infinity) <= 3 * p99Alone + 200, `${p99Alone} ms alone, ${during.latencyMs?.p99} ms with slow clients`);
      // Headers must arrive within 10 s of the first byte (checked every second); load setup time is included.
      r.check('the worker drops slowloris headers after its 10 s header timeout', workerHeaders.every((ms) => ms < 10_000 + loadSec * 1000 + 4000), `slowest ${seconds(Math.max(...workerHeaders))}`);
      if (!ctx.short) r.check('the worker drops a trickling body after its 30 s request timeout', workerBodies.every((ms) => ms < 30_000 + 4000), `slowest ${seconds(Math.max(...workerBodies))}`);
      r.check('the balancer drops slow clients after its header/request timeouts', balancerClosed.every((ms) => ms < holdSec * 1000), `${balancerClosed.filter((ms) => !Number.isFinite(ms)).length} still open after ${holdSec} s`, 'balancer, issue 11');
      return r.done();
    } catch (err) {
      return r.crashed(err);
    } finally {
      for (const c of clients) c.stop();
    }
  });
}

// A2 ────────────────────────────────────────────────────────────────────────

export async function hostileHttp(_ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A2 bad and hostile HTTP');
  return withDaemon(['--min', '1', '--max', '1', '--interval', '1', '--work', '0'], async (d) => {
    try {
      await d.waitReady(1);
      const w = d.ready()[0].port;
      const b = d.port;
      let sent = 0;
      const expect = async (name: string, port: number, bytes: string, want: number, opts: { oneResponse?: boolean; needs?: string } = {}) => {
        sent++;
        try {
          const before = await workerRequests(w);
          const res = await rawExchange(port, bytes, 2000);
          const after = await workerRequests(w);
          const got = status(res.text);
          const ok = got === want && (opts.oneResponse !== true || (statuses(res.text).length <= 1 && after === before));
          r.check(`${name} → ${want}`, ok, `got ${got || 'no response'}${statuses(res.text).length > 1 ? ` and ${statuses(res.text).length} responses` : ''}; worker served ${after - before} GET /`, opts.needs);
        } catch (err) {
          r.check(`${name} → ${want}`, false, `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, opts.needs);
        }
      };
      const big = 'a'.repeat(20_000);
      await expect('oversized headers at the balancer', b, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`, 431);
      await expect('oversized headers at a worker', w, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`, 431);
      await expect('oversized body to a worker', w, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n${'x'.repeat(1000)}`, 413);
      await expect('oversized body through the balancer', b, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n${'x'.repeat(1000)}`, 413);
      await expect('malformed request line at the balancer', b, 'GARBAGE\r\n\r\n', 400);
      await expect('malformed request line at a worker', w, 'GARBAGE\r\n\r\n', 400);
      await expect('smuggling: Content-Length + Transfer-Encoding', b, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n', 400, { oneResponse: true });
      await expect('smuggling: duplicate Content-Length', b, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 30\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n', 400, { oneResponse: true });
      await expect('smuggling: obs-fold header', b, 'GET / HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n', 400, { oneResponse: true });
      await expect('smuggling: Transfer-Encoding with junk', b, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n', 400, { oneResponse: true });
      await expect('duplicate Host header', b, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, { oneResponse: true });
      await expect('Upgrade: websocket', b, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 501);
      await expect('absurd query value through the balancer', b, `GET /?work=${'9'.repeat(400)} HTTP/1.1\r\nHost: x\r\n\r\n`, 400);
      // Thousands of concurrent /stress on the lab's one worker, through the balancer: one burn, the rest 409
      // (or 503 if the flooded worker briefly leaves rotation because its health checks queue behind the flood).
      const pool = new Pool(`http://127.0.0.1:${b}`, { connections: 100 });
      const n = 2000;
      const answers = await Promise.all(
        Array.from({ length: n }, async () => {
          try {
            const res = await pool.request({ path: '/stress?seconds=3', method: 'POST' });
            const body = (await res.body.json()) as { until?: number; seconds?: number };
            return { code: res.statusCode, body };
          } catch (err) {
            return { code: 0, body: {} as { until?: number; seconds?: number }, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
          }
        }),
      );
      await pool.destroy();
      sent += n;
      const burns = answers.filter((a) => a.code === 202).map((a) => ({ from: a.body.until! - a.body.seconds! * 1000, to: a.body.until! }));
      burns.sort((x, y) => x.from - y.from);
      const busy = answers.filter((a) => a.code === 409 || a.code === 503).length;
      const errors = [...new Set(answers.flatMap((a) => ('error' in a ? [a.error] : [])))];
      // On a busy machine the 2000 calls may outlast one 3 s burn and start the next: never two at once.
      const overlapping = burns.some((x, i) => i > 0 && x.from < burns[i - 1].to - 5);
      r.check(`${n} concurrent POST /stress → one burn at a time, the rest 409`, burns.length >= 1 && !overlapping && burns.length + busy === n, `202 × ${burns.length}, 409 × ${answers.filter((a) => a.code === 409).length}, 503 × ${answers.filter((a) => a.code === 503).length}${errors.length > 0 ? `, errors ${errors.join(', ')}` : ''}`);
      r.requests = sent;
      r.failed = r.checks.filter((c) => !c.ok).length;
      r.expected = 'each its status';
      r.check('the lab still serves', (await fetch(`${d.url}/`).then((x) => x.status)) === 200 && isAlive(d.pid!));
      return r.done();
    } catch (err) {
      return r.crashed(err);
    }
  });
}

// A3 ────────────────────────────────────────────────────────────────────────

/** The kernel's count of connections dropped because a listen (accept) queue was full. */
function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return 0;
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('ListenOverflows')] ?? 0);
}

export async function connectionFlood(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A3 thousands of connections at once');
  const n = ctx.short ? 1000 : 3000;
  return withDaemon(['--min', '2', '--max', '2', '--interval', '1', '--work', '2'], async (d) => {
    try {
      await d.waitReady(2);
      await runLoad(d.url, ['--threads', '4', '--duration', '2']).done; // warm up
      await sleep(1000);
      const pid = d.pid!;
      const base = procStats(pid)!;
      let peakFds = base.fds;
      const probe = setInterval(() => (peakFds = Math.max(peakFds, procStats(pid)?.fds ?? 0)), 100);
      const overflows0 = listenOverflows();
      const outcome = new Map<string, number>();
      const add = (k: string) => outcome.set(k, (outcome.get(k) ?? 0) + 1);
      await Promise.all(
        Array.from({ length: n }, async () => {
          try {
            const res = await rawExchange(d.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 30_000);
            add(String(status(res.text) || (res.closed ? 'closed' : 'no answer')));
          } catch (err) {
            add((err as NodeJS.ErrnoException).code ?? 'error');
          }
        }),
      );
      clearInterval(probe);
      const overflowed = listenOverflows() - overflows0;
      // Back to normal: serving again (workers may have left rotation while flooded), and fds back down to the
      // baseline plus the balancer's keep-alive pools (64 per worker, idle for up to a minute: not a leak).
      const t0 = Date.now();
      let serving = NaN;
      for (let i = 0; i < 60 && !Number.isFinite(serving); i++) {
        const res = await fetch(`${d.url}/`).catch(() => null);
        if (res !== null) await res.arrayBuffer();
        if (res?.status === 200) serving = Date.now() - t0;
        else await sleep(500);
      }
      const poolFds = 2 * 64;
      await waitFor('fds back', () => (procStats(pid)?.fds ?? Infinity) <= base.fds + poolFds + 10, 20_000).catch(() => {});
      const after = procStats(pid)!;
      const res = { status: Number.isFinite(serving) ? 200 : 0 };
      r.requests = n;
      r.failed = n - (outcome.get('200') ?? 0);
      r.expected = '503s or queueing, no crash';
      r.recover = `serving again ${seconds(serving)}; fds ${base.fds} → ${peakFds} → ${after.fds}`;
      r.note(`outcomes ${JSON.stringify(Object.fromEntries(outcome))}; daemon RSS ${(base.rss / 1e6).toFixed(0)} → ${(after.rss / 1e6).toFixed(0)} MB`);
      r.check('the daemon survives and still serves', isAlive(pid) && res.status === 200);
      const unanswered = n - (outcome.get('200') ?? 0) - (outcome.get('503') ?? 0);
      r.note(`accept-queue overflows during the burst (TcpExt ListenOverflows): ${overflowed}`);
      // Connections the kernel had to drop because the balancer's accept queue (Node's default backlog 511) was full.
      r.check(
        'every connection got an answer (200 or 503)',
        unanswered === 0,
        `${JSON.stringify(Object.fromEntries(outcome))}; ${overflowed} accept-queue overflows`,
        unanswered > 0 && overflowed > 0 ? 'balancer: a listen backlog above Node’s default 511, issue 11' : undefined,
      );
      r.check('file descriptors return to the baseline (+ keep-alive pools)', after.fds <= base.fds + poolFds + 10, `${base.fds} → ${after.fds}`);
      r.check('memory returns near the baseline', after.rss <= base.rss + 80e6, `${(base.rss / 1e6).toFixed(0)} → ${(after.rss / 1e6).toFixed(0)} MB`);
      return r.done();
    } catch (err) {
      return r.crashed(err);
    }
  });
}

// A4 ────────────────────────────────────────────────────────────────────────

interface Listening {
  pid: number;
  address: string;
  port: number;
}

/** Decodes /proc/net/tcp{,6} local addresses ("0100007F:1F40" → 127.0.0.1:8000). */
function decodeAddress(hex: string, v6: boolean): { address: string; port: number } {
  const [ip, port] = hex.split(':');
  if (!v6) return { address: [3, 2, 1, 0].map((i) => parseInt(ip.slice(i * 2, i * 2 + 2), 16)).join('.'), port: parseInt(port, 16) };
  // Four little-endian 32-bit words.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) for (let b = 3; b >= 0; b--) bytes.push(parseInt(ip.slice(w * 8 + b * 2, w * 8 + b * 2 + 2), 16));
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] << 8) | bytes[i * 2 + 1]).toString(16));
  const text = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return { address: text, port: parseInt(port, 16) };
}

/** Every TCP socket in LISTEN state held by one of `pids`, with its local address. */
export function listeningSockets(pids: number[]): Listening[] {
  const inodes = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.set(m[1], pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const out: Listening[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A = LISTEN
      const pid = inodes.get(f[9]);
      if (pid !== undefined) out.push({ pid, ...decodeAddress(f[1], v6) });
    }
  }
  return out;
}

/** Unix sockets with a path held by `pids` (a control socket, say), with their file modes. */
function unixSockets(pids: number[]): Array<{ path: string; mode: number }> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      }
    } catch {
      // gone
    }
  }
  const out: Array<{ path: string; mode: number }> = [];
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && inodes.has(f[6]) && f[7].startsWith('/')) {
      try {
        out.push({ path: f[7], mode: lstatSync(f[7]).mode & 0o777 });
      } catch {
        // unlinked
      }
    }
  }
  return out;
}

export async function loopbackOnly(_ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A4 nothing listens beyond loopback');
  return withDaemon(['--min', '2', '--max', '2', '--interval', '1'], async (d) => {
    try {
      await d.waitReady(2);
      await waitFor('a tick', () => d.of('tick').length > 0, 10_000);
      const pids = [d.pid!, ...d.ready().map((w) => w.pid!)];
      const sockets = listeningSockets(pids);
      const loopback = (a: string) => a.startsWith('127.') || a === '::1';
      const perPid = new Set(sockets.map((s) => s.pid));
      r.requests = 0;
      r.expected = 'loopback only';
      r.recover = sockets.map((s) => `${s.address}:${s.port}`).join(' ');
      r.check('every process of the lab listens (balancer, 2 workers)', pids.every((p) => perPid.has(p)), JSON.stringify(sockets));
      r.check('every listening socket is on loopback', sockets.every((s) => loopback(s.address)), JSON.stringify(sockets.filter((s) => !loopback(s.address))));
      const unix = unixSockets(pids);
      r.check('unix sockets (control socket) are 0600', unix.every((u) => u.mode === 0o600), JSON.stringify(unix.map((u) => ({ path: u.path, mode: u.mode.toString(8) }))));
      if (unix.length === 0) r.note('no unix socket held (no control socket in this build)');
      r.failed = r.checks.filter((c) => !c.ok).length;
      return r.done();
    } catch (err) {
      return r.crashed(err);
    }
  });
}

// A5, A6 ────────────────────────────────────────────────────────────────────

const pipelinedGets = (n: number): string => 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n);
const countOf = (text: string, what: string): number => text.split(what).length - 1;

/** `n` pipelined GETs in one write; `closeAfterMs` null: read until the server closes (or `ms`); else the client vanishes after that long. */
async function pipeline(port: number, n: number, closeAfterMs: number | null, ms = 15_000): Promise<{ text: string; closedByServer: boolean; ms: number }> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  let text = '';
  s.setEncoding('latin1').on('data', (d: string) => (text += d));
  const t0 = Date.now();
  const closed = new Promise<boolean>((r) => s.once('close', () => r(true)));
  s.write(pipelinedGets(n));
  const closedByServer = closeAfterMs === null ? await Promise.race([closed, sleep(ms).then(() => false)]) : (await sleep(closeAfterMs), false);
  s.destroy();
  return { text, closedByServer, ms: Date.now() - t0 };
}

/** One plain GET / on a fresh connection: its status (0 on error) and how long it took. */
async function timedGet(url: string, timeoutMs = 30_000): Promise<{ status: number; ms: number }> {
  const t0 = Date.now();
  try {
    const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, ms: Date.now() - t0 };
  } catch {
    return { status: 0, ms: Date.now() - t0 };
  }
}

export async function pipelineVanishes(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A5 pipelining client that vanishes (L7)');
  const n = 3000;
  return withDaemon(['--min', '1', '--max', '1', '--interval', '1', '--work', '10'], async (d) => {
    try {
      await d.waitReady(1);
      await waitFor('a tick', () => d.of('tick').length > 0, 10_000);
      // The client writes 3,000 GETs in one packet and is gone 300 ms later.
      const gone = await pipeline(d.port, n, 300);
      const goneAt = Date.now();
      const inFlightOf = (e: Event) => Number((e.traffic as { inFlight?: number } | undefined)?.inFlight ?? NaN);
      // The first tick that starts after the client left and says nothing is in flight.
      const idle = await waitFor('in-flight back to 0', () => d.of('tick').some((e) => d.wallTime(e) > goneAt + 200 && inFlightOf(e) === 0), ctx.short ? 8000 : 15_000).then(
        () => d.wallTime(d.of('tick').find((e) => d.wallTime(e) > goneAt + 200 && inFlightOf(e) === 0)!) - goneAt,
        () => NaN,
      );
      const after = await timedGet(d.url);
      // Past the limit: 32 answered, then one 503 with Connection: close.
      const over = await pipeline(d.port, 2 * MAX_PIPELINED_REQUESTS, null);
      const ok200 = countOf(over.text, 'HTTP/1.1 200');
      const refused = countOf(over.text, 'HTTP/1.1 503');
      const lastTick = d.of('tick').at(-1);
      r.requests = n + 1 + 2 * MAX_PIPELINED_REQUESTS;
      r.failed = n - countOf(gone.text, 'HTTP/1.1 200') + (after.status === 200 ? 0 : 1) + (2 * MAX_PIPELINED_REQUESTS - ok200);
      r.expected = `the vanished ones, ${MAX_PIPELINED_REQUESTS} past the limit`;
      r.recover = `in flight 0 after ${Number.isFinite(idle) ? seconds(idle) : '> 8 s'}; next GET ${seconds(after.ms)}`;
      r.note(`answered before the client left: ${countOf(gone.text, 'HTTP/1.1 200')}; in flight at the last tick ${lastTick === undefined ? '?' : inFlightOf(lastTick)}`);
      r.check("the balancer's in-flight returns to 0 within 5 s of the client leaving", Number.isFinite(idle) && idle <= 5000, Number.isFinite(idle) ? seconds(idle) : 'not within the wait');
      r.check('a normal request right after is answered quickly (200 in < 2 s)', after.status === 200 && after.ms < 2000, `${after.status || 'no answer'} in ${seconds(after.ms)}`);
      r.check(
        `${2 * MAX_PIPELINED_REQUESTS} pipelined: ${MAX_PIPELINED_REQUESTS} answered, then one 503 AS_ERR_PIPELINE_LIMIT and the connection closes`,
        ok200 === MAX_PIPELINED_REQUESTS && refused === 1 && /"code":"AS_ERR_PIPELINE_LIMIT"/.test(over.text) && over.closedByServer,
        `200 × ${ok200}, 503 × ${refused}, closed by the server: ${over.closedByServer}`,
      );
      r.check('the lab still serves', (await timedGet(d.url)).status === 200 && isAlive(d.pid!));
      return r.done();
    } catch (err) {
      return r.crashed(err);
    }
  });
}

export async function pipelineL4(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A6 one pipelined packet under L4');
  const workers = 2;
  // 81 KB: 3,000 GETs of 27 bytes.
  const n = 3000;
  return withDaemon(['--balancer', 'l4', '--min', String(workers), '--max', String(workers), '--interval', '1', '--work', '10'], async (d) => {
    try {
      await d.waitReady(workers);
      const before = d.ready().map((w) => ({ id: w.id, pid: w.pid }));
      const t0 = Date.now();
      // L4 hands each connection to a worker in turn: one packet per worker.
      const sent = await Promise.all(before.map(() => pipeline(d.port, n, null, 15_000)));
      // Long enough for the supervisor to call a worker hung (missed heartbeats) had its event loop been stuck.
      await sleep(ctx.short ? 6000 : 12_000);
      const events = d.events.filter((e) => d.wallTime(e) >= t0 - 50);
      const ids = new Set(before.map((w) => w.id));
      const lost = events.filter((e) => e.type === 'worker' && ids.has(Number(e.id)) && ['crashed', 'stopping', 'exited', 'draining'].includes(String(e.state)));
      const unhealthy = events.filter((e) => e.type === 'health' && (e.healthy === false || /hung/i.test(String(e.detail ?? ''))));
      const next = await timedGet(d.url);
      const answered = sent.reduce((a, s) => a + countOf(s.text, 'HTTP/1.1 200'), 0);
      r.requests = n * sent.length + 1;
      r.failed = n * sent.length - answered + (next.status === 200 ? 0 : 1);
      r.expected = `all but ≤ ${MAX_PIPELINED_REQUESTS} per packet`;
      r.recover = `packets closed after ${sent.map((s) => seconds(s.ms)).join(', ')}; next GET ${seconds(next.ms)}`;
      r.check('each worker closes the connection at once (< 8 s), running ≤ 32 of it', sent.every((s) => s.closedByServer && s.ms < 8000 && countOf(s.text, 'HTTP/1.1 200') <= MAX_PIPELINED_REQUESTS), sent.map((s) => `${countOf(s.text, 'HTTP/1.1 200')} answered, closed ${s.closedByServer} after ${seconds(s.ms)}`).join('; '));
      r.check('no worker is killed or replaced', lost.length === 0 && before.every((w) => w.pid !== undefined && isAlive(w.pid)), lost.map((e) => `worker ${e.id} ${e.state}: ${e.detail}`).join('; '));
      r.check("no worker is called hung or unhealthy", unhealthy.length === 0, unhealthy.map((e) => `worker ${e.id}: ${e.detail}`).join('; '));
      r.check('the next request gets 200, not 503', next.status === 200, `${next.status || 'no answer'} in ${seconds(next.ms)}`);
      return r.done();
    } catch (err) {
      return r.crashed(err);
    }
  });
}

// A7 ────────────────────────────────────────────────────────────────────────

/** `autoscale report <dir>` as a child process; resolves its exit code and output. */
function reportCli(dir: string, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const none = join(dir, 'no-state');
  const child = spawn(process.execPath, [BIN, 'report', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: none, HOME: none } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += String(b)));
  child.stderr.on('data', (b) => (stderr += String(b)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

export async function hostileReport(_ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('A7 hostile recording through report');
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-chaos-hostile-'));
  r.expected = 'no script, no request';
  try {
    writeFileSync(join(dir, 'events.ndjson'), hostileRun());
    writeFileSync(join(dir, 'load.ndjson'), hostileLoad);
    const t0 = Date.now();
    const out = await reportCli(dir);
    const html = join(dir, 'report.html');
    const md = join(dir, 'report.md');
    r.recover = `report in ${seconds(Date.now() - t0)}`;
    r.check('autoscale report exits 0 and writes report.html and report.md', out.code === 0 && existsSync(html) && existsSync(md), `exit ${out.code}; ${out.stderr.trim().split('\n').at(-1) ?? ''}`);
    if (existsSync(md)) {
      const text = readFileSync(md, 'utf8');
      const raw = /(?<!\\)<(script|img)\b/i.exec(text);
      r.check('report.md has no raw <script or <img', raw === null, raw === null ? '' : `…${text.slice(Math.max(0, raw.index - 40), raw.index + 40)}…`);
    }
    if (!existsSync(CHROMIUM)) {
      r.check('Chromium is available to open report.html', false, `no Chromium at ${CHROMIUM}`);
    } else if (existsSync(html)) {
      const b = await browser();
      try {
        const page = await b.open(html);
        // The page's own script draws its four charts: it ran; the payloads must not have.
        const drawn = await page.page.waitForFunction(() => (window as unknown as { __charts?: unknown[] }).__charts?.length === 4, undefined, { timeout: 10_000 }).then(() => true, () => false);
        const global = await page.page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned !== undefined);
        r.check('the page itself ran (its charts drawn)', drawn && page.errors.length === 0, page.errors.join('; '));
        r.check('no payload ran in Chromium', page.fired.length === 0 && !global, page.fired.join('; '));
        r.check('no request left the page', page.requests.length === 0, page.requests.join(' '));
        r.check('the page did not navigate', page.finalUrl === page.url, page.finalUrl);
      } finally {
        await b.close();
      }
    }
    r.failed = r.checks.filter((c) => !c.ok).length;
    return r.done();
  } catch (err) {
    return r.crashed(err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const ABUSE = [slowClients, hostileHttp, connectionFlood, loopbackOnly, pipelineVanishes, pipelineL4, hostileReport];
