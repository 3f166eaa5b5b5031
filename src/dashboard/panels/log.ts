/** The event log panel: the newest lines, each describe(event) with its time, exactly as the plain view prints them. */
import { formatRelative, truncate } from '../../format.js';
import { eventLineText } from '../describe.js';
import type { DashboardState, LogEntry, LogLevel } from '../state.js';

export function formatLogEntry(entry: LogEntry): string {
  return `${formatRelative(entry.t)} ${eventLineText(entry)}`;
}

/** The newest `height` log lines, oldest first (newest at the bottom), each cut to `width`. */
export function visibleLog(state: DashboardState, width: number, height: number): Array<{ text: string; level: LogLevel }> {
  if (height <= 0) return [];
  return state.log.items.slice(-height).map((e) => ({ text: truncate(formatLogEntry(e), width), level: e.level }));
}
