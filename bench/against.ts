/**
 * Replay checked against reality, over every recorded pair it finds: for each
 * pair of runs that saw the same load and differ only in policy settings, A's
 * recording replayed under B's settings against B itself, with both replay
 * models; then the summary lines.
 *
 *   node --import tsx bench/against.ts <dir>... [--json]
 *   node --import tsx bench/against.ts --record <dir> [--a='<flags>'] [--b='<flags>'] [--profile burst]
 *        [--threads 12] [--duration 60] [--idle 20] [--port 26000] [--base-port <port + 100>]
 *
 * A <dir> may be a state directory (XDG_STATE_HOME: its autoscale/runs/ is
 * searched), a runs directory, an experiment's directory (experiment.json),
 * or a pair directory (a/ and b/ run directories, as --record writes). In an
 * experiment every ordered pair of finished arms that differ only in policy
 * settings is compared (the experiment's own rule, differOnlyInPolicy); a
 * pair replay cannot answer (another load, a run it cannot read) is printed
 * as skipped, with the reason, and counts in no summary line.
 *
 * Per pair and model: peak replayed − real, scale actions out/in replayed vs
 * real and the difference in their total, worker-seconds error, same-count
 * share against B, knife edges. Per run: own-policy same-count share (the
 * run's own policy replayed over it). Summary lines: "peak within ±1 on X of
 * Y pairs; worker-seconds within ±15 % on X of Y; own-policy same-count ≥ 90 %
 * on X of Y" per model, and the load averages recorded before each arm.
 *
 * --record <dir>: records one pair first — `autoscale start` on --port, 6 s
 * of quiet, `autoscale load --profile <p> --out <run-dir>`, --idle s of quiet,
 * stop; A then B into <dir>/a and <dir>/b — then compares it. Every child is
 * stopped on every exit path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AutoscaleError } from '../src/errors.js';
import type { LabEvent } from '../src/events.js';
import { differOnlyInPolicy } from '../src/experiment/counterfactual.js';
import { parseExperiment } from '../src/experiment/schema.js';
import { compareAgainst, type AgainstComparison, type ReplayModel } from '../src/replay/against.js';
import { readRun, type RecordedRun } from '../src/replay/recording.js';
import { runReplay } from '../src/replay/run.js';
import { readExperimentRecord } from '../src/runs/experiment-record.js';
import { POLICY_FLAGS } from '../src/settings/flags.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/autoscale.js');
const MODELS: readonly ReplayModel[] = ['residual', 'calibrated'];

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    record: { type: 'string' },
    a: { type: 'string', default: '--metric rps --scale-up 30 --scale-down 10 --interval 2 --cooldown 10' },
    b: { type: 'string', default: '--metric rps --policy target --target 20 --interval 2 --scale-down-window 10' },
    profile: { type: 'string', default: 'burst' },
    threads: { type: 'string', default: '12' },
    duration: { type: 'string', default: '60' },
    idle: { type: 'string', default: '20' },
    port: { type: 'string', default: '26000' },
    'base-port': { type: 'string' },
  },
});

// ---------------------------------------------------------------- recording one pair (--record)

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(130));

const loadNow = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function record(dir: string, name: string, flags: string): Promise<void> {
  const runDir = join(dir, name);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const port = Number(args.port);
  const before = loadNow();
  const lab = spawn(
    process.execPath,
    [BIN, 'start', '--json', '--port', String(port), '--base-port', args['base-port'] ?? String(port + 100), '--metrics-port', '0', '--web-port', '0', '--run-dir', runDir, ...flags.split(/\s+/).filter(Boolean)],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, XDG_STATE_HOME: join(dir, `${name}-state`) } },
  );
  children.add(lab);
  const events: LabEvent[] = [];
  let buf = '';
  lab.stdout!.on('data', (d: Buffer) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) events.push(JSON.parse(line) as LabEvent);
    }
  });
  const end = Date.now() + 30_000;
  while (!events.some((e) => e.type === 'worker' && e.state === 'ready')) {
    if (Date.now() > end || lab.exitCode !== null) throw new Error(`${name}: the lab did not get a ready worker`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 6000));
  const shape = args.profile === 'burst' ? ['--base', '1', '--burst-on', '15', '--burst-off', '10'] : args.profile === 'constant' ? [] : ['--base', '1'];
  const gen = spawn(
    process.execPath,
    [BIN, 'load', `http://127.0.0.1:${port}/`, '--profile', args.profile!, '--threads', args.threads!, ...shape, '--duration', args.duration!, '--out', runDir, '--json'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(gen);
  const [code] = (await once(gen, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${name}: autoscale load exited ${code}`);
  await new Promise((r) => setTimeout(r, Number(args.idle) * 1000));
  lab.kill('SIGTERM');
  await once(lab, 'exit');
  console.log(`# recorded ${name}: ${flags}; load average before ${before}, after ${loadNow()}; run ${runDir}`);
}

// ---------------------------------------------------------------- finding pairs

interface Pair {
  where: string;
  a: { name: string; dir: string; load: number[] | null };
  b: { name: string; dir: string; load: number[] | null };
}
interface Skipped {
  where: string;
  what: string;
  reason: string;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
const subdirs = (p: string) => (isDir(p) ? readdirSync(p).sort().map((n) => join(p, n)).filter(isDir) : []);

/** The experiment directories and pair directories under one argument. */
function containers(arg: string): string[] {
  const p = resolve(arg);
  if (existsSync(join(p, 'experiment.json')) || (isDir(join(p, 'a')) && isDir(join(p, 'b')))) return [p];
  if (isDir(join(p, 'autoscale', 'runs'))) return containers(join(p, 'autoscale', 'runs'));
  return subdirs(p).filter((d) => existsSync(join(d, 'experiment.json')) || (isDir(join(d, 'a')) && isDir(join(d, 'b'))));
}

/** What two arms' settings differ in, besides policy settings (why a pair is not one). */
function nonPolicyDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const policy = new Set<string>(POLICY_FLAGS);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !policy.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function findPairs(dirs: string[]): { pairs: Pair[]; skipped: Skipped[] } {
  const pairs: Pair[] = [];
  const skipped: Skipped[] = [];
  for (const c of dirs.flatMap(containers)) {
    const record = readExperimentRecord(c);
    if (record === null) {
      pairs.push({ where: c, a: { name: 'a', dir: join(c, 'a'), load: null }, b: { name: 'b', dir: join(c, 'b'), load: null } });
      continue;
    }
    const where = `${c} (${record.name}${record.quick ? ' --quick' : ''})`;
    let arms;
    try {
      arms = parseExperiment(readFileSync(join(c, 'experiment.yaml'), 'utf8'), join(c, 'experiment.yaml'), { quick: record.quick }).arms;
    } catch (err) {
      skipped.push({ where, what: 'every pair', reason: `its experiment.yaml cannot be read: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    for (let i = 0; i < arms.length; i++) {
      for (let j = 0; j < arms.length; j++) {
        if (i === j) continue;
        const [ra, rb] = [record.arms[i], record.arms[j]];
        const what = `${arms[i].name} → ${arms[j].name}`;
        if (!differOnlyInPolicy(arms[i], arms[j])) {
          const other = nonPolicyDiff(arms[i].settings, arms[j].settings);
          // Report each unordered pair once.
          if (i < j) skipped.push({ where, what: `${arms[i].name} / ${arms[j].name}`, reason: other.length > 0 ? `the arms differ in ${other.join(', ')}, not only in policy settings` : 'the arms have the same settings' });
          continue;
        }
        if (ra?.status !== 'finished' || rb?.status !== 'finished') {
          skipped.push({ where, what, reason: `not both finished (${ra?.status ?? 'missing'}, ${rb?.status ?? 'missing'})` });
          continue;
        }
        pairs.push({ where, a: { name: arms[i].name, dir: join(c, ra.runDir), load: ra.loadAverageBefore }, b: { name: arms[j].name, dir: join(c, rb.runDir), load: rb.loadAverageBefore } });
      }
    }
  }
  return { pairs, skipped };
}

// ---------------------------------------------------------------- comparing

interface PairResult {
  pair: Pair;
  models: Partial<Record<ReplayModel, AgainstComparison>>;
}

const runs = new Map<string, RecordedRun>();
const readCached = (dir: string) => runs.get(dir) ?? runs.set(dir, readRun(dir)).get(dir)!;
const own = new Map<string, number | string>();
/** The run's own policy replayed over it with `model`: same-count share (0..1), or why not. */
function ownSame(dir: string, model: ReplayModel): number | string {
  const key = `${model} ${dir}`;
  if (!own.has(key)) {
    try {
      own.set(key, (JSON.parse(runReplay(dir, {}, { model, json: true })) as { fidelity: { sameInstances: number } }).fidelity.sameInstances);
    } catch (err) {
      if (!(err instanceof AutoscaleError)) throw err;
      own.set(key, err.message);
    }
  }
  return own.get(key)!;
}

const signed = (x: number, d = 0) => `${x > 0 ? '+' : ''}${x.toFixed(d)}`;
const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
const wsError = (c: AgainstComparison) => (c.real.workerSeconds === 0 ? 0 : (c.replayed.workerSeconds - c.real.workerSeconds) / c.real.workerSeconds);
const la = (l: number[] | null) => (l === null ? '?' : l.map((x) => x.toFixed(1)).join('/'));

async function main(): Promise<void> {
  const dirs = [...positionals];
  if (args.record !== undefined) {
    const dir = resolve(args.record);
    mkdirSync(dir, { recursive: true });
    console.log(`# recording a pair: ${args.profile} load, ${args.threads} threads peak, ${args.duration} s, then ${args.idle} s idle`);
    await record(dir, 'a', args.a!);
    await record(dir, 'b', args.b!);
    dirs.push(dir);
  }
  if (dirs.length === 0) {
    console.error('usage: node --import tsx bench/against.ts <state-dir | runs dir | experiment dir | pair dir>... [--json] (or --record <dir>)');
    process.exitCode = 2;
    return;
  }
  const missing = dirs.filter((d) => !isDir(resolve(d)));
  if (missing.length > 0) {
    console.error(`bench/against.ts: not a directory: ${missing.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const { pairs, skipped } = findPairs(dirs);
  const results: PairResult[] = [];
  for (const pair of pairs) {
    const res: PairResult = { pair, models: {} };
    let reason: string | null = null;
    for (const model of MODELS) {
      try {
        res.models[model] = compareAgainst(readCached(pair.a.dir), readCached(pair.b.dir), { model });
      } catch (err) {
        if (!(err instanceof AutoscaleError)) throw err;
        reason ??= err.message;
      }
    }
    if (res.models.residual === undefined && res.models.calibrated === undefined) skipped.push({ where: pair.where, what: `${pair.a.name} → ${pair.b.name}`, reason: reason ?? 'no model answered' });
    else results.push(res);
  }

  if (results.length === 0 && skipped.length === 0) {
    console.error(`bench/against.ts: no A/B pairs under ${dirs.join(', ')} (looked for experiment directories with experiment.json, under <state>/autoscale/runs/ too, and pair directories with a/ and b/)`);
    process.exitCode = 1;
    return;
  }
  if (args.json) {
    const ownOf = (dir: string) => Object.fromEntries(MODELS.map((m) => [m, ownSame(dir, m)]));
    console.log(JSON.stringify({ pairs: results.map((r) => ({ ...r.pair, own: { a: ownOf(r.pair.a.dir), b: ownOf(r.pair.b.dir) }, models: r.models })), skipped, summary: summary(results) }));
    return;
  }
  console.log('| # | where | A → B | load avg A, B | model | peak replay / real (diff) | scale actions out/in replay / real (diff) | worker-seconds replay / real (error) | same count vs B | knife edges | own-policy same count A, B |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  results.forEach((r, i) => {
    for (const model of MODELS) {
      const c = r.models[model];
      const cells = c === undefined
        ? ['–', '–', '–', '–', '–']
        : [
            `${c.replayed.peak} / ${c.real.peak} (${signed(c.replayed.peak - c.real.peak)})`,
            `${c.replayed.scaleOut}/${c.replayed.scaleIn} / ${c.real.scaleOut}/${c.real.scaleIn} (${signed(c.replayed.scaleOut + c.replayed.scaleIn - c.real.scaleOut - c.real.scaleIn)})`,
            `${c.replayed.workerSeconds.toFixed(0)} / ${c.real.workerSeconds.toFixed(0)} (${signed(100 * wsError(c), 1)} %)`,
            `${pct(c.sameCount)} of ${c.ticks}`,
            `${c.knifeEdges.count} of ${c.knifeEdges.of} actions, ${c.knifeEdges.holds} of ${c.knifeEdges.ticks} holds`,
          ];
      const o = (dir: string) => {
        const v = ownSame(dir, model);
        return typeof v === 'number' ? pct(v) : `– (${v})`;
      };
      console.log(`| ${i + 1} | ${r.pair.where} | ${r.pair.a.name} → ${r.pair.b.name} | ${la(r.pair.a.load)}, ${la(r.pair.b.load)} | ${model} | ${cells.join(' | ')} | ${o(r.pair.a.dir)}, ${o(r.pair.b.dir)} |`);
    }
  });
  for (const s of skipped) console.log(`skipped: ${s.where}: ${s.what}: ${s.reason}`);
  console.log('');
  for (const line of summary(results)) console.log(line);
}

function summary(results: PairResult[]): string[] {
  return MODELS.map((model) => {
    const cs = results.flatMap((r) => (r.models[model] === undefined ? [] : [r.models[model]]));
    const peak = cs.filter((c) => Math.abs(c.replayed.peak - c.real.peak) <= 1).length;
    const ws = cs.filter((c) => Math.abs(wsError(c)) <= 0.15).length;
    const dirsOf = [...new Set(results.flatMap((r) => [r.pair.a.dir, r.pair.b.dir]))];
    const owns = dirsOf.map((d) => ownSame(d, model)).filter((v): v is number => typeof v === 'number');
    const total = (k: 'count' | 'of' | 'holds' | 'ticks') => cs.reduce((s, c) => s + c.knifeEdges[k], 0);
    return (
      `${model}: peak within ±1 on ${peak} of ${cs.length} pairs; worker-seconds within ±15 % on ${ws} of ${cs.length}; ` +
      `own-policy same-count ≥ 90 % on ${owns.filter((v) => v >= 0.9).length} of ${owns.length} runs; ` +
      `knife edges: ${total('count')} of ${total('of')} replayed actions, ${total('holds')} of ${total('ticks')} holds`
    );
  });
}

await main();
