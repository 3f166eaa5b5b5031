/**
 * `autoscale export aws`: the inputs of CreateAutoScalingGroup,
 * PutScalingPolicy (target tracking, or step scaling for the threshold policy)
 * and, for step scaling, the two CloudWatch PutMetricAlarm calls. Each part is
 * the exact input of one API call (`aws … --cli-input-json`); `Notes` says
 * what has no equivalent and what to replace. Pure. The tests type every part
 * against the AWS SDK's own input types.
 */
import { DEFAULT_HEALTH } from '../balancer/balancer.js';
import type { LabConfig } from '../settings/config.js';
import { METRICS } from '../policy/metrics.js';
import { hostCpuNote, round } from './mapping.js';
import { stepAlarmRule, stepSpecs, type AdjustmentType, type StepDirection, type StepPolicySettings, type StepScalingSettings } from '../policy/step-scaling.js';
import { COMPARISON_OPERATORS, type TreatMissing } from '../alarms/rule.js';
import { EXPORT_DEFAULTS, workerArgs, type ExportOptions } from './workload.js';

interface Dimension { Name: string; Value: string }

export interface AsgInput {
  AutoScalingGroupName: string;
  MinSize: number;
  MaxSize: number;
  DesiredCapacity: number;
  DefaultInstanceWarmup: number;
  DefaultCooldown: number;
  HealthCheckType: 'ELB';
  HealthCheckGracePeriod: number;
  LaunchTemplate: { LaunchTemplateName: string; Version: string };
  VPCZoneIdentifier: string;
  TargetGroupARNs: string[];
}

interface MetricStatQuery {
  Id: string;
  MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: Dimension[] }; Stat: string };
  ReturnData: boolean;
}

export interface TargetTrackingConfig {
  PredefinedMetricSpecification?: { PredefinedMetricType: 'ASGAverageCPUUtilization' | 'ALBRequestCountPerTarget'; ResourceLabel?: string };
  CustomizedMetricSpecification?: { MetricName?: string; Namespace?: string; Dimensions?: Dimension[]; Statistic?: 'Average'; Metrics?: MetricStatQuery[] };
  TargetValue: number;
  DisableScaleIn: boolean;
}

export interface ScalingPolicyInput {
  AutoScalingGroupName: string;
  PolicyName: string;
  PolicyType: 'TargetTrackingScaling' | 'StepScaling';
  TargetTrackingConfiguration?: TargetTrackingConfig;
  AdjustmentType?: AdjustmentType;
  MinAdjustmentMagnitude?: number;
  MetricAggregationType?: 'Average';
  StepAdjustments?: Array<{ MetricIntervalLowerBound?: number; MetricIntervalUpperBound?: number; ScalingAdjustment: number }>;
}

export interface MetricAlarmInput {
  AlarmName: string;
  AlarmDescription: string;
  ActionsEnabled: boolean;
  AlarmActions: string[];
  Namespace: string;
  MetricName: string;
  Dimensions: Dimension[];
  Statistic?: 'Average' | 'Sum';
  ExtendedStatistic?: string;
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  Threshold: number;
  ComparisonOperator: 'GreaterThanThreshold' | 'LessThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanOrEqualToThreshold';
  TreatMissingData: TreatMissing;
}

/** PutWarmPool: instances kept initialised and stopped, for --min 0. */
export interface WarmPoolInput {
  AutoScalingGroupName: string;
  MinSize: number;
  PoolState: 'Stopped';
  InstanceReusePolicy: { ReuseOnScaleIn: boolean };
}

export interface AwsExport {
  Notes: string[];
  CreateAutoScalingGroup: AsgInput;
  PutScalingPolicy: ScalingPolicyInput[];
  PutMetricAlarm: MetricAlarmInput[];
  /** Only with --min 0. */
  PutWarmPool?: WarmPoolInput;
}

const secs = (ms: number) => Math.ceil(ms / 1000);

/** Where each lab metric lives in CloudWatch (for alarms), and its unit conversion. */
function cloudWatchMetric(c: LabConfig, o: ExportOptions, period: number) {
  const asg: Dimension[] = [{ Name: 'AutoScalingGroupName', Value: o.name }];
  switch (c.metric) {
    case 'host-cpu':
    case 'worker-cpu':
      return { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: asg, Statistic: 'Average' as const, scale: 1, unit: '%' };
    case 'rps':
      return {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'RequestCountPerTarget',
        Dimensions: [{ Name: 'TargetGroup', Value: '<targetgroup/NAME/ID from the target group ARN>' }],
        Statistic: 'Sum' as const,
        scale: period,
        unit: `requests per target per ${period} s`,
      };
    case 'concurrency':
      return { Namespace: 'autoscale', MetricName: 'ConcurrentRequests', Dimensions: asg, Statistic: 'Average' as const, scale: 1, unit: 'requests in flight' };
    case 'p95':
      return {
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'TargetResponseTime',
        Dimensions: [{ Name: 'LoadBalancer', Value: '<app/NAME/ID of the load balancer>' }],
        ExtendedStatistic: 'p95',
        scale: 0.001,
        unit: 's',
      };
  }
}

function targetTracking(c: LabConfig, o: ExportOptions): { config: TargetTrackingConfig; note: string } {
  switch (c.metric) {
    case 'host-cpu':
    case 'worker-cpu':
      return {
        config: { PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: c.target, DisableScaleIn: false },
        note:
          (hostCpuNote(c.metric) ?? 'worker-cpu = the group\'s average CPUUtilization') +
          '. EC2 CPUUtilization is % of all of an instance\'s vCPUs, the lab\'s % of one core: they agree on 1-vCPU instances (one Node.js worker per instance)',
      };
    case 'rps':
      return {
        config: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget', ResourceLabel: '<app/LB-NAME/LB-ID/targetgroup/TG-NAME/TG-ID>' },
          TargetValue: round(c.target * 60),
          DisableScaleIn: false,
        },
        note: `rps: ALBRequestCountPerTarget counts requests per target per minute, so the lab's ${c.target} req/s is ${round(c.target * 60)}; replace ResourceLabel with your load balancer's and target group's`,
      };
    case 'concurrency':
      return {
        config: {
          CustomizedMetricSpecification: { MetricName: 'ConcurrentRequests', Namespace: 'autoscale', Dimensions: [{ Name: 'AutoScalingGroupName', Value: o.name }], Statistic: 'Average' },
          TargetValue: c.target,
          DisableScaleIn: false,
        },
        note:
          "concurrency has no AWS metric: publish autoscale/ConcurrentRequests yourself, e.g. the CloudWatch agent scraping each worker's /metrics " +
          "(the rate of http_request_duration_seconds_sum is the mean number in flight, by Little's law)",
      };
    case 'p95':
      return {
        config: {
          CustomizedMetricSpecification: {
            Metrics: [
              {
                Id: 'p95',
                MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'TargetResponseTime', Dimensions: [{ Name: 'LoadBalancer', Value: '<app/LB-NAME/LB-ID>' }] }, Stat: 'p95' },
                ReturnData: true,
              },
            ],
          },
          TargetValue: round(c.target / 1000, 6),
          DisableScaleIn: false,
        },
        note:
          `p95: the ALB's TargetResponseTime p95 in seconds (${c.target} ms = ${round(c.target / 1000, 6)} s). Target tracking assumes the metric falls in proportion ` +
          'to added capacity, which latency does only under queueing: expect it to react late and scale in slowly',
      };
  }
}

export function awsExport(c: LabConfig, o: ExportOptions): AwsExport {
  const h = DEFAULT_HEALTH;
  const notes: string[] = [];
  const replace: string[] = [];
  const asg: AsgInput = {
    AutoScalingGroupName: o.name,
    MinSize: c.min,
    MaxSize: c.max,
    // A lab with --min 0 starts with one worker, as Knative's initial scale of 1.
    DesiredCapacity: Math.max(1, c.min),
    DefaultInstanceWarmup: Math.round(c.warmup),
    DefaultCooldown: Math.round(c.cooldown),
    HealthCheckType: 'ELB',
    HealthCheckGracePeriod: secs(c.readyTimeoutMs),
    LaunchTemplate: { LaunchTemplateName: o.launchTemplate ?? '<launch template whose user data runs the worker image (see Notes)>', Version: '$Latest' },
    VPCZoneIdentifier: o.subnets ?? '<subnet-…,subnet-…>',
    TargetGroupARNs: [o.targetGroupArn ?? '<target group ARN>'],
  };
  if (o.launchTemplate === null) replace.push('LaunchTemplateName (--launch-template)');
  if (o.subnets === null) replace.push('VPCZoneIdentifier (--subnets)');
  if (o.targetGroupArn === null) replace.push('TargetGroupARNs (--target-group-arn)');
  notes.push(
    `CreateAutoScalingGroup: min ${c.min}, max ${c.max}, DefaultInstanceWarmup ${Math.round(c.warmup)} s = the lab's --warmup (new instances stay out of the group's metrics this long); ` +
      `HealthCheckGracePeriod ${secs(c.readyTimeoutMs)} s = the lab's ready deadline. Give the target group the lab's health check: GET ${h.path}, ` +
      `${h.unhealthyThreshold} failures out, ${h.healthyThreshold} successes in (the lab probes every ${secs(h.intervalMs)} s; an ALB at least every 5 s)`,
  );

  const policies: ScalingPolicyInput[] = [];
  const alarms: MetricAlarmInput[] = [];
  if (c.policy === 'step' && c.stepScaling) {
    const st = stepScalingExport(c, o, c.stepScaling);
    policies.push(...st.policies);
    alarms.push(...st.alarms);
    notes.push(...st.notes);
    replace.push('AlarmActions (the PolicyARN each PutScalingPolicy call returns)');
  } else if (c.policy === 'target') {
    const t = targetTracking(c, o);
    policies.push({ AutoScalingGroupName: o.name, PolicyName: `${o.name}-target-${c.metric}`, PolicyType: 'TargetTrackingScaling', TargetTrackingConfiguration: t.config });
    notes.push(`PutScalingPolicy: target tracking at ${c.target}${METRICS[c.metric].unit} per instance. ${t.note}`);
    notes.push(
      `no equivalent for --tolerance ${c.tolerance}, --scale-down-window ${c.scaleDownWindow} s, --max-step-pods/--max-step-percent: target tracking keeps its own alarms ` +
        '(scale out after 3 one-minute breaches, scale in after 15) and scales in gradually; nothing set here changes that',
    );
    notes.push(`the lab decides every ${c.interval} s; target tracking evaluates one-minute metrics`);
  } else {
    const period = Math.max(60, Math.ceil(c.interval / 60) * 60);
    const cw = cloudWatchMetric(c, o, period);
    const { scale, unit, ...metric } = cw;
    const inPeriods = Math.max(1, Math.ceil(c.cooldown / period));
    const policyArn = (dir: string) => `<PolicyARN returned by PutScalingPolicy ${o.name}-scale-${dir}>`;
    policies.push(
      { AutoScalingGroupName: o.name, PolicyName: `${o.name}-scale-out`, PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', MetricAggregationType: 'Average', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] },
      { AutoScalingGroupName: o.name, PolicyName: `${o.name}-scale-in`, PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', MetricAggregationType: 'Average', StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }] },
    );
    alarms.push(
      {
        AlarmName: `${o.name}-${c.metric}-high`,
        AlarmDescription: `autoscale: ${c.metric} above ${c.scaleUp}${METRICS[c.metric].unit} -> one instance out`,
        ActionsEnabled: true,
        AlarmActions: [policyArn('out')],
        ...metric,
        Period: period,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Threshold: round(c.scaleUp * scale, 6),
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'missing',
      },
      {
        AlarmName: `${o.name}-${c.metric}-low`,
        AlarmDescription: `autoscale: ${c.metric} below ${c.scaleDown}${METRICS[c.metric].unit} -> one instance in`,
        ActionsEnabled: true,
        AlarmActions: [policyArn('in')],
        ...metric,
        Period: period,
        EvaluationPeriods: inPeriods,
        DatapointsToAlarm: inPeriods,
        Threshold: round(c.scaleDown * scale, 6),
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'notBreaching',
      },
    );
    replace.push('AlarmActions (the PolicyARN each PutScalingPolicy call returns)');
    notes.push(
      `PutScalingPolicy: step scaling, +1 instance while the high alarm fires and -1 while the low one does (the lab's one step per tick). ` +
        `Thresholds in ${unit}: ${round(c.scaleUp * scale, 6)} and ${round(c.scaleDown * scale, 6)}`,
    );
    if (c.metric === 'rps') notes.push(`rps: RequestCountPerTarget is a count per period, so the lab's req/s thresholds are multiplied by ${period}`);
    if (c.metric === 'p95') notes.push("p95: the ALB's TargetResponseTime p95, in seconds; it includes the target's queueing like the lab's balancer-side p95");
    if (c.metric === 'concurrency') notes.push("concurrency has no AWS metric: publish autoscale/ConcurrentRequests yourself (the rate of http_request_duration_seconds_sum, by Little's law)");
    const host = hostCpuNote(c.metric);
    if (host) notes.push(host);
    notes.push(
      `the lab decides every ${c.interval} s; the alarms use ${period} s periods (CloudWatch's finest for EC2 metrics with detailed monitoring)`,
      `no equivalent for the ${c.cooldown} s cooldown: step scaling has no cooldown, so the low alarm must stay low for ${inPeriods} period(s) (${inPeriods * period} s) before it acts. ` +
        `DefaultCooldown is set to ${Math.round(c.cooldown)} s, but AWS applies it only to simple scaling`,
      "no scale-out while an instance is still starting (the lab's rule): step scaling counts instances inside DefaultInstanceWarmup toward the current capacity instead, so one alarm is not answered twice",
    );
  }
  notes.push(...labNotes(c, o));
  const warmPool: WarmPoolInput | null = c.min === 0 ? { AutoScalingGroupName: o.name, MinSize: 1, PoolState: 'Stopped', InstanceReusePolicy: { ReuseOnScaleIn: true } } : null;
  if (replace.length > 0) notes.push(`replace before use: ${replace.join('; ')}`);
  return { Notes: notes, CreateAutoScalingGroup: asg, PutScalingPolicy: policies, PutMetricAlarm: alarms, ...(warmPool ? { PutWarmPool: warmPool } : {}) };
}

/** CloudWatch periods: 10, 20, 30 s (high resolution) or a multiple of 60 (60 is the finest for EC2 metrics with detailed monitoring). */
function cloudWatchPeriod(seconds: number): number {
  return Math.max(60, Math.ceil(seconds / 60) * 60);
}

/**
 * `--policy step`: each side is the real pair, a StepScaling PutScalingPolicy (bounds relative to the alarm
 * threshold, in CloudWatch's unit) and the PutMetricAlarm whose action runs it, over the same span of time
 * as the lab's alarm looks at.
 */
function stepScalingExport(c: LabConfig, o: ExportOptions, s: StepScalingSettings): { policies: ScalingPolicyInput[]; alarms: MetricAlarmInput[]; notes: string[] } {
  const policies: ScalingPolicyInput[] = [];
  const alarms: MetricAlarmInput[] = [];
  const notes: string[] = [];
  const unit = METRICS[c.metric].unit;
  for (const direction of ['out', 'in'] as const satisfies readonly StepDirection[]) {
    const p: StepPolicySettings | null = s[direction];
    if (p === null) continue;
    const rule = stepAlarmRule(direction, p, c.metric, c.interval);
    const labSpan = rule.period * rule.evaluationPeriods;
    const period = cloudWatchPeriod(rule.period);
    const { scale, unit: cwUnit, ...metric } = cloudWatchMetric(c, o, period);
    const evaluationPeriods = Math.max(1, Math.round(labSpan / period));
    const datapointsToAlarm = Math.min(evaluationPeriods, Math.max(1, Math.round((rule.datapointsToAlarm * rule.period) / period)));
    const policyName = `${o.name}-step-${direction}`;
    const bound = (v: number | null) => (v === null ? undefined : round(v * scale, 6));
    policies.push({
      AutoScalingGroupName: o.name,
      PolicyName: policyName,
      PolicyType: 'StepScaling',
      AdjustmentType: p.adjustmentType,
      ...(p.minAdjustmentMagnitude !== null ? { MinAdjustmentMagnitude: p.minAdjustmentMagnitude } : {}),
      MetricAggregationType: 'Average',
      StepAdjustments: p.steps.map((x) => {
        const lower = bound(x.lower);
        const upper = bound(x.upper);
        return { ...(lower === undefined ? {} : { MetricIntervalLowerBound: lower }), ...(upper === undefined ? {} : { MetricIntervalUpperBound: upper }), ScalingAdjustment: x.adjustment };
      }),
    });
    alarms.push({
      AlarmName: `${o.name}-${p.alarm.name}`,
      AlarmDescription: `autoscale: ${c.metric} ${direction === 'out' ? '>=' : '<='} ${p.alarm.threshold}${unit} -> ${policyName} (steps ${stepSpecs(p).join(' ')})`,
      ActionsEnabled: true,
      AlarmActions: [`<PolicyARN returned by PutScalingPolicy ${policyName}>`],
      ...metric,
      Period: period,
      EvaluationPeriods: evaluationPeriods,
      DatapointsToAlarm: datapointsToAlarm,
      Threshold: round(p.alarm.threshold * scale, 6),
      ComparisonOperator: COMPARISON_OPERATORS[rule.comparison] as MetricAlarmInput['ComparisonOperator'],
      TreatMissingData: p.alarm.treatMissingData,
    });
    notes.push(
      `PutScalingPolicy ${policyName} + PutMetricAlarm ${o.name}-${p.alarm.name}: the lab's scale-${direction} steps ${stepSpecs(p).join(' ')} (${p.adjustmentType}` +
        `${p.minAdjustmentMagnitude !== null ? `, MinAdjustmentMagnitude ${p.minAdjustmentMagnitude}` : ''}), bounds relative to the threshold ${round(p.alarm.threshold * scale, 6)} in ${cwUnit}. ` +
        `The lab's alarm is ${rule.datapointsToAlarm} of ${rule.evaluationPeriods} periods of ${rule.period} s (${labSpan} s); CloudWatch's is ${datapointsToAlarm} of ${evaluationPeriods} of ${period} s (its periods are 60 s or more for these metrics: the lab's span in whole periods, at least one)`,
    );
  }
  if (c.metric === 'rps') notes.push('rps: RequestCountPerTarget is a count per period, so the lab\'s req/s thresholds and bounds are multiplied by the period');
  if (c.metric === 'p95') notes.push("p95: the ALB's TargetResponseTime p95, in seconds (thresholds and bounds ÷ 1000); it includes the target's queueing like the lab's balancer-side p95");
  if (c.metric === 'concurrency') notes.push("concurrency has no AWS metric: publish autoscale/ConcurrentRequests yourself (the rate of http_request_duration_seconds_sum, by Little's law)");
  const host = hostCpuNote(c.metric);
  if (host) notes.push(host);
  notes.push(
    `warm-up: DefaultInstanceWarmup ${Math.round(c.warmup)} s = the lab's --warmup. As in the lab, an instance still launching or warming up is not part of the current capacity when a step scales out, ` +
      'so a repeated breach in the same step adds nothing and a higher step adds only the difference; no scale-in starts while a scale-out is in progress',
    'CloudWatch invokes an Auto Scaling action again each minute the alarm stays in ALARM; the lab runs the policy at each evaluation of its alarm (each period) while it is in ALARM',
    `no cooldown: EC2 Auto Scaling applies cooldowns only to simple scaling (DefaultCooldown ${Math.round(c.cooldown)} s is set, and unused by these policies)`,
  );
  return { policies, alarms, notes };
}

/** The lab settings outside the policy — balancer, connection limits, scale to zero, database — as AWS has them. */
function labNotes(c: LabConfig, o: ExportOptions): string[] {
  const notes: string[] = [];
  notes.push(
    c.balancer === 'l4'
      ? "--balancer l4 = a Network Load Balancer with a TCP target group: each connection stays on the instance it reached, as in the lab, so instances added later get no traffic from keep-alive connections that already exist" +
          (c.metric === 'rps' ? '. RequestCountPerTarget exists only for an Application Load Balancer: with an NLB scale on CPU or publish the request rate yourself' : '')
      : '--balancer l7 = an Application Load Balancer: it picks a target per request (round robin by default), as the lab\'s balancer does',
  );
  notes.push(
    `the instances run the worker image (the repository's Dockerfile, ${EXPORT_DEFAULTS.image}) from the launch template's user data: ` +
      `docker run -d --restart always -p ${o.containerPort}:${o.containerPort} -e DATABASE_URL ${EXPORT_DEFAULTS.image} ${workerArgs(c, o, '"$DATABASE_URL"').join(' ')}` +
      (c.maxConnRequests > 0 || c.maxConnAge > 0 ? ' (the lab\'s --max-conn-requests/--max-conn-age are worker flags: they carry over unchanged)' : ''),
    "visits: DATABASE_URL must name one PostgreSQL that every instance shares (e.g. Amazon RDS; keep the URL in SSM Parameter Store or Secrets Manager and read it in the user data). " +
      "The lab's default SQLite file does not scale out: each instance would keep its own visits",
  );
  if (c.min === 0) {
    notes.push(
      `--min 0: MinSize 0 (DesiredCapacity 1 to start, as the lab starts one worker). Nothing here holds requests: an ALB with no healthy target answers 503 at once, ` +
        `where the lab holds up to --hold-max ${c.holdMax} requests for --hold-timeout ${c.holdTimeout} s while a worker cold-starts. Nor does any policy here act on idleness (--idle ${c.idle} s): ` +
        `scaling in to zero and out of it needs alarms of your own, e.g. the load balancer's RequestCount at 0 for ${Math.max(1, Math.ceil(c.idle / 60))} minute(s) -> desired 0, above 0 while no instance is in service -> desired 1. ` +
        "And with MinSize 0 the scaling policy itself may take the last instance while requests still arrive, which the lab's policy never does (only idleness does): keep MinSize 1 until those alarms exist",
      'PutWarmPool: one instance kept initialised and stopped (PoolState Stopped; ReuseOnScaleIn returns scaled-in instances to it), so a scale-out from zero starts a stopped instance ' +
        'instead of launching and installing a new one: a shorter cold start, still tens of seconds where the lab\'s is about one. A stopped instance costs its EBS volumes, not compute',
    );
  } else {
    notes.push(`--idle ${c.idle} s, --hold-max ${c.holdMax} and --hold-timeout ${c.holdTimeout} s act only with --min 0 (scale to zero): MinSize ${c.min} keeps instances running`);
  }
  return notes;
}
