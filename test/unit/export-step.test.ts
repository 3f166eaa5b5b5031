/** `autoscale export` of `--policy step`: the real PutScalingPolicy (StepScaling) + PutMetricAlarm pair, typed against the AWS SDK; the closest HPA and KEDA behavior. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { PutScalingPolicyCommandInput } from '@aws-sdk/client-auto-scaling';
import type { PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { awsExport } from '../../src/export/aws.js';
import { awsViolations } from '../../src/export/admission.js';
import { exportText } from '../../src/export/export.js';
import { parseExportOptions } from '../../src/export/workload.js';
import { resolveConfig, type RawSettings } from '../../src/settings/config.js';
import { METRIC_NAMES } from '../../src/policy/metrics.js';
import { runCli as run } from '../helpers.js';

const cfg = (flags: RawSettings) => resolveConfig({ policy: 'step', ...flags }, {}, { maxInstances: 100_000, ports: false });
const opts = parseExportOptions('aws', {});

test('aws: each side is a StepScaling policy and the alarm that runs it, typed as the SDK inputs', () => {
  const out = awsExport(cfg({ metric: 'worker-cpu', stepOut: ['60-80:+1', '80-:+2'], stepIn: ['-20:-1'], stepInAlarm: '40/40' }), opts);
  assert.deepEqual(awsViolations(out), []);
  const policies: PutScalingPolicyCommandInput[] = out.PutScalingPolicy;
  const alarms: PutMetricAlarmCommandInput[] = out.PutMetricAlarm;
  assert.deepEqual(
    policies.map((p) => [p.PolicyName, p.PolicyType, p.AdjustmentType, p.MetricAggregationType, p.StepAdjustments]),
    [
      ['autoscale-worker-step-out', 'StepScaling', 'ChangeInCapacity', 'Average', [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 1 },
        { MetricIntervalLowerBound: 20, ScalingAdjustment: 2 },
      ]],
      ['autoscale-worker-step-in', 'StepScaling', 'ChangeInCapacity', 'Average', [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }]],
    ],
  );
  assert.deepEqual(
    alarms.map((a) => [a.AlarmName, a.MetricName, a.Threshold, a.ComparisonOperator, a.Period, a.DatapointsToAlarm, a.EvaluationPeriods, a.AlarmActions]),
    [
      ['autoscale-worker-worker-cpu-high', 'CPUUtilization', 60, 'GreaterThanOrEqualToThreshold', 60, 1, 1, ['<PolicyARN returned by PutScalingPolicy autoscale-worker-step-out>']],
      // 40 of 40 ticks of 3 s = 120 s: 2 of 2 one-minute periods.
      ['autoscale-worker-worker-cpu-low', 'CPUUtilization', 20, 'LessThanOrEqualToThreshold', 60, 2, 2, ['<PolicyARN returned by PutScalingPolicy autoscale-worker-step-in>']],
    ],
  );
  assert.ok(out.Notes.some((n) => /no cooldown: EC2 Auto Scaling applies cooldowns only to simple scaling/.test(n)));
  assert.ok(out.Notes.some((n) => /a higher step adds only the difference/.test(n)));
});

test('aws: percent steps with MinAdjustmentMagnitude, ExactCapacity, 0 steps, and every metric in its CloudWatch unit', () => {
  const pct = awsExport(cfg({ metric: 'worker-cpu', stepOut: ['50-60:+0%', '60-:+30%'], stepMinMagnitude: '2' }), opts);
  assert.deepEqual(awsViolations(pct), []);
  const p: PutScalingPolicyCommandInput = pct.PutScalingPolicy[0];
  assert.equal(p.AdjustmentType, 'PercentChangeInCapacity');
  assert.equal(p.MinAdjustmentMagnitude, 2);
  assert.deepEqual(p.StepAdjustments?.map((s) => s.ScalingAdjustment), [0, 30]);
  assert.equal(pct.PutMetricAlarm.length, 1);
  const exact = awsExport(cfg({ stepIn: ['-10:=1'] }), opts);
  assert.deepEqual(awsViolations(exact), []);
  assert.equal(exact.PutScalingPolicy[0].AdjustmentType, 'ExactCapacity');
  assert.equal(exact.PutScalingPolicy[0].MinAdjustmentMagnitude, undefined);
  for (const metric of METRIC_NAMES) {
    const e = awsExport(cfg({ metric, stepOut: ['100-200:+1', '200-:+3'], stepIn: ['-50:-1'] }), opts);
    assert.deepEqual(awsViolations(e), [], metric);
    const [hi] = e.PutMetricAlarm;
    const bounds = e.PutScalingPolicy[0].StepAdjustments!;
    if (metric === 'rps') {
      // req/s × 60 s periods: RequestCountPerTarget per period.
      assert.equal(hi.Threshold, 6000);
      assert.equal(bounds[0].MetricIntervalUpperBound, 6000);
    }
    if (metric === 'p95') {
      assert.equal(hi.ExtendedStatistic, 'p95');
      assert.equal(hi.Threshold, 0.1);
      assert.equal(bounds[0].MetricIntervalUpperBound, 0.1);
    }
  }
});

test('the admission rules this export is checked against catch a broken step policy', () => {
  const e = awsExport(cfg({ stepOut: ['60-80:+1', '80-:+2'] }), opts);
  const broken = structuredClone(e);
  broken.PutScalingPolicy[0].StepAdjustments![1].MetricIntervalLowerBound = 25;
  assert.match(awsViolations(broken).join('; '), /neither overlap nor leave a gap/);
  broken.PutScalingPolicy[0].MinAdjustmentMagnitude = 2;
  assert.match(awsViolations(broken).join('; '), /MinAdjustmentMagnitude: .*only with PercentChangeInCapacity/);
});

test('kubernetes and keda: the closest HPA behavior, valid, with a comment on what differs', () => {
  const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
  const both = cfg({ metric: 'worker-cpu', stepOut: ['60-80:+1', '80-:+2'], stepIn: ['-20:-1'] });
  const k8s = exportText('kubernetes', both, parseExportOptions('kubernetes', { image: 'img' }));
  const hpa = docs(k8s)[2];
  new HorizontalPodAutoscaler(hpa as never).validate();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const spec = hpa.spec as any;
  assert.equal(spec.metrics[0].resource.target.averageUtilization, 40); // midway between the two alarm thresholds
  assert.deepEqual(spec.behavior.scaleUp.policies, [{ type: 'Pods', value: 2, periodSeconds: 3 }]); // the largest step
  assert.deepEqual(spec.behavior.scaleDown.policies, [{ type: 'Pods', value: 1, periodSeconds: 3 }]);
  assert.equal(spec.behavior.scaleDown.stabilizationWindowSeconds, 15); // the in alarm's 5 of 5 ticks
  assert.match(k8s, /# no steps here: the engine holds one target/);
  // Only a scale-out policy: the HPA's scale-down is disabled, as the lab never scales in.
  const outOnly = docs(exportText('keda', cfg({ stepOut: ['60-:+10%'] }), parseExportOptions('keda', { image: 'img' })))[2];
  new ScaledObject(outOnly as never).validate();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const behavior = (outOnly.spec as any).advanced.horizontalPodAutoscalerConfig.behavior;
  assert.equal(behavior.scaleDown.selectPolicy, 'Disabled');
  assert.deepEqual(behavior.scaleUp.policies.map((x: { type: string }) => x.type), ['Pods', 'Percent']);
});

test('export CLI: --policy step from flags, bad step specs exit 2 with one line', async () => {
  const ok = await run(['export', 'aws', '--policy', 'step', '--metric', 'worker-cpu', '--step-out', '60-80:+1', '--step-out', '80-:+2', '--step-in', '-20:-1']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).PutScalingPolicy[0].PolicyType, 'StepScaling');
  for (const argv of [
    ['export', 'aws', '--policy', 'step'],
    ['export', 'aws', '--policy', 'step', '--step-out', '60-80:+1'],
    ['export', 'aws', '--policy', 'step', '--step-out', 'sixty:+1'],
    ['export', 'aws', '--policy', 'threshold', '--step-out', '60-:+1'],
  ]) {
    const r = await run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
