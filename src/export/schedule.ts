/**
 * The lab's scheduled actions as the two engines have them. Pure.
 *
 * - **AWS**: one PutScheduledUpdateGroupAction per action, the same thing:
 *   Recurrence (the same five-field cron), TimeZone, MinSize, MaxSize,
 *   DesiredCapacity, with the same semantics (bounds persist, desired once).
 * - **KEDA**: its cron scaler is a window, not a point: between `start` and
 *   `end` it asks for `desiredReplicas`, and the HPA takes the highest of all
 *   triggers, so a window is a floor. An action that raises min is therefore a
 *   window from its time to the time of the action that next sets min again,
 *   which must be one and the same action at every one of its times (checked
 *   over four weeks) and read in the same zone. max and a one-time desired
 *   have no KEDA equivalent (maxReplicaCount is fixed): a comment says so.
 */
import { nextTime, type ScheduledAction } from '../policy/schedule.js';

/** PutScheduledUpdateGroupAction's input (typed against the AWS SDK's in the tests). */
export interface ScheduledUpdateInput {
  AutoScalingGroupName: string;
  ScheduledActionName: string;
  Recurrence: string;
  TimeZone: string;
  MinSize?: number;
  MaxSize?: number;
  DesiredCapacity?: number;
}

export function awsScheduledActions(actions: readonly ScheduledAction[], group: string): { inputs: ScheduledUpdateInput[]; notes: string[] } {
  const inputs = actions.map((a) => ({
    AutoScalingGroupName: group,
    ScheduledActionName: `${group}-${a.name}`,
    Recurrence: a.cron,
    TimeZone: a.tz,
    ...(a.min === undefined ? {} : { MinSize: a.min }),
    ...(a.max === undefined ? {} : { MaxSize: a.max }),
    ...(a.desired === undefined ? {} : { DesiredCapacity: a.desired }),
  }));
  const notes =
    actions.length === 0
      ? []
      : [
          `PutScheduledUpdateGroupAction: the lab's ${actions.length} scheduled action(s), same cron, zone and values; AWS applies them as the lab does (MinSize/MaxSize stay until the next action sets them, ` +
            'DesiredCapacity once, then the scaling policy takes over; a count outside new bounds moves inside at once). Like the lab, AWS does not run an action whose time passed before it was created',
        ];
  return { inputs, notes };
}

/** A KEDA cron trigger (its metadata values are strings). */
export interface CronTrigger {
  type: 'cron';
  name: string;
  metadata: { timezone: string; start: string; end: string; desiredReplicas: string };
}

/** Where the window search starts: a fixed Monday, so that one schedule always exports the same YAML. */
const REFERENCE = Date.UTC(2027, 0, 4);
const WEEKS_CHECKED = 4;

/** The action that sets min next after `a`'s time `t` (ties: the one given later wins, as the lab applies them in order). */
function nextMinSetter(setters: readonly ScheduledAction[], t: number): { action: ScheduledAction; at: number } | null {
  let best: { action: ScheduledAction; at: number } | null = null;
  for (const s of setters) {
    const at = nextTime(s, t);
    if (at !== null && (best === null || at <= best.at)) best = { action: s, at };
  }
  return best;
}

/**
 * `floor`: the ScaledObject's minReplicaCount. KEDA never goes below it, so with a schedule it is the lowest min
 * any action sets (or --min, if lower); every higher min is a cron window above it.
 */
export function kedaCronTriggers(actions: readonly ScheduledAction[], labMin: number, baseMax: number): { triggers: CronTrigger[]; notes: string[]; floor: number } {
  const triggers: CronTrigger[] = [];
  const notes: string[] = [];
  const setters = actions.filter((a) => a.min !== undefined);
  const baseMin = Math.min(labMin, ...setters.map((a) => a.min!));
  if (baseMin < labMin) {
    notes.push(`minReplicaCount ${baseMin}: the lowest min the schedule sets, since KEDA never goes below minReplicaCount (the lab's --min ${labMin} holds only until the first action runs)`);
  }
  for (const a of setters) {
    if (a.min! <= baseMin) {
      notes.push(`"${a.name}" sets min ${a.min}: at or below minReplicaCount ${baseMin}, it needs no cron trigger (the window of a higher min ends there)`);
      continue;
    }
    // Its window ends where the next min-setter runs: the same one after each of its times, or it is not a window.
    let end: ScheduledAction | null = null;
    let consistent = true;
    for (let t = nextTime(a, REFERENCE); t !== null && t < REFERENCE + WEEKS_CHECKED * 7 * 86_400_000; t = nextTime(a, t)) {
      const n = nextMinSetter(setters, t);
      if (n === null || n.action === a || (end !== null && n.action !== end)) {
        consistent = false;
        break;
      }
      end = n.action;
    }
    if (!consistent || end === null) {
      notes.push(`"${a.name}" (min ${a.min}) has no KEDA cron window: no single action sets min after each of its times, so no end can be named; set it by hand`);
      continue;
    }
    if (end.tz !== a.tz) {
      notes.push(`"${a.name}" (min ${a.min}) ends at "${end.name}", read in another zone (${end.tz}, not ${a.tz}): a KEDA cron trigger has one timezone; rewrite one of them`);
      continue;
    }
    triggers.push({ type: 'cron', name: `schedule-${a.name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-'), metadata: { timezone: a.tz, start: a.cron, end: end.cron, desiredReplicas: String(a.min) } });
  }
  if (triggers.length > 0) {
    notes.push(
      `schedule: each cron trigger keeps at least desiredReplicas pods from start to end (the HPA takes the highest of all triggers), which is the lab's scheduled min until the action that next sets min; ` +
        'the other triggers still scale above it',
    );
  }
  for (const a of actions) {
    if (a.max !== undefined) notes.push(`"${a.name}" sets max ${a.max}: no KEDA equivalent (maxReplicaCount stays ${baseMax}); AWS has it`);
    if (a.desired !== undefined) notes.push(`"${a.name}" sets desired ${a.desired} once: no KEDA equivalent (a cron trigger holds a floor for a window, it does not set a count once)`);
  }
  return { triggers, notes, floor: baseMin };
}
