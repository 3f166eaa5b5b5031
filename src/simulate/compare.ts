/**
 * Runs several policies over the same load and model and reduces each to a
 * table row; writes the simulated timelines as NDJSON. Shared by `simulate`
 * and `replay`.
 */
import type { LabConfig } from '../settings/config.js';
import { reactionTimes, simulatedReactionEvents } from '../policy/reaction.js';
import { simulate, type SimResult } from './engine.js';
import type { OfferedLoad } from './load.js';
import type { CapacityModel } from './model.js';
import { policyRow, type PolicyRow, type RowOptions } from './summary.js';

export interface Scenario {
  label: string;
  config: LabConfig;
  /** Fork → ready for this scenario, ms (default: the one given to runScenarios). */
  bootMs?: number;
  /** Wall-clock ms at the timeline's 0, for a schedule (simulate --start, a recorded run's start); default 0. */
  origin?: number;
}

export interface ScenarioResult {
  scenario: Scenario;
  sim: SimResult;
  row: PolicyRow;
}

export function runScenarios(
  scenarios: readonly Scenario[],
  load: OfferedLoad,
  model: CapacityModel,
  bootMs: number,
  rowOpts: RowOptions,
  tickTimes?: (c: LabConfig) => readonly number[] | undefined,
): ScenarioResult[] {
  return scenarios.map((scenario) => {
    const boot = scenario.bootMs ?? bootMs;
    const sim = simulate({ load, model, config: scenario.config, bootMs: boot, tickTimes: tickTimes?.(scenario.config), origin: scenario.origin });
    return scenarioResult(scenario, sim, boot, rowOpts);
  });
}

/** One simulated (or replayed) timeline as a table row. */
export function scenarioResult(scenario: Scenario, sim: SimResult, bootMs: number, rowOpts: RowOptions): ScenarioResult {
  // The same definition as the report's, applied to the simulated ticks.
  const reactions = reactionTimes(simulatedReactionEvents(sim.ticks, sim.scales, sim.readyTimes, bootMs), scenario.config);
  const row = policyRow({ label: scenario.label, live: sim.live, p95: sim.p95, scales: sim.scales, reactions, failed: sim.dropped.reduce((a, b) => a + b, 0) }, rowOpts);
  return { scenario, sim, row };
}

const num = (x: number, digits = 3) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

/** NDJSON lines of one simulated timeline: a `second` line per second, a `tick` line per decision. */
export function* timelineLines(r: ScenarioResult): Generator<string> {
  const s = r.sim;
  const policy = r.scenario.label;
  let k = 0;
  for (let i = 0; i < s.durationS; i++) {
    while (k < s.ticks.length && s.ticks[k].t < (i + 1) * 1000) {
      const tk = s.ticks[k++];
      yield JSON.stringify({ type: 'tick', policy, t: Math.round(tk.t), instances: tk.instances, ready: tk.ready, warming: tk.warming, desired: tk.desired, action: tk.action, reason: tk.reason, value: tk.value === null ? null : num(tk.value) }) + '\n';
    }
    yield JSON.stringify({
      type: 'second',
      policy,
      t: i,
      offered: num(s.offered[i]),
      throughput: num(s.throughput[i]),
      instances: s.live[i],
      ready: s.ready[i],
      hostCpu: num(s.hostCpu[i]),
      workerCpu: num(s.workerCpu[i]),
      rps: num(s.rps[i]),
      concurrency: num(s.concurrency[i]),
      p95: num(s.p95[i]),
      failed: num(s.dropped[i]),
    }) + '\n';
  }
}
