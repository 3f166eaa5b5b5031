/**
 * Manifests to text: YAML documents through the `yaml` library (comments
 * attached to the nodes they explain, never string templates), JSON for AWS.
 */
import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import { InternalError } from '../errors.js';
import type { Manifest } from './manifest.js';

function attach(doc: Document, path: Array<string | number>, text: string): void {
  if (path.length === 0) {
    doc.commentBefore = doc.commentBefore ? `${doc.commentBefore}\n${text}` : text;
    return;
  }
  const parent = path.length === 1 ? doc.contents : (doc.getIn(path.slice(0, -1), true) as Node | undefined);
  const last = path[path.length - 1];
  if (isSeq(parent) && typeof last === 'number') {
    const item = parent.items[last] as Node | undefined;
    if (item) {
      item.commentBefore = item.commentBefore ? `${item.commentBefore}\n${text}` : text;
      return;
    }
  }
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
    if (pair && isScalar(pair.key)) {
      pair.key.commentBefore = pair.key.commentBefore ? `${pair.key.commentBefore}\n${text}` : text;
      return;
    }
  }
  // A comment whose node does not exist is a bug in an exporter, not something to drop silently.
  throw new InternalError(`export: no node at ${path.join('.')} for comment ${JSON.stringify(text)}`);
}

export function renderYaml(manifests: readonly Manifest[]): string {
  return manifests
    .map((m) => {
      const doc = new Document(m.object, { aliasDuplicateObjects: false });
      for (const c of m.comments) attach(doc, c.path, c.text);
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}
