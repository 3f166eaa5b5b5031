/**
 * A throwaway PostgreSQL cluster for tests and benchmarks: initdb + pg_ctl in a
 * temp dir, listening on a free loopback port only, stopped and removed by
 * stop() (tests call it from t.after / after(), so also on failure). initdb and
 * pg_ctl refuse to run as root, so as root they run as the `postgres` user
 * (the Debian package creates it) on a data dir chowned to it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

export interface PgCluster {
  url: string;
  port: number;
  dir: string;
  /** Stop the server, keep the data (a database outage). */
  pause(): void;
  /** Start it again on the same port. */
  resume(): void;
  /** Stop it and remove everything. Idempotent. */
  stop(): void;
}

/** The directory holding initdb and pg_ctl, or null when PostgreSQL's server is not installed. */
export function findPgBin(): string | null {
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(debian, v, 'bin', 'initdb'))) return join(debian, v, 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  return null;
}

/**
 * Why PostgreSQL tests cannot run here, or null when they can. In CI (CI=true) a missing
 * server is an error, not a skip: .ci/run installs it, so its absence is a broken setup.
 */
export function pgUnavailable(): string | null {
  if (findPgBin() !== null) return null;
  const why = 'PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian\'s postgresql package';
  if (process.env.CI === 'true') throw new Error(`${why} (CI must run the PostgreSQL tests)`);
  return why;
}

function asPostgres(args: string[]): string[] {
  return userInfo().uid === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
}

function run(args: string[], what: string): void {
  const cmd = asPostgres(args);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr || r.stdout}`);
}

/** Starts a fresh cluster; the caller must call stop(). `durable: false` turns fsync off (tests only). */
export async function startPgCluster(opts: { durable?: boolean } = {}): Promise<PgCluster> {
  const bin = findPgBin();
  if (bin === null) throw new Error('PostgreSQL server binaries not found');
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-pg-'));
  const data = join(dir, 'data');
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  let started = false;
  const stop = () => {
    if (started) {
      const cmd = asPostgres([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
      spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore', timeout: 30_000 });
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], 'initdb');
    const port = await freePort();
    const settings = [
      `-p ${port}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${dir}`,
      '-c max_connections=60',
      '-c shared_buffers=32MB',
      ...(opts.durable === false ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
    ].join(' ');
    const start = () => {
      run([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'server.log'), '-o', settings, '-w', '-t', '60', 'start'], 'pg_ctl start');
      started = true;
    };
    start();
    const pause = () => {
      run([join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'], 'pg_ctl stop');
      started = false;
    };
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dir, pause, resume: start, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
