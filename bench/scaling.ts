/**
 * Scaling benchmark: the same burst against two policies, in the same run.
 *
 *   node --import tsx bench/scaling.ts [--load 60] [--idle 60] [--threads 20]
 *
 * For each policy it starts the real lab (`autoscale start --json` on free
 * ports), waits for one ready worker, runs `autoscale load --profile burst`
 * through the balancer for --load seconds, then lets it idle for --idle
 * seconds, and reads the NDJSON the lab printed. It reports: instances over
 * time, time from load start to the first and the last added worker serving,
 * scale actions (out / in — flapping shows as many), and worker-seconds used.
 * Every child is stopped on every exit path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LabEvent } from '../src/events.js';
import type { LoadSummary } from '../src/loadgen/summary.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/autoscale.js');

const { values: args } = parseArgs({
  options: {
    load: { type: 'string', default: '60' },
    idle: { type: 'string', default: '60' },
    threads: { type: 'string', default: '20' },
  },
});
const LOAD_S = Number(args.load);
const IDLE_S = Number(args.idle);
const THREADS = Number(args.threads);

const SCENARIOS: Array<{ name: string; flags: string[] }> = [
  { name: 'threshold / host-cpu', flags: [] },
  { name: 'target / worker-cpu (50 %)', flags: ['--policy', 'target', '--metric', 'worker-cpu', '--target', '50'] },
];

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(130));

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

interface Result {
  name: string;
  series: Array<{ t: number; instances: number }>;
  firstServingS: number | null;
  lastServingS: number | null;
  peak: number;
  outs: number;
  ins: number;
  workerSeconds: number;
  loadSummary: string;
}

async function run(name: string, flags: string[]): Promise<Result> {
  const port = await freePort();
  const basePort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-bench-'));
  dirs.add(runDir);
  const lab = spawn(process.execPath, [BIN, 'start', '--json', '--port', String(port), '--base-port', String(basePort), '--run-dir', runDir, ...flags], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, XDG_STATE_HOME: runDir } });
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
  const waitFor = async (cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`${name}: timed out`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor(() => events.some((e) => e.type === 'worker' && e.state === 'ready'), 20_000);
  const started = events.find((e) => e.type === 'started')!;
  // Let a few quiet ticks pass, so both policies start from the same idle state.
  await new Promise((r) => setTimeout(r, 6000));
  const readyBefore = new Set(events.flatMap((e) => (e.type === 'worker' && e.state === 'ready' ? [e.id] : [])));
  const loadStartWall = Date.now();
  const load = spawn(
    process.execPath,
    [BIN, 'load', `http://127.0.0.1:${port}/`, '--profile', 'burst', '--threads', String(THREADS), '--base', '2', '--burst-on', '15', '--burst-off', '10', '--duration', String(LOAD_S), '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(load);
  let loadOut = '';
  load.stdout!.on('data', (d) => (loadOut += d));
  await once(load, 'exit');
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  lab.kill('SIGTERM');
  await once(lab, 'exit');

  // The lab's clock: t of 'started' is ~0 at its wall-clock startedAt.
  const startedAt = started.type === 'started' ? started.startedAt : 0;
  const loadT = loadStartWall - startedAt;
  const endT = loadT + (LOAD_S + IDLE_S) * 1000;
  const ticks = events.filter((e): e is Extract<LabEvent, { type: 'tick' }> => e.type === 'tick' && e.t >= loadT && e.t <= endT);
  const added = events.filter((e) => e.type === 'worker' && e.state === 'ready' && !readyBefore.has(e.id) && e.t >= loadT && e.t <= loadT + LOAD_S * 1000);
  const scales = events.filter((e): e is Extract<LabEvent, { type: 'scale' }> => e.type === 'scale' && e.t >= loadT && e.t <= endT);
  // Worker-seconds: live instances integrated over [loadT, endT], from every tick's count.
  let workerSeconds = 0;
  for (let i = 1; i < ticks.length; i++) workerSeconds += (ticks[i - 1].instances * (ticks[i].t - ticks[i - 1].t)) / 1000;
  let summary: string;
  try {
    const s = JSON.parse(loadOut) as LoadSummary;
    summary = `load: ${s.requests.sent} sent, ${s.requests.ok} ok, ${s.requests.failed} failed, p99 ${s.latencyMs?.p99 ?? '–'} ms`;
  } catch {
    summary = 'load summary unreadable';
  }
  return {
    name,
    series: ticks.map((e) => ({ t: (e.t - loadT) / 1000, instances: e.instances })),
    firstServingS: added.length ? (added[0].t - loadT) / 1000 : null,
    lastServingS: added.length ? (added.at(-1)!.t - loadT) / 1000 : null,
    peak: Math.max(0, ...ticks.map((e) => e.instances)),
    outs: scales.filter((s) => s.direction === 'out').length,
    ins: scales.filter((s) => s.direction === 'in').length,
    workerSeconds,
    loadSummary: summary,
  };
}

const results: Result[] = [];
console.log(`# scaling benchmark: burst (${THREADS} threads 15 s on / 2 threads 10 s off) for ${LOAD_S} s, then ${IDLE_S} s idle; ${cpus().length} cores`);
console.log('# load generator, balancer and workers share this machine: host CPU includes the load generator.');
for (const s of SCENARIOS) {
  console.log(`# running ${s.name} …`);
  results.push(await run(s.name, s.flags));
}
const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(1));
console.log('\n| policy / metric | time to first added worker serving (s) | to last (s) | peak instances | scale-outs | scale-ins | worker-seconds |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.name} | ${fmt(r.firstServingS)} | ${fmt(r.lastServingS)} | ${r.peak} | ${r.outs} | ${r.ins} | ${r.workerSeconds.toFixed(0)} |`);
}
for (const r of results) {
  // Instances every ~6 s, as a compact series.
  const every = r.series.filter((_p, i) => i % 2 === 0).map((p) => `${p.t.toFixed(0)}s:${p.instances}`);
  console.log(`\n${r.name} (${r.loadSummary}) instances over time: ${every.join(' ')}`);
}
