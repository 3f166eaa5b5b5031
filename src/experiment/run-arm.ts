/**
 * One arm, live: the real `autoscale start --json` as a child process (its
 * own run directory inside the experiment's, its own process group), the
 * load phases as `autoscale load` children writing into that run directory,
 * and the timed events acted on from outside as an operator would: signals
 * by PID (from the lab's own worker events), manual scale / pause / resume /
 * refresh through the lab's control socket (the operator path, recorded as
 * 'command' events), a CPU hog outside the pool. Everything it started is
 * stopped on every way out: SIGTERM, then SIGKILL after a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LIFELINE_ENV } from '../cli-io.js';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { sendRequest } from '../control/client.js';
import { socketPath } from '../control/server.js';
import type { ControlRequest } from '../control/protocol.js';
import type { FiredStep } from '../runs/experiment-record.js';
import { describeEvent, describeSelector, describeStep } from './describe.js';
import { startFlags, type Arm, type Experiment, type TimedEvent } from './schema.js';
import { buildTimeline, realScheduler, TimelineRunner, type Scheduler, type Step } from './timeline.js';

export interface ArmPorts {
  port: number;
  basePort: number;
  metricsPort: number;
  /** --web-port of every arm's live page; null: not passed (the lab's default: the page on when its port is free). */
  webPort: number | null;
}

export interface ArmLive {
  /** Seconds since this arm's load started (0 before). */
  elapsed: number;
  phase: string;
  next: { at: number; label: string } | null;
  /** Seconds after the lab's start at which this arm's load began: timeline times + this = the lab's clock. */
  offsetSec: number;
  /** The arm's live page (its URL with the token, as the lab printed it), or null when it has none. */
  page: string | null;
  instances: number;
  ready: number;
  rps: number;
  errors: number;
}

export interface ArmDeps {
  bin: string;
  env: NodeJS.ProcessEnv;
  ports: ArmPorts;
  signal: AbortSignal;
  onLive: (live: ArmLive) => void;
  /** Every child process started (lab, loads, hogs): the caller's last-resort cleanup kills what is left. */
  track: (child: ChildProcess) => void;
  scheduler?: Scheduler;
}

export interface ArmOutcome {
  status: 'finished' | 'interrupted' | 'failed';
  offsetSec: number | null;
  fired: FiredStep[];
  error: string | null;
  startArgs: string[];
}

/**
 * A hog: one busy core until its own deadline, or until its parent (this experiment) is gone —
 * it cannot outlive its event, even if the experiment is SIGKILLed.
 */
const HOG = 'const end = Date.now() + Number(process.argv[1]); const parent = process.ppid; for (let i = 0; Date.now() < end; i++) if (i % 100000 === 0 && process.ppid !== parent) break;';
const LAB_READY_TIMEOUT_MS = 60_000;
const STOP_DEADLINE_MS = 30_000;

interface LabView {
  startedAt: number | null;
  workers: Map<number, { pid: number | undefined; state: string }>;
  live: Omit<ArmLive, 'elapsed' | 'phase' | 'next' | 'offsetSec' | 'page'>;
  page: string | null;
  stderr: string[];
  exited: boolean;
  exitCode: number | null;
}

export function needsFaults(exp: Experiment): boolean {
  return exp.events.some((e) => e.action === 'fail-500' || e.action === 'fail-health');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalPid(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `ms`; resolves when it exited (or was already gone). */
export async function stopChild(child: ChildProcess, ms: number): Promise<'exited' | 'killed'> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return 'exited';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  if (inTime) return 'exited';
  child.kill('SIGKILL');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
  return 'killed';
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export async function runArm(exp: Experiment, arm: Arm, armDir: string, deps: ArmDeps): Promise<ArmOutcome> {
  const { ports } = deps;
  const startArgs = ['start', '--json', '--no-dashboard', '--run-dir', armDir, '--port', String(ports.port), '--base-port', String(ports.basePort), '--metrics-port', String(ports.metricsPort), ...(ports.webPort === null ? [] : ['--web-port', String(ports.webPort)]), ...startFlags(arm.settings)];
  const fired: FiredStep[] = [];
  const view: LabView = { startedAt: null, workers: new Map(), live: { instances: 0, ready: 0, rps: 0, errors: 0 }, stderr: [], exited: false, exitCode: null, page: null };
  // The lab and the loads hold our pipe on their stdin as a lifeline: if this process dies, even by SIGKILL, they stop.
  const env = { ...(needsFaults(exp) ? { ...deps.env, AUTOSCALE_TEST_FAULTS: '1' } : deps.env), [LIFELINE_ENV]: '1' };
  const lab = spawn(process.execPath, [deps.bin, ...startArgs], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  deps.track(lab);
  const labExited = new Promise<void>((r) => lab.once('exit', (code) => ((view.exited = true), (view.exitCode = code), r())));
  lab.once('error', () => ((view.exited = true), undefined));
  createInterface({ input: lab.stdout! }).on('line', (line) => onLabLine(view, line));
  createInterface({ input: lab.stderr! }).on('line', (line) => {
    const page = /^live page: (http\S+)$/.exec(line);
    if (page !== null) view.page = page[1];
    view.stderr.push(line);
    if (view.stderr.length > 20) view.stderr.shift();
  });
  const labAt = () => (view.startedAt === null ? 0 : (Date.now() - view.startedAt) / 1000);
  const min = Number(arm.settings.min ?? 1);

  const loads: ChildProcess[] = [];
  const hogs = new Map<number, ChildProcess[]>();
  /** Lasting faults still on: event index → how to undo. */
  const undo = new Map<number, () => string>();
  let phase = 'starting the lab';
  let timeline: TimelineRunner | null = null;
  let offsetSec: number | null = null;
  let error: string | null = null;

  const stopLoads = async () => void (await Promise.all(loads.map((l) => stopChild(l, 5000))));
  const cleanup = async () => {
    timeline?.stop();
    for (const [, fn] of undo) fn();
    undo.clear();
    await stopLoads();
    await Promise.all([...hogs.values()].flat().map((h) => stopChild(h, 1000)));
    const how = await stopChild(lab, STOP_DEADLINE_MS);
    // A lab that had to be SIGKILLed could not stop its workers: they go by PID.
    if (how === 'killed') for (const w of view.workers.values()) if (w.pid !== undefined && alive(w.pid)) signalPid(w.pid, 'SIGKILL');
  };

  try {
    // 1. The lab up, with its --min workers ready.
    const deadline = Date.now() + LAB_READY_TIMEOUT_MS;
    while (!deps.signal.aborted && !view.exited && Date.now() < deadline) {
      const ready = [...view.workers.values()].filter((w) => w.state === 'ready').length;
      if (view.startedAt !== null && ready >= min) break;
      await sleep(100, deps.signal);
    }
    if (deps.signal.aborted) {
      await cleanup();
      return { status: 'interrupted', offsetSec, fired, error, startArgs };
    }
    if (view.exited || view.startedAt === null) {
      const why = view.stderr.filter((l) => l.startsWith('error')).at(-1) ?? view.stderr.at(-1) ?? `exit code ${view.exitCode}`;
      error = view.exited ? `the lab exited before it was ready: ${why}` : `the lab was not ready within ${LAB_READY_TIMEOUT_MS / 1000} s`;
      await cleanup();
      return { status: 'failed', offsetSec, fired, error, startArgs };
    }

    // 2. The timeline.
    const url = `http://127.0.0.1:${ports.port}/`;
    const act = (step: Step) => {
      const at = step.kind === 'end' ? exp.loadSec : step.at;
      const record = (what: string, outcome: string) => fired.push({ at, labAt: Math.round(labAt() * 1000) / 1000, what, outcome });
      if (step.kind === 'phase') {
        phase = describeStep(step);
        void stopLoads();
        if (step.phase.threads > 0) {
          const load = spawn(process.execPath, [deps.bin, 'load', url, ...step.phase.flags, '--out', armDir, '--json'], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...deps.env, [LIFELINE_ENV]: '1' }, detached: true });
          deps.track(load);
          loads.push(load);
          load.once('exit', () => loads.splice(loads.indexOf(load), 1));
        }
        record(phase, step.phase.threads > 0 ? 'load started' : 'no load');
      } else if (step.kind === 'event') {
        record(describeEvent(step.event), actOn(step.event, step.index));
      } else if (step.kind === 'event-end') {
        const fn = undo.get(step.index);
        undo.delete(step.index);
        record(describeStep(step), fn ? fn() : 'nothing to undo');
      }
    };

    const actOn = (e: TimedEvent, index: number): string => {
      switch (e.action) {
        case 'sigkill':
        case 'sigstop':
        case 'sigcont':
        case 'fail-500':
        case 'fail-health': {
          const w = pick(view, e);
          if (w === null) return `no ready worker matches ${describeSelector(e.worker)}: skipped`;
          const sig = ({ sigkill: 'SIGKILL', sigstop: 'SIGSTOP', sigcont: 'SIGCONT', 'fail-500': 'SIGUSR2', 'fail-health': 'SIGUSR1' } as const)[e.action];
          if (!signalPid(w.pid, sig)) return `worker ${w.id} (pid ${w.pid}) is gone: skipped`;
          if (e.action === 'sigstop' && e.for !== undefined) undo.set(index, () => (signalPid(w.pid, 'SIGCONT') ? `SIGCONT to worker ${w.id}` : `worker ${w.id} already gone`));
          // The worker's test faults toggle: the same signal again lifts it.
          if (e.action === 'fail-500' || e.action === 'fail-health') undo.set(index, () => (signalPid(w.pid, sig) ? `worker ${w.id} well again` : `worker ${w.id} already gone`));
          return `${sig} to worker ${w.id} (pid ${w.pid})`;
        }
        case 'noisy-neighbour': {
          const cores = Math.min(e.cores ?? 1, availableParallelism());
          const ms = Math.round((e.for ?? 1) * 1000);
          const list: ChildProcess[] = [];
          for (let i = 0; i < cores; i++) {
            const hog = spawn(process.execPath, ['-e', HOG, String(ms)], { stdio: 'ignore', detached: true });
            deps.track(hog);
            list.push(hog);
          }
          hogs.set(index, list);
          undo.set(index, () => {
            for (const h of list) void stopChild(h, 1000);
            hogs.delete(index);
            return `${cores} hog${cores === 1 ? '' : 's'} stopped`;
          });
          return `${cores} busy process${cores === 1 ? '' : 'es'} started (pids ${list.map((h) => h.pid).join(', ')})`;
        }
        case 'scale':
        case 'pause':
        case 'resume':
        case 'refresh': {
          const request: ControlRequest = e.action === 'scale' ? { cmd: 'scale', n: e.n! } : e.action === 'refresh' ? { cmd: 'refresh', minHealthy: e.minHealthy ?? 90 } : { cmd: e.action };
          const i = fired.length;
          // The answer comes later (a refresh takes a while): the fired line is completed when it does.
          void sendRequest(socketPath(armDir), request).then(
            (r) => (fired[i].outcome = `${r.ok ? '' : 'refused: '}${r.message}`),
            (err: Error) => (fired[i].outcome = `control socket: ${err.message}`),
          );
          return 'sent through the control socket';
        }
      }
    };

    timeline = new TimelineRunner(buildTimeline(exp), deps.scheduler ?? realScheduler, act);
    offsetSec = labAt();
    timeline.start();
    const tick = () => {
      const next = timeline!.upcoming();
      deps.onLive({ elapsed: timeline!.elapsed(), phase, next: next === null ? null : { at: next.at, label: describeStep(next) }, offsetSec: offsetSec!, page: view.page, ...view.live });
    };
    // Once as soon as the lab is ready and the timeline runs (the page's banner appears at once), then every second.
    tick();
    const live = setInterval(tick, 1000);
    const onAbort = () => timeline!.stop();
    deps.signal.addEventListener('abort', onAbort, { once: true });
    const labGone = labExited.then(() => 'lab-exited' as const);
    const how = await Promise.race([timeline.done, labGone]);
    clearInterval(live);
    deps.signal.removeEventListener('abort', onAbort);
    if (how === 'lab-exited') {
      error = `the lab stopped on its own during the arm (exit code ${view.exitCode}): ${view.stderr.at(-1) ?? ''}`;
      await cleanup();
      return { status: 'failed', offsetSec, fired, error, startArgs };
    }
    if (how === 'stopped') {
      await cleanup();
      return { status: 'interrupted', offsetSec, fired, error, startArgs };
    }
    // 3. The load window is the timeline's: a load still running (it started late on a busy host) stops now.
    // One more tick is recorded, then the lab stops (said once more, so the page does not wait for an event that has passed).
    phase = 'load over: the lab stops after one more tick';
    tick();
    await stopLoads();
    await sleep(Math.min(3000, Number(arm.settings.interval ?? 3) * 1000), deps.signal);
    await cleanup();
    return { status: deps.signal.aborted ? 'interrupted' : 'finished', offsetSec, fired, error, startArgs };
  } catch (err) {
    await cleanup();
    return { status: 'failed', offsetSec, fired, error: (err as Error).message, startArgs };
  }
}

/** The worker a selector names among the ready ones: newest = highest id, oldest = lowest. */
function pick(view: LabView, e: TimedEvent): { id: number; pid: number } | null {
  const ready = [...view.workers.entries()].filter(([, w]) => w.state === 'ready' && w.pid !== undefined).map(([id, w]) => ({ id, pid: w.pid! }));
  if (ready.length === 0 || e.worker === undefined) return null;
  ready.sort((a, b) => a.id - b.id);
  if (e.worker.kind === 'newest') return ready[ready.length - 1];
  if (e.worker.kind === 'oldest') return ready[0];
  const id = e.worker.id;
  return ready.find((w) => w.id === id) ?? null;
}

function onLabLine(view: LabView, line: string): void {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  if (e.type === 'started' && typeof e.startedAt === 'number') view.startedAt = e.startedAt;
  else if (e.type === 'worker' && typeof e.id === 'number') {
    view.workers.set(e.id, { pid: typeof e.pid === 'number' ? e.pid : undefined, state: String(e.state) });
  } else if (e.type === 'tick') {
    const traffic = (e.traffic ?? {}) as { rps?: number; errors?: number };
    view.live = { instances: Number(e.instances ?? 0), ready: Number(e.ready ?? 0), rps: traffic.rps ?? 0, errors: traffic.errors ?? 0 };
  }
}
