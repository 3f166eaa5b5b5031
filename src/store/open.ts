/**
 * Opens the store a location names. Each driver is loaded only when used, so a
 * SQLite lab never loads pg and a PostgreSQL lab never loads the native addon.
 */
import { describeLocation, type StoreLocation } from './location.js';
import type { VisitStore } from './store.js';

export interface OpenStoreOptions {
  /** PostgreSQL application_name, e.g. "autoscale worker 3". */
  applicationName?: string;
  /**
   * SQLite: create the file when it is missing (default true). A lab's workers pass false: the lab
   * creates it once at start (prepareStore), and a worker started after it was deleted must report
   * it missing, not start a new empty database in its place.
   */
  create?: boolean;
}

/** A store object for `loc`; nothing is connected or created until init(). */
export async function createStore(loc: StoreLocation, opts: OpenStoreOptions = {}): Promise<VisitStore> {
  if (loc.kind === 'sqlite') {
    const { SqliteStore } = await import('./sqlite.js');
    return new SqliteStore(loc.file, { create: opts.create ?? true });
  }
  const { PostgresStore } = await import('./postgres.js');
  return new PostgresStore(loc.url, { applicationName: opts.applicationName });
}

/**
 * Create the schema once, before any worker starts, so a wrong URL or an
 * unwritable directory is one clear error at start rather than workers that
 * never become healthy. Rejects with StoreUnavailableError.
 */
export async function prepareStore(loc: StoreLocation): Promise<{ kind: StoreLocation['kind']; where: string }> {
  const store = await createStore(loc, { applicationName: 'autoscale lab' });
  try {
    await store.init();
  } finally {
    await store.close();
  }
  return { kind: loc.kind, where: describeLocation(loc) };
}
