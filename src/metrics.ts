/**
 * The signals a policy can scale on (and an alarm can watch). A top-level
 * file, below both src/policy/ and src/alarms/, so that the policy's step
 * scaling can evaluate alarms that name these metrics. Per-worker metrics are averages over the
 * ready workers that are past their warm-up; host CPU and p95 latency are not
 * per worker.
 */
export const METRIC_NAMES = ['host-cpu', 'worker-cpu', 'rps', 'concurrency', 'p95'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricInfo {
  /** Shown in reasons: "cpu 41 % > 35 %". */
  label: string;
  /** Suffix after a value: " %", " req/s", " ms". */
  unit: string;
  /** An average over workers (so adding one lowers it, and n/(n-1) estimates removing one). */
  perWorker: boolean;
  /** Default --target for the target policy. */
  defaultTarget: number;
  help: string;
}

export const METRICS: Record<MetricName, MetricInfo> = {
  'host-cpu': { label: 'cpu', unit: ' %', perWorker: false, defaultTarget: 50, help: 'host CPU busy % (systeminformation), includes the load generator' },
  'worker-cpu': { label: 'worker-cpu', unit: ' %', perWorker: true, defaultTarget: 50, help: "average CPU % of one core used by each ready worker's own process" },
  rps: { label: 'rps/worker', unit: ' req/s', perWorker: true, defaultTarget: 100, help: 'requests per second per ready worker, at the balancer' },
  concurrency: { label: 'concurrency/worker', unit: '', perWorker: true, defaultTarget: 5, help: 'average in-flight requests per ready worker, at the balancer' },
  p95: { label: 'p95', unit: ' ms', perWorker: false, defaultTarget: 100, help: 'p95 latency through the balancer over the last interval' },
};

/** Every metric's value this tick (null when it cannot be measured, e.g. no ready worker past warm-up). */
export type MetricValues = Record<MetricName, number | null>;
