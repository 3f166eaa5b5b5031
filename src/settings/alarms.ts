/**
 * The lab's alarm rules: the `alarms` list of the --config file, the five
 * defaults of `--alarms default`, and `--alarm 'metric>threshold,key=value…'`
 * (repeatable). File rules first, then the defaults, then each --alarm;
 * `--alarms none` drops them all. One error line naming the key, exit 2.
 */
import { ConfigError, UsageError } from '../errors.js';
import { isLoopback } from '../url-host.js';
import { AlarmRuleError, COMPARISONS, parseAlarmRule, parseAlarmRules, type AlarmRule } from '../alarms/rule.js';

/**
 * The five alarms of issue 25's AWS setups, at their thresholds, on lab time:
 * 1-minute periods (the seeds' 5xx alarm counts over 5 minutes; a lesson
 * should see it fire within a minute: put `"period": 300` in a config file
 * for the real one). Missing data is not breaching: no traffic, no alarm.
 */
export const DEFAULT_ALARMS: readonly AlarmRule[] = [
  { name: '5xx', metric: '5xx', comparison: '>', threshold: 10, period: 60, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingData: 'notBreaching' },
  { name: 'error-rate', metric: 'error-rate', comparison: '>', threshold: 5, period: 60, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingData: 'notBreaching' },
  { name: 'p95', metric: 'p95', comparison: '>', threshold: 1000, period: 60, evaluationPeriods: 3, datapointsToAlarm: 2, treatMissingData: 'notBreaching' },
  { name: 'unhealthy', metric: 'unhealthy', comparison: '>', threshold: 0, period: 60, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingData: 'notBreaching' },
  { name: 'at-max', metric: 'at-max', comparison: '>=', threshold: 1, period: 60, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'notBreaching' },
];

export const ALARM_SETS = ['default', 'none'] as const;

const FLAG_KEYS: Record<string, string> = {
  name: 'name',
  period: 'period',
  n: 'evaluation-periods',
  'evaluation-periods': 'evaluation-periods',
  m: 'datapoints-to-alarm',
  'datapoints-to-alarm': 'datapoints-to-alarm',
  missing: 'treat-missing-data',
  'treat-missing-data': 'treat-missing-data',
  statistic: 'statistic',
};

/** `5xx>10,period=300,n=3,m=2,missing=notBreaching,name=errors,statistic=sum` → a checked rule. */
export function parseAlarmFlag(text: string): AlarmRule {
  const fail = (message: string): never => {
    throw new ConfigError(`--alarm ${JSON.stringify(text)}: ${message}`);
  };
  const [head, ...rest] = text.split(',').map((s) => s.trim());
  const m = /^([a-z0-9-]+)\s*(>=|<=|>|<)\s*(-?[0-9.]+(?:e-?\d+)?)$/i.exec(head ?? '');
  if (m === null) fail(`expected "metric>threshold" first (comparison one of ${COMPARISONS.join(' ')}), e.g. 5xx>10,period=60`);
  const raw: Record<string, unknown> = { metric: m![1], comparison: m![2], threshold: m![3] };
  for (const part of rest) {
    const eq = part.indexOf('=');
    const key = FLAG_KEYS[eq < 0 ? part : part.slice(0, eq).trim()];
    if (eq < 0 || key === undefined) fail(`expected key=value with a key among ${Object.keys(FLAG_KEYS).join(', ')}, got ${JSON.stringify(part)}`);
    if (key in raw) fail(`${part.slice(0, eq)} is given twice`);
    raw[key] = part.slice(eq + 1).trim();
  }
  raw.name ??= `${m![1]}${m![2]}${m![3]}`;
  try {
    return parseAlarmRule(raw, '--alarm');
  } catch (err) {
    if (err instanceof AlarmRuleError) fail(err.message.slice('--alarm.'.length));
    throw err;
  }
}

/** The config file's `alarms` list, checked; errors name the file and the key path. */
export function parseFileAlarms(value: unknown, file: string): AlarmRule[] {
  try {
    return parseAlarmRules(value);
  } catch (err) {
    if (err instanceof AlarmRuleError) throw new ConfigError(`config file ${file}: ${err.message}`);
    throw err;
  }
}

/**
 * Every alarm of a lab: file rules, then `--alarms default`, then each
 * `--alarm`; `--alarms none` drops them all. Periods shorter than the tick
 * interval are refused (some periods would have no tick, so no datapoint).
 */
export function resolveAlarms(fileRules: readonly AlarmRule[] | undefined, set: unknown, flags: unknown, interval: number): AlarmRule[] {
  if (set !== undefined && (typeof set !== 'string' || !(ALARM_SETS as readonly string[]).includes(set))) {
    throw new ConfigError(`--alarms must be one of ${ALARM_SETS.join(', ')} (received ${JSON.stringify(set)})`);
  }
  if (set === 'none') return [];
  const rules: AlarmRule[] = [...(fileRules ?? [])];
  if (set === 'default') rules.push(...DEFAULT_ALARMS.map((r) => ({ ...r })));
  const typed = flags === undefined ? [] : Array.isArray(flags) ? flags : [flags];
  for (const f of typed) rules.push(parseAlarmFlag(String(f)));
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.name)) throw new ConfigError(`two alarms are named "${r.name}" (from the config file, --alarms default or --alarm): give one a name=…`);
    seen.add(r.name);
    if (r.period < interval) throw new ConfigError(`alarm "${r.name}": period (${r.period} s) must be at least --interval (${interval} s), or some periods would have no tick`);
  }
  if (rules.length > 20) throw new ConfigError(`at most 20 alarms (received ${rules.length})`);
  return rules;
}

/** Where alarm transitions go: a shell command and/or a webhook (see lab/notify.ts). */
export interface NotifyOptions {
  /** `--on-alarm`: run with `sh -c`, the transition in AUTOSCALE_ALARM_* and JSON on stdin. */
  command: string | null;
  /** `--alarm-webhook`: POSTed the same JSON. */
  webhook: URL | null;
}

/**
 * Check `--on-alarm`, `--alarm-webhook` and `--allow-remote-webhook`: a webhook
 * is http(s) on a loopback host unless remote ones are allowed; notifiers
 * without an alarm to notify about are a usage error.
 */
export function parseNotifyOptions(opts: { onAlarm?: unknown; alarmWebhook?: unknown; allowRemoteWebhook?: unknown }, alarms: number): NotifyOptions | null {
  const command = typeof opts.onAlarm === 'string' ? opts.onAlarm : null;
  const hook = typeof opts.alarmWebhook === 'string' ? opts.alarmWebhook : null;
  if (command === null && hook === null) return null;
  if (command !== null && command.trim() === '') throw new UsageError('--on-alarm needs a command (e.g. --on-alarm \'notify-send "$AUTOSCALE_ALARM_NAME" "$AUTOSCALE_ALARM_STATE"\')');
  let webhook: URL | null = null;
  if (hook !== null) {
    try {
      webhook = new URL(hook);
    } catch {
      throw new UsageError(`--alarm-webhook ${JSON.stringify(hook)} is not a URL (expected e.g. http://127.0.0.1:9000/alarms)`);
    }
    if (webhook.protocol !== 'http:' && webhook.protocol !== 'https:') throw new UsageError(`--alarm-webhook ${hook}: expected an http:// or https:// URL`);
    if (webhook.username !== '' || webhook.password !== '') throw new UsageError(`--alarm-webhook: put no user or password in the URL (it would be shown in logs)`);
    if (!isLoopback(webhook.hostname) && opts.allowRemoteWebhook !== true) {
      throw new UsageError(`--alarm-webhook ${webhook.origin}: only loopback hosts (127.0.0.1, ::1, localhost) unless you add --allow-remote-webhook`);
    }
  }
  if (alarms === 0) throw new UsageError(`${command !== null ? '--on-alarm' : '--alarm-webhook'} has no alarm to notify about: add --alarms default, --alarm '5xx>10' or an "alarms" list in --config`);
  return { command, webhook };
}
