/** The tick window: per-tick numbers from lifetime counters, with the baselines kept here and nowhere else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLatencyHistogram } from '../../src/balancer/traffic-stats.js';
import type { WorkerTraffic } from '../../src/balancer/front-end.js';
import { LatencyWindow, TickWindow } from '../../src/lab/observe.js';
import type { WorkerRecord } from '../../src/supervisor/supervisor.js';

/** A supervisor record with what the tick window reads; the rest as a fresh worker has it. */
const record = (r: Pick<WorkerRecord, 'id' | 'state' | 'readyAt' | 'cpuReportSum' | 'cpuReports'>): WorkerRecord => ({
  port: 5000 + r.id, pid: undefined, healthy: true, restarts: 0, startedAt: 0, bootingUntil: null, stats: null, store: null, ...r,
});
/** The balancer's traffic to one worker, with what the tick window reads. */
const traffic = (u: Pick<WorkerTraffic, 'id' | 'requests' | 'inFlight' | 'rps'>): WorkerTraffic => ({ errors: 0, inRotation: true, ...u });

function sources() {
  const workers: WorkerRecord[] = [];
  const upstreams: WorkerTraffic[] = [];
  const latency = newLatencyHistogram();
  return { workers, upstreams, latency, window: new TickWindow({ workers: () => workers, upstreams: () => upstreams, latency: () => latency }) };
}

test('rps is the request count difference over the tick; the first tick of a worker uses its last full second', () => {
  const s = sources();
  s.workers.push(record({ id: 1, state: 'ready', readyAt: 0, cpuReportSum: 0, cpuReports: 0 }));
  s.workers.push(record({ id: 2, state: 'starting', readyAt: null, cpuReportSum: 0, cpuReports: 0 }));
  s.upstreams.push(traffic({ id: 1, requests: 600, inFlight: 2, rps: 7 }));
  const first = s.window.take(17_000, 40);
  assert.deepEqual(first.workers.map((w) => [w.id, w.rps]), [[1, 7], [2, 0]]);
  assert.equal(s.window.rateOf(1), 7);
  s.upstreams[0] = traffic({ id: 1, requests: 900, inFlight: 4, rps: 120 });
  const second = s.window.take(20_000, 45);
  assert.equal(second.workers[0].rps, 100);
  assert.equal(s.window.rateOf(1), 100, 'the table shows the same rate the policy measured');
  assert.equal(second.hostCpu, 45);
  assert.equal(second.t, 20_000);
});

test('cpu and in-flight are means over the tick, from lifetime counters and one sample a second', () => {
  const s = sources();
  const w: WorkerRecord = record({ id: 1, state: 'ready', readyAt: 0, cpuReportSum: 0, cpuReports: 0 });
  s.workers.push(w);
  s.upstreams.push(traffic({ id: 1, requests: 0, inFlight: 1, rps: 0 }));
  assert.equal(s.window.take(1000, null).workers[0].cpu, null, 'no report yet');
  w.cpuReportSum = 30 + 50;
  w.cpuReports = 2;
  s.window.sample(); // inFlight 1
  s.upstreams[0] = { ...s.upstreams[0], inFlight: 4 };
  s.window.sample(); // 4
  s.upstreams[0] = { ...s.upstreams[0], inFlight: 7 };
  const o = s.window.take(4000, null); // + 7 at the take
  assert.equal(o.workers[0].cpu, 40);
  assert.equal(o.workers[0].inFlight, 4);
  w.cpuReportSum += 20;
  w.cpuReports += 1;
  assert.equal(s.window.take(7000, null).workers[0].cpu, 20, 'only the reports of this tick');
});

test('latency percentiles cover the window since the previous take; the histogram itself is never reset', () => {
  const h = newLatencyHistogram();
  for (let i = 0; i < 100; i++) h.recordValue(1000); // 1 ms
  const window = new LatencyWindow(() => h);
  assert.deepEqual(window.take(), { p50: null, p95: null, p99: null }, 'what came before the window is not in it');
  for (let i = 0; i < 10; i++) h.recordValue(50_000); // 50 ms
  const l = window.take();
  assert.ok(l.p50 !== null && Math.abs(l.p50 - 50) < 0.1, JSON.stringify(l));
  assert.equal(window.take().p99, null);
  assert.equal(h.totalCount, 110);
});
