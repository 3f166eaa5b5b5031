/**
 * Replay checked against reality: record two live runs with the same load
 * under two policies (A and B), then replay A under B's settings and print the
 * comparison with B, for both replay models.
 *
 *   node --import tsx bench/against.ts [--a='<flags>'] [--b='<flags>'] [--profile burst] [--threads 12]
 *        [--duration 60] [--idle 20] [--port 26000] [--keep <dir>] [--compare]
 *
 * Each run: `autoscale start --json` on the given ports with its own state
 * directory, 6 s of quiet, `autoscale load --out <run-dir>` (the lab's run
 * directory gets load.ndjson, as `load --record` does), --idle s of quiet, then
 * SIGTERM. The load averages before and after each run are printed: on a busy
 * host the two runs do not see the same machine. With --keep the two run
 * directories stay there (a/ and b/); otherwise they are removed at exit.
 * With --keep <dir> --compare: no recording, only the comparison of <dir>/a and
 * <dir>/b. It ends with one summary row per model (peak, scale actions,
 * worker-seconds error, same-count share against B, and each run's own-policy
 * same-count share). Every child is stopped on every exit path.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LabEvent } from '../src/events.js';
import { compareAgainst } from '../src/replay/against.js';
import { readRun } from '../src/replay/recording.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/autoscale.js');

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: '--metric worker-cpu --scale-up 60 --scale-down 20 --interval 2 --cooldown 10' },
    b: { type: 'string', default: '--metric worker-cpu --policy target --target 40 --interval 2 --scale-down-window 10' },
    profile: { type: 'string', default: 'burst' },
    threads: { type: 'string', default: '12' },
    duration: { type: 'string', default: '60' },
    idle: { type: 'string', default: '20' },
    port: { type: 'string', default: '26000' },
    keep: { type: 'string' },
    compare: { type: 'boolean', default: false },
  },
});

const children = new Set<ChildProcess>();
const temp = args.keep === undefined ? mkdtempSync(join(tmpdir(), 'autoscale-against-')) : resolve(args.keep);
mkdirSync(temp, { recursive: true });
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (args.keep === undefined) rmSync(temp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(130));

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function record(name: string, flags: string): Promise<string> {
  const runDir = join(temp, name);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const port = Number(args.port);
  const before = load();
  const lab = spawn(
    process.execPath,
    [BIN, 'start', '--json', '--port', String(port), '--base-port', String(port + 100), '--metrics-port', '0', '--run-dir', runDir, ...flags.split(/\s+/).filter(Boolean)],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, XDG_STATE_HOME: join(temp, `${name}-state`) } },
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
  console.log(`# ${name}: ${flags}; load average before ${before}, after ${load()}; run ${runDir}`);
  return runDir;
}

let a: string;
let b: string;
if (args.compare) {
  // Only the comparison, on two runs recorded before (e.g. --keep dirs).
  [a, b] = [join(temp, 'a'), join(temp, 'b')];
} else {
  console.log(`# against: ${args.profile} load, ${args.threads} threads peak, ${args.duration} s, then ${args.idle} s idle`);
  a = await record('a', args.a!);
  b = await record('b', args.b!);
}
for (const model of ['residual', 'calibrated']) {
  const r = spawnSync(process.execPath, [BIN, 'replay', a, '--against', b, '--model', model], { encoding: 'utf8' });
  console.log(`\n## replay a --against b --model ${model} (exit ${r.status})\n${r.stdout}${r.stderr}`);
}
// One summary row per model: what the evidence table asks for.
console.log('\n| model | peak replay / real | scale actions replay / real (out/in) | worker-seconds error | same count vs B | own-policy same count A, B |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const model of ['residual', 'calibrated'] as const) {
  const c = compareAgainst(readRun(a), readRun(b), { model });
  const own = (dir: string) => (JSON.parse(spawnSync(process.execPath, [BIN, 'replay', dir, '--model', model, '--json'], { encoding: 'utf8' }).stdout) as { fidelity: { sameInstances: number } }).fidelity.sameInstances;
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const ws = (100 * (c.replayed.workerSeconds - c.real.workerSeconds)) / c.real.workerSeconds;
  console.log(
    `| ${model} | ${c.replayed.peak} / ${c.real.peak} | ${c.replayed.scaleOut}/${c.replayed.scaleIn} / ${c.real.scaleOut}/${c.real.scaleIn} | ${ws >= 0 ? '+' : ''}${ws.toFixed(1)} % | ${pct(c.sameCount)} | ${pct(own(a))}, ${pct(own(b))} |`,
  );
}
