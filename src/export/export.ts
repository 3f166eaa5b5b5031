/** One export target's text: YAML manifests or AWS JSON. Pure. */
import type { LabConfig } from '../settings/config.js';
import { awsExport } from './aws.js';
import { kedaManifests } from './keda.js';
import { kubernetesManifests } from './kubernetes.js';
import { renderYaml } from './render.js';
import type { ExportOptions, ExportTarget } from './workload.js';

/** The export's text for one target. */
export function exportText(target: ExportTarget, config: LabConfig, opts: ExportOptions): string {
  switch (target) {
    case 'kubernetes':
      return renderYaml(kubernetesManifests(config, opts));
    case 'keda':
      return renderYaml(kedaManifests(config, opts));
    case 'aws':
      return JSON.stringify(awsExport(config, opts), null, 2) + '\n';
  }
}

