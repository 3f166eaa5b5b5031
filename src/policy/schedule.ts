/**
 * Scheduled actions, as AWS Auto Scaling runs them (PutScheduledUpdateGroupAction)
 * and KEDA's cron scaler approximates them: at each time a cron expression
 * names, in its time zone, set the pool's min, max and/or desired count.
 *
 * - **min and max persist**: once an action sets them they are the bounds the
 *   policy works in, until another action sets them again (before any action
 *   has run: --min and --max).
 * - **desired is applied once**: at the action's time the count becomes it,
 *   clipped into the [min, max] in force; from the next tick the normal policy
 *   takes over and may change it.
 * - a new min above the count, or a new max below it, moves the count inside
 *   at once (AWS: "if current capacity is below the minimum, scale out to it").
 * - nothing runs retroactively: an action whose time passed before the lab
 *   (or the simulation) started waits for its next time, as AWS does with an
 *   action created after its time of day.
 *
 * Pure: parsing and validation (one line naming the bad part, exit 2) and the
 * per-tick application, which `step()` calls with the wall-clock time. Cron
 * arithmetic is croner's (time zones and DST as Vixie cron: a time skipped by
 * the spring change runs right after the gap, a time repeated in autumn runs
 * once).
 */
import { Cron } from 'croner';
import { ConfigError } from '../errors.js';

/** One scheduled action. At least one of min, max, desired. */
export interface ScheduledAction {
  /** Its name (AWS ScheduledActionName); default "action-<n>". */
  name: string;
  /** Five-field Unix cron: minute hour day-of-month month day-of-week. */
  cron: string;
  /** IANA time zone the cron is read in (default UTC, as AWS). */
  tz: string;
  min?: number;
  max?: number;
  desired?: number;
}

/** The keys of an action (flag syntax `cron=… min=…` and the config file's objects). */
export const ACTION_KEYS = ['name', 'cron', 'min', 'max', 'desired', 'tz'] as const;
type ActionKey = (typeof ACTION_KEYS)[number];

/** Most actions in one schedule: a day or a week of changes is a handful. */
export const MAX_ACTIONS = 50;

const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';
const FIELDS: readonly { name: string; lo: number; hi: number; names?: string }[] = [
  { name: 'minute', lo: 0, hi: 59 },
  { name: 'hour', lo: 0, hi: 23 },
  { name: 'day of month', lo: 1, hi: 31 },
  { name: 'month', lo: 1, hi: 12, names: MONTHS },
  { name: 'day of week', lo: 0, hi: 7, names: DAYS },
];

/**
 * The part of cron both AWS (Unix cron) and KEDA (robfig/cron's standard parser) read the same way:
 * five fields of `*`, numbers, names, ranges, lists and steps. Quartz extras (`?`, `L`, `W`, `#`, seconds, years)
 * would export to neither, so they are refused here rather than there.
 */
function checkCronSyntax(cron: string, where: string): string {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 || cron.trim() === '') {
    throw new ConfigError(`${where}: cron "${cron}" must have 5 fields (minute hour day-of-month month day-of-week), it has ${cron.trim() === '' ? 0 : fields.length}`);
  }
  fields.forEach((f, i) => {
    const spec = FIELDS[i];
    const value = spec.names ? `(\\d+|${spec.names})` : '(\\d+)';
    const item = new RegExp(`^(\\*|${value}(-${value})?)(/(\\d+))?$`, 'i');
    for (const part of f.split(',')) {
      const m = item.exec(part);
      if (m === null) throw new ConfigError(`${where}: cron "${cron}": ${spec.name} field "${f}" is not a number, a name, *, a range a-b, a list a,b or a step /n`);
      for (const n of [m[2], m[4]]) {
        if (n === undefined || !/^\d+$/.test(n)) continue;
        const v = Number(n);
        if (v < spec.lo || v > spec.hi) throw new ConfigError(`${where}: cron "${cron}": ${spec.name} ${v} is outside ${spec.lo}–${spec.hi}`);
      }
      if (m[6] !== undefined && Number(m[6]) === 0) throw new ConfigError(`${where}: cron "${cron}": step /0 in the ${spec.name} field`);
    }
  });
  return fields.join(' ');
}

/** A time zone the runtime knows (IANA name such as Europe/Berlin, or UTC). */
function checkZone(tz: string, where: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new ConfigError(`${where}: tz "${tz}" is not a time zone name (e.g. UTC, Europe/Berlin, America/New_York)`);
  }
}

const crons = new Map<string, Cron>();

/** croner's parsed expression, kept per (cron, tz): parsing costs more than finding the next time. */
function cronOf(cron: string, tz: string): Cron {
  const key = `${tz} ${cron}`;
  let c = crons.get(key);
  if (c === undefined) {
    // Vixie cron's rule (AWS and KEDA too): when both day fields are restricted, either one matching is enough.
    c = new Cron(cron, { timezone: tz, paused: true, domAndDow: false });
    if (crons.size > 1000) crons.clear();
    crons.set(key, c);
  }
  return c;
}

/** The action's first time strictly after `wallMs` (ms since the epoch), or null when it never runs again. */
export function nextTime(a: Pick<ScheduledAction, 'cron' | 'tz'>, wallMs: number): number | null {
  const d = cronOf(a.cron, a.tz).nextRun(new Date(wallMs));
  return d === null ? null : d.getTime();
}

function count(raw: unknown, key: string, where: string, limit: number): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > limit) {
    const zero = n === 0 ? ' (scale to zero is --min 0 with --idle, not a schedule)' : '';
    throw new ConfigError(`${where}: ${key} must be a whole number from 1 to ${limit} (received ${JSON.stringify(raw)})${zero}`);
  }
  return n;
}

/** One action from its fields (the config file's object, or a parsed flag), checked. */
export function actionFrom(fields: Partial<Record<string, unknown>>, index: number, where: string, limit: number): ScheduledAction {
  for (const k of Object.keys(fields)) {
    if (!(ACTION_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${where}: unknown key "${k}" (expected ${ACTION_KEYS.join(', ')})`);
  }
  const text = (k: ActionKey): string | undefined => {
    const v = fields[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(`${where}: ${k} must be a non-empty string (received ${JSON.stringify(v)})`);
    return v.trim();
  };
  const rawCron = text('cron');
  if (rawCron === undefined) throw new ConfigError(`${where}: cron is missing (e.g. cron=0 8 * * MON-FRI)`);
  const name = text('name') ?? `action-${index + 1}`;
  if (!/^[\w.:-]{1,64}$/.test(name)) throw new ConfigError(`${where}: name "${name}" may hold only letters, digits and . _ : - (at most 64)`);
  const tz = checkZone(text('tz') ?? 'UTC', where);
  const cron = checkCronSyntax(rawCron, where);
  try {
    cronOf(cron, tz);
  } catch (err) {
    throw new ConfigError(`${where}: cron "${cron}": ${(err as Error).message.replace(/^CronPattern: /, '')}`);
  }
  const a: ScheduledAction = { name, cron, tz };
  for (const k of ['min', 'max', 'desired'] as const) if (fields[k] !== undefined) a[k] = count(fields[k], k, where, limit);
  if (a.min === undefined && a.max === undefined && a.desired === undefined) throw new ConfigError(`${where}: sets none of min, max, desired`);
  if (a.min !== undefined && a.max !== undefined && a.min > a.max) throw new ConfigError(`${where}: min (${a.min}) must be <= max (${a.max})`);
  return a;
}

/**
 * `--schedule 'cron=0 8 * * MON-FRI min=3 tz=Europe/Berlin'`: key=value words; the cron's five fields may
 * follow `cron=` unquoted (every word up to the next key= belongs to it) or quoted.
 */
export function parseScheduleFlag(s: string, index: number, limit: number): ScheduledAction {
  const where = `--schedule '${s}'`;
  const fields: Record<string, string> = {};
  let current: string | null = null;
  for (const word of s.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z][\w-]*)=(.*)$/.exec(word);
    if (m !== null) {
      const key = m[1];
      if (!(ACTION_KEYS as readonly string[]).includes(key)) throw new ConfigError(`${where}: unknown key "${key}" (expected ${ACTION_KEYS.join(', ')})`);
      if (key in fields) throw new ConfigError(`${where}: ${key} is given twice`);
      fields[key] = m[2];
      current = key;
      continue;
    }
    if (current !== 'cron') throw new ConfigError(`${where}: "${word}" is not key=value (expected ${ACTION_KEYS.join(', ')})`);
    fields.cron += ` ${word}`;
  }
  if ('cron' in fields) fields.cron = fields.cron.replace(/^(["'])(.*)\1$/, '$2');
  return actionFrom(fields, index, where, limit);
}

/**
 * The whole schedule (flag strings or config-file values), checked against the lab's --min/--max: every min an
 * action sets must fit under every max that could be in force then (--max or any action's max), and every max
 * over every min, so that no order of actions leaves min above max.
 */
export function parseSchedule(raw: unknown, source: 'flag' | 'file' | 'recorded', bounds: { min: number; max: number }, limit: number): ScheduledAction[] {
  const where = source === 'flag' ? '--schedule' : source === 'file' ? '"schedule" in the config file' : 'the recorded schedule';
  if (!Array.isArray(raw)) throw new ConfigError(`${where} must be a list of actions (received ${JSON.stringify(raw)})`);
  if (raw.length > MAX_ACTIONS) throw new ConfigError(`${where}: at most ${MAX_ACTIONS} actions (received ${raw.length})`);
  const actions = raw.map((item, i) => {
    if (typeof item === 'string') return parseScheduleFlag(item, i, limit);
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) return actionFrom(item as Record<string, unknown>, i, `${where}, action ${i + 1}`, limit);
    throw new ConfigError(`${where}, action ${i + 1}: expected an object such as {"cron": "0 8 * * *", "min": 3} (received ${JSON.stringify(item)})`);
  });
  const names = new Set<string>();
  for (const a of actions) {
    if (names.has(a.name)) throw new ConfigError(`${where}: two actions are named "${a.name}"`);
    names.add(a.name);
  }
  const maxes = [{ v: bounds.max, who: `--max ${bounds.max}` }, ...actions.filter((a) => a.max !== undefined).map((a) => ({ v: a.max!, who: `max ${a.max} of "${a.name}"` }))];
  const mins = [{ v: bounds.min, who: `--min ${bounds.min}` }, ...actions.filter((a) => a.min !== undefined).map((a) => ({ v: a.min!, who: `min ${a.min} of "${a.name}"` }))];
  for (const lo of mins) {
    for (const hi of maxes) {
      if (lo.v > hi.v) throw new ConfigError(`${where}: ${lo.who} is above ${hi.who}; whichever runs last, min must stay <= max`);
    }
  }
  return actions;
}

/** The schedule's memory between ticks: plain data. */
export interface ScheduleMemory {
  /** Wall-clock ms (Date.now()) at the lab's clock 0: the policy's `now` plus this is the time of day. */
  origin: number;
  /** The bounds the last actions set (null: --min/--max). */
  min: number | null;
  max: number | null;
  /** Each action's next time, wall ms, by index (null: never again); null until the first tick. */
  next: (number | null)[] | null;
}

export function initialScheduleMemory(origin: number): ScheduleMemory {
  return { origin, min: null, max: null, next: null };
}

/** An action that ran at a tick. */
export interface FiredAction {
  action: ScheduledAction;
  /** Its scheduled time, wall ms. */
  at: number;
}

/** What the schedule holds at a tick, for the decision and the views. */
export interface ScheduleView {
  /** Bounds in force after this tick's actions. */
  min: number;
  max: number;
  /** Actions that ran at this tick, in time order. */
  fired: FiredAction[];
  /** The count the last of them with a desired asked for, clipped into [min, max] (null: none did). */
  desired: number | null;
  /** The next action to run, or null when none will. */
  next: { name: string; at: number; tz: string } | null;
}

/**
 * The actions due at wall time `wall`: each whose next time is at or before it runs once (a tick is seconds
 * apart and a cron minutes, so two times of one action never fall in one tick; if they did, running it once is
 * the same), in the order of their times (ties: the order given). Returns the new memory and the view.
 */
export function applySchedule(actions: readonly ScheduledAction[], memory: ScheduleMemory, bounds: { min: number; max: number }, wall: number): { memory: ScheduleMemory; view: ScheduleView } {
  const next = memory.next ?? actions.map((a) => nextTime(a, memory.origin));
  const due = actions
    .map((action, i) => ({ action, i, at: next[i] }))
    .filter((d): d is { action: ScheduledAction; i: number; at: number } => d.at !== null && d.at <= wall)
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let { min, max } = memory;
  let desired: number | null = null;
  const after = [...next];
  for (const d of due) {
    if (d.action.min !== undefined) min = d.action.min;
    if (d.action.max !== undefined) max = d.action.max;
    if (d.action.desired !== undefined) desired = d.action.desired;
    after[d.i] = nextTime(d.action, wall);
  }
  const lo = min ?? bounds.min;
  const hi = max ?? bounds.max;
  let soonest: { name: string; at: number; tz: string } | null = null;
  actions.forEach((a, i) => {
    const at = after[i];
    if (at !== null && (soonest === null || at < soonest.at)) soonest = { name: a.name, at, tz: a.tz };
  });
  return {
    memory: { origin: memory.origin, min, max, next: after },
    view: { min: lo, max: hi, fired: due.map((d) => ({ action: d.action, at: d.at })), desired: desired === null ? null : Math.min(hi, Math.max(lo, desired)), next: soonest },
  };
}

/** "08:00 Mon 7 Dec Europe/Berlin": an instant as the wall clock of the action's zone reads it. */
export function formatZoned(wallMs: number, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', weekday: 'short', day: 'numeric', month: 'short' }).formatToParts(new Date(wallMs));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('hour')}:${get('minute')} ${get('weekday')} ${get('day')} ${get('month')} ${tz}`;
}

/** What an action sets, in words: "min 3, desired 4". */
export function describeAction(a: ScheduledAction): string {
  return (['min', 'max', 'desired'] as const).filter((k) => a[k] !== undefined).map((k) => `${k} ${a[k]}`).join(', ');
}
