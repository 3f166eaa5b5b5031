/** The schedule as the dashboard's header (and the live page) show it: the bounds in force and the next action, in its zone's local time. */
import type { LabSettings, TickEvent } from '../events.js';
import { formatDuration } from '../format.js';
import { formatZoned } from '../policy/schedule.js';

/**
 * "min 3", "max 5"; with a schedule "next "night" 20:00 Sun 6 Dec Europe/Berlin, in 3 h 12 min 5 s" and the
 * bounds in force, "min 3 (--min 1)" when they differ from the flags. `wallNow`: Date.now() as of the view.
 */
export function scheduleSegments(schedule: TickEvent['schedule'], config: Pick<LabSettings, 'min' | 'max'>, wallNow: number): string[] {
  if (schedule === undefined) return [`min ${config.min}`, `max ${config.max}`];
  const mark = (k: 'min' | 'max') => (schedule[k] !== config[k] ? `${k} ${schedule[k]} (--${k} ${config[k]})` : `${k} ${schedule[k]}`);
  if (schedule.next === null) return ['no scheduled action ahead', mark('min'), mark('max')];
  const inS = Math.max(0, Math.round((schedule.next.at - wallNow) / 1000));
  // The next action first: on 80 columns it is what must not be cut.
  return [`next "${schedule.next.name}" ${formatZoned(schedule.next.at, schedule.next.tz)}, in ${formatDuration(inS)}`, mark('min'), mark('max')];
}
