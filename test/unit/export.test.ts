/** `autoscale export`: every target × policy × metric validates against the real schemas; mappings are table-checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import type { CreateAutoScalingGroupCommandInput, PutScalingPolicyCommandInput, PutWarmPoolCommandInput } from '@aws-sdk/client-auto-scaling';
import type { PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { awsExport, type AsgInput, type MetricAlarmInput, type ScalingPolicyInput, type WarmPoolInput } from '../../src/export/aws.js';
import { exportText } from '../../src/export/export.js';
import { parseExportOptions } from '../../src/export/workload.js';
import { resolveConfig, type RawSettings } from '../../src/settings/config.js';
import { METRIC_NAMES } from '../../src/policy/metrics.js';
import { runCli as run } from '../helpers.js';

// Compile-time: our AWS parts are assignable to the SDK's inputs and add no top-level key the SDK does not know.
type NoExtraKeys<A, B> = Exclude<keyof A, keyof B> extends never ? true : false;
const asgKeys: NoExtraKeys<AsgInput, CreateAutoScalingGroupCommandInput> = true;
const policyKeys: NoExtraKeys<ScalingPolicyInput, PutScalingPolicyCommandInput> = true;
const alarmKeys: NoExtraKeys<MetricAlarmInput, PutMetricAlarmCommandInput> = true;
const poolKeys: NoExtraKeys<WarmPoolInput, PutWarmPoolCommandInput> = true;
void [asgKeys, policyKeys, alarmKeys, poolKeys];

/** Parsed YAML, navigated freely by the checks (the schema validation is what types it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;


const cfg = (flags: RawSettings) => resolveConfig(flags, {}, { maxInstances: 100_000, ports: false });
const CASES: RawSettings[] = METRIC_NAMES.flatMap((metric) => [
  { metric, policy: 'threshold', ...(metric === 'rps' ? { scaleUp: '80', scaleDown: '20' } : metric === 'p95' ? { scaleUp: '90', scaleDown: '30' } : {}) },
  { metric, policy: 'target', max: '200' },
]);

function docs(text: string): Array<Record<string, unknown>> {
  return parseAllDocuments(text).map((d) => {
    assert.equal(d.errors.length, 0, String(d.errors[0]));
    return d.toJS() as Record<string, unknown>;
  });
}

test('kubernetes: Deployment, Service and HPA validate for every policy and metric', () => {
  for (const flags of CASES) {
    const c = cfg(flags);
    const text = exportText('kubernetes', c, parseExportOptions('kubernetes', { image: 'registry.example/autoscale:1' }));
    const [dep, svc, hpa] = docs(text);
    new Deployment(dep as never).validate();
    new Service(svc as never).validate();
    new HorizontalPodAutoscaler(hpa as never).validate();
    const spec = hpa.spec as { minReplicas: number; maxReplicas: number; metrics: unknown[] };
    assert.equal(spec.maxReplicas, c.max);
    assert.equal(spec.metrics.length, 1);
    // What has no equivalent is said, not dropped.
    if (c.policy === 'threshold') assert.match(text, /# no threshold band here: mapped to target/);
    if (c.metric === 'host-cpu') assert.match(text, /# host-cpu has no equivalent/);
    if (c.metric === 'p95') assert.match(text, /# p95 has no per-pod equivalent/);
    assert.match(text, /# warm-up \(6 s in the lab\) has no field/);
  }
});

test('keda: Deployment, Service and ScaledObject validate for every policy and metric', () => {
  for (const flags of CASES) {
    const c = cfg(flags);
    const text = exportText('keda', c, parseExportOptions('keda', { image: 'registry.example/autoscale:1' }));
    const [dep, svc, so] = docs(text);
    new Deployment(dep as never).validate();
    new Service(svc as never).validate();
    new ScaledObject(so as never).validate();
    const trigger = (so.spec as { triggers: Array<{ type: string; metricType: string; metadata: Record<string, string> }> }).triggers[0];
    if (c.metric === 'host-cpu' || c.metric === 'worker-cpu') assert.equal(trigger.type, 'cpu');
    else {
      assert.equal(trigger.type, 'prometheus');
      assert.equal(trigger.metricType, c.metric === 'p95' ? 'Value' : 'AverageValue');
      assert.match(trigger.metadata.query, c.metric === 'rps' ? /http_requests_total/ : /http_request_duration_seconds/);
    }
  }
});

test('the schema validation this file relies on does reject a broken manifest', () => {
  const [, , hpa] = docs(exportText('kubernetes', cfg({}), parseExportOptions('kubernetes', { image: 'img' })));
  const broken = structuredClone(hpa) as Json;
  broken.spec.minReplicas = 'one';
  assert.throws(() => new HorizontalPodAutoscaler(broken).validate());
  delete broken.spec.scaleTargetRef;
  broken.spec.minReplicas = 1;
  assert.throws(() => new HorizontalPodAutoscaler(broken).validate());
});

test('kubernetes mapping: targets, tolerance, behavior and probes carry the lab numbers', () => {
  const rows: Array<{ flags: RawSettings; opts?: Record<string, string>; check: (hpa: Json, dep: Json) => void }> = [
    {
      flags: {},
      check: (hpa, dep) => {
        assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 25); // midpoint of 15–35
        assert.equal(hpa.spec.behavior.scaleUp.tolerance, '0.4');
        assert.deepEqual(hpa.spec.behavior.scaleUp.policies, [{ type: 'Pods', value: 1, periodSeconds: 3 }]);
        assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 15);
        const ctr = dep.spec.template.spec.containers[0];
        assert.deepEqual(ctr.readinessProbe, { httpGet: { path: '/health', port: 'http' }, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 2 });
        assert.equal(ctr.resources.requests.cpu, '1000m');
        assert.equal(dep.spec.replicas, undefined);
      },
    },
    {
      flags: { policy: 'target', metric: 'worker-cpu', target: '60', scaleDownWindow: '300', maxStepPods: '2', maxStepPercent: '50' },
      opts: { cpuRequest: '500m' },
      check: (hpa) => {
        assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 120); // 60 % of a core = 120 % of 500m
        assert.deepEqual(hpa.spec.behavior.scaleUp.policies, [
          { type: 'Pods', value: 2, periodSeconds: 3 },
          { type: 'Percent', value: 50, periodSeconds: 3 },
        ]);
        assert.equal(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds, 300);
        assert.equal(hpa.spec.behavior.scaleUp.tolerance, '0.1');
      },
    },
    {
      flags: { policy: 'target', metric: 'rps', target: '12.5' },
      check: (hpa) => assert.deepEqual(hpa.spec.metrics[0].pods, { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '12.5' } }),
    },
    {
      flags: { policy: 'target', metric: 'p95', target: '200' },
      check: (hpa) => assert.deepEqual(hpa.spec.metrics[0].external.target, { type: 'Value', value: '200' }),
    },
  ];
  for (const row of rows) {
    const [dep, , hpa] = docs(exportText('kubernetes', cfg(row.flags), parseExportOptions('kubernetes', { image: 'img', ...row.opts })));
    row.check(hpa, dep);
  }
});

test('aws: typed API inputs; step scaling with both alarms for threshold, target tracking for target', () => {
  const opts = parseExportOptions('aws', { subnets: 'subnet-1,subnet-2' });
  const threshold = awsExport(cfg({ metric: 'worker-cpu', scaleUp: '70', scaleDown: '30', cooldown: '300', max: '200' }), opts);
  const asg: CreateAutoScalingGroupCommandInput = threshold.CreateAutoScalingGroup;
  assert.equal(asg.MaxSize, 200);
  assert.equal(asg.DefaultInstanceWarmup, 6);
  assert.equal(asg.VPCZoneIdentifier, 'subnet-1,subnet-2');
  const policies: PutScalingPolicyCommandInput[] = threshold.PutScalingPolicy;
  assert.deepEqual(policies.map((p) => [p.PolicyType, p.StepAdjustments?.[0].ScalingAdjustment]), [['StepScaling', 1], ['StepScaling', -1]]);
  const alarms: PutMetricAlarmCommandInput[] = threshold.PutMetricAlarm;
  assert.deepEqual(alarms.map((a) => [a.MetricName, a.Threshold, a.ComparisonOperator, a.EvaluationPeriods]), [
    ['CPUUtilization', 70, 'GreaterThanThreshold', 1],
    ['CPUUtilization', 30, 'LessThanThreshold', 5], // a 300 s cooldown = 5 one-minute periods low before a scale-in
  ]);
  assert.ok(threshold.Notes.some((n) => /no equivalent for the 300 s cooldown/.test(n)));

  for (const metric of METRIC_NAMES) {
    const out = awsExport(cfg({ metric, policy: 'target' }), opts);
    const p: PutScalingPolicyCommandInput = out.PutScalingPolicy[0];
    assert.equal(p.PolicyType, 'TargetTrackingScaling');
    assert.equal(out.PutMetricAlarm.length, 0);
    const tt = p.TargetTrackingConfiguration!;
    if (metric === 'rps') assert.equal(tt.TargetValue, 6000); // 100 req/s per target = 6000 per minute
    if (metric === 'p95') assert.equal(tt.TargetValue, 0.1);
    const t = awsExport(cfg({ metric, policy: 'threshold', scaleUp: '80', scaleDown: '20' }), opts);
    const ms: PutMetricAlarmCommandInput[] = t.PutMetricAlarm;
    assert.equal(ms.length, 2);
    if (metric === 'rps') assert.equal(ms[0].Threshold, 80 * 60);
    if (metric === 'p95') assert.equal(ms[0].ExtendedStatistic, 'p95');
  }
});

test('export CLI: stdout or --out, --config like start, bad input exits 2 with one line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-export-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ok = await run(['export', 'aws', '--policy', 'target', '--metric', 'rps', '--target', '20', '--max', '300']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).PutScalingPolicy[0].TargetTrackingConfiguration.TargetValue, 1200);
  const config = join(dir, 'policy.json');
  writeFileSync(config, JSON.stringify({ policy: 'target', metric: 'worker-cpu', target: 70, max: 12 }));
  const fromFile = await run(['export', 'keda', '--image', 'img:1', '--config', config, '--max', '9']);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.match(fromFile.stdout, /maxReplicaCount: 9/); // flags win over the file
  assert.match(fromFile.stdout, /value: "70"/);
  const out = join(dir, 'k8s.yaml');
  const written = await run(['export', 'kubernetes', '--image', 'img:1', '--max', '40', '--out', out]);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, '');
  assert.match(readFileSync(out, 'utf8'), /maxReplicas: 40/);

  for (const argv of [
    ['export', 'kubernetes', '--image', ''],
    ['export', 'keda', '--image', 'two words'],
    ['export', 'aws', '--postgres'],
    ['export', 'nomad', '--image', 'x'],
    ['export', 'keda', '--image', 'x', '--metric', 'gpu'],
    ['export', 'aws', '--min', '5', '--max', '2'],
    ['export', 'kubernetes', '--image', 'x', '--name', 'Bad_Name'],
    ['export', 'kubernetes', '--image', 'x', '--cpu-request', 'lots'],
    ['export', 'aws', '--bogus'],
    ['export', 'aws', '--out', join(dir, 'missing', 'x.json')],
  ]) {
    const r = await run(argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

/** Every comment line of a YAML export, joined: what a reader sees next to the fields. */
const yamlOf = (target: 'kubernetes' | 'keda', flags: RawSettings, opts: Record<string, unknown> = {}) => exportText(target, cfg(flags), parseExportOptions(target, opts));

test('scale to zero per target: HPA keeps 1 and says why, KEDA scales to 0 after --idle, AWS min 0 with a warm pool', () => {
  const zero: RawSettings = { min: '0', idle: '45', holdMax: '200', holdTimeout: '7', metric: 'worker-cpu' };
  const [, , hpa] = docs(yamlOf('kubernetes', zero));
  const h = hpa as Json;
  assert.equal(h.spec.minReplicas, 1);
  const k8s = yamlOf('kubernetes', zero);
  assert.match(k8s, /# minReplicas 1, not the lab's --min 0: .*HPAScaleToZero on AND at least one Object or External metric \(this one is Resource\)/);
  assert.match(k8s, /--hold-max 200 for --hold-timeout 7 s/);
  assert.match(k8s, /--idle 45 s/);

  const keda = yamlOf('keda', zero);
  const [, , so, httpso] = docs(keda) as Json[];
  new ScaledObject(so).validate();
  assert.equal(so.spec.minReplicaCount, 0);
  assert.equal(so.spec.cooldownPeriod, 45);
  assert.deepEqual(so.spec.triggers.map((t: Json) => t.type), ['cpu', 'external-push']);
  assert.equal(so.spec.triggers[1].metadata.httpScaledObject, 'autoscale-worker');
  assert.equal(httpso.kind, 'HTTPScaledObject');
  assert.equal(httpso.spec.scaledownPeriod, 45);
  assert.deepEqual(httpso.spec.replicas, { min: 0, max: 5 });
  assert.match(keda, /--hold-timeout 7 s -> --set interceptor.readinessTimeout=7s/);
  assert.match(keda, /--hold-max 200 -> --set interceptor.extraEnvs.KEDA_HTTP_COLD_START_MAX_PENDING_REQUESTS=200/);
  assert.doesNotMatch(keda, /never scales to zero/);
  // Without --min 0 the ScaledObject keeps its floor, has no cooldownPeriod, and says where --idle and the holds went.
  const kept = docs(yamlOf('keda', { min: '2' })) as Json[];
  assert.equal(kept.length, 3);
  assert.equal(kept[2].spec.cooldownPeriod, undefined);
  assert.match(yamlOf('keda', { min: '2' }), /--idle 60 s, --hold-max 1000 and --hold-timeout 10 s act only with --min 0/);

  const aws = awsExport(cfg(zero), parseExportOptions('aws', {}));
  assert.equal(aws.CreateAutoScalingGroup.MinSize, 0);
  assert.equal(aws.CreateAutoScalingGroup.DesiredCapacity, 1);
  const pool: PutWarmPoolCommandInput = aws.PutWarmPool!;
  assert.deepEqual([pool.MinSize, pool.PoolState], [1, 'Stopped']);
  assert.ok(aws.Notes.some((n) => /--min 0: MinSize 0.*--hold-max 200 requests for --hold-timeout 7 s.*--idle 45 s/.test(n)));
  assert.equal(awsExport(cfg({}), parseExportOptions('aws', {})).PutWarmPool, undefined);
});

test('balancer, connection limits and the database reach every target', () => {
  const l4: RawSettings = { balancer: 'l4', maxConnRequests: '100', maxConnAge: '30', work: '20' };
  const text = yamlOf('kubernetes', l4);
  const [dep, svc] = docs(text) as Json[];
  const ctr = dep.spec.template.spec.containers[0];
  assert.deepEqual(ctr.args, ['--host', '0.0.0.0', '--port', '8080', '--work', '20', '--database-url', '$(DATABASE_URL)', '--max-conn-requests', '100', '--max-conn-age', '30']);
  assert.deepEqual(ctr.env, [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'autoscale-worker-database', key: 'url' } } }]);
  assert.equal(ctr.image, 'autoscale-worker:dev');
  assert.equal(svc.spec.sessionAffinity, 'None');
  assert.match(text, /# the lab's --balancer l4: a Service \(kube-proxy\) is L4 too/);
  assert.match(text, /SQLite does not scale out/);
  assert.match(text, /kubectl create secret generic autoscale-worker-database/);
  assert.match(yamlOf('kubernetes', {}), /--balancer l7 picks a worker per request; a Service \(kube-proxy\) is L4/);
  assert.match(yamlOf('kubernetes', {}), /ran without --max-conn-requests\/--max-conn-age/);

  // --postgres: the Secret, a StatefulSet and its Service, schema-valid, sized for --max.
  const pg = docs(yamlOf('keda', { max: '40' }, { postgres: true })) as Json[];
  assert.deepEqual(pg.map((d) => d.kind), ['Deployment', 'Service', 'Secret', 'StatefulSet', 'Service', 'ScaledObject']);
  new Secret(pg[2]).validate();
  new StatefulSet(pg[3]).validate();
  new Service(pg[4]).validate();
  assert.equal(pg[2].metadata.name, 'autoscale-worker-database');
  assert.match(pg[2].stringData.url, /^postgres:\/\/autoscale:CHANGE-ME@autoscale-worker-postgres:5432\/autoscale$/);
  assert.deepEqual(pg[3].spec.template.spec.containers[0].args, ['-c', 'max_connections=170']); // 4 connections × 40 workers + 10

  const aws = awsExport(cfg(l4), parseExportOptions('aws', {}));
  assert.ok(aws.Notes.some((n) => /--balancer l4 = a Network Load Balancer/.test(n)));
  assert.ok(aws.Notes.some((n) => /autoscale-worker:dev --host 0\.0\.0\.0 --port 8080 --work 20 --database-url "\$DATABASE_URL" --max-conn-requests 100 --max-conn-age 30/.test(n)));
  assert.ok(aws.Notes.some((n) => /SQLite file does not scale out/.test(n)));
  assert.ok(awsExport(cfg({ balancer: 'l4', metric: 'rps', scaleUp: '80', scaleDown: '20' }), parseExportOptions('aws', {})).Notes.some((n) => /RequestCountPerTarget exists only for an Application Load Balancer/.test(n)));
});
