/**
 * The experiment's counterfactual check: for every ordered pair of finished
 * arms that differ only in policy settings, arm A's recording replayed under
 * arm B's settings (replay's compareAgainst(), the one implementation of
 * "replay checked against reality") next to what arm B really did on the same
 * load. A pair replay cannot answer is still shown, with why: the check is
 * the point, whatever its result.
 */
import { join } from 'node:path';
import { AutoscaleError } from '../errors.js';
import { compareAgainst, type AgainstComparison, type Figures } from '../replay/against.js';
import { readRun } from '../replay/recording.js';
import { POLICY_FLAGS } from '../settings/flags.js';
import type { ArmRecord } from '../runs/experiment-record.js';
import type { CounterfactualPair } from './compare.js';
import type { Arm } from './schema.js';

const POLICY_KEYS: ReadonlySet<string> = new Set(POLICY_FLAGS);

/** True when two arms' settings differ, and only in policy settings (the load and faults are the experiment's, the same for both). */
export function differOnlyInPolicy(a: Arm, b: Arm): boolean {
  const keys = new Set([...Object.keys(a.settings), ...Object.keys(b.settings)]);
  let differs = false;
  for (const k of keys) {
    const same = JSON.stringify(a.settings[k]) === JSON.stringify(b.settings[k]);
    if (same) continue;
    if (!POLICY_KEYS.has(k)) return false;
    differs = true;
  }
  return differs;
}

const num = (v: number | null, digits = 0) => (v === null ? '–' : v.toFixed(digits));
const signed = (v: number, digits = 0) => `${v > 0 ? '+' : ''}${v.toFixed(digits)}`;

function errorOf(replayed: number | null, real: number | null, digits = 0, relative = false): string {
  if (replayed === null || real === null) return '–';
  const d = replayed - real;
  if (!relative) return signed(d, digits);
  return real === 0 ? signed(d, digits) : `${signed(d, digits)} (${signed((100 * d) / real)} %)`;
}

/** The comparison as the report's rows: each figure replayed, real, and the replay's error. */
export function pairRows(c: AgainstComparison): CounterfactualPair['rows'] {
  const r: Figures = c.replayed;
  const b: Figures = c.real;
  return [
    { figure: 'peak instances', replayed: num(r.peak), real: num(b.peak), error: errorOf(r.peak, b.peak) },
    { figure: 'scale-outs', replayed: num(r.scaleOut), real: num(b.scaleOut), error: errorOf(r.scaleOut, b.scaleOut) },
    { figure: 'scale-ins', replayed: num(r.scaleIn), real: num(b.scaleIn), error: errorOf(r.scaleIn, b.scaleIn) },
    { figure: 'worker-seconds', replayed: num(r.workerSeconds), real: num(b.workerSeconds), error: errorOf(r.workerSeconds, b.workerSeconds, 0, true) },
    { figure: 'median reaction (s)', replayed: num(r.medianReactionS, 1), real: num(b.medianReactionS, 1), error: errorOf(r.medianReactionS, b.medianReactionS, 1) },
    { figure: 'seconds over the SLO', replayed: num(r.secondsOverSlo), real: num(b.secondsOverSlo), error: errorOf(r.secondsOverSlo, b.secondsOverSlo) },
    { figure: 'failed requests', replayed: num(r.failed), real: num(b.failed), error: errorOf(r.failed, b.failed) },
    { figure: 'ticks with the same instance count', replayed: `${Math.round(100 * c.sameCount)} % of ${c.ticks}`, real: '100 %', error: '' },
  ];
}

function pairNote(c: AgainstComparison): string {
  const edges =
    c.knifeEdges.of + c.knifeEdges.ticks === 0
      ? ''
      : ` ${c.knifeEdges.count} of ${c.knifeEdges.of} replayed actions and ${c.knifeEdges.holds} of ${c.knifeEdges.ticks} holds were knife edges (the metric within that error of its threshold).`;
  return `Model: ${c.model}. Its error on ${c.error.metric}: median ${c.error.median.toFixed(1)}, p90 ${c.error.p90.toFixed(1)} (${c.error.how}).${edges} Window: ${c.window.fromS.toFixed(0)}–${c.window.toS.toFixed(0)} s after the load started, lined up by ${c.window.alignedBy}.`;
}

/**
 * Every ordered pair (A replayed under B's settings) of finished arms that differ only in policy settings.
 * `dir` is the experiment's directory (each arm's runDir is relative to it).
 */
export function counterfactualPairs(dir: string, arms: readonly Arm[], records: readonly ArmRecord[], sloMs: number): CounterfactualPair[] {
  const out: CounterfactualPair[] = [];
  for (let i = 0; i < arms.length; i++) {
    for (let j = 0; j < arms.length; j++) {
      if (i === j || !differOnlyInPolicy(arms[i], arms[j])) continue;
      const [ra, rb] = [records[i], records[j]];
      if (ra?.status !== 'finished' || rb?.status !== 'finished') continue;
      const pair: CounterfactualPair = { recording: arms[i].name, settingsOf: arms[j].name, rows: [] };
      try {
        const c = compareAgainst(readRun(join(dir, ra.runDir)), readRun(join(dir, rb.runDir)), { sloMs });
        pair.rows = pairRows(c);
        pair.note = pairNote(c);
      } catch (err) {
        if (!(err instanceof AutoscaleError)) throw err;
        pair.note = `replay could not answer for this pair: ${err.message}`;
      }
      out.push(pair);
    }
  }
  return out;
}
