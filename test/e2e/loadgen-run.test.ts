import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { parseLoadOptions, type RawLoadOptions } from '../../src/loadgen/options.js';
import { LoadRun } from '../../src/loadgen/run.js';
import type { LoadLine } from '../../src/runs/load-line.js';
import { exitCodeFor } from '../../src/loadgen/summary.js';
import { startTarget } from '../fixtures/loadgen-server.js';
import { closedPort } from '../helpers.js';

async function load(url: string, raw: RawLoadOptions) {
  const samples: LoadLine[] = [];
  const run = new LoadRun(parseLoadOptions(url, raw), { onSecond: (s) => samples.push(s) });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const summary = await run.run();
  const cpu = process.cpuUsage(cpuBefore);
  return { summary, samples, wallMs: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 };
}

test('closed loop: counts match what the server received, X-Served-By is tallied, all sockets closed', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { summary, samples, wallMs } = await load(target.url, { threads: '4', duration: '1.2' });
  assert.ok(summary.requests.sent > 50, `only ${summary.requests.sent} requests`);
  assert.equal(summary.requests.sent, target.received());
  assert.equal(summary.requests.ok, target.received());
  assert.equal(summary.requests.failed, 0);
  assert.deepEqual(summary.servedBy, target.servedBy);
  assert.equal(summary.latencyMs?.count, summary.requests.ok);
  assert.ok(summary.latencyMs !== null && summary.latencyMs.min <= summary.latencyMs.p50 && summary.latencyMs.p50 <= summary.latencyMs.max);
  assert.equal(new Set(target.arrivals.map((a) => a.socket)).size, 4, 'one keep-alive connection per thread');
  assert.equal(samples.reduce((n, s) => n + s.sent, 0), summary.requests.sent, 'per-second samples add up');
  assert.ok(wallMs < 1200 + 1500, `run took ${wallMs} ms`);
  assert.equal(exitCodeFor(summary), 0);
  assert.equal(await target.openConnections(), 0, 'every keep-alive connection was closed');
});

test('a server answering 500: every request is an HTTP 5xx failure, exit code 1', async (t) => {
  const target = await startTarget(t, { kind: 'status', status: 500 });
  const { summary } = await load(target.url, { threads: '2', duration: '0.6' });
  assert.ok(summary.requests.sent > 10);
  assert.equal(summary.requests.ok, 0);
  assert.equal(summary.requests.failed, target.received());
  assert.deepEqual(summary.errors.http, { total: target.received(), byClass: { '5xx': target.received() }, byStatus: { '500': target.received() } });
  assert.equal(summary.errors.timeout + summary.errors.refused + summary.errors.reset + summary.errors.other, 0);
  assert.equal(summary.latencyMs?.count, target.received(), 'HTTP failures still have a latency');
  assert.equal(exitCodeFor(summary), 1);
});

test('a server that resets connections: counted as resets, with back-off (no spinning)', async (t) => {
  const target = await startTarget(t, { kind: 'reset' });
  const { summary, cpuMs, wallMs } = await load(target.url, { threads: '2', duration: '1' });
  assert.ok(summary.requests.sent > 0);
  assert.equal(summary.requests.failed, summary.requests.sent);
  assert.equal(summary.errors.reset, summary.requests.sent);
  assert.equal(summary.requests.sent, target.received());
  // 2 users backing off 50, 100, 200, 400 ms...: a handful of attempts each, not thousands.
  assert.ok(summary.requests.sent <= 20, `${summary.requests.sent} attempts in 1 s`);
  assert.ok(cpuMs < wallMs * 0.5, `used ${cpuMs} ms CPU in ${wallMs} ms`);
});

test('a target that is down: connection refused, back-off, run still ends on time, exit code 1', async () => {
  const port = await closedPort();
  const { summary, cpuMs, wallMs } = await load(`http://127.0.0.1:${port}/`, { threads: '4', duration: '1' });
  assert.ok(summary.requests.sent > 0);
  assert.equal(summary.errors.refused, summary.requests.sent);
  assert.deepEqual(summary.errors.byCode, { ECONNREFUSED: summary.requests.sent });
  assert.ok(summary.requests.sent <= 40, `${summary.requests.sent} attempts in 1 s`);
  assert.ok(wallMs < 1000 + 1000, `run took ${wallMs} ms`);
  assert.ok(cpuMs < wallMs * 0.5, `used ${cpuMs} ms CPU in ${wallMs} ms`);
  assert.equal(exitCodeFor(summary), 1);
});

test('a server slower than --timeout: timeouts, and the run stops by duration + timeout', async (t) => {
  const target = await startTarget(t, { kind: 'delay', ms: 5000 });
  const { summary, wallMs } = await load(target.url, { threads: '3', duration: '0.5', timeout: '300' });
  assert.equal(summary.requests.ok, 0);
  assert.ok(summary.errors.timeout >= 3, `timeouts: ${summary.errors.timeout}`);
  assert.equal(summary.errors.timeout, summary.requests.sent);
  assert.equal(await target.openConnections(), 0, 'timed-out connections are closed');
  assert.deepEqual(Object.keys(summary.errors.byCode), ['AS_LOAD_REQUEST_TIMEOUT']);
  assert.ok(wallMs < 500 + 300 + 700, `run took ${wallMs} ms`);
});

test('open loop: the arrival rate holds within a few percent at a modest rate', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { summary } = await load(target.url, { rate: '200', duration: '2', threads: '10' });
  assert.equal(summary.mode, 'open');
  assert.ok(Math.abs(summary.requests.sent - 400) <= 12, `sent ${summary.requests.sent}, expected about 400`);
  assert.equal(summary.requests.sent, target.received());
  assert.equal(summary.requests.scheduled, summary.requests.sent + summary.requests.unsent);
  assert.ok(Math.abs(summary.throughput.mean - 200) <= 10, `mean ${summary.throughput.mean} req/s`);
});

test('open loop: latency counts from the scheduled time, and late/unsent requests are reported', async (t) => {
  // 2 connections against 100 ms responses carry 20 req/s; 100 req/s are asked for.
  const target = await startTarget(t, { kind: 'delay', ms: 100 });
  const { summary } = await load(target.url, { rate: '100', duration: '1', threads: '2' });
  assert.ok(summary.latencyMs !== null);
  assert.ok(summary.requests.sent <= 30, `sent ${summary.requests.sent}`);
  assert.ok(summary.requests.unsent >= 60, `unsent ${summary.requests.unsent}`);
  assert.ok(summary.requests.late >= summary.requests.sent - 3, `late ${summary.requests.late} of ${summary.requests.sent}`);
  // Service time is 100 ms; queueing behind the 2 connections must show in the percentiles.
  assert.ok(summary.latencyMs.p50 > 250, `p50 ${summary.latencyMs.p50} ms hides the queueing delay`);
});

test('profiles shape a real run: step raises the number of connections, burst pauses', async (t) => {
  const stepTarget = await startTarget(t, { kind: 'ok' });
  const { samples } = await load(stepTarget.url, { threads: '4', duration: '1.6', profile: 'step', steps: '2', stepTime: '0.8' });
  const t0 = stepTarget.arrivals[0].at;
  const socketsIn = (from: number, to: number) => new Set(stepTarget.arrivals.filter((a) => a.at - t0 >= from && a.at - t0 < to).map((a) => a.socket)).size;
  assert.equal(socketsIn(100, 700), 2, 'first step: 2 of 4 threads');
  assert.equal(socketsIn(900, 1500), 4, 'second step: all 4 threads');
  assert.equal(samples[0].level, 4, 'the per-second sample reports the level at its end (t = 1 s, second step)');

  const burstTarget = await startTarget(t, { kind: 'ok' });
  await load(burstTarget.url, { threads: '3', duration: '1.5', profile: 'burst', burstOn: '0.5', burstOff: '0.5' });
  const b0 = burstTarget.arrivals[0].at;
  const inOff = burstTarget.arrivals.filter((a) => a.at - b0 > 560 && a.at - b0 < 950).length;
  const inOn = burstTarget.arrivals.filter((a) => a.at - b0 > 1050 && a.at - b0 < 1450).length;
  assert.ok(inOn > 20, `${inOn} requests while on`);
  assert.equal(inOff, 0, `${inOff} requests while off`);
});

test('--workers 2: virtual users spread over worker threads, counts still exact', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { summary } = await load(target.url, { threads: '4', duration: '1', workers: '2' });
  assert.equal(summary.workers, 2);
  assert.ok(summary.requests.sent > 50);
  assert.equal(summary.requests.sent, target.received());
  assert.equal(summary.requests.ok, target.received());
  assert.deepEqual(summary.servedBy, target.servedBy);
  assert.equal(summary.latencyMs?.count, target.received());
  assert.equal(new Set(target.arrivals.map((a) => a.socket)).size, 4);
  assert.equal(await target.openConnections(), 0);
});

test('interrupt(): stops early with a partial summary, in-flight requests counted as aborted', async (t) => {
  const target = await startTarget(t, { kind: 'delay', ms: 2000 });
  const run = new LoadRun(parseLoadOptions(target.url, { threads: '3', duration: '30' }));
  const started = performance.now();
  setTimeout(() => run.interrupt(), 300);
  const summary = await run.run();
  assert.ok(performance.now() - started < 1500, 'stopped promptly');
  assert.equal(summary.interrupted, true);
  assert.equal(summary.requests.sent, 3);
  assert.equal(summary.requests.aborted, 3);
  assert.equal(summary.requests.failed, 0);
  assert.equal(exitCodeFor(summary), 0);
});
