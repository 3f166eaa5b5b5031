/**
 * `autoscale export keda`: the worker Deployment and Service plus a KEDA
 * ScaledObject: a CPU trigger for the CPU metrics, a Prometheus trigger on the
 * workers' own /metrics for rps, concurrency and p95. Pure.
 */
import type { LabConfig } from '../settings/config.js';
import { METRICS } from '../policy/metrics.js';
import { behavior, holdComment, utilisation, workloadManifests } from './kubernetes.js';
import type { Manifest } from './manifest.js';
import { hostCpuNote, periodSeconds, round, targetMapping } from './mapping.js';
import type { ExportOptions } from './workload.js';

/** The PromQL each per-worker or latency metric maps to, over the workers' prom-client series. */
export function promQuery(metric: 'rps' | 'concurrency' | 'p95', app: string): string {
  const sel = `{app="${app}"}`;
  switch (metric) {
    case 'rps':
      return `sum(rate(http_requests_total${sel}[1m]))`;
    case 'concurrency':
      return `sum(rate(http_request_duration_seconds_sum${sel}[1m]))`;
    case 'p95':
      return `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket${sel}[1m]))) * 1000`;
  }
}

function trigger(c: LabConfig, o: ExportOptions, target: number): { trigger: Record<string, unknown>; note: string } {
  if (c.metric === 'host-cpu' || c.metric === 'worker-cpu') {
    return {
      trigger: { type: 'cpu', metricType: 'Utilization', metadata: { value: String(utilisation(target, o)) } },
      note: hostCpuNote(c.metric) ?? "worker-cpu = the pods' average CPU utilisation, % of the container's CPU request",
    };
  }
  const perPod = c.metric !== 'p95';
  return {
    trigger: {
      type: 'prometheus',
      metricType: perPod ? 'AverageValue' : 'Value',
      metadata: { serverAddress: o.prometheusUrl, query: promQuery(c.metric, o.name), threshold: String(round(target)) },
    },
    note: {
      rps: 'rps: the workers\' http_requests_total summed over pods; AverageValue divides by the pod count, so the threshold is per pod as in the lab',
      concurrency: "concurrency: by Little's law the rate of the duration histogram's _sum is the mean number of requests in flight; AverageValue makes it per pod",
      p95: 'p95 has no per-pod equivalent: metricType Value, desired = ceil(pods × p95 / threshold) as in the lab; measured in the pods (the lab measures through the balancer, queueing included) and only as fine as the histogram buckets',
    }[c.metric] + `. Assumes Prometheus scrapes the pods (the Deployment carries prometheus.io annotations) and keeps their app label`,
  };
}

/** The HTTP add-on's scaler, as its chart installs it in the keda namespace. */
export const HTTP_ADDON_SCALER = 'keda-add-ons-http-external-scaler.keda:9090';

/**
 * The HTTP add-on's routing object for --min 0: its interceptor holds requests
 * while no pod is ready (the lab's balancer's hold) and reports them to the
 * ScaledObject's external-push trigger, which wakes the Deployment from zero.
 */
export function httpScaledObjectManifest(c: LabConfig, o: ExportOptions): Manifest {
  const scalingMetric =
    c.metric === 'rps'
      ? { requestRate: { targetValue: Math.max(1, Math.round(targetMapping(c).target)), granularity: '1s', window: '1m' } }
      : { concurrency: { targetValue: Math.max(1, Math.round(c.metric === 'concurrency' ? targetMapping(c).target : METRICS.concurrency.defaultTarget)) } };
  return {
    object: {
      apiVersion: 'http.keda.sh/v1alpha1',
      kind: 'HTTPScaledObject',
      metadata: { name: o.name, namespace: o.namespace, annotations: { 'httpscaledobject.keda.sh/skip-scaledobject-creation': 'true' } },
      spec: {
        hosts: [`${o.name}.local`],
        scaleTargetRef: { name: o.name, kind: 'Deployment', apiVersion: 'apps/v1', service: o.name, port: 80 },
        replicas: { min: 0, max: c.max },
        scaledownPeriod: Math.round(c.idle),
        scalingMetric,
      },
    },
    comments: [
      {
        path: [],
        text: [
          ' KEDA HTTP add-on (helm install http-add-on kedacore/keda-add-ons-http -n keda): the lab\'s balancer at zero workers. Its interceptor holds each request while no pod is ready',
          ` and sends it on once one is (the lab's cold start). The lab's hold limits are the add-on's install settings, not fields here:`,
          `   --hold-timeout ${c.holdTimeout} s -> --set interceptor.readinessTimeout=${c.holdTimeout}s (KEDA_HTTP_READINESS_TIMEOUT)`,
          `   --hold-max ${c.holdMax} -> --set interceptor.extraEnvs.KEDA_HTTP_COLD_START_MAX_PENDING_REQUESTS=${c.holdMax} (add-on 1.0; per interceptor replica)`,
          ' Clients must reach the interceptor (Service keda-add-ons-http-interceptor-proxy in namespace keda, port 8080) with a Host header listed in hosts.',
          ' skip-scaledobject-creation: the ScaledObject above is ours, with this add-on as one of its triggers.',
        ].join('\n'),
      },
      { path: ['spec', 'hosts'], text: ' replace with the host name clients send' },
      { path: ['spec', 'scaledownPeriod'], text: ` the lab's --idle ${c.idle} s` },
      {
        path: ['spec', 'scalingMetric'],
        text:
          c.metric === 'rps' || c.metric === 'concurrency'
            ? ` the lab's ${c.metric} target per pod, measured at the interceptor`
            : ` the lab scales on ${c.metric} (the first trigger); this ${METRICS.concurrency.defaultTarget} in-flight requests per pod (the lab's concurrency default) only matters beyond it: KEDA takes the highest of its triggers`,
      },
    ],
  };
}

export function scaledObjectManifest(c: LabConfig, o: ExportOptions): Manifest {
  const m = targetMapping(c);
  const t = trigger(c, o, m.target);
  const toZero = c.min === 0;
  const triggers = [t.trigger, ...(toZero ? [{ type: 'external-push', metadata: { scalerAddress: HTTP_ADDON_SCALER, httpScaledObject: o.name } }] : [])];
  return {
    object: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: o.name, namespace: o.namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: o.name },
        pollingInterval: periodSeconds(c),
        ...(toZero ? { cooldownPeriod: Math.max(1, Math.round(c.idle)) } : {}),
        minReplicaCount: c.min,
        maxReplicaCount: c.max,
        advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(c, m, false) } },
        triggers,
      },
    },
    comments: [
      { path: [], text: [` KEDA ScaledObject from the lab's policy (${c.policy} on ${c.metric}); KEDA creates and drives the HPA itself.`, ...m.notes.map((n) => ` ${n}`)].join('\n') },
      { path: ['spec', 'pollingInterval'], text: ` the lab's ${c.interval} s tick; the HPA that KEDA creates still recomputes on its controller's sync period (default 15 s)` },
      toZero
        ? {
            path: ['spec', 'cooldownPeriod'],
            text:
              ` the lab's --idle ${c.idle} s: with --min 0 KEDA scales to zero once every trigger has been inactive this long (the lab: no request for --idle s), and back to one as soon as one activates.` +
              ` The lab's --cooldown is the scale-down window below (KEDA uses cooldownPeriod only between one replica and zero)`,
          }
        : {
            path: ['spec', 'minReplicaCount'],
            text:
              ` cooldownPeriod is left out: KEDA uses it only to scale to zero, and this policy keeps --min ${c.min}; the lab's cooldown is the scale-down window below.\n` + holdComment(c),
          },
      {
        path: ['spec', 'advanced', 'horizontalPodAutoscalerConfig', 'behavior'],
        text:
          ` tolerance ${round(m.tolerance)} is not settable here: the HPA's cluster-wide --horizontal-pod-autoscaler-tolerance (default 0.1) applies` +
          (c.policy !== 'target' ? ', so the dead band is narrower than the lab\'s' : '') +
          `; warm-up (${c.warmup} s) has no field: not-ready pods are left out`,
      },
      { path: ['spec', 'triggers', 0], text: ` ${t.note}` },
      ...(toZero
        ? [
            {
              path: ['spec', 'triggers', 1],
              text:
                ` scale to zero: KEDA refuses minReplicaCount 0 when every trigger is cpu or memory, and a metric scraped from the pods cannot wake a Deployment that has none.` +
                ` The HTTP add-on's interceptor sees the waiting requests: this trigger activates on them (HTTPScaledObject ${o.name} below)`,
            },
          ]
        : []),
    ],
  };
}

export function kedaManifests(c: LabConfig, o: ExportOptions): Manifest[] {
  return [...workloadManifests(c, o), scaledObjectManifest(c, o), ...(c.min === 0 ? [httpScaledObjectManifest(c, o)] : [])];
}
