/**
 * The built-in experiments: YAML files in src/experiment/catalogue/, read
 * from the source tree at run time (both src/ and dist/ sit next to it, as
 * the report's page script does). `experiment show <name>` prints one as is.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ExperimentFileError } from '../errors.js';

export const BUILT_INS = [
  'threshold-vs-target',
  'flapping',
  'slow-boot',
  'noisy-neighbour',
  'connection-pinning',
  'scale-to-zero',
  'self-healing',
  'coordinated-omission',
] as const;

const DIR = new URL('../../src/experiment/catalogue/', import.meta.url);

/** The catalogue's directory: a built-in's relative paths (a predictive arm's --history) start here. */
export const CATALOGUE_DIR = fileURLToPath(DIR);

export function isBuiltIn(name: string): boolean {
  return (BUILT_INS as readonly string[]).includes(name);
}

export function builtInText(name: string): string {
  if (!isBuiltIn(name)) throw new ExperimentFileError(`no built-in experiment is named ${JSON.stringify(name)} (built-ins: ${BUILT_INS.join(', ')}; or give a .yaml file)`);
  return readFileSync(new URL(`${name}.yaml`, DIR), 'utf8');
}
