/**
 * The one reader of a run directory (src/runs/read.ts): every command reads the same file the same way —
 * the checked-in runs without a schema field, a torn last line, load.ndjson, worker-seconds — and a file
 * of the wrong shape or with two runs is refused in one line by report and replay alike.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerSeconds, workerSpans } from '../../src/policy/worker-seconds.js';
import { loadRun } from '../../src/report/run-dir.js';
import { readRun } from '../../src/replay/recording.js';
import { runReplay } from '../../src/replay/run.js';
import { parseEvents, parseLoad, readLoadFile, readRunDir } from '../../src/runs/read.js';
import { readTrace } from '../../src/simulate/run.js';
import { runCli as run } from '../helpers.js';

const FIXTURES = ['replay-target-worker-cpu', 'replay-decisions'].map((n) => fileURLToPath(new URL(`../fixtures/${n}`, import.meta.url)));
const [FIXTURE] = FIXTURES;
const NO_STATE = { XDG_STATE_HOME: '/nonexistent-autoscale-test', HOME: '/nonexistent-autoscale-test' };

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-runs-read-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function copyRun(t: TestContext, src: string, events: (text: string) => string = (x) => x): string {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'events.ndjson'), events(readFileSync(join(src, 'events.ndjson'), 'utf8')));
  try {
    copyFileSync(join(src, 'load.ndjson'), join(dir, 'load.ndjson'));
  } catch {
    // the decisions fixture has none
  }
  return dir;
}

test('the checked-in runs (no schema on their started line) are read by report and replay alike, as schema 1, with a note', () => {
  for (const [dir, ticks] of [[FIXTURES[0], 71], [FIXTURES[1], 33]] as const) {
    const report = loadRun(dir, { env: NO_STATE }).model;
    const replay = readRun(dir);
    assert.equal(report.counts.ticks, ticks, dir);
    assert.equal(replay.ticks.length, ticks, dir);
    assert.ok(report.notes.some((n) => /"started" line has no "schema" field .*read as schema 1/.test(n)), report.notes.join('\n'));
    assert.equal(readRunDir(dir).events.started.schema, 1);
  }
});

test('a torn last line is noted and left out by every command; the rest reads the same', (t) => {
  const whole = readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8');
  const torn = copyRun(t, FIXTURE, (text) => text.trimEnd() + '\n{"type":"tick","t":216000,"cpu":4');
  const lines = whole.trimEnd().split('\n').length;
  const report = loadRun(torn, { env: NO_STATE }).model;
  assert.ok(report.notes.some((n) => n.includes(`the last line of events.ndjson is incomplete (line ${lines + 1}`)), report.notes.join('\n'));
  assert.equal(report.counts.ticks, 71);
  assert.equal(readRun(torn).ticks.length, 71, 'replay reads it too (it refused it before: "line 309 is not JSON")');
  assert.deepEqual(JSON.parse(runReplay(torn, {}, { json: true })).fidelity, JSON.parse(runReplay(FIXTURE, {}, { json: true })).fidelity);
});

test('load.ndjson: one line type, the same 165 lines for report, replay and simulate --trace', () => {
  const file = join(FIXTURE, 'load.ndjson');
  const load = readLoadFile(file);
  assert.equal(load.lines.length, 165);
  assert.equal(load.mode, 'closed');
  assert.equal(loadRun(FIXTURE, { env: NO_STATE }).model.counts.loadLines, 165, 'the report counts every line (those without a wall clock are noted, not dropped)');
  assert.equal(readRun(FIXTURE).load!.lines.length, 165);
  assert.deepEqual(readRun(FIXTURE).load!.lines, load.lines);
  const trace = readTrace(file);
  assert.equal(trace.mode, 'closed');
  assert.equal(trace.perSecond.length, Math.ceil(load.lines[load.lines.length - 1].t), 'simulate resamples the same lines per second');
  // Shape rules are the events' rules: a torn last line is noted, a line of the wrong shape refuses the file.
  const torn = parseLoad(readFileSync(file, 'utf8') + '{"t":166,"dt"', 'load.ndjson');
  assert.equal(torn.lines.length, 165);
  assert.match(torn.problems.join(), /last line of load\.ndjson is incomplete \(line 166/);
  assert.throws(() => parseLoad('{"t":1,"dt":1,"sent":"5","rps":5,"threads":1}\n', 'load.ndjson'), /line 1 is not an `autoscale load --out` line: "sent" must be a number/);
  assert.equal(parseLoad('{"t":1,"dt":1,"sent":5,"rps":5,"threads":1}\n{"t":1,"dt":1,"sent":5,"rps":5,"targetRate":1}\n', 'x').mode, 'mixed');
});

test('worker-seconds: report and replay print the same figure for the same run (one definition, draining not counted)', async () => {
  const report = loadRun(FIXTURE, { env: NO_STATE }).model.summary.workerSeconds;
  const json = JSON.parse(runReplay(FIXTURE, {}, { json: true })) as { rows: Array<{ label: string; workerSeconds: number }>; fidelity: { workerSecondsRecorded: number } };
  assert.equal(json.rows[0].label, 'recorded run');
  assert.equal(json.rows[0].workerSeconds, report);
  assert.equal(json.fidelity.workerSecondsRecorded, report);
  // As printed: the report's summary line and replay's table row show the same whole number.
  const env = { ...NO_STATE };
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-ws-'));
  try {
    copyFileSync(join(FIXTURE, 'events.ndjson'), join(dir, 'events.ndjson'));
    copyFileSync(join(FIXTURE, 'load.ndjson'), join(dir, 'load.ndjson'));
    const r = await run(['report', dir], env);
    assert.equal(r.code, 0, r.stderr);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    const shown = /\| Worker-seconds used \| ([\d,]+) s/.exec(md)![1];
    const replayText = await run(['replay', dir], env);
    const row = replayText.stdout.split('\n').find((l) => l.startsWith('recorded run'))!;
    assert.ok(row.split(/\s{2,}/).includes(shown), `report ${shown} s, replay row: ${row}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker-seconds definition: fork to leaving the pool; draining, stopping and exits end it; still live at the end counts to the end', () => {
  const tr = (t: number, id: number, state: 'starting' | 'ready' | 'draining' | 'stopping' | 'exited' | 'crashed' | 'backoff') => ({ t, id, state });
  const spans = workerSpans([tr(0, 1, 'starting'), tr(500, 1, 'ready'), tr(0, 2, 'backoff'), tr(1000, 2, 'starting'), tr(4000, 2, 'draining'), tr(4500, 2, 'exited'), tr(6000, 3, 'starting'), tr(7000, 3, 'crashed'), tr(8000, 3, 'starting')]);
  assert.deepEqual(spans.get(1), { startedAt: 0, readyAt: 500, leftAt: null });
  assert.deepEqual(spans.get(2), { startedAt: 1000, readyAt: null, leftAt: 4000 }, 'backoff is not live; draining ends the span');
  assert.deepEqual(spans.get(3), { startedAt: 6000, readyAt: null, leftAt: 7000 }, 'a worker id is one worker');
  assert.equal(workerSeconds(spans.values(), 10_000), 10 + 3 + 1);
  assert.equal(workerSeconds(spans.values(), 2000), 2 + 1 + 0, 'cut at the end of the recording');
  assert.equal(workerSeconds(spans.values(), 10_000, 3000), 7 + 1 + 1, 'a window of the run (bench/scaling.ts) is cut at its start too');
});

test('two runs in one events.ndjson: report and replay refuse it in one line, exit 2', async (t) => {
  const dir = copyRun(t, FIXTURE, (text) => text + text);
  for (const argv of [['report', dir], ['replay', dir]]) {
    const r = await run(argv, NO_STATE);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /holds two runs \(a second "started" line at line 309, the first at line 1\): a run directory was reused/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('hostile shapes: report and replay refuse in one line, exit 2, no TypeError or RangeError', async (t) => {
  const rows: Array<[string, (text: string) => string, RegExp]> = [
    ['scale.reason {}', (x) => x.replace('"reason":"target: ceil(1 × 60 % / 50 %) = 2: 1 → 2"', '"reason":{}'), /"scale" event\): "reason" must be a string \(received \{\}\)/],
    ['worker.detail null', (x) => x.replace('"detail":"new"', '"detail":null'), /"worker" event\): "detail" must be a string \(received null\)/],
    ['last t 1e308', (x) => x.replace('{"type":"stopped","t":215698.59174099998', '{"type":"stopped","t":1e308'), /"stopped" event\): "t" must be a time in ms from 0 to/],
    ['settings.min a string', (x) => x.replace('"min":1,', '"min":"<img src=x onerror=alert(1)>",'), /"started" event\): "config\.min" must be a number >= 0 \(received "<img src=x onerror=alert/],
    ['traffic.errors 1e999 (Infinity)', (x) => x.replace('"total":0,"errors":0}', '"total":0,"errors":1e999}'), /"traffic\.errors" must be a number >= 0/],
    ['a worker state that does not exist', (x) => x.replace('"state":"ready"', '"state":"<b>"'), /must be one of "backoff", "starting"/],
  ];
  for (const [name, edit, re] of rows) {
    const dir = copyRun(t, FIXTURE, edit);
    assert.notEqual(readFileSync(join(dir, 'events.ndjson'), 'utf8'), readFileSync(join(FIXTURE, 'events.ndjson'), 'utf8'), `${name}: the edit applies`);
    for (const cmd of ['report', 'replay']) {
      const r = await run([cmd, dir], NO_STATE);
      assert.equal(r.code, 2, `${cmd} ${name}: ${r.stderr}`);
      assert.match(r.stderr, re, `${cmd} ${name}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /TypeError|RangeError|at .*\.ts:\d+/);
    }
  }
});

test('every event type: a field of the wrong type is named with its path', () => {
  const started = '{"type":"started","schema":1,"t":0,"startedAt":1,"balancerUrl":"u","runDir":"r","pid":1,"config":{"min":1,"max":2,"scaleUp":35,"scaleDown":15,"interval":3,"cooldown":15,"port":1,"basePort":2,"host":"h","work":1,"metric":"host-cpu","policy":"threshold","target":50,"tolerance":0.1,"scaleDownWindow":30,"maxStepPods":4,"maxStepPercent":100,"warmup":6}}';
  const traffic = '{"rpm":0,"rps":0,"p50":null,"p95":null,"p99":null,"inFlight":0,"total":0,"errors":0}';
  const cases: Array<[string, RegExp]> = [
    [`{"type":"tick","t":1,"cpu":null,"metric":"m","value":null,"warming":0,"instances":1,"ready":1,"desired":1,"action":"hold","reason":"r","paused":false,"traffic":${traffic},"workers":[{"id":1,"state":"ready","cpu":null,"rps":0,"inFlight":0,"port":"80"}]}`, /"workers\[0\]\.port" must be a number/],
    [`{"type":"tick","t":1,"cpu":null,"metric":"m","value":null,"warming":0,"instances":1,"ready":1,"desired":1,"action":"hold","reason":"r","paused":"no","traffic":${traffic},"workers":[]}`, /"paused" must be true or false/],
    [`{"type":"stats","t":1,"traffic":${traffic},"workers":[],"store":{"kind":"sqlite","where":"w","up":true,"detail":"d","total":1,"visits":1,"visitsByWorker":{"1":"x"}}}`, /"store\.visitsByWorker\.1" must be a number/],
    ['{"type":"health","t":1,"id":1,"port":1,"healthy":true,"detail":5}', /"detail" must be a string/],
    [`{"type":"tick","t":1,"cpu":50,"cpuSplit":{"lab":"9","other":41},"metric":"m","value":null,"warming":0,"instances":1,"ready":1,"desired":1,"action":"hold","reason":"r","paused":false,"traffic":${traffic},"workers":[]}`, /"cpuSplit\.lab" must be a number/],
    ['{"type":"paused","t":-1,"paused":true}', /"t" must be a time/],
    ['{"type":"stopped","t":1,"reason":"r","forced":"0"}', /"forced" must be a number/],
    ['{"type":"command","t":1,"command":1,"source":"s","ok":true,"message":"m"}', /"command" must be a string/],
    ['{"type":"refresh","t":1,"phase":"x","replaced":0,"total":0,"detail":"d"}', /"phase" must be one of/],
    ['{"type":"cold-start","t":1,"waitedMs":1,"held":1,"fromZero":1}', /"fromZero" must be true or false/],
    ['{"type":"hint","t":1,"text":[]}', /"text" must be a string/],
    ['{"type":"note","t":1,"note":{"a":1}}', /"note" must be a string/],
  ];
  for (const [line, re] of cases) {
    assert.throws(() => parseEvents(`${started}\n${line}\n`, 'e'), (err: Error & { code?: string }) => err.code === 'AS_ERR_RUN_INVALID' && re.test(err.message), line);
  }
});

test('a file larger than the bound is refused before it is read', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'run'));
  const file = join(dir, 'run', 'events.ndjson');
  writeFileSync(file, '');
  // A sparse file: 300 MiB of size, no disk.
  truncateSync(file, 300 * 1024 * 1024);
  assert.throws(() => readRunDir(join(dir, 'run')), /is 300 MiB; autoscale reads recordings up to 256 MiB/);
});
