/** `autoscale report`, `autoscale runs`, `load --record` through the real CLI, on recordings laid out by hand. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordLine } from '../../src/runs/recorder.js';
import { processStart, registerLab, runsDir } from '../../src/runs/paths.js';
import type { LabEvent, LabSettings } from '../../src/events.js';
import { runCli as run } from '../helpers.js';



function tempState(t: TestContext): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-report-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { XDG_STATE_HOME: dir, HOME: join(dir, 'home') };
}

const config: LabSettings = { min: 1, max: 3, scaleUp: 35, scaleDown: 15, interval: 3, cooldown: 15, port: 8000, basePort: 5000, host: '127.0.0.1', work: 10, metric: 'host-cpu', policy: 'threshold', target: 50, tolerance: 0.1, scaleDownWindow: 30, maxStepPods: 4, maxStepPercent: 100, warmup: 6, idle: 60, holdMax: 1000, holdTimeout: 10, metricsPort: 9464, upstreamTimeout: 30, balancer: 'l7', maxConnRequests: 0, maxConnAge: 0 };
const startedAt = new Date(2026, 0, 2, 10, 0, 0).getTime();
const traffic = { rpm: 60, rps: 1, p50: 2, p95: 3, p99: 4, inFlight: 0, total: 60, errors: 0 };
const events: LabEvent[] = [
  { type: 'started', t: 0, startedAt, balancerUrl: 'http://127.0.0.1:8000', runDir: '', pid: 1, config },
  { type: 'worker', t: 5, id: 1, port: 5000, pid: 10, from: null, state: 'starting', detail: 'new' },
  { type: 'worker', t: 400, id: 1, port: 5000, pid: 10, from: 'starting', state: 'ready', detail: '' },
  { type: 'tick', t: 3000, cpu: 50, metric: 'host-cpu', value: 50, metrics: {}, warming: 0, instances: 1, ready: 1, desired: 2, action: 'scale-out', reason: 'cpu 50 % > 35 %: 1 → 2', paused: false, traffic, workers: [] } as unknown as LabEvent,
  { type: 'scale', t: 3001, direction: 'out', from: 1, to: 2, reason: 'cpu 50 % > 35 %: 1 → 2', manual: false },
  { type: 'stopped', t: 61_000, reason: 'received SIGINT', forced: 0 },
];

function layRun(env: NodeJS.ProcessEnv, name: string, text: string): string {
  const dir = join(runsDir(env), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'events.ndjson'), text);
  return dir;
}

test('report: writes report.html and report.md into the latest run and prints both paths; runs lists newest first', async (t) => {
  const env = tempState(t);
  const older = layRun(env, '2026-01-01T09-00-00', events.map(recordLine).join(''));
  const dir = layRun(env, '2026-01-02T10-00-00', events.map(recordLine).join(''));
  const r = await run(['report'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${join(dir, 'report.html')}\n${join(dir, 'report.md')}\n`);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /^# Autoscaling run 2026-01-02T10-00-00/);
  assert.match(md, /\| \+00:03 \| 1 → 2 \| policy \| cpu 50 % > 35 %: 1 → 2 \|/);
  assert.match(md, /\| --scale-up \/ --scale-down \| 35 \/ 15 \|/);
  assert.match(md, /no load\.ndjson in the run directory/, 'the missing load file is a visible note');
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /uPlot/);

  const list = await run(['runs'], env);
  assert.equal(list.code, 0);
  const lines = list.stdout.trim().split('\n');
  assert.match(lines[0], /newest first/);
  assert.match(lines[1], /^run +started +duration +policy +peak +requests +report$/);
  assert.match(lines[2], /^2026-01-02T10-00-00 +2026-01-02 10:00:00 +1 min 1 s +threshold\/host-cpu +1 +60 +yes$/);
  assert.match(lines[3], /^2026-01-01T09-00-00 .* no$/);
  const json = JSON.parse((await run(['runs', '--json'], env)).stdout) as { dir: string }[];
  assert.deepEqual(json.map((j) => j.dir), [dir, older]);
});

test('report: a killed run (truncated last line, no stopped line) still gives a report, with notes; --price-per-hour is used', async (t) => {
  const env = tempState(t);
  const text = events.slice(0, 5).map(recordLine).join('');
  const dir = layRun(env, '2026-01-02T10-00-00', text.slice(0, text.length - 30));
  const r = await run(['report', dir, '--price-per-hour', '0.5', '--currency', 'eur'], env);
  assert.equal(r.code, 0, r.stderr);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /last line of events\.ndjson is incomplete/);
  assert.match(md, /no "stopped" line/);
  assert.match(md, /EUR 0\.5 — given with --price-per-hour 0\.5/);
});

test('report bad input: one clear line and exit 2 (no runs, not a run dir, missing dir, newer schema, bad price)', async (t) => {
  const env = tempState(t);
  const none = await run(['report'], env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: no recorded runs in .*autoscale\/runs/);
  assert.equal(none.stderr.trim().split('\n').length, 1);

  const plain = mkdtempSync(join(tmpdir(), 'autoscale-not-a-run-'));
  t.after(() => rmSync(plain, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['report', plain], /^error: .* is not a run directory \(it has no events\.ndjson\)$/],
    [['report', join(plain, 'nope')], /^error: .*nope does not exist$/],
    [['report', layRun(env, '2026-01-03T00-00-00', '{"type":"started","schema":7,"t":0}\n')], /^error: .*written with recording schema 7; this autoscale reads schema 1 only/],
    [['report', layRun(env, '2026-01-04T00-00-00', 'not json\n')], /^error: .* is not a run recording/],
    [['report', '--price-per-hour', 'cheap'], /^error: --price-per-hour must be a number >= 0/],
  ];
  for (const [argv, message] of cases) {
    const r = await run(argv, env);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr.trim(), message, argv.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('load --record: no running lab is a clear error; with one, it appends to the lab run dir', async (t) => {
  const env = tempState(t);
  const none = await run(['load', '--record', '-d', '1'], env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error: --record: no running lab found/);
  const dir = layRun(env, '2026-01-02T10-00-00', events.map(recordLine).join(''));
  const lab = { pid: process.pid, procStart: processStart(process.pid), phase: 'running' as const, runDir: dir, startedAt, balancerUrl: 'http://127.0.0.1:1', controlSocket: null, metricsUrl: null };
  registerLab('test', { ...lab, record: false }, env);
  const off = await run(['load', '--record', '-d', '1'], env);
  assert.match(off.stderr, /the running lab does not record/);
  registerLab('test', { ...lab, record: true }, env);
  assert.match((await run(['load', '--record', '--out', 'x.ndjson', '-d', '1'], env)).stderr, /use it without --out/);
  // Nothing listens on port 1: the run fails fast (connection refused) but its lines land in the run dir.
  const r = await run(['load', 'http://127.0.0.1:1/', '--record', '-d', '1', '-t', '1', '--json'], env);
  assert.match(r.stderr, /recording load in .*load\.ndjson/);
  const lines = readFileSync(join(dir, 'load.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { at: number; t: number });
  assert.ok(lines.length >= 1);
  assert.ok(lines.every((l) => typeof l.at === 'number' && Math.abs(l.at - Date.now()) < 60_000));
  assert.ok(existsSync(join(dir, 'load.ndjson')));
});

test('start: a state dir that cannot hold runs is one clear line (exit 1), before anything starts', async (t) => {
  const env = tempState(t);
  const file = join(env.XDG_STATE_HOME!, 'a-file');
  writeFileSync(file, '');
  const r = await run(['start', '--port', '0', '--json'], { ...env, XDG_STATE_HOME: file });
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim(), /^error: cannot create the run directory under .*a-file\/autoscale\/runs \(ENOTDIR\); pick another with --run-dir, or start with --no-record$/);
  assert.equal(r.stdout, '');
});

test('runs: a run is parsed once; its facts are cached next to it until events.ndjson changes', async (t) => {
  const env = tempState(t);
  const dir = layRun(env, '2026-01-02T10-00-00', events.map(recordLine).join(''));
  assert.match((await run(['runs'], env)).stdout, /threshold\/host-cpu +1 +60 +no/);
  const cache = join(dir, '.runs-cache.json');
  const cached = JSON.parse(readFileSync(cache, 'utf8'));
  writeFileSync(cache, JSON.stringify({ ...cached, facts: { ...cached.facts, requests: 999 } }));
  assert.match((await run(['runs'], env)).stdout, / 999 /, 'the cache is read while the file is unchanged');
  const more = { ...events[5], t: 70_000 } as LabEvent;
  writeFileSync(join(dir, 'events.ndjson'), events.slice(0, 5).map(recordLine).join('') + recordLine({ ...(events[3] as object), t: 65_000, traffic: { ...traffic, total: 80 } } as LabEvent) + recordLine(more));
  assert.match((await run(['runs'], env)).stdout, /1 min 10 s +threshold\/host-cpu +1 +80 +no/, 'recomputed after the file changed');
});

test('start: a --run-dir where events.ndjson cannot be written is one clear line (exit 1), before anything starts', async (t) => {
  const env = tempState(t);
  const dir = join(env.XDG_STATE_HOME!, 'mine');
  mkdirSync(join(dir, 'events.ndjson'), { recursive: true });
  const r = await run(['start', '--port', '0', '--json', '--run-dir', dir], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim(), /^error: cannot write the run directory .*mine \(EISDIR\); pick another with --run-dir, or start with --no-record$/);
});
