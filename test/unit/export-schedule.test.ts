/** Scheduled actions exported: AWS PutScheduledUpdateGroupAction typed against the SDK, KEDA cron triggers validated; bad rules exit 2. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { PutScheduledUpdateGroupActionCommandInput } from '@aws-sdk/client-auto-scaling';
import { awsExport } from '../../src/export/aws.js';
import { exportText } from '../../src/export/export.js';
import { kedaCronTriggers, type ScheduledUpdateInput } from '../../src/export/schedule.js';
import { scaledObjectViolations } from '../../src/export/admission.js';
import { parseExportOptions } from '../../src/export/workload.js';
import { resolveConfig } from '../../src/settings/config.js';
import { parseScheduleFlag } from '../../src/policy/schedule.js';
import { runCli } from '../helpers.js';

// Compile-time: our input is assignable to the SDK's and adds no key the SDK does not know.
type NoExtraKeys<A, B> = Exclude<keyof A, keyof B> extends never ? true : false;
const scheduledKeys: NoExtraKeys<ScheduledUpdateInput, PutScheduledUpdateGroupActionCommandInput> = true;
void scheduledKeys;

const DAY = 'name=day cron=0 8 * * MON-FRI min=3 tz=Europe/Berlin';
const NIGHT = 'name=night cron=0 20 * * * min=1 max=4 tz=Europe/Berlin';
const PEAK = 'name=peak cron=30 11 * * * desired=4 tz=Europe/Berlin';
const cfg = (schedule: string[], extra: Record<string, string> = {}) => resolveConfig({ ...extra, schedule }, {}, { maxInstances: 100_000, ports: false });

test('aws: one PutScheduledUpdateGroupAction per action, same cron, zone and values, typed against the SDK', () => {
  const out = awsExport(cfg([DAY, NIGHT, PEAK]), parseExportOptions('aws', {}));
  const inputs: PutScheduledUpdateGroupActionCommandInput[] = out.PutScheduledUpdateGroupAction!;
  assert.deepEqual(inputs, [
    { AutoScalingGroupName: 'autoscale-worker', ScheduledActionName: 'autoscale-worker-day', Recurrence: '0 8 * * MON-FRI', TimeZone: 'Europe/Berlin', MinSize: 3 },
    { AutoScalingGroupName: 'autoscale-worker', ScheduledActionName: 'autoscale-worker-night', Recurrence: '0 20 * * *', TimeZone: 'Europe/Berlin', MinSize: 1, MaxSize: 4 },
    { AutoScalingGroupName: 'autoscale-worker', ScheduledActionName: 'autoscale-worker-peak', Recurrence: '30 11 * * *', TimeZone: 'Europe/Berlin', DesiredCapacity: 4 },
  ]);
  assert.ok(out.Notes.some((n) => n.startsWith('PutScheduledUpdateGroupAction: ')));
  // The whole text passes the exporter's own AWS admission rules.
  assert.doesNotThrow(() => exportText('aws', cfg([DAY, NIGHT]), parseExportOptions('aws', {})));
  assert.equal(awsExport(cfg([]), parseExportOptions('aws', {})).PutScheduledUpdateGroupAction, undefined);
});

test('keda: a raised min becomes a cron window up to the action that next sets min; max and a one-time desired are said, not dropped', () => {
  const text = exportText('keda', cfg([DAY, NIGHT, PEAK]), parseExportOptions('keda', {}));
  const so = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>).find((d) => d.kind === 'ScaledObject')!;
  new ScaledObject(so as never).validate();
  assert.deepEqual(scaledObjectViolations(so), []);
  const triggers = (so.spec as { triggers: Array<Record<string, unknown>> }).triggers;
  assert.deepEqual(triggers.at(-1), { type: 'cron', name: 'schedule-day', metadata: { timezone: 'Europe/Berlin', start: '0 8 * * MON-FRI', end: '0 20 * * *', desiredReplicas: '3' } });
  assert.match(text, /"night" sets max 4: no KEDA equivalent \(maxReplicaCount stays 5\)/);
  assert.match(text, /"peak" sets desired 4 once: no KEDA equivalent/);
});

test('keda: a min that no single action ends, or that ends in another zone, is explained instead of exported', () => {
  const act = (s: string, i: number) => parseScheduleFlag(s, i, 64);
  const alone = kedaCronTriggers([act('name=day cron=0 8 * * * min=3', 0)], 1, 5);
  assert.deepEqual(alone.triggers, []);
  assert.match(alone.notes.join('\n'), /"day" \(min 3\) has no KEDA cron window/);
  const zones = kedaCronTriggers([act('name=day cron=0 8 * * * min=3 tz=Europe/Berlin', 0), act('name=night cron=0 20 * * * min=1 tz=UTC', 1)], 1, 5);
  assert.deepEqual(zones.triggers, []);
  assert.match(zones.notes.join('\n'), /another zone \(UTC, not Europe\/Berlin\)/);
  // Two different ends after different days: no single end.
  const two = kedaCronTriggers([act('name=day cron=0 8 * * * min=3', 0), act('name=fri cron=0 16 * * FRI min=1', 1), act('name=eve cron=0 20 * * MON-THU min=1', 2)], 1, 5);
  assert.deepEqual(two.triggers, []);
});

test('bad rules on the command line: one line, exit 2, for start, simulate and export alike', async () => {
  for (const argv of [
    ['export', 'aws', '--schedule', 'cron=0 8 * * MOX min=3'],
    ['simulate', '--profile', 'sine', '--peak', '100', '--schedule', 'cron=0 8 * * * mni=3'],
    ['start', '--schedule', 'cron=0 8 * * min=3', '--no-dashboard'],
  ]) {
    const r = await runCli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /--schedule '.*': (cron "0 8 \* \* MOX": day of week field "MOX"|unknown key "mni"|cron "0 8 \* \*" must have 5 fields)/);
  }
});

test('kubernetes: an HPA has no schedule, and its comment says where the schedule goes', () => {
  const text = exportText('kubernetes', cfg([DAY, NIGHT]), parseExportOptions('kubernetes', {}));
  assert.match(text, /# the lab's 2 scheduled action\(s\) have no HPA field: `autoscale export keda` writes them as cron triggers, `export aws` as scheduled actions/);
  assert.doesNotMatch(exportText('kubernetes', cfg([]), parseExportOptions('kubernetes', {})), /scheduled action/);
});

test('keda: minReplicaCount is the lowest min the schedule sets (KEDA never goes below it); --min above it becomes a window', () => {
  const text = exportText('keda', cfg(['name=workday cron=0 7 * * MON-FRI min=3 tz=Europe/Berlin', 'name=night cron=0 20 * * * min=1 tz=Europe/Berlin'], { min: '3' }), parseExportOptions('keda', {}));
  const so = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>).find((d) => d.kind === 'ScaledObject')!;
  const spec = so.spec as { minReplicaCount: number; triggers: Array<Record<string, unknown>> };
  assert.equal(spec.minReplicaCount, 1);
  assert.deepEqual(spec.triggers.at(-1), { type: 'cron', name: 'schedule-workday', metadata: { timezone: 'Europe/Berlin', start: '0 7 * * MON-FRI', end: '0 20 * * *', desiredReplicas: '3' } });
  assert.match(text, /minReplicaCount 1: the lowest min the schedule sets/);
  assert.deepEqual(scaledObjectViolations(so), []);
});
