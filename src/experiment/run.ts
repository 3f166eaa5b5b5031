/**
 * The experiment, live: its directory under the runs (listed by `autoscale
 * runs`), each arm in turn on the same ports after a pause until the host's
 * CPU is back near idle (bounded, and said when it was not), then the
 * comparison. An abort (Ctrl+C, SIGTERM) stops the current arm cleanly, keeps
 * its run marked interrupted and writes the comparison of what finished.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, platform, totalmem } from 'node:os';
import { join } from 'node:path';
import { createHostCpuSampler, type CpuSampler } from '../lab/sampler.js';
import { loadRun } from '../report/run-dir.js';
import { readLoadFile } from '../runs/read.js';
import { readAssets } from '../report/command.js';
import { EXPERIMENT_FILE, type ArmRecord, type ExperimentRecord } from '../runs/experiment-record.js';
import { createRunDir, LOAD_FILE } from '../runs/paths.js';
import { buildComparison, type ArmInput, type Comparison } from './compare.js';
import { counterfactualPairs } from './counterfactual.js';
import { renderExperimentHtml } from './render-html.js';
import { renderExperimentMarkdown } from './render-md.js';
import { runArm, type ArmLive, type ArmPorts } from './run-arm.js';
import { BannerSender, bannerStatus } from './banner.js';
import { sendRequest } from '../control/client.js';
import { socketPath } from '../control/server.js';
import { QUICK_ARM_OVERHEAD_S } from './quick.js';
import { sha256, type Experiment } from './schema.js';

/** Host CPU busy % under which the next arm may start, and how long to wait for it at most. */
export const IDLE_CPU_PERCENT = 30;
const PAUSE_MAX_S = { full: 45, quick: 4 };

export interface ExperimentOptions {
  exp: Experiment;
  /** The file's text as given (saved with its hash). */
  text: string;
  name: string;
  source: string;
  quick: boolean;
  ports: ArmPorts;
  env: NodeJS.ProcessEnv;
  bin: string;
  tool: { name: string; version: string };
  signal: AbortSignal;
  track: (child: ChildProcess) => void;
  /** Progress, for the view. */
  on: (e: ExperimentProgress) => void;
  sampler?: CpuSampler;
}

export type ExperimentProgress =
  | { type: 'experiment'; dir: string; arms: number; loadSec: number; timeFactor: number; teaches: string }
  | { type: 'pause'; arm: number; message: string }
  | { type: 'arm-start'; arm: number; name: string; runDir: string; loadAverage: number[] }
  | { type: 'live'; arm: number; name: string; live: ArmLive }
  | { type: 'arm-end'; arm: number; name: string; status: ArmRecord['status']; error: string | null }
  | { type: 'done'; dir: string; html: string; md: string; status: ExperimentRecord['status']; claimsMet: number; claims: number; comparison: Comparison };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Wait until host CPU is below IDLE_CPU_PERCENT twice in a row, at most `maxS`. */
async function pauseUntilIdle(sampler: CpuSampler, maxS: number, signal: AbortSignal): Promise<{ cpu: number | null; note: string }> {
  const start = Date.now();
  await sampler.sample();
  let calm = 0;
  let cpu: number | null = null;
  while (!signal.aborted) {
    await sleep(1000, signal);
    cpu = await sampler.sample();
    calm = cpu !== null && cpu < IDLE_CPU_PERCENT ? calm + 1 : 0;
    const waited = (Date.now() - start) / 1000;
    if (calm >= 2) return { cpu, note: `host CPU ${cpu!.toFixed(0)} % after ${waited.toFixed(0)} s: near idle` };
    if (waited >= maxS) return { cpu, note: `host CPU still ${cpu === null ? '–' : cpu.toFixed(0)} % after ${maxS} s (not idle; other programs on this machine): started anyway` };
  }
  return { cpu, note: 'interrupted' };
}

const armDirName = (i: number, name: string) => `arm-${i + 1}-${name}`;

export function readArm(dir: string, record: ArmRecord): ArmInput {
  if (record.status === 'not run') return { record, model: null, load: null };
  try {
    const { model } = loadRun(join(dir, record.runDir));
    let load = null;
    try {
      load = readLoadFile(join(dir, record.runDir, LOAD_FILE)).lines;
    } catch {
      load = null;
    }
    return { record, model, load };
  } catch {
    return { record, model: null, load: null };
  }
}

export async function runExperiment(o: ExperimentOptions): Promise<{ dir: string; html: string; md: string; record: ExperimentRecord; comparison: Comparison }> {
  const { exp } = o;
  const dir = createRunDir(o.env);
  const record: ExperimentRecord = {
    kind: 'autoscale-experiment',
    schema: 1,
    name: o.name,
    title: exp.title,
    source: o.source,
    fileSha256: sha256(o.text),
    quick: o.quick,
    timeFactor: exp.timeFactor,
    tool: { ...o.tool, node: process.versions.node },
    host: { cores: availableParallelism(), memoryBytes: totalmem(), platform: `${platform()} ${process.arch}` },
    ports: o.ports,
    startedAt: new Date().toISOString(),
    endedAt: null,
    status: 'running',
    arms: exp.arms.map((a, i) => ({ name: a.name, description: a.description, runDir: armDirName(i, a.name), status: 'not run', startArgs: [], loadAverageBefore: null, hostCpuBefore: null, pause: null, offsetSec: null, fired: [], error: null })),
    notes: [],
  };
  const save = () => writeFileSync(join(dir, EXPERIMENT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(join(dir, 'experiment.yaml'), o.text);
  save();
  o.on({ type: 'experiment', dir, arms: exp.arms.length, loadSec: exp.loadSec, timeFactor: exp.timeFactor, teaches: exp.teaches });
  const sampler = o.sampler ?? createHostCpuSampler();

  for (let i = 0; i < exp.arms.length && !o.signal.aborted; i++) {
    const arm = exp.arms[i];
    const r = record.arms[i];
    // The previous arm's workers, load and recorder must be gone from the CPU before this one is measured.
    if (!(o.quick && i === 0)) o.on({ type: 'pause', arm: i + 1, message: `waiting up to ${o.quick ? PAUSE_MAX_S.quick : PAUSE_MAX_S.full} s for host CPU below ${IDLE_CPU_PERCENT} %…` });
    // A rehearsal does not wait before its first arm (nothing of ours ran yet); a real run measures the host first.
    const pause = o.quick && i === 0 ? { cpu: null, note: 'no pause before the first arm of a --quick rehearsal' } : await pauseUntilIdle(sampler, o.quick ? PAUSE_MAX_S.quick : PAUSE_MAX_S.full, o.signal);
    if (o.signal.aborted) break;
    r.pause = pause.note;
    r.hostCpuBefore = pause.cpu;
    if (pause.note.startsWith('host CPU still')) record.notes.push(`before ${arm.name}: ${pause.note}`);
    o.on({ type: 'pause', arm: i + 1, message: pause.note });
    r.loadAverageBefore = loadavg().map((v) => Math.round(v * 100) / 100);
    o.on({ type: 'arm-start', arm: i + 1, name: arm.name, runDir: join(dir, r.runDir), loadAverage: r.loadAverageBefore });
    // The same live data, on the arm's live page: its banner shows the experiment, the arm, the phase and the next event.
    const banner = new BannerSender((request) => sendRequest(socketPath(join(dir, r.runDir)), request));
    const out = await runArm(exp, arm, join(dir, r.runDir), {
      bin: o.bin,
      env: o.env,
      ports: o.ports,
      signal: o.signal,
      track: o.track,
      onLive: (live) => {
        o.on({ type: 'live', arm: i + 1, name: arm.name, live });
        banner.update(bannerStatus(o.name, i + 1, exp.arms.length, arm.name, live));
      },
    });
    Object.assign(r, { status: out.status, offsetSec: out.offsetSec, fired: out.fired, error: out.error, startArgs: out.startArgs });
    save();
    o.on({ type: 'arm-end', arm: i + 1, name: arm.name, status: out.status, error: out.error });
    if (out.status === 'failed') record.notes.push(`${arm.name} failed: ${out.error}`);
  }
  const statuses = record.arms.map((a) => a.status);
  record.status = o.signal.aborted || statuses.includes('interrupted') ? 'interrupted' : statuses.every((s) => s === 'finished') ? 'finished' : 'failed';
  record.endedAt = new Date().toISOString();
  save();

  const inputs = record.arms.map((a) => readArm(dir, a));
  const comparison = buildComparison(exp, record, inputs, counterfactualPairs(dir, exp.arms, record.arms, exp.slo.p95Ms));
  const html = join(dir, 'experiment.html');
  const md = join(dir, 'experiment.md');
  const assets = readAssets();
  const pageJs = readFileSync(new URL('../../src/experiment/assets/experiment-page.js', import.meta.url), 'utf8');
  writeFileSync(html, renderExperimentHtml(comparison, { ...assets, pageJs }, `${o.tool.name} ${o.tool.version}`));
  writeFileSync(md, renderExperimentMarkdown(comparison));
  o.on({ type: 'done', dir, html, md, status: record.status, claimsMet: comparison.claims.filter((c) => c.met).length, claims: comparison.claims.length, comparison });
  return { dir, html, md, record, comparison };
}

/** Per-arm seconds beyond its load, for the time-left estimate. */
export function armOverheadSec(quick: boolean): number {
  return quick ? QUICK_ARM_OVERHEAD_S : 15;
}
