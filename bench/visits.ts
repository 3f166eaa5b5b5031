/**
 * Write throughput of the visits API: POST /visits through the balancer at 1
 * and 5 workers, on SQLite (the default file in the run dir) and on
 * PostgreSQL (a throwaway cluster with default durability settings), driven
 * by the project's own load generator. Reference in the same run: GET / with
 * --work 0 (no database) through the same balancer at the same worker count;
 * the ratio shows what the shared database costs.
 *
 *   npm run bench -- visits                          # 10 s per run, 20 connections
 *   node --import tsx bench/visits.ts --duration 20 --threads 40
 *
 * After each write run it checks that the store's total equals the number of
 * 201 answers (no lost or doubled write under load). Every child, the
 * PostgreSQL cluster and every temp dir are removed on every exit path.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Daemon, runLoad } from '../harness/daemon.js';
import type { LoadSummary } from '../src/loadgen/summary.js';
import { freePort } from '../harness/process.js';
import { findPgBin, startPgCluster, type PgCluster } from '../harness/pg-cluster.js';


const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    threads: { type: 'string', default: '20' },
  },
});
const DURATION = Number(args.duration);
const THREADS = Number(args.threads);

const labs = new Set<Daemon>();
let cluster: PgCluster | null = null;
async function cleanupAll(): Promise<void> {
  await Promise.all([...labs].map((d) => d.cleanup()));
  cluster?.stop();
  cluster = null;
}
process.on('exit', () => cluster?.stop());
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => void cleanupAll().finally(() => process.exit(130)));

interface Run {
  rps: number;
  p99: number | null;
  ok: number;
  failed: number;
  total: number | null;
}

async function startLab(workers: number, databaseUrl: string | null) {
  const args = ['--min', String(workers), '--max', String(workers), '--work', '0', ...(databaseUrl === null ? [] : ['--database-url', databaseUrl])];
  const lab = new Daemon({ port: await freePort(), basePort: await freePort(), args, env: { DATABASE_URL: '' } });
  labs.add(lab);
  await lab.waitReady(workers, 60_000);
  return {
    url: lab.url,
    stop: async () => {
      await lab.stop();
      await lab.cleanup();
      labs.delete(lab);
    },
  };
}

async function load(url: string, extra: string[]): Promise<LoadSummary> {
  const { summary } = await runLoad(url, ['--threads', String(THREADS), '--duration', String(DURATION), ...extra]).done;
  return summary;
}

async function measure(workers: number, databaseUrl: string | null, writes: boolean): Promise<Run> {
  const lab = await startLab(workers, databaseUrl);
  try {
    // A short warm-up so connection pools and the JIT are not in the figures.
    await load(writes ? `${lab.url}/visits` : `${lab.url}/`, ['--duration', '1', ...(writes ? ['-m', 'POST', '--body', '{"page":"warmup"}', '-H', 'content-type: application/json'] : [])]);
    const before = writes ? await total(lab.url) : 0;
    const s = await load(writes ? `${lab.url}/visits` : `${lab.url}/`, writes ? ['-m', 'POST', '--body', '{"page":"bench"}', '-H', 'content-type: application/json'] : []);
    const after = writes ? await total(lab.url) : null;
    return { rps: s.throughput.mean, p99: s.latencyMs?.p99 ?? null, ok: s.requests.ok, failed: s.requests.failed, total: after === null ? null : after - before };
  } finally {
    await lab.stop();
  }
}

async function total(url: string): Promise<number> {
  const res = await fetch(`${url}/visits?limit=1`);
  return ((await res.json()) as { total: number }).total;
}

console.log(`# visits write benchmark: ${THREADS} connections for ${DURATION} s per run through the balancer, --work 0; ${cpus().length} cores`);
console.log('# load generator, balancer, workers and the database share this machine (and other jobs on it): compare rows of one run, not runs.');
const stores: Array<{ name: string; url: () => Promise<string | null> }> = [{ name: 'sqlite', url: async () => null }];
if (findPgBin() !== null) {
  stores.push({
    name: 'postgres',
    url: async () => {
      cluster ??= await startPgCluster({ durable: true });
      return cluster.url;
    },
  });
} else {
  console.log('# PostgreSQL server binaries not found: postgres rows skipped');
}

const rows: string[] = [];
for (const workers of [1, 5]) {
  const ref = await measure(workers, null, false);
  rows.push(`| GET / (reference, no database) | ${workers} | ${ref.rps.toFixed(0)} | ${ref.p99 ?? '–'} | 1.00 | ${ref.failed} | – |`);
  for (const store of stores) {
    const r = await measure(workers, await store.url(), true);
    const check = r.total === r.ok ? 'yes' : `NO: ${r.total} stored vs ${r.ok} acknowledged`;
    rows.push(`| POST /visits, ${store.name} | ${workers} | ${r.rps.toFixed(0)} | ${r.p99 ?? '–'} | ${(r.rps / ref.rps).toFixed(2)} | ${r.failed} | ${check} |`);
  }
}
console.log('\n| request | workers | req/s | p99 (ms) | × reference | failed | stored = acknowledged |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
await cleanupAll();
