/**
 * The rules an API server (or KEDA's admission webhook, or the AWS APIs)
 * applies beyond what the schemas say: an exported object can be
 * schema-valid and still be refused at `kubectl apply`. Each rule cites its
 * source; docs/export.md lists them. Pure: plain objects in, the violations
 * out (empty = accepted). `exportText` refuses to print an export that breaks one.
 *
 * Sources: kubernetes pkg/apis/autoscaling/validation (HPA spec, metrics,
 * behavior), pkg/apis/apps and core validation (selectors, probes, resources);
 * KEDA apis/keda/v1alpha1/scaledobject_webhook.go and scaledobject_types.go;
 * the AWS API references of CreateAutoScalingGroup, PutScalingPolicy,
 * PutMetricAlarm and PutWarmPool.
 */
import type { AwsExport } from './aws.js';
import { HPA_MAX_PERIOD_SECONDS } from './mapping.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** What the cluster has switched on (the API server's answer depends on it). */
export interface ClusterFeatures {
  /** The alpha HPAScaleToZero feature gate (off by default in every release so far). */
  hpaScaleToZero?: boolean;
}

/** HPA behavior bound (autoscaling validation's MaxStabilizationWindowSeconds; MaxPeriodSeconds is in mapping.ts, which clamps to it). */
export const HPA_MAX_STABILIZATION_WINDOW_SECONDS = 3600;
const SELECT_POLICIES = ['Max', 'Min', 'Disabled'];
const POLICY_TYPES = ['Pods', 'Percent'];
const METRIC_TYPES = ['Object', 'Pods', 'Resource', 'ContainerResource', 'External'];

/** A Kubernetes quantity ("500m", "1", "0.4", "128Mi", "1Gi") as a number, or null when it is not one. */
export function parseQuantity(q: unknown): number | null {
  if (typeof q === 'number') return Number.isFinite(q) ? q : null;
  if (typeof q !== 'string') return null;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[+-]?\d+)?$/.exec(q);
  if (!m) return null;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  const factor: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  if (suffix.startsWith('e')) return n * 10 ** Number(suffix.slice(1));
  return n * factor[suffix];
}

function scalingRules(rules: unknown, path: string, out: string[]): void {
  if (rules === undefined) return;
  const r = obj(rules);
  const w = r.stabilizationWindowSeconds;
  if (w !== undefined && (!isInt(w) || w < 0 || w > HPA_MAX_STABILIZATION_WINDOW_SECONDS)) {
    out.push(`${path}.stabilizationWindowSeconds: must be a whole number from 0 to ${HPA_MAX_STABILIZATION_WINDOW_SECONDS} (is ${String(w)})`);
  }
  if (r.selectPolicy !== undefined && !SELECT_POLICIES.includes(String(r.selectPolicy))) {
    out.push(`${path}.selectPolicy: must be one of ${SELECT_POLICIES.join(', ')} (is ${String(r.selectPolicy)})`);
  }
  const policies = arr(r.policies);
  if (policies.length === 0) out.push(`${path}.policies: must specify at least one Policy`);
  policies.forEach((p, i) => {
    const q = obj(p);
    const at = `${path}.policies[${i}]`;
    if (!POLICY_TYPES.includes(String(q.type))) out.push(`${at}.type: must be one of ${POLICY_TYPES.join(', ')} (is ${String(q.type)})`);
    if (!isInt(q.value) || q.value <= 0) out.push(`${at}.value: must be greater than zero (is ${String(q.value)})`);
    if (!isInt(q.periodSeconds) || q.periodSeconds <= 0 || q.periodSeconds > HPA_MAX_PERIOD_SECONDS) {
      out.push(`${at}.periodSeconds: must be from 1 to ${HPA_MAX_PERIOD_SECONDS} (is ${String(q.periodSeconds)})`);
    }
  });
  if (r.tolerance !== undefined) {
    const t = parseQuantity(r.tolerance);
    if (t === null || t < 0) out.push(`${path}.tolerance: must be a quantity >= 0 (is ${String(r.tolerance)})`);
  }
}

function metricTarget(target: unknown, path: string, out: string[]): Obj {
  const t = obj(target);
  for (const key of ['value', 'averageValue'] as const) {
    if (t[key] === undefined) continue;
    const n = parseQuantity(t[key]);
    if (n === null || n <= 0) out.push(`${path}.${key}: must be positive (is ${String(t[key])})`);
  }
  if (t.averageUtilization !== undefined && (!isInt(t.averageUtilization) || t.averageUtilization < 1)) {
    out.push(`${path}.averageUtilization: must be greater than 0 (is ${String(t.averageUtilization)})`);
  }
  return t;
}

/** An autoscaling/v2 HorizontalPodAutoscaler, as validateHorizontalPodAutoscalerSpec judges it. */
export function hpaViolations(hpa: Obj, features: ClusterFeatures = {}): string[] {
  const out: string[] = [];
  const spec = obj(hpa.spec);
  const lower = features.hpaScaleToZero ? 0 : 1;
  const min = spec.minReplicas;
  if (min !== undefined && (!isInt(min) || min < lower)) {
    out.push(
      `spec.minReplicas: must be greater than or equal to ${lower} (is ${String(min)})` + (min === 0 ? ': 0 needs the alpha HPAScaleToZero feature gate' : ''),
    );
  }
  if (!isInt(spec.maxReplicas) || spec.maxReplicas < 1) out.push(`spec.maxReplicas: must be greater than 0 (is ${String(spec.maxReplicas)})`);
  else if (isInt(min) && spec.maxReplicas < min) out.push(`spec.maxReplicas: must be greater than or equal to minReplicas (${spec.maxReplicas} < ${min})`);
  const ref = obj(spec.scaleTargetRef);
  if (!ref.kind) out.push('spec.scaleTargetRef.kind: required');
  if (!ref.name) out.push('spec.scaleTargetRef.name: required');
  if (typeof ref.apiVersion !== 'string' || !/^[^/]+\/[^/]+$/.test(ref.apiVersion)) out.push('spec.scaleTargetRef.apiVersion: must specify API group and version');
  const metrics = arr(spec.metrics);
  let objectOrExternal = false;
  metrics.forEach((m, i) => {
    const at = `spec.metrics[${i}]`;
    const metric = obj(m);
    const type = String(metric.type);
    if (!METRIC_TYPES.includes(type)) {
      out.push(`${at}.type: must be one of ${METRIC_TYPES.join(', ')} (is ${type})`);
      return;
    }
    if (type === 'Object' || type === 'External') objectOrExternal = true;
    const field = type === 'ContainerResource' ? 'containerResource' : type.toLowerCase();
    for (const other of ['object', 'pods', 'resource', 'containerResource', 'external']) {
      if (other !== field && metric[other] !== undefined) out.push(`${at}.${other}: must populate the given metric source only`);
    }
    const src = metric[field];
    if (src === undefined) {
      out.push(`${at}.${field}: must populate information for the given metric source`);
      return;
    }
    const s = obj(src);
    const t = metricTarget(s.target, `${at}.${field}.target`, out);
    if (type === 'Resource' || type === 'ContainerResource') {
      if (!s.name) out.push(`${at}.${field}.name: must specify a resource name`);
      if (t.averageUtilization === undefined && t.averageValue === undefined) out.push(`${at}.${field}.target: must set either a target raw value or a target utilization`);
      if (t.averageUtilization !== undefined && t.averageValue !== undefined) out.push(`${at}.${field}.target: may not set both a raw value and a utilization`);
    } else {
      if (!obj(s.metric).name) out.push(`${at}.${field}.metric.name: must specify a metric name`);
      if (type === 'Pods' && t.averageValue === undefined) out.push(`${at}.pods.target.averageValue: must specify a positive target averageValue`);
      if ((type === 'External' || type === 'Object') && t.value === undefined && t.averageValue === undefined) out.push(`${at}.${field}.target: must set either a value or an averageValue`);
      if (type === 'External' && t.value !== undefined && t.averageValue !== undefined) out.push(`${at}.external.target.value: may not set both a value and a per-pod target`);
    }
  });
  if (min === 0 && !objectOrExternal) out.push('spec.metrics: must specify at least one Object or External metric to support scaling to zero replicas');
  const behavior = obj(spec.behavior);
  scalingRules(behavior.scaleUp, 'spec.behavior.scaleUp', out);
  scalingRules(behavior.scaleDown, 'spec.behavior.scaleDown', out);
  return out;
}

/**
 * A KEDA ScaledObject, as KEDA's admission webhook judges it. `workloads` are
 * the other documents of the same export: a cpu trigger needs a CPU request on
 * the scaled Deployment's containers (checked when the Deployment is among them).
 */
export function scaledObjectViolations(so: Obj, workloads: readonly Obj[] = []): string[] {
  const out: string[] = [];
  const spec = obj(so.spec);
  const triggers = arr(spec.triggers).map(obj);
  if (triggers.length === 0) out.push('spec.triggers: at least one trigger');
  // KEDA's default minReplicaCount is 0, its default maxReplicaCount 100.
  const min = spec.minReplicaCount === undefined ? 0 : spec.minReplicaCount;
  const max = spec.maxReplicaCount === undefined ? 100 : spec.maxReplicaCount;
  if (!isInt(min) || min < 0) out.push(`spec.minReplicaCount: must be a whole number >= 0 (is ${String(min)})`);
  if (!isInt(max) || max < 1) out.push(`spec.maxReplicaCount: must be a whole number >= 1 (is ${String(max)})`);
  else if (isInt(min) && min > max) out.push(`spec: MinReplicaCount=${min} must be less than MaxReplicaCount=${max}`);
  if (spec.idleReplicaCount !== undefined && isInt(min) && Number(spec.idleReplicaCount) >= min) out.push(`spec: IdleReplicaCount must be less than MinReplicaCount=${min}`);
  for (const key of ['pollingInterval', 'cooldownPeriod'] as const) {
    if (spec[key] !== undefined && (!isInt(spec[key]) || (spec[key] as number) < 0)) out.push(`spec.${key}: must be a whole number of seconds >= 0`);
  }
  const cpuOrMemory = (t: Obj) => t.type === 'cpu' || t.type === 'memory';
  if (triggers.length > 0 && triggers.every(cpuOrMemory) && min === 0) {
    out.push("spec: scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)");
  }
  const names = new Set<string>();
  triggers.forEach((t, i) => {
    const at = `spec.triggers[${i}]`;
    if (typeof t.name === 'string' && t.name !== '') {
      if (names.has(t.name)) out.push(`${at}.name: triggerName ${t.name} is defined multiple times`);
      names.add(t.name);
    }
    const md = obj(t.metadata);
    if (cpuOrMemory(t)) {
      if (t.metricType !== undefined && t.metricType !== 'Utilization' && t.metricType !== 'AverageValue') out.push(`${at}.metricType: cpu/memory triggers take Utilization or AverageValue (is ${String(t.metricType)})`);
      const v = Number(md.value);
      if (!(v > 0)) out.push(`${at}.metadata.value: must be a positive number`);
      const ref = obj(spec.scaleTargetRef);
      const dep = workloads.find((w) => w.kind === (ref.kind ?? 'Deployment') && obj(w.metadata).name === ref.name);
      if (dep) {
        for (const c of arr(obj(obj(obj(dep.spec).template).spec).containers).map(obj)) {
          if (obj(obj(c.resources).requests)[String(t.type)] === undefined) out.push(`${at}: the container ${String(c.name)} doesn't have the ${String(t.type)} request defined`);
        }
      }
    } else if (t.type === 'prometheus') {
      for (const k of ['serverAddress', 'query', 'threshold']) if (!md[k]) out.push(`${at}.metadata.${k}: required by the prometheus scaler`);
      if (md.threshold !== undefined && !Number.isFinite(Number(md.threshold))) out.push(`${at}.metadata.threshold: must be a number`);
    } else if (t.type === 'external-push') {
      if (typeof md.scalerAddress !== 'string' || !/^[^:]+:\d+$/.test(md.scalerAddress)) out.push(`${at}.metadata.scalerAddress: must be host:port`);
    }
  });
  if (spec.advanced !== undefined) {
    const b = obj(obj(obj(spec.advanced).horizontalPodAutoscalerConfig).behavior);
    scalingRules(b.scaleUp, 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp', out);
    scalingRules(b.scaleDown, 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown', out);
  }
  return out;
}

function labelsMatch(selector: unknown, labels: unknown): boolean {
  const want = obj(obj(selector).matchLabels);
  const have = obj(labels);
  return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => have[k] === v);
}

function podSpecViolations(podSpec: Obj, path: string, out: string[]): void {
  for (const [i, c] of arr(podSpec.containers).map(obj).entries()) {
    const at = `${path}.containers[${i}]`;
    for (const probe of ['livenessProbe', 'startupProbe'] as const) {
      const p = c[probe];
      if (p !== undefined && obj(p).successThreshold !== undefined && obj(p).successThreshold !== 1) out.push(`${at}.${probe}.successThreshold: must be 1`);
    }
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      const p = c[probe];
      if (p === undefined) continue;
      const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => obj(p)[h] !== undefined);
      if (handlers.length !== 1) out.push(`${at}.${probe}: must specify exactly one handler (has ${handlers.length})`);
    }
    for (const port of arr(c.ports).map(obj)) {
      if (port.name !== undefined && !/^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(String(port.name))) out.push(`${at}.ports: name ${String(port.name)} is not an IANA service name`);
      if (port.name !== undefined && String(port.name).length > 15) out.push(`${at}.ports: name ${String(port.name)} is longer than 15 characters`);
    }
    const req = obj(obj(c.resources).requests);
    const lim = obj(obj(c.resources).limits);
    for (const [k, v] of Object.entries(lim)) {
      if (req[k] === undefined) continue;
      const l = parseQuantity(v);
      const r = parseQuantity(req[k]);
      if (l === null || r === null || l < r) out.push(`${at}.resources.requests.${k}: must be less than or equal to the ${k} limit`);
    }
  }
}

/** Deployments and StatefulSets: the selector must select the template's own labels (apps validation). */
function workloadViolations(w: Obj): string[] {
  const out: string[] = [];
  const spec = obj(w.spec);
  const template = obj(spec.template);
  if (!labelsMatch(spec.selector, obj(template.metadata).labels)) out.push('spec.template.metadata.labels: `selector` does not match template `labels`');
  if (spec.replicas !== undefined && (!isInt(spec.replicas) || spec.replicas < 0)) out.push('spec.replicas: must be >= 0');
  podSpecViolations(obj(template.spec), 'spec.template.spec', out);
  return out;
}

/** Every document of a kubernetes or keda export, and what they must agree on between them. */
export function manifestViolations(docs: readonly Obj[], features: ClusterFeatures = {}): string[] {
  const out: string[] = [];
  const name = (d: Obj) => String(obj(d.metadata).name);
  for (const d of docs) {
    const where = `${String(d.kind)} ${name(d)}`;
    const meta = obj(d.metadata);
    const problems: string[] = [];
    if (typeof meta.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(meta.name) || meta.name.length > 63) problems.push('metadata.name: must be a DNS-1123 label');
    if (d.kind === 'HorizontalPodAutoscaler') problems.push(...hpaViolations(d, features));
    if (d.kind === 'ScaledObject') problems.push(...scaledObjectViolations(d, docs));
    if (d.kind === 'Deployment' || d.kind === 'StatefulSet') problems.push(...workloadViolations(d));
    if (d.kind === 'HTTPScaledObject') {
      // The HTTP add-on's CRD: hosts, a target with its Service and port, min <= max.
      const spec = obj(d.spec);
      const ref = obj(spec.scaleTargetRef);
      const r = obj(spec.replicas);
      if (arr(spec.hosts).length === 0) problems.push('spec.hosts: at least one host');
      if (!ref.name || !ref.service || !isInt(ref.port)) problems.push('spec.scaleTargetRef: name, service and port are required');
      if (!isInt(r.min) || !isInt(r.max) || r.min < 0 || r.min > r.max) problems.push('spec.replicas: 0 <= min <= max');
      if (ref.service !== undefined && !docs.some((w) => w.kind === 'Service' && name(w) === ref.service)) problems.push(`spec.scaleTargetRef.service: no Service ${String(ref.service)} in this export`);
    }
    if (d.kind === 'Service') {
      const sel = obj(obj(d.spec).selector);
      const target = docs.find((w) => (w.kind === 'Deployment' || w.kind === 'StatefulSet') && labelsMatch({ matchLabels: sel }, obj(obj(obj(w.spec).template).metadata).labels));
      if (!target) problems.push('spec.selector: selects no pod template of this export');
    }
    if (d.kind === 'HorizontalPodAutoscaler' || d.kind === 'ScaledObject') {
      const ref = obj(obj(d.spec).scaleTargetRef);
      if (!docs.some((w) => w.kind === (ref.kind ?? 'Deployment') && name(w) === ref.name)) problems.push(`spec.scaleTargetRef: no ${String(ref.kind ?? 'Deployment')} ${String(ref.name)} in this export`);
    }
    out.push(...problems.map((p) => `${where}: ${p}`));
  }
  return out;
}

const NAME = (s: unknown) => typeof s === 'string' && s.length >= 1 && s.length <= 255;

/** An AWS export, as CreateAutoScalingGroup, PutScalingPolicy, PutMetricAlarm and PutWarmPool judge their inputs. */
export function awsViolations(a: AwsExport): string[] {
  const out: string[] = [];
  const g = a.CreateAutoScalingGroup;
  if (!NAME(g.AutoScalingGroupName)) out.push('CreateAutoScalingGroup.AutoScalingGroupName: 1 to 255 characters');
  if (!(isInt(g.MinSize) && g.MinSize >= 0 && g.MinSize <= g.DesiredCapacity && g.DesiredCapacity <= g.MaxSize)) {
    out.push(`CreateAutoScalingGroup: MinSize (${g.MinSize}) <= DesiredCapacity (${g.DesiredCapacity}) <= MaxSize (${g.MaxSize})`);
  }
  for (const k of ['DefaultInstanceWarmup', 'DefaultCooldown', 'HealthCheckGracePeriod'] as const) {
    if (!isInt(g[k]) || g[k] < 0) out.push(`CreateAutoScalingGroup.${k}: a whole number of seconds >= 0 (is ${g[k]})`);
  }
  a.PutScalingPolicy.forEach((p, i) => {
    const at = `PutScalingPolicy[${i}]`;
    if (!NAME(p.PolicyName)) out.push(`${at}.PolicyName: 1 to 255 characters`);
    if (p.PolicyType === 'TargetTrackingScaling') {
      const t = p.TargetTrackingConfiguration;
      if (!t) {
        out.push(`${at}: TargetTrackingScaling needs TargetTrackingConfiguration`);
        return;
      }
      if ((t.PredefinedMetricSpecification === undefined) === (t.CustomizedMetricSpecification === undefined)) out.push(`${at}: exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification`);
      if (!(t.TargetValue > 0) || !Number.isFinite(t.TargetValue)) out.push(`${at}.TargetValue: must be positive (is ${t.TargetValue})`);
      const pre = t.PredefinedMetricSpecification;
      if (pre?.PredefinedMetricType === 'ALBRequestCountPerTarget' && !pre.ResourceLabel) out.push(`${at}: ALBRequestCountPerTarget needs a ResourceLabel`);
      if (pre?.PredefinedMetricType === 'ASGAverageCPUUtilization' && t.TargetValue > 100) out.push(`${at}.TargetValue: a CPU utilisation is at most 100 (is ${t.TargetValue})`);
    } else {
      const steps = p.StepAdjustments ?? [];
      if (!p.AdjustmentType) out.push(`${at}.AdjustmentType: required for StepScaling`);
      if (p.MinAdjustmentMagnitude !== undefined && (p.AdjustmentType !== 'PercentChangeInCapacity' || !isInt(p.MinAdjustmentMagnitude) || p.MinAdjustmentMagnitude < 1)) {
        out.push(`${at}.MinAdjustmentMagnitude: a whole number >= 1, only with PercentChangeInCapacity`);
      }
      if (steps.length === 0) out.push(`${at}.StepAdjustments: required for StepScaling`);
      if (steps.filter((s) => s.MetricIntervalLowerBound === undefined).length > 1 || steps.filter((s) => s.MetricIntervalUpperBound === undefined).length > 1) {
        out.push(`${at}.StepAdjustments: at most one step may have no lower bound and one no upper bound`);
      }
      const sorted = [...steps].sort((x, y) => (x.MetricIntervalLowerBound ?? -Infinity) - (y.MetricIntervalLowerBound ?? -Infinity));
      for (let k = 1; k < sorted.length; k++) {
        if ((sorted[k - 1].MetricIntervalUpperBound ?? Infinity) !== (sorted[k].MetricIntervalLowerBound ?? -Infinity)) out.push(`${at}.StepAdjustments: the ranges must neither overlap nor leave a gap`);
      }
      for (const s of steps) {
        if (s.MetricIntervalLowerBound !== undefined && s.MetricIntervalUpperBound !== undefined && s.MetricIntervalLowerBound >= s.MetricIntervalUpperBound) out.push(`${at}.StepAdjustments: a lower bound must be below its upper bound`);
        // A 0 adjustment is allowed: the EC2 Auto Scaling guide's own example has a "change nothing" step next to the threshold.
        if (!isInt(s.ScalingAdjustment)) out.push(`${at}.StepAdjustments: ScalingAdjustment must be a whole number`);
        if (p.AdjustmentType === 'ExactCapacity' && s.ScalingAdjustment < 0) out.push(`${at}.StepAdjustments: ExactCapacity needs a non-negative ScalingAdjustment`);
      }
    }
  });
  a.PutMetricAlarm.forEach((m, i) => {
    const at = `PutMetricAlarm[${i}]`;
    if (!NAME(m.AlarmName)) out.push(`${at}.AlarmName: 1 to 255 characters`);
    if (m.AlarmDescription.length > 1024) out.push(`${at}.AlarmDescription: at most 1024 characters`);
    if (!([10, 20, 30].includes(m.Period) || (isInt(m.Period) && m.Period > 0 && m.Period % 60 === 0))) out.push(`${at}.Period: 10, 20, 30 or a multiple of 60 (is ${m.Period})`);
    if (!isInt(m.EvaluationPeriods) || m.EvaluationPeriods < 1) out.push(`${at}.EvaluationPeriods: at least 1`);
    if (!isInt(m.DatapointsToAlarm) || m.DatapointsToAlarm < 1 || m.DatapointsToAlarm > m.EvaluationPeriods) out.push(`${at}.DatapointsToAlarm: from 1 to EvaluationPeriods`);
    const limit = m.Period < 3600 ? 86_400 : 604_800;
    if (m.Period * m.EvaluationPeriods > limit) out.push(`${at}: Period x EvaluationPeriods = ${m.Period * m.EvaluationPeriods} s, more than ${limit} s`);
    if ((m.Statistic === undefined) === (m.ExtendedStatistic === undefined)) out.push(`${at}: exactly one of Statistic and ExtendedStatistic`);
    if (m.ExtendedStatistic !== undefined) {
      const pm = /^p(\d+(?:\.\d+)?)$/.exec(m.ExtendedStatistic);
      if (!pm || Number(pm[1]) < 0 || Number(pm[1]) > 100) out.push(`${at}.ExtendedStatistic: a percentile p0.0 to p100 (is ${m.ExtendedStatistic})`);
    }
    if (!Number.isFinite(m.Threshold)) out.push(`${at}.Threshold: must be a number`);
  });
  if (a.PutWarmPool) {
    const w = a.PutWarmPool;
    if (w.AutoScalingGroupName !== g.AutoScalingGroupName) out.push('PutWarmPool.AutoScalingGroupName: must name the group');
    if (!isInt(w.MinSize) || w.MinSize < 0) out.push('PutWarmPool.MinSize: a whole number >= 0');
    if (!['Stopped', 'Running', 'Hibernated'].includes(w.PoolState)) out.push('PutWarmPool.PoolState: Stopped, Running or Hibernated');
  }
  return out;
}
