/** The comparison's tables as rows of text, shared by experiment.html and experiment.md. Pure. */
import { formatMeasured } from './claims.js';
import type { Comparison } from './compare.js';

export const ARM_TABLE_HEADER = ['arm', 'settings', 'status', 'peak', 'scale actions (out/in)', 'median reaction', 'worker-seconds', 'cost', 'errors (balancer / client)', 'seconds over SLO', 'load avg before'];
export const CLAIM_HEADER = ['claim', 'arm', 'measured', 'result'];

const n1 = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));

export function loadAverageText(l: number[] | null): string {
  return l === null ? 'load average –' : `load average ${l.map((v) => v.toFixed(2)).join(' / ')}`;
}

export function armRows(c: Comparison): string[][] {
  return c.arms.map((a) => {
    const f = a.figures;
    const la = a.loadAverageBefore === null ? '–' : a.loadAverageBefore[0].toFixed(2);
    if (f === null) return [a.name, a.settings, a.status, '–', '–', '–', '–', '–', '–', '–', la];
    return [
      a.name,
      a.settings,
      a.status,
      String(f.peak),
      `${f.scaleActions} (${f.scaleOuts}/${f.scaleIns})`,
      f.reaction === null ? '–' : `${n1(f.reaction)} s`,
      n1(f.workerSeconds),
      `${f.currency} ${f.cost.toFixed(5)}`,
      `${f.errors} / ${f.clientErrors ?? '–'}`,
      `${n1(f.secondsOverSlo)} s`,
      la,
    ];
  });
}

export function claimRows(c: Comparison): string[][] {
  return c.claims.map((r) => {
    const arm = c.arms.find((a) => a.name === r.arm);
    const la = arm?.loadAverageBefore ? ` (load avg ${arm.loadAverageBefore[0].toFixed(2)})` : '';
    return [`${r.claim.name} ${r.claim.text}`, r.arm, r.note ?? formatMeasured(r.claim.name, r.measured), r.met ? '✔ met' : `✘ not met${la}`];
  });
}
