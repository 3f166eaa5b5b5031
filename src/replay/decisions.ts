/**
 * The policy half of fidelity: a run recorded by the pipeline's lab carries,
 * in every tick, the observation and state decide() was given. Feeding them
 * back through the same decide(), with the memory threaded from tick to tick
 * (pauses and manual scaling applied as the lab applied them), must give the
 * recorded decisions. Any gap left between replay and reality is then the
 * capacity model's, not the policy's. Pure.
 */
import type { LabConfig } from '../settings/config.js';
import { decide, initialMemory, noteManualScale, setPaused } from '../policy/decide.js';
import type { RecordedRun } from './recording.js';

export interface DecisionCheck {
  /** Ticks that carried an observation. */
  ticks: number;
  /** Of those, how many decide() answered with the recorded desired count and action. */
  same: number;
  /** First tick that differed, for the message. */
  firstDiff: { t: number; recorded: number; replayed: number } | null;
}

export function checkDecisions(run: RecordedRun, config: LabConfig): DecisionCheck | null {
  const ticks = run.ticks.filter((k) => k.observation !== undefined && k.state !== undefined);
  if (ticks.length === 0) return null;
  const others = [
    ...run.pauses.map((p) => ({ t: p.t, apply: (m: ReturnType<typeof initialMemory>) => setPaused(m, p.paused) })),
    ...run.scales.filter((s) => s.manual).map((s) => ({ t: s.t, apply: (m: ReturnType<typeof initialMemory>) => noteManualScale(m, s.t) })),
  ].sort((a, b) => a.t - b.t);
  let memory = initialMemory();
  let j = 0;
  let same = 0;
  let firstDiff: DecisionCheck['firstDiff'] = null;
  for (const k of ticks) {
    while (j < others.length && others[j].t < k.t) memory = others[j++].apply(memory);
    const r = decide(k.observation!, k.state!, memory, config, k.t);
    memory = r.memory;
    if (r.decision.desired === k.desired) same++;
    else firstDiff ??= { t: k.t, recorded: k.desired, replayed: r.decision.desired };
  }
  return { ticks: ticks.length, same, firstDiff };
}
