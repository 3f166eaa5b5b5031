/**
 * Benchmark of `autoscale load` against autocannon and wrk (not part of npm test).
 *
 *   npx tsc -p tsconfig.build.json && node --import tsx bench/loadgen.ts [--duration 10] [--connections 20] [--rounds 3]
 *
 * Part 1, throughput: a bare node:http server in a child process (the
 * generator is the bottleneck), the same connection count and duration for
 * each tool in turn, repeated --rounds times in alternation (the medians are
 * reported, so a noisy neighbour hurts every tool alike). Each generator runs
 * under /usr/bin/time, which gives its own CPU time (user + sys, including
 * its worker threads and startup).
 *
 * Part 2, latency at a fixed moderate rate: the same server with a fixed
 * 5 ms delay per response. wrk2 is not packaged in Debian, so wrk (closed
 * loop, 10 connections: about 10 / 5 ms = 2,000 req/s, the target not
 * saturated) is compared with `autoscale load` closed loop with the same 10
 * connections, and with its open loop at a fixed --rate 1000 over 50
 * connections (well under capacity, so there is no queueing to correct for
 * and the latencies should agree with wrk's).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const autoscaleBin = join(root, 'bin/autoscale.js');
const autocannonBin = join(root, 'node_modules/autocannon/autocannon.js');
const TIME = '/usr/bin/time';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);

interface Measured {
  rps: number;
  requests: number;
  cpuSec: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

interface Tool {
  name: string;
  available: () => string | null;
  run: (url: string, conns: number, sec: number, extra?: string[]) => Promise<Measured>;
}

function exec(cmd: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'autoscale-loadgen-bench-'));
let timeFileCount = 0;

/** Runs argv under /usr/bin/time; returns its output and the CPU seconds it used (user + sys). */
async function timed(cmd: string, argv: string[]): Promise<{ stdout: string; stderr: string; cpuSec: number }> {
  const timeFile = join(scratch, `time-${timeFileCount++}.txt`);
  const result = await exec(TIME, ['-f', '%U %S', '-o', timeFile, cmd, ...argv]);
  if (result.code !== 0) throw new Error(`${cmd} ${argv.join(' ')} exited ${result.code}: ${result.stderr.slice(-500)}`);
  const [user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return { stdout: result.stdout, stderr: result.stderr, cpuSec: user + sys };
}

/** "1.23ms" / "456.00us" / "1.2s" -> ms */
function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (m === null) throw new Error(`unexpected wrk latency "${text}"`);
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

const tools: Tool[] = [
  {
    name: 'autoscale load',
    available: () => (existsSync(join(root, 'dist/cli.js')) ? null : 'dist/ is missing: run `npx tsc -p tsconfig.build.json` first'),
    run: async (url, conns, sec, extra = []) => {
      const r = await timed(process.execPath, [autoscaleBin, 'load', url, '-t', String(conns), '-d', String(sec), '--json', ...extra]);
      const s = JSON.parse(r.stdout) as { elapsedSec: number; requests: { ok: number; failed: number }; latencyMs: { p50: number; p99: number } | null };
      const requests = s.requests.ok + s.requests.failed;
      return { rps: requests / s.elapsedSec, requests, cpuSec: r.cpuSec, p50Ms: s.latencyMs?.p50 ?? null, p99Ms: s.latencyMs?.p99 ?? null };
    },
  },
  {
    name: 'autocannon',
    available: () => (existsSync(autocannonBin) ? null : 'node_modules/autocannon is missing (npm install)'),
    run: async (url, conns, sec) => {
      const r = await timed(process.execPath, [autocannonBin, '-c', String(conns), '-d', String(sec), '--json', url]);
      const s = JSON.parse(r.stdout) as { duration: number; '2xx': number; non2xx: number; latency: { p50: number; p99: number } };
      const requests = s['2xx'] + s.non2xx;
      return { rps: requests / s.duration, requests, cpuSec: r.cpuSec, p50Ms: s.latency.p50, p99Ms: s.latency.p99 };
    },
  },
  {
    name: 'wrk',
    available: () => {
      const found = (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, 'wrk')));
      return found ? null : 'wrk not installed (apt-get install -y wrk)';
    },
    run: async (url, conns, sec) => {
      const r = await timed('wrk', ['-t1', `-c${conns}`, `-d${sec}s`, '--latency', url]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
      const p50 = /^\s+50%\s+(\S+)/m.exec(r.stdout)?.[1];
      const p99 = /^\s+99%\s+(\S+)/m.exec(r.stdout)?.[1];
      return { rps, requests, cpuSec: r.cpuSec, p50Ms: p50 === undefined ? null : wrkMs(p50), p99Ms: p99 === undefined ? null : wrkMs(p99) };
    },
  },
];

/** Starts the target: a bare node:http server in a child process; resolves with its URL and a stop function. */
async function startTarget(delayMs: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const code = `
    const http = require('node:http');
    const delay = ${delayMs};
    const server = http.createServer((req, res) => { if (delay > 0) setTimeout(() => res.end('ok'), delay); else res.end('ok'); });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
    process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`target exited early (${c})`)));
  });
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (n: number | null, digits = 0): string => (n === null || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

async function throughput(): Promise<void> {
  const target = await startTarget(0);
  const usable = tools.filter((tool) => {
    const why = tool.available();
    if (why !== null) process.stdout.write(`skip ${tool.name}: ${why}\n`);
    return why === null;
  });
  const results = new Map<string, Measured[]>(usable.map((t) => [t.name, []]));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const tool of usable) {
        const m = await tool.run(target.url, connections, duration);
        results.get(tool.name)?.push(m);
        process.stdout.write(
          `round ${round} ${tool.name.padEnd(15)} ${fmt(m.rps)} req/s, cpu ${m.cpuSec.toFixed(2)} s, ${((m.cpuSec * 1e6) / m.requests).toFixed(2)} cpu-us/req\n`,
        );
      }
    }
  } finally {
    await target.stop();
  }

  const med = new Map<string, { rps: number; cpuPct: number; usPerReq: number }>();
  for (const [name, list] of results) {
    med.set(name, {
      rps: median(list.map((m) => m.rps)),
      cpuPct: median(list.map((m) => (m.cpuSec / duration) * 100)),
      usPerReq: median(list.map((m) => (m.cpuSec * 1e6) / m.requests)),
    });
  }
  const ac = med.get('autocannon');
  const wrk = med.get('wrk');
  process.stdout.write(`\nThroughput: bare node:http target, ${connections} connections, ${duration} s, median of ${rounds} rounds\n\n`);
  process.stdout.write('| tool | req/s | generator CPU (% of one core) | CPU-us / request | req/s vs autocannon | req/s vs wrk |\n');
  process.stdout.write('|---|---:|---:|---:|---:|---:|\n');
  for (const [name, m] of med) {
    const vsAc = ac === undefined ? '-' : `${(m.rps / ac.rps).toFixed(2)}x`;
    const vsWrk = wrk === undefined ? '-' : `${(m.rps / wrk.rps).toFixed(2)}x`;
    process.stdout.write(`| ${name} | ${fmt(m.rps)} | ${fmt(m.cpuPct)} | ${m.usPerReq.toFixed(2)} | ${vsAc} | ${vsWrk} |\n`);
  }
}

async function latency(): Promise<void> {
  const delayMs = 5;
  const target = await startTarget(delayMs);
  const rows: { name: string; m: Measured }[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const ours = tools[0];
      const wrk = tools[2];
      if (wrk.available() === null) rows.push({ name: 'wrk -c10 (closed loop)', m: await wrk.run(target.url, 10, duration) });
      rows.push({ name: 'autoscale load -t 10 (closed loop)', m: await ours.run(target.url, 10, duration) });
      rows.push({ name: 'autoscale load --rate 1000 -t 50 (open loop)', m: await ours.run(target.url, 50, duration, ['--rate', '1000']) });
      if (tools[1].available() === null) rows.push({ name: 'autocannon -c10 (closed loop)', m: await tools[1].run(target.url, 10, duration) });
    }
  } finally {
    await target.stop();
  }
  const names = [...new Set(rows.map((r) => r.name))];
  const wrkRows = rows.filter((r) => r.name.startsWith('wrk'));
  const wrkP50 = wrkRows.length > 0 ? median(wrkRows.map((r) => r.m.p50Ms ?? NaN)) : null;
  const wrkP99 = wrkRows.length > 0 ? median(wrkRows.map((r) => r.m.p99Ms ?? NaN)) : null;
  process.stdout.write(`\nLatency: node:http target answering after a fixed ${delayMs} ms, ${duration} s, median of ${rounds} rounds\n\n`);
  process.stdout.write('| tool | req/s | p50 ms | p99 ms | p50 vs wrk | p99 vs wrk |\n|---|---:|---:|---:|---:|---:|\n');
  for (const name of names) {
    const list = rows.filter((r) => r.name === name).map((r) => r.m);
    const p50 = median(list.map((m) => m.p50Ms ?? NaN));
    const p99 = median(list.map((m) => m.p99Ms ?? NaN));
    const rel = (v: number, ref: number | null): string => (ref === null ? '-' : `${(((v - ref) / ref) * 100).toFixed(1)} %`);
    process.stdout.write(`| ${name} | ${fmt(median(list.map((m) => m.rps)))} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${rel(p50, wrkP50)} | ${rel(p99, wrkP99)} |\n`);
  }
}

if (!existsSync(TIME)) {
  process.stdout.write(`skip: ${TIME} is missing (apt-get install -y time); it measures each generator's CPU\n`);
} else {
  try {
    await throughput();
    await latency();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
