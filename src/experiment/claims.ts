/**
 * The lesson's claims, checked on each arm's figures: met or not, with the
 * measured value. A claim that fails is shown failed, never hidden. Pure.
 */
import { figureOf, type ArmFigures } from './figures.js';
import type { Claim } from './schema.js';

export interface ClaimResult {
  claim: Claim;
  arm: string;
  measured: number | null;
  met: boolean;
  /** Why there is no number, when there is none. */
  note: string | null;
}

export function holds(op: Claim['op'], measured: number, value: number): boolean {
  switch (op) {
    case '<=':
      return measured <= value;
    case '>=':
      return measured >= value;
    case '<':
      return measured < value;
    case '>':
      return measured > value;
    case '==':
      return Math.abs(measured - value) < 1e-9;
  }
}

/** Every claim on every arm it names that has figures (an arm that did not run is left out). */
export function checkClaims(claims: readonly Claim[], figures: ReadonlyMap<string, ArmFigures>): ClaimResult[] {
  const out: ClaimResult[] = [];
  for (const claim of claims) {
    for (const arm of claim.arms) {
      const f = figures.get(arm);
      if (f === undefined) continue;
      const measured = figureOf(f, claim.name);
      if (measured === null) {
        out.push({ claim, arm, measured, met: false, note: claim.name === 'reaction' ? 'no reaction measured (the metric never crossed the threshold, or no worker was added)' : 'not measured in this run' });
      } else {
        out.push({ claim, arm, measured, met: holds(claim.op, measured, claim.value), note: null });
      }
    }
  }
  return out;
}

const UNITS: Record<string, string> = { reaction: ' s', workerSeconds: ' s', secondsOverSlo: ' s', clientP99: ' ms' };

export function formatMeasured(name: Claim['name'], v: number | null): string {
  if (v === null) return '–';
  const r = Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toFixed(1);
  return `${r}${UNITS[name] ?? ''}`;
}
