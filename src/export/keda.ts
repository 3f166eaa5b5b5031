/**
 * `autoscale export keda`: the worker Deployment and Service plus a KEDA
 * ScaledObject: a CPU trigger for the CPU metrics, a Prometheus trigger on the
 * workers' own /metrics for rps, concurrency and p95. Pure.
 */
import type { LabConfig } from '../settings/config.js';
import { utilisation, workloadManifests, behavior } from './kubernetes.js';
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

export function scaledObjectManifest(c: LabConfig, o: ExportOptions): Manifest {
  const m = targetMapping(c);
  const t = trigger(c, o, m.target);
  return {
    object: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: o.name, namespace: o.namespace },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: o.name },
        pollingInterval: periodSeconds(c),
        minReplicaCount: c.min,
        maxReplicaCount: c.max,
        advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(c, m, false) } },
        triggers: [t.trigger],
      },
    },
    comments: [
      { path: [], text: [` KEDA ScaledObject from the lab's policy (${c.policy} on ${c.metric}); KEDA creates and drives the HPA itself.`, ...m.notes.map((n) => ` ${n}`)].join('\n') },
      { path: ['spec', 'pollingInterval'], text: ` the lab's ${c.interval} s tick; the HPA that KEDA creates still recomputes on its controller's sync period (default 15 s)` },
      {
        path: ['spec', 'minReplicaCount'],
        text: " cooldownPeriod is left out: KEDA uses it only between zero and one replica, and the lab never scales to zero; the lab's cooldown is the scale-down window below",
      },
      {
        path: ['spec', 'advanced', 'horizontalPodAutoscalerConfig', 'behavior'],
        text:
          ` tolerance ${round(m.tolerance)} is not settable here: the HPA's cluster-wide --horizontal-pod-autoscaler-tolerance (default 0.1) applies` +
          (c.policy === 'threshold' ? ', so the dead band is narrower than the lab\'s' : '') +
          `; warm-up (${c.warmup} s) has no field: not-ready pods are left out`,
      },
      { path: ['spec', 'triggers', 0], text: ` ${t.note}` },
    ],
  };
}

export function kedaManifests(c: LabConfig, o: ExportOptions): Manifest[] {
  return [...workloadManifests(c, o), scaledObjectManifest(c, o)];
}
