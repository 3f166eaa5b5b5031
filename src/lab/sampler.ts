/**
 * Host CPU, from systeminformation. `currentLoad()` reports the load since its
 * previous call, so one sampler instance is called once per tick. Beside it,
 * the lab's own processes' share of that figure (ProcessCpuMeter), so a tick
 * can say how much of the host's CPU is the lab and how much everything else.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import si from 'systeminformation';

export interface CpuSampler {
  /** Host CPU busy %, 0–100, since the previous call; null if it could not be read. */
  sample(): Promise<number | null>;
}

export function createHostCpuSampler(): CpuSampler {
  return {
    async sample() {
      try {
        const load = await si.currentLoad();
        return Number.isFinite(load.currentLoad) ? load.currentLoad : null;
      } catch {
        return null;
      }
    },
  };
}

/**
 * CPU of a set of processes (the lab's daemon and its workers), as a share of
 * the whole host in the same unit as the host sampler (% of all cores), since
 * the previous call. Linux only: read from /proc/<pid>/stat; null elsewhere or
 * when nothing could be read.
 */
export interface ProcessCpuMeter {
  sample(pids: readonly number[]): number | null;
}

/** Kernel clock ticks per second for /proc times (USER_HZ: 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;

/** utime + stime (clock ticks) from one /proc/<pid>/stat line; null if it is not one. */
export function parseProcStatTicks(text: string): number | null {
  // The command name (field 2) is in parentheses and may itself hold spaces or ')': fields restart after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) && fields.length > 12 ? utime + stime : null;
}

export interface ProcessCpuMeterOptions {
  /** Where /proc is (tests point it at a directory of fake stat files). */
  procRoot?: string;
  cores?: number;
  /** Wall clock, ms. */
  now?: () => number;
  readFile?: (path: string) => string;
}

export function createProcessCpuMeter(opts: ProcessCpuMeterOptions = {}): ProcessCpuMeter {
  const root = opts.procRoot ?? '/proc';
  const cores = opts.cores ?? Math.max(1, os.availableParallelism());
  const now = opts.now ?? (() => performance.now());
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let last = new Map<number, number>();
  let lastAt: number | null = null;
  return {
    sample(pids) {
      const at = now();
      const ticks = new Map<number, number>();
      let used = 0;
      for (const pid of new Set(pids)) {
        let t: number | null = null;
        try {
          t = parseProcStatTicks(read(`${root}/${pid}/stat`));
        } catch {
          // Gone since the supervisor listed it (or no /proc): its last ticks are lost, not guessed.
        }
        if (t === null) continue;
        ticks.set(pid, t);
        // A PID first seen now started after the previous sample (or this is the first): count it from zero.
        used += t - (last.get(pid) ?? (lastAt === null ? t : 0));
      }
      const elapsedMs = lastAt === null ? 0 : at - lastAt;
      last = ticks;
      lastAt = at;
      if (ticks.size === 0 || elapsedMs <= 0) return null;
      return Math.max(0, (used / USER_HZ / (elapsedMs / 1000) / cores) * 100);
    },
  };
}
