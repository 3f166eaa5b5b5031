/**
 * Reads a recorded run: `events.ndjson` (what every `autoscale start` records
 * in its run directory, `stats` included when the recorder kept them) and,
 * when present, `load.ndjson` (`autoscale load --record` / `--out`). Checks the schema once, here; the
 * rest of replay trusts what this returns.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { LAB_EVENT_TYPES, type HostInfo, type LabEvent, type LabSettings } from '../events.js';
import type { Reaction } from '../policy/reaction.js';
import { reactionTimes } from '../report/aggregate.js';
import type { MemoryEvent, PolicyState } from '../policy/step.js';
import type { Observation } from '../policy/measure.js';
import type { LoadMode } from '../simulate/model.js';

// Every type the lab publishes, and 'note': a line the recorder writes when its size bound leaves events out
// (src/runs/bound.ts). Commands, refreshes, cold starts and hints have nothing of their own to replay: what
// they changed is in the scale, worker and tick events.
const KNOWN = new Set([...Object.keys(LAB_EVENT_TYPES), 'note']);

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
  config: LabSettings;
  /** Wall clock (ms since the epoch) at the lab's time 0, from the started event (null when absent). */
  startedAt: number | null;
  durationMs: number;
  ticks: RecordedTick[];
  scales: Array<{ t: number; from: number; to: number; manual: boolean }>;
  /** Pause / resume, in order. */
  pauses: Array<{ t: number; paused: boolean }>;
  /** What the policy's memory follows between ticks (pauses, scale events, refreshes, cold starts), in order: `remember` (policy/step.ts) folds them. */
  memoryEvents: MemoryEvent[];
  /** Per worker id: fork time and ready time (ms), exit time if it left. */
  workers: Map<number, { startedAt: number; readyAt: number | null; leftAt: number | null }>;
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
  /**
   * Per line: end of the interval (s since the load started), its wall clock (ms since the epoch; null in
   * lines written before autoscale load recorded it), interval length, level (users or req/s), achieved rps, p50, errors.
   */
  lines: Array<{ t: number; at: number | null; dt: number; level: number; rps: number; p50: number | null; errors: number }>;
}

function bad(dir: string, what: string): never {
  throw new UsageError(`replay ${dir}: ${what}`);
}

export function readRun(dir: string): RecordedRun {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) bad(dir, 'not a directory');
  const file = join(dir, 'events.ndjson');
  if (!existsSync(file)) bad(dir, 'no events.ndjson: not a recorded run (every `autoscale start` records one unless --no-record; `autoscale runs` lists them)');
  const events: Array<Record<string, unknown>> = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        bad(dir, `events.ndjson line ${i + 1} is not JSON`);
      }
      if (typeof e !== 'object' || e === null || typeof (e as { type?: unknown }).type !== 'string' || typeof (e as { t?: unknown }).t !== 'number') {
        bad(dir, `events.ndjson line ${i + 1} is not a lab event (no "type" and "t")`);
      }
      const type = (e as { type: string }).type;
      if (!KNOWN.has(type)) bad(dir, `events.ndjson line ${i + 1}: event type "${type}" is not a schema this version knows`);
      events.push(e as Record<string, unknown>);
    });
  const started = events.find((e) => e.type === 'started');
  if (!started || typeof started.config !== 'object' || started.config === null) bad(dir, 'events.ndjson has no "started" event with the lab config');
  const config = started.config as LabSettings;
  const h = started.host as Partial<HostInfo> | undefined;
  const host = h && typeof h.cores === 'number' && h.cores >= 1 ? { cores: h.cores, memoryBytes: typeof h.memoryBytes === 'number' ? h.memoryBytes : 0 } : null;
  for (const k of ['min', 'max', 'interval', 'metric', 'policy', 'warmup'] as const) {
    if (config[k] === undefined) bad(dir, `the started event's config has no "${k}": not a schema this version knows`);
  }
  const ticks: RecordedTick[] = [];
  const scales: RecordedRun['scales'] = [];
  const pauses: RecordedRun['pauses'] = [];
  const memoryEvents: MemoryEvent[] = [];
  const workers: RecordedRun['workers'] = new Map();
  const stats: RecordedRun['stats'] = [];
  let errors = 0;
  let unhealthy = 0;
  let crashed = 0;
  let end = 0;
  for (const e of events) {
    const t = e.t as number;
    end = Math.max(end, t);
    if (e.type === 'paused' || e.type === 'scale' || e.type === 'refresh' || e.type === 'cold-start') memoryEvents.push(e as unknown as MemoryEvent);
    if (e.type === 'tick') {
      const traffic = (e.traffic ?? {}) as { p95?: number | null; total?: number; errors?: number };
      const ws = (Array.isArray(e.workers) ? e.workers : []) as Array<{ cpu?: number | null }>;
      if (typeof e.instances !== 'number' || typeof e.desired !== 'number') bad(dir, `tick at ${t} ms has no instances/desired: not a schema this version knows`);
      ticks.push({
        t,
        instances: e.instances,
        ready: typeof e.ready === 'number' ? e.ready : e.instances,
        desired: e.desired,
        cpu: typeof e.cpu === 'number' ? e.cpu : null,
        value: typeof e.value === 'number' ? e.value : null,
        p95: typeof traffic.p95 === 'number' ? traffic.p95 : null,
        total: traffic.total ?? 0,
        workerCpuSum: ws.reduce((a, w) => a + (typeof w.cpu === 'number' ? w.cpu : 0), 0),
        paused: e.paused === true,
        ...(typeof e.observation === 'object' && e.observation !== null && typeof e.state === 'object' && e.state !== null
          ? { observation: e.observation as Observation, state: e.state as PolicyState }
          : {}),
      });
      errors = Math.max(errors, traffic.errors ?? 0);
    } else if (e.type === 'scale') {
      scales.push({ t, from: e.from as number, to: e.to as number, manual: e.manual === true });
    } else if (e.type === 'worker') {
      const id = e.id as number;
      if (e.from === null) workers.set(id, { startedAt: t, readyAt: null, leftAt: null });
      const w = workers.get(id);
      if (!w) continue;
      if (e.state === 'ready' && w.readyAt === null) w.readyAt = t;
      if (e.state === 'crashed') crashed++;
      if (['draining', 'stopping', 'exited', 'crashed'].includes(e.state as string) && w.leftAt === null) w.leftAt = t;
    } else if (e.type === 'paused') {
      pauses.push({ t, paused: e.paused === true });
    } else if (e.type === 'health') {
      if (e.healthy === false) unhealthy++;
    } else if (e.type === 'stats') {
      const traffic = (e.traffic ?? {}) as { rps?: number; errors?: number };
      const ws = (Array.isArray(e.workers) ? e.workers : []) as Array<{ cpu?: number | null; state?: string }>;
      stats.push({ t, rps: traffic.rps ?? 0, busyCores: ws.reduce((a, w) => a + (w.state === 'ready' && typeof w.cpu === 'number' ? w.cpu / 100 : 0), 0) });
      errors = Math.max(errors, traffic.errors ?? 0);
    }
  }
  if (ticks.length === 0) bad(dir, 'events.ndjson has no ticks: nothing to replay');
  const reactions = reactionTimes(events as unknown as LabEvent[], config);
  const startedAt = typeof started.startedAt === 'number' ? started.startedAt : null;
  return { dir, config, startedAt, durationMs: end, ticks, scales, pauses, memoryEvents, workers, stats, errors, unhealthy, crashed, load: readLoad(dir), reactions, host };
}

function readLoad(dir: string): RecordedLoad | null {
  const file = join(dir, 'load.ndjson');
  if (!existsSync(file)) return null;
  const lines: RecordedLoad['lines'] = [];
  let mode: LoadMode | null = null;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        bad(dir, `load.ndjson line ${i + 1} is not JSON`);
      }
      const m: LoadMode | null = typeof o.threads === 'number' ? 'closed' : typeof o.targetRate === 'number' ? 'open' : null;
      if (m === null || typeof o.t !== 'number' || typeof o.rps !== 'number') bad(dir, `load.ndjson line ${i + 1} is not an \`autoscale load --out\` line`);
      mode ??= m;
      lines.push({
        t: o.t,
        at: typeof o.at === 'number' ? o.at : null,
        dt: typeof o.dt === 'number' ? o.dt : 1,
        level: (m === 'closed' ? o.threads : o.targetRate) as number,
        rps: o.rps,
        p50: typeof o.p50 === 'number' ? o.p50 : null,
        errors: typeof o.errors === 'number' ? o.errors : 0,
      });
    });
  if (lines.length === 0 || mode === null) return null;
  return { mode, lines };
}
