/** The report's pure core over hand-built recordings: parsing, reaction time, worker-seconds, cost, decisions, notes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabEvent, LabSettings, TrafficStats } from '../../src/events.js';
import { aggregate, median, reactionTimes, workerLifecycle } from '../../src/report/aggregate.js';
import type { Price } from '../../src/report/price.js';
import { parseEvents, parseLoad } from '../../src/runs/read.js';
import { renderMarkdown } from '../../src/report/render-md.js';
import { renderHtml, scriptJson } from '../../src/report/render-html.js';
import { recordLine } from '../../src/runs/recorder.js';

const SETTINGS: LabSettings = {
  min: 1, max: 4, scaleUp: 35, scaleDown: 15, interval: 3, cooldown: 15, port: 8000, basePort: 5000, host: '127.0.0.1', work: 10,
  metric: 'host-cpu', policy: 'threshold', target: 50, tolerance: 0.1, scaleDownWindow: 30, maxStepPods: 4, maxStepPercent: 100, warmup: 6, idle: 60, holdMax: 1000, holdTimeout: 10, metricsPort: 9464,
  upstreamTimeout: 30, balancer: 'l7', maxConnRequests: 0, maxConnAge: 0,
};
const PRICE: Price = { perHour: 3.6, currency: 'USD', source: 'test' }; // 0.001 per worker-second: easy arithmetic

const traffic = (total: number, errors = 0, p = 5): TrafficStats => ({ rpm: 0, rps: 10, p50: p, p95: p * 2, p99: p * 3, inFlight: 0, total, errors });
const started = (over: Partial<LabSettings> = {}): LabEvent => ({ type: 'started', t: 0, startedAt: 1_000_000, balancerUrl: 'http://127.0.0.1:8000', runDir: '/r', pid: 42, config: { ...SETTINGS, ...over } });
// Only the fields the report reads (the observation and policy state a tick also carries are not needed here).
const tick = (t: number, value: number | null, desired = 1, tr = traffic(0)): LabEvent =>
  ({ type: 'tick', t, cpu: value, metric: 'host-cpu', value, metrics: {}, warming: 0, instances: desired, ready: desired, desired, action: 'hold', reason: '', paused: false, traffic: tr, workers: [] }) as unknown as LabEvent;
const scale = (t: number, from: number, to: number, manual = false): LabEvent => ({ type: 'scale', t, direction: to > from ? 'out' : 'in', from, to, reason: `cpu → ${to}`, manual });
const worker = (t: number, id: number, state: 'starting' | 'ready' | 'draining' | 'stopping' | 'exited' | 'crashed', from: string | null = 'x', detail = ''): LabEvent => ({
  type: 'worker', t, id, port: 5000 + id, pid: 100 + id, from: (from === 'x' ? null : from) as never, state, detail,
});
const stopped = (t: number): LabEvent => ({ type: 'stopped', t, reason: 'received SIGTERM', forced: 0 });

/** events.ndjson text exactly as the recorder writes it. */
const ndjson = (events: LabEvent[]) => events.map(recordLine).join('');

test('reaction time: each crossing of the scale-out threshold, until the added worker is ready; median over those measured', () => {
  const cases: { name: string; events: LabEvent[]; want: (number | null)[]; notes?: (string | null)[] }[] = [
    {
      name: 'one crossing, scale-out at the same tick, ready 2.5 s later',
      events: [tick(3000, 20), tick(6000, 50), worker(6001, 2, 'starting'), scale(6002, 1, 2), worker(8500, 2, 'ready', 'starting'), tick(9000, 60, 2)],
      want: [2.5],
    },
    {
      name: 'crossing while a worker is starting: the policy waits a tick, reaction counts from the crossing',
      events: [tick(3000, 50), tick(6000, 55), worker(6001, 2, 'starting'), scale(6002, 1, 2), worker(7000, 2, 'ready', 'starting')],
      want: [4],
    },
    {
      name: 'staying above after the reaction is not a new crossing; dropping and crossing again is',
      events: [
        tick(3000, 50), worker(3001, 2, 'starting'), scale(3002, 1, 2), worker(4000, 2, 'ready', 'starting'),
        tick(6000, 60, 2), tick(9000, 10, 2), tick(12000, 70, 2), worker(12001, 3, 'starting'), scale(12002, 2, 3), worker(15000, 3, 'ready', 'starting'),
      ],
      want: [1, 3],
    },
    {
      name: 'a crossing at max is listed without a number',
      events: [tick(3000, 80, 4), tick(6000, 10, 4)],
      want: [null],
      notes: ['already at max 4'],
    },
    {
      name: 'a manual scale-out does not count as the policy reacting',
      events: [tick(3000, 50), worker(3100, 2, 'starting'), scale(3101, 1, 2, true), worker(4000, 2, 'ready', 'starting'), tick(6000, 10, 2)],
      want: [null],
      notes: ['the metric fell back before the policy scaled out'],
    },
    {
      name: 'the run ends before the added worker is ready',
      events: [tick(3000, 50), worker(3001, 2, 'starting'), scale(3002, 1, 2)],
      want: [null],
      notes: ['the run ended before the added worker was ready'],
    },
    {
      name: 'events out of file order (scale published before its tick) are ordered by time',
      events: [worker(3001, 2, 'starting'), scale(3002, 1, 2), tick(3000, 50), worker(5000, 2, 'ready', 'starting')],
      want: [2],
    },
    {
      name: 'the scale event carries its tick\'s time and is published before it',
      events: [tick(3000, 20), scale(6000, 1, 2), tick(6000, 50), worker(6001, 2, 'starting'), worker(8000, 2, 'ready', 'starting'), scale(9000, 2, 3), tick(9000, 60, 2), worker(9001, 3, 'starting'), worker(11_000, 3, 'ready', 'starting')],
      want: [2],
    },
    { name: 'null metric never crosses', events: [tick(3000, null), tick(6000, null)], want: [] },
  ];
  for (const c of cases) {
    const r = reactionTimes(c.events, SETTINGS);
    assert.deepEqual(r.map((x) => (x.seconds === null ? null : Math.round(x.seconds * 1000) / 1000)), c.want, c.name);
    if (c.notes) assert.deepEqual(r.map((x) => x.note), c.notes, c.name);
  }
});

test('reaction time under the target policy: crossing means metric / target > 1 + tolerance', () => {
  const s = { ...SETTINGS, policy: 'target' as const, target: 50, tolerance: 0.1 };
  assert.deepEqual(reactionTimes([tick(3000, 54), tick(6000, 56), worker(6001, 2, 'starting'), scale(6002, 1, 2), worker(7000, 2, 'ready', 'starting')], s).map((r) => r.seconds), [1]);
});

test('median', () => {
  assert.equal(median([]), null);
  assert.equal(median([3]), 3);
  assert.equal(median([4, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('worker-seconds and peaks: fork to exit, crashed workers end at the crash, still running ones at the end of the recording', () => {
  const cases: { name: string; events: LabEvent[]; end: number; seconds: number; peak: number }[] = [
    { name: 'one worker the whole run', events: [worker(0, 1, 'starting'), worker(500, 1, 'ready', 'starting'), worker(10_000, 1, 'exited', 'ready')], end: 10_000, seconds: 10, peak: 1 },
    {
      name: 'scale out then drain one',
      events: [worker(0, 1, 'starting'), worker(1000, 2, 'starting'), worker(1500, 2, 'ready', 'starting'), worker(5000, 2, 'draining', 'ready'), worker(6000, 2, 'exited', 'draining'), worker(10_000, 1, 'exited', 'ready')],
      end: 10_000, seconds: 14, peak: 2, // draining does not count (src/policy/worker-seconds.ts): worker 2 from 1 s to 5 s
    },
    { name: 'crash and replacement', events: [worker(0, 1, 'starting'), worker(2000, 1, 'crashed', 'starting'), worker(2500, 2, 'starting', 'x', 'replacement 1'), worker(10_000, 2, 'exited', 'starting')], end: 10_000, seconds: 9.5, peak: 1 },
    { name: 'killed run: no exit events, counted to the last event', events: [worker(0, 1, 'starting'), worker(1000, 2, 'starting')], end: 4000, seconds: 7, peak: 2 },
  ];
  for (const c of cases) {
    const r = workerLifecycle(c.events, c.end, 1);
    assert.equal(r.workerSeconds, c.seconds, c.name);
    assert.equal(r.peakLive, c.peak, c.name);
  }
});

test('a whole run: summary, cost against --max for the whole run, decisions, step series', () => {
  const events = [
    started(),
    worker(10, 1, 'starting'), worker(510, 1, 'ready', 'starting'),
    tick(3000, 20, 1, traffic(100)),
    tick(6000, 50, 1, traffic(300, 2)), worker(6001, 2, 'starting'), scale(6002, 1, 2), worker(7000, 2, 'ready', 'starting'),
    { type: 'stats', t: 7500, traffic: traffic(400, 2), workers: [] } as LabEvent,
    tick(9000, 10, 2, traffic(500, 2)), scale(9001, 2, 1), worker(9001, 2, 'draining', 'ready'), worker(9500, 2, 'exited', 'draining'),
    worker(10_010, 1, 'exited', 'ready'), stopped(10_010),
  ];
  const m = aggregate({ parsed: parseEvents(ndjson(events), 'events.ndjson'), load: null, price: PRICE });
  assert.equal(m.summary.durationSec, 10.01);
  assert.equal(m.summary.requests, 500);
  assert.equal(m.summary.errors, 2);
  assert.equal(m.summary.peakInstances, 2);
  assert.deepEqual(m.summary.reactions.map((r) => r.seconds), [1]);
  assert.equal(m.summary.reactionMedianSec, 1);
  // Worker 1 from 0.01 s to 10.01 s, worker 2 from its fork at 6.001 s to its drain at 9.001 s (draining does not count).
  assert.ok(Math.abs(m.summary.workerSeconds - 13) < 1e-9, String(m.summary.workerSeconds));
  // 0.001 per worker-second: actual = 13 × 0.001, at max = 4 × 10.01 × 0.001.
  assert.ok(Math.abs(m.summary.cost.actual - 0.013) < 1e-9);
  assert.ok(Math.abs(m.summary.cost.atMax - 0.04004) < 1e-9);
  assert.ok(Math.abs(m.summary.cost.savingPercent! - ((0.04004 - 0.013) / 0.04004) * 100) < 1e-9);
  assert.deepEqual(m.decisions.map((d) => `${d.from}→${d.to} ${d.manual ? 'manual' : 'policy'}`), ['1→2 policy', '2→1 policy']);
  assert.deepEqual(m.series.markers.map((x) => x.direction), ['out', 'in']);
  // Steps: the desired count follows the scale events, ready the worker events.
  const i = m.series.instances;
  assert.equal(Math.max(...i.ready), 2);
  assert.equal(i.desired.at(-1), 1);
  assert.equal(i.ready.at(-1), 0);
  assert.deepEqual(m.series.metric.value, [20, 50, 10]);
  assert.deepEqual(m.series.latency.p99, [15, 15, 15]);
  // errors/s from the lifetime error count: +2 between t=3 and t=6.
  const tr = m.series.traffic;
  assert.ok(Math.abs(tr.errors[tr.x.indexOf(6)]! - 2 / 3) < 1e-9);
  assert.equal(tr.offered, null);
  assert.deepEqual(m.notes, ['no load.ndjson in the run directory: the offered rate is not shown (run `autoscale load --record` while the lab runs to record it)']);
  const md = renderMarkdown(m, 'test');
  assert.match(md, /\| \+00:06 \| 1 → 2 \| policy \| cpu → 2 \|/);
  assert.match(md, /\| Saving \| USD 0\.0270 \(67\.5 %\) \|/);
});

test('every event type the lab publishes is read without a note; a type from a newer autoscale is noted', () => {
  const lab = [
    { type: 'command', t: 1, command: 'pause', source: 'control socket', ok: true, message: 'paused' },
    { type: 'refresh', t: 2, phase: 'done', replaced: 1, total: 1, detail: 'done' },
    { type: 'cold-start', t: 3, waitedMs: 400, held: 1, fromZero: true },
    { type: 'hint', t: 4, text: 'a hint' },
  ] as unknown as LabEvent[];
  const ok = parseEvents(ndjson([started(), ...lab, tick(3000, 20)]), 'e');
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.events.length, lab.length + 1);
  const newer = parseEvents(ndjson([started(), { type: 'teleport', t: 5 } as unknown as LabEvent, tick(3000, 20)]), 'e');
  assert.deepEqual(newer.problems, ['1 line of an unknown type (line 2, from a newer autoscale?) was left out']);
});

test('bad input that still gives a report: truncated last line, no ticks, no stopped line, load.ndjson without a clock', () => {
  const full = ndjson([started(), worker(10, 1, 'starting'), tick(3000, 20), tick(6000, 30)]);
  const truncated = full.slice(0, full.length - 25); // half of the last tick line, no newline
  const p = parseEvents(truncated, 'events.ndjson');
  assert.equal(p.events.length, 2);
  const m = aggregate({ parsed: p, load: null });
  assert.ok(m.notes.some((n) => /last line of events\.ndjson is incomplete/.test(n)), m.notes.join('\n'));
  assert.ok(m.notes.some((n) => /no "stopped" line/.test(n)));

  const noTicks = aggregate({ parsed: parseEvents(ndjson([started(), worker(10, 1, 'starting'), stopped(900)]), 'e'), load: parseLoad('', 'load.ndjson') });
  assert.ok(noTicks.notes.some((n) => /no tick was recorded/.test(n)));
  assert.ok(noTicks.notes.some((n) => /load\.ndjson has no usable line/.test(n)));
  assert.equal(noTicks.summary.reactions.length, 0);

  // Every reader keeps the line without a wall clock (replay places it by correlation); the report cannot place it and says so.
  const load = parseLoad('{"t":1,"dt":1,"sent":5,"ok":5,"errors":0,"rps":5,"p50":1,"p99":2,"threads":2}\n{"t":2,"at":1002000,"dt":1,"sent":7,"ok":7,"errors":0,"rps":7,"p50":1,"p99":2,"threads":2}\n{"t":3,', 'load.ndjson');
  assert.equal(load.lines.length, 2);
  assert.equal(load.problems.length, 1, 'the torn last line');
  const withLoad = aggregate({ parsed: parseEvents(full, 'e'), load });
  assert.ok(withLoad.notes.some((n) => /1 load\.ndjson line has no wall-clock "at" field/.test(n)), withLoad.notes.join('\n'));
  const tr = withLoad.series.traffic;
  assert.equal(tr.offered![tr.x.indexOf(2)], 7, 'placed by its wall clock: at 1002000 − startedAt 1000000 = 2 s');
  assert.equal(tr.offered![0], 0);

  // A line cut off in the middle (a killed writer, then an appender) is skipped and said so, as at the end.
  const lines = full.split('\n');
  lines.splice(2, 0, '{"type":"tick", oops');
  assert.ok(parseEvents(lines.join('\n'), 'e').problems.some((n) => /1 line of events\.ndjson is not JSON \(line 3: /.test(n)));
});

test('not a recording, a newer schema: clear errors with stable codes', () => {
  const cases: [string, string, RegExp][] = [
    ['', 'AS_ERR_NOT_A_RUN', /is empty/],
    ['hello\n', 'AS_ERR_NOT_A_RUN', /first line is not JSON/],
    ['{"type":"tick","t":1}\n', 'AS_ERR_NOT_A_RUN', /not a "started" event/],
    ['{"type":"started","t":0}\n', 'AS_ERR_RUN_INVALID', /line 1 \(a "started" event\): "startedAt" must be a number >= 0 \(received nothing\)/],
    ['{"type":"started","schema":"1","t":0}\n', 'AS_ERR_RUN_INVALID', /"schema" must be a whole number >= 1 \(received "1"\)/],
    ['{"type":"started","schema":2,"t":0}\n', 'AS_ERR_RUN_SCHEMA', /schema 2; this autoscale reads schema 1 only/],
  ];
  for (const [text, code, message] of cases) {
    assert.throws(() => parseEvents(text, 'x/events.ndjson'), (err: Error & { code?: string }) => err.code === code && message.test(err.message), JSON.stringify(text));
  }
});

test('the recorder writes the same object --json prints, with schema 1 on started', () => {
  const line = JSON.parse(recordLine(started()));
  assert.equal(line.type, 'started');
  assert.equal(line.schema, 1);
  assert.equal(JSON.parse(recordLine(tick(1, 2))).schema, undefined);
});

test('report.html embeds its data safely and names no external resource', () => {
  assert.equal(scriptJson({ a: '</script><!--' }), '{"a":"\\u003c/script>\\u003c!--"}');
  const m = aggregate({ parsed: parseEvents(ndjson([started(), tick(3000, 20), stopped(4000)]), 'e'), load: null });
  const html = renderHtml(m, 'x', { label: 'cpu', unit: ' %' }, { uplotJs: '/*u*/', uplotCss: '/*c*/', pageJs: '/*p*/' }, 'gen');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|<img|https:\/\//);
  assert.match(html, /no load\.ndjson in the run directory/);
});

test('scale to zero: cold starts have their own rows and figures; a host-CPU crossing at zero is not paired with the next cold start', () => {
  const cold = (t: number, held: number, waitedMs: number, fromZero = true): LabEvent => ({ type: 'cold-start', t, held, waitedMs, fromZero });
  const events = [
    started({ min: 0, idle: 10 }),
    worker(10, 1, 'starting'), worker(400, 1, 'ready', 'starting'),
    tick(3000, 10, 1), scale(12_000, 1, 0), tick(12_000, 5, 0), worker(12_001, 1, 'draining', 'ready'), worker(12_100, 1, 'exited', 'draining'),
    // Other processes load the host while the pool is at zero: the metric crosses, and drives nothing.
    tick(15_000, 60, 0), tick(18_000, 80, 0),
    // A request arrives at 31.6 s: a worker is started for it, ready 385 ms later, and 8 held requests go on.
    scale(31_600, 0, 1), worker(31_601, 2, 'starting'), worker(31_985, 2, 'ready', 'starting'), cold(31_986, 8, 385),
    tick(33_000, 20, 1), cold(40_000, 2, 120, false), stopped(45_000),
  ];
  const m = aggregate({ parsed: parseEvents(ndjson(events), 'e'), load: null, price: PRICE });
  assert.deepEqual(m.summary.reactions.map((r) => [r.trigger, r.crossedAt, r.seconds]), [['from zero', 31.6, 0.385]]);
  assert.equal(m.summary.reactionMedianSec, null);
  assert.equal(m.summary.fromZeroMedianSec, 0.385);
  assert.deepEqual(m.summary.coldStarts, [{ at: 31.986, held: 8, waitedMs: 385, fromZero: true }, { at: 40, held: 2, waitedMs: 120, fromZero: false }]);
  const md = renderMarkdown(m, 'zero');
  assert.match(md, /\| Reaction time \(threshold crossed → added worker ready\) \| no scale-out threshold crossing with a worker running/);
  assert.match(md, /\| Cold starts \(first held request → worker ready\) \| 1 scale from zero, median 385 ms \(385 ms\); 8 requests held, the longest first wait 385 ms; 1 other release of held requests \(2 requests/);
  assert.match(md, /## Cold starts[\s\S]*\| \+00:31 \| 8 \| 385 ms \| yes \(scale from zero\) \|/);
  assert.match(md, /\| request held at zero \| \+00:31 \| \+00:31 \| \+00:31 \| 0\.4 s \|/);
  const html = renderHtml(m, 'zero', { label: 'cpu', unit: ' %' }, { uplotJs: '', uplotCss: '', pageJs: '' }, 'gen');
  assert.match(html, /<h2>Cold starts<\/h2>[\s\S]*<table id="cold-starts">/);
  // A run that could not scale to zero and held nothing has no cold-start row.
  const plain = aggregate({ parsed: parseEvents(ndjson([started(), tick(3000, 20), stopped(4000)]), 'e'), load: null });
  assert.doesNotMatch(renderMarkdown(plain, 'p'), /Cold starts/);
});

test('a busy host: the report carries the host CPU split and the lab\'s hint with its remedy', () => {
  const text = 'host cpu 61 % (lab 8 %, other processes 53 %) before any load is already above the scale-in threshold 15 %: … --metric worker-cpu';
  const t1 = { ...(tick(3000, 61) as object), cpuSplit: { lab: 8, other: 53 } } as LabEvent;
  const events: LabEvent[] = [started(), { type: 'hint', t: 3000, text, topic: 'busy-host' }, t1, stopped(4000)];
  const m = aggregate({ parsed: parseEvents(ndjson(events), 'e'), load: null });
  const md = renderMarkdown(m, 'busy');
  assert.match(md, /\| Host CPU \(mean over the ticks\) \| 61 % \(lab 8 %, other processes 53 %\) \|/);
  assert.match(md, /\| Busy host \(the lab's hint at start\) \| host cpu 61 % \(lab 8 %, other processes 53 %\) before any load[^|]*--metric worker-cpu \|/);
  assert.equal(aggregate({ parsed: parseEvents(ndjson([started(), t1, stopped(4000)]), 'e'), load: null }).summary.busyHost, null);
});
