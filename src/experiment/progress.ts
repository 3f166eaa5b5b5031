/**
 * What the experiment shows while it runs: on a terminal one status line
 * rewritten in place (arm i of n, phase, time left in the arm and in the
 * experiment, the next timed event, live instances / req/s / errors), plain
 * lines otherwise, NDJSON with --json. The formatting is pure.
 */
import type { ArmLive } from './run-arm.js';

export interface ProgressState {
  arm: number;
  arms: number;
  armName: string;
  loadSec: number;
  /** Seconds each later arm is expected to take on top of its load (start, stop, pause). */
  overheadSec: number;
  live: ArmLive;
}

const mmss = (s: number) => {
  const t = Math.max(0, Math.round(s));
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};

export function timeLeft(p: ProgressState): { arm: number; experiment: number } {
  const arm = Math.max(0, p.loadSec - p.live.elapsed);
  return { arm, experiment: arm + (p.arms - p.arm) * (p.loadSec + p.overheadSec) };
}

export function progressLine(p: ProgressState): string {
  const left = timeLeft(p);
  const next = p.live.next === null ? '' : ` · next ${mmss(p.live.next.at)} ${p.live.next.label}`;
  return `arm ${p.arm} of ${p.arms} (${p.armName}) · ${p.live.phase} · ${mmss(left.arm)} left in arm, ~${mmss(left.experiment)} in experiment${next} · ${p.live.instances} instances (${p.live.ready} ready), ${Math.round(p.live.rps)} req/s, ${p.live.errors} errors`;
}
