/**
 * A recorded run as the report sees it: read through the one reader of run
 * directories (src/runs/read.ts), then aggregated. Errors are RunInputErrors
 * (one clear line, exit 2).
 */
import { resolve } from 'node:path';
import { liveRunDirs } from '../runs/paths.js';
import { readRunDir } from '../runs/read.js';
import { aggregate, type RunModel } from './aggregate.js';
import type { Price } from './price.js';

export interface LoadedRun {
  dir: string;
  /** The directory's name, e.g. 2026-12-01T18-24-55. */
  name: string;
  model: RunModel;
}

export function loadRun(dir: string, opts: { price?: Price; env?: NodeJS.ProcessEnv; withLoad?: boolean } = {}): LoadedRun {
  const run = readRunDir(dir, { withLoad: opts.withLoad });
  const inProgress = liveRunDirs(opts.env).has(resolve(dir));
  return { dir, name: run.name, model: aggregate({ parsed: run.events, load: run.load, price: opts.price, inProgress }) };
}
