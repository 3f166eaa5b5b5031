/**
 * Host CPU split into the lab's own processes and everything else: the /proc
 * reader, the reason suffix, the busy-host hint, and a real lab that publishes
 * the split on every tick and hints once before any load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { busyHostHint, scaleInBelow } from '../../src/lab/busy-host.js';
import { resolveConfig } from '../../src/settings/config.js';
import { createProcessCpuMeter, parseProcStatTicks } from '../../src/lab/sampler.js';
import { decide } from '../../src/policy/decide.js';
import { initialMemory } from '../../src/policy/step.js';
import type { Observation } from '../../src/policy/measure.js';
import { formatPlainLine } from '../../src/dashboard/plain.js';
import { scalingChart } from '../../src/dashboard/panels/charts.js';
import { headerLines } from '../../src/dashboard/panels/header.js';
import { initialDashboardState, reduceDashboard as reduce } from '../../src/dashboard/state.js';
import type { HintEvent, LabEvent, TickEvent } from '../../src/events.js';
import { aggregate } from '../../src/report/aggregate.js';
import { parseEvents } from '../../src/runs/read.js';
import { renderMarkdown } from '../../src/report/render-md.js';
import { recordLine } from '../../src/runs/recorder.js';
import { startLab, until } from '../helpers.js';

/** A /proc/<pid>/stat line with this command name and utime/stime. */
const stat = (pid: number, comm: string, utime: number, stime: number) =>
  `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 1000 1000000 5000 18446744073709551615`;

test('/proc/<pid>/stat: utime + stime, whatever the command name holds', () => {
  assert.equal(parseProcStatTicks(stat(7, 'node', 120, 30)), 150);
  assert.equal(parseProcStatTicks(stat(7, 'a (weird) name) S 9', 5, 6)), 11);
  assert.equal(parseProcStatTicks('garbage'), null);
  assert.equal(parseProcStatTicks('7 (node) S 1'), null);
});

test('process CPU meter: share of the whole host since the previous call; new PIDs from zero, gone PIDs skipped', () => {
  let now = 0;
  const files = new Map<string, string>();
  const meter = createProcessCpuMeter({ procRoot: '/p', cores: 2, now: () => now, readFile: (p) => {
    const f = files.get(p);
    if (f === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return f;
  } });
  files.set('/p/10/stat', stat(10, 'node', 100, 0));
  assert.equal(meter.sample([10]), null, 'the first call primes');
  // 1 s later: pid 10 used 50 ticks (0.5 s of CPU); pid 20 is new with 30 ticks; pid 99 never existed.
  now = 1000;
  files.set('/p/10/stat', stat(10, 'node', 140, 10));
  files.set('/p/20/stat', stat(20, 'node', 20, 10));
  // (0.5 + 0.3) s of CPU in 1 s on 2 cores = 40 % of the host.
  assert.ok(Math.abs(meter.sample([10, 20, 99])! - 40) < 1e-9);
  // pid 20 exits: its ticks since the last call are lost, pid 10's 100 more ticks in 2 s on 2 cores = 25 %.
  now = 3000;
  files.set('/p/10/stat', stat(10, 'node', 240, 10));
  files.delete('/p/20/stat');
  assert.ok(Math.abs(meter.sample([10, 20])! - 25) < 1e-9);
  now = 4000;
  assert.equal(meter.sample([99]), null, 'nothing readable');
});

test('a host-cpu reason ends with the split; other metrics and unmeasured splits add nothing', () => {
  const config = { ...resolveConfig({ max: '5' }, {}, { ports: false }), min: 1 };
  const obs = (hostCpu: number, hostCpuLab?: number | null): Observation => ({
    t: 60_000, hostCpu, ...(hostCpuLab === undefined ? {} : { hostCpuLab }), latency: { p50: null, p95: null, p99: null },
    workers: [{ id: 1, state: 'ready', readyAt: 0, cpu: 3, rps: 0, inFlight: 0 }],
  });
  const state = { desired: 5, starting: 0, ready: 5 };
  const rows: Array<{ o: Observation; metric?: 'worker-cpu'; want: RegExp | null }> = [
    { o: obs(61, 8), want: / \(lab 8 %, other processes 53 %\)$/ },
    { o: obs(97, 2.4), want: /already at max 5.*\(lab 2 %, other processes 95 %\)$/ },
    { o: obs(61), want: null },
    { o: obs(61, null), want: null },
    { o: obs(61, 8), metric: 'worker-cpu', want: null },
  ];
  for (const r of rows) {
    const { decision } = decide(r.o, state, initialMemory(), { ...config, metric: r.metric ?? 'host-cpu' }, 60_000);
    if (r.want === null) assert.doesNotMatch(decision.reason, /other processes/, decision.reason);
    else assert.match(decision.reason, r.want);
  }
});

test('busy host: the hint names the split, the threshold and the remedy; quiet hosts and other metrics get none', () => {
  const c = (flags: Record<string, string> = {}) => resolveConfig(flags, {}, { ports: false });
  assert.equal(scaleInBelow(c()), 15);
  assert.equal(scaleInBelow(c({ policy: 'target', target: '60' })), 54);
  const text = busyHostHint({ hostCpu: 61.2, hostCpuLab: 3 }, c());
  assert.equal(
    text,
    'host cpu 61 % (lab 3 %, other processes 58 %) before any load is already above the scale-in threshold 15 %: other programs keep this host too busy for the pool to scale in. ' +
      "Close them, or scale on the workers' own CPU: --metric worker-cpu",
  );
  assert.equal(busyHostHint({ hostCpu: 12, hostCpuLab: 1 }, c()), null);
  assert.equal(busyHostHint({ hostCpu: 61, hostCpuLab: 3 }, c({ metric: 'worker-cpu' })), null);
  assert.equal(busyHostHint({ hostCpu: null }, c()), null);
  assert.equal(busyHostHint({ hostCpu: 100, hostCpuLab: 3 }, c({ scaleUp: '100', scaleDown: '0' })), null, 'a policy that never scales in needs no explanation');
});

test('a real lab on a busy host: the split on every tick and in the plain line, one hint before any load', async (t) => {
  const { events, ticks } = await startLab(t, { min: '1', max: '2' }, { value: 61 }, { processCpu: { sample: () => 5 } });
  await until('4 ticks', () => ticks().length >= 4);
  const tick = ticks().at(-1) as TickEvent;
  assert.deepEqual(tick.cpuSplit, { lab: 5, other: 56 });
  assert.equal(tick.observation.hostCpuLab, 5);
  assert.match(tick.reason, /\(lab 5 %, other processes 56 %\)$/);
  assert.match(formatPlainLine(tick)!, /cpu 61 % \(lab 5\.0 %, other 56 %\)/);
  const hints = events.filter((e): e is HintEvent => e.type === 'hint');
  assert.equal(hints.length, 1, 'said once');
  assert.match(hints[0].text, /^host cpu 61 % \(lab 5 %, other processes 56 %\) before any load is already above the scale-in threshold 15 %.*--metric worker-cpu$/);
});

test('the default meter agrees with the kernel: this process busy for 400 ms, measured against process.cpuUsage()', () => {
  const cores = availableParallelism();
  const meter = createProcessCpuMeter();
  meter.sample([process.pid]);
  const before = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < 400);
  const used = process.cpuUsage(before);
  const share = meter.sample([process.pid])!;
  const elapsedS = (performance.now() - t0) / 1000;
  // The meter's % of the host back to CPU seconds; /proc counts in 10 ms ticks, so allow two of them either way (and the reads' own time).
  const measuredS = (share / 100) * cores * elapsedS;
  const kernelS = (used.user + used.system) / 1e6;
  assert.ok(Math.abs(measuredS - kernelS) < 0.03, `meter ${measuredS.toFixed(3)} s vs cpuUsage ${kernelS.toFixed(3)} s`);
});

test('the report shows the split: mean host CPU over the ticks, the lab and everything else', () => {
  const settings = resolveConfig({}, {}, { ports: false });
  const { drainTimeoutMs: _d, killTimeoutMs: _k, readyTimeoutMs: _r, ...config } = settings;
  const tick = (t: number, cpu: number, lab?: number) =>
    ({ type: 'tick', t, cpu, ...(lab === undefined ? {} : { cpuSplit: { lab, other: cpu - lab } }), metric: 'host-cpu', value: cpu, metrics: {}, warming: 0, instances: 1, ready: 1, desired: 1, action: 'hold', reason: '', paused: false,
      traffic: { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 }, workers: [] }) as unknown as LabEvent;
  const events: LabEvent[] = [
    { type: 'started', t: 0, startedAt: 1_000_000, balancerUrl: 'http://127.0.0.1:8000', runDir: '/r', pid: 42, config },
    tick(3000, 60, 6), tick(6000, 62, 10), tick(9000, 50), { type: 'stopped', t: 9500, reason: 'test', forced: 0 },
  ];
  const md = renderMarkdown(aggregate({ parsed: parseEvents(events.map(recordLine).join(''), 'events.ndjson'), load: null }), 'test');
  // Ticks without a split (older recordings) are left out of the means: (60 + 62) / 2, (6 + 10) / 2, (54 + 52) / 2.
  assert.match(md, /\| Host CPU \(mean over the ticks\) \| 61 % \(lab 8 %, other processes 53 %\) \|/);
  const old = renderMarkdown(aggregate({ parsed: parseEvents([events[0], tick(3000, 60), events[4]].map(recordLine).join(''), 'events.ndjson'), load: null }), 'test');
  assert.doesNotMatch(old, /Host CPU \(mean/);
});

test('dashboard: the CPU chart splits its label, draws the lab line, and the header keeps the busy-host remedy once hinted', () => {
  const config = resolveConfig({}, {}, { ports: false });
  const { drainTimeoutMs: _d, killTimeoutMs: _k, readyTimeoutMs: _r, ...settings } = config;
  let state = initialDashboardState();
  const tick = (t: number, cpu: number, lab: number) =>
    ({ type: 'tick', t, cpu, cpuSplit: { lab, other: cpu - lab }, metric: 'host-cpu', value: cpu, metrics: {}, warming: 0, instances: 1, ready: 1, desired: 1, action: 'hold', reason: 'r', paused: false,
      traffic: { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 }, workers: [] }) as unknown as LabEvent;
  for (const e of [
    { type: 'started', t: 0, startedAt: 1, balancerUrl: 'http://127.0.0.1:1', runDir: '/r', pid: 1, config: settings } as LabEvent,
    tick(3000, 60, 5),
    tick(6000, 70, 8),
  ]) state = reduce(state, e);
  const chart = scalingChart(state);
  assert.match(chart.label, /^CPU % \(host\) 70 % \(lab 8\.0 %, other 62 %\)/);
  assert.match(chart.shortLabel, /\(lab 8\.0 %\)$/);
  assert.deepEqual(chart.series.find((s) => s.title === 'lab')!.y, [5, 8]);
  assert.doesNotMatch(headerLines(state, 200)[1], /busy host/);
  state = reduce(state, { type: 'hint', t: 3000, text: 'host cpu …', topic: 'busy-host' });
  assert.match(headerLines(state, 200)[1], / · busy host: try --metric worker-cpu$/);
});
