/** One exported document: a plain object plus the comments that explain it, attached by path. */
export interface Manifest {
  object: Record<string, unknown>;
  /** path [] is the document's header; ['spec', 'metrics', 0] comments that list item; a key path comments that key. */
  comments: Array<{ path: Array<string | number>; text: string }>;
}
