import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabEvent, LabSettings, TrafficStats, WorkerSnapshot } from '../../src/events.js';
import { describe } from '../../src/dashboard/describe.js';
import { dashedPlotter, gapStrokes } from '../../src/dashboard/dash.js';
import { emptySummary, foldSummary, summaryLines } from '../../src/summary/summary.js';
import { computeLayout, type Layout, type Rect } from '../../src/dashboard/layout.js';
import { chartAxis, chartModel, instancesChart, latencyChart, niceCeiling, requestsChart, scalingChart, stepExpand, yLabelCount } from '../../src/dashboard/panels/charts.js';
import { footerText, tooSmallLines } from '../../src/dashboard/panels/footer.js';
import { headerLines, packSegments } from '../../src/dashboard/panels/header.js';
import { visibleLog } from '../../src/dashboard/panels/log.js';
import { instanceTable, tableLabel } from '../../src/dashboard/panels/table.js';
import { policyLines } from '../../src/dashboard/metric-display.js';
import {
  LOG_CAPACITY,
  TRAFFIC_CAPACITY,
  appendToWindow,
  emptyWindow,
  initialDashboardState,
  reduceDashboard,
  tickCapacity,
  type DashboardState,
} from '../../src/dashboard/state.js';
import { formatBytes, formatClock, formatCount, formatLatency, formatPercent, formatRelative, truncate } from '../../src/format.js';
import { keyAction, noticeFor } from '../../src/dashboard/keys.js';
import { formatPlainLine } from '../../src/dashboard/plain.js';

const settings: LabSettings = {
  min: 1, max: 5, scaleUp: 35, scaleDown: 15, interval: 3, cooldown: 30,
  port: 8000, basePort: 5000, host: '127.0.0.1', work: 10, metric: 'host-cpu', policy: 'threshold',
  target: 50, tolerance: 0.1, scaleDownWindow: 30, maxStepPods: 4, maxStepPercent: 100, warmup: 6, idle: 60, holdMax: 1000, holdTimeout: 10, metricsPort: 9464,
  upstreamTimeout: 30, balancer: 'l7', maxConnRequests: 0, maxConnAge: 0,
};

function traffic(over: Partial<TrafficStats> = {}): TrafficStats {
  return { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0, ...over };
}

function worker(over: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
  return {
    id: 1, port: 5000, pid: 4242, state: 'ready', healthy: true, cpu: 12.5, rss: 50 * 1024 * 1024,
    rps: 7, inFlight: 2, restarts: 0, startedAt: 1000, readyAt: 1500, ...over,
  };
}

function started(over: Partial<LabSettings> = {}): LabEvent {
  return { type: 'started', t: 0, startedAt: 1_700_000_000_000, balancerUrl: 'http://127.0.0.1:8000', runDir: '/tmp/run', pid: 99, config: { ...settings, ...over } };
}

function tick(t: number, cpu: number | null, over: Partial<Extract<LabEvent, { type: 'tick' }>> = {}): LabEvent {
  return {
    type: 'tick', t, cpu, metric: 'host-cpu', value: cpu, metrics: { 'host-cpu': cpu, 'worker-cpu': null, rps: null, concurrency: null, p95: null }, warming: 0, instances: 1, ready: 1, desired: 1,
    action: 'hold', reason: `cpu ${cpu} %: hold`, paused: false, traffic: traffic(), workers: [worker()],
    observation: { t, hostCpu: cpu, latency: { p50: null, p95: null, p99: null }, workers: [] }, state: { desired: 1, starting: 0, ready: 1 }, ...over,
  };
}

function stats(t: number, over: Partial<TrafficStats> = {}, workers: WorkerSnapshot[] = [worker()]): LabEvent {
  return { type: 'stats', t, traffic: traffic(over), workers };
}

function replay(events: LabEvent[]): DashboardState {
  return events.reduce(reduceDashboard, initialDashboardState());
}

test('format: clock, relative time, percent, bytes, latency, counts, truncation', () => {
  const cases: Array<[string, string]> = [
    [formatClock(0), '00:00'],
    [formatClock(83_999), '01:23'],
    [formatClock(3_723_000), '1:02:03'],
    [formatClock(-5), '00:00'],
    [formatRelative(83_000), '+01:23'],
    [formatPercent(4.25), '4.3'],
    [formatPercent(41.6), '42'],
    [formatPercent(null), '–'],
    [formatBytes(50 * 1024 * 1024), '50 MiB'],
    [formatBytes(1.5 * 1024 ** 3), '1.5 GiB'],
    [formatBytes(null), '–'],
    [formatLatency(0.421), '0.421 ms'],
    [formatLatency(4.12), '4.12 ms'],
    [formatLatency(18.4), '18.4 ms'],
    [formatLatency(250.4), '250 ms'],
    [formatLatency(1250), '1.25 s'],
    [formatLatency(null), '–'],
    [formatCount(12345.6), '12,346'],
    [truncate('abcdef', 4), 'abc…'],
    [truncate('abc', 4), 'abc'],
    [truncate('abc', 0), ''],
  ];
  for (const [actual, expected] of cases) assert.equal(actual, expected);
});

test('rolling window keeps the newest `capacity` items and never grows beyond it', () => {
  let w = emptyWindow<number>(3);
  for (let i = 1; i <= 10; i++) w = appendToWindow(w, i);
  assert.deepEqual(w.items, [8, 9, 10]);
  assert.equal(w.capacity, 3);
  const before = w;
  appendToWindow(before, 11);
  assert.deepEqual(before.items, [8, 9, 10], 'append does not mutate');
  assert.throws(() => emptyWindow(0), /expected an integer >= 1, received 0/);
});

test('tick capacity covers five minutes at the tick interval, bounded', () => {
  assert.equal(tickCapacity(3), 101);
  assert.equal(tickCapacity(1), 301);
  assert.equal(tickCapacity(0.1), 600);
  assert.equal(tickCapacity(1000), 2);
  assert.equal(tickCapacity(Number.NaN), 101);
});

test('a long run holds bounded series and log (memory does not grow with run time)', () => {
  const events: LabEvent[] = [started({ interval: 1 })];
  for (let s = 1; s <= 3600; s++) {
    events.push(stats(s * 1000, { rps: s % 50, rpm: 600, p50: 2, p99: 9 }));
    events.push(tick(s * 1000 + 1, 20));
    events.push({ type: 'worker', t: s * 1000 + 2, id: 1, port: 5000, pid: 1, from: 'ready', state: 'ready', detail: '' });
  }
  const state = replay(events);
  assert.equal(state.requests.items.length, TRAFFIC_CAPACITY);
  assert.equal(state.ticks.items.length, tickCapacity(1));
  assert.equal(state.instances.items.length, tickCapacity(1));
  assert.equal(state.log.items.length, LOG_CAPACITY);
  assert.equal(state.requests.items.at(-1)?.t, 3_600_000, 'newest point kept');
  assert.equal(state.now, 3_600_002);
});

test('ticks feed the CPU and instance series; a failed CPU sample adds no fake point', () => {
  const state = replay([started(), tick(3000, 40), tick(6000, null), tick(9000, 10, { instances: 2, desired: 3, ready: 1 })]);
  assert.deepEqual(state.ticks.items.map((p) => p.cpu), [40, null, 10]);
  const cpu = scalingChart(state).series.at(-1);
  assert.deepEqual([cpu?.x, cpu?.y], [['00:03', '00:09'], [40, 10]], 'the failed sample is left out of the chart');
  assert.equal(state.instances.items.length, 3);
  assert.deepEqual(state.counts, { instances: 2, ready: 1, desired: 3 });
  assert.equal(state.cpuNow, 10);
  assert.deepEqual(state.decision, { t: 9000, action: 'hold', reason: 'cpu 10 %: hold' });
});

test('CPU chart: the cpu line plus both thresholds as flat lines on the same axis, 0–100', () => {
  const model = scalingChart(replay([started(), tick(3000, 40), tick(63_000, 12)]));
  assert.equal(model.minY, 0);
  assert.equal(model.maxY, 100);
  assert.deepEqual(model.series.map((s) => s.title), ['up 35%', 'down 15%', 'cpu']);
  assert.deepEqual(model.series.map((s) => s.color), ['red', 'blue', 'yellow']);
  assert.deepEqual(model.series[0].y, [35, 35]);
  assert.deepEqual(model.series[1].y, [15, 15]);
  assert.deepEqual(model.series[2].y, [40, 12]);
  assert.deepEqual(model.series[2].x, ['00:03', '01:03']);
  assert.equal(model.label, 'CPU % (host) 12 % · up 35% · down 15%');
  assert.equal(model.shortLabel, 'cpu 12 %');
  assert.deepEqual(scalingChart(initialDashboardState()).series, [], 'no points: no series (the chart stays empty)');
  const busy = scalingChart(replay([started({ scaleUp: 100 }), tick(3000, 100), tick(6000, 97)]));
  assert.equal(busy.maxY, 100, 'CPU at 100 % does not stretch the axis (it ran to 200 before)');
});

test('chart axis: the top value gets a label, every label sits at its value (contrib labels only values below its maxY)', () => {
  for (const height of [8, 10, 14, 20]) {
    const axis = chartAxis('cpu', height, { maxY: 100 });
    assert.equal(axis.labels.at(-1), 100, `a 100 label on a ${height}-row chart`);
    const step = axis.labels[1] - axis.labels[0];
    // What contrib draws: labels from 0 every (maxY / numYLabels) while below maxY.
    const drawn: number[] = [];
    for (let v = 0; v < axis.maxY; v += axis.maxY / axis.numYLabels) drawn.push(Math.round(v * 1e6) / 1e6);
    assert.deepEqual(drawn, axis.labels, `contrib draws exactly these labels (${height} rows)`);
    assert.equal(axis.maxY, 100 + step / 2, 'half a step of unlabelled headroom above 100');
    // Two labels never share a text row: >= 4 px (one row of braille) apart.
    const plotPixels = height * 4 - 19;
    assert.ok((plotPixels * step) / axis.maxY >= 4, `labels ${step} apart fit ${height} rows`);
  }
  const req = chartAxis('requests', 20, { maxY: 50 });
  assert.deepEqual(req.labels, [0, 10, 20, 30, 40, 50]);
  const inst = chartAxis('instances', 20, { maxY: 6 });
  assert.equal(inst.maxY, 6);
  assert.deepEqual(inst.labels, [0, 1, 2, 3, 4, 5], 'instances: max + 1 is already the headroom');
});

test('dashed lines: every other run of pixels along the path is left out, across segments', () => {
  const set: number[] = [];
  const plot = dashedPlotter((x) => set.push(x), 2, 3);
  for (let x = 0; x < 12; x++) plot(x, 0);
  assert.deepEqual(set, [0, 1, 5, 6, 10, 11]);
});

test('target policy / other metrics: the chart plots the driving metric with the target and tolerance band', () => {
  const state = replay([
    started({ policy: 'target', metric: 'rps', target: 100, tolerance: 0.1 }),
    tick(3000, 30, { metric: 'rps', value: 80 }),
    tick(6000, 35, { metric: 'rps', value: null }),
    tick(9000, 40, { metric: 'rps', value: 150 }),
  ]);
  const model = scalingChart(state);
  assert.deepEqual(model.series.map((s) => [s.title, s.y]), [
    ['target 100 req/s', [100, 100]],
    ['±10%', [110.00000000000001, 110.00000000000001]],
    ['', [90, 90]],
    ['rps/worker', [80, 150]],
  ]);
  assert.equal(model.label, 'Req/s per worker 150 req/s · target 100 req/s · ±10% · host CPU 40 %');
  assert.equal(model.maxY, 200);
  const header = headerLines(state, 200);
  assert.equal(header[0], 'autoscaling on · elapsed 00:09 · http://127.0.0.1:8000 · target on rps');
  assert.equal(header[1], 'target 100 req/s ±10 % · min 1 · max 5 · interval 3 s · scale-in window 30 s · warm-up 6 s');
  assert.deepEqual(policyLines({ ...settings, policy: 'target', tolerance: 0 }).map((l) => l.value), [50]);
  const workerCpu = scalingChart(replay([started({ metric: 'worker-cpu', scaleUp: 60, scaleDown: 20 }), tick(3000, 90, { value: 130 })]));
  assert.equal(workerCpu.maxY, 100, 'a percentage chart is 0–100 whatever its values');
  assert.deepEqual(workerCpu.series.at(-1)!.y, [100], 'a value beyond the axis is drawn at its edge');
  assert.match(workerCpu.label, /130 %/, 'the label still says the value');
});

test('instances chart: step line, min/max lines, desired dashed over running, label says desired when it differs', () => {
  const state = replay([
    started(),
    tick(3000, 50, { instances: 1, desired: 1 }),
    tick(6000, 50, { instances: 1, desired: 2 }),
    tick(9000, 50, { instances: 2, desired: 2, ready: 2 }),
  ]);
  const model = instancesChart(state);
  assert.deepEqual(model.series.map((s) => s.title), ['max 5', 'min 1', 'running', 'desired']);
  const running = model.series[2];
  assert.deepEqual(running.y, [1, 1, 1, 1, 2]);
  assert.deepEqual(running.x, ['00:03', '00:06', '00:06', '00:09', '00:09']);
  const desired = model.series[3];
  assert.deepEqual(desired.y, [1, 1, 2, 2, 2]);
  // Findable where it equals running: dashed, drawn over it, in a colour no other line of the chart has.
  assert.equal(desired.dashed, true);
  assert.deepEqual(model.series.filter((s) => s.dashed).map((s) => s.title), ['desired']);
  assert.equal(model.series.filter((s) => s.color === desired.color).length, 1);
  assert.equal(model.maxY, 6);
  assert.equal(model.label, 'Instances 2 running, 2 ready · min 1 max 5');
  const mid = instancesChart(replay([started(), tick(6000, 50, { instances: 1, desired: 2 })]));
  assert.equal(mid.label, 'Instances 1 running, 1 ready → desired 2 · min 1 max 5');
  assert.equal(mid.shortLabel, 'Instances 1 → 2');
});

test('stepExpand turns each change into a jump at the new point', () => {
  assert.deepEqual(stepExpand(['a', 'b', 'c'], [1, 3, 3]), { x: ['a', 'b', 'b', 'c', 'c'], y: [1, 1, 3, 3, 3] });
  assert.deepEqual(stepExpand([], []), { x: [], y: [] });
});

test('requests chart: per-second rate and the 60 s rate (RPM÷60) from stats, label with both', () => {
  const state = replay([started(), stats(1000, { rps: 20, rpm: 600 }), stats(2000, { rps: 40, rpm: 1800 })]);
  const model = requestsChart(state);
  assert.deepEqual(model.series.map((s) => [s.title, s.y]), [['rpm÷60', [10, 30]], ['req/s', [20, 40]]]);
  assert.equal(model.label, 'Requests 40/s · 1,800/min');
  assert.equal(model.maxY, 50, 'nice ceiling of 1.2 × peak');
  assert.equal(requestsChart(replay([started(), stats(1000)])).maxY, 10, 'idle: a floor, never a zero-height axis');
});

test('latency chart leaves a gap for periods without requests: no fake 0, and idle time keeps its place on the axis', () => {
  const state = replay([started(), stats(1000, { p50: 3, p99: 12 }), stats(2000), stats(3000, { p50: 4, p99: 30 })]);
  const model = latencyChart(state);
  assert.deepEqual(model.series.map((s) => [s.title, s.y]), [['p99 ms', [12, NaN, 30]], ['p50 ms', [3, NaN, 4]]]);
  assert.deepEqual(model.series[0].x, ['00:01', '00:02', '00:03'], 'the same seconds as the requests chart');
  assert.equal(model.label, 'Latency p50 4.00 ms · p99 30.0 ms');
  assert.equal(model.maxY, 50);
  assert.equal(chartModel(state, 'latency').label, model.label);
});

test('niceCeiling picks 1/2/5 × 10^k at or above the value and the floor', () => {
  const cases: Array<[number, number, number]> = [[0, 10, 10], [11, 10, 20], [48, 10, 50], [51, 10, 100], [0.3, 1, 1], [1.3, 1, 2], [120, 1, 200]];
  for (const [v, floor, expected] of cases) assert.equal(niceCeiling(v, floor), expected, `niceCeiling(${v}, ${floor})`);
});

test('y label counts never put two labels on one text row', () => {
  assert.equal(yLabelCount('cpu', 20, 100), 5);
  assert.equal(yLabelCount('cpu', 10, 100), 4);
  assert.equal(yLabelCount('cpu', 8, 100), 2);
  assert.equal(yLabelCount('instances', 20, 6), 6);
  assert.equal(yLabelCount('instances', 10, 6), 3, 'steps of 2 on a short chart');
  assert.equal(yLabelCount('requests', 8, 50), 2);
});

test('instance table: one row per worker by id, unhealthy shown as a state, real numbers', () => {
  const state = replay([
    started(),
    stats(61_000, { rps: 9 }, [
      worker({ id: 2, port: 5001, pid: 4243, healthy: false, cpu: 3.21, rps: 0, inFlight: 0, restarts: 1, startedAt: 30_000 }),
      worker({ id: 1, store: { up: true, detail: 'ok', visits: 1234 } }),
    ]),
  ]);
  const table = instanceTable(state, 118);
  assert.deepEqual(table.header.split(/\s+/).filter(Boolean), ['ID', 'PORT', 'PID', 'STATE', 'CPU%', 'MEM', 'REQ/S', 'IN-FL', 'CONNS', 'VISITS', 'RESTARTS', 'UPTIME']);
  assert.deepEqual(table.rows[0].text.split(/\s+/).filter(Boolean), ['1', '5000', '4242', 'ready', '13', '50', 'MiB', '7', '2', '–', '1,234', '0', '01:00']);
  assert.equal(table.rows[0].tone, 'ok');
  assert.deepEqual(table.rows[1].text.split(/\s+/).filter(Boolean), ['2', '5001', '4243', 'unhealthy', '3.2', '50', 'MiB', '0', '0', '–', '–', '1', '00:31']);
  assert.equal(table.rows[1].tone, 'bad');
  assert.ok(instanceTable(state, 78).rows.every((r) => r.text.length <= 78), 'fits an 80-column screen');
  assert.equal(tableLabel(state, 200), 'Instances: 1 ready of 2 · balancer 0 req/min, 9 req/s, p50 –, p99 –, in flight 0, errors 0');
});

test('the shared store: where in the started line, health and visits in the table title, down in plain ticks, visits by worker when stopped', () => {
  const withStore: LabEvent = { ...(started() as Extract<LabEvent, { type: 'started' }>), store: { kind: 'sqlite', where: '/tmp/run/visits.db' } };
  assert.match(describe(withStore)!.text, /cooldown 30 s {2}visits in sqlite \/tmp\/run\/visits\.db {2}\(daemon pid 99/);
  const up = { kind: 'sqlite' as const, where: '/tmp/run/visits.db', up: true, detail: 'ok', total: 1500, visits: 1204, visitsByWorker: { 1: 600, 2: 604 } };
  const before = replay([withStore]);
  assert.equal(tableLabel(before, 200), 'Instances: 0 ready of 0 · sqlite –');
  const healthy = replay([withStore, tick(3000, 20, { store: up })]);
  assert.match(tableLabel(healthy, 200), /^Instances: 1 ready of 1 · sqlite up, 1,204 visits · balancer /);
  const downStore = { ...up, up: false, detail: 'worker 2: SQLITE_BUSY: database is locked' };
  const down = tick(6000, 20, { store: downStore, workers: [worker({ store: { up: false, detail: 'SQLITE_BUSY: database is locked', visits: 600 } })] });
  const state = replay([withStore, tick(3000, 20, { store: up }), down]);
  assert.match(tableLabel(state, 200), /· sqlite DOWN \(worker 2: SQLITE_BUSY: database is locked\) ·/);
  assert.equal(instanceTable(state, 118).rows[0].tone, 'bad', 'a worker that cannot reach the store is shown as bad');
  assert.match(formatPlainLine(down)!, /p99 – {2}db sqlite DOWN \(worker 2: SQLITE_BUSY: database is locked\) {2}hold:/);
  assert.doesNotMatch(formatPlainLine(tick(3000, 20, { store: up }))!, /db /, 'a healthy store adds nothing to every tick');
  const stopped: LabEvent = { type: 'stopped', t: 9000, reason: 'received SIGTERM', forced: 0, store: up };
  assert.equal(describe(stopped)!.text, 'received SIGTERM; 0 workers needed SIGKILL; 1204 visits: worker 1 600, worker 2 604');
});

test('worker and health events update rows between stats; unknown fields stay unknown', () => {
  const state = replay([
    started(),
    { type: 'worker', t: 500, id: 1, port: 5000, pid: 100, from: null, state: 'starting', detail: 'forked' },
    { type: 'worker', t: 900, id: 1, port: 5000, pid: 100, from: 'starting', state: 'ready', detail: 'listening' },
    { type: 'health', t: 2000, id: 1, port: 5000, healthy: false, detail: '3 failed checks' },
  ]);
  assert.equal(state.workers.length, 1);
  assert.equal(state.workers[0].state, 'ready');
  assert.equal(state.workers[0].healthy, false);
  const row = instanceTable(state, 118).rows[0].text.split(/\s+/).filter(Boolean);
  assert.deepEqual(row, ['1', '5000', '100', 'unhealthy', '–', '–', '0', '0', '–', '–', '0', '00:01']);
});

test('--balancer l4: the table shows each worker\'s connections, so a pinned-out new worker is visible; the hint is one log line', () => {
  const state = replay([
    started(),
    stats(10_000, { rps: 90 }, [worker({ id: 1, rps: 45, connections: 10 }), worker({ id: 2, rps: 45, connections: 10 }), worker({ id: 3, rps: 0, connections: 0, startedAt: 5_000 })]),
    { type: 'hint', t: 11_000, text: 'worker 3 :5002 gets no traffic: under --balancer l4 each connection stays on the worker it was handed to' },
  ]);
  const rows = instanceTable(state, 118).rows.map((r) => r.text.split(/\s+/).filter(Boolean));
  assert.deepEqual(rows.map((r) => [r[0], r[7], r[9]]), [['1', '45', '10'], ['2', '45', '10'], ['3', '0', '0']]);
  assert.deepEqual(visibleLog(state, 300, 1).map((l) => [l.text, l.level]), [['+00:11 hint     worker 3 :5002 gets no traffic: under --balancer l4 each connection stays on the worker it was handed to', 'warn']]);
});

test('log lines: every kind of event, relative timestamps, newest at the bottom, cut to width', () => {
  const events: LabEvent[] = [
    started(),
    { type: 'scale', t: 3000, direction: 'out', from: 1, to: 2, reason: 'cpu 41 % > 35 %: 1 → 2', manual: false },
    { type: 'scale', t: 4000, direction: 'in', from: 2, to: 1, reason: 'manual scale-in', manual: true },
    { type: 'worker', t: 5000, id: 2, port: 5001, pid: 77, from: 'ready', state: 'crashed', detail: 'exit code 1' },
    { type: 'health', t: 83_000, id: 1, port: 5000, healthy: false, detail: '3 failed checks' },
    { type: 'paused', t: 84_000, paused: true },
    { type: 'stopped', t: 90_000, reason: 'quit from the dashboard', forced: 1 },
  ];
  const state = replay(events);
  // The same lines the plain view prints (one wording per event: describe()).
  assert.deepEqual(visibleLog(state, 300, 100).map((l) => [l.text, l.level]), [
    ['+00:00 started  balancer http://127.0.0.1:8000  policy threshold on host-cpu: out above 35 %, in below 15 %, 1–5 workers from port 5000, tick 3 s, cooldown 30 s  (daemon pid 99, worker logs in /tmp/run)', 'info'],
    ['+00:03 scale    out 1 → 2: cpu 41 % > 35 %: 1 → 2', 'scale'],
    ['+00:04 scale    in 2 → 1 (manual)', 'scale'],
    ['+00:05 worker   2 :5001 pid 77 ready → crashed (exit code 1)', 'error'],
    ['+01:23 health   worker 1 :5000 unhealthy (3 failed checks)', 'error'],
    ['+01:24 paused   autoscaling paused', 'warn'],
    ['+01:30 stopped  quit from the dashboard; 1 worker needed SIGKILL', 'warn'],
  ]);
  const two = visibleLog(state, 20, 2);
  assert.deepEqual(two.map((l) => l.text), ['+01:24 paused   aut…', '+01:30 stopped  qui…']);
  assert.deepEqual(visibleLog(state, 20, 0), []);
  assert.equal(describe(tick(1, 1)), null, 'ticks do not flood the log');
  assert.equal(describe(stats(1)), null);
  assert.equal(describe({ type: 'health', t: 0, id: 3, port: 5002, healthy: true, detail: '' })?.text, 'worker 3 :5002 healthy again');
  assert.equal(describe({ type: 'worker', t: 0, id: 4, port: 0, pid: undefined, from: null, state: 'starting', detail: '' })?.text, '4 starting', 'port 0 = not allocated yet');
  assert.equal(
    describe({ type: 'worker', t: 0, id: 3, port: 5002, pid: 11376, from: null, state: 'starting', detail: 'log /runs/x/worker-3.log' })?.text,
    '3 :5002 pid 11376 forked (log /runs/x/worker-3.log)',
    'one line per new worker',
  );
  assert.equal(
    describe({ type: 'worker', t: 0, id: 3, port: 5002, pid: 11377, from: 'backoff', state: 'starting', detail: 'back-off of 600 ms over; log l' })?.text,
    '3 :5002 pid 11377 backoff → forked (back-off of 600 ms over; log l)',
  );
  for (const e of events) assert.equal(formatPlainLine(e), visibleLog(replay([e]), 300, 1)[0].text, 'plain line = dashboard log line');
});

test('header: settings, balancer, paused state, elapsed time and the last decision', () => {
  const state = replay([started(), tick(125_000, 50, { reason: 'cpu 50 % > 35 %: 1 → 2' }), { type: 'paused', t: 126_000, paused: true }]);
  assert.deepEqual(headerLines(state, 200), [
    'autoscaling PAUSED · elapsed 02:06 · http://127.0.0.1:8000 · threshold on host-cpu',
    'scale up > 35 % · down < 15 % · min 1 · max 5 · interval 3 s · cooldown 30 s · warm-up 6 s',
    'last decision +02:05: cpu 50 % > 35 %: 1 → 2',
  ]);
  const running = replay([started(), tick(125_000, 50)]);
  const narrow = headerLines(running, 79);
  assert.ok(narrow.every((l) => l.length <= 79));
  assert.ok(!narrow[0].includes('…'), 'status fits 80 columns uncut');
  assert.match(narrow[1], /^scale up > 35 % · down < 15 % · min 1 · max 5 · interval 3 s · cooldown 30 s/, 'the settings that decide fit 80 columns');
  assert.deepEqual(headerLines(initialDashboardState(), 80), ['autoscale · waiting for the lab to start…', '', '']);
});

test('packSegments wraps on separators and marks overflow', () => {
  assert.deepEqual(packSegments(['aaaa', 'bbbb', 'cccc'], 11, 3), ['aaaa · bbbb', 'cccc']);
  assert.deepEqual(packSegments(['aaaa', 'bbbb', 'cccc'], 6, 2), ['aaaa', 'bbbb …']);
  assert.deepEqual(packSegments(['a-very-long-segment'], 8, 1), ['a-very-…']);
});

test('footer shows the keys, the pause key flips, notices fit the width', () => {
  const state = replay([started()]);
  assert.equal(footerText(state, 80, null), ' q quit · + scale out · - scale in · p pause · ? help');
  const paused = replay([started(), { type: 'paused', t: 1, paused: true }]);
  assert.match(footerText(paused, 80, null), /p resume/);
  const withNotice = footerText(state, 120, 'already at max 5: not scaling out');
  assert.match(withNotice, /\? help {3}already at max 5: not scaling out$/);
  assert.ok(footerText(state, 80, 'a long notice '.repeat(10)).length <= 80);
});

test('keys map to actions; manual scaling beyond min/max is explained, not silently ignored', () => {
  const cases: Array<[string | undefined, { name?: string; ctrl?: boolean }, ReturnType<typeof keyAction>]> = [
    ['q', { name: 'q' }, 'quit'],
    ['\x03', { name: 'c', ctrl: true }, 'quit'],
    ['+', {}, 'scale-out'],
    ['=', {}, 'scale-out'],
    ['-', {}, 'scale-in'],
    ['p', { name: 'p' }, 'toggle-pause'],
    ['?', {}, 'toggle-help'],
    [undefined, { name: 'escape' }, 'close-help'],
    ['x', { name: 'x' }, null],
    ['\x10', { name: 'p', ctrl: true }, null],
  ];
  for (const [ch, key, expected] of cases) assert.equal(keyAction(ch, key), expected, `key ${JSON.stringify(ch)}`);
  const limits = { paused: false, desired: 5, min: 1, max: 5 };
  assert.equal(noticeFor('scale-out', limits), 'already at max 5: not scaling out');
  assert.equal(noticeFor('scale-in', limits), 'scaling in by one…');
  assert.equal(noticeFor('scale-in', { ...limits, desired: 1 }), 'already at min 1: not scaling in');
  assert.equal(noticeFor('scale-out', { ...limits, desired: null }), 'scaling out by one…');
  assert.equal(noticeFor('toggle-pause', { ...limits, paused: true }), 'resuming autoscaling…');
  assert.equal(noticeFor('toggle-help', limits), null);
});

function inside(r: Rect, cols: number, rows: number): boolean {
  return r.top >= 0 && r.left >= 0 && r.width > 0 && r.height > 0 && r.left + r.width <= cols && r.top + r.height <= rows;
}

function full(layout: Layout): Extract<Layout, { kind: 'full' }> {
  assert.equal(layout.kind, 'full');
  return layout as Extract<Layout, { kind: 'full' }>;
}

test('layout: below 80×24 a message; otherwise every panel on screen, stacked without overlap', () => {
  assert.equal(computeLayout(79, 40, 5).kind, 'too-small');
  assert.equal(computeLayout(120, 23, 5).kind, 'too-small');
  for (const [cols, rows] of [[80, 24], [100, 30], [120, 40], [160, 50], [250, 24], [300, 90]]) {
    const l = full(computeLayout(cols, rows, 5));
    const rects = [l.header, ...l.charts.map((c) => c.rect), l.table, l.log, l.footer];
    assert.ok(rects.every((r) => inside(r, cols, rows)), `${cols}×${rows} panels inside the screen`);
    const area = rects.reduce((s, r) => s + r.width * r.height, 0);
    assert.equal(area, cols * rows, `${cols}×${rows}: panels tile the screen exactly`);
    assert.ok(l.log.height >= 5, `${cols}×${rows}: log has room`);
    assert.ok(l.charts.every((c) => c.rect.height >= 7), `${cols}×${rows}: charts readable`);
    assert.deepEqual(l.charts.map((c) => c.id).slice(0, 3), ['cpu', 'instances', 'requests']);
  }
  assert.equal(full(computeLayout(80, 24, 5)).charts.length, 3, 'compact: one row of three');
  assert.deepEqual(full(computeLayout(120, 40, 5)).charts.map((c) => c.rect.top), [3, 3, 12, 12], '2×2 grid');
  assert.equal(full(computeLayout(120, 40, 5)).table.height, 8, 'table fits --max rows');
});

test('too-small screen: a readable message with the essentials', () => {
  const state = replay([started(), tick(3000, 42, { instances: 2 }), stats(4000, { rpm: 1200 })]);
  const lines = tooSmallLines(state, 60, 15);
  assert.equal(lines[0], 'Terminal too small: 60×15.');
  assert.ok(lines.includes('The dashboard needs at least 80×24.'));
  assert.ok(lines.includes('2 running'));
  assert.ok(lines.includes('CPU 42 %'));
  assert.ok(lines.includes('1,200 req/min'));
  assert.ok(tooSmallLines(state, 10, 5).every((l) => l.length <= 10));
});

test('exit summary: duration, requests, errors, peak instances, scale actions, run directory and the report hint', () => {
  const events: LabEvent[] = [
    started(),
    tick(3000, 50, { instances: 1, desired: 2 }),
    { type: 'scale', t: 3000, direction: 'out', from: 1, to: 2, reason: 'cpu 50 % > 35 %', manual: false },
    tick(6000, 50, { instances: 2, desired: 3 }),
    { type: 'scale', t: 6000, direction: 'out', from: 2, to: 3, reason: 'manual scale-out', manual: true },
    tick(9000, 10, { instances: 3, desired: 3 }),
    { type: 'scale', t: 9000, direction: 'in', from: 3, to: 2, reason: 'cpu 10 % < 15 %', manual: false },
    stats(10_000, { total: 12_345, errors: 12 }),
    { type: 'stopped', t: 134_000, reason: 'received SIGTERM', forced: 0 },
  ];
  const s = events.reduce(foldSummary, emptySummary());
  assert.deepEqual(summaryLines(s, { runDir: '/state/runs/r1', recorded: true }), [
    'autoscale ran 2 min 14 s (received SIGTERM)',
    '  requests      12,345, errors 12 (0.1 %)',
    '  instances     peak 3, 3 scale actions (2 out, 1 in, 1 manual)',
    '  run directory /state/runs/r1',
    '  report        autoscale report /state/runs/r1',
  ]);
  assert.deepEqual(summaryLines(emptySummary(), { runDir: '/tmp/x', recorded: false }), [
    'autoscale ran 0 s',
    '  requests      0, errors 0',
    '  instances     peak 0, 0 scale actions',
    '  run directory /tmp/x (worker logs only: --no-record)',
  ]);
});

test('latency chart under L4 says why it has no line', () => {
  const state = replay([started({ balancer: 'l4' }), stats(1000), stats(2000)]);
  const model = latencyChart(state);
  assert.match(model.label, /not measured under --balancer l4/);
  assert.equal(model.shortLabel, 'Latency: none under L4');
  assert.ok(model.series.every((s) => s.y.every((v) => Number.isNaN(v))));
});

test('gapStrokes: a NaN point lifts the line (no segment across the gap), a lone point is a dot, and the canvas never sees NaN', () => {
  const path: Array<[string, number, number]> = [];
  const ctx = {
    _canvas: { color: 'red', set() {} },
    stroke() {},
    beginPath() { path.length = 0; },
    moveTo(x: number, y: number) { path.push(['move', x, y]); },
    lineTo(x: number, y: number) { path.push(['line', x, y]); },
  };
  gapStrokes({ ctx });
  gapStrokes({ ctx });
  ctx.beginPath();
  ctx.lineTo(0, 1);
  ctx.lineTo(1, 2);
  ctx.lineTo(2, Number.NaN);
  ctx.lineTo(3, 5);
  ctx.lineTo(4, Number.NaN);
  ctx.lineTo(5, 6);
  ctx.lineTo(6, 7);
  assert.deepEqual(path, [['move', 0, 1], ['line', 0, 1], ['line', 1, 2], ['move', 3, 5], ['line', 3, 5], ['move', 5, 6], ['line', 5, 6], ['line', 6, 7]]);
});
