/** The footer (keys and notices), the help overlay, and the too-small-screen message. */
import { formatCount, formatPercent, truncate, UNKNOWN } from '../../format.js';
import { MIN_COLS, MIN_ROWS } from '../layout.js';
import type { DashboardState } from '../state.js';

export function footerText(state: DashboardState, width: number, notice: string | null): string {
  const keys = ` q quit · + scale out · - scale in · p ${state.paused ? 'resume' : 'pause'} · ? help`;
  if (!notice) return truncate(keys, width);
  const room = width - keys.length - 3;
  if (room < 12) return truncate(` ${notice}`, width);
  return `${keys}   ${truncate(notice, room)}`;
}

export const HELP_LINES: readonly string[] = [
  'Keys',
  '',
  '  q, Ctrl+C   quit: stop every worker, restore the terminal',
  '  +           scale out by one worker (up to --max)',
  '  -           scale in by one worker (down to --min)',
  '  p           pause / resume automatic scaling',
  '  ?, Esc      show / hide this help',
  '',
  'Panels',
  '',
  '  CPU %       host CPU per tick; red: scale-up, blue: scale-down threshold',
  '  Instances   running (green), desired (magenta), min/max lines',
  '  Requests    req/s in the last second; RPM÷60 = rate over the last 60 s',
  '  Latency     p50 / p99 through the balancer, per 1 s stats period',
  '  Table       one row per worker, refreshed every second',
  '  Events      scaling decisions, worker and health changes, newest last',
];

export function tooSmallLines(state: DashboardState, cols: number, rows: number): string[] {
  const lines = [
    `Terminal too small: ${cols}×${rows}.`,
    `The dashboard needs at least ${MIN_COLS}×${MIN_ROWS}.`,
    'Enlarge the window, or press q to quit.',
    '',
  ];
  if (state.lab) {
    const running = state.counts ? `${state.counts.instances} running` : `${state.workers.length} workers`;
    const cpu = state.cpuNow === null ? UNKNOWN : `${formatPercent(state.cpuNow)} %`;
    lines.push(running, `CPU ${cpu}`, state.paused ? 'autoscaling PAUSED' : 'autoscaling on');
    if (state.traffic) lines.push(`${formatCount(state.traffic.rpm)} req/min`);
  }
  return lines.map((l) => truncate(l, cols));
}
