/**
 * The leak soak (`npm run chaos -- --soak 600`): load through a real lab
 * while it is forced to scale out and in every few seconds; every sample
 * period the daemon's heap after a full GC, its RSS and fds, and the
 * longest-lived worker's RSS and fds are recorded, along with any zombie
 * child. After a warm-up (the first minute, or a third of a short soak) the
 * trend must be flat: the last third of the samples may not exceed the first
 * third of the post-warm-up samples by more than wide margins.
 *
 * The lab runs in this process (as in scenario 4) so that its heap can be
 * measured after a real GC; load comes from `autoscale load` in a child.
 */
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runLoad } from '../harness/daemon.js';
import { freePort, procStats, sleep, tempDir, waitFor, zombiesOf } from '../harness/process.js';
import type { ChaosContext } from './faults.js';
import { Recorder, type ScenarioResult } from './report.js';
import { rmSync } from 'node:fs';

export interface SoakSample {
  t: number;
  heapMB: number;
  rssMB: number;
  fds: number;
  workerRssMB: number | null;
  workerFds: number | null;
  zombies: number;
  workers: number;
}

/** Margins for "flat": growth of the last third over the first post-warm-up third. */
export const SOAK_MARGINS = { heapMB: 8, rssMB: 40, fds: 15, workerRssMB: 30, workerFds: 10 };

function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Growth of each measure: mean of the last third minus mean of the first third of `samples`. */
export function trend(samples: SoakSample[]): Record<keyof typeof SOAK_MARGINS, number> {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = samples.slice(0, third);
  const last = samples.slice(-third);
  const g = (k: keyof SoakSample) => mean(last.map((s) => Number(s[k] ?? 0))) - mean(first.map((s) => Number(s[k] ?? 0)));
  return { heapMB: g('heapMB'), rssMB: g('rssMB'), fds: g('fds'), workerRssMB: g('workerRssMB'), workerFds: g('workerFds') };
}

export async function soak(ctx: ChaosContext, durationSec: number): Promise<ScenarioResult & { samples: SoakSample[] }> {
  const r = new Recorder(`soak ${durationSec} s with scale cycles`);
  const sampleEveryMs = durationSec >= 300 ? 10_000 : 5000;
  const warmupSec = durationSec >= 300 ? 60 : Math.round(durationSec / 3);
  const gc = fullGc();
  const { resolveConfig } = await import('../src/settings/config.js');
  const { Lab } = await import('../src/lab/lab.js');
  const config = resolveConfig({ port: '0', basePort: String(await freePort()), min: '1', max: '4', interval: '1', cooldown: '0', work: '5' });
  const runDir = tempDir('autoscale-chaos-soak-');
  const lab = new Lab(config, { runDir, sampler: { sample: async () => 25 } });
  const samples: SoakSample[] = [];
  let cycles = 0;
  try {
    await lab.listen();
    await lab.run();
    await waitFor('a ready worker', () => lab.supervisor.counts().ready >= 1, 20_000);
    const load = runLoad(lab.balancer.url, ['--threads', '8', '--duration', String(durationSec), '--timeout', '10000']);
    const t0 = Date.now();
    let up = true;
    // Each step is the request `autoscale scale <n>` sends over the control socket, handled by the
    // same Operator.command (the first one pauses automatic scaling).
    const cycle = setInterval(() => {
      const n = lab.supervisor.desired;
      if (n >= 4) up = false;
      if (n <= 1) up = true;
      void lab.command({ cmd: 'scale', n: n + (up ? 1 : -1) }, 'control socket');
      cycles++;
    }, 3000);
    const longest = () => lab.supervisor.records().filter((w) => w.state === 'ready' && w.pid !== undefined).sort((a, b) => a.id - b.id)[0];
    const firstWorker = longest()?.id;
    try {
      while (Date.now() - t0 < durationSec * 1000 - 500) {
        await sleep(Math.min(sampleEveryMs, durationSec * 1000 - (Date.now() - t0)));
        gc();
        const mem = process.memoryUsage();
        const w = longest();
        const ws = w?.id === firstWorker && w.pid !== undefined ? procStats(w.pid) : null;
        const sample: SoakSample = {
          t: Math.round((Date.now() - t0) / 1000),
          heapMB: Math.round((mem.heapUsed / 1e6) * 10) / 10,
          rssMB: Math.round(mem.rss / 1e6),
          fds: readdirSync('/proc/self/fd').length,
          workerRssMB: ws ? Math.round(ws.rss / 1e6) : null,
          workerFds: ws ? ws.fds : null,
          zombies: zombiesOf(process.pid).length,
          workers: lab.supervisor.counts().live,
        };
        samples.push(sample);
        ctx.log(`  soak t=${sample.t}s heap ${sample.heapMB} MB rss ${sample.rssMB} MB fds ${sample.fds} worker rss ${sample.workerRssMB} MB fds ${sample.workerFds} zombies ${sample.zombies} workers ${sample.workers}`);
      }
    } finally {
      clearInterval(cycle);
    }
    const { summary } = await load.done;
    r.requests = summary.requests.sent;
    r.failed = summary.requests.failed;
    r.expected = '0, flat';
    const steady = samples.filter((s) => s.t > warmupSec);
    const g = trend(steady);
    r.recover = `after ${warmupSec} s: heap ${g.heapMB >= 0 ? '+' : ''}${g.heapMB.toFixed(1)} MB, rss ${g.rssMB >= 0 ? '+' : ''}${g.rssMB.toFixed(0)} MB, fds ${g.fds >= 0 ? '+' : ''}${g.fds.toFixed(0)}`;
    r.note(`${cycles} scale steps; longest-lived worker rss ${g.workerRssMB.toFixed(0)} MB, fds ${g.workerFds.toFixed(0)} growth`);
    r.check('0 failed under scale cycles', r.failed === 0 && r.requests > 0, `${r.failed} of ${r.requests}`);
    r.check('enough samples after the warm-up', steady.length >= 3, `${steady.length}`);
    for (const k of Object.keys(SOAK_MARGINS) as Array<keyof typeof SOAK_MARGINS>) {
      r.check(`${k} flat (growth ≤ ${SOAK_MARGINS[k]})`, g[k] <= SOAK_MARGINS[k], `${g[k].toFixed(1)}; samples ${steady.map((s) => s[k]).join(' ')}`);
    }
    r.check('the longest-lived worker was sampled throughout', steady.every((s) => s.workerRssMB !== null), '');
    // A child that just exited may be caught before it is reaped; one that stays a zombie is a leak.
    r.check('no zombie processes', samples.every((s, i) => s.zombies === 0 || (samples[i + 1]?.zombies ?? 0) === 0) && zombiesOf(process.pid).length === 0, samples.map((s) => s.zombies).join(' '));
    return { ...r.done(), samples };
  } catch (err) {
    return { ...r.crashed(err), samples };
  } finally {
    lab.killAllSync();
    await lab.stop('soak over');
    rmSync(runDir, { recursive: true, force: true });
  }
}
