/**
 * What every exporter needs to know besides the policy: the workload's name,
 * image and port, and the options the user gave. Validated once, here.
 */
import { UsageError } from '../errors.js';
import type { LabConfig } from '../settings/config.js';

export const EXPORT_TARGETS = ['kubernetes', 'keda', 'aws'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

export interface ExportOptions {
  /** Name of the Deployment / Service / HPA / ScaledObject / Auto Scaling group. */
  name: string;
  namespace: string;
  /** Container image (kubernetes, keda): the one the repository's Dockerfile builds unless --image says otherwise. */
  image: string;
  containerPort: number;
  /** CPU request per pod, millicores: utilisation targets are % of this. */
  cpuMillis: number;
  /** KEDA's Prometheus trigger queries this server. */
  prometheusUrl: string;
  /** AWS: launch template, subnets, target group (placeholders when not given, listed in Notes). */
  launchTemplate: string | null;
  subnets: string | null;
  targetGroupArn: string | null;
  /** kubernetes, keda: also write a one-instance PostgreSQL (Secret, StatefulSet, Service) for the visits. */
  postgres: boolean;
}

export interface RawExportOptions {
  name?: string;
  namespace?: string;
  image?: string;
  containerPort?: string;
  cpuRequest?: string;
  prometheusUrl?: string;
  launchTemplate?: string;
  subnets?: string;
  targetGroupArn?: string;
  postgres?: boolean;
}

/**
 * `image` is the tag docs/export.md builds with the repository's Dockerfile
 * (`docker build -t autoscale-worker:dev .`): not `latest`, so a cluster uses
 * an image loaded into it (kind, minikube) instead of pulling. `containerPort`
 * is the port the Dockerfile's CMD and EXPOSE name (test/export-dockerfile.test.ts).
 */
export const EXPORT_DEFAULTS = {
  name: 'autoscale-worker',
  namespace: 'default',
  image: 'autoscale-worker:dev',
  containerPort: 8080,
  cpuRequest: '1000m',
  prometheusUrl: 'http://prometheus-server.monitoring.svc:9090',
} as const;

/** The Secret (key `url`) every exported worker reads DATABASE_URL from. */
export function databaseSecretName(o: Pick<ExportOptions, 'name'>): string {
  return `${o.name}-database`;
}

/**
 * The worker's command-line arguments in a container or on an instance (the
 * image's entrypoint is `node dist/app/main.js`): the lab's per-worker
 * settings, the port the export uses, and the database from DATABASE_URL.
 * `databaseUrl` is how the platform spells the variable: `$(DATABASE_URL)`
 * for Kubernetes (expanded from the container's env), `$DATABASE_URL` for a shell.
 */
export function workerArgs(c: LabConfig, o: Pick<ExportOptions, 'containerPort'>, databaseUrl: string): string[] {
  const args = ['--host', '0.0.0.0', '--port', String(o.containerPort), '--work', String(c.work), '--database-url', databaseUrl];
  if (c.maxConnRequests > 0) args.push('--max-conn-requests', String(c.maxConnRequests));
  if (c.maxConnAge > 0) args.push('--max-conn-age', String(c.maxConnAge));
  return args;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function parseTarget(raw: string): ExportTarget {
  if (!(EXPORT_TARGETS as readonly string[]).includes(raw)) {
    throw new UsageError(`export target must be one of ${EXPORT_TARGETS.join(', ')} (received ${JSON.stringify(raw)})`);
  }
  return raw as ExportTarget;
}

/** "500m" or "0.5" or "1" cores → millicores. */
function parseCpu(raw: string): number {
  const m = /^(\d+)m$/.exec(raw.trim());
  const n = m ? Number(m[1]) : Number(raw) * 1000;
  if (raw.trim() === '' || !Number.isFinite(n) || !Number.isInteger(n) || n < 10 || n > 64_000) {
    throw new UsageError(`--cpu-request must be millicores like 500m or cores like 0.5, from 10m to 64 (received ${JSON.stringify(raw)})`);
  }
  return n;
}

export function parseExportOptions(target: ExportTarget, raw: RawExportOptions): ExportOptions {
  const name = raw.name ?? EXPORT_DEFAULTS.name;
  if (name.length > 53 || !DNS_LABEL.test(name)) {
    throw new UsageError(`--name must be a DNS label of at most 53 characters: lower-case letters, digits and '-' (received ${JSON.stringify(name)})`);
  }
  const namespace = raw.namespace ?? EXPORT_DEFAULTS.namespace;
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new UsageError(`--namespace must be a DNS label (received ${JSON.stringify(namespace)})`);
  }
  const image = raw.image === undefined ? EXPORT_DEFAULTS.image : raw.image.trim();
  if (image === '' || /\s/.test(image)) throw new UsageError(`--image must be an image reference without spaces (received ${JSON.stringify(raw.image)})`);
  if (raw.postgres === true && target === 'aws') throw new UsageError('--postgres writes Kubernetes manifests: use it with export kubernetes or keda (on AWS, point DATABASE_URL at an RDS PostgreSQL)');
  const port = Number(raw.containerPort ?? EXPORT_DEFAULTS.containerPort);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`--container-port must be a whole number from 1 to 65535 (received ${JSON.stringify(raw.containerPort)})`);
  }
  const prometheusUrl = raw.prometheusUrl ?? EXPORT_DEFAULTS.prometheusUrl;
  if (!/^https?:\/\/\S+$/.test(prometheusUrl)) {
    throw new UsageError(`--prometheus-url must be an http(s) URL (received ${JSON.stringify(prometheusUrl)})`);
  }
  return {
    name,
    namespace,
    image,
    containerPort: port,
    cpuMillis: parseCpu(raw.cpuRequest ?? EXPORT_DEFAULTS.cpuRequest),
    prometheusUrl,
    launchTemplate: raw.launchTemplate ?? null,
    subnets: raw.subnets ?? null,
    targetGroupArn: raw.targetGroupArn ?? null,
    postgres: raw.postgres === true,
  };
}
