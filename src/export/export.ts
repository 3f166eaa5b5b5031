/** One export target's text: YAML manifests or AWS JSON. Pure. */
import type { LabConfig } from '../settings/config.js';
import { InternalError } from '../errors.js';
import { awsViolations, manifestViolations } from './admission.js';
import { awsExport } from './aws.js';
import { kedaManifests } from './keda.js';
import { kubernetesManifests } from './kubernetes.js';
import { renderYaml } from './render.js';
import type { ExportOptions, ExportTarget } from './workload.js';

/** An export the API server would refuse is a bug in an exporter: say which rule, never print it. */
function accepted(violations: string[], target: ExportTarget): void {
  if (violations.length > 0) throw new InternalError(`export ${target} would be refused by the API server: ${violations.join('; ')}`);
}

/** The export's text for one target, checked against the API servers' rules (admission.ts). */
export function exportText(target: ExportTarget, config: LabConfig, opts: ExportOptions): string {
  if (target === 'aws') {
    const aws = awsExport(config, opts);
    accepted(awsViolations(aws), target);
    return JSON.stringify(aws, null, 2) + '\n';
  }
  const manifests = target === 'kubernetes' ? kubernetesManifests(config, opts) : kedaManifests(config, opts);
  accepted(manifestViolations(manifests.map((m) => m.object)), target);
  return renderYaml(manifests);
}

