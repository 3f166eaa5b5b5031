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
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Daemon, runLoad } from '../harness/daemon.js';
import { freePort, sleep } from '../harness/process.js';
import type { LabEvent } from '../src/events.js';
import { workerSeconds, workerSpans } from '../src/policy/worker-seconds.js';


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

const labs = new Set<Daemon>();
const cleanupAll = () => Promise.all([...labs].map((d) => d.cleanup()));
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => void cleanupAll().finally(() => process.exit(130)));

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
  const lab = new Daemon({ port: await freePort(), basePort: await freePort(), args: flags });
  labs.add(lab);
  try {
    await lab.waitReady(1, 20_000);
    const events = lab.events as unknown as LabEvent[];
    const started = events.find((e) => e.type === 'started')!;
    // Let a few quiet ticks pass, so both policies start from the same idle state.
    await sleep(6000);
    const readyBefore = new Set(events.flatMap((e) => (e.type === 'worker' && e.state === 'ready' ? [e.id] : [])));
    const loadStartWall = Date.now();
    const load = runLoad(`${lab.url}/`, ['--profile', 'burst', '--threads', String(THREADS), '--base', '2', '--burst-on', '15', '--burst-off', '10', '--duration', String(LOAD_S)]);
    const { summary: s } = await load.done;
    await sleep(IDLE_S * 1000);
    await lab.stop();
    return measure(name, events, started, readyBefore, loadStartWall, `load: ${s.requests.sent} sent, ${s.requests.ok} ok, ${s.requests.failed} failed, p99 ${s.latencyMs?.p99 ?? '–'} ms`);
  } finally {
    await lab.cleanup();
    labs.delete(lab);
  }
}

function measure(name: string, events: LabEvent[], started: LabEvent, readyBefore: Set<number>, loadStartWall: number, summary: string): Result {
  // The lab's clock: t of 'started' is ~0 at its wall-clock startedAt.
  const startedAt = started.type === 'started' ? started.startedAt : 0;
  const loadT = loadStartWall - startedAt;
  const endT = loadT + (LOAD_S + IDLE_S) * 1000;
  const ticks = events.filter((e): e is Extract<LabEvent, { type: 'tick' }> => e.type === 'tick' && e.t >= loadT && e.t <= endT);
  const added = events.filter((e) => e.type === 'worker' && e.state === 'ready' && !readyBefore.has(e.id) && e.t >= loadT && e.t <= loadT + LOAD_S * 1000);
  const scales = events.filter((e): e is Extract<LabEvent, { type: 'scale' }> => e.type === 'scale' && e.t >= loadT && e.t <= endT);
  // Worker-seconds over [loadT, endT], by the one definition report and replay use.
  const spans = workerSpans(events.flatMap((e) => (e.type === 'worker' ? [{ t: e.t, id: e.id, state: e.state }] : [])));
  const used = workerSeconds(spans.values(), endT, loadT);
  return {
    name,
    series: ticks.map((e) => ({ t: (e.t - loadT) / 1000, instances: e.instances })),
    firstServingS: added.length ? (added[0].t - loadT) / 1000 : null,
    lastServingS: added.length ? (added.at(-1)!.t - loadT) / 1000 : null,
    peak: Math.max(0, ...ticks.map((e) => e.instances)),
    outs: scales.filter((s) => s.direction === 'out').length,
    ins: scales.filter((s) => s.direction === 'in').length,
    workerSeconds: used,
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
