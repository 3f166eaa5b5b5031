/**
 * An experiment's directory: experiment.json (what ran, where each arm's
 * run directory is, the host, the load average before each arm) next to
 * experiment.yaml (the file as run) and the comparison. Written by
 * `autoscale experiment`; read here by whoever lists runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EXPERIMENT_FILE = 'experiment.json';

export type ArmStatus = 'finished' | 'interrupted' | 'failed' | 'not run';

/** One step of the timeline as it happened in this arm. */
export interface FiredStep {
  /** Seconds since the arm's load started (as planned). */
  at: number;
  /** Seconds since the arm's lab started, when it fired. */
  labAt: number;
  what: string;
  outcome: string;
}

export interface ArmRecord {
  name: string;
  description: string;
  /** The arm's run directory, relative to the experiment's. */
  runDir: string;
  status: ArmStatus;
  /** The `autoscale start` flags it ran with (ports included). */
  startArgs: string[];
  /** os.loadavg() just before the arm started. */
  loadAverageBefore: number[] | null;
  /** Host CPU busy % when the pause before it ended, and what the pause was. */
  hostCpuBefore: number | null;
  pause: string | null;
  /** Seconds since the lab started at which its load began (the shared time axis starts there); null if it never did. */
  offsetSec: number | null;
  fired: FiredStep[];
  error: string | null;
}

export interface ExperimentRecord {
  kind: 'autoscale-experiment';
  schema: 1;
  name: string;
  title: string;
  /** A built-in's name, or the file's path as given. */
  source: string;
  fileSha256: string;
  quick: boolean;
  timeFactor: number;
  tool: { name: string; version: string; node: string };
  host: { cores: number; memoryBytes: number; platform: string };
  /** webPort: the live page's --web-port given to every arm; null: the lab's default (the page on when that port is free). */
  ports: { port: number; basePort: number; metricsPort: number; webPort?: number | null };
  startedAt: string;
  endedAt: string | null;
  status: 'running' | 'finished' | 'interrupted' | 'failed';
  arms: ArmRecord[];
  notes: string[];
}

/** The record in `dir`, or null when the directory holds no experiment (or an unreadable one). */
export function readExperimentRecord(dir: string): ExperimentRecord | null {
  try {
    const r = JSON.parse(readFileSync(join(dir, EXPERIMENT_FILE), 'utf8')) as ExperimentRecord;
    return r.kind === 'autoscale-experiment' && Array.isArray(r.arms) ? r : null;
  } catch {
    return null;
  }
}
