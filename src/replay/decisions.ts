/**
 * The policy half of fidelity: a run recorded by the pipeline's lab carries,
 * in every tick, the observation and state the policy was given. Feeding them
 * back through the same `step()` (policy/step.ts), with its memory threaded
 * from tick to tick and the recorded events between ticks folded in by
 * `remember()` exactly as the lab applied them (pauses, manual scaling,
 * refresh holds, cold starts), must give the recorded decisions, scale to
 * zero included. Any gap left between replay and reality is then the capacity
 * model's, not the policy's. Pure.
 */
import type { LabConfig } from '../settings/config.js';
import { initialMemory, remember, step } from '../policy/step.js';
import type { RecordedRun } from './recording.js';

export interface DecisionCheck {
  /** Ticks that carried an observation. */
  ticks: number;
  /** Of those, how many step() answered with the recorded desired count. */
  same: number;
  /** First tick that differed, for the message. */
  firstDiff: { t: number; recorded: number; replayed: number } | null;
}

export function checkDecisions(run: RecordedRun, config: LabConfig): DecisionCheck | null {
  const ticks = run.ticks.filter((k) => k.observation !== undefined && k.state !== undefined);
  if (ticks.length === 0) return null;
  const between = run.memoryEvents;
  let memory = initialMemory(run.startedAt ?? 0);
  let j = 0;
  let same = 0;
  let firstDiff: DecisionCheck['firstDiff'] = null;
  for (const k of ticks) {
    while (j < between.length && between[j].t < k.t) memory = remember(memory, between[j++]);
    const r = step(k.observation!, k.state!, memory, config, k.t);
    memory = r.memory;
    if (r.decision.desired === k.desired) same++;
    else firstDiff ??= { t: k.t, recorded: k.desired, replayed: r.decision.desired };
  }
  return { ticks: ticks.length, same, firstDiff };
}
