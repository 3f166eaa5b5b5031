/**
 * The rules an API server applies beyond the schemas (src/export/admission.ts):
 * table-driven, each row one rule broken on an otherwise accepted export; then
 * every export the docs show, and every target × policy × metric × scale-to-zero,
 * must pass them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { awsViolations, hpaViolations, manifestViolations, parseQuantity, scaledObjectViolations } from '../../src/export/admission.js';
import { awsExport, type AwsExport } from '../../src/export/aws.js';
import { exportText } from '../../src/export/export.js';
import { kedaManifests, scaledObjectManifest } from '../../src/export/keda.js';
import { hpaManifest, kubernetesManifests } from '../../src/export/kubernetes.js';
import { parseExportOptions } from '../../src/export/workload.js';
import { resolveConfig, type RawSettings } from '../../src/settings/config.js';
import { METRIC_NAMES } from '../../src/policy/metrics.js';
import { runCli as run } from '../helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const cfg = (flags: RawSettings) => resolveConfig(flags, {}, { maxInstances: 100_000, ports: false });
const k8sOpts = parseExportOptions('kubernetes', {});
const hpa = (): Json => structuredClone(hpaManifest(cfg({ policy: 'target', metric: 'worker-cpu' }), k8sOpts).object);
const so = (flags: RawSettings = {}): Json => structuredClone(scaledObjectManifest(cfg(flags), parseExportOptions('keda', {})).object);

test('quantities parse as the API server reads them', () => {
  for (const [q, n] of [['500m', 0.5], ['1', 1], ['0.4', 0.4], ['128Mi', 128 * 2 ** 20], ['1Gi', 2 ** 30], ['2k', 2000], ['1e3', 1000]] as const) assert.equal(parseQuantity(q), n, q);
  for (const q of ['lots', '', '1.2.3', '5 m']) assert.equal(parseQuantity(q), null, q);
});

test('HPA: each rule the API server applies beyond the schema, one row each', () => {
  assert.deepEqual(hpaViolations(hpa()), [], 'the export itself is accepted');
  const rows: Array<{ name: string; edit: (h: Json) => void; want: RegExp; gate?: boolean }> = [
    { name: 'minReplicas 0 without the gate', edit: (h) => (h.spec.minReplicas = 0), want: /minReplicas: must be greater than or equal to 1.*HPAScaleToZero/ },
    { name: 'minReplicas 0 with the gate but a Resource metric', gate: true, edit: (h) => (h.spec.minReplicas = 0), want: /must specify at least one Object or External metric/ },
    { name: 'maxReplicas below minReplicas', edit: (h) => Object.assign(h.spec, { minReplicas: 5, maxReplicas: 3 }), want: /maxReplicas: must be greater than or equal to minReplicas/ },
    { name: 'maxReplicas 0', edit: (h) => (h.spec.maxReplicas = 0), want: /maxReplicas: must be greater than 0/ },
    { name: 'periodSeconds above 1800', edit: (h) => (h.spec.behavior.scaleUp.policies[0].periodSeconds = 1801), want: /scaleUp\.policies\[0\]\.periodSeconds: must be from 1 to 1800/ },
    { name: 'periodSeconds 0', edit: (h) => (h.spec.behavior.scaleDown.policies[0].periodSeconds = 0), want: /scaleDown\.policies\[0\]\.periodSeconds/ },
    { name: 'stabilizationWindowSeconds above 3600', edit: (h) => (h.spec.behavior.scaleDown.stabilizationWindowSeconds = 3601), want: /stabilizationWindowSeconds: must be a whole number from 0 to 3600/ },
    { name: 'negative stabilizationWindowSeconds', edit: (h) => (h.spec.behavior.scaleUp.stabilizationWindowSeconds = -1), want: /stabilizationWindowSeconds/ },
    { name: 'policy value 0', edit: (h) => (h.spec.behavior.scaleUp.policies[0].value = 0), want: /value: must be greater than zero/ },
    { name: 'selectPolicy not Max/Min/Disabled', edit: (h) => (h.spec.behavior.scaleUp.selectPolicy = 'Most'), want: /selectPolicy: must be one of Max, Min, Disabled/ },
    { name: 'no policy', edit: (h) => (h.spec.behavior.scaleDown.policies = []), want: /must specify at least one Policy/ },
    { name: 'negative tolerance', edit: (h) => (h.spec.behavior.scaleUp.tolerance = '-0.1'), want: /tolerance: must be a quantity >= 0/ },
    { name: 'utilisation 0', edit: (h) => (h.spec.metrics[0].resource.target.averageUtilization = 0), want: /averageUtilization: must be greater than 0/ },
    { name: 'two metric sources', edit: (h) => (h.spec.metrics[0].pods = { metric: { name: 'x' }, target: { type: 'AverageValue', averageValue: '1' } }), want: /pods: must populate the given metric source only/ },
    { name: 'scaleTargetRef without a group', edit: (h) => (h.spec.scaleTargetRef.apiVersion = 'v1'), want: /apiVersion: must specify API group/ },
  ];
  for (const row of rows) {
    const h = hpa();
    row.edit(h);
    const v = hpaViolations(h, { hpaScaleToZero: row.gate === true });
    assert.ok(v.some((x) => row.want.test(x)), `${row.name}: ${JSON.stringify(v)}`);
  }
  // The gate plus an External metric makes minReplicas 0 acceptable: the rule is the API server's, not a blanket ban.
  const p95 = structuredClone(hpaManifest(cfg({ policy: 'target', metric: 'p95' }), k8sOpts).object) as Json;
  p95.spec.minReplicas = 0;
  assert.deepEqual(hpaViolations(p95, { hpaScaleToZero: true }), []);
});

test('KEDA ScaledObject: the webhook rules, one row each', () => {
  assert.deepEqual(scaledObjectViolations(so()), []);
  const rows: Array<{ name: string; obj: Json; docs?: Json[]; want: RegExp }> = [
    { name: 'cpu trigger only and minReplicaCount 0', obj: Object.assign(so(), {}), want: /only cpu\/memory triggers AND minReplica is 0/ },
    { name: 'min above max', obj: so({ min: '4' }), want: /MinReplicaCount=9 must be less than MaxReplicaCount=5/ },
    { name: 'cpu metricType Value', obj: so(), want: /metricType: cpu\/memory triggers take Utilization or AverageValue/ },
    { name: 'prometheus trigger without a query', obj: so({ metric: 'rps', scaleUp: '80', scaleDown: '20' }), want: /metadata\.query: required by the prometheus scaler/ },
    { name: 'duplicate trigger names', obj: so(), want: /triggerName t is defined multiple times/ },
    { name: 'cpu trigger on a container without a CPU request', obj: so(), want: /doesn't have the cpu request defined/ },
    { name: 'behavior period above 1800', obj: so(), want: /advanced\.horizontalPodAutoscalerConfig\.behavior\.scaleUp\.policies\[0\]\.periodSeconds/ },
  ];
  rows[0].obj.spec.minReplicaCount = 0;
  rows[1].obj.spec.minReplicaCount = 9;
  rows[2].obj.spec.triggers[0].metricType = 'Value';
  delete rows[3].obj.spec.triggers[0].metadata.query;
  rows[4].obj.spec.triggers = [{ ...rows[4].obj.spec.triggers[0], name: 't' }, { ...rows[4].obj.spec.triggers[0], name: 't' }];
  const [dep] = kubernetesManifests(cfg({}), k8sOpts).map((m) => structuredClone(m.object)) as Json[];
  delete dep.spec.template.spec.containers[0].resources.requests.cpu;
  delete dep.spec.template.spec.containers[0].resources.limits;
  rows[5].docs = [dep];
  rows[6].obj.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.policies[0].periodSeconds = 3600;
  for (const row of rows) {
    const v = scaledObjectViolations(row.obj, row.docs ?? []);
    assert.ok(v.some((x) => row.want.test(x)), `${row.name}: ${JSON.stringify(v)}`);
  }
});

test('between the documents of one export: selectors, probes, resources, references', () => {
  const base = () => kedaManifests(cfg({ min: '0' }), parseExportOptions('keda', { postgres: true })).map((m) => structuredClone(m.object)) as Json[];
  assert.deepEqual(manifestViolations(base()), []);
  const rows: Array<{ name: string; edit: (d: Json[]) => void; want: RegExp }> = [
    { name: 'selector misses the template labels', edit: (d) => (d[0].spec.selector.matchLabels.app = 'other'), want: /Deployment autoscale-worker: .*selector` does not match template `labels`/ },
    { name: 'liveness successThreshold 2', edit: (d) => (d[0].spec.template.spec.containers[0].livenessProbe.successThreshold = 2), want: /livenessProbe\.successThreshold: must be 1/ },
    { name: 'CPU request above its limit', edit: (d) => (d[0].spec.template.spec.containers[0].resources.requests.cpu = '2'), want: /requests\.cpu: must be less than or equal to the cpu limit/ },
    { name: 'a port name over 15 characters', edit: (d) => (d[0].spec.template.spec.containers[0].ports[0].name = 'http-for-the-workers'), want: /longer than 15 characters/ },
    { name: 'a Service that selects nothing', edit: (d) => (d[1].spec.selector.app = 'nobody'), want: /Service autoscale-worker: spec\.selector: selects no pod template/ },
    { name: 'a ScaledObject that scales a missing Deployment', edit: (d) => (d[5].spec.scaleTargetRef.name = 'ghost'), want: /no Deployment ghost in this export/ },
    { name: 'an HTTPScaledObject whose min is above its max', edit: (d) => (d[6].spec.replicas.min = 9), want: /HTTPScaledObject autoscale-worker: spec\.replicas: 0 <= min <= max/ },
    { name: 'a name that is not a DNS label', edit: (d) => (d[2].metadata.name = 'Bad_Name'), want: /metadata\.name: must be a DNS-1123 label/ },
  ];
  for (const row of rows) {
    const d = base();
    row.edit(d);
    const v = manifestViolations(d);
    assert.ok(v.some((x) => row.want.test(x)), `${row.name}: ${JSON.stringify(v)}`);
  }
});

test('AWS: the API rules of each call, one row each', () => {
  const base = (): AwsExport => structuredClone(awsExport(cfg({ metric: 'rps', scaleUp: '80', scaleDown: '20', min: '0' }), parseExportOptions('aws', {})));
  assert.deepEqual(awsViolations(base()), []);
  const rows: Array<{ name: string; edit: (a: AwsExport) => void; want: RegExp }> = [
    { name: 'desired above max', edit: (a) => (a.CreateAutoScalingGroup.DesiredCapacity = 99), want: /MinSize \(0\) <= DesiredCapacity \(99\) <= MaxSize \(5\)/ },
    { name: 'a 45 s period', edit: (a) => (a.PutMetricAlarm[0].Period = 45), want: /Period: 10, 20, 30 or a multiple of 60/ },
    { name: 'more than a day of one-minute periods', edit: (a) => (a.PutMetricAlarm[1].EvaluationPeriods = a.PutMetricAlarm[1].DatapointsToAlarm = 1441), want: /more than 86400 s/ },
    { name: 'datapoints above evaluation periods', edit: (a) => (a.PutMetricAlarm[0].DatapointsToAlarm = 2), want: /DatapointsToAlarm: from 1 to EvaluationPeriods/ },
    { name: 'Statistic and ExtendedStatistic both', edit: (a) => (a.PutMetricAlarm[0].ExtendedStatistic = 'p95'), want: /exactly one of Statistic and ExtendedStatistic/ },
    { name: 'overlapping steps', edit: (a) => (a.PutScalingPolicy[0].StepAdjustments = [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }, { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 2 }]), want: /neither overlap nor leave a gap|no upper bound/ },
    // A 0 step is allowed (the EC2 Auto Scaling guide's example has one next to the threshold); a fraction is not.
    { name: 'a fractional step', edit: (a) => (a.PutScalingPolicy[1].StepAdjustments![0].ScalingAdjustment = 0.5), want: /ScalingAdjustment must be a whole number/ },
    { name: 'a negative exact capacity', edit: (a) => ((a.PutScalingPolicy[1].AdjustmentType = 'ExactCapacity'), (a.PutScalingPolicy[1].StepAdjustments![0].ScalingAdjustment = -1)), want: /ExactCapacity needs a non-negative ScalingAdjustment/ },
    { name: 'a warm pool of another group', edit: (a) => (a.PutWarmPool!.AutoScalingGroupName = 'x'), want: /PutWarmPool\.AutoScalingGroupName/ },
  ];
  for (const row of rows) {
    const a = base();
    row.edit(a);
    const v = awsViolations(a);
    assert.ok(v.some((x) => row.want.test(x)), `${row.name}: ${JSON.stringify(v)}`);
  }
  const tt = structuredClone(awsExport(cfg({ policy: 'target', metric: 'worker-cpu', target: '60' }), parseExportOptions('aws', {})));
  assert.deepEqual(awsViolations(tt), []);
  tt.PutScalingPolicy[0].TargetTrackingConfiguration!.TargetValue = 0;
  assert.ok(awsViolations(tt).some((x) => /TargetValue: must be positive/.test(x)));
});

test('every target × policy × metric × floor (and the extremes of every bound) passes the rules', () => {
  const variants: RawSettings[] = [];
  for (const metric of METRIC_NAMES) {
    const band = metric === 'rps' ? { scaleUp: '80', scaleDown: '20' } : metric === 'p95' ? { scaleUp: '90', scaleDown: '30' } : {};
    for (const min of ['0', '1', '3']) {
      variants.push({ metric, policy: 'threshold', min, ...band }, { metric, policy: 'target', min, max: '200' });
    }
  }
  // The settings' own extremes: hour-long ticks, day-long cooldowns and windows at the API bounds.
  variants.push(
    { interval: '3600', cooldown: '86400' },
    { interval: '0.2', cooldown: '0' },
    { policy: 'target', scaleDownWindow: '3600', maxStepPercent: '0', interval: '3600' },
    { policy: 'target', scaleDownWindow: '0', maxStepPods: '100000', max: '100000' },
    { min: '0', idle: '86400', holdMax: '0', holdTimeout: '300' },
    { balancer: 'l4', maxConnRequests: '1', maxConnAge: '86400' },
  );
  for (const flags of variants) {
    for (const target of ['kubernetes', 'keda', 'aws'] as const) {
      // exportText throws when a rule is broken; parse the YAML back and check again from the text a user applies.
      const text = exportText(target, cfg(flags), parseExportOptions(target, { postgres: target !== 'aws' && flags.min === '0' }));
      if (target === 'aws') assert.deepEqual(awsViolations(JSON.parse(text)), [], `${target} ${JSON.stringify(flags)}`);
      else assert.deepEqual(manifestViolations(parseAllDocuments(text).map((d) => d.toJS())), [], `${target} ${JSON.stringify(flags)}`);
    }
  }
});

/** `autoscale export …` command lines in the docs (README and docs/export.md), placeholders filled. */
function documentedExports(): string[][] {
  const lines: string[] = [];
  for (const file of ['README.md', 'docs/export.md']) {
    const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').replace(/<your image>/g, 'registry.example/autoscale-worker:1');
    for (const m of text.matchAll(/(?:npx )?autoscale export (?:kubernetes|keda|aws)[^`\n>|]*/g)) lines.push(m[0].replace(/^npx /, '').trim());
  }
  return lines.map((l) => l.split(/\s+/).slice(1));
}

test('every `autoscale export` the docs show exits 0 and passes the rules', async () => {
  const examples = documentedExports();
  assert.ok(examples.length >= 8, `found ${examples.length} documented exports`);
  for (const argv of examples) {
    const r = await run(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    if (argv[1] === 'aws') assert.deepEqual(awsViolations(JSON.parse(r.stdout)), [], argv.join(' '));
    else assert.deepEqual(manifestViolations(parseAllDocuments(r.stdout).map((d) => d.toJS())), [], argv.join(' '));
  }
});
