/**
 * CLI start-up: how long `autoscale --help` and `autoscale status` take as
 * whole processes, against `node -e 1` measured in the same run.
 *
 *   node --import tsx bench/cli-startup.ts [--rounds 20] [--vs <other checkout's bin/autoscale.js>]
 *
 * Starts one real lab (free ports, a throwaway state dir) so `status` has a
 * lab to ask, then runs, round after round and in a rotating order,
 * `node -e 1`, `autoscale --help`, `autoscale status` against that lab and
 * `autoscale status` with no lab (an empty state dir: "no lab is running").
 * Prints each command's median and the median of its per-round ratio to
 * `node -e 1` (a pair taken close together, so drift in the machine's speed
 * cancels). The bar: --help and status within 1.3×. With --vs, the
 * other checkout's --help and status (no lab) join the rotation, e.g. the
 * tree before a change. The lab is stopped on every exit path.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BIN, Daemon } from '../harness/daemon.js';
import { freePort } from '../harness/process.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, vs: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 500) {
  process.stderr.write(`error: --rounds must be a whole number from 1 to 500 (received ${JSON.stringify(args.rounds)})\n`);
  process.exit(2);
}

const labState = mkdtempSync(join(tmpdir(), 'autoscale-bench-cli-state-'));
const emptyState = mkdtempSync(join(tmpdir(), 'autoscale-bench-cli-empty-'));
const lab = new Daemon({ port: await freePort(), basePort: await freePort(), stateDir: labState, args: ['--web-port', '0', '--metrics-port', '0', '--min', '1', '--max', '1'] });
const cleanup = async () => {
  await lab.cleanup();
  rmSync(labState, { recursive: true, force: true });
  rmSync(emptyState, { recursive: true, force: true });
};
for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => void cleanup().finally(() => process.exit(130)));

interface Cmd {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** The exit code it must end with, so a broken command is not timed as a fast one. */
  expect: number;
}

const COMMANDS: Cmd[] = [
  { name: 'node -e 1', argv: ['-e', '1'], env: process.env, expect: 0 },
  { name: 'autoscale --help', argv: [BIN, '--help'], env: process.env, expect: 0 },
  { name: 'autoscale status (a lab)', argv: [BIN, 'status'], env: { ...process.env, XDG_STATE_HOME: labState }, expect: 0 },
  { name: 'autoscale status (no lab)', argv: [BIN, 'status'], env: { ...process.env, XDG_STATE_HOME: emptyState }, expect: 1 },
  ...(args.vs === undefined
    ? []
    : [
        { name: '--vs: --help', argv: [args.vs, '--help'], env: process.env, expect: 0 },
        { name: '--vs: status (no lab)', argv: [args.vs, 'status'], env: { ...process.env, XDG_STATE_HOME: emptyState }, expect: 1 },
      ]),
];

function timeOnce(c: Cmd): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.argv, { env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== c.expect) throw new Error(`${c.name} exited ${r.status ?? r.signal}, expected ${c.expect}: ${String(r.stderr).slice(-300)}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  await lab.waitReady(1, 30_000);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  for (const c of COMMANDS) timeOnce(c); // warm-up: the file cache, not counted
  const times = COMMANDS.map(() => [] as number[]);
  const ratios = COMMANDS.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    const ms: number[] = [];
    // Rotate the order so no command always runs first (or right after another).
    for (let k = 0; k < COMMANDS.length; k++) {
      const i = (k + round) % COMMANDS.length;
      ms[i] = timeOnce(COMMANDS[i]);
    }
    ms.forEach((m, i) => {
      times[i].push(m);
      ratios[i].push(m / ms[0]);
    });
  }
  process.stdout.write(`${ROUNDS} rounds, interleaved; load average at start ${load}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`${'command'.padEnd(28)} ${'median ms'.padStart(10)} ${'min'.padStart(6)} ${'max'.padStart(6)}  × node -e 1 (median of per-round ratios)\n`);
  COMMANDS.forEach((c, i) => {
    const t = times[i];
    process.stdout.write(
      `${c.name.padEnd(28)} ${median(t).toFixed(0).padStart(10)} ${Math.min(...t).toFixed(0).padStart(6)} ${Math.max(...t).toFixed(0).padStart(6)}  ${i === 0 ? '1.00' : median(ratios[i]).toFixed(2)}\n`,
    );
  });
} finally {
  await cleanup();
}
