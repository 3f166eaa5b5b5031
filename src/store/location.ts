/**
 * Where the visits live, parsed once at the edge: `--database-url` /
 * `DATABASE_URL` (postgres://… or postgresql://…, or sqlite:<file>), or by
 * default one SQLite file. Pure: no file or network access here.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';

export type StoreKind = 'sqlite' | 'postgres';

export type StoreLocation =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string };

/** The SQLite file a lab shares between its workers. */
export const SQLITE_FILE_NAME = 'visits.db';

export class StoreLocationError extends Error {}

/**
 * Parse a database URL. Accepted: `postgres://user:pass@host:port/db`, `postgresql://…`,
 * `sqlite:relative/or/absolute.db`, `sqlite:///absolute.db`. A relative SQLite path
 * resolves against `cwd`.
 */
export function parseDatabaseUrl(raw: string, cwd = process.cwd()): StoreLocation {
  const text = raw.trim();
  if (text === '') throw new StoreLocationError('expected a database URL (postgres://user:password@host:5432/db or sqlite:<file>), received ""');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new StoreLocationError(`expected a PostgreSQL URL like postgres://user:password@127.0.0.1:5432/db, received ${JSON.stringify(redactUrl(text))}`);
    }
    if (url.hostname === '' && !url.searchParams.has('host')) {
      throw new StoreLocationError(`the PostgreSQL URL ${JSON.stringify(redactUrl(text))} names no host (expected postgres://user:password@host:5432/db)`);
    }
    return { kind: 'postgres', url: text };
  }
  if (scheme === 'sqlite') {
    let path = text.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/file.db -> /abs/file.db
    if (path === '' || path === '/') throw new StoreLocationError(`expected sqlite:<file>, e.g. sqlite:./visits.db, received ${JSON.stringify(text)}`);
    return { kind: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  throw new StoreLocationError(
    `expected a database URL starting with postgres://, postgresql:// or sqlite:, received ${JSON.stringify(redactUrl(text))}`,
  );
}

/** The default: one SQLite file in `dir` (the lab's run directory). */
export function defaultSqlite(dir: string): StoreLocation {
  return { kind: 'sqlite', file: join(dir, SQLITE_FILE_NAME) };
}

/** The one string that names a location on a worker's command line (`--database-url`). */
export function locationToUrl(loc: StoreLocation): string {
  return loc.kind === 'sqlite' ? `sqlite:${loc.file}` : loc.url;
}

/** What to show people and write in events: never a password. */
export function describeLocation(loc: StoreLocation): string {
  return loc.kind === 'sqlite' ? loc.file : redactUrl(loc.url);
}

/** postgres://user:secret@host/db -> postgres://user:***@host/db (also a password=… query parameter). */
export function redactUrl(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@')
    .replace(/([?&]password=)[^&#]*/i, '$1***');
}

/**
 * `--database-url` wins over a `--config` file's "database-url", which wins over
 * `DATABASE_URL`; none: null (the caller's default).
 * Throws StoreLocationError naming where the bad value came from.
 */
export function chooseDatabaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd(), config?: { url: string; file: string }): StoreLocation | null {
  let raw: string | undefined;
  let source = '';
  let base = cwd;
  if (flag !== undefined) [raw, source] = [flag, '--database-url'];
  else if (config !== undefined) {
    [raw, source] = [config.url, `"database-url" in the config file ${config.file}`];
    // A relative sqlite: path in a config file is relative to the file, so the file means the same from any directory.
    base = dirname(resolve(cwd, config.file));
  } else if (env.DATABASE_URL !== undefined && env.DATABASE_URL !== '') [raw, source] = [env.DATABASE_URL, 'DATABASE_URL'];
  if (raw === undefined) return null;
  try {
    return parseDatabaseUrl(raw, base);
  } catch (err) {
    if (err instanceof StoreLocationError) throw new StoreLocationError(`${source}: ${err.message}`);
    throw err;
  }
}

/** A standalone worker's default: $XDG_STATE_HOME/autoscale/visits.db (XDG_STATE_HOME defaults to ~/.local/state). */
export function standaloneSqlite(env: NodeJS.ProcessEnv, home: string): StoreLocation {
  const state = env.XDG_STATE_HOME !== undefined && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, '.local', 'state');
  return { kind: 'sqlite', file: join(state, 'autoscale', SQLITE_FILE_NAME) };
}
