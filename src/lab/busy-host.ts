/**
 * The default demo scales on host CPU, which on a student's laptop includes
 * the browser, the editor and the build. When the host is above the
 * scale-in threshold before any load, the pool can never scale in: say so,
 * with the split and the remedy. Pure.
 */
import type { Observation } from '../policy/measure.js';
import { hostCpuSplitSuffix } from '../policy/rules.js';
import type { LabConfig } from '../settings/config.js';

/** The value below which the policy scales in: --scale-down, or the target's lower tolerance edge. */
export function scaleInBelow(c: Pick<LabConfig, 'policy' | 'scaleDown' | 'target' | 'tolerance'> & { stepScaling?: LabConfig['stepScaling'] }): number {
  if (c.policy === 'step') return c.stepScaling?.in?.alarm.threshold ?? 0;
  return c.policy === 'threshold' ? c.scaleDown : c.target * (1 - c.tolerance);
}

/** The hint for a host already too busy to scale in before any request, or null. */
export function busyHostHint(o: Pick<Observation, 'hostCpu' | 'hostCpuLab'>, c: LabConfig): string | null {
  if (c.metric !== 'host-cpu' || o.hostCpu === null) return null;
  const below = scaleInBelow(c);
  // With a threshold of 0 the policy never scales in on any host: nothing to explain.
  if (below <= 0 || o.hostCpu <= below) return null;
  return (
    `host cpu ${Math.round(o.hostCpu)} %${hostCpuSplitSuffix(o.hostCpu, o.hostCpuLab)} before any load is already above the scale-in threshold ${Math.round(below * 10) / 10} %: ` +
    'other programs keep this host too busy for the pool to scale in. Close them, or scale on the workers\' own CPU: --metric worker-cpu'
  );
}
