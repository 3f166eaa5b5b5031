/**
 * Policy flags for `simulate` and `replay`: the same flags as `start`, plus
 * `--compare '<flags>'` strings parsed with the same definitions. A flag that
 * the chosen policy does not use is an error (it would silently do nothing).
 */
import { Command, CommanderError } from 'commander';
import { addSettingOptions, POLICY_FLAGS, type SettingFlag } from './flags.js';
import { UsageError } from '../errors.js';
import { resolveConfig, STEP_RESOLVED_KEY, type LabConfig, type RawSettings } from './config.js';
import type { PolicyName } from '../policy/rules.js';

const THRESHOLD_ONLY: readonly SettingFlag[] = ['scaleUp', 'scaleDown', 'cooldown'];
const TARGET_ONLY: readonly SettingFlag[] = ['target', 'tolerance', 'scaleDownWindow', 'maxStepPods', 'maxStepPercent'];
const PREDICTIVE_ONLY: readonly SettingFlag[] = ['history', 'season', 'historyScale'];
const STEP_ONLY: readonly SettingFlag[] = ['stepOut', 'stepIn', 'stepOutAlarm', 'stepInAlarm', 'stepMinMagnitude'];
/**
 * The flags each policy does not use. Predictive is target tracking with a forecast floor, so it takes the
 * target flags too. Step scaling has no cooldown (EC2 Auto Scaling applies one only to simple scaling): its warm-up holds it.
 */
const UNUSED: Record<PolicyName, readonly SettingFlag[]> = {
  threshold: [...TARGET_ONLY, ...STEP_ONLY, ...PREDICTIVE_ONLY],
  target: [...THRESHOLD_ONLY, ...STEP_ONLY, ...PREDICTIVE_ONLY],
  predictive: [...THRESHOLD_ONLY, ...STEP_ONLY],
  step: [...THRESHOLD_ONLY, ...TARGET_ONLY, ...PREDICTIVE_ONLY],
};
const FLAG: Record<string, string> = {
  scaleUp: '--scale-up', scaleDown: '--scale-down', cooldown: '--cooldown', target: '--target', tolerance: '--tolerance',
  scaleDownWindow: '--scale-down-window', maxStepPods: '--max-step-pods', maxStepPercent: '--max-step-percent',
  stepOut: '--step-out', stepIn: '--step-in', stepOutAlarm: '--step-out-alarm', stepInAlarm: '--step-in-alarm', stepMinMagnitude: '--step-min-magnitude',
};

/** Fleets are not laptops: up to 100,000 instances, and no ports are bound. */
export const FLEET_LIMITS = { maxInstances: 100_000, ports: false } as const;

/**
 * `typed` (what the user typed) over `base` (a --config file, or the
 * recorded run's settings). Changing the metric without a --target takes that
 * metric's default target, as `start` does.
 */
export function resolvePolicy(typed: RawSettings, base: RawSettings = {}): LabConfig {
  const b = { ...base };
  if (typed.metric !== undefined && typed.metric !== b.metric && typed.target === undefined) delete b.target;
  // Switching a predictive recording (or config file) to another policy leaves its history behind.
  if (typed.policy !== undefined && typed.policy !== 'predictive') for (const key of PREDICTIVE_ONLY) delete b[key];
  const config = resolveConfig(typed, b, FLEET_LIMITS);
  for (const key of UNUSED[config.policy]) {
    if (typed[key] !== undefined) throw new UsageError(`${FLAG[key]} does not apply to --policy ${config.policy}`);
  }
  return config;
}

/** `typed` over `base` (both typed by the user): when `typed` switches the policy, the other policy's flags in `base` are dropped. */
export function overlay(base: RawSettings, typed: RawSettings): RawSettings {
  const out: RawSettings = { ...base };
  if (typed.policy !== undefined && typed.policy !== base.policy) {
    for (const key of UNUSED[typed.policy as PolicyName] ?? []) delete out[key];
    if (typed.policy !== 'step') delete out[STEP_RESOLVED_KEY];
  }
  if (typed.metric !== undefined && typed.metric !== base.metric && typed.target === undefined) delete out.target;
  return { ...out, ...typed };
}

/** "--policy target --target 60" -> tokens (single or double quotes group words). */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** What one --compare string changes: policy settings, and/or the boot time of its row. */
export interface CompareSpec {
  typed: RawSettings;
  /** --boot inside the --compare string, seconds; null = the command's boot time. */
  bootS: number | null;
}

/** One --compare string -> the settings it types (and its own --boot, as `simulate` and `replay` take it). */
export function parseCompare(s: string): CompareSpec {
  const cmd = new Command('compare').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} }).allowExcessArguments(false);
  addSettingOptions(cmd, POLICY_FLAGS, false);
  cmd.option('--boot <s>', 'time from fork to ready for this row, seconds');
  try {
    cmd.parse(splitArgs(s), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const why = err.message.replace(/^error: /, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
      throw new UsageError(`--compare '${s}': ${why}`);
    }
    throw err;
  }
  const opts = cmd.opts<Record<string, unknown>>();
  const typed: RawSettings = {};
  for (const key of POLICY_FLAGS) if (opts[key] !== undefined) typed[key] = opts[key];
  let bootS: number | null = null;
  if (opts.boot !== undefined) {
    const raw = String(opts.boot);
    bootS = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(bootS) || bootS < 0) throw new UsageError(`--compare '${s}': --boot must be a non-negative number of seconds (received ${JSON.stringify(raw)})`);
  }
  if (Object.keys(typed).length === 0 && bootS === null) throw new UsageError(`--compare '${s}' sets no policy flag and no --boot`);
  return { typed, bootS };
}

/** A short label for a table row: the flags as typed. */
export function labelOf(typed: RawSettings): string {
  return Object.entries(typed)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${'--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} ${String(one)}`))
    .join(' ');
}

/** Repeatable commander option collector. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
