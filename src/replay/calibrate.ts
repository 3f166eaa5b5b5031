/**
 * The capacity model, calibrated from the run itself: offered load (the load
 * generator's, aligned to the lab's clock, or else the balancer's arrivals),
 * CPU per request (worker CPU ÷ requests served), the cores the workers could
 * use together, the idle round trip, the p95/mean factor, the host-CPU line
 * and the boot time. Pure: a RecordedRun in, numbers out.
 */
import { UsageError } from '../errors.js';
import type { OfferedLoad } from '../simulate/load.js';
import { EXPONENTIAL_P95, evaluateSecond, type CapacityModel } from '../simulate/model.js';
import { median } from '../simulate/summary.js';
import type { RecordedRun } from './recording.js';

export interface Calibration {
  model: CapacityModel;
  load: OfferedLoad;
  /** Requests the balancer completed, per second of the run. */
  served: Float64Array;
  bootMs: number;
  bootSamples: number;
  /** Load generator start, seconds after the lab's start (null: no load.ndjson). */
  offsetS: number | null;
  /** How the load was placed on the lab's clock: both wall clocks, or the best correlation with the balancer's arrivals. */
  alignedBy: 'wall clock' | 'correlation' | null;
  /** Correlation of the load's achieved rate with the balancer's arrivals at that offset. */
  correlation: number | null;
  /** Host cores the workers used together at most (99th percentile of one-second sums). */
  busyCoresP99: number;
  /** Measured worker CPU per request served, core-seconds. */
  cpuPerRequest: number;
  /** Seconds in which the workers were saturated (where service time and core share were measured). */
  saturatedSeconds: number;

}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>, offset: number): { r: number; n: number } {
  let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (let j = 0; j < a.length; j++) {
    const i = j + offset;
    if (i < 0 || i >= b.length) continue;
    n++;
    sa += a[j]; sb += b[i]; saa += a[j] * a[j]; sbb += b[i] * b[i]; sab += a[j] * b[i];
  }
  const cov = sab - (sa * sb) / n;
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  return { r: n > 1 && va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : -1, n };
}

export function servedPerSecond(run: RecordedRun, D: number): Float64Array {
  const served = new Float64Array(D);
  if (run.stats.length >= 10) {
    // A stats event's rps counts the last full second before it.
    for (const s of run.stats) {
      const i = Math.floor(s.t / 1000) - 1;
      if (i >= 0 && i < D) served[i] = s.rps;
    }
    return served;
  }
  let prevT = 0;
  let prevTotal = 0;
  for (const k of run.ticks) {
    const from = Math.floor(prevT / 1000);
    const to = Math.max(from + 1, Math.floor(k.t / 1000));
    const per = (k.total - prevTotal) / (to - from);
    for (let i = from; i < to && i < D; i++) served[i] = per;
    prevT = k.t;
    prevTotal = k.total;
  }
  return served;
}

/** Ready workers at the middle of each second. */
function readyPerSecond(run: RecordedRun, D: number): Int32Array {
  const ready = new Int32Array(D);
  for (const w of run.workers.values()) {
    if (w.readyAt === null) continue;
    const from = Math.max(0, Math.ceil((w.readyAt - 500) / 1000));
    const to = w.leftAt === null ? D : Math.min(D, Math.ceil((w.leftAt - 500) / 1000));
    for (let i = from; i < to; i++) ready[i]++;
  }
  return ready;
}

/** Rolling median over ±half seconds of the known values; gaps take the nearest known value; none known: 0. */
export function smoothFill(xs: Float64Array, half: number): Float64Array {
  const out = new Float64Array(xs.length);
  const known: number[] = [];
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) known.push(i);
  if (known.length === 0) return out;
  let k = 0;
  for (let i = 0; i < xs.length; i++) {
    while (k < known.length - 1 && Math.abs(known[k + 1] - i) <= Math.abs(known[k] - i)) k++;
    const c = known[k];
    const window: number[] = [];
    for (let j = c - half; j <= c + half; j++) if (j >= 0 && j < xs.length && !Number.isNaN(xs[j])) window.push(xs[j]);
    out[i] = median(window) ?? 0;
  }
  return out;
}

/** `hostCores`: the cores of the machine the run was recorded on (its started event says; for older recordings the caller passes this machine's). */
export function calibrate(run: RecordedRun, hostCores: number): Calibration {
  const D = Math.max(1, Math.ceil(run.durationMs / 1000));
  const served = servedPerSecond(run, D);

  // Offered load, on the lab's clock.
  let load: OfferedLoad;
  let offsetS: number | null = null;
  let corr: number | null = null;
  let alignedBy: Calibration['alignedBy'] = null;
  if (run.load) {
    const lines = run.load.lines;
    const achieved = lines.map((l) => l.rps);
    const perSecond = new Float64Array(D);
    const startedAt = run.startedAt;
    if (startedAt !== null && lines.every((l) => l.at !== null)) {
      // Both clocks are this machine's wall clock: each line's interval lands where it was, to the ms, and a
      // lab second that straddles two lines (a burst switching) gets their time-weighted level.
      for (const l of lines) {
        const end = ((l.at as number) - startedAt) / 1000;
        const start = end - l.dt;
        for (let i = Math.max(0, Math.floor(start)); i < Math.min(D, Math.ceil(end)); i++) {
          perSecond[i] += l.level * Math.max(0, Math.min(end, i + 1) - Math.max(start, i));
        }
      }
      const first = lines[0];
      offsetS = Math.round((((first.at as number) - startedAt) / 1000 - first.dt) * 10) / 10;
      corr = correlation(achieved, served, Math.round(offsetS)).r;
      alignedBy = 'wall clock';
    } else {
      let best = { o: 0, r: -2 };
      for (let o = -5; o < D; o++) {
        const c = correlation(achieved, served, o);
        if (c.n >= Math.min(10, lines.length) && c.r > best.r) best = { o, r: c.r };
      }
      offsetS = best.o;
      corr = best.r;
      alignedBy = 'correlation';
      lines.forEach((l, j) => {
        const i = j + best.o;
        if (i >= 0 && i < D) perSecond[i] = l.level;
      });
    }
    load = { mode: run.load.mode, perSecond, source: `load.ndjson (${run.load.mode === 'closed' ? 'virtual users' : 'arrival rate'})` };
  } else {
    load = { mode: 'open', perSecond: Float64Array.from(served), source: "the balancer's arrivals (no load.ndjson)" };
  }

  // CPU per request and the cores the workers could use.
  let cpuSeconds = 0;
  let requests = 0;
  const busy: number[] = [];
  const busySeconds: Array<number | null> = Array.from({ length: D }, () => null);
  if (run.stats.length >= 10) {
    for (const s of run.stats) {
      busy.push(s.busyCores);
      const i = Math.floor(s.t / 1000) - 1;
      if (i >= 0 && i < D) busySeconds[i] = s.busyCores;
      if (s.rps > 0) {
        cpuSeconds += s.busyCores;
        requests += s.rps;
      }
    }
  } else {
    let prev = { t: 0, total: 0 };
    for (const k of run.ticks) {
      const dt = (k.t - prev.t) / 1000;
      busy.push(k.workerCpuSum / 100);
      for (let i = Math.floor(prev.t / 1000); i < Math.min(D, Math.floor(k.t / 1000)); i++) busySeconds[i] = k.workerCpuSum / 100;
      if (k.total > prev.total) {
        cpuSeconds += (k.workerCpuSum / 100) * dt;
        requests += k.total - prev.total;
      }
      prev = { t: k.t, total: k.total };
    }
  }
  if (requests === 0 || cpuSeconds === 0) throw new UsageError(`replay ${run.dir}: the run served no requests (or reported no worker CPU): nothing to calibrate the model on`);
  const cpuPerRequest = cpuSeconds / requests;
  // Per second while the workers were saturated: the wall time a request held a worker, and the share
  // of a core a busy worker got (the host is shared with the load generator, the balancer, anything else).
  const readyAt = readyPerSecond(run, D);
  let peakOffered = 0;
  for (const x of load.perSecond) peakOffered = Math.max(peakOffered, x);
  const serviceEst = new Float64Array(D).fill(Number.NaN);
  const cpuEst = new Float64Array(D).fill(Number.NaN);
  for (let i = 0; i < D; i++) {
    const nReady = readyAt[i];
    if (nReady === 0 || served[i] <= 0) continue;
    const b = busySeconds[i];
    if (b !== null && b > 0) cpuEst[i] = b / served[i];
    const saturated = load.mode === 'closed' ? load.perSecond[i] >= 0.5 * peakOffered : served[i] < 0.9 * load.perSecond[i];
    if (!saturated) continue;
    serviceEst[i] = (1000 * nReady) / served[i];
  }
  const saturatedSeconds = serviceEst.filter((x) => !Number.isNaN(x)).length;
  const service = saturatedSeconds > 0 ? smoothFill(serviceEst, 5) : undefined;
  const cpu = cpuEst.some((x) => !Number.isNaN(x)) ? smoothFill(cpuEst, 0) : undefined;
  const serviceMs = service ? (median([...service]) ?? 1000 * cpuPerRequest) : 1000 * cpuPerRequest;
  const busyCoresP99 = percentile(busy, 99);
  // Idle round trip: closed loop, users / achieved rate at its lowest; open loop, the fastest p50s less the CPU.
  let baseLatencyMs: number;
  if (run.load && run.load.mode === 'closed') {
    const rt = run.load.lines.filter((l) => l.rps > 0 && l.level > 0).map((l) => (1000 * l.level) / l.rps);
    baseLatencyMs = rt.length > 0 ? percentile(rt, 5) : serviceMs;
  } else {
    const p50s = (run.load?.lines ?? []).flatMap((l) => (l.p50 === null ? [] : [l.p50]));
    baseLatencyMs = Math.max(0.5, (p50s.length > 0 ? percentile(p50s, 5) : 1) - 1000 * cpuPerRequest);
  }

  const model: CapacityModel = { mode: load.mode, serviceMs, service, cpuPerRequest, cpu, cores: hostCores, baseLatencyMs, p95Factor: EXPONENTIAL_P95, timeoutMs: 10_000, host: { kind: 'fit', base: 0, perRps: 0 } };

  // Model the recorded pool (its own ready counts) to fit p95 / mean and host CPU against throughput.
  const ratios: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  let prevT = 0;
  let backlog = 0;
  for (const k of run.ticks) {
    let w = 0;
    let meanSum = 0;
    let thr = 0;
    let n = 0;
    for (let i = Math.floor(prevT / 1000); i < Math.min(D, Math.floor(k.t / 1000)); i++) {
      const r = evaluateSecond(model, load.perSecond[i], k.ready, k.instances, backlog, i);
      backlog = r.backlog;
      thr += r.throughput;
      n++;
      if (r.meanMs !== null) {
        meanSum += r.meanMs * r.throughput;
        w += r.throughput;
      }
    }
    if (k.p95 !== null && w > 0) ratios.push(k.p95 / (meanSum / w));
    if (k.cpu !== null && n > 0) {
      xs.push(thr / n);
      ys.push(k.cpu);
    }
    prevT = k.t;
  }
  const factor = median(ratios);
  model.p95Factor = factor === null ? EXPONENTIAL_P95 : Math.min(20, Math.max(1, factor));
  model.host = { kind: 'fit', ...fitLine(xs, ys) };

  const boots = [...run.workers.values()].flatMap((w) => (w.readyAt === null ? [] : [w.readyAt - w.startedAt]));
  return { model, load, served, bootMs: median(boots) ?? 500, bootSamples: boots.length, offsetS, alignedBy, correlation: corr, busyCoresP99, cpuPerRequest, saturatedSeconds };
}

/** Least squares y = base + perRps·x, slope kept >= 0 (more traffic never frees host CPU). */
export function fitLine(xs: number[], ys: number[]): { base: number; perRps: number } {
  const n = xs.length;
  if (n === 0) return { base: 0, perRps: 0 };
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
  return { base: my - slope * mx, perRps: slope };
}
