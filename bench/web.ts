/**
 * What the live page costs the lab, in the lab daemon's own CPU time
 * (user + system of its process from /proc; the workers are not counted):
 *
 *   off     an idle lab with the page off (--web-port 0)
 *   on      the same lab with the page on and no browser
 *   5 pages the page on and five event streams connected (what five open
 *           browsers cost the server: one frame a second each)
 *
 * Budgets (issue 22): the page on ≤ 2 % of a core for an idle lab; five
 * browsers ≤ 1 % of a core over none. Each window is --seconds long (default
 * 30) after a 15 s warm-up. With the page on, the lab is measured without a
 * browser, then with five, then without again: the streams' cost is the
 * middle window minus the mean of the two around it (a lab's CPU drifts
 * down in its first minute, so "before" alone would flatter the streams).
 * --rounds times (default 3), the two labs in alternating order; medians are
 * reported, with the load averages (the machine may be shared).
 *
 *   npm run bench -- web
 *   node --import tsx bench/web.ts --seconds 60 --rounds 5
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin/autoscale.js');
const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, rounds: { type: 'string', default: '3' } } });
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const CLIENTS = 5;

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => process.exit(130));

interface Lab {
  pid: number;
  webPort: number;
  token: string;
  stop(): Promise<void>;
}

async function startLab(page: boolean): Promise<Lab> {
  const [port, basePort, webPort] = [await freePort(), await freePort(), await freePort()];
  const state = mkdtempSync(join(tmpdir(), 'autoscale-bench-web-'));
  dirs.add(state);
  const flags = ['start', '--json', '--min', '1', '--max', '1', '--port', String(port), '--base-port', String(basePort), '--metrics-port', '0', '--web-port', page ? String(webPort) : '0'];
  const lab = spawn(process.execPath, [BIN, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: state } });
  children.add(lab);
  let out = '';
  let err = '';
  lab.stdout!.on('data', (d) => (out += d));
  lab.stderr!.on('data', (d) => (err += d));
  const end = Date.now() + 60_000;
  while (!/"state":"ready"/.test(out) || (page && !/live page: /.test(err))) {
    if (lab.exitCode !== null || Date.now() > end) throw new Error(`the lab did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = page ? /live page: \S+\?token=(\S+)/.exec(err)![1] : '';
  return {
    pid: lab.pid!,
    webPort,
    token,
    stop: async () => {
      lab.kill('SIGTERM');
      if (lab.exitCode === null) await once(lab, 'exit');
      children.delete(lab);
      rmSync(state, { recursive: true, force: true });
      dirs.delete(state);
    },
  };
}

/** One reader of the event stream, as a browser's EventSource is; returns how to close it. */
function stream(lab: Lab): Promise<{ close(): void; bytes(): number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const req = get({ host: '127.0.0.1', port: lab.webPort, path: '/events', headers: { cookie: `autoscale-${lab.webPort}=${lab.token}` } }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) return reject(new Error(`/events answered ${res.statusCode}`));
      res.on('data', (d: Buffer) => (bytes += d.length));
      resolve({ close: () => req.destroy(), bytes: () => bytes });
    });
    req.on('error', () => {});
  });
}

/** % of one core the lab's process used over SECONDS. */
async function measure(lab: Lab): Promise<number> {
  const c0 = cpuSeconds(lab.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  return ((cpuSeconds(lab.pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (v: number) => `${v.toFixed(2)} %`;
const la = () => loadavg().map((v) => v.toFixed(2)).join(' ');

async function main(): Promise<void> {
  console.log(`host: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}; ${SECONDS} s per case, ${ROUNDS} rounds; load average at start ${la()}`);
  const off: number[] = [];
  const on: number[] = [];
  const five: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? ['off', 'page'] : ['page', 'off'];
    for (const which of order) {
      const lab = await startLab(which === 'page');
      try {
        // Warm-up: the first ticks, the JIT, the sampler's first reading.
        await new Promise((r) => setTimeout(r, 15_000));
        if (which === 'off') {
          off.push(await measure(lab));
          console.log(`round ${round}  page off             ${pct(off.at(-1)!)} of a core   (load average ${la()})`);
          continue;
        }
        const before = await measure(lab);
        on.push(before);
        console.log(`round ${round}  page on, no browser  ${pct(before)} of a core   (load average ${la()})`);
        const clients = await Promise.all(Array.from({ length: CLIENTS }, () => stream(lab)));
        await new Promise((r) => setTimeout(r, 2000));
        const withStreams = await measure(lab);
        const got = clients.map((c) => c.bytes());
        for (const c of clients) c.close();
        console.log(`round ${round}  page on, ${CLIENTS} streams   ${pct(withStreams)} of a core   (load average ${la()}; each stream received ${Math.min(...got)}–${Math.max(...got)} bytes)`);
        await new Promise((r) => setTimeout(r, 2000));
        const after = await measure(lab);
        console.log(`round ${round}  page on, no browser  ${pct(after)} of a core   (again, after the streams closed; load average ${la()})`);
        five.push(withStreams - (before + after) / 2);
      } finally {
        await lab.stop();
      }
    }
  }
  const mOff = median(off);
  const mOn = median(on);
  const mFive = median(five);
  console.log('');
  console.log(`median over ${ROUNDS} rounds (daemon process, user+sys; workers not counted):`);
  console.log(`  idle lab, page off               ${pct(mOff)} of a core`);
  console.log(`  idle lab, page on, no browser    ${pct(mOn)} of a core   (budget ≤ 2 %: ${mOn <= 2 ? 'met' : 'NOT met'}; the page itself adds ${pct(mOn - mOff)})`);
  console.log(`  ${CLIENTS} streams over none            ${pct(mFive)} of a core   (budget ≤ 1 %: ${mFive <= 1 ? 'met' : 'NOT met'})`);
  console.log(`load average at the end ${la()}`);
}

await main();
