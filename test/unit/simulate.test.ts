/** The simulator: capacity model, fleet lifecycle, engine (the live policy) and the `simulate` CLI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '../../src/simulate/engine.js';
import { Fleet } from '../../src/simulate/fleet.js';
import { parseLoadCsv, parseLoadNdjson, profileLoad } from '../../src/simulate/load.js';
import { EXPONENTIAL_P95, evaluateSecond, type CapacityModel } from '../../src/simulate/model.js';
import { parseCompare, resolvePolicy, splitArgs } from '../../src/settings/policy-flags.js';
import { policyRow } from '../../src/simulate/summary.js';
import { runCli as run } from '../helpers.js';

const fleetModel = (capacity = 100): CapacityModel => ({
  mode: 'open', serviceMs: 1000 / capacity, cpuPerRequest: 1 / capacity, cores: Infinity, baseLatencyMs: 0, p95Factor: EXPONENTIAL_P95, timeoutMs: 10_000, host: { kind: 'fleet' },
});

test('capacity model: one second, table-driven', () => {
  const closed: CapacityModel = { mode: 'closed', serviceMs: 10, cpuPerRequest: 0.01, cores: 2, baseLatencyMs: 20, p95Factor: 2, timeoutMs: 10_000, host: { kind: 'fit', base: 10, perRps: 0.5 } };
  const rows: Array<{ name: string; model: CapacityModel; offered: number; ready: number; live: number; backlog: number; want: Partial<Record<string, number | null>> }> = [
    // 4 users at 20 ms could send 200 req/s; 3 workers on 2 cores serve 200: not saturated, latency = base.
    { name: 'closed, under capacity', model: closed, offered: 4, ready: 3, live: 3, backlog: 0, want: { throughput: 200, meanMs: 20, p95Ms: 40, concurrency: 4 / 3, hostCpu: 100 } },
    // 10 users, 1 worker = 100 req/s: Little's law gives 100 ms each, all 10 in flight at the worker.
    { name: 'closed, saturated', model: { ...closed, host: { kind: 'fit', base: 10, perRps: 0.5 } }, offered: 10, ready: 1, live: 2, backlog: 0, want: { throughput: 100, meanMs: 100, cpu: 100, rps: 100, concurrency: 10, hostCpu: 60 } },
    // Cores bound the pool: 4 workers on 2 cores = 200 req/s, each worker at 50 % of a core.
    { name: 'closed, cores bound', model: closed, offered: 100, ready: 4, live: 4, backlog: 0, want: { throughput: 200, cpu: 50, rps: 50 } },
    { name: 'no ready worker', model: fleetModel(), offered: 50, ready: 0, live: 2, backlog: 0, want: { throughput: 0, cpu: null, p95Ms: null, dropped: 50, hostCpu: 0 } },
    // M/M/1 at ρ = 0.5: mean = 10 ms / (1 - 0.5) = 20 ms; p95 = ln 20 × 20.
    { name: 'open, half load', model: fleetModel(), offered: 100, ready: 2, live: 4, backlog: 0, want: { throughput: 100, meanMs: 20, p95Ms: 20 * Math.log(20), cpu: 50, hostCpu: 25 } },
    // Overload: 300 arrivals, 100 served, 200 wait (under the 10 s cap of 1000).
    { name: 'open, overload builds backlog', model: fleetModel(), offered: 300, ready: 1, live: 1, backlog: 0, want: { throughput: 100, backlog: 200, dropped: 0 } },
    // Backlog is capped at what the pool serves within the timeout: the rest is dropped.
    { name: 'open, timeout drops', model: fleetModel(), offered: 2000, ready: 1, live: 1, backlog: 500, want: { throughput: 100, backlog: 1000, dropped: 1400 } },
  ];
  for (const r of rows) {
    const got = evaluateSecond(r.model, r.offered, r.ready, r.live, r.backlog) as unknown as Record<string, number | null>;
    for (const [k, v] of Object.entries(r.want)) {
      if (v === null) assert.equal(got[k], null, `${r.name}: ${k}`);
      else assert.ok(Math.abs((got[k] as number) - (v as number)) < 1e-9, `${r.name}: ${k} = ${got[k]}, expected ${v}`);
    }
  }
});

test('fleet: boots take bootMs, scale-in takes starting workers first then the newest ready, warm-up counted', () => {
  const f = new Fleet(1000);
  f.setDesired(2, 0);
  assert.deepEqual([f.starting, f.ready], [2, 0]);
  f.advance(999);
  assert.equal(f.ready, 0);
  f.advance(1000);
  assert.deepEqual([f.starting, f.ready], [0, 2]);
  f.setDesired(4, 5000); // two more, ready at 6000
  f.advance(6000);
  assert.equal(f.warming(6999, 6000), 4);
  assert.equal(f.warming(7000, 6000), 2); // the first two became ready at 1000: out of warm-up at 7000, as the lab's now - readyAt < warmup
  f.setDesired(5, 8000);
  f.setDesired(3, 8500); // the starting one goes first, then the newest ready
  assert.deepEqual([f.starting, f.ready], [0, 3]);
  assert.deepEqual(f.warmingReadyAts(8500, 6000), [6000]);
  assert.deepEqual(f.readyTimes, [1000, 1000, 6000, 6000]);
});

test('simulate: a spike with 90 s boots lags by the boot, with 2 s boots it does not; decisions are the live policy', () => {
  const load = profileLoad({ name: 'spike', base: 50, atSec: 100, lengthSec: 300 }, 400, 600);
  const config = resolvePolicy({ metric: 'worker-cpu', scaleUp: '70', scaleDown: '30', max: '20' });
  const slow = simulate({ load, model: fleetModel(), config, bootMs: 90_000 });
  const fast = simulate({ load, model: fleetModel(), config, bootMs: 2_000 });
  const firstReadyAfter = (times: number[], ms: number) => times.find((t) => t >= ms)!;
  assert.ok(firstReadyAfter(slow.readyTimes, 100_000) - 100_000 >= 90_000, 'a 90 s boot cannot serve sooner than 90 s after the spike');
  assert.ok(firstReadyAfter(fast.readyTimes, 100_000) - 100_000 <= 10_000, 'a 2 s boot serves within a few ticks');
  // The lab's rule: no scale-out while an added worker is still starting — one at a time.
  assert.ok(slow.ticks.some((t) => / > 70 % but 1 worker still starting: wait$/.test(t.reason)));
  const peak = (s: typeof slow) => Math.max(...s.live);
  assert.ok(peak(fast) >= 6, `fast boots reach the needed capacity (peak ${peak(fast)})`);
  assert.ok(peak(slow) < peak(fast), 'slow boots never catch up during the 300 s spike');
  let overSlow = 0;
  let overFast = 0;
  for (let i = 0; i < 600; i++) {
    if (slow.p95[i] > 200) overSlow++;
    if (fast.p95[i] > 200) overFast++;
  }
  assert.ok(overSlow > overFast + 60, `the long boot costs latency (${overSlow} s vs ${overFast} s over 200 ms)`);
  // The first tick is one interval in; ticks come every interval.
  assert.equal(slow.ticks[0].t, 3000);
  assert.equal(slow.ticks[1].t - slow.ticks[0].t, 3000);
});

test('simulate: the target policy doubles at most per tick and holds scale-in for its window', () => {
  const load = profileLoad({ name: 'spike', base: 10, atSec: 30, lengthSec: 60 }, 2000, 400);
  const config = resolvePolicy({ policy: 'target', metric: 'rps', target: '50', max: '100', scaleDownWindow: '60' });
  const sim = simulate({ load, model: fleetModel(), config, bootMs: 1000 });
  for (const s of sim.scales) if (s.to > s.from) assert.ok(s.to <= Math.max(s.from * 2, s.from + 4), `${s.from} → ${s.to}`);
  const firstDown = Math.min(...sim.scales.filter((s) => s.to < s.from).map((s) => s.t));
  assert.ok(firstDown > 90_000, `no scale-in while the spike lasts (first at ${firstDown} ms)`);
  // The spike ends at 90 s: within the 60 s window the pool stays far above where it settles.
  assert.ok(sim.live[140] > 2 * sim.live[399], `held by the window: ${sim.live[140]} at 140 s vs ${sim.live[399]} at the end`);
  assert.ok(sim.ticks.some((t) => /stabilisation window/.test(t.reason)));
});

test('loads: load generator --out NDJSON and CSV traces', () => {
  const nd = parseLoadNdjson('{"t":1.01,"dt":1.01,"sent":4,"rps":4,"threads":4}\n{"t":2,"dt":0.99,"sent":8,"rps":8,"threads":8}\n{"t":2.5,"dt":0.5,"sent":4,"rps":8,"threads":8}\n', 'x.ndjson');
  assert.equal(nd.mode, 'closed');
  assert.deepEqual([...nd.perSecond], [4, 8, 8]);
  const open = parseLoadNdjson('{"t":1,"dt":1,"sent":100,"rps":100,"targetRate":100}\n{"t":2,"dt":1,"sent":250,"rps":250,"targetRate":250}\n', 'y.ndjson');
  assert.deepEqual([open.mode, ...open.perSecond], ['open', 100, 250]);
  const csv = parseLoadCsv('t,rps\n0,10\n3,40\n5,0\n', 'z.csv');
  assert.deepEqual([...csv.perSecond], [10, 10, 10, 40, 40, 0]);
  assert.throws(() => parseLoadNdjson('{"t":1,"dt":1,"sent":1,"rps":1}\n', 'bad.ndjson'), /threads/);
  assert.throws(() => parseLoadNdjson('{"t":1}\n', 'bad.ndjson'), /"dt" must be a number/);
  assert.throws(() => parseLoadCsv('0,-5\n', 'bad.csv'), /t,value/);
});

test('table rows: median reaction, worker-seconds, cost, SLO', () => {
  const reactions = [3, 5, null].map((seconds) => ({ trigger: 'metric' as const, crossedAt: 0, scaledAt: null, readyAt: null, seconds, note: null }));
  const row = policyRow(
    { label: 'x', reactions, live: [1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2], p95: [NaN, 10, 300, 250, 100, NaN, NaN, NaN, NaN, NaN, NaN, NaN, 500, 100], scales: [{ t: 2500, from: 1, to: 2 }, { t: 6500, from: 2, to: 1 }, { t: 12500, from: 1, to: 2 }], failed: 3 },
    { pricePerHour: 3600, sloMs: 200 },
  );
  assert.deepEqual(row, { label: 'x', peak: 2, scaleOut: 2, scaleIn: 1, reactionS: 4, workerSeconds: 19, cost: 19, overSloS: 3, failed: 3 });
});

test('policy flags: --compare strings, and flags the chosen policy does not use are errors', () => {
  assert.deepEqual(splitArgs(`--policy target  --target "60"`), ['--policy', 'target', '--target', '60']);
  assert.deepEqual(parseCompare('--cooldown 300'), { typed: { cooldown: '300' }, bootS: null });
  assert.deepEqual(parseCompare('--boot 2'), { typed: {}, bootS: 2 });
  assert.deepEqual(parseCompare('--boot 0.5 --max 9'), { typed: { max: '9' }, bootS: 0.5 });
  assert.throws(() => parseCompare('--boot -1'), /--boot must be a non-negative number of seconds/);
  assert.throws(() => parseCompare('--bogus 1'), /unknown option/);
  assert.throws(() => parseCompare(''), /sets no policy flag/);
  assert.throws(() => resolvePolicy({ policy: 'target', cooldown: '60' }), /--cooldown does not apply to --policy target/);
  assert.throws(() => resolvePolicy({ tolerance: '0.2' }), /--tolerance does not apply to --policy threshold/);
  // Changing the metric over a base without a --target takes the new metric's default.
  assert.equal(resolvePolicy({ metric: 'rps', policy: 'target' }, { metric: 'worker-cpu', target: 50 }).target, 100);
  assert.equal(resolvePolicy({ max: '500' }).max, 500);
});


test('simulate CLI: table, --compare, --out NDJSON, --json; bad input exits 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-sim-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'timeline.ndjson');
  const r = await run(['simulate', '--profile', 'spike', '--peak', '1000', '--duration', '10m', '--boot', '90', '--max', '500', '--compare', '--cooldown 300', '--price-per-hour', '0.1', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /boots in 90 s/);
  assert.match(r.stdout, /^\+ --cooldown 300 /m);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; policy: string });
  assert.equal(lines.filter((l) => l.type === 'second').length, 1200); // 600 s × 2 policies
  assert.ok(lines.some((l) => l.type === 'tick' && l.policy === '+ --cooldown 300'));
  const trace = join(dir, 'load.csv');
  writeFileSync(trace, 't,rps\n0,50\n60,400\n120,50\n179,50\n');
  const j = await run(['simulate', '--trace', trace, '--json', '--policy', 'target', '--metric', 'rps', '--target', '80']);
  assert.equal(j.code, 0, j.stderr);
  const parsed = JSON.parse(j.stdout) as { rows: Array<{ peak: number }> };
  assert.ok(parsed.rows[0].peak >= 5);

  for (const argv of [
    ['simulate'],
    ['simulate', '--profile', 'spike'],
    ['simulate', '--profile', 'wave', '--peak', '10'],
    ['simulate', '--profile', 'spike', '--peak', '-3'],
    ['simulate', '--profile', 'spike', '--peak', '10', '--policy', 'target', '--cooldown', '5'],
    ['simulate', '--profile', 'spike', '--peak', '10', '--compare', '--nope'],
    ['simulate', '--profile', 'spike', '--peak', '10', '--burst-on', '5'],
    ['simulate', '--trace', join(dir, 'missing.ndjson')],
    ['simulate', '--trace', trace, '--peak', '10'],
    ['simulate', '--trace', trace, '--trace-scale', '0'],
    ['simulate', '--trace', trace, '--trace-scale', 'big'],
    ['simulate', '--profile', 'spike', '--peak', '10', '--trace-scale', '2'],
    ['simulate', '--profile', 'spike', '--peak', '10', '--compare', '--boot'],
  ]) {
    const bad = await run(argv);
    assert.equal(bad.code, 2, `${argv.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /^error: /);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  }
});

test("simulate: --compare '--boot 2' runs that row with its own boot time; --trace-scale makes a laptop trace a cloud's", async (t) => {
  const r = await run(['simulate', '--profile', 'spike', '--peak', '1000', '--base', '100', '--duration', '10m', '--spike-at', '120', '--spike-length', '300', '--boot', '90', '--max', '50', '--metric', 'worker-cpu', '--scale-up', '70', '--scale-down', '30', '--compare', '--boot 2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = (JSON.parse(r.stdout) as { rows: Array<{ label: string; reactionS: number | null; overSloS: number }> }).rows;
  assert.deepEqual([rows.length, rows[1].label], [2, '+ --boot 2']);
  // Same policy, same load: the 2 s row reacts in seconds, the 90 s row cannot react in less than its boot.
  assert.ok(rows[0].reactionS! >= 90, `90 s boots: ${rows[0].reactionS}`);
  assert.ok(rows[1].reactionS! < 20, `2 s boots: ${rows[1].reactionS}`);
  assert.ok(rows[1].overSloS < rows[0].overSloS);

  const dir = mkdtempSync(join(tmpdir(), 'autoscale-sim-scale-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const trace = join(dir, 'laptop.csv');
  writeFileSync(trace, 't,rps\n0,20\n60,40\n120,20\n179,20\n');
  const laptop = await run(['simulate', '--trace', trace, '--json', '--policy', 'target', '--metric', 'rps', '--target', '80', '--max', '1000']);
  const out = join(dir, 'cloud.ndjson');
  const cloud = await run(['simulate', '--trace', trace, '--trace-scale', '500', '--json', '--out', out, '--policy', 'target', '--metric', 'rps', '--target', '80', '--max', '1000']);
  assert.equal(cloud.code, 0, cloud.stderr);
  const peak = (s: string) => (JSON.parse(s) as { rows: Array<{ peak: number }> }).rows[0].peak;
  assert.equal(peak(laptop.stdout), 1);
  // Every second's offered load × 500 (40 req/s -> 20,000), and the fleet follows it far past one machine.
  const offered = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; t: number; offered: number }).filter((l) => l.type === 'second');
  assert.deepEqual([offered[30].offered, offered[90].offered, offered[150].offered], [10_000, 20_000, 10_000]);
  assert.ok(peak(cloud.stdout) > 150, `peak ${peak(cloud.stdout)}`);
  assert.match((JSON.parse(cloud.stdout) as { model: { load: string } }).model.load, /laptop\.csv \(arrival rate\) × 500$/);
  const hint = await run(['simulate', '--trace', trace, '--peak', '20000']);
  assert.equal(hint.code, 2);
  assert.match(hint.stderr, /--peak only applies to --profile \(to scale a trace, use --trace-scale <factor>\)/);
});
