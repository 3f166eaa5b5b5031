/** `autoscale replay`: a real recorded run (checked in) reproduces its own timeline; calibration, compare rows, bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { LAB_EVENT_TYPES } from '../../src/events.js';
import { calibrate, fitLine, smoothFill } from '../../src/replay/calibrate.js';
import { readRun } from '../../src/replay/recording.js';
import { hostCores, runReplay } from '../../src/replay/run.js';
import { runsDir } from '../../src/runs/paths.js';
import { checkDecisions } from '../../src/replay/decisions.js';
import { resolvePolicy } from '../../src/settings/policy-flags.js';
import { runCli as run } from '../helpers.js';

/** A real run: target policy on worker-cpu, 16 virtual users in 30 s bursts, recorded on this project's 2-core machine. */
const FIXTURE = fileURLToPath(new URL('../fixtures/replay-target-worker-cpu', import.meta.url));


interface ReplayJson {
  fidelity: { sameInstances: number; workerSecondsError: number; peakRecorded: number; peakReplayed: number; scaleMatched: number; ticks: number };
  model: { mode: string; serviceMs: number; cpuPerRequest: number; loadOffsetS: number };
  rows: Array<{ label: string; peak: number; workerSeconds: number; scaleOut: number; scaleIn: number }>;
}

test('replay of a real recorded run reproduces its own timeline within the reported fidelity, fast', () => {
  const t0 = performance.now();
  const out = JSON.parse(runReplay(FIXTURE, {}, { json: true })) as ReplayJson;
  const ms = performance.now() - t0;
  const f = out.fidelity;
  assert.equal(f.ticks, 71);
  // Measured on this fixture: 86 % of ticks, worker-seconds -10.5 %, peak 2 vs 2 (see docs/replay-and-simulate.md).
  assert.ok(f.sameInstances >= 0.8, `same instance count on ${f.sameInstances}`);
  assert.ok(Math.abs(f.workerSecondsError) <= 0.15, `worker-seconds error ${f.workerSecondsError}`);
  assert.equal(f.peakReplayed, f.peakRecorded);
  // The model apart from the policy: where the counts agree, the modelled worker-cpu is 1.8 points off (median).
  const metric = (f as unknown as { metric: { ticks: number; medianAbsError: number } | null }).metric;
  assert.ok(metric !== null && metric.ticks >= 40 && metric.medianAbsError < 4, JSON.stringify(metric));
  assert.equal(out.model.mode, 'closed');
  assert.ok(out.model.loadOffsetS >= 6 && out.model.loadOffsetS <= 10, `the load started ~8 s after the lab (found ${out.model.loadOffsetS})`);
  assert.equal(out.rows[0].label, 'recorded run');
  assert.equal(out.rows[1].label, 'replay: recorded policy');
  assert.ok(ms < 5000, `replay took ${ms} ms`); // behaviour, not speed: the figure is in docs/replay-and-simulate.md
});

test('replay --compare: every policy gets a row; a longer window holds capacity longer', () => {
  const out = JSON.parse(runReplay(FIXTURE, {}, { json: true, compare: ['--scale-down-window 120', '--policy threshold --metric worker-cpu --scale-up 40 --scale-down 10'] })) as ReplayJson;
  assert.deepEqual(out.rows.map((r) => r.label), ['recorded run', 'replay: recorded policy', 'replay: --scale-down-window 120', 'replay: --policy threshold --metric worker-cpu --scale-up 40 --scale-down 10']);
  assert.ok(out.rows[2].workerSeconds >= out.rows[1].workerSeconds);
  assert.ok(out.rows[2].scaleIn <= out.rows[1].scaleIn);
});

test('calibration: the model is measured from the run and printed', async () => {
  const r = await run(['replay', FIXTURE, '--boot', '90', '--price-per-hour', '0.5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^run: {6}.*target on worker-cpu, 1–5 workers, tick 3 s/m);
  assert.match(r.stdout, /^load: {5}load\.ndjson \(virtual users\), started at \+\d+ s on the lab's clock/m);
  assert.match(r.stdout, /ms of worker CPU per request \(worker CPU ÷ requests served, whole run\)/);
  assert.match(r.stdout, /^boot: {5}90 s \(--boot\) instead of the measured/m);
  assert.match(r.stdout, /^fidelity: replayed under its own policy: same instance count on \d+ % of 71 ticks/m);
  assert.match(r.stdout, /cost at 0\.5\/h/);
  const cal = calibrate(readRun(FIXTURE), 2);
  assert.ok(cal.cpuPerRequest > 0.001 && cal.cpuPerRequest < 0.02, `cpu per request ${cal.cpuPerRequest}`);
  assert.ok(cal.bootSamples === 3 && cal.bootMs > 0 && cal.bootMs < 15_000);
});

test('replay without load.ndjson or stats: the balancer arrivals and the ticks are enough', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8').split('\n').filter((l) => l !== '' && !l.includes('"type":"stats"'));
  writeFileSync(join(dir, 'events.ndjson'), lines.join('\n') + '\n');
  const out = JSON.parse(runReplay(dir, {}, { json: true })) as ReplayJson & { model: { loadSource: string } };
  assert.equal(out.model.mode, 'open');
  assert.match(out.model.loadSource, /balancer's arrivals/);
  assert.ok(out.fidelity.sameInstances > 0.5);
});

test('replay reads every event type the lab publishes (commands, refreshes, cold starts, hints)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-replay-types-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [started, ...rest] = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8').split('\n');
  const extra: Record<string, object> = {
    command: { type: 'command', t: 1, command: 'pause', source: 'control socket', ok: true, message: 'automatic scaling paused' },
    refresh: { type: 'refresh', t: 1.5, phase: 'done', replaced: 1, total: 1, detail: 'every worker replaced' },
    'cold-start': { type: 'cold-start', t: 2, waitedMs: 400, held: 1, fromZero: false },
    hint: { type: 'hint', t: 2.5, text: 'a hint' },
  };
  // The types replay reads are the lab's own list (LAB_EVENT_TYPES: the compiler names any LabEvent type it lacks).
  for (const type of Object.keys(extra)) assert.ok(type in LAB_EVENT_TYPES, type);
  writeFileSync(join(dir, 'events.ndjson'), [started, ...Object.values(extra).map((e) => JSON.stringify(e)), ...rest].join('\n'));
  copyFileSync(join(FIXTURE, 'load.ndjson'), join(dir, 'load.ndjson'));
  const r = await run(['replay', dir, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).fidelity, JSON.parse((await run(['replay', FIXTURE, '--json'])).stdout).fidelity);
});

test('a load.ndjson with wall clocks is placed on the lab clock by them, to the tenth of a second', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-replay-clock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const events = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8');
  const startedAt = (JSON.parse(events.split('\n')[0]) as { startedAt: number }).startedAt;
  writeFileSync(join(dir, 'events.ndjson'), events);
  // As if the load generator had started 8.4 s after the lab: each line's wall clock is its end.
  const lines = readFileSync(join(FIXTURE, 'load.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: number });
  writeFileSync(join(dir, 'load.ndjson'), lines.map((l) => JSON.stringify({ ...l, at: Math.round(startedAt + (8.4 + l.t) * 1000) })).join('\n') + '\n');
  const run = readRun(dir);
  const cal = calibrate(run, 2);
  assert.equal(cal.alignedBy, 'wall clock');
  assert.equal(cal.offsetS, 8.4);
  // The second the load began in holds its share: 0.6 s of it at the first line's level.
  const first = run.load!.lines[0];
  assert.ok(Math.abs(cal.load.perSecond[8] - 0.6 * first.level) < 0.05 * first.level, `second 8: ${cal.load.perSecond[8]}`);
  assert.equal(cal.load.perSecond[7], 0);
  assert.match(runReplay(dir, {}, {}), /started at \+8\.4 s on the lab's clock \(from both wall clocks/);
  // Without wall clocks (the fixture), the offset is the best correlation, in whole seconds.
  assert.equal(calibrate(readRun(FIXTURE), 2).alignedBy, 'correlation');
});

test('replay bad input: one clear line, exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-replay-bad-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const mk = (name: string, events: string) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'events.ndjson'), events);
    return join(dir, name);
  };
  const started = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8').split('\n')[0];
  const noTicks = mk('no-ticks', `${started}\n`);
  // The one reader's rules (src/runs/read.ts): a field of the wrong type, an absurd time, two runs in one file refuse it.
  const badShape = mk('bad-shape', `${started}\n{"type":"scale","t":5,"direction":"out","from":1,"to":2,"reason":{},"manual":false}\n`);
  const hugeT = mk('huge-t', `${started}\n{"type":"paused","t":1e308,"paused":true}\n`);
  const twoRuns = mk('two-runs', `${started}\n${started}\n`);
  const noStart = mk('no-start', `{"type":"tick","t":1}\n`);
  mkdirSync(join(dir, 'empty'));
  const withLoad = join(dir, 'bad-load');
  mkdirSync(withLoad);
  copyFileSync(join(FIXTURE, 'events.ndjson'), join(withLoad, 'events.ndjson'));
  writeFileSync(join(withLoad, 'load.ndjson'), '{"t":1}\n');
  const rows: Array<[string[], RegExp]> = [
    [['replay', join(dir, 'missing')], /does not exist/],
    [['replay', join(dir, 'empty')], /no events\.ndjson/],
    [['replay', noTicks], /no ticks/],
    [['replay', badShape], /line 2 \(a "scale" event\): "reason" must be a string \(received \{\}\)/],
    [['replay', hugeT], /line 2 \(a "paused" event\): "t" must be a time in ms/],
    [['replay', twoRuns], /holds two runs \(a second "started" line at line 2, the first at line 1\)/],
    [['replay', noStart], /first line is not a "started" event/],
    [['replay', withLoad], /load\.ndjson line 1 is not an `autoscale load --out` line/],
    [['replay', FIXTURE, '--cooldown', '60'], /--cooldown does not apply to --policy target/],
    [['replay', FIXTURE, '--compare', '--warp 9'], /unknown option/],
    [['replay', FIXTURE, '--boot', 'soon'], /--boot must be/],
    [['replay', FIXTURE, '--max', '0'], /--max/],
  ];
  for (const [argv, re] of rows) {
    const r = await run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  // A run's events.ndjson names its run, as for `autoscale report`.
  const byFile = await run(['replay', join(FIXTURE, 'events.ndjson'), '--json']);
  assert.equal(byFile.code, 0, byFile.stderr);
  assert.deepEqual(JSON.parse(byFile.stdout), JSON.parse((await run(['replay', FIXTURE, '--json'])).stdout));
});

test('calibration helpers: least squares with a non-negative slope; gaps take the nearest measured value', () => {
  assert.deepEqual(fitLine([0, 1, 2], [10, 12, 14]), { base: 10, perRps: 2 });
  assert.deepEqual(fitLine([0, 1, 2], [14, 12, 10]), { base: 12, perRps: 0 });
  assert.deepEqual([...smoothFill(Float64Array.from([NaN, 4, NaN, NaN, 8, NaN]), 0)], [4, 4, 4, 8, 8, 8]);
  assert.deepEqual([...smoothFill(Float64Array.from([NaN, NaN]), 2)], [0, 0]);
});

test("decisions: a pipeline-era recording's observations through step() give the recorded counts, and a different policy does not", () => {
  const dir = fileURLToPath(new URL('../fixtures/replay-decisions', import.meta.url));
  const run = readRun(dir);
  const recorded = resolvePolicy({}, { ...run.config });
  const same = checkDecisions(run, recorded);
  assert.deepEqual(same, { ticks: 33, same: 33, firstDiff: null });
  const other = checkDecisions(run, resolvePolicy({ scaleUp: '15', scaleDown: '5' }, { ...run.config }));
  assert.ok(other !== null && other.same < other.ticks && other.firstDiff !== null, JSON.stringify(other));
  const text = runReplay(dir, {}, {});
  assert.match(text, /^decisions: the recorded observations through step\(\): 33 of 33 ticks give the recorded count/m);
});

test('replay with no run dir replays the latest recorded run; the recorded host cores are used, else this machine\'s with a note', (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-replay-latest-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { XDG_STATE_HOME: state, HOME: join(state, 'home') };
  assert.throws(() => runReplay(undefined, {}, {}, env), /no recorded runs in .*autoscale start/);
  const events = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8');
  const put = (name: string, text: string) => {
    mkdirSync(join(runsDir(env), name), { recursive: true });
    writeFileSync(join(runsDir(env), name, 'events.ndjson'), text);
    copyFileSync(join(FIXTURE, 'load.ndjson'), join(runsDir(env), name, 'load.ndjson'));
    return join(runsDir(env), name);
  };
  put('2026-12-01T10-00-00', events);
  // The newer run says its host had 7 cores (and 2 GiB).
  const latest = put('2026-12-01T11-00-00', events.replace('{"type":"started",', '{"type":"started","host":{"cores":7,"memoryBytes":2147483648},'));
  const text = runReplay(undefined, {}, {}, env);
  assert.ok(text.startsWith(`run:      ${latest}:`), text.split('\n')[0]);
  assert.match(text, /all at most the 7 host cores \(as recorded\)/);
  assert.doesNotMatch(text, /does not say how many cores/);
  const json = JSON.parse(runReplay(undefined, {}, { json: true }, env)) as { host: { cores: number; recorded: boolean }; model: { cores: number } };
  assert.deepEqual([json.host.cores, json.host.recorded, json.model.cores], [7, true, 7]);
  // The checked-in fixture predates the field: this machine's cores, said in a note.
  const old = runReplay(FIXTURE, {}, {});
  assert.match(old, new RegExp(`note: +the recording does not say how many cores its host had .*assuming this machine's ${availableParallelism()}`));
  assert.deepEqual(hostCores({ host: null } as never, 3), { cores: 3, note: "the recording does not say how many cores its host had (recorded before autoscale wrote it): assuming this machine's 3" });
});

test('replay of a run recorded under L4: "s over p95" of the recorded run is not compared (no latency), and says why — in the text and in report.md', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-replay-l4-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The fixture as the lab would have recorded it under --balancer l4: no latency at the balancer.
  const lines = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const e of lines) {
    if (e.type === 'started') (e.config as Record<string, unknown>).balancer = 'l4';
    if (e.type === 'tick' || e.type === 'stats') Object.assign(e.traffic as object, { p50: null, p95: null, p99: null });
    if (e.type === 'tick' && e.observation !== undefined) Object.assign(e.observation as object, { latency: null });
  }
  writeFileSync(join(dir, 'events.ndjson'), lines.map((e) => JSON.stringify(e)).join('\n') + '\n');
  copyFileSync(join(FIXTURE, 'load.ndjson'), join(dir, 'load.ndjson'));
  const text = runReplay(dir, {}, { model: 'calibrated', html: true }, { ...process.env, XDG_STATE_HOME: dir });
  const recorded = text.split('\n').find((l) => l.startsWith('recorded run'))!;
  const cells = recorded.trim().split(/\s{2,}/);
  assert.equal(cells.at(-2), '–', `no "0" for the recorded run: ${recorded}`);
  assert.match(text, /note: s over p95 of the recorded run: not compared \(recorded under --balancer l4: the balancer hands connections to the workers and measures no request latency\)/);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /\| recorded run \| [^\n]*\| – \| \d+ \|/);
  assert.match(md, /Note: s over p95 of the recorded run: not compared/);
});
