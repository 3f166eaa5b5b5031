/**
 * What `autoscale load` runs once its flags are parsed: where the per-second
 * lines go (--out, --record into the lab it aims at), the run itself, its
 * progress line and summary. Loaded only when a load runs (src/loadgen/command.ts).
 */
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { watchLifeline, type CliIO } from '../cli-io.js';
import { UsageError } from '../errors.js';
import { formatNdjsonLine, formatProgress, formatSummary } from './format.js';
import { parseLoadOptions, type RawLoadOptions } from './options.js';
import { LoadRun } from './run.js';
import { exitCodeFor, failuresOf } from './summary.js';
import { LOAD_FILE, liveLabs } from '../runs/paths.js';
import { chooseRecordLab } from '../runs/choose-lab.js';

/** Opens the --out file before the run starts, so a bad path fails fast with exit 2. */
function openOut(path: string, flags: 'w' | 'a'): number {
  try {
    return openSync(path, flags);
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String((err as NodeJS.ErrnoException).code) : String(err);
    throw new UsageError(`cannot write --out file "${path}" (${reason})`);
  }
}

const CLEAR_LINE = '\r\x1b[2K';

/** Run one load from its raw flags; resolves with the exit code. */
export async function runLoadCommand(url: string | undefined, raw: RawLoadOptions & { record?: boolean; lab?: string }, io: CliIO): Promise<number> {
  if (raw.lab !== undefined && raw.record !== true) throw new UsageError('--lab names the lab that --record records into; give --record too');
  // With --record and no URL, the load goes to the recorded lab's balancer (not to the default :8000).
  const recordInto = raw.record === true ? recordLab(url, raw.lab, raw.out, io.env) : null;
  const config = parseLoadOptions(url ?? recordInto?.balancerUrl ?? undefined, raw);
  const out = recordInto !== null ? { path: join(recordInto.runDir, LOAD_FILE), flags: 'a' as const } : outTarget(config.out);
  const outFd = out === null ? null : openOut(out.path, out.flags);
  if (out?.flags === 'a') io.stderr.write(`recording load in ${out.path}\n`);
  const live = io.stderr.isTTY === true;

  const run = new LoadRun(config, {
    onSecond: (sample, totals) => {
      if (outFd !== null) writeSync(outFd, formatNdjsonLine(sample));
      if (live) io.stderr.write(CLEAR_LINE + formatProgress(sample, config.durationSec, failuresOf(totals.all)));
    },
  });
  const onSignal = (): void => run.interrupt();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const unwatch = watchLifeline(io.env ?? process.env, onSignal);
  try {
    const summary = await run.run();
    if (live) io.stderr.write(CLEAR_LINE);
    io.stdout.write(config.json ? JSON.stringify(summary) + '\n' : formatSummary(summary));
    return exitCodeFor(summary);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    unwatch();
    if (outFd !== null) closeSync(outFd);
  }
}

/**
 * The lab `--record` writes into: the one --lab names, else the one the URL
 * aims at (its balancer port), else the only running lab; two or more labs
 * and nothing to tell them apart is refused with the list (exit 2).
 */
function recordLab(url: string | undefined, lab: string | undefined, out: string | undefined, env: NodeJS.ProcessEnv | undefined): { runDir: string; balancerUrl: string | null } {
  if (out !== undefined) throw new UsageError('--record writes into the running lab\'s run directory; use it without --out (or give --out that directory)');
  let target: URL | null = null;
  if (url !== undefined) {
    try {
      target = new URL(url);
    } catch {
      target = null; // parseLoadOptions says what is wrong with it
    }
  }
  const choice = chooseRecordLab(liveLabs(env), lab, target);
  if (!choice.ok) {
    if (choice.error.code === 'AS_ERR_NO_LAB') throw new UsageError('--record: no running lab found; start one with `autoscale start`');
    throw new UsageError(`--record: ${choice.error.message}`);
  }
  if (!choice.lab.record) throw new UsageError(`--record: the running lab${lab === undefined ? '' : ` ${lab}`} does not record (it was started with --no-record)`);
  return choice.lab;
}

/** Where the per-second lines go: --out as given (truncated), or a directory given to --out (its load.ndjson, appended, e.g. a run dir). */
function outTarget(out: string | null): { path: string; flags: 'w' | 'a' } | null {
  if (out === null) return null;
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
  } catch {
    // not there yet: a file path
  }
  return isDir ? { path: join(out, LOAD_FILE), flags: 'a' } : { path: out, flags: 'w' };
}
