/**
 * --policy predictive: the forecast on a synthetic seasonal trace within its stated error, the policy's
 * decisions scaling ahead by the boot time, and a bad --history refused in one line with exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { forecastStep, initialForecastMemory, learnProfile, mape, profileAt, type SeasonalProfile } from '../../src/policy/forecast.js';
import { initialMemory, step } from '../../src/policy/step.js';
import { DEFAULTS, resolveConfig, type LabConfig } from '../../src/settings/config.js';
import type { Observation } from '../../src/policy/measure.js';
import { runCli } from '../helpers.js';

/** A seeded generator (Park–Miller), so the "noise" is the same on every run. */
function noise(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** A daily-like sine of `seasonS`, 200 to 2000 req/s, times 1 ± `jitter` per second. */
function seasonal(seasonS: number, seasons: number, jitter: number, seed: number): number[] {
  const r = noise(seed);
  return Array.from({ length: seasonS * seasons }, (_v, t) => (200 + 1800 * (1 - Math.cos((2 * Math.PI * t) / seasonS)) / 2) * (1 - jitter + 2 * jitter * r()));
}

const perSecond = (values: number[]) => ({ t: values.map((_v, i) => i), value: values });

test('the profile of three noisy seasons forecasts a fourth within its stated error: MAPE under 5 %', () => {
  const S = 3600;
  const profile = learnProfile([perSecond(seasonal(S, 3, 0.1, 7))], S, 'synthetic')!;
  assert.equal(profile.means.length, 96);
  assert.equal(profile.historyS, 3 * S);
  // Each bucket's mean is within 3 % of the true sine at its centre.
  for (let b = 0; b < 96; b++) {
    const t = (b + 0.5) * profile.bucketS;
    const truth = 200 + 1800 * (1 - Math.cos((2 * Math.PI * t) / S)) / 2;
    assert.ok(Math.abs(profile.means[b] - truth) / truth < 0.03, `bucket ${b}: ${profile.means[b]} vs ${truth}`);
  }
  // A new season, 20 % busier and with its own noise, observed every 3 s tick; 90 s boots.
  const next = seasonal(S, 1, 0.1, 99).map((v) => v * 1.2);
  let memory = initialForecastMemory();
  let last;
  for (let t = 3; t <= S; t += 3) {
    const observed = next.slice(t - 3, t).reduce((a, b) => a + b, 0) / 3;
    last = forecastStep(profile, memory, { now: t * 1000, observed, intervalS: 3, bootS: 90, target: 100 });
    memory = last.memory;
  }
  const m = mape(memory)!;
  assert.ok(memory.scored > 1100, `scored ${memory.scored}`);
  assert.ok(m < 5, `MAPE ${m.toFixed(2)} % should be under 5 %`);
  // The recent level found the 20 % (the history's noise averages out).
  assert.ok(Math.abs(last!.level - 1.2) < 0.05, `level ${last!.level}`);
  assert.match(last!.reason, /MAPE \d+\.\d % over \d+ ticks/);
  // A flat profile is scored badly against a sine: the MAPE measures, it does not flatter.
  const flat: SeasonalProfile = { ...profile, means: profile.means.map(() => 1100) };
  let fm = initialForecastMemory();
  for (let t = 3; t <= S; t += 3) fm = forecastStep(flat, fm, { now: t * 1000, observed: next[t - 1], intervalS: 3, bootS: 90, target: 100 }).memory;
  assert.ok(mape(fm)! > 20, `flat MAPE ${mape(fm)}`);
});

test('a history with gaps (ticks every 3 s, a missing stretch) fills the empty buckets by interpolation around the season', () => {
  const t: number[] = [];
  const value: number[] = [];
  for (let s = 0; s < 1200; s += 3) {
    if (s >= 300 && s <= 450) continue;
    t.push(s);
    value.push(s < 600 ? 100 : 300);
  }
  const p = learnProfile([{ t, value }], 1200, 'gappy')!;
  assert.equal(p.bucketS, 12.5);
  for (const v of p.means) assert.ok(Number.isFinite(v) && v >= 100 && v <= 300);
  assert.ok(Math.abs(profileAt(p, 350) - 100) < 1e-9, 'the gap inside a flat stretch stays flat');
  assert.equal(learnProfile([{ t: [], value: [] }], 1200, 'empty'), null);
});

/** One ready worker sent `rps` req/s this tick. */
function observation(t: number, rps: number): Observation {
  return { t, hostCpu: 50, latency: { p50: 10, p95: 20, p99: 30 }, workers: [{ id: 1, state: 'ready', readyAt: 0, cpu: 50, rps, inFlight: 1 }] };
}

/** 100 req/s, except 1000 req/s from 600 s to 1125 s of a 1200 s season. */
const STEP_PROFILE: SeasonalProfile = { seasonS: 1200, bucketS: 12.5, means: Array.from({ length: 96 }, (_v, b) => (b >= 48 && b < 90 ? 1000 : 100)), historyS: 2400, source: 'step' };

function predictive(bootDelay: number): LabConfig {
  return { ...resolveConfig({ policy: 'predictive', metric: 'rps', target: '100', max: '20', history: 'h.csv', season: '1200' }, {}, { ports: false }), bootDelay, forecast: STEP_PROFILE };
}

/** The first tick (every 3 s from `from`) at which the policy scales out, with its decision. */
function firstScaleOut(config: LabConfig, from: number) {
  let memory = initialMemory();
  for (let t = from; t < 700; t += 3) {
    const r = step(observation(t * 1000, 100), { desired: 1, starting: 0, ready: 1 }, memory, config, t * 1000);
    memory = r.memory;
    if (r.decision.action === 'scale-out') return { t, decision: r.decision };
  }
  return null;
}

test('the predictive policy scales out one boot time (plus a tick) ahead of the load the history foresees', () => {
  // The load at 100 req/s on one worker at target 100: the target rule alone holds at 1 throughout.
  // Traffic from the first tick: phase 0 of the season is the start of that tick, 0 s.
  const slow = firstScaleOut(predictive(90), 3)!;
  const fast = firstScaleOut(predictive(0), 3)!;
  // The profile starts rising at the centre of bucket 47 (593.75 s): a scale-out once that enters [now, now + boot + tick].
  assert.ok(slow.t >= 593.75 - 93 && slow.t <= 593.75 - 93 + 3, `with 90 s boots: first scale-out at ${slow.t} s`);
  assert.ok(fast.t >= 593.75 - 3 && fast.t <= 593.75 + 3, `with no boot: first scale-out at ${fast.t} s`);
  assert.ok(fast.t - slow.t >= 87, `${fast.t - slow.t} s earlier with 90 s boots`);
  assert.ok(slow.decision.desired > 1);
  assert.match(slow.decision.reason, /^forecast: profile peaks at [\d,]+ req\/s in the next 93 s \(boot 90 s \+ tick 3 s\) × level 1\.00 = last .* above the target rule: 1 → \d+ \(the target rule alone: target: .*: hold at 1\)$/);
  // At the plateau the forecast asks for ceil(1000 / 100) = 10 workers, and the reason shows the arithmetic.
  const seasonStarted = { ...initialMemory(), forecast: { ...initialForecastMemory(), originS: 0 } };
  const r = step(observation(800_000, 1000 / 10), { desired: 10, starting: 0, ready: 10 }, seasonStarted, predictive(90), 800_000);
  assert.equal(r.decision.desired, 10);
  assert.match(r.decision.reason, /ceil\(1,000 \/ 100\) = 10/);
  // Ahead of the drop (back to 100 at 1125 s), the floor holds capacity until the forecast falls for a whole boot + tick.
  const before = step(observation(1_100_000, 100), { desired: 10, starting: 0, ready: 10 }, seasonStarted, predictive(90), 1_100_000);
  assert.equal(before.decision.desired, 10, before.decision.reason);
});

test('phase 0 of the season is the first traffic: a lab that idles 40 s before its load forecasts on the load\'s clock', () => {
  let memory = initialMemory();
  const idle = step(observation(3000, 0), { desired: 1, starting: 0, ready: 1 }, memory, predictive(90), 3000);
  assert.match(idle.decision.reason, /forecast: waits for the first traffic \(phase 0 of the season\)/);
  assert.equal(idle.memory.forecast?.originS ?? null, null);
  memory = idle.memory;
  for (let t = 6; t <= 39; t += 3) memory = step(observation(t * 1000, 0), { desired: 1, starting: 0, ready: 1 }, memory, predictive(90), t * 1000).memory;
  // The load starts during the tick ending at 42 s: phase 0 is 39 s.
  let first = null;
  for (let t = 42; t < 800 && first === null; t += 3) {
    const r = step(observation(t * 1000, 100), { desired: 1, starting: 0, ready: 1 }, memory, predictive(90), t * 1000);
    memory = r.memory;
    if (r.decision.action === 'scale-out') first = t;
  }
  assert.equal(memory.forecast?.originS, 39);
  assert.ok(first !== null && first >= 39 + 593.75 - 93 && first <= 39 + 593.75 - 90, `first scale-out at ${first} s`);
});

test('predictive settings: --metric rps, --history required, and --history/--season refused for the other policies', () => {
  assert.throws(() => resolveConfig({ policy: 'predictive', history: 'x' }), { code: 'AS_ERR_USAGE', message: /--policy predictive forecasts requests per second: use --metric rps/ });
  assert.throws(() => resolveConfig({ policy: 'predictive', metric: 'rps' }), { code: 'AS_ERR_USAGE', message: /needs --history/ });
  assert.throws(() => resolveConfig({ policy: 'target', history: 'x' }), { code: 'AS_ERR_USAGE', message: /^--history only applies to --policy predictive/ });
  assert.throws(() => resolveConfig({ policy: 'predictive', metric: 'rps', history: 'x', season: '0.5' }), { code: 'AS_ERR_CONFIG', message: /--season must be between 1 and/ });
  assert.equal(DEFAULTS.policy, 'threshold');
});

test('a bad --history is one line and exit 2: missing file, a closed-loop trace, a directory that is no run, too short', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-forecast-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const closed = join(dir, 'closed.ndjson');
  writeFileSync(closed, JSON.stringify({ t: 1, dt: 1, sent: 10, rps: 10, threads: 4 }) + '\n');
  const short = join(dir, 'short.csv');
  writeFileSync(short, 't,rps\n0,100\n60,200\n');
  mkdirSync(join(dir, 'empty-dir'));
  const base = ['simulate', '--profile', 'constant', '--peak', '100', '--duration', '60', '--metric', 'rps', '--policy', 'predictive', '--season', '3600', '--history'];
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'missing.csv'), /^error: --history .*missing\.csv: cannot read it \(ENOENT\)\n$/],
    [closed, /^error: --history .*closed\.ndjson: a closed-loop trace holds virtual users, not requests per second; .*\n$/],
    [join(dir, 'empty-dir'), /^error: cannot read .*events\.ndjson \(ENOENT\)\n$/],
    [short, /^error: --history .*short\.csv covers 61 s, less than one season \(--season 3600\); .*\n$/],
  ];
  for (const [path, expected] of cases) {
    const r = await runCli([...base, path], { ...process.env, XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.code, 2, `${path}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  }
});

test('simulate: predictive against target tracking on a seasonal trace, the forecast error printed under the table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-forecast-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const history = join(dir, 'history.csv');
  const r = noise(3);
  const rows = ['t,rps'];
  for (let s = 0; s < 2 * 1800; s += 10) rows.push(`${s},${((200 + 1800 * (1 - Math.cos((2 * Math.PI * (s + 5)) / 1800)) / 2) * (0.95 + 0.1 * r())).toFixed(1)}`);
  writeFileSync(history, rows.join('\n') + '\n');
  const out = await runCli([
    'simulate', '--profile', 'sine', '--base', '200', '--peak', '2000', '--period', '1800', '--duration', '3600', '--boot', '90', '--min', '3', '--max', '40',
    '--metric', 'rps', '--policy', 'target', '--target', '70', '--tolerance', '0', '--price-per-hour', '0.1',
    '--compare', `--policy predictive --history ${history} --season 1800 --target 83`, '--json',
  ]);
  assert.equal(out.code, 0, out.stderr);
  const rowsOut = (JSON.parse(out.stdout) as { rows: Array<{ overSloS: number; cost: number }> }).rows;
  // On a season this short against 90 s boots, the forecast is ahead where target tracking lags: fewer seconds over the SLO, and cheaper.
  assert.ok(rowsOut[1].overSloS < rowsOut[0].overSloS, JSON.stringify(rowsOut));
  assert.ok(rowsOut[1].cost <= rowsOut[0].cost, JSON.stringify(rowsOut));
  const text = await runCli(['simulate', '--profile', 'sine', '--base', '200', '--peak', '2000', '--period', '1800', '--duration', '600', '--boot', '90', '--max', '40', '--metric', 'rps', '--target', '80', '--policy', 'predictive', '--history', history, '--season', '1800']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /\nforecast error, --max 40 --metric rps --policy predictive --target 80 --history .* --season 1800: MAPE \d+\.\d % over \d+ ticks \(profile of 96 buckets of 18\.75 s, learned from 3,591 s of /);
});

test('the example lesson: its history is found next to the file, and --quick shrinks the history\'s clock with the season', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseExperiment } = await import('../../src/experiment/schema.js');
  const file = new URL('../../docs/examples/predictive-vs-target.yaml', import.meta.url);
  const text = readFileSync(file, 'utf8');
  const baseDir = new URL('../../docs/examples/', import.meta.url).pathname;
  const full = parseExperiment(text, 'predictive-vs-target.yaml', { baseDir });
  const arm = full.arms.find((a) => a.name === 'predictive')!;
  assert.equal(arm.settings.history, new URL('../../docs/traces/sine-60s.csv', import.meta.url).pathname);
  assert.equal(arm.settings.season, 60);
  assert.equal(arm.settings.historyScale, undefined);
  assert.ok(full.loadSec + 2 * 20 <= 300, 'at most 5 minutes with each arm\'s start and stop');
  const quick = parseExperiment(text, 'predictive-vs-target.yaml', { baseDir, quick: true });
  const q = quick.arms.find((a) => a.name === 'predictive')!;
  assert.ok(quick.timeFactor < 1);
  assert.equal(q.settings.season, Math.round(60 * quick.timeFactor * 10) / 10);
  assert.equal(q.settings.historyScale, quick.timeFactor);
  // The learned profile of the scaled history spans the scaled season.
  const { attachForecast } = await import('../../src/simulate/history.js');
  const cfg = attachForecast(resolveConfig({}, q.settings, { ports: false }));
  assert.equal(cfg.forecast?.seasonS, q.settings.season);
  assert.ok(Math.abs(cfg.forecast!.historyS - 180 * quick.timeFactor) < 1, `${cfg.forecast!.historyS}`);
});

test('export refuses --policy predictive in one line', async () => {
  const r = await runCli(['export', 'aws', '--metric', 'rps', '--policy', 'predictive', '--history', 'x.csv']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: export has no mapping for --policy predictive .*\n$/);
});

test('replay of a live predictive run (an experiment arm, 20 s boots): every recorded decision replays exactly, and another policy leaves the history behind', async (t) => {
  const { readFileSync, copyFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const fixture = fileURLToPath(new URL('../fixtures/replay-predictive/', import.meta.url));
  const history = fileURLToPath(new URL('../../docs/traces/sine-60s.csv', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-forecast-replay-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The recording names its --history absolute; point it at this checkout's copy of the trace.
  writeFileSync(join(dir, 'events.ndjson'), readFileSync(join(fixture, 'events.ndjson'), 'utf8').replace('"history":"HISTORY"', `"history":${JSON.stringify(history)}`));
  copyFileSync(join(fixture, 'load.ndjson'), join(dir, 'load.ndjson'));
  const r = await runCli(['replay', dir, '--compare', '--policy target']);
  assert.equal(r.code, 0, r.stderr);
  // Without the recorded boot delay the forecast looked 3 s ahead instead of 23 s: 9 of 48 ticks differed.
  assert.match(r.stdout, /decisions: the recorded observations through step\(\): 48 of 48 ticks give the recorded count/);
  assert.match(r.stdout, /\nreplay: --policy target +\d/);
  assert.match(r.stdout, /\nforecast error, replay: recorded policy: MAPE \d+\.\d % over \d+ ticks \(profile of 60 buckets of 1 s, learned from 180 s of /);
});

test('an experiment whose predictive arm names a missing history is one line and exit 2 before any arm starts', async (t) => {
  const { readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-forecast-exp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lesson = readFileSync(new URL('../../docs/examples/predictive-vs-target.yaml', import.meta.url), 'utf8');
  writeFileSync(join(dir, 'lesson.yaml'), lesson);
  const r = await runCli(['experiment', join(dir, 'lesson.yaml')], { ...process.env, XDG_STATE_HOME: join(dir, 'state') });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: --history .*traces\/sine-60s\.csv: cannot read it \(ENOENT\)\n$/);
});
