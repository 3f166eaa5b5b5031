/** The schedule as the dashboard's header shows it: the bounds in force and the next action, in its zone's local time. */
import type { LabSettings } from '../events.js';
import { formatDuration } from '../format.js';
import { formatZoned } from '../policy/schedule.js';
import type { DashboardState } from './state.js';

/** "min 3", "max 5" (with a schedule: "min 3 (scheduled)", and "next "night" 20:00 Sun 6 Dec Europe/Berlin, in 3 h 12 min"). */
export function scheduleSegments(state: DashboardState, config: LabSettings): string[] {
  const s = state.schedule;
  if (s === undefined || state.lab === null) return [`min ${config.min}`, `max ${config.max}`];
  const mark = (k: 'min' | 'max') => (s[k] !== config[k] ? `${k} ${s[k]} (scheduled; --${k} ${config[k]})` : `${k} ${s[k]}`);
  if (s.next === null) return [mark('min'), mark('max'), 'no scheduled action ahead'];
  const wallNow = state.lab.startedAt + state.now;
  const inS = Math.max(0, Math.round((s.next.at - wallNow) / 1000));
  return [mark('min'), mark('max'), `next "${s.next.name}" ${formatZoned(s.next.at, s.next.tz)}, in ${formatDuration(inS)}`];
}
