/**
 * Host CPU, from systeminformation. `currentLoad()` reports the load since its
 * previous call, so one sampler instance is called once per tick.
 */
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
