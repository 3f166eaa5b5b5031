/**
 * The live page's model, pure: frames from the lab's events (one per 1 s
 * heartbeat, in the report's series shape), worker counts by state with an
 * unknown state kept by name, the history through aggregate() (the same
 * figures as `autoscale report`), and the web's command and load parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabEvents, type LabEvent, type LabSettings, type TrafficStats, type WorkerSnapshot } from '../../src/events.js';
import { aggregate } from '../../src/report/aggregate.js';
import { countStates, LiveFeed, type LiveFrame } from '../../src/web/live.js';
import { LOAD_LIMITS, parseLoadRequest } from '../../src/web/load.js';
import { parseCommand } from '../../src/web/server.js';
import { webPortConflict } from '../../src/web/options.js';

const SETTINGS: LabSettings = {
  min: 1, max: 4, scaleUp: 35, scaleDown: 15, interval: 3, cooldown: 15, port: 8000, basePort: 5000, host: '127.0.0.1', work: 10,
  metric: 'host-cpu', policy: 'threshold', target: 50, tolerance: 0.1, scaleDownWindow: 30, maxStepPods: 4, maxStepPercent: 100, warmup: 6, idle: 60, holdMax: 1000, holdTimeout: 10, metricsPort: 9464,
  upstreamTimeout: 30, balancer: 'l7', maxConnRequests: 0, maxConnAge: 0,
};
const traffic = (total: number, errors = 0, rps = 10): TrafficStats => ({ rpm: 0, rps, p50: 5, p95: 10, p99: 15, inFlight: 0, total, errors });
const w = (id: number, state: string): WorkerSnapshot => ({ id, port: 5000 + id, pid: 100 + id, state: state as WorkerSnapshot['state'], healthy: true, cpu: 1, rss: 1, rps: 0, inFlight: 0, restarts: 0, startedAt: 0, readyAt: 0 });
const started: LabEvent = { type: 'started', t: 0, startedAt: 1_000_000, balancerUrl: 'http://127.0.0.1:8000', runDir: '/r/2026-01-01', pid: 42, config: SETTINGS };
const tick = (t: number, value: number, desired: number, tr: TrafficStats): LabEvent =>
  ({ type: 'tick', t, cpu: value, metric: 'host-cpu', value, metrics: {}, warming: 0, instances: desired, ready: desired, desired, action: 'hold', reason: `cpu ${value}`, paused: false, traffic: tr, workers: [], observation: {}, state: {} }) as unknown as LabEvent;
const stats = (t: number, tr: TrafficStats, workers: WorkerSnapshot[]): LabEvent => ({ type: 'stats', t, traffic: tr, workers });

function feed() {
  const bus = new LabEvents();
  const live = new LiveFeed(bus, () => ({ label: 'host CPU', unit: ' %' }));
  const frames: LiveFrame[] = [];
  live.subscribe((kind, f) => void (kind === 'frame' && frames.push(f!)));
  return { bus, live, frames };
}

test('one frame per heartbeat, carrying the tick points, the scale marker and decision, the counts and the new log lines', () => {
  const { bus, live, frames } = feed();
  bus.publish(started);
  bus.publish(stats(1000, traffic(10), [w(1, 'ready')]));
  bus.publish(tick(3000, 50, 1, traffic(30, 0)));
  bus.publish({ type: 'scale', t: 3001, direction: 'out', from: 1, to: 2, reason: 'cpu 50 % > 35 %: 1 → 2', manual: false });
  bus.publish({ type: 'worker', t: 3002, id: 2, port: 5002, pid: 102, from: null, state: 'starting', detail: '' });
  bus.publish(stats(3010, traffic(40, 4), [w(1, 'ready'), w(2, 'starting')]));
  assert.equal(frames.length, 2);
  const [f1, f2] = frames;
  assert.deepEqual(f1.points.metric, []);
  assert.deepEqual(f1.points.instances, { x: 1, ready: 1, starting: 0, draining: 0, desired: 1 });
  assert.deepEqual(f2.points.metric, [{ x: 3, value: 50, cpu: 50 }]);
  assert.deepEqual(f2.points.latency, [{ x: 3, p50: 5, p95: 10, p99: 15 }]);
  assert.deepEqual(f2.points.markers, [{ at: 3.001, direction: 'out', to: 2 }]);
  assert.deepEqual(f2.points.instances, { x: 3.01, ready: 1, starting: 1, draining: 0, desired: 2 });
  // 4 errors over the 2.01 s since the last heartbeat: the report's errors/s.
  assert.equal(f2.points.traffic!.errors.toFixed(3), (4 / 2.01).toFixed(3));
  assert.deepEqual(f2.decisions, [['+00:03', '1 → 2', 'policy', 'cpu 50 % > 35 %: 1 → 2']]);
  assert.deepEqual(f2.log.map((l) => l.kind), ['scale', 'worker']);
  assert.equal(f2.status.desired, 2);
  assert.equal(f2.status.lastDecision!.reason, 'cpu 50');
  // A browser connecting now gets the window so far in the report's series shape.
  const hello = live.hello(null, null)!;
  assert.deepEqual(hello.series.traffic.x, [1, 3.01]);
  assert.deepEqual(hello.series.metric.value, [50]);
  assert.equal(hello.decisions.length, 1);
  assert.ok(!hello.settingsRows.some(([k]) => k === 'recorded'));
});

test('worker counts: stopping draws as draining, booting and unknown states are kept by name, processes gone are not counted', () => {
  assert.deepEqual(countStates([w(1, 'ready'), w(2, 'starting'), w(3, 'booting'), w(4, 'stopping'), w(5, 'draining'), w(6, 'exited'), w(7, 'crashed'), w(8, 'backoff'), w(9, 'hibernating')]), {
    ready: 1,
    starting: 1,
    booting: 1,
    draining: 2,
    hibernating: 1,
  });
});

test('the history is aggregate() over the run: the report\'s figures, and the stopped run is no longer in progress', () => {
  const { bus, live } = feed();
  const events: LabEvent[] = [
    started,
    { type: 'worker', t: 10, id: 1, port: 5001, pid: 101, from: null, state: 'starting', detail: '' },
    { type: 'worker', t: 900, id: 1, port: 5001, pid: 101, from: 'starting', state: 'ready', detail: '' },
    stats(1000, traffic(10), [w(1, 'ready')]),
    tick(3000, 50, 1, traffic(30)),
    stats(4000, traffic(60), [w(1, 'ready')]),
  ];
  for (const e of events) bus.publish(e);
  const m = live.model()!;
  const direct = aggregate({ parsed: { started: { ...(started as Extract<LabEvent, { type: 'started' }>), schema: 1 }, events: events.slice(1), recorderNotes: [], problems: [], endT: 4000 }, load: null, inProgress: true });
  assert.deepEqual(m.summary, direct.summary);
  assert.deepEqual(m.series.traffic.x, direct.series.traffic.x);
  assert.ok(m.notes.some((n) => /still in progress/.test(n)));
  bus.publish({ type: 'stopped', t: 5000, reason: 'received SIGTERM', forced: 0 });
  const v = live.report()!;
  assert.deepEqual(v.stopped, { reason: 'received SIGTERM', forced: 0 });
  assert.ok(!v.notes.some((n) => /in progress|load\.ndjson/.test(n)), v.notes.join('; '));
  assert.ok(v.summary.some(([k, val]) => k === 'Requests through the balancer' && val === '60'));
  assert.deepEqual(live.tail().log.map((l) => l.kind), ['stopped'], 'what came after the last heartbeat');
});

test('commands from the page: the control socket\'s requests, +/−, the pause toggle and worker signals; anything else is a usage error', () => {
  assert.deepEqual(parseCommand({ cmd: 'scale-by', delta: 1 }), { cmd: 'scale-by', delta: 1 });
  assert.deepEqual(parseCommand({ cmd: 'scale', n: 3 }), { cmd: 'scale', n: 3 });
  assert.deepEqual(parseCommand({ cmd: 'refresh' }), { cmd: 'refresh', minHealthy: 90 });
  assert.deepEqual(parseCommand({ cmd: 'toggle-pause' }), { cmd: 'toggle-pause' });
  assert.deepEqual(parseCommand({ cmd: 'signal', id: 2, signal: 'SIGSTOP' }), { cmd: 'signal', id: 2, signal: 'SIGSTOP' });
  for (const bad of [{ cmd: 'scale-by', delta: 2 }, { cmd: 'signal', id: 2, signal: 'SIGTERM' }, { cmd: 'signal', id: -1, signal: 'SIGKILL' }, { cmd: 'scale', n: 1.5 }, { cmd: 'rm -rf' }, [], null]) {
    assert.throws(() => parseCommand(bad), { code: 'AS_ERR_USAGE' }, JSON.stringify(bad));
  }
});

test('a load from the page: only this lab\'s balancer, capped threads, rate and duration', () => {
  const c = parseLoadRequest({ profile: 'ramp', threads: 8, durationSec: 30 }, 'http://127.0.0.1:8000/');
  assert.equal(c.url.href, 'http://127.0.0.1:8000/');
  assert.equal(c.threads, 8);
  assert.equal(c.workers, 1, 'the engine runs in a worker thread, off the lab\'s loop');
  assert.equal(c.profile.name, 'ramp');
  const open = parseLoadRequest({ profile: 'constant', rate: 200, durationSec: 10 }, 'http://127.0.0.1:8000/');
  assert.equal(open.rate, 200);
  const bad = [
    { profile: 'constant', threads: LOAD_LIMITS.maxThreads + 1, durationSec: 10 },
    { profile: 'constant', rate: LOAD_LIMITS.maxRate + 1, durationSec: 10 },
    { profile: 'constant', threads: 2, durationSec: LOAD_LIMITS.maxDurationSec + 1 },
    { profile: 'constant', threads: 2, durationSec: 0 },
    { profile: 'wave', threads: 2, durationSec: 10 },
    { profile: 'constant', threads: 2.5, durationSec: 10 },
    { profile: 'constant', threads: '2', durationSec: 10 },
    'constant',
  ];
  for (const b of bad) assert.throws(() => parseLoadRequest(b, 'http://127.0.0.1:8000/'), { code: 'AS_ERR_USAGE' }, JSON.stringify(b));
});

test('--web-port must not be the balancer\'s, the metrics\' or a worker\'s port', () => {
  const s = { port: 8000, metricsPort: 9464, basePort: 5000, max: 5 };
  assert.equal(webPortConflict(9465, s), null);
  assert.equal(webPortConflict(0, s), null);
  assert.match(webPortConflict(8000, s)!, /must differ from --port/);
  assert.match(webPortConflict(9464, s)!, /must differ from --metrics-port/);
  assert.match(webPortConflict(5004, s)!, /workers' port range 5000–5004/);
  assert.equal(webPortConflict(5005, s), null);
  assert.equal(webPortConflict(9464, { ...s, metricsPort: 0 }), null);
});

test('an hour-long run: a browser connecting late gets only the live window; the whole run is the history\'s', () => {
  const { bus, live } = feed();
  bus.publish(started);
  for (let s = 1; s <= 3600; s++) {
    if (s % 3 === 0) bus.publish(tick(s * 1000 - 10, 20, 1, traffic(s)));
    bus.publish(stats(s * 1000, traffic(s), [w(1, 'ready')]));
  }
  const hello = live.hello(null, null)!;
  assert.equal(hello.nowSec, 3600);
  assert.equal(hello.fromSec, 3600 - hello.windowSec);
  assert.ok(hello.series.traffic.x.length <= hello.windowSec + 1, `${hello.series.traffic.x.length} points`);
  assert.ok(hello.series.traffic.x[0] >= hello.fromSec);
  assert.ok(hello.series.metric.x.every((x) => x >= hello.fromSec));
  assert.ok(JSON.stringify(hello).length < 200_000, `the first message stays small (${JSON.stringify(hello).length} bytes)`);
  assert.equal(live.model()!.series.traffic.x.length, 3600 + 1200, 'the history has every heartbeat and every tick');
});
