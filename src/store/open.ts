/**
 * Opens the store a location names. Each driver is loaded only when used, so a
 * SQLite lab never loads pg and a PostgreSQL lab never loads the native addon.
 */
import { describeLocation, type StoreLocation } from './location.js';
import type { VisitStore } from './store.js';

export interface OpenStoreOptions {
  /** PostgreSQL application_name, e.g. "autoscale worker 3". */
  applicationName?: string;
}

/** A store object for `loc`; nothing is connected or created until init(). */
export async function createStore(loc: StoreLocation, opts: OpenStoreOptions = {}): Promise<VisitStore> {
  if (loc.kind === 'sqlite') {
    const { SqliteStore } = await import('./sqlite.js');
    return new SqliteStore(loc.file);
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
