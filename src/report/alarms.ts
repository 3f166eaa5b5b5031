/**
 * A run's alarms for the report: each alarm's states over time (the bands the
 * charts draw) and its transitions (the table). Pure: from the recorded
 * 'alarm' events and the rules of the 'started' line.
 */
import type { AlarmState } from '../alarms/evaluate.js';
import { describeRule, type AlarmRule } from '../alarms/rule.js';
import type { LabEvent } from '../events.js';

export interface AlarmBand {
  /** Seconds since the lab started. */
  from: number;
  to: number;
  state: AlarmState;
}

export interface RunAlarm {
  name: string;
  /** The rule in one line ("5xx > 10 (sum over 1 min, 1 of 1)"). */
  rule: string;
  bands: AlarmBand[];
  transitions: Array<{ at: number; from: AlarmState; to: AlarmState; reason: string }>;
}

/** Every alarm of the run, in rule order, its bands covering [start, end] (INSUFFICIENT_DATA until its first transition). */
export function runAlarms(rules: readonly AlarmRule[], events: readonly LabEvent[], startSec: number, endSec: number): RunAlarm[] {
  return rules.map((rule) => {
    const transitions = events.flatMap((e) => (e.type === 'alarm' && e.alarm === rule.name ? [{ at: e.t / 1000, from: e.from, to: e.to, reason: e.reason }] : []));
    const bands: AlarmBand[] = [];
    let from = startSec;
    let state: AlarmState = 'INSUFFICIENT_DATA';
    for (const x of transitions) {
      if (x.at > from) bands.push({ from, to: x.at, state });
      from = Math.max(from, x.at);
      state = x.to;
    }
    if (endSec > from) bands.push({ from, to: endSec, state });
    return { name: rule.name, rule: describeRule(rule), bands, transitions };
  });
}

export const ALARM_HEADER = ['time', 'alarm', 'from → to', 'reason'];
