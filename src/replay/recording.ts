/**
 * A recorded run as replay needs it: read through the one reader of run
 * directories (src/runs/read.ts: its schema, torn-line and shape rules), then
 * reduced to ticks, scale actions, worker spans, per-second stats and the
 * offered load. The rest of replay trusts what this returns.
 */
import { UsageError } from '../errors.js';
import type { HostInfo } from '../events.js';
import type { Reaction } from '../policy/reaction.js';
import { reactionTimes } from '../report/aggregate.js';
import type { MemoryEvent, PolicyState } from '../policy/step.js';
import type { Observation } from '../policy/measure.js';
import { workerSeconds, workerSpans, type WorkerSpan } from '../policy/worker-seconds.js';
import { readRunDir, type LoadLine, type RecordedSettings } from '../runs/read.js';
import type { LoadMode } from '../simulate/model.js';

export interface RecordedTick {
  t: number;
  instances: number;
  ready: number;
  desired: number;
  cpu: number | null;
  /** The policy's metric as the tick measured it (null: none measured). */
  value: number | null;
  p95: number | null;
  /** Balancer lifetime request count at the tick. */
  total: number;
  /** Sum of the workers' CPU % (of one core) as last reported. */
  workerCpuSum: number;
  paused: boolean;
  /** What the policy was given (recordings from the pipeline's lab carry it): decide() replays it exactly. */
  observation?: Observation;
  state?: PolicyState;
}

export interface RecordedRun {
  dir: string;
  config: RecordedSettings;
  /** Wall clock (ms since the epoch) at the lab's time 0, from the started event (null when absent). */
  startedAt: number | null;
  durationMs: number;
  ticks: RecordedTick[];
  scales: Array<{ t: number; from: number; to: number; manual: boolean }>;
  /** Pause / resume, in order. */
  pauses: Array<{ t: number; paused: boolean }>;
  /** Per worker id: fork, ready and leaving the pool (ms), as src/policy/worker-seconds.ts defines them. */
  workers: Map<number, WorkerSpan>;
  /** Worker-seconds of the recorded run: the one definition, the figure `autoscale report` prints. */
  workerSeconds: number;
  /** What the policy's memory follows between ticks (pauses, scale events, refreshes, cold starts), in order: `remember` (policy/step.ts) folds them. */
  memoryEvents: MemoryEvent[];
  /** Per stats event: time, requests in the last full second, busy cores of the workers. */
  stats: Array<{ t: number; rps: number; busyCores: number }>;
  /** Balancer errors over the run. */
  errors: number;
  /** Workers taken out after failing health checks, and crashes (the replay models neither). */
  unhealthy: number;
  crashed: number;
  load: RecordedLoad | null;
  /** The recording machine, from the started event (runs recorded before it was added have none). */
  host: HostInfo | null;
  /** Reaction times of the recorded run, as `autoscale report` measures them. */
  reactions: Reaction[];
}

export interface RecordedLoad {
  mode: LoadMode;
  /** load.ndjson's lines as the one reader returns them (level: users or req/s). */
  lines: LoadLine[];
}

function bad(dir: string, what: string): never {
  throw new UsageError(`replay ${dir}: ${what}`);
}

/** The longest run replay models: the simulator's limit (simulate --duration). */
const MAX_REPLAY_MS = 31 * 86_400_000;

export function readRun(dir: string): RecordedRun {
  const { events: read, load } = readRunDir(dir);
  const { started, events } = read;
  const config = started.config;
  const host = started.host && started.host.cores >= 1 ? { cores: started.host.cores, memoryBytes: started.host.memoryBytes } : null;
  const ticks: RecordedTick[] = [];
  const scales: RecordedRun['scales'] = [];
  const pauses: RecordedRun['pauses'] = [];
  const memoryEvents: MemoryEvent[] = [];
  const stats: RecordedRun['stats'] = [];
  let errors = 0;
  let unhealthy = 0;
  let crashed = 0;
  for (const e of events) {
    const t = e.t;
    if (e.type === 'paused' || e.type === 'scale' || e.type === 'refresh' || e.type === 'cold-start') memoryEvents.push(e as unknown as MemoryEvent);
    if (e.type === 'tick') {
      ticks.push({
        t,
        instances: e.instances,
        ready: e.ready,
        desired: e.desired,
        cpu: e.cpu,
        value: e.value,
        p95: e.traffic.p95,
        total: e.traffic.total,
        workerCpuSum: e.workers.reduce((a, w) => a + (w.cpu ?? 0), 0),
        paused: e.paused,
        ...(e.observation !== undefined && e.state !== undefined ? { observation: e.observation, state: e.state } : {}),
      });
      errors = Math.max(errors, e.traffic.errors);
    } else if (e.type === 'scale') {
      scales.push({ t, from: e.from, to: e.to, manual: e.manual });
    } else if (e.type === 'worker') {
      if (e.state === 'crashed') crashed++;
    } else if (e.type === 'paused') {
      pauses.push({ t, paused: e.paused });
    } else if (e.type === 'health') {
      if (!e.healthy) unhealthy++;
    } else if (e.type === 'stats') {
      stats.push({ t, rps: e.traffic.rps, busyCores: e.workers.reduce((a, w) => a + (w.state === 'ready' && w.cpu !== null ? w.cpu / 100 : 0), 0) });
      errors = Math.max(errors, e.traffic.errors);
    }
  }
  if (ticks.length === 0) bad(dir, 'events.ndjson has no ticks: nothing to replay');
  if (read.endT > MAX_REPLAY_MS) bad(dir, `the recording spans ${Math.round(read.endT / 86_400_000)} days; replay models runs of up to 31 days`);
  const workers = workerSpans(events.flatMap((e) => (e.type === 'worker' ? [e] : [])));
  let recordedLoad: RecordedLoad | null = null;
  if (load !== null && load.lines.length > 0) {
    if (load.mode === 'mixed') bad(dir, 'load.ndjson mixes closed-loop (threads) and open-loop (targetRate) runs: replay models one kind of load');
    recordedLoad = { mode: load.mode as LoadMode, lines: load.lines };
  }
  return {
    dir,
    config,
    startedAt: started.startedAt,
    durationMs: read.endT,
    ticks,
    scales,
    pauses,
    memoryEvents,
    workers,
    workerSeconds: workerSeconds(workers.values(), read.endT),
    stats,
    errors,
    unhealthy,
    crashed,
    load: recordedLoad,
    reactions: reactionTimes(events, config),
    host,
  };
}
