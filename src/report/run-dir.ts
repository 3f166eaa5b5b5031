/**
 * The I/O edge of reading a run: which directory (given, or the latest under
 * the state dir), its files, and the parsed model. Errors are RunInputErrors
 * (one clear line, exit 2).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { RunInputError } from '../errors.js';
import { EVENTS_FILE, listRunDirs, LOAD_FILE, liveRunDirs, runsDir } from '../runs/paths.js';
import { aggregate, type Price, type RunModel } from './aggregate.js';
import { parseEvents, parseLoad } from './parse.js';

/** The run directory to read: `arg` (a run dir, or its events.ndjson), else the newest recorded run. */
export function resolveRunDir(arg: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (arg === undefined) {
    const dirs = listRunDirs(env).filter((d) => existsSync(join(d, EVENTS_FILE)));
    if (dirs.length === 0) throw new RunInputError('AS_ERR_NO_RUNS', `no recorded runs in ${runsDir(env)} (every \`autoscale start\` records one unless --no-record)`);
    return dirs[dirs.length - 1];
  }
  const p = resolve(arg);
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new RunInputError('AS_ERR_NOT_A_RUN', `${arg} does not exist`);
  }
  const dir = st.isFile() && basename(p) === EVENTS_FILE ? dirname(p) : p;
  if (!statSync(dir).isDirectory() || !existsSync(join(dir, EVENTS_FILE))) {
    throw new RunInputError('AS_ERR_NOT_A_RUN', `${arg} is not a run directory (it has no ${EVENTS_FILE})`);
  }
  return dir;
}

export interface LoadedRun {
  dir: string;
  /** The directory's name, e.g. 2026-12-01T18-24-55. */
  name: string;
  model: RunModel;
}

export function loadRun(dir: string, opts: { price?: Price; env?: NodeJS.ProcessEnv; withLoad?: boolean } = {}): LoadedRun {
  const file = join(dir, EVENTS_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RunInputError('AS_ERR_NOT_A_RUN', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const parsed = parseEvents(text, file);
  let load: ReturnType<typeof parseLoad> | null = null;
  if (opts.withLoad !== false) {
    try {
      load = parseLoad(readFileSync(join(dir, LOAD_FILE), 'utf8'));
    } catch {
      load = null;
    }
  }
  const inProgress = liveRunDirs(opts.env).has(resolve(dir));
  return { dir, name: basename(dir), model: aggregate({ parsed, load, price: opts.price, inProgress }) };
}
