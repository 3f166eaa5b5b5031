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
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LabEvent } from '../src/events.js';
import type { LoadSummary } from '../src/loadgen/summary.js';
import { freePort } from '../test/helpers.js';
import { findPgBin, startPgCluster, type PgCluster } from '../test/pg-cluster.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/autoscale.js');

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    threads: { type: 'string', default: '20' },
  },
});
const DURATION = Number(args.duration);
const THREADS = Number(args.threads);

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let cluster: PgCluster | null = null;
function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  cluster?.stop();
  cluster = null;
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(130));

interface Run {
  rps: number;
  p99: number | null;
  ok: number;
  failed: number;
  total: number | null;
}

async function startLab(workers: number, databaseUrl: string | null) {
  const port = await freePort();
  const basePort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-bench-visits-'));
  dirs.add(runDir);
  const flags = ['start', '--json', '--min', String(workers), '--max', String(workers), '--work', '0', '--port', String(port), '--base-port', String(basePort), '--run-dir', runDir];
  if (databaseUrl !== null) flags.push('--database-url', databaseUrl);
  const lab = spawn(process.execPath, [BIN, ...flags], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DATABASE_URL: '' } });
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
  const end = Date.now() + 60_000;
  while (events.filter((e) => e.type === 'worker' && e.state === 'ready').length < workers) {
    if (lab.exitCode !== null || Date.now() > end) throw new Error(`lab with ${workers} workers did not get ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      lab.kill('SIGTERM');
      if (lab.exitCode === null) await once(lab, 'exit');
      children.delete(lab);
      rmSync(runDir, { recursive: true, force: true });
      dirs.delete(runDir);
    },
  };
}

async function load(url: string, extra: string[]): Promise<LoadSummary> {
  const child = spawn(process.execPath, [BIN, 'load', url, '--threads', String(THREADS), '--duration', String(DURATION), '--json', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await once(child, 'exit');
  children.delete(child);
  return JSON.parse(out) as LoadSummary;
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
cleanup();
